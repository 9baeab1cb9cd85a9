/* test_modes.c -- unit tests for lib/modes.c on a real warehouse file: the
 * latest run per deployment, the overhead over single, no overhead without a
 * single cell, cost per operation from the prices table, scenario metrics. */
#include <stdlib.h>
#include <unistd.h>

#include "modes.h"
#include "store.h"
#include "testhelp.h"
#include "util.h"
#include "testdb.h"

struct cellspec {
    const char *op;
    long concurrency;
    double ops, p50, p99;
    const char *metric;     /* NULL: none */
    double metric_value;
};

static void add_run(store *st, const char *id, const char *branch, const char *mode, const char *client,
                    const char *server, const char *preset, int day, const struct cellspec *cs, size_t n)
{
    rb_run run;
    run_init(&run);
    snprintf(run.id, sizeof run.id, "%s", id);
    snprintf(run.project, sizeof run.project, "p1");
    snprintf(run.branch, sizeof run.branch, "%s", branch);
    snprintf(run.mode, sizeof run.mode, "%s", mode);
    snprintf(run.client_region, sizeof run.client_region, "%s", client);
    snprintf(run.server_region, sizeof run.server_region, "%s", server);
    snprintf(run.target_preset, sizeof run.target_preset, "%s", preset);
    snprintf(run.started_at, sizeof run.started_at, "2026-10-%02dT10:00:00.000Z", day);
    snprintf(run.ended_at, sizeof run.ended_at, "2026-10-%02dT10:01:00.000Z", day);
    for (size_t i = 0; i < n; i++) {
        rb_result *r = run_add_result(&run);
        snprintf(r->scenario, sizeof r->scenario, "%s", cs[i].op);
        snprintf(r->op, sizeof r->op, "%s", cs[i].op);
        snprintf(r->data_type, sizeof r->data_type, "string");
        r->concurrency = cs[i].concurrency;
        r->pipeline = 1;
        r->value_size = 64;
        r->dataset_size = 100;
        r->latency = hist_new();
        r->n_samples = 1;
        r->samples = xcalloc(1, sizeof *r->samples);
        r->samples[0].ops_per_sec = cs[i].ops;
        r->samples[0].p50_us = cs[i].p50;
        r->samples[0].p99_us = cs[i].p99;
        r->samples[0].requests = 1000;
        r->samples[0].seconds = 0.1;
        r->requests = 1000;
        r->errors = 2;
        r->ops_per_sec = cs[i].ops;
        r->p50_us = cs[i].p50;
        r->p99_us = cs[i].p99;
        if (cs[i].metric) result_set_metric(r, cs[i].metric, cs[i].metric_value);
    }
    char err[RB_ERR_LEN];
    char *doc = run_to_json(&run, 0);
    sqlite3 *db = store_writer_lock(st);
    CHECK(store_exec(db, "BEGIN", err) == 0);
    enum store_put p = store_insert_run(db, &run, doc, err);
    CHECK(p == STORE_CREATED);
    if (p != STORE_CREATED) fprintf(stderr, "  insert %s: %s\n", id, err);
    CHECK(store_exec(db, "COMMIT", err) == 0);
    store_writer_unlock(st);
    free(doc);
    run_cleanup(&run);
}

/* The ops entry of op at concurrency c, or NULL. */
static const cJSON *find_op(const cJSON *sum, const char *op, long c)
{
    const cJSON *o;
    cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(sum, "ops")) {
        if (!strcmp(cJSON_GetObjectItemCaseSensitive(o, "op")->valuestring, op) &&
            cJSON_GetObjectItemCaseSensitive(o, "concurrency")->valuedouble == c)
            return o;
    }
    return NULL;
}

