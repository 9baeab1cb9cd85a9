/* cron.c -- five-field cron expressions in UTC: parsing into bit sets and
 * finding the next due minute by skipping whole months, days and hours. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cron.h"
#include "util.h"

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                          "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const dow_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

struct field {
    const char *name;
    int min, max;
    const char *const *names;   /* names[i] is min + i; NULL: numbers only */
    int nnames;
};

static const struct field fields[5] = {
    {"minute", 0, 59, NULL, 0},
    {"hour", 0, 23, NULL, 0},
    {"day of month", 1, 31, NULL, 0},
    {"month", 1, 12, month_names, 12},
    {"day of week", 0, 7, dow_names, 7},
};

/* Reads a number or a name at *p; advances *p. -1 if neither. */
static int read_value(const char **p, const struct field *f)
{
    const char *s = *p;
    if (isdigit((unsigned char)*s)) {
        long v = 0;
        int digits = 0;
        while (isdigit((unsigned char)*s) && digits < 4) v = v * 10 + (*s++ - '0'), digits++;
        if (isdigit((unsigned char)*s)) return -1;
        *p = s;
        return (int)v;
    }
    for (int i = 0; i < f->nnames; i++)
        if (strncasecmp(s, f->names[i], 3) == 0 && !isalpha((unsigned char)s[3])) {
            *p = s + 3;
            return f->min + i;
        }
    return -1;
}

/* Parses one field (text up to a space) into bits; 0 or -1 with err. */
static int parse_field(const char *s, size_t len, const struct field *f, uint64_t *bits,
                       int *any, char *err)
{
    char text[128];
    if (len == 0 || len >= sizeof text) return rb_err(err, "%s: bad field", f->name);
    memcpy(text, s, len);
    text[len] = '\0';
    *bits = 0;
    *any = strcmp(text, "*") == 0;
    if (text[0] == ',' || text[len - 1] == ',' || strstr(text, ",,"))
        return rb_err(err, "%s: empty list element in '%s'", f->name, text);
    char *save = NULL;
    for (char *item = strtok_r(text, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        const char *p = item;
        int lo, hi, step = 1, ranged = 0;
        if (*p == '*') {
            lo = f->min;
            hi = f->max;
            p++;
            ranged = 1;
        } else {
            if ((lo = read_value(&p, f)) < 0)
                return rb_err(err, "%s: '%s' is not a number or range", f->name, item);
            hi = lo;
            if (*p == '-') {
                p++;
                if ((hi = read_value(&p, f)) < 0)
                    return rb_err(err, "%s: bad range end in '%s'", f->name, item);
                ranged = 1;
            }
        }
        if (*p == '/') {
            p++;
            const char *q = p;
            long v = strtol(q, (char **)&p, 10);
            if (p == q || v < 1 || v > f->max + 1)
                return rb_err(err, "%s: bad step in '%s'", f->name, item);
            step = (int)v;
            if (!ranged) hi = f->max;   /* "5/15": from 5 to the maximum */
        }
        if (*p) return rb_err(err, "%s: unexpected '%s' in '%s'", f->name, p, item);
        if (lo < f->min || hi > f->max || lo > hi)
            return rb_err(err, "%s: '%s' is outside %d-%d or reversed", f->name, item, f->min, f->max);
        for (int v = lo; v <= hi; v += step) *bits |= UINT64_C(1) << v;
    }
    if (!*bits) return rb_err(err, "%s: empty", f->name);
    return 0;
}

int cron_parse(const char *s, cron_expr *out, char *err)
{
    memset(out, 0, sizeof *out);
    if (!s) return rb_err(err, "cron: missing expression");
    uint64_t bits[5];
    int any[5];
    int n = 0;
    const char *p = s;
    for (;;) {
        while (*p == ' ' || *p == '\t') p++;
        if (!*p) break;
        if (n == 5) return rb_err(err, "cron: '%s': want 5 fields (minute hour day month weekday)", s);
        size_t len = strcspn(p, " \t");
        if (parse_field(p, len, &fields[n], &bits[n], &any[n], err) < 0) return -1;
        p += len;
        n++;
    }
    if (n != 5) return rb_err(err, "cron: '%s': want 5 fields (minute hour day month weekday)", s);
    out->minute = bits[0];
    out->hour = (uint32_t)bits[1];
    out->dom = (uint32_t)bits[2];
    out->month = (uint16_t)bits[3];
    out->dow = (uint8_t)((bits[4] | (bits[4] >> 7)) & 0x7f); /* 7 is Sunday too */
    out->dom_any = any[2];
    out->dow_any = any[4];
    return 0;
}

static int day_matches(const cron_expr *e, const struct tm *tm)
{
    int d = (e->dom >> tm->tm_mday) & 1, w = (e->dow >> tm->tm_wday) & 1;
    if (e->dom_any || e->dow_any) return d && w;
    return d || w;
}

int64_t cron_next(const cron_expr *e, int64_t t)
{
    time_t tt = (time_t)(t - (t % 60 + 60) % 60 + 60); /* next whole minute */
    struct tm tm;
    gmtime_r(&tt, &tm);
    int limit_year = tm.tm_year + 8;
    /* Each step either matches or moves to the next month, day, hour or
     * minute boundary: a few thousand steps at most within the eight years. */
    for (int steps = 0; steps < 100000 && tm.tm_year <= limit_year; steps++) {
        if (!((e->month >> (tm.tm_mon + 1)) & 1)) {
            tm.tm_mon++;
            tm.tm_mday = 1;
            tm.tm_hour = tm.tm_min = 0;
        } else if (!day_matches(e, &tm)) {
            tm.tm_mday++;
            tm.tm_hour = tm.tm_min = 0;
        } else if (!((e->hour >> tm.tm_hour) & 1)) {
            tm.tm_hour++;
            tm.tm_min = 0;
        } else if (!((e->minute >> tm.tm_min) & 1)) {
            tm.tm_min++;
        } else {
            return (int64_t)timegm(&tm);
        }
        tm.tm_sec = 0;
        tm.tm_isdst = 0;
        time_t n = timegm(&tm); /* normalizes overflowing fields and sets tm_wday */
        gmtime_r(&n, &tm);
    }
    return -1;
}
