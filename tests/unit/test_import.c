/* test_import.c -- `redbench import`'s parsers: redis-benchmark CSV and memtier
 * JSON fixtures (tests/fixtures/import/) become results with the right values;
 * malformed input is refused with the file and the line or field. */
#include <stdarg.h>
#include <stdlib.h>

#include "import.h"
#include "model.h"
#include "testhelp.h"
#include "util.h"

/* 2026-01-01T00:00:00Z */
#define T0 (UINT64_C(1767225600) * 1000000000u)

static char *fixture(const char *name, size_t *len)
{
    const char *root = getenv("RB_ROOT");
    char path[1024], err[RB_ERR_LEN];
    snprintf(path, sizeof path, "%s/tests/fixtures/import/%s", root && *root ? root : ".", name);
    char *s = read_file(path, 1 << 20, len, err);
    if (!s) fprintf(stderr, "  %s\n", err);
    return s;
}

static const rb_result *find(const rb_run *r, const char *op)
{
    for (size_t i = 0; i < r->n_results; i++)
        if (!strcmp(r->results[i].op, op)) return &r->results[i];
    fprintf(stderr, "  no result '%s'\n", op);
    return NULL;
}

static const char *param(const rb_result *res, const char *key)
{
    for (size_t i = 0; i < res->n_params; i++)
        if (!strcmp(res->params[i].key, key)) return res->params[i].value;
    return NULL;
}

/* Imports the fixture files (NULL-terminated) into run; 0 ok. */
static int import_fixtures(enum import_format fmt, const import_params *p, rb_run *run, ...)
{
    importer *im = importer_new(fmt, p);
    char err[RB_ERR_LEN] = "";
    int rc = 0;
    va_list ap;
    va_start(ap, run);
    for (const char *f; (f = va_arg(ap, const char *));) {
        size_t len;
        char *text = fixture(f, &len);
        if (!text || importer_add(im, f, text, len, T0, err) < 0) {
            fprintf(stderr, "  %s: %s\n", f, err);
            rc = -1;
        }
        free(text);
    }
    va_end(ap);
    run_init(run);
    importer_finish(im, run);
    importer_free(im);
    return rc;
}

/* Adds text as a file called name and expects failure with err containing
 * want, and that nothing was kept. */
static int refuses(enum import_format fmt, const char *name, const char *text, const char *want)
{
    import_params p;
    import_params_init(&p);
    importer *im = importer_new(fmt, &p);
    char err[RB_ERR_LEN] = "";
    int rc = importer_add(im, name, text, strlen(text), T0, err);
    int ok = rc < 0 && strstr(err, want) && importer_cells(im) == 0;
    if (!ok) fprintf(stderr, "  want error containing '%s', got rc=%d err='%s'\n", want, rc, err);
    importer_free(im);
    return ok;
}

static void test_names(void)
{
    char out[RB_NAME_LEN];
    static const char *const cases[][2] = {
        {"PING_INLINE", "ping_inline"},
        {"SET", "set"},
        {"LRANGE_100 (first 100 elements)", "lrange_100"},
        {"LRANGE_600 (first 600 elements)", "lrange_600"},
        {"MSET (10 keys)", "mset_10"},
        {"LPUSH (needed to benchmark LRANGE)", "lpush"},
        {"hset myhash __rand_int__ v", "hset_myhash_rand_int_v"},
        {"  Weird--Name  ", "weird_name"},
        {"(only a remark)", ""},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        import_name(cases[i][0], out, sizeof out);
        CHECK_STREQ(out, cases[i][1]);
    }
    char longname[200];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    longname[62] = ' ';   /* a cut right after a separator must not leave it */
    import_name(longname, out, sizeof out);
    CHECK(strlen(out) == 62 && out[61] == 'a');
    CHECK_STREQ(import_data_type("set"), "string");
    CHECK_STREQ(import_data_type("mset_10"), "string");
    CHECK_STREQ(import_data_type("lrange_100"), "list");
    CHECK_STREQ(import_data_type("hset_myhash_rand_int_v"), "hash");
    CHECK_STREQ(import_data_type("zpopmin"), "zset");
    CHECK_STREQ(import_data_type("sadd"), "set");
    CHECK_STREQ(import_data_type("xadd"), "stream");
    CHECK_STREQ(import_data_type("ping_inline"), "any");
    CHECK_STREQ(import_data_type("totals"), "any");
    CHECK(import_format_find("redis-benchmark") == IMPORT_REDIS_BENCHMARK);
    CHECK(import_format_find("memtier") == IMPORT_MEMTIER);
    CHECK(import_format_find("memtier_benchmark") == IMPORT_MEMTIER);
    CHECK(import_format_find("wrk") == -1);
}

