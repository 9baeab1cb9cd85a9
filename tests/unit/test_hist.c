/* test_hist.c -- unit tests for the log-linear latency histogram (lib/hist.c). */
#include <stdint.h>
#include <stdlib.h>

#include "hist.h"
#include "testhelp.h"
#include "util.h"

/* ---- helpers ----------------------------------------------------------------------------- */

/* xorshift64*: a fixed-seed generator so every run sees the same samples. */
static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * UINT64_C(2685821657736338717);
}

/* Uniform in (0, 1]. */
static double rng_unit(uint64_t *s)
{
    return (double)((rng_next(s) >> 11) + 1) * (1.0 / 9007199254740992.0);
}

/* Lognormal around 250 µs (sigma 0.5) with every 997th sample a 50x outlier: a plausible
 * latency distribution. Returns a malloc'd array of n values. */
static uint64_t *gen_lognormal(size_t n, uint64_t seed)
{
    uint64_t s = seed, *v = xmalloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) {
        double z = sqrt(-2.0 * log(rng_unit(&s))) * cos(2.0 * M_PI * rng_unit(&s));
        double x = exp(log(250000.0) + 0.5 * z);
        if (i % 997 == 0) x *= 50;
        v[i] = (uint64_t)(x + 0.5);
    }
    return v;
}

static uint64_t *gen_uniform(size_t n)
{
    uint64_t *v = xmalloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = i + 1;
    return v;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Exact nearest-rank percentile of sorted[0..n) for p = permille / 10, in integers. */
static uint64_t exact_permille(const uint64_t *sorted, size_t n, unsigned permille)
{
    uint64_t rank = ((uint64_t)permille * n + 999) / 1000;
    if (rank < 1) rank = 1;
    return sorted[rank - 1];
}

/* The documented bound: r == x below 2048 ns, else x <= r < x + x/1024. */
static int within_bound(uint64_t r, uint64_t x)
{
    if (x < 2048) return r == x;
    return r >= x && (r - x) * 1024 < x;
}

static hist *hist_of(const uint64_t *v, size_t n)
{
    hist *h = hist_new();
    for (size_t i = 0; i < n; i++) hist_record(h, v[i]);
    return h;
}

/* Checks every per-mille percentile (0.0, 0.1, ..., 100.0) of h against the exact ones. */
static void check_all_percentiles(const hist *h, const uint64_t *v, size_t n)
{
    uint64_t *sorted = xmalloc(n * sizeof *sorted);
    memcpy(sorted, v, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_u64);
    int bad = 0;
    for (unsigned pm = 0; pm <= 1000; pm++) {
        uint64_t x = exact_permille(sorted, n, pm), r = hist_percentile(h, pm / 10.0);
        if (!within_bound(r, x) && bad++ < 5)
            fprintf(stderr, "  p%.1f: hist %llu, exact %llu\n", pm / 10.0,
                    (unsigned long long)r, (unsigned long long)x);
    }
    CHECK(bad == 0);
    CHECK(hist_percentile(h, 0) == sorted[0]);
    CHECK(hist_percentile(h, 100) == sorted[n - 1]);
    free(sorted);
}

/* "h1:" + base64 of raw bytes, for hand-made (mostly malformed) encodings. */
static char *enc_raw(const unsigned char *p, size_t n)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = xmalloc(3 + (n + 2) / 3 * 4 + 1), *o = out + 3;
    memcpy(out, "h1:", 3);
    for (size_t i = 0; i < n; i += 3) {
        uint32_t w = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        *o++ = a[w >> 18 & 63];
        *o++ = a[w >> 12 & 63];
        *o++ = i + 1 < n ? a[w >> 6 & 63] : '=';
        *o++ = i + 2 < n ? a[w & 63] : '=';
    }
    *o = '\0';
    return out;
}

/* Decoding s must fail with an error message containing want. */
static int rejects(const char *s, const char *want)
{
    char err[RB_ERR_LEN] = "";
    hist *h = hist_decode(s, err);
    if (h || !err[0] || !strstr(err, want)) {
        fprintf(stderr, "  decode(\"%.40s\"): %s, err \"%s\", want \"%s\"\n", s,
                h ? "accepted" : "rejected", err, want);
        hist_free(h);
        return 0;
    }
    return 1;
}