static const cJSON *find_cell(const cJSON *op, const char *mode)
{
    const cJSON *c;
    if (!op) return NULL;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(op, "cells"))
        if (!strcmp(cJSON_GetObjectItemCaseSensitive(c, "mode")->valuestring, mode)) return c;
    return NULL;
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL;
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL;
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void test_summary(void)
{
    char path[] = "/tmp/redbench-test-modes-XXXXXX", err[RB_ERR_LEN] = "";
    store *st = open_tmp(path);
    CHECK(st != NULL);
    if (!st) return;
    const struct cellspec old_single[] = {{"get", 10, 50000, 200, 600, NULL, 0}};
    const struct cellspec single[] = {{"get", 10, 100000, 100, 300, NULL, 0},
                                      {"set", 10, 80000, 120, 400, NULL, 0}};
    const struct cellspec cs[] = {{"get", 10, 40000, 350, 900, NULL, 0},
                                  {"set", 10, 0, 500, 1500, NULL, 0},
                                  {"incr", 10, 30000, 400, 1000, NULL, 0}};
    const struct cellspec cluster[] = {{"get", 10, 120000, 90, 280, "replication_lag_us", 812.5}};
    add_run(st, "s-old", "main", "single", "iad", "iad", "performance-1x", 1, old_single, 1);
    add_run(st, "s-new", "main", "single", "iad", "iad", "performance-1x", 5, single, 2);
    add_run(st, "s-older", "main", "single", "iad", "iad", "performance-1x", 3, old_single, 1);
    add_run(st, "cs", "main", "client-server", "fra", "iad", "performance-2x", 4, cs, 3);
    add_run(st, "cl", "main", "cluster", "iad", "iad", "local", 6, cluster, 1);
    add_run(st, "s-empty", "main", "single", "iad", "iad", "performance-1x", 9, NULL, 0);
    add_run(st, "other", "dev", "single", "iad", "iad", "performance-1x", 9, old_single, 1);

    sqlite3 *db = store_reader(st);
    cJSON *sum = modes_summary(db, "p1", "main", err);
    CHECK(sum != NULL);
    if (!sum) {
        fprintf(stderr, "  modes_summary: %s\n", err);
        goto out;
    }
    CHECK_STREQ(str(sum, "branch"), "main");
    /* Three deployments in mode order; the latest single run with results. */
    const cJSON *deps = cJSON_GetObjectItemCaseSensitive(sum, "deployments");
    CHECK(cJSON_GetArraySize(deps) == 3);
    CHECK_STREQ(str(cJSON_GetArrayItem(deps, 0), "run_id"), "s-new");
    CHECK_STREQ(str(cJSON_GetArrayItem(deps, 1), "mode"), "client-server");
    CHECK_STREQ(str(cJSON_GetArrayItem(deps, 1), "client_region"), "fra");
    CHECK_STREQ(str(cJSON_GetArrayItem(deps, 2), "mode"), "cluster");
    CHECK(num(cJSON_GetArrayItem(deps, 1), "results") == 3);

    CHECK(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(sum, "ops")) == 3);
    const cJSON *get = find_op(sum, "get", 10);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(get, "cells")) == 3);
    const cJSON *s = find_cell(get, "single"), *c = find_cell(get, "client-server");
    CHECK_STREQ(str(s, "run_id"), "s-new");
    CHECK_NEAR(num(s, "ops_per_sec"), 100000, 1e-9);
    CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(s, "overhead")));
    /* performance-1x (2048 MB) costs 0.00001196 USD/s: per million ops at 100000 ops/s. */
    CHECK_NEAR(num(s, "usd_per_mop"), 0.00001196 / 100000 * 1e6, 1e-15);
    CHECK_NEAR(num(c, "usd_per_mop"), 0.00002392 / 40000 * 1e6, 1e-15);
    CHECK_NEAR(num(c, "errors"), 2, 0);
    const cJSON *ov = c ? cJSON_GetObjectItemCaseSensitive(c, "overhead") : NULL;
    CHECK(cJSON_IsObject(ov));
    CHECK_NEAR(num(ov, "throughput_ratio"), 0.4, 1e-12);
    CHECK_NEAR(num(ov, "added_p50_us"), 250, 1e-9);
    CHECK_NEAR(num(ov, "added_p99_us"), 600, 1e-9);
    CHECK_STREQ(str(ov, "single_run_id"), "s-new");

    /* Cluster: a lower latency is a negative overhead; its metric is there;
     * a 'local' preset has no price. */
    const cJSON *cl = find_cell(get, "cluster");
    ov = cl ? cJSON_GetObjectItemCaseSensitive(cl, "overhead") : NULL;
    CHECK_NEAR(num(ov, "added_p50_us"), -10, 1e-9);
    CHECK_NEAR(num(ov, "throughput_ratio"), 1.2, 1e-12);
    CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(cl, "usd_per_mop")));
    CHECK_NEAR(num(cJSON_GetObjectItemCaseSensitive(cl, "metrics"), "replication_lag_us"), 812.5, 1e-9);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(s, "metrics")) == 0);

    /* set: a zero throughput gives ratio 0 and no cost (division by zero is no price). */
    const cJSON *set_cs = find_cell(find_op(sum, "set", 10), "client-server");
    ov = set_cs ? cJSON_GetObjectItemCaseSensitive(set_cs, "overhead") : NULL;
    CHECK_NEAR(num(ov, "throughput_ratio"), 0, 0);
    CHECK_NEAR(num(ov, "added_p99_us"), 1100, 1e-9);
    CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(set_cs, "usd_per_mop")));

    /* incr: no single cell, no overhead. */
    const cJSON *incr = find_op(sum, "incr", 10);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(incr, "cells")) == 1);
    CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(find_cell(incr, "client-server"), "overhead")));
    cJSON_Delete(sum);

    /* Restricted to one operation: its cells only, the deployments unchanged. */
    sum = modes_summary_op(db, "p1", "main", "get", err);
    CHECK(sum && cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(sum, "ops")) == 1);
    CHECK(find_op(sum, "get", 10) != NULL && find_op(sum, "set", 10) == NULL);
    deps = sum ? cJSON_GetObjectItemCaseSensitive(sum, "deployments") : NULL;
    CHECK(cJSON_GetArraySize(deps) == 3 && num(cJSON_GetArrayItem(deps, 1), "results") == 3);
    CHECK_NEAR(num(cJSON_GetObjectItemCaseSensitive(find_cell(find_op(sum, "get", 10), "client-server"),
                                                    "overhead"), "added_p99_us"), 600, 1e-9);
    cJSON_Delete(sum);

    /* Another branch sees only its own run; an unknown branch is empty, not an error. */
    sum = modes_summary(db, "p1", "dev", err);
    CHECK(sum && cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(sum, "deployments")) == 1);
    CHECK_NEAR(num(find_cell(find_op(sum, "get", 10), "single"), "ops_per_sec"), 50000, 0);
    cJSON_Delete(sum);
    sum = modes_summary(db, "p1", "nope", err);
    CHECK(sum && cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(sum, "ops")) == 0);
    cJSON_Delete(sum);