static void test_redis_benchmark_csv(void)
{
    import_params p;
    import_params_init(&p);
    p.concurrency = 10;
    p.requests = 2000;
    rb_run run;
    CHECK(import_fixtures(IMPORT_REDIS_BENCHMARK, &p, &run, "redis-benchmark-7.0.csv", NULL) == 0);
    /* 9 rows; the two LPUSH rows are one cell with two samples. */
    CHECK(run.n_results == 8);
    const rb_result *set = find(&run, "set");
    if (set) {
        CHECK_STREQ(set->scenario, "set");
        CHECK_STREQ(set->data_type, "string");
        CHECK_STREQ(set->status, "ok");
        CHECK(set->concurrency == 10 && set->pipeline == 1 && set->value_size == 3 && set->dataset_size == 1);
        CHECK(set->n_samples == 1);
        CHECK_NEAR(set->samples[0].ops_per_sec, 66666.67, 1e-9);
        CHECK(set->samples[0].requests == 2000 && set->requests == 2000);
        CHECK_NEAR(set->samples[0].seconds, 2000 / 66666.67, 1e-12);
        CHECK_NEAR(set->samples[0].p50_us, 55, 1e-9);
        CHECK(set->samples[0].p99_us == 351);   /* exact: ms kept to the ns */
        CHECK_NEAR(set->ops_per_sec, 66666.67, 1e-9);
        CHECK_NEAR(set->p50_us, 55, 1e-9);
        CHECK_NEAR(set->p95_us, 263, 1e-9);
        CHECK_NEAR(set->p99_us, 351, 1e-9);
        CHECK_NEAR(set->max_us, 479, 1e-9);
        CHECK_NEAR(set->mean_us, 87, 1e-9);
        CHECK(set->p90_us == 0 && set->p999_us == 0);
        CHECK(set->latency && hist_count(set->latency) == 0);
        CHECK(set->n_params == 1);
        CHECK_STREQ(param(set, "source"), "redis-benchmark");
    }
    const rb_result *lp = find(&run, "lpush");
    if (lp) {
        CHECK(lp->n_samples == 2 && lp->requests == 4000);
        CHECK_STREQ(lp->data_type, "list");
        CHECK_NEAR(lp->p99_us, 447, 1e-9);   /* upper median of 447 and 183 */
        CHECK_NEAR(lp->max_us, 3167, 1e-9);
        CHECK_NEAR(lp->mean_us, (121 + 57) / 2.0, 1e-9);
    }
    CHECK(find(&run, "lrange_100") && find(&run, "mset_10") && find(&run, "ping_inline"));
    const rb_result *mset = find(&run, "mset_10");
    if (mset) CHECK_STREQ(mset->data_type, "string");
    /* Times: the file's, minus what its samples lasted. */
    CHECK_STREQ(run.ended_at, "2026-01-01T00:00:00.000Z");
    CHECK(strcmp(run.started_at, run.ended_at) < 0 && !strncmp(run.started_at, "2025-12-31T23:59:59", 19));
    CHECK(run.status[0] == '\0');
    run_cleanup(&run);
}

