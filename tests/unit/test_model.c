/* test_model.c -- the run JSON codec: round trip, canonical form, field-level errors. */
#include <stdlib.h>

#include "model.h"
#include "testhelp.h"
#include "util.h"

static void make_run(rb_run *r)
{
    run_init(r);
    snprintf(r->id, sizeof r->id, "abc123");
    snprintf(r->project, sizeof r->project, "proj");
    snprintf(r->branch, sizeof r->branch, "main");
    snprintf(r->commit, sizeof r->commit, "deadbeef");
    snprintf(r->mode, sizeof r->mode, "single");
    snprintf(r->client_region, sizeof r->client_region, "local");
    snprintf(r->server_region, sizeof r->server_region, "local");
    snprintf(r->started_at, sizeof r->started_at, "2026-11-22T10:00:00.000Z");
    snprintf(r->ended_at, sizeof r->ended_at, "2026-11-22T10:01:00.000Z");
    snprintf(r->target_kind, sizeof r->target_kind, "redis");
    snprintf(r->target_version, sizeof r->target_version, "7.0.15");
    snprintf(r->target_address, sizeof r->target_address, "127.0.0.1:6379");
    snprintf(r->target_preset, sizeof r->target_preset, "local");
    kv_set(&r->config, &r->n_config, "maxmemory", "0");
    kv_set(&r->config, &r->n_config, "appendonly", "no");
    kv_add(&r->commands, &r->n_commands, "set", 1500);
    kv_add(&r->commands, &r->n_commands, "set", 500);
    snprintf(r->runner_version, sizeof r->runner_version, "0.1.0");
    snprintf(r->runner_host, sizeof r->runner_host, "host-1");
    rb_result *res = run_add_result(r);
    snprintf(res->scenario, sizeof res->scenario, "get");
    snprintf(res->op, sizeof res->op, "get");
    snprintf(res->data_type, sizeof res->data_type, "string");
    res->concurrency = 10;
    res->pipeline = 4;
    res->value_size = 128;
    res->dataset_size = 1000;
    res->latency = hist_new();
    for (uint64_t v = 1000; v < 200000; v += 37) hist_record(res->latency, v);
    res->n_samples = 3;
    res->samples = xcalloc(3, sizeof *res->samples);
    for (int i = 0; i < 3; i++) {
        res->samples[i] = (rb_sample){.ops_per_sec = 1000.5 + i, .requests = 5000, .errors = (uint64_t)i,
                                      .seconds = 4.99, .p50_us = 50.5, .p99_us = 190.25};
        res->requests += 5000;
        res->errors += (uint64_t)i;
    }
    res->server.present = 1;
    res->server.v[SRV_CPU_USER_S] = 0.5;
    res->server.v[SRV_USED_MEMORY] = -4096;
    res->server.v[SRV_KEYS] = 1000;
    res->server.v[SRV_KEYSPACE_MISSES] = 7;
    kv_set(&res->params, &res->n_params, "rate", "5000");
    kv_set(&res->params, &res->n_params, "dist", "zipf");
    result_set_metric(res, "lost", 0);
    result_set_metric(res, "delivery_rate", 0.995);
    result_summarize(res);
}

