/* test_cron.c -- unit tests for lib/cron: parsing, field errors and the next
 * due minute across hour, day, month, year and leap-year boundaries (UTC). */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "cron.h"
#include "testhelp.h"
#include "util.h"

/* Seconds since the epoch of a UTC date. */
static int64_t utc(int y, int mo, int d, int h, int mi, int s)
{
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
                    .tm_min = mi, .tm_sec = s};
    return (int64_t)timegm(&tm);
}

static int64_t next_of(const char *expr, int64_t t)
{
    cron_expr e;
    char err[RB_ERR_LEN];
    if (cron_parse(expr, &e, err) < 0) {
        fprintf(stderr, "  parse '%s': %s\n", expr, err);
        return -2;
    }
    return cron_next(&e, t);
}

static void test_parse_fields(void)
{
    cron_expr e;
    char err[RB_ERR_LEN];
    CHECK(cron_parse("*/15 0-6/2 1,15 jan-mar MON-fri", &e, err) == 0);
    CHECK(e.minute == ((1ull << 0) | (1ull << 15) | (1ull << 30) | (1ull << 45)));
    CHECK(e.hour == ((1u << 0) | (1u << 2) | (1u << 4) | (1u << 6)));
    CHECK(e.dom == ((1u << 1) | (1u << 15)));
    CHECK(e.month == ((1u << 1) | (1u << 2) | (1u << 3)));
    CHECK(e.dow == 0x3e);
    CHECK(!e.dom_any && !e.dow_any);
    CHECK(cron_parse("5/20 * * * 7", &e, err) == 0);
    CHECK(e.minute == ((1ull << 5) | (1ull << 25) | (1ull << 45)));
    CHECK(e.dow == 1);   /* 7 is Sunday */
    CHECK(e.dom_any && !e.dow_any);
    CHECK(cron_parse("  0   12 * * *  ", &e, err) == 0);
}

static void test_parse_errors(void)
{
    cron_expr e;
    char err[RB_ERR_LEN];
    const char *bad[] = {"", "* * * *", "* * * * * *", "60 * * * *", "* 24 * * *",
                         "* * 0 * *", "* * 32 * *", "* * * 13 *", "* * * * 8",
                         "5-1 * * * *", "*/0 * * * *", "a * * * *", "1,,2 * * * *",
                         "1- * * * *", "*/x * * * *", "* * * foo *", "1.5 * * * *",
                         "00000 * * * *", NULL};
    for (int i = 0; bad[i]; i++) {
        err[0] = '\0';
        int rc = cron_parse(bad[i], &e, err);
        if (rc == 0) fprintf(stderr, "  '%s' was accepted\n", bad[i]);
        CHECK(rc == -1);
        CHECK(err[0] != '\0');
    }
    CHECK(cron_parse("* 24 * * *", &e, err) == -1);
    CHECK(strstr(err, "hour") != NULL);
    CHECK(cron_parse(NULL, &e, err) == -1);
}

static void test_next_basic(void)
{
    int64_t t = utc(2024, 5, 10, 12, 34, 56);
    CHECK(next_of("* * * * *", t) == utc(2024, 5, 10, 12, 35, 0));
    /* Strictly after: a time on the minute gives the next minute. */
    CHECK(next_of("* * * * *", utc(2024, 5, 10, 12, 35, 0)) == utc(2024, 5, 10, 12, 36, 0));
    CHECK(next_of("*/5 * * * *", t) == utc(2024, 5, 10, 12, 35, 0));
    CHECK(next_of("*/5 * * * *", utc(2024, 5, 10, 12, 35, 0)) == utc(2024, 5, 10, 12, 40, 0));
    CHECK(next_of("0 * * * *", t) == utc(2024, 5, 10, 13, 0, 0));
    CHECK(next_of("30 2 * * *", t) == utc(2024, 5, 11, 2, 30, 0));
    CHECK(next_of("15,45 9-17 * * *", utc(2024, 5, 10, 17, 50, 0)) == utc(2024, 5, 11, 9, 15, 0));
}

static void test_next_boundaries(void)
{
    /* Year end. */
    CHECK(next_of("0 0 1 1 *", utc(2024, 12, 31, 23, 59, 30)) == utc(2025, 1, 1, 0, 0, 0));
    CHECK(next_of("59 23 31 12 *", utc(2024, 12, 31, 23, 59, 0)) == utc(2025, 12, 31, 23, 59, 0));
    /* Day 31 skips the months without one. */
    CHECK(next_of("0 0 31 * *", utc(2024, 4, 1, 0, 0, 0)) == utc(2024, 5, 31, 0, 0, 0));
    /* 29 February: the next leap year. */
    CHECK(next_of("0 12 29 2 *", utc(2024, 3, 1, 0, 0, 0)) == utc(2028, 2, 29, 12, 0, 0));
    /* Never: 30 February. */
    CHECK(next_of("0 0 30 2 *", utc(2024, 1, 1, 0, 0, 0)) == -1);
    /* Day of week: 2024-05-10 is a Friday; next Monday is the 13th. */
    CHECK(next_of("0 8 * * mon", utc(2024, 5, 10, 9, 0, 0)) == utc(2024, 5, 13, 8, 0, 0));
    CHECK(next_of("0 8 * * 0", utc(2024, 5, 10, 9, 0, 0)) == utc(2024, 5, 12, 8, 0, 0));
    CHECK(next_of("0 8 * * 7", utc(2024, 5, 10, 9, 0, 0)) == utc(2024, 5, 12, 8, 0, 0));
    /* Both day fields restricted: either matches (the 13th or a Wednesday). */
    CHECK(next_of("0 0 13 * wed", utc(2024, 5, 10, 0, 0, 0)) == utc(2024, 5, 13, 0, 0, 0));
    CHECK(next_of("0 0 13 * wed", utc(2024, 5, 13, 0, 0, 0)) == utc(2024, 5, 15, 0, 0, 0));
    /* Day of month restricted, weekday '*': only the day of month counts. */
    CHECK(next_of("0 0 13 * *", utc(2024, 5, 13, 0, 0, 0)) == utc(2024, 6, 13, 0, 0, 0));
    /* Friday the 13th needs both: "13 * 5" matches the 13th OR Fridays. */
    CHECK(next_of("0 0 13 * 5", utc(2024, 5, 11, 0, 0, 0)) == utc(2024, 5, 13, 0, 0, 0));
    /* Before the epoch-ish negative inputs still work (1969). */
    CHECK(next_of("0 0 1 1 *", utc(1969, 6, 1, 0, 0, 0)) == utc(1970, 1, 1, 0, 0, 0));
}

int main(void)
{
    RUN(test_parse_fields);
    RUN(test_parse_errors);
    RUN(test_next_basic);
    RUN(test_next_boundaries);
    return TH_DONE();
}