static void test_defaults_and_several_files(void)
{
    static const char f1[] =
        "\"test\",\"rps\",\"avg_latency_ms\",\"min_latency_ms\",\"p50_latency_ms\",\"p95_latency_ms\","
        "\"p99_latency_ms\",\"max_latency_ms\"\n"
        "\"SET\",\"1000.00\",\"1.000\",\"0.100\",\"0.900\",\"2.000\",\"3.000\",\"9.000\"\n";
    static const char f2[] =
        "\"test\",\"rps\",\"avg_latency_ms\",\"min_latency_ms\",\"p50_latency_ms\",\"p95_latency_ms\","
        "\"p99_latency_ms\",\"max_latency_ms\"\n"
        "\"SET\",\"3000.00\",\"0.500\",\"0.100\",\"0.400\",\"1.000\",\"1.500\",\"4.000\"\n"
        "\"GET\",\"2000.00\",\"0.500\",\"0.100\",\"0.400\",\"1.000\",\"1.500\",\"4.000\"\n";
    import_params p;
    import_params_init(&p);
    importer *im = importer_new(IMPORT_REDIS_BENCHMARK, &p);
    char err[RB_ERR_LEN] = "";
    CHECK(importer_add(im, "a.csv", f1, strlen(f1), T0, err) == 0);
    CHECK(importer_add(im, "b.csv", f2, strlen(f2), T0 + 60 * UINT64_C(1000000000), err) == 0);
    CHECK(importer_cells(im) == 2);
    rb_run run;
    run_init(&run);
    CHECK(importer_finish(im, &run) == 2);
    CHECK(importer_cells(im) == 0);
    importer_free(im);
    const rb_result *set = find(&run, "set");
    if (set) {
        /* redis-benchmark's defaults: -c 50 -P 1 -d 3, one key. */
        CHECK(set->concurrency == 50 && set->pipeline == 1 && set->value_size == 3 && set->dataset_size == 1);
        CHECK(set->n_samples == 2);
        CHECK_NEAR(set->ops_per_sec, 2000, 1e-9);
        /* No --requests: requests and seconds unknown (0). */
        CHECK(set->requests == 0 && set->samples[0].seconds == 0);
        CHECK_NEAR(set->p50_us, 900, 1e-9);
        CHECK_NEAR(set->p99_us, 3000, 1e-9);
        CHECK_NEAR(set->max_us, 9000, 1e-9);
        CHECK_NEAR(set->mean_us, 750, 1e-9);
    }
    const rb_result *get = find(&run, "get");
    if (get) CHECK(get->n_samples == 1);
    CHECK_STREQ(run.started_at, "2026-01-01T00:00:00.000Z");
    CHECK_STREQ(run.ended_at, "2026-01-01T00:01:00.000Z");
    run_cleanup(&run);
}

static void test_legacy_csv(void)
{
    import_params p;
    import_params_init(&p);
    p.pipeline = 16;
    rb_run run;
    CHECK(import_fixtures(IMPORT_REDIS_BENCHMARK, &p, &run, "redis-benchmark-legacy.csv", NULL) == 0);
    CHECK(run.n_results == 3);
    const rb_result *get = find(&run, "get");
    if (get) {
        CHECK_NEAR(get->ops_per_sec, 97087.38, 1e-9);
        CHECK(get->pipeline == 16);
        CHECK(get->p50_us == 0 && get->p99_us == 0);
    }
    run_cleanup(&run);
}

