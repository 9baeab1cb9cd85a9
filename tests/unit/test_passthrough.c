/* test_passthrough.c -- the collector's ingest shortcuts give what the full
 * path gives: hist_decode_summary equals hist_decode + the summary functions
 * (and fails with the same message), run_decode(RUN_DECODE_HIST_TEXT) equals
 * run_from_json, and run_to_json's direct canonical text equals cJSON's. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"
#include "model.h"
#include "testhelp.h"
#include "util.h"

static uint64_t rng = 88172645463325252ull;
static uint64_t xs(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* The summary and canonical text of random histograms, empty and clamped ones included. */
static void test_summary_equals_decode(void)
{
    for (int t = 0; t < 300; t++) {
        hist *h = hist_new();
        int n = t % 7 == 0 ? 0 : (int)(xs() % 5000) + 1;
        for (int i = 0; i < n; i++) {
            uint64_t v = t % 5 == 0 ? xs() % 3000 : (xs() % 1000000) * (1 + xs() % 50);
            if (t % 11 == 0 && i == 0) v = UINT64_MAX;
            hist_record_n(h, v, 1 + xs() % 3);
        }
        char *enc = hist_encode(h), *canon = NULL, err[RB_ERR_LEN] = "";
        hist_summary s;
        CHECK(hist_decode_summary(enc, &s, &canon, err) == 0);
        CHECK_STREQ(canon, enc);
        hist *d = hist_decode(enc, err);
        CHECK(d != NULL);
        if (d) {
            CHECK(s.count == hist_count(d) && s.min == hist_min(d) && s.max == hist_max(d));
            CHECK(s.mean == hist_mean(d));
            CHECK(s.p50 == hist_percentile(d, 50) && s.p90 == hist_percentile(d, 90));
            CHECK(s.p95 == hist_percentile(d, 95) && s.p99 == hist_percentile(d, 99));
            CHECK(s.p999 == hist_percentile(d, 99.9));
        }
        hist_free(d);
        free(canon);
        free(enc);
        hist_free(h);
    }
}

/* A non-minimal varint (0x80 0x00 for min 0) is valid but not canonical. */
static void test_summary_canonicalizes(void)
{
    char *canon = NULL, err[RB_ERR_LEN];
    hist_summary s;
    /* bytes 80 00 00: min 0 (two bytes), max 0, no buckets */
    CHECK(hist_decode_summary("h1:gAAA", &s, &canon, err) == 0);
    CHECK_STREQ(canon, "h1:AAA=");
    CHECK(s.count == 0);
    free(canon);
}

static void test_summary_same_errors(void)
{
    const char *bad[] = {"", "h2:AAA=", "h1:AA", "h1:A===", "h1:AAAB", "h1:////", "h1:AAEB",
                         "h1:AAIAAQ==", "h1:gICAgICAgICAgAE=", "h1:AQEBAQ=="};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char e1[RB_ERR_LEN] = "", e2[RB_ERR_LEN] = "", *canon = (char *)1;
        hist_summary s;
        hist *h = hist_decode(bad[i], e1);
        int rc = hist_decode_summary(bad[i], &s, &canon, e2);
        CHECK((h == NULL) == (rc < 0));
        if (!h) {
            CHECK_STREQ(e2, e1);
            CHECK(canon == (char *)1); /* untouched on failure */
        } else {
            free(canon);
        }
        hist_free(h);
    }
}

/* Every fixture run: the text mode decodes to the same canonical document,
 * and the direct writer prints what cJSON prints (minified pretty text). */
static void test_run_modes_agree(void)
{
    const char *files[] = {"tests/fixtures/compare/old1.json", "tests/fixtures/compare/new_slower.json",
                           "tests/fixtures/compare/new_failed.json", "tests/fixtures/compare/new_faster.json"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char err[RB_ERR_LEN] = "";
        size_t len = 0;
        char *text = read_file(files[i], 1u << 24, &len, err);
        CHECK(text != NULL);
        if (!text) continue;
        rb_run a, b;
        CHECK(run_from_json(text, len, &a, err) == 0);
        CHECK(run_decode(text, len, &b, RUN_DECODE_HIST_TEXT, err) == 0);
        for (size_t k = 0; k < b.n_results; k++) CHECK(b.results[k].latency == NULL && b.results[k].latency_text);
        char *da = run_to_json(&a, 0), *db = run_to_json(&b, 0), *pretty = run_to_json(&a, 1);
        CHECK_STREQ(db, da);
        cJSON_Minify(pretty);
        CHECK_STREQ(da, pretty);
        free(da);
        free(db);
        free(pretty);
        run_cleanup(&a);
        run_cleanup(&b);
        free(text);
    }
}