static int rejects_raw(const unsigned char *p, size_t n, const char *want)
{
    char *s = enc_raw(p, n);
    int ok = rejects(s, want);
    free(s);
    return ok;
}

struct walk {
    uint64_t n, total, prev_hi;
    int bad;
};

static void walk_fn(uint64_t lo, uint64_t hi, uint64_t count, void *ud)
{
    struct walk *w = ud;
    uint64_t width = hi - lo + 1;
    if (hi < lo || (w->n && lo <= w->prev_hi) || count == 0) w->bad++;
    if (lo < 2048 ? width != 1 : width > lo / 1024) w->bad++;
    if (width & (width - 1)) w->bad++; /* widths are powers of two */
    w->n++;
    w->total += count;
    w->prev_hi = hi;
}

/* Checks h's internal consistency through its public API. */
static int consistent(const hist *h)
{
    struct walk w = {0};
    hist_foreach(h, walk_fn, &w);
    return !w.bad && w.total == hist_count(h) && hist_min(h) <= hist_max(h) &&
           hist_percentile(h, 0) == hist_min(h) && hist_percentile(h, 100) == hist_max(h);
}

/* ---- tests ------------------------------------------------------------------------------- */

static void test_percentiles_uniform(void)
{
    size_t n = 100000;
    uint64_t *v = gen_uniform(n);
    hist *h = hist_of(v, n);
    CHECK(hist_count(h) == n);
    check_all_percentiles(h, v, n);
    /* the named ones, with their exact nearest-rank values */
    CHECK(within_bound(hist_percentile(h, 50), 50000));
    CHECK(within_bound(hist_percentile(h, 90), 90000));
    CHECK(within_bound(hist_percentile(h, 99), 99000));
    CHECK(within_bound(hist_percentile(h, 99.9), 99900));
    CHECK(hist_percentile(h, 1) == 1000); /* exact below 2048 */
    hist_free(h);
    free(v);
}

static void test_percentiles_lognormal(void)
{
    size_t n = 200000;
    uint64_t *v = gen_lognormal(n, 42);
    hist *h = hist_of(v, n);
    check_all_percentiles(h, v, n);

    uint64_t *sorted = xmalloc(n * sizeof *sorted);
    memcpy(sorted, v, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_u64);
    static const double ps[] = {50, 90, 99, 99.9, 99.99};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        uint64_t rank = (uint64_t)ceil(ps[i] / 100 * (double)n - 1e-6);
        uint64_t x = sorted[rank - 1], r = hist_percentile(h, ps[i]);
        CHECK(within_bound(r, x));
        CHECK(fabs((double)r - (double)x) / (double)x < 1.0 / 1024);
    }
    CHECK(hist_min(h) == sorted[0]);
    CHECK(hist_max(h) == sorted[n - 1]);
    free(sorted);
    hist_free(h);
    free(v);
}

static void test_stats(void)
{
    hist *h = hist_new();
    for (uint64_t v = 1; v <= 5; v++) hist_record(h, v);
    CHECK(hist_count(h) == 5);
    CHECK(hist_min(h) == 1);
    CHECK(hist_max(h) == 5);
    CHECK_NEAR(hist_mean(h), 3.0, 1e-12);
    CHECK_NEAR(hist_stddev(h), sqrt(2.0), 1e-12);
    hist_free(h);

    /* large values: mean within 2^-11 relative, stddev close */
    size_t n = 100000;
    uint64_t *v = gen_lognormal(n, 7);
    h = hist_of(v, n);
    double sum = 0, sq = 0;
    for (size_t i = 0; i < n; i++) sum += (double)v[i];
    double mean = sum / (double)n;
    for (size_t i = 0; i < n; i++) sq += ((double)v[i] - mean) * ((double)v[i] - mean);
    double sd = sqrt(sq / (double)n);
    CHECK_NEAR(hist_mean(h), mean, mean / 2048);
    CHECK_NEAR(hist_stddev(h), sd, sd * 0.002);
    CHECK(hist_count(h) == n);
    hist_free(h);
    free(v);
}