static void test_csv_errors(void)
{
    static const char hdr[] = "\"test\",\"rps\",\"avg_latency_ms\",\"min_latency_ms\",\"p50_latency_ms\","
                              "\"p95_latency_ms\",\"p99_latency_ms\",\"max_latency_ms\"\n";
    char text[1024];
    CHECK(refuses(IMPORT_REDIS_BENCHMARK, "e.csv", "", "e.csv: empty file"));
    CHECK(refuses(IMPORT_REDIS_BENCHMARK, "e.csv", "\n\r\n", "e.csv: empty file"));
    CHECK(refuses(IMPORT_REDIS_BENCHMARK, "h.csv", hdr, "h.csv: no test rows"));
    CHECK(refuses(IMPORT_REDIS_BENCHMARK, "r.csv", "\"test\",\"speed\"\n\"SET\",\"1\"\n",
                  "r.csv:1: header has no \"rps\" column"));
    snprintf(text, sizeof text, "%s\"SET\",\"1.0\",\"0.1\",\"0.1\",\"0.1\",\"0.1\",\"0.1\",\"0.1\"\n"
                                "\"GET\",\"fast\",\"0.1\",\"0.1\",\"0.1\",\"0.1\",\"0.1\",\"0.1\"\n", hdr);
    CHECK(refuses(IMPORT_REDIS_BENCHMARK, "n.csv", text, "n.csv:3: rps: 'fast' is not a non-negative number"));
    snprintf(text, sizeof text, "%s\"SET\",\"1.0\",\"0.1\",\"0.1\",\"-nan\",\"0.1\",\"0.1\",\"0.1\"\n", hdr);
    CHECK(refuses(IMPORT_REDIS_BENCHMARK, "n.csv", text, "n.csv:2: p50_latency_ms: '-nan' is not"));
    snprintf(text, sizeof text, "%s\"SET\",\"1.0\",\"-0.1\",\"0.1\",\"0.1\",\"0.1\",\"0.1\",\"0.1\"\n", hdr);
    CHECK(refuses(IMPORT_REDIS_BENCHMARK, "n.csv", text, "n.csv:2: avg_latency_ms: '-0.1'"));
    snprintf(text, sizeof text, "%s\"SET\",\"1.0\",\"0.1\"\n", hdr);
    CHECK(refuses(IMPORT_REDIS_BENCHMARK, "s.csv", text, "s.csv:2: 3 fields, expected 8"));
    snprintf(text, sizeof text, "%s\n\"SET,\"1.0\"\n", hdr);
    CHECK(refuses(IMPORT_REDIS_BENCHMARK, "q.csv", text, "q.csv:3: unterminated or misplaced quote"));
    snprintf(text, sizeof text, "%s\"\",\"1.0\",\"0.1\",\"0.1\",\"0.1\",\"0.1\",\"0.1\",\"0.1\"\n", hdr);
    CHECK(refuses(IMPORT_REDIS_BENCHMARK, "t.csv", text, "t.csv:2: test: no name"));
    /* memtier's JSON given as CSV: says what it expected. */
    CHECK(refuses(IMPORT_REDIS_BENCHMARK, "m.json", "{\n  \"configuration\": {}\n}\n",
                  "m.json:1: 1 field, expected 2 (is this redis-benchmark --csv output?)"));

    /* A failing file leaves what earlier files gave untouched. */
    import_params p;
    import_params_init(&p);
    importer *im = importer_new(IMPORT_REDIS_BENCHMARK, &p);
    char err[RB_ERR_LEN];
    static const char good[] = "\"SET\",\"100\"\n";
    static const char bad[] = "\"GET\",\"100\"\n\"SET\",\"x\"\n";
    CHECK(importer_add(im, "g.csv", good, strlen(good), T0, err) == 0);
    CHECK(importer_add(im, "b.csv", bad, strlen(bad), T0, err) < 0);
    CHECK_STREQ(err, "b.csv:2: rps: 'x' is not a non-negative number");
    CHECK(importer_cells(im) == 1);
    importer_free(im);
}

/* Quoted commas, doubled quotes, appended runs with a second header. */
static void test_csv_shapes(void)
{
    static const char text[] =
        "\"test\",\"rps\",\"p50_latency_ms\"\r\n"
        "\"set k \"\"a,b\"\"\",\"10\",\"1\"\r\n"
        "\r\n"
        "\"test\",\"rps\",\"avg_latency_ms\",\"min_latency_ms\",\"p50_latency_ms\",\"p95_latency_ms\","
        "\"p99_latency_ms\",\"max_latency_ms\"\n"
        "SET , 20 ,0.1,0.1,0.2,0.3,0.4,0.5\n";
    import_params p;
    import_params_init(&p);
    importer *im = importer_new(IMPORT_REDIS_BENCHMARK, &p);
    char err[RB_ERR_LEN] = "";
    CHECK(importer_add(im, "x.csv", text, strlen(text), T0, err) == 0);
    if (err[0]) fprintf(stderr, "  %s\n", err);
    rb_run run;
    run_init(&run);
    importer_finish(im, &run);
    importer_free(im);
    CHECK(run.n_results == 2);
    const rb_result *r = find(&run, "set_k_a_b");
    if (r) CHECK(r->samples[0].p50_us == 1000 && r->samples[0].p99_us == 0);
    r = find(&run, "set");
    if (r) CHECK(r->samples[0].ops_per_sec == 20 && r->samples[0].p99_us == 400);
    run_cleanup(&run);
}