out:
    store_reader_release(st, db);
    store_close(st);
    rm_db(path);
}

/* Overhead against the single deployment of the same server region. */
static void test_single_same_region(void)
{
    char path[] = "/tmp/redbench-test-modes-XXXXXX", err[RB_ERR_LEN] = "";
    store *st = open_tmp(path);
    CHECK(st != NULL);
    if (!st) return;
    const struct cellspec a[] = {{"get", 1, 1000, 10, 20, NULL, 0}};
    const struct cellspec b[] = {{"get", 1, 2000, 5, 10, NULL, 0}};
    const struct cellspec m[] = {{"get", 1, 500, 100, 200, NULL, 0}};
    add_run(st, "s-iad", "main", "single", "iad", "iad", "local", 1, a, 1);
    add_run(st, "s-syd", "main", "single", "syd", "syd", "local", 2, b, 1); /* newer */
    add_run(st, "mr-fra", "main", "multi-region", "fra", "iad", "local", 3, m, 1);
    add_run(st, "mr-gru", "main", "multi-region", "gru", "lhr", "local", 4, m, 1);
    sqlite3 *db = store_reader(st);
    cJSON *sum = modes_summary(db, "p1", "main", err);
    CHECK(sum != NULL);
    const cJSON *get = find_op(sum, "get", 1);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(get, "cells")) == 4);
    const cJSON *c;
    int seen = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(get, "cells")) {
        const cJSON *ov = cJSON_GetObjectItemCaseSensitive(c, "overhead");
        if (!strcmp(str(c, "client_region"), "fra")) {
            CHECK_STREQ(str(ov, "single_run_id"), "s-iad");    /* same server region */
            CHECK_NEAR(num(ov, "added_p50_us"), 90, 1e-9);
            seen++;
        } else if (!strcmp(str(c, "client_region"), "gru")) {
            CHECK_STREQ(str(ov, "single_run_id"), "s-syd");    /* none in lhr: the latest */
            CHECK_NEAR(num(ov, "throughput_ratio"), 0.25, 1e-12);
            seen++;
        }
    }
    CHECK(seen == 2);
    cJSON_Delete(sum);
    store_reader_release(st, db);
    store_close(st);
    rm_db(path);
}

/* A newer run of a lab scenario (chaos, persistence-recovery) on the same
 * deployment must not hide the deployment's latest matrix. */
static void test_lab_scenario_not_latest(void)
{
    char path[] = "/tmp/redbench-test-modes-XXXXXX", err[RB_ERR_LEN] = "";
    store *st = open_tmp(path);
    CHECK(st != NULL);
    if (!st) return;
    const struct cellspec a[] = {{"get", 1, 1000, 10, 20, NULL, 0}};
    const struct cellspec chaos[] = {{"chaos", 1, 2000, 5, 10, "faults", 3}};
    add_run(st, "s-matrix", "main", "single", "iad", "iad", "local", 1, a, 1);
    add_run(st, "s-chaos", "main", "single", "iad", "iad", "local", 2, chaos, 1); /* newer */
    sqlite3 *db = store_reader(st);
    cJSON *sum = modes_summary(db, "p1", "main", err);
    CHECK(sum != NULL);
    const cJSON *get = find_op(sum, "get", 1);
    CHECK(get != NULL);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(get, "cells")) == 1);
    CHECK(find_op(sum, "chaos", 1) == NULL);
    cJSON_Delete(sum);
    store_reader_release(st, db);
    store_close(st);
    rm_db(path);
}

int main(void)
{
    RUN(test_summary);
    RUN(test_single_same_region);
    RUN(test_lab_scenario_not_latest);
    return TH_DONE();
}
