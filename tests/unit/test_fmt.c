/* test_fmt.c -- fmt_double (lib/util.h) prints exactly what snprintf prints: the
 * dashboard's formats over random magnitudes, exact decimal ties, negative zero,
 * huge values and formats it leaves to snprintf. */
#include <stdint.h>
#include <stdlib.h>

#include "testhelp.h"
#include "util.h"

static const char *const FORMATS[] = {"%.0f", "%.1f", "%.2f", "%.4f", "%.6f", "%+.1f%%",
                                      "$%.4f", "%+.1f", "x%.3fy", "100%% %.2f"};
#define NFORMATS (sizeof FORMATS / sizeof FORMATS[0])

static int mismatches;

/* Compares fmt_double with snprintf for x under every format. */
static void same(double x)
{
    for (size_t i = 0; i < NFORMATS; i++) {
        char a[64], b[64];
        fmt_double(a, sizeof a, FORMATS[i], x);
        snprintf(b, sizeof b, FORMATS[i], x);
        if (strcmp(a, b) != 0 && mismatches++ < 10)
            fprintf(stderr, "  fmt %s of %.17g: \"%s\", snprintf \"%s\"\n", FORMATS[i], x, a, b);
    }
}

/* xorshift64*: the same sequence on every run. */
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 2685821657736338717ull;
}

static void test_random_magnitudes(void)
{
    mismatches = 0;
    for (int i = 0; i < 100000; i++) {
        double u = (double)(next() >> 11) / 9007199254740992.0; /* [0, 1) */
        double e = (double)(int)(next() % 25) - 8;              /* 1e-8 .. 1e16 */
        double x = u * pow(10, e);
        same(x);
        same(-x);
    }
    CHECK(mismatches == 0);
}

static void test_ties_and_edges(void)
{
    mismatches = 0;
    /* Decimal ties (x.5 at each precision), which binary cannot hold exactly or can. */
    for (int k = 0; k < 20000; k++) {
        same(k + 0.5);
        same(k / 10.0 + 0.05);
        same(k / 100.0 + 0.005);
        same(k / 1e4 + 0.00005);
        same(k / 8.0); /* exact binary ties: 0.125, 0.375, ... */
    }
    const double edge[] = {0.0, -0.0, 0.04, -0.04, 0.05, -0.05, 0.95, 9.995, 99.5, 1e15,
                           4503599627370495.5, 4503599627370496.0, 1e300, -1e300, 5e-324};
    for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++) same(edge[i]);
    CHECK(mismatches == 0);
}

static void test_other_formats_and_non_finite(void)
{
    char s[64];
    fmt_double(s, sizeof s, "%g", 1234567.0);
    CHECK_STREQ(s, "1.23457e+06");
    fmt_double(s, sizeof s, "%8.2f", 3.14159);
    CHECK_STREQ(s, "    3.14");
    fmt_double(s, sizeof s, "%.10f", 0.1);
    CHECK_STREQ(s, "0.1000000000");
    fmt_double(s, sizeof s, "%.1f", NAN);
    CHECK_STREQ(s, "nan");
    fmt_double(s, sizeof s, "%+.1f%%", INFINITY);
    CHECK_STREQ(s, "+inf%");
    char small[4];
    fmt_double(small, sizeof small, "%.2f", 123.456); /* snprintf's truncation */
    CHECK_STREQ(small, "123");
}

int main(void)
{
    RUN(test_random_magnitudes);
    RUN(test_ties_and_edges);
    RUN(test_other_formats_and_non_finite);
    return TH_DONE();
}