static void test_empty(void)
{
    hist *h = hist_new();
    CHECK(hist_count(h) == 0);
    CHECK(hist_min(h) == 0);
    CHECK(hist_max(h) == 0);
    CHECK(hist_mean(h) == 0);
    CHECK(hist_stddev(h) == 0);
    CHECK(hist_percentile(h, 0) == 0);
    CHECK(hist_percentile(h, 50) == 0);
    CHECK(hist_percentile(h, 100) == 0);
    struct walk w = {0};
    hist_foreach(h, walk_fn, &w);
    CHECK(w.n == 0);

    char *s = hist_encode(h);
    CHECK_STREQ(s, "h1:AAA=");
    char err[RB_ERR_LEN] = "";
    hist *d = hist_decode(s, err);
    CHECK(d != NULL);
    if (d) {
        CHECK(hist_count(d) == 0);
        CHECK(hist_percentile(d, 99) == 0);
        hist_free(d);
    }
    free(s);
    hist_free(h);
    hist_free(NULL);
}

static void test_zero_and_clamp(void)
{
    hist *h = hist_new();
    hist_record(h, 0);
    CHECK(hist_count(h) == 1);
    CHECK(hist_min(h) == 0);
    CHECK(hist_max(h) == 0);
    CHECK(hist_percentile(h, 50) == 0);
    CHECK(hist_percentile(h, 100) == 0);

    hist_record(h, HIST_MAX_VALUE + 1);
    hist_record(h, UINT64_MAX);
    CHECK(hist_count(h) == 3);
    CHECK(hist_max(h) == HIST_MAX_VALUE);
    CHECK(hist_percentile(h, 100) == HIST_MAX_VALUE);
    CHECK(hist_percentile(h, 50) == HIST_MAX_VALUE);
    CHECK(hist_percentile(h, 33) == 0);
    CHECK(consistent(h));

    /* one hour is inside the range, within the bound */
    uint64_t hour = UINT64_C(3600000000000);
    CHECK(HIST_MAX_VALUE >= hour);
    hist_reset(h);
    hist_record(h, hour);
    hist_record(h, hour + 1);
    CHECK(within_bound(hist_percentile(h, 50), hour));
    CHECK(hist_percentile(h, 50) == hour + 1); /* same bucket, clamped to max */
    CHECK(hist_min(h) == hour);
    hist_free(h);
}

static void test_record_n_and_reset(void)
{
    hist *a = hist_new(), *b = hist_new();
    hist_record_n(a, 12345, 5);
    for (int i = 0; i < 5; i++) hist_record(b, 12345);
    hist_record_n(a, 1, 0); /* no-op: min stays */
    CHECK(hist_count(a) == 5);
    CHECK(hist_min(a) == 12345);
    char *ea = hist_encode(a), *eb = hist_encode(b);
    CHECK_STREQ(ea, eb);
    free(ea);
    free(eb);

    hist_reset(a);
    CHECK(hist_count(a) == 0);
    CHECK(hist_min(a) == 0);
    CHECK(hist_max(a) == 0);
    hist_record(a, 7);
    CHECK(hist_min(a) == 7);
    CHECK(hist_max(a) == 7);
    hist_free(a);
    hist_free(b);
}

/* Every value lands in a bucket that contains it, of the documented width. */
static void test_buckets(void)
{
    hist *h = hist_new();
    uint64_t s = 99;
    int bad = 0;
    for (int k = 0; k <= 42; k++) {
        uint64_t p2 = UINT64_C(1) << k;
        uint64_t vals[] = {p2 - 1, p2, p2 + 1, p2 + p2 / 3, rng_next(&s) % (p2 * 2)};
        for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
            uint64_t v = vals[i] > HIST_MAX_VALUE ? HIST_MAX_VALUE : vals[i];
            hist_reset(h);
            hist_record(h, v);
            uint64_t r = hist_percentile(h, 50);
            if (r != v || !consistent(h)) bad++;
            struct walk w = {0};
            hist_foreach(h, walk_fn, &w);
            if (w.n != 1 || w.bad || w.prev_hi < v) bad++;
        }
    }
    CHECK(bad == 0);

    /* all buckets at once: contiguous up to HIST_MAX_VALUE */
    hist_reset(h);
    for (uint64_t v = 0; v < 4096; v++) hist_record(h, v);
    for (int k = 12; k < 42; k++)
        for (uint64_t j = 0; j < 1024; j++)
            hist_record(h, (UINT64_C(1024) + j) << (k - 10));
    struct walk w = {0};
    hist_foreach(h, walk_fn, &w);
    CHECK(w.bad == 0);
    CHECK(w.n == 33792);
    CHECK(w.prev_hi == HIST_MAX_VALUE);
    hist_free(h);
}