static void test_round_trip(void)
{
    rb_run a, b;
    char err[RB_ERR_LEN] = "";
    make_run(&a);
    char *j1 = run_to_json(&a, 1);
    CHECK(run_from_json(j1, strlen(j1), &b, err) == 0);
    if (err[0]) fprintf(stderr, "  err: %s\n", err);
    CHECK_STREQ(b.id, "abc123");
    CHECK_STREQ(b.commit, "deadbeef");
    CHECK_STREQ(b.target_version, "7.0.15");
    CHECK(b.n_config == 2);
    CHECK(b.n_commands == 1);
    CHECK_STREQ(b.commands[0].value, "2000");
    CHECK(b.n_results == 1);
    if (b.n_results == 1) {
        const rb_result *x = &a.results[0], *y = &b.results[0];
        CHECK(y->concurrency == 10 && y->pipeline == 4 && y->value_size == 128 && y->dataset_size == 1000);
        CHECK(y->requests == 15000 && y->errors == 3);
        CHECK(y->n_samples == 3);
        CHECK_NEAR(y->samples[2].ops_per_sec, 1002.5, 1e-9);
        CHECK_NEAR(y->samples[1].p99_us, 190.25, 1e-9);
        CHECK(hist_count(y->latency) == hist_count(x->latency));
        CHECK_NEAR(y->p99_us, x->p99_us, 1e-9);
        CHECK_NEAR(y->ops_per_sec, x->ops_per_sec, 1e-9);
        CHECK(y->server.present && y->server.v[SRV_USED_MEMORY] == -4096 && y->server.v[SRV_KEYS] == 1000);
        CHECK(y->server.v[SRV_KEYSPACE_MISSES] == 7);
        CHECK(y->n_params == 2 && y->n_metrics == 2);
        CHECK_STREQ(y->status, "ok");
    }
    /* Canonical: encoding the decoded run gives the same text. */
    char *j2 = run_to_json(&b, 1);
    CHECK_STREQ(j2, j1);
    free(j1);
    free(j2);
    run_cleanup(&a);
    run_cleanup(&b);
}

/* Decodes json and expects failure with err containing want. */
static int rejects(const char *json, const char *want)
{
    rb_run r;
    char err[RB_ERR_LEN] = "";
    int rc = run_from_json(json, strlen(json), &r, err);
    run_cleanup(&r);
    if (rc == 0 || !strstr(err, want)) {
        fprintf(stderr, "  want error containing '%s', got rc=%d err='%s'\n", want, rc, err);
        return 0;
    }
    return 1;
}