/* Strings needing escapes, integers on both sides of the fast path, odd numbers. */
static void test_writer_edge_values(void)
{
    rb_run r;
    run_init_defaults(&r);
    snprintf(r.id, sizeof r.id, "edge");
    snprintf(r.commit, sizeof r.commit, "q\"b\\s\x01\x1f\t\n\r\b\f/\xc3\xa9");
    snprintf(r.started_at, sizeof r.started_at, "2026-01-01T00:00:00.000Z");
    snprintf(r.ended_at, sizeof r.ended_at, "2026-01-01T00:00:01.000Z");
    kv_set(&r.config, &r.n_config, "z\"key", "v\x02");
    kv_set(&r.config, &r.n_config, "a", "");
    kv_add(&r.commands, &r.n_commands, "get", 123456789012345ull);
    rb_result *res = run_add_result(&r);
    snprintf(res->scenario, sizeof res->scenario, "get");
    snprintf(res->op, sizeof res->op, "get");
    res->concurrency = 1;
    res->requests = 999999999999999ull;   /* < 1e15: fast path */
    res->errors = 1000000000000000ull;    /* 1e15: "%.15g" exponent form */
    res->ops_per_sec = -0.0;
    res->p50_us = 0.1;
    res->p99_us = 100173.37700000001;
    res->max_us = 1e300;
    res->mean_us = -12345;
    res->latency = hist_new();
    res->samples = xcalloc(2, sizeof *res->samples);
    res->n_samples = 2;
    res->samples[1].seconds = 1.0 / 3;
    res->server.present = 1;
    res->server.v[0] = -4.5e-7;
    result_set_metric(res, "zz", 7);
    result_set_metric(res, "aa", 2.5);
    kv_set(&res->params, &res->n_params, "rate", "1000");
    char *da = run_to_json(&r, 0), *pretty = run_to_json(&r, 1);
    cJSON_Minify(pretty);
    CHECK_STREQ(da, pretty);
    free(da);
    free(pretty);
    run_cleanup(&r);
}

/* The reference: the shortest of "%.15g", "%.16g", "%.17g" that reads back. */
static void ref_num(char *out, double v)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, 40, "%.*g", prec, v);
        if (strtod(out, NULL) == v) break;
    }
    if (!isfinite(v)) snprintf(out, 40, "null");
}

static void test_fmt_num_fast_paths(void)
{
    static const double fixed[] = {0, -0.0, 1, -1, 0.1, 0.5, 1e-4, 9.9999e-5, 1.5e-4, 123.456, 100850.437,
                                   100173.37700000001, 999999999999999, 1e15, -1e15, 123456789.123456,
                                   0.1 + 0.2, 1.0 / 3, 2.5e-7, 1e300, 4.9e-324, 12345678901234.5, NAN,
                                   INFINITY, 0.000123, 99.999999, 9007199254740993.0};
    int bad = 0;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0] + 200000 && bad < 5; i++) {
        double v;
        if (i < sizeof fixed / sizeof fixed[0]) {
            v = fixed[i];
        } else {
            uint64_t r = xs();
            int d = (int)(r % 8);
            double k = (double)(xs() % (r % 3 ? 100000000ull : 10000000000000000ull));
            v = k / pow(10, d) * (r & 8 ? -1 : 1);
            if (r % 5 == 0) memcpy(&v, &r, sizeof v); /* any bit pattern */
        }
        char got[40], want[40];
        run_fmt_num(got, v);
        ref_num(want, v);
        if (strcmp(got, want) != 0) {
            fprintf(stderr, "  run_fmt_num(%.17g) = %s, want %s\n", v, got, want);
            bad++;
        }
    }
    CHECK(bad == 0);
}

int main(void)
{
    RUN(test_fmt_num_fast_paths);
    RUN(test_summary_equals_decode);
    RUN(test_summary_canonicalizes);
    RUN(test_summary_same_errors);
    RUN(test_run_modes_agree);
    RUN(test_writer_edge_values);
    return TH_DONE();
}