static void test_merge(void)
{
    size_t n = 100000;
    uint64_t *v = gen_lognormal(n, 1234);
    hist *a = hist_of(v, n / 3), *b = hist_of(v + n / 3, n - n / 3), *all = hist_of(v, n);
    hist_merge(a, b);
    CHECK(hist_count(a) == n);
    CHECK(hist_min(a) == hist_min(all));
    CHECK(hist_max(a) == hist_max(all));
    CHECK(hist_mean(a) == hist_mean(all));
    CHECK(hist_stddev(a) == hist_stddev(all));
    int diff = 0;
    for (unsigned pm = 0; pm <= 10000; pm++)
        diff += hist_percentile(a, pm / 100.0) != hist_percentile(all, pm / 100.0);
    CHECK(diff == 0);
    char *ea = hist_encode(a), *eall = hist_encode(all);
    CHECK_STREQ(ea, eall);
    free(ea);
    free(eall);

    /* merging into / from an empty histogram */
    hist *e = hist_new();
    hist_merge(e, all);
    CHECK(hist_count(e) == n && hist_min(e) == hist_min(all) && hist_max(e) == hist_max(all));
    hist_reset(b);
    hist_merge(all, b);
    CHECK(hist_count(all) == n && hist_min(all) == hist_min(e) && hist_max(all) == hist_max(e));
    hist_free(e);
    hist_free(a);
    hist_free(b);
    hist_free(all);
    free(v);
}

static void check_roundtrip(const hist *h)
{
    char err[RB_ERR_LEN] = "";
    char *s = hist_encode(h);
    hist *d = hist_decode(s, err);
    CHECK(d != NULL);
    if (!d) {
        fprintf(stderr, "  decode failed: %s\n", err);
        free(s);
        return;
    }
    CHECK(hist_count(d) == hist_count(h));
    CHECK(hist_min(d) == hist_min(h));
    CHECK(hist_max(d) == hist_max(h));
    CHECK(hist_mean(d) == hist_mean(h));
    CHECK(hist_stddev(d) == hist_stddev(h));
    int diff = 0;
    for (unsigned pm = 0; pm <= 10000; pm++)
        diff += hist_percentile(d, pm / 100.0) != hist_percentile(h, pm / 100.0);
    CHECK(diff == 0);
    char *s2 = hist_encode(d);
    CHECK_STREQ(s2, s);
    free(s2);
    free(s);
    hist_free(d);
}