static void test_field_errors(void)
{
    rb_run a;
    make_run(&a);
    char *j = run_to_json(&a, 0);
    run_cleanup(&a);
    CHECK(rejects("{", "malformed JSON"));
    CHECK(rejects("[]", "must be a JSON object"));
    CHECK(rejects("{}", "schema_version: required"));
    CHECK(rejects("{\"schema_version\":2}", "schema_version: unsupported"));
    CHECK(rejects("{\"schema_version\":1}", "run_id: required"));

    /* Replace one field of a valid document and expect its name in the error. */
    struct { const char *from, *to, *want; } cases[] = {
        {"\"branch\":\"main\"", "\"branch\":7", "branch: must be a string"},
        {"\"mode\":\"single\"", "\"mode\":\"lan\"", "mode: unknown mode"},
        {"\"run_id\":\"abc123\"", "\"run_id\":\"a b\"", "run_id: only letters"},
        {"\"started_at\":\"2026-11-22T10:00:00.000Z\"", "\"started_at\":\"yesterday\"", "started_at: must be an RFC 3339"},
        {"\"started_at\":\"2026-11-22T10:00:00.000Z\"", "\"started_at\":\"2026-02-31T10:00:00Z\"", "started_at: must be an RFC 3339"},
        {"\"started_at\":\"2026-11-22T10:00:00.000Z\"", "\"started_at\":\"2026-11-22T-1:04:05 junkZ\"", "started_at: must be an RFC 3339"},
        {"\"ended_at\":\"2026-11-22T10:01:00.000Z\"", "\"ended_at\":\"2026-11-22T09:01:00.000Z\"", "ended_at: earlier than started_at"},
        {"\"p50_us\":50.5,", "", "results[0].samples[0].p50_us: required"},
        {"\"concurrency\":10", "\"concurrency\":0", "results[0].concurrency: must be >= 1"},
        {"\"pipeline\":4", "\"pipeline\":1.5", "results[0].pipeline: must be an integer"},
        {"\"latency_hist\":\"h1:", "\"latency_hist\":\"zz:", "results[0].latency_hist:"},
        {"\"samples\":[", "\"samples\":7,\"x\":[", "results[0].samples: must be an array"},
        {"\"ops_per_sec\":1000.5,", "\"ops_per_sec\":\"fast\",", "results[0].samples[0].ops_per_sec: must be a number"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *at = strstr(j, cases[i].from);
        CHECK(at != NULL);
        if (!at) continue;
        buf b;
        buf_init(&b, 1 << 22);
        buf_append(&b, j, (size_t)(at - j));
        buf_puts(&b, cases[i].to);
        buf_puts(&b, at + strlen(cases[i].from));
        CHECK(rejects(b.data, cases[i].want));
        buf_cleanup(&b);
    }
    free(j);
}

static void test_series_key(void)
{
    rb_run a;
    make_run(&a);
    char k1[RB_SERIES_KEY_LEN], k2[RB_SERIES_KEY_LEN];
    result_series_key(&a, &a.results[0], k1, sizeof k1);
    CHECK_STREQ(k1, "get/get mode=single region=local>local preset=local c=10 p=4 v=128 d=1000 dist=zipf rate=5000");
    a.results[0].pipeline = 8;
    result_series_key(&a, &a.results[0], k2, sizeof k2);
    CHECK(strcmp(k1, k2) != 0);
    run_cleanup(&a);
}

/* The canonical document does not depend on key order, optional empty
 * strings take their defaults, and times are normalized to milliseconds. */
/* An unsupported result needs no samples; an imported one (empty histogram)
 * keeps the percentiles it was given. */
static void test_status_and_import(void)
{
    rb_run a, b;
    char err[RB_ERR_LEN] = "";
    make_run(&a);
    rb_result *u = run_add_result(&a);
    snprintf(u->status, sizeof u->status, "unsupported");
    snprintf(u->error, sizeof u->error, "ERR unknown command 'XADD'");
    snprintf(u->scenario, sizeof u->scenario, "xadd");
    snprintf(u->op, sizeof u->op, "xadd");
    u->concurrency = u->pipeline = u->dataset_size = 1;
    u->latency = hist_new();
    rb_result *im = run_add_result(&a);
    snprintf(im->scenario, sizeof im->scenario, "set");
    snprintf(im->op, sizeof im->op, "set");
    im->concurrency = 50;
    im->pipeline = im->dataset_size = 1;
    im->latency = hist_new();
    im->n_samples = 1;
    im->samples = xcalloc(1, sizeof *im->samples);
    im->samples[0] = (rb_sample){.ops_per_sec = 100000, .requests = 100000, .seconds = 1, .p50_us = 255, .p99_us = 503};
    im->p50_us = 255;
    im->p99_us = 503;
    im->max_us = 1200;
    char *j = run_to_json(&a, 0);
    CHECK(run_from_json(j, strlen(j), &b, err) == 0);
    if (err[0]) fprintf(stderr, "  err: %s\n", err);
    CHECK(b.n_results == 3);
    if (b.n_results == 3) {
        CHECK_STREQ(b.results[1].status, "unsupported");
        CHECK(b.results[1].n_samples == 0);
        CHECK_NEAR(b.results[2].p99_us, 503, 1e-9);
        CHECK_NEAR(b.results[2].max_us, 1200, 1e-9);
    }
    free(j);
    run_cleanup(&a);
    run_cleanup(&b);
}

static void test_canonical(void)
{
    rb_run a, b, c;
    char err[RB_ERR_LEN] = "";
    make_run(&a);
    char *j1 = run_to_json(&a, 0);
    /* Same run with the config keys reversed, seconds-only time, empty project. */
    rb_kv t = a.config[0];
    a.config[0] = a.config[1];
    a.config[1] = t;
    snprintf(a.started_at, sizeof a.started_at, "2026-11-22T10:00:00Z");
    snprintf(a.project, sizeof a.project, "%s", "");
    char *j2 = run_to_json(&a, 0);
    CHECK(run_from_json(j1, strlen(j1), &b, err) == 0);
    CHECK(run_from_json(j2, strlen(j2), &c, err) == 0);
    CHECK_STREQ(c.started_at, "2026-11-22T10:00:00.000Z");
    CHECK_STREQ(c.project, "default");
    snprintf(b.project, sizeof b.project, "default");
    char *k1 = run_to_json(&b, 0), *k2 = run_to_json(&c, 0);
    CHECK_STREQ(k1, k2);
    free(j1);
    free(j2);
    free(k1);
    free(k2);
    run_cleanup(&a);
    run_cleanup(&b);
    run_cleanup(&c);
}

int main(void)
{
    RUN(test_round_trip);
    RUN(test_field_errors);
    RUN(test_series_key);
    RUN(test_canonical);
    RUN(test_status_and_import);
    return TH_DONE();
}