static void test_memtier_v2(void)
{
    import_params p;
    import_params_init(&p);
    rb_run run;
    CHECK(import_fixtures(IMPORT_MEMTIER, &p, &run, "memtier-2.0.json", NULL) == 0);
    CHECK(run.n_results == 3);   /* Sets, Gets, Totals; Waits ran nothing */
    const rb_result *set = find(&run, "set");
    if (set) {
        CHECK_STREQ(set->data_type, "string");
        CHECK(set->concurrency == 50 && set->pipeline == 4 && set->value_size == 128);
        CHECK(set->dataset_size == 50000);
        CHECK(set->n_samples == 1 && set->requests == 200000);
        CHECK_NEAR(set->samples[0].ops_per_sec, 50000, 1e-9);
        CHECK_NEAR(set->samples[0].seconds, 4.0, 1e-12);
        CHECK(set->samples[0].p50_us == 3727 && set->samples[0].p99_us == 9151);
        CHECK_NEAR(set->p999_us, 14335, 1e-9);
        CHECK_NEAR(set->max_us, 21503, 1e-9);
        CHECK_NEAR(set->mean_us, 3912, 1e-9);
        CHECK(set->p95_us == 0);
        CHECK_STREQ(param(set, "source"), "memtier");
        CHECK_STREQ(param(set, "ratio"), "1:4");
    }
    const rb_result *tot = find(&run, "totals");
    if (tot) {
        CHECK_STREQ(tot->data_type, "any");
        CHECK(tot->requests == 1000000);
    }
    CHECK(find(&run, "get") != NULL);
    CHECK_STREQ(run.started_at, "2026-01-01T00:00:00.000Z");
    CHECK_STREQ(run.ended_at, "2026-01-01T00:00:04.000Z");
    CHECK_STREQ(run.target_address, "10.0.0.7:6379");
    CHECK(run.status[0] == '\0');

    /* Flags override the configuration. */
    p.concurrency = 8;
    p.pipeline = 1;
    p.value_size = 0;
    p.dataset_size = 10;
    rb_run run2;
    CHECK(import_fixtures(IMPORT_MEMTIER, &p, &run2, "memtier-2.0.json", NULL) == 0);
    set = find(&run2, "set");
    if (set) CHECK(set->concurrency == 8 && set->pipeline == 1 && set->value_size == 0 && set->dataset_size == 10);
    run_cleanup(&run);
    run_cleanup(&run2);
}

static void test_memtier_runs(void)
{
    import_params p;
    import_params_init(&p);
    rb_run run;
    CHECK(import_fixtures(IMPORT_MEMTIER, &p, &run, "memtier-runs.json", NULL) == 0);
    CHECK(run.n_results == 2);   /* set and totals; no gets at 1:0 */
    const rb_result *set = find(&run, "set");
    if (set) {
        CHECK(set->concurrency == 10 && set->pipeline == 1 && set->value_size == 64 && set->dataset_size == 1000);
        CHECK(set->n_samples == 2);   /* RUN #1 and RUN #2, not best/worst/aggregated */
        CHECK_NEAR(set->samples[0].ops_per_sec, 20000, 1e-9);
        CHECK_NEAR(set->samples[1].seconds, 0.4, 1e-12);
        CHECK_NEAR(set->ops_per_sec, 22500, 1e-9);
        CHECK_NEAR(set->p95_us, 815, 1e-9);
        CHECK_NEAR(set->p99_us, 1103, 1e-9);
        CHECK_NEAR(set->max_us, 2111, 1e-9);
        CHECK_NEAR(set->mean_us, (498 + 399) / 2.0, 1e-9);
        CHECK_STREQ(param(set, "ratio"), "1:0");
    }
    CHECK_STREQ(run.started_at, "2026-01-01T00:00:00.000Z");
    CHECK_STREQ(run.ended_at, "2026-01-01T00:00:01.400Z");
    CHECK_STREQ(run.target_address, "127.0.0.1:6380");
    run_cleanup(&run);
}