static void test_encode_roundtrip(void)
{
    size_t n = 100000;
    uint64_t *v = gen_lognormal(n, 42);
    hist *h = hist_of(v, n);
    char *s = hist_encode(h);
    size_t len = strlen(s);
    printf("# lognormal 100k samples: encoding %zu bytes\n", len);
    CHECK(len < 20 * 1024);
    CHECK(strncmp(s, "h1:", 3) == 0);
    CHECK(strspn(s + 3, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") ==
          len - 3);
    check_roundtrip(h);
    free(s);
    hist_free(h);
    free(v);

    /* worst realistic case: 100k distinct values, every bucket up to 100 µs filled */
    v = gen_uniform(n);
    h = hist_of(v, n);
    s = hist_encode(h);
    printf("# uniform 1..100000 ns: encoding %zu bytes\n", strlen(s));
    check_roundtrip(h);
    free(s);

    /* extremes: 0, clamped values, huge counts */
    hist_reset(h);
    hist_record(h, 0);
    hist_record(h, UINT64_MAX);
    hist_record_n(h, 5000, UINT64_C(1) << 40);
    check_roundtrip(h);
    hist_free(h);
    free(v);
}

static void test_decode_rejects(void)
{
    CHECK(rejects("", "bad prefix"));
    CHECK(rejects("h1", "bad prefix"));
    CHECK(rejects("x1:AAAA", "bad prefix"));
    CHECK(rejects("h1:", "min missing"));
    CHECK(rejects("h1:A", "multiple of 4"));
    CHECK(rejects("h1:AAA", "multiple of 4"));
    CHECK(rejects("h1:AA*A", "invalid character 0x2a"));
    CHECK(rejects("h1:AA A", "invalid character 0x20"));
    CHECK(rejects("h1:AAAA\n", "multiple of 4"));
    CHECK(rejects("h1:====", "padding"));
    CHECK(rejects("h1:A===", "padding"));
    CHECK(rejects("h1:AA=A", "padding"));
    CHECK(rejects("h1:AA==AAAA", "padding"));
    CHECK(rejects("h1:AAB=", "non-zero bits"));
    CHECK(rejects("h1:AB==", "non-zero bits"));
    CHECK(rejects("h1:AA==", "max missing")); /* one zero byte: min only */

    static const unsigned char trunc_varint[] = {0x05, 0x05, 0x86};
    CHECK(rejects_raw(trunc_varint, sizeof trunc_varint, "truncated varint (index delta)"));
    static const unsigned char trunc_min[] = {0x85};
    CHECK(rejects_raw(trunc_min, sizeof trunc_min, "truncated varint (min)"));
    static const unsigned char no_count[] = {0x05, 0x05, 0x06};
    CHECK(rejects_raw(no_count, sizeof no_count, "count missing"));
    static const unsigned char trunc_count[] = {0x05, 0x05, 0x06, 0xff, 0xff};
    CHECK(rejects_raw(trunc_count, sizeof trunc_count, "truncated varint (count)"));
    static const unsigned char long_varint[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                                0xff, 0xff, 0xff, 0xff, 0x01};
    CHECK(rejects_raw(long_varint, sizeof long_varint, "overflows 64 bits"));
    static const unsigned char big_varint[] = {0x80, 0x80, 0x80, 0x80, 0x80,
                                               0x80, 0x80, 0x80, 0x80, 0x02};
    CHECK(rejects_raw(big_varint, sizeof big_varint, "overflows 64 bits"));
    /* 1000000 as delta: index far beyond the last bucket */
    static const unsigned char huge_index[] = {0x05, 0x05, 0xc0, 0x84, 0x3d, 0x01};
    CHECK(rejects_raw(huge_index, sizeof huge_index, "out of range"));
    /* delta 2^64 - 1 must not wrap around */
    static const unsigned char wrap_index[] = {0x05, 0x05, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                               0xff, 0xff, 0xff, 0x01, 0x01};
    CHECK(rejects_raw(wrap_index, sizeof wrap_index, "out of range"));
    /* last bucket (33791 -> delta 33792 = 0x80 0x88 0x02), then one more */
    static const unsigned char past_end[] = {0x05, 0x05, 0x80, 0x88, 0x02, 0x01, 0x01, 0x01};
    CHECK(rejects_raw(past_end, sizeof past_end, "out of range"));
    static const unsigned char zero_delta[] = {0x05, 0x05, 0x06, 0x01, 0x00, 0x01};
    CHECK(rejects_raw(zero_delta, sizeof zero_delta, "zero index delta"));
    static const unsigned char zero_count[] = {0x05, 0x05, 0x06, 0x00};
    CHECK(rejects_raw(zero_count, sizeof zero_count, "zero count"));
    static const unsigned char count_overflow[] = {0x05, 0x06, 0x06, 0xff, 0xff, 0xff, 0xff,
                                                   0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
                                                   0x01, 0x01};
    CHECK(rejects_raw(count_overflow, sizeof count_overflow, "overflows 64 bits"));
    static const unsigned char bad_min[] = {0x04, 0x05, 0x06, 0x01};
    CHECK(rejects_raw(bad_min, sizeof bad_min, "min 4 is not in the first bucket"));
    static const unsigned char bad_max[] = {0x05, 0x06, 0x06, 0x01};
    CHECK(rejects_raw(bad_max, sizeof bad_max, "max 6 is not in the last bucket"));
    static const unsigned char empty_minmax[] = {0x01, 0x00};
    CHECK(rejects_raw(empty_minmax, sizeof empty_minmax, "empty histogram"));
    /* 4096 and 4097 share bucket 3072 (delta 3073 = 0x81 0x18): min 4097 > max 4096 */
    static const unsigned char min_gt_max[] = {0x81, 0x20, 0x80, 0x20, 0x81, 0x18, 0x01};
    CHECK(rejects_raw(min_gt_max, sizeof min_gt_max, "min 4097 > max 4096"));
    static const unsigned char ok_same_bucket[] = {0x80, 0x20, 0x81, 0x20, 0x81, 0x18, 0x02};
    char *s = enc_raw(ok_same_bucket, sizeof ok_same_bucket);
    char err[RB_ERR_LEN] = "";
    hist *h = hist_decode(s, err);
    CHECK(h != NULL);
    if (h) {
        CHECK(hist_count(h) == 2 && hist_min(h) == 4096 && hist_max(h) == 4097);
        hist_free(h);
    }
    free(s);
    /* NULL err is allowed */
    CHECK(hist_decode("nope", NULL) == NULL);
}

/* Every proper prefix of a valid encoding is rejected. */
static void test_decode_truncations(void)
{
    hist *h = hist_new();
    uint64_t s = 5;
    for (int i = 0; i < 60; i++) hist_record(h, rng_next(&s) >> (22 + i % 40));
    hist_record_n(h, 300, 1000);
    char *enc = hist_encode(h);
    size_t len = strlen(enc);
    int accepted = 0;
    for (size_t cut = 0; cut < len; cut++) {
        char *t = xstrndup(enc, cut), err[RB_ERR_LEN] = "";
        hist *d = hist_decode(t, err);
        if (d || !err[0]) {
            if (accepted++ < 3) fprintf(stderr, "  prefix of length %zu accepted\n", cut);
        }
        hist_free(d);
        free(t);
    }
    CHECK(accepted == 0);
    free(enc);
    hist_free(h);
}

/* Random corruption never crashes, and whatever is accepted is internally consistent. */
static void test_decode_fuzz(void)
{
    static const char alpha[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";
    hist *h = hist_new();
    uint64_t s = 77;
    for (int i = 0; i < 40; i++) hist_record(h, rng_next(&s) >> (20 + i % 44));
    char *enc = hist_encode(h);
    size_t len = strlen(enc);
    int bad = 0, accepted = 0, errless = 0;
    for (int it = 0; it < 3000; it++) {
        char *t = xstrdup(enc);
        int edits = 1 + (int)(rng_next(&s) % 4);
        for (int e = 0; e < edits; e++) {
            size_t at = 3 + rng_next(&s) % (len - 3);
            t[at] = it % 5 == 0 ? (char)(1 + rng_next(&s) % 255) : alpha[rng_next(&s) % 65];
        }
        char err[RB_ERR_LEN] = "";
        hist *d = hist_decode(t, err);
        if (d) {
            accepted++;
            if (!consistent(d)) bad++;
            hist_free(d);
        } else if (!err[0]) {
            errless++;
        }
        free(t);
    }
    /* random strings of random lengths */
    for (int it = 0; it < 3000; it++) {
        char t[64] = "h1:";
        size_t n = 3 + rng_next(&s) % 60;
        for (size_t i = 3; i < n; i++) t[i] = alpha[rng_next(&s) % 64];
        t[n] = '\0';
        char err[RB_ERR_LEN] = "";
        hist *d = hist_decode(t, err);
        if (d) {
            accepted++;
            if (!consistent(d)) bad++;
            hist_free(d);
        } else if (!err[0]) {
            errless++;
        }
    }
    printf("# fuzz: %d of 6000 corrupted inputs decoded (all consistent: %s)\n", accepted,
           bad ? "no" : "yes");
    CHECK(bad == 0);
    CHECK(errless == 0);
    free(enc);
    hist_free(h);
}

int main(void)
{
    RUN(test_percentiles_uniform);
    RUN(test_percentiles_lognormal);
    RUN(test_stats);
    RUN(test_empty);
    RUN(test_zero_and_clamp);
    RUN(test_record_n_and_reset);
    RUN(test_buckets);
    RUN(test_merge);
    RUN(test_encode_roundtrip);
    RUN(test_decode_rejects);
    RUN(test_decode_truncations);
    RUN(test_decode_fuzz);
    return TH_DONE();
}
