/* test_thresholds.c -- unit tests for analyzer/thresholds.c: the
 * redbench.thresholds line format, precedence of lines, SLOs, errors with
 * line numbers, the warehouse's thresholds table, and the precedence of
 * warehouse, file and command line inside analyze_run. */
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "analyze.h"
#include "store.h"
#include "testhelp.h"
#include "thresholds.h"
#include "util.h"

static const char EXAMPLE[] =
    "# redbench.thresholds for the tests\n"
    "* threshold=8% alpha=0.01\n"
    "metric=p99_us threshold=25%\n"
    "op=get metric=p99_us threshold=20% rule=mwu   # gets are noisier\n"
    "\n"
    "scenario=set op=set metric=ops_per_sec threshold=0.03 min_runs=5\n"
    "series=\"get/get mode=single *\" rule=welch\n"
    "op=h* rule=off\n"
    "metric=ops threshold=6%\n"
    "metric=ops threshold=7%\n"
    "slo get p99_us < 5ms\n"
    "slo op=set ops_per_sec > 50k\n"
    "slo scenario=pubsub* errors <= 0\n"
    "slo p99<=2.5ms\n";

static th_settings fresh(void)
{
    th_settings s = {.rule = RULE_DEFAULT, .threshold = 0.5, .alpha = 0.05, .limit = 0,
                     .min_baseline_runs = 2};
    return s;
}

static void test_parse_and_resolve(void)
{
    char err[RB_ERR_LEN] = "";
    thresholds *t = thresholds_new();
    CHECK(thresholds_parse(t, EXAMPLE, "example", err) == 0);
    CHECK_STREQ(err, "");
    CHECK(thresholds_count(t) == 12);

    const char *key = "get/get mode=single region=local>local preset=local c=4 p=1 v=64 d=500";
    th_subject get_p99 = {"get", "get", key, "p99_us"};
    th_settings s = fresh();
    thresholds_resolve(t, &get_p99, &s);
    CHECK_NEAR(s.threshold, 0.20, 1e-12);    /* op + metric (2) beats metric (1) and * (0) */
    CHECK(s.spec[TH_THRESHOLD] == 2);
    CHECK(s.rule == RULE_MWU);                /* op + metric (2) beats series (1) */
    CHECK_NEAR(s.alpha, 0.01, 1e-12);         /* only the catch-all sets it */
    CHECK(s.spec[TH_ALPHA] == 0);
    CHECK(s.min_baseline_runs == 2 && s.spec[TH_MIN_RUNS] == -1);

    th_subject get_ops = {"get", "get", key, "ops_per_sec"};
    s = fresh();
    thresholds_resolve(t, &get_ops, &s);
    CHECK(s.rule == RULE_WELCH);              /* the series line */
    CHECK_NEAR(s.threshold, 0.07, 1e-12);     /* equal specificity: the later line */

    th_subject set_ops = {"set", "set", "set/set mode=single", "ops_per_sec"};
    s = fresh();
    thresholds_resolve(t, &set_ops, &s);
    CHECK_NEAR(s.threshold, 0.03, 1e-12);
    CHECK(s.min_baseline_runs == 5 && s.spec[TH_MIN_RUNS] == 3);
    CHECK(s.rule == RULE_DEFAULT && s.spec[TH_RULE] == -1);

    th_subject hset = {"hset", "hset", "hset/hset", "p50_us"};
    s = fresh();
    thresholds_resolve(t, &hset, &s);
    CHECK(s.rule == TH_RULE_OFF);

    /* No lines at all: nothing changes. */
    s = fresh();
    thresholds_resolve(NULL, &hset, &s);
    CHECK(s.rule == RULE_DEFAULT && s.spec[TH_RULE] == -1 && s.threshold == 0.5);
    thresholds_free(t);
}