static void test_memtier_1x(void)
{
    import_params p;
    import_params_init(&p);
    rb_run run;
    CHECK(import_fixtures(IMPORT_MEMTIER, &p, &run, "memtier-1.x.json", NULL) == 0);
    CHECK(run.n_results == 3);
    const rb_result *set = find(&run, "set");
    if (set) {
        CHECK(set->concurrency == 200 && set->value_size == 32 && set->dataset_size == 10000001);
        CHECK_NEAR(set->ops_per_sec, 9012.33, 1e-9);
        CHECK(set->requests == 0 && set->samples[0].seconds == 0);
        CHECK_NEAR(set->p50_us, 2000, 1e-9);    /* first bucket at >= 50% */
        CHECK_NEAR(set->p95_us, 3100, 1e-9);
        CHECK_NEAR(set->p99_us, 4700, 1e-9);
        CHECK_NEAR(set->max_us, 9900, 1e-9);
        CHECK_NEAR(set->mean_us, 2010, 1e-9);
    }
    const rb_result *get = find(&run, "get");
    if (get) CHECK_NEAR(get->p99_us, 4500, 1e-9);
    run_cleanup(&run);
}

static void test_memtier_interrupted(void)
{
    /* An interrupted memtier writes Ops/sec 0 beside real counts and a
     * nonsense Runtime; the run and its results are marked partial. */
    static const char text[] =
        "{\"configuration\": {\"clients\": 5, \"threads\": 1},\n"
        " \"run information\": {\"Actual benchmark duration (seconds)\": 2.5,\n"
        "   \"Benchmark completion status\": \"INTERRUPTED (stopped before full run)\"},\n"
        " \"ALL STATS\": {\"Runtime\": {\"Start time\": 1758715990644, \"Finish time\": 35174308010,\n"
        "   \"Total duration\": -1723541682634, \"Time unit\": \"MILLISECONDS\"},\n"
        "   \"Sets\": {\"Count\": 5000, \"Ops/sec\": 0.00, \"Latency\": 1.0,\n"
        "     \"Percentile Latencies\": {\"p50.00\": 0.9, \"p99.00\": 2.5}},\n"
        "   \"Mgets\": {\"Count\": 2500, \"Ops/sec\": 0.00, \"Latency\": 1.0}}}\n";
    import_params p;
    import_params_init(&p);
    importer *im = importer_new(IMPORT_MEMTIER, &p);
    char err[RB_ERR_LEN] = "";
    CHECK(importer_add(im, "i.json", text, strlen(text), T0, err) == 0);
    if (err[0]) fprintf(stderr, "  %s\n", err);
    rb_run run;
    run_init(&run);
    importer_finish(im, &run);
    importer_free(im);
    CHECK_STREQ(run.status, "partial");
    const rb_result *set = find(&run, "set");
    if (set) {
        CHECK_STREQ(set->status, "partial");
        CHECK_NEAR(set->ops_per_sec, 2000, 1e-9);
        CHECK(set->requests == 5000);
        CHECK(set->dataset_size == 10000001 && set->concurrency == 5);
    }
    const rb_result *mget = find(&run, "mget");
    if (mget) CHECK_STREQ(mget->data_type, "string");
    /* The nonsense Runtime is not believed: the file's time stands. */
    CHECK_STREQ(run.ended_at, "2026-01-01T00:00:00.000Z");
    CHECK_STREQ(run.started_at, "2025-12-31T23:59:57.500Z");
    run_cleanup(&run);
}