static void test_slos(void)
{
    char err[RB_ERR_LEN];
    thresholds *t = thresholds_new();
    CHECK(thresholds_parse(t, EXAMPLE, "example", err) == 0);
    th_subject get = {"get", "get", "get/get", NULL};
    size_t it = 0;
    const th_slo *s = thresholds_next_slo(t, &get, &it);
    CHECK(s != NULL);
    if (s) {
        CHECK_STREQ(s->metric, "p99_us");
        CHECK(s->cmp == SLO_LT);
        CHECK_NEAR(s->limit, 5000, 0);
        CHECK_STREQ(s->text, "p99_us < 5000");
        CHECK_STREQ(s->where, "example:11");
        CHECK(th_slo_met(s, 4999.9));
        CHECK(!th_slo_met(s, 5000));
    }
    s = thresholds_next_slo(t, &get, &it); /* the line without a selector */
    CHECK(s != NULL && s->cmp == SLO_LE && s->limit == 2500 && th_slo_met(s, 2500));
    CHECK(thresholds_next_slo(t, &get, &it) == NULL);

    th_subject set = {"set", "set", "set/set", NULL};
    it = 0;
    s = thresholds_next_slo(t, &set, &it);
    CHECK(s != NULL && !strcmp(s->metric, "ops_per_sec") && s->cmp == SLO_GT && s->limit == 50000);
    if (s) CHECK(!th_slo_met(s, 50000) && th_slo_met(s, 50001));

    th_subject ps = {"pubsub-fanout", "publish", "x", NULL};
    it = 0;
    s = thresholds_next_slo(t, &ps, &it);
    CHECK(s != NULL && !strcmp(s->metric, "errors") && th_slo_met(s, 0) && !th_slo_met(s, 1));
    thresholds_free(t);

    /* Units and spellings. */
    static const struct {
        const char *line;
        double limit;
    } forms[] = {
        {"slo p50_us < 250", 250},        {"slo p50_us<250us", 250},
        {"slo p50 < 1.5 ms", 1500},       {"slo p99_us < 2s", 2e6},
        {"slo p99_us < 3µs", 3},          {"slo ops >= 1.5M", 1.5e6},
        {"slo op=get ops/s > 20k", 20000}, {"slo throughput>100", 100},
    };
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        t = thresholds_new();
        int rc = thresholds_parse(t, forms[i].line, "f", err);
        CHECK(rc == 0);
        if (rc) fprintf(stderr, "  %s: %s\n", forms[i].line, err);
        th_subject any = {"get", "get", "k", NULL};
        it = 0;
        s = thresholds_next_slo(t, &any, &it);
        CHECK(s != NULL);
        if (s) CHECK_NEAR(s->limit, forms[i].limit, 1e-9);
        thresholds_free(t);
    }
}