static void test_memtier_errors(void)
{
    CHECK(refuses(IMPORT_MEMTIER, "m.json", "{\n\"configuration\": {\n\"clients\": 5,,\n}}",
                  "m.json:3: malformed JSON"));
    CHECK(refuses(IMPORT_MEMTIER, "m.json", "[1, 2]", "m.json: not a JSON object"));
    CHECK(refuses(IMPORT_MEMTIER, "m.json", "{\"configuration\": 5, \"ALL STATS\": {}}",
                  "m.json: configuration: must be an object"));
    CHECK(refuses(IMPORT_MEMTIER, "m.json", "{\"configuration\": {\"clients\": \"many\"}, \"ALL STATS\": {}}",
                  "m.json: configuration.clients: must be a whole number >= 1"));
    CHECK(refuses(IMPORT_MEMTIER, "m.json", "{\"configuration\": {\"pipeline\": 0}, \"ALL STATS\": {}}",
                  "m.json: configuration.pipeline: must be a whole number >= 1"));
    CHECK(refuses(IMPORT_MEMTIER, "m.json", "{\"configuration\": {\"key_minimum\": 10, \"key_maximum\": 5}}",
                  "m.json: configuration.key_maximum: smaller than key_minimum"));
    CHECK(refuses(IMPORT_MEMTIER, "m.json", "{\"configuration\": {\"ratio\": 3}}",
                  "m.json: configuration.ratio: must be a string"));
    CHECK(refuses(IMPORT_MEMTIER, "m.json", "{\"configuration\": {}}", "m.json: no \"ALL STATS\" section"));
    CHECK(refuses(IMPORT_MEMTIER, "m.json", "{\"ALL STATS\": {\"Sets\": {\"Ops/sec\": \"fast\"}}}",
                  "m.json: ALL STATS.Sets.Ops/sec: must be a non-negative number"));
    CHECK(refuses(IMPORT_MEMTIER, "m.json", "{\"ALL STATS\": {\"Sets\": {\"Ops/sec\": 1, \"Count\": 1.5}}}",
                  "m.json: ALL STATS.Sets.Count: must be a whole number >= 0"));
    CHECK(refuses(IMPORT_MEMTIER, "m.json",
                  "{\"ALL STATS\": {\"Gets\": {\"Ops/sec\": 1, \"Percentile Latencies\": {\"p99.00\": \"slow\"}}}}",
                  "m.json: ALL STATS.Gets.Percentile Latencies.p99.00: must be a non-negative number"));
    CHECK(refuses(IMPORT_MEMTIER, "m.json", "{\"ALL STATS\": {\"Gets\": {\"Ops/sec\": 1, \"Latency\": -1}}}",
                  "m.json: ALL STATS.Gets.Latency: must be a non-negative number"));
    CHECK(refuses(IMPORT_MEMTIER, "m.json", "{\"ALL STATS\": {\"Runtime\": {}, \"Waits\": {\"Ops/sec\": 0}}}",
                  "m.json: no command with operations"));
    CHECK(refuses(IMPORT_MEMTIER, "m.csv", "\"test\",\"rps\"\n", "m.csv:1: malformed JSON"));
    CHECK(refuses(IMPORT_MEMTIER, "two.json", "{\"ALL STATS\": {}}\n{}\n", "two.json:2: malformed JSON"));
}

/* An imported run passes the collector's validation, keeps its summaries
 * through the codec, and its series keys carry the source. */
static void test_round_trip(void)
{
    import_params p;
    import_params_init(&p);
    p.requests = 2000;
    rb_run run, back;
    CHECK(import_fixtures(IMPORT_REDIS_BENCHMARK, &p, &run, "redis-benchmark-7.0.csv",
                          "redis-benchmark-7.0.csv", NULL) == 0);
    snprintf(run.id, sizeof run.id, "import-test");
    snprintf(run.branch, sizeof run.branch, "main");
    snprintf(run.mode, sizeof run.mode, "single");
    char *json = run_to_json(&run, 0);
    char err[RB_ERR_LEN] = "";
    CHECK(run_from_json(json, strlen(json), &back, err) == 0);
    if (err[0]) fprintf(stderr, "  %s\n", err);
    CHECK(back.n_results == run.n_results);
    const rb_result *a = find(&run, "set"), *b = find(&back, "set");
    if (a && b) {
        CHECK(b->n_samples == 2);
        CHECK(b->p95_us == a->p95_us && b->p99_us == a->p99_us && b->max_us == a->max_us);
        CHECK(b->mean_us == a->mean_us && b->ops_per_sec == a->ops_per_sec);
        char key[RB_SERIES_KEY_LEN];
        result_series_key(&back, b, key, sizeof key);
        CHECK_STREQ(key, "set/set mode=single region=local>local preset=local c=50 p=1 v=3 d=1 source=redis-benchmark");
    }
    char *again = run_to_json(&back, 0);
    free(json);
    free(again);
    run_cleanup(&run);
    run_cleanup(&back);
}

int main(void)
{
    RUN(test_names);
    RUN(test_redis_benchmark_csv);
    RUN(test_defaults_and_several_files);
    RUN(test_legacy_csv);
    RUN(test_csv_errors);
    RUN(test_csv_shapes);
    RUN(test_memtier_v2);
    RUN(test_memtier_runs);
    RUN(test_memtier_1x);
    RUN(test_memtier_interrupted);
    RUN(test_memtier_errors);
    RUN(test_round_trip);
    return TH_DONE();
}