static void test_errors(void)
{
    static const struct {
        const char *text, *err;
    } bad[] = {
        {"* threshold=8%\nop=get frobnicate=1\n", "f:2: unknown setting 'frobnicate'"},
        {"op=get threshold=ten\n", "f:1: threshold=ten: want a number"},
        {"\n\n# c\nop=get threshold=200\n", "f:4: threshold=200: out of range"},
        {"op=get rule=magic\n", "f:1: rule=magic: unknown rule"},
        {"metric=p42_us threshold=1%\n", "f:1: metric=p42_us: no such metric"},
        {"op=get\n", "f:1: a selector without settings"},
        {"threshold=1% op=get\n", "f:1: op= after a setting"},
        {"* op=get threshold=1%\n", "f:1: '*' together with selectors"},
        {"op=get op=set threshold=1%\n", "f:1: op= given twice"},
        {"series=\"get/get threshold=1%\n", "f:1: unterminated quote"},
        {"op=get alpha=1.5\n", "f:1: alpha=1.5: want a number in (0, 1)"},
        {"op=get min_runs=0\n", "f:1: min_runs=0: want a whole number"},
        {"op=get threshold=1% slo p99_us < 5ms\n", "f:1: slo must come right after the selector"},
        {"slo ops_per_sec > 5ms\n", "f:1: slo: unit 'ms' does not fit ops_per_sec"},
        {"slo p99_us = 5ms\n", "f:1: slo: want <, <=, > or >= after p99_us"},
        {"slo p77_us < 5\n", "f:1: slo: unknown metric 'p77_us'"},
        {"slo p99_us <\n", "f:1: slo: want a number"},
        {"metric=p99_us slo p99_us < 5\n", "f:1: slo: the metric goes in the limit"},
        {"op=get loud\n", "f:1: 'loud': want KEY=VALUE"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[RB_ERR_LEN] = "";
        thresholds *t = thresholds_new();
        CHECK(thresholds_parse(t, "* threshold=1%\n", "ok", err) == 0);
        int rc = thresholds_parse(t, bad[i].text, "f", err);
        CHECK(rc == -1);
        if (strncmp(err, bad[i].err, strlen(bad[i].err)) != 0) {
            fprintf(stderr, "  case %zu: err \"%s\", expected \"%s...\"\n", i, err, bad[i].err);
            th_cur_fail++;
        }
        CHECK(thresholds_count(t) == 1); /* a failed parse keeps nothing */
        thresholds_free(t);
    }
    char err[RB_ERR_LEN];
    thresholds *t = thresholds_new();
    CHECK(thresholds_load_file(t, "/nonexistent/redbench.thresholds", err) == -1);
    CHECK(strstr(err, "/nonexistent/redbench.thresholds") != NULL);
    /* Blank, comment-only and CRLF lines are fine. */
    CHECK(thresholds_parse(t, "\r\n   \n# only a comment\nop=get threshold=1%\r\n", "f", err) == 0);
    CHECK(thresholds_count(t) == 1);
    thresholds_free(t);
}

static void test_warehouse_table(void)
{
    sqlite3 *db;
    char err[RB_ERR_LEN];
    CHECK(sqlite3_open(":memory:", &db) == SQLITE_OK);
    thresholds *t = thresholds_new();
    /* Before migration 4: no table, no lines, no error. */
    CHECK(thresholds_load_db(t, db, "p1", err) == 0);
    CHECK(thresholds_count(t) == 0);
    CHECK(store_exec(db,
                     "CREATE TABLE thresholds (id INTEGER PRIMARY KEY, project TEXT NOT NULL, "
                     "selector TEXT NOT NULL, settings TEXT NOT NULL);"
                     "INSERT INTO thresholds VALUES (1, 'p1', 'op=get', 'threshold=20%');"
                     "INSERT INTO thresholds VALUES (2, '*', '*', 'threshold=9%');"
                     "INSERT INTO thresholds VALUES (3, 'p2', 'op=get', 'threshold=30%');"
                     "INSERT INTO thresholds VALUES (4, 'p1', 'op=get', 'slo p99_us < 1ms');"
                     "INSERT INTO thresholds VALUES (5, '*', 'op=get', 'threshold=1%');",
                     err) == 0);
    CHECK(thresholds_load_db(t, db, "p1", err) == 0);
    CHECK(thresholds_count(t) == 4);
    th_subject get = {"get", "get", "k", "ops_per_sec"};
    th_settings s = fresh();
    thresholds_resolve(t, &get, &s);
    /* '*' rows first: the project's own op=get line (id 1) comes after id 5. */
    CHECK_NEAR(s.threshold, 0.20, 1e-12);
    size_t it = 0;
    get.metric = NULL;
    CHECK(thresholds_next_slo(t, &get, &it) != NULL);
    thresholds_free(t);

    CHECK(store_exec(db, "INSERT INTO thresholds VALUES (6, 'p1', 'op=get', 'threshold=lots')", err) == 0);
    t = thresholds_new();
    CHECK(thresholds_load_db(t, db, "p1", err) == -1);
    CHECK(strstr(err, "warehouse thresholds id 6:1: threshold=lots") != NULL);
    thresholds_free(t);
    sqlite3_close(db);
}

static void test_append(void)
{
    char err[RB_ERR_LEN];
    thresholds *a = thresholds_new(), *b = thresholds_new();
    CHECK(thresholds_parse(a, "op=get threshold=10%\n", "a", err) == 0);
    CHECK(thresholds_parse(b, "op=get threshold=20%\nslo p99_us < 1\n", "b", err) == 0);
    thresholds_append(a, b);
    thresholds_free(b);
    CHECK(thresholds_count(a) == 3);
    th_subject get = {"get", "get", "k", "p50_us"};
    th_settings s = fresh();
    thresholds_resolve(a, &get, &s);
    CHECK_NEAR(s.threshold, 0.20, 1e-12); /* appended lines come later */
    thresholds_free(a);
}

/* ---- precedence inside analyze_run: warehouse, file, command line ---- */

static void add_run(store *st, const char *id, int day, double ops)
{
    rb_run run;
    run_init(&run);
    snprintf(run.id, sizeof run.id, "%s", id);
    snprintf(run.project, sizeof run.project, "p1");
    snprintf(run.branch, sizeof run.branch, "main");
    snprintf(run.mode, sizeof run.mode, "single");
    snprintf(run.client_region, sizeof run.client_region, "local");
    snprintf(run.server_region, sizeof run.server_region, "local");
    snprintf(run.target_preset, sizeof run.target_preset, "local");
    snprintf(run.target_version, sizeof run.target_version, "%s", day < 9 ? "7.0.15" : "7.2.4");
    snprintf(run.started_at, sizeof run.started_at, "2026-10-%02dT10:00:00.000Z", day);
    snprintf(run.ended_at, sizeof run.ended_at, "2026-10-%02dT10:01:00.000Z", day);
    kv_set(&run.config, &run.n_config, "maxmemory-policy", day < 9 ? "noeviction" : "allkeys-lru");
    /* A "set" cell only in the first two runs and the last: older than
     * the scan of the newest runs reaches with max_baseline_runs 2. */
    for (int cell = 0; cell < 2; cell++) {
        if (cell == 1 && day > 2 && day < 9) break;
        rb_result *r = run_add_result(&run);
        snprintf(r->scenario, sizeof r->scenario, "%s", cell ? "set" : "get");
        snprintf(r->op, sizeof r->op, "%s", cell ? "set" : "get");
        snprintf(r->data_type, sizeof r->data_type, "string");
        r->concurrency = r->pipeline = 1;
        r->value_size = 64;
        r->dataset_size = 100;
        r->latency = hist_new();
        r->n_samples = 4;
        r->samples = xcalloc(4, sizeof *r->samples);
        for (int k = 0; k < 4; k++) {
            r->samples[k].ops_per_sec = ops * (1 + 0.002 * (k - 1.5)) * (1 + 0.001 * (day % 3));
            r->samples[k].p50_us = 100;
            r->samples[k].p99_us = 300 + k;
            r->samples[k].requests = 1000;
            r->samples[k].seconds = 0.1;
        }
        r->ops_per_sec = ops;
        r->p50_us = 100;
        r->p99_us = 6000;
    }
    char err[RB_ERR_LEN];
    char *doc = run_to_json(&run, 0);
    sqlite3 *db = store_writer_lock(st);
    CHECK(store_exec(db, "BEGIN", err) == 0);
    CHECK(store_insert_run(db, &run, doc, err) == STORE_CREATED);
    CHECK(store_exec(db, "COMMIT", err) == 0);
    store_writer_unlock(st);
    free(doc);
    run_cleanup(&run);
}

/* The verdict on metric of the get cell (or of the SLO on it). */
static const verdict *find_op(const verdict_list *vl, const char *op, const char *metric, int slo)
{
    for (size_t i = 0; i < vl->n; i++)
        if (!strcmp(vl->v[i].op, op) && !strcmp(metric_info[vl->v[i].metric].name, metric) &&
            !!vl->v[i].slo[0] == slo)
            return &vl->v[i];
    return NULL;
}

static const verdict *find(const verdict_list *vl, const char *metric, int slo)
{
    return find_op(vl, "get", metric, slo);
}

static void test_precedence_in_analyze(void)
{
    char path[] = "/tmp/redbench-test-th-XXXXXX", err[RB_ERR_LEN];
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    unlink(path);
    store *st = store_open(path, err);
    CHECK(st != NULL);
    if (!st) return;
    for (int d = 1; d <= 8; d++) {
        char id[16];
        snprintf(id, sizeof id, "r%d", d);
        add_run(st, id, d, 10000);
    }
    add_run(st, "r9", 9, 9300); /* 7% slower, new version and policy */
    sqlite3 *db = store_writer_lock(st);
    CHECK(store_exec(db, "INSERT INTO thresholds(project, selector, settings) VALUES "
                         "('p1', 'metric=ops_per_sec', 'threshold=10%'), ('*', '*', 'alpha=0.01')",
                     err) == 0);

    analyze_opts o;
    analyze_opts_default(&o);
    verdict_list vl;
    CHECK(analyze_run(db, "r9", &o, &vl, err) == 0);
    const verdict *v = find(&vl, "ops_per_sec", 0);
    CHECK(v != NULL);
    if (v) {
        CHECK_NEAR(v->threshold, 0.10, 1e-12); /* the warehouse's metric line */
        CHECK_NEAR(v->alpha, 0.01, 1e-12);     /* the warehouse's catch-all */
        CHECK(v->status == V_PASS);            /* -7% is within 10% */
        CHECK(v->baseline_runs == 8);
    }
    CHECK(find(&vl, "errors", 0) == NULL);     /* no errors anywhere: no verdict */
    verdict_list_cleanup(&vl);

    /* A file line of the same specificity comes later and wins; its SLO applies. */
    thresholds *file = thresholds_new();
    CHECK(thresholds_parse(file, "metric=ops threshold=5%\nslo op=get p99_us < 5ms\n", "file", err) == 0);
    o.th = file;
    CHECK(analyze_run(db, "r9", &o, &vl, err) == 0);
    v = find(&vl, "ops_per_sec", 0);
    CHECK(v && v->threshold == 0.05 && v->status == V_REGRESSION);
    if (v) {
        /* What differed: server version and the eviction policy. */
        CHECK(v->env_n == 2);
        for (size_t k = 0; k < v->env_n; k++) {
            const verdict_env *e = &vl.env[v->env_first + k];
            if (!strcmp(e->field, "server version"))
                CHECK(!strcmp(e->baseline, "7.0.15") && !strcmp(e->candidate, "7.2.4"));
            else
                CHECK(!strcmp(e->field, "config maxmemory-policy") &&
                      !strcmp(e->baseline, "noeviction") && !strcmp(e->candidate, "allkeys-lru"));
        }
    }
    const verdict *slo = find(&vl, "p99_us", 1);
    CHECK(slo && slo->status == V_REGRESSION && !strcmp(slo->test, "slo"));
    if (slo) CHECK_NEAR(slo->change, 0.2, 1e-12); /* 6000 µs against 5000 */
    CHECK(verdict_list_count(&vl, V_REGRESSION) == 3); /* and set's ops_per_sec */
    cJSON *j = verdicts_to_json(&vl);
    verdict_list back;
    CHECK(verdicts_from_json(j, &back, err) == 0);
    CHECK(back.n == vl.n);
    const verdict *bv = find(&back, "ops_per_sec", 0);
    CHECK(bv && bv->env_n == 2 && bv->min_baseline_runs == 2);
    const verdict *bs = find(&back, "p99_us", 1);
    CHECK(bs && !strcmp(bs->slo, "p99_us < 5000") && bs->slo_limit == 5000);
    verdict_list_cleanup(&back);
    cJSON_Delete(j);
    /* Saved: the SLO regression does not keep the result out of later baselines. */
    CHECK(analyze_save(db, &vl, err) == 0);
    verdict_list_cleanup(&vl);

    /* --threshold beats catch-all lines, not the metric lines. */
    analyze_opts_threshold_all(&o, 0.5);
    o.th = NULL;
    CHECK(analyze_run(db, "r9", &o, &vl, err) == 0);
    v = find(&vl, "ops_per_sec", 0);
    CHECK(v && v->threshold == 0.10);
    v = find(&vl, "p50_us", 0);
    CHECK(v && v->threshold == 0.5);
    verdict_list_cleanup(&vl);

    /* The time window: since day 5 leaves 4 baseline runs (5..8); --days 2 two. */
    analyze_opts_default(&o);
    snprintf(o.since, sizeof o.since, "2026-10-05");
    CHECK(analyze_run(db, "r9", &o, &vl, err) == 0);
    v = find(&vl, "ops_per_sec", 0);
    CHECK(v && v->baseline_runs == 4);
    verdict_list_cleanup(&vl);
    analyze_opts_default(&o);
    o.days = 2;
    CHECK(analyze_run(db, "r9", &o, &vl, err) == 0);
    v = find(&vl, "ops_per_sec", 0);
    CHECK(v && v->baseline_runs == 2);
    verdict_list_cleanup(&vl);
    o.days = 1;
    o.min_baseline_runs = 2;
    CHECK(analyze_run(db, "r9", &o, &vl, err) == 0);
    v = find(&vl, "ops_per_sec", 0);
    CHECK(v && v->baseline_runs == 1 && v->status == V_INSUFFICIENT);
    verdict_list_cleanup(&vl);

    /* Baselines of at most 2 runs: the newest runs fill get; set, absent
     * from them, comes from the per-series query (runs 2 and 1). */
    analyze_opts_default(&o);
    o.max_baseline_runs = 2;
    CHECK(analyze_run(db, "r9", &o, &vl, err) == 0);
    v = find(&vl, "ops_per_sec", 0);
    CHECK(v && v->baseline_runs == 2 && v->baseline_samples == 8);
    v = find_op(&vl, "set", "ops_per_sec", 0);
    CHECK(v && v->baseline_runs == 2 && v->baseline_samples == 8);
    verdict_list_cleanup(&vl);
    o.max_baseline_runs = 30;
    CHECK(analyze_run(db, "r9", &o, &vl, err) == 0);
    v = find_op(&vl, "set", "ops_per_sec", 0);
    CHECK(v && v->baseline_runs == 2);
    v = find(&vl, "ops_per_sec", 0);
    CHECK(v && v->baseline_runs == 8);
    verdict_list_cleanup(&vl);

    /* A bad warehouse line is an error naming the row. */
    CHECK(store_exec(db, "INSERT INTO thresholds(project, selector, settings) VALUES ('p1', 'op=get', 'rule=nope')", err) == 0);
    CHECK(analyze_run(db, "r9", &o, &vl, err) == -1);
    CHECK(strstr(err, "rule=nope") != NULL);
    store_writer_unlock(st);
    thresholds_free(file);
    store_close(st);
    char p[sizeof path + 8];
    unlink(path);
    snprintf(p, sizeof p, "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", path);
    unlink(p);
}

static void test_since(void)
{
    CHECK(analyze_since_valid("2026-10-01"));
    CHECK(analyze_since_valid("2026-10-01T12:00"));
    CHECK(analyze_since_valid("2026-10-01T12:00:00.000Z"));
    CHECK(!analyze_since_valid("yesterday"));
    CHECK(!analyze_since_valid("2026-1-01"));
    CHECK(!analyze_since_valid("2026-10-01 12:00"));
    CHECK(!analyze_since_valid("2026-10-01T12:00'; --"));
    CHECK(!analyze_since_valid(""));
}

int main(void)
{
    RUN(test_since);
    RUN(test_parse_and_resolve);
    RUN(test_slos);
    RUN(test_errors);
    RUN(test_warehouse_table);
    RUN(test_append);
    RUN(test_precedence_in_analyze);
    return TH_DONE();
}
