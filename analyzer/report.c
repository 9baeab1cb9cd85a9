/* report.c -- the Markdown of BENCHMARK_RESULTS.md from the warehouse: per
 * deployment mode the throughput and p50/p99 by operation, the overhead each
 * mode adds over single, replication lag, the persistence-recovery and chaos
 * figures, and the cost per million operations (docs/report.md). One
 * generator for `redbench report --db` and GET /api/v1/report. */
#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "modes.h"
#include "report.h"
#include "store.h"
#include "util.h"

/* Appends s as one Markdown table cell's text: '|' escaped, line breaks and
 * other control characters as spaces. */
static void cell(buf *b, const char *s)
{
    for (; s && *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '|') buf_puts(b, "\\|");
        else if (ch < 0x20 || ch == 0x7f) buf_puts(b, " ");
        else buf_append(b, s, 1);
    }
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* The number o.k, or NULL when absent or null. */
static const cJSON *jnum(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v : NULL;
}

/* Appends " | " and the number with fmt, or "–" when v is NULL. */
static void num(buf *b, const char *fmt, const cJSON *v)
{
    buf_puts(b, " | ");
    if (v) buf_printf(b, fmt, v->valuedouble);
    else buf_puts(b, "–");
}

static void numd(buf *b, const char *fmt, double v, int present)
{
    buf_puts(b, " | ");
    if (present) buf_printf(b, fmt, v);
    else buf_puts(b, "–");
}

/* The operation's label: scenario/op (op alone when equal), then its parameters. */
static void op_label(buf *b, const cJSON *op)
{
    const char *scen = jstr(op, "scenario"), *name = jstr(op, "op");
    buf_puts(b, "| ");
    if (strcmp(scen, name)) {
        cell(b, scen);
        buf_puts(b, "/");
    }
    cell(b, name);
    char tmp[160];
    snprintf(tmp, sizeof tmp, " c=%.0f p=%.0f v=%.0f d=%.0f",
             jnum(op, "concurrency") ? jnum(op, "concurrency")->valuedouble : 0,
             jnum(op, "pipeline") ? jnum(op, "pipeline")->valuedouble : 0,
             jnum(op, "value_size") ? jnum(op, "value_size")->valuedouble : 0,
             jnum(op, "dataset_size") ? jnum(op, "dataset_size")->valuedouble : 0);
    buf_puts(b, tmp);
    const char *params = jstr(op, "params");
    if (*params && strcmp(params, "{}")) {
        buf_puts(b, " ");
        cell(b, params);
    }
}

static void deployment_name(buf *b, const cJSON *d)
{
    cell(b, jstr(d, "mode"));
    buf_puts(b, " ");
    cell(b, jstr(d, "client_region"));
    buf_puts(b, "→");
    cell(b, jstr(d, "server_region"));
}

static int same_deployment(const cJSON *a, const cJSON *b)
{
    return !strcmp(jstr(a, "mode"), jstr(b, "mode")) &&
           !strcmp(jstr(a, "client_region"), jstr(b, "client_region")) &&
           !strcmp(jstr(a, "server_region"), jstr(b, "server_region"));
}

/* Scenarios with sections of their own, left out of the mode tables. */
static int lab_scenario(const cJSON *op)
{
    const char *s = jstr(op, "scenario");
    return !strcmp(s, "persistence-recovery") || !strcmp(s, "chaos");
}

static void section_modes(buf *b, const cJSON *sum)
{
    const cJSON *deps = cJSON_GetObjectItemCaseSensitive(sum, "deployments");
    const cJSON *ops = cJSON_GetObjectItemCaseSensitive(sum, "ops");
    buf_puts(b, "## Throughput and latency by mode\n\n"
                "The latest run of each deployment (mode, client region, server region); "
                "ops/s is the mean of the iterations, p50/p99 in µs from the merged histogram.\n\n");
    for (int m = 0; rb_modes[m]; m++) {
        buf_printf(b, "### %s\n\n", rb_modes[m]);
        int any = 0;
        const cJSON *d;
        cJSON_ArrayForEach(d, deps)
        {
            if (strcmp(jstr(d, "mode"), rb_modes[m])) continue;
            any = 1;
            buf_puts(b, "Deployment ");
            deployment_name(b, d);
            buf_puts(b, ": run `");
            cell(b, jstr(d, "run_id"));
            buf_puts(b, "` started ");
            cell(b, jstr(d, "started_at"));
            buf_puts(b, ", commit `");
            cell(b, *jstr(d, "commit") ? jstr(d, "commit") : "-");
            buf_puts(b, "`, preset `");
            cell(b, jstr(d, "preset"));
            buf_puts(b, "`.\n\n");
            buf_puts(b, "| operation | ops/s | p50 µs | p99 µs | errors | status |\n"
                        "| --- | ---: | ---: | ---: | ---: | --- |\n");
            int rows = 0;
            const cJSON *op;
            cJSON_ArrayForEach(op, ops)
            {
                if (lab_scenario(op)) continue;
                const cJSON *c;
                cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(op, "cells"))
                {
                    if (!same_deployment(c, d)) continue;
                    op_label(b, op);
                    num(b, "%.0f", jnum(c, "ops_per_sec"));
                    num(b, "%.1f", jnum(c, "p50_us"));
                    num(b, "%.1f", jnum(c, "p99_us"));
                    num(b, "%.0f", jnum(c, "errors"));
                    buf_puts(b, " | ");
                    cell(b, jstr(c, "status"));
                    buf_puts(b, " |\n");
                    rows++;
                }
            }
            if (!rows) buf_puts(b, "| (only lab scenarios: see below) | – | – | – | – | – |\n");
            buf_puts(b, "\n");
        }
        if (!any) buf_puts(b, "No runs.\n\n");
    }
}

static void section_overhead(buf *b, const cJSON *sum)
{
    const cJSON *ops = cJSON_GetObjectItemCaseSensitive(sum, "ops");
    buf_puts(b, "## Overhead over single\n\n"
                "What each mode adds to the same operation with the same parameters, measured "
                "against the single deployment's latest run (same server region if there is "
                "one): throughput change, and the latency added — the network's cost.\n\n");
    buf_puts(b, "| operation | deployment | ops/s | throughput vs single | added p50 µs | "
                "added p99 µs | single run |\n"
                "| --- | --- | ---: | ---: | ---: | ---: | --- |\n");
    int rows = 0;
    const cJSON *op;
    cJSON_ArrayForEach(op, ops)
    {
        if (lab_scenario(op)) continue;
        const cJSON *c;
        cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(op, "cells"))
        {
            const cJSON *ov = cJSON_GetObjectItemCaseSensitive(c, "overhead");
            if (!cJSON_IsObject(ov)) continue;
            op_label(b, op);
            buf_puts(b, " | ");
            deployment_name(b, c);
            num(b, "%.0f", jnum(c, "ops_per_sec"));
            const cJSON *ratio = jnum(ov, "throughput_ratio");
            numd(b, "%+.1f%%", ratio ? (ratio->valuedouble - 1) * 100 : 0, ratio != NULL);
            num(b, "%+.1f", jnum(ov, "added_p50_us"));
            num(b, "%+.1f", jnum(ov, "added_p99_us"));
            buf_puts(b, " | `");
            cell(b, jstr(ov, "single_run_id"));
            buf_puts(b, "` |\n");
            rows++;
        }
    }
    if (!rows)
        buf_puts(b, "| no runs | – | – | – | – | – | – |\n\n"
                    "No runs to compare: the overhead needs a single run and a run of another "
                    "mode with the same operation and parameters.\n");
    buf_puts(b, "\n");
}

static void section_lag(buf *b, const cJSON *sum)
{
    const cJSON *ops = cJSON_GetObjectItemCaseSensitive(sum, "ops");
    buf_puts(b, "## Replication lag (cluster)\n\n"
                "Write on the primary, time until the value is visible on each replica "
                "(result metrics `lag_p50_us`, `lag_p99_us`, `lag_max_us`; docs/lab.md).\n\n");
    buf_puts(b, "| operation | deployment | lag p50 µs | lag p99 µs | lag max µs |\n"
                "| --- | --- | ---: | ---: | ---: |\n");
    int rows = 0;
    const cJSON *op;
    cJSON_ArrayForEach(op, ops)
    {
        const cJSON *c;
        cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(op, "cells"))
        {
            const cJSON *m = cJSON_GetObjectItemCaseSensitive(c, "metrics");
            if (strcmp(jstr(c, "mode"), "cluster") || !jnum(m, "lag_p99_us")) continue;
            op_label(b, op);
            buf_puts(b, " | ");
            deployment_name(b, c);
            num(b, "%.1f", jnum(m, "lag_p50_us"));
            num(b, "%.1f", jnum(m, "lag_p99_us"));
            num(b, "%.1f", jnum(m, "lag_max_us"));
            buf_puts(b, " |\n");
            rows++;
        }
    }
    if (!rows) buf_puts(b, "| no runs | – | – | – | – |\n");
    buf_puts(b, "\n");
}

static void section_cost(buf *b, const cJSON *sum)
{
    const cJSON *ops = cJSON_GetObjectItemCaseSensitive(sum, "ops");
    buf_puts(b, "## Cost per million operations\n\n"
                "USD per million operations from the `cost_per_op` view: the server machine's "
                "price for the run's preset over its throughput, plus cross-region egress "
                "(docs/cost.md). \"–\": no price for the preset (e.g. `local`).\n\n");
    buf_puts(b, "| operation | deployment | preset | ops/s | $/Mop |\n"
                "| --- | --- | --- | ---: | ---: |\n");
    int rows = 0;
    const cJSON *op;
    cJSON_ArrayForEach(op, ops)
    {
        if (lab_scenario(op)) continue;
        const cJSON *c;
        cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(op, "cells"))
        {
            op_label(b, op);
            buf_puts(b, " | ");
            deployment_name(b, c);
            buf_puts(b, " | ");
            cell(b, jstr(c, "preset"));
            num(b, "%.0f", jnum(c, "ops_per_sec"));
            num(b, "$%.4f", jnum(c, "usd_per_mop"));
            buf_puts(b, " |\n");
            rows++;
        }
    }
    if (!rows) buf_puts(b, "| no runs | – | – | – | – |\n");
    buf_puts(b, "\n");
}

/* The latest run of project/branch holding a result of scenario: its id
 * into id (RB_NAME_LEN), 1; 0 when none; -1 with err. */
static int latest_run_with(sqlite3 *db, const char *project, const char *branch,
                           const char *scenario, char *id, char *started, char *err)
{
    static const char SQL[] =
        "SELECT u.id, u.started_at FROM runs u WHERE u.project = ?1 AND u.branch = ?2 "
        "AND EXISTS (SELECT 1 FROM results x WHERE x.run_id = u.id AND x.scenario = ?3) "
        "ORDER BY u.started_at DESC, u.id DESC LIMIT 1";
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(db, SQL, -1, &st, NULL) != SQLITE_OK) {
        rb_err(err, "report: %s", sqlite3_errmsg(db));
        goto out;
    }
    sqlite3_bind_text(st, 1, project, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, branch, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, scenario, -1, SQLITE_STATIC);
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW) {
        snprintf(id, RB_NAME_LEN, "%s", (const char *)sqlite3_column_text(st, 0));
        snprintf(started, RB_NAME_LEN, "%s", (const char *)sqlite3_column_text(st, 1));
        rc = 1;
    } else if (s == SQLITE_DONE) {
        rc = 0;
    } else {
        rb_err(err, "report: %s", sqlite3_errmsg(db));
    }
out:
    sqlite3_finalize(st);
    return rc;
}

/* One result of a lab scenario with its metrics. */
struct labres {
    long long id;
    char *op, *status, *error, *params;
    long long requests, errors;
    cJSON *metrics;             /* name -> number */
};

static void lab_results_free(struct labres *v, int n)
{
    for (int i = 0; i < n; i++) {
        free(v[i].op);
        free(v[i].status);
        free(v[i].error);
        free(v[i].params);
        cJSON_Delete(v[i].metrics);
    }
    free(v);
}

/* The results of run_id with scenario, in op order; count, or -1 with err. */
static int lab_results(sqlite3 *db, const char *run_id, const char *scenario, struct labres **out,
                       char *err)
{
    static const char SQL[] =
        "SELECT x.id, x.op, x.status, x.error, x.params, x.requests, x.errors FROM results x "
        "WHERE x.run_id = ?1 AND x.scenario = ?2 ORDER BY x.id";
    static const char MSQL[] = "SELECT name, value FROM result_metrics WHERE result_id = ?1";
    sqlite3_stmt *st = NULL, *ms = NULL;
    struct labres *v = NULL;
    int n = 0, rc;
    if (sqlite3_prepare_v2(db, SQL, -1, &st, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, MSQL, -1, &ms, NULL) != SQLITE_OK) {
        rb_err(err, "report: %s", sqlite3_errmsg(db));
        n = -1;
        goto out;
    }
    sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, scenario, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        v = xrealloc(v, (size_t)(n + 1) * sizeof *v);
        struct labres *r = &v[n++];
        r->id = sqlite3_column_int64(st, 0);
        r->op = store_col_text(st, 1);
        r->status = store_col_text(st, 2);
        r->error = store_col_text(st, 3);
        r->params = store_col_text(st, 4);
        r->requests = sqlite3_column_int64(st, 5);
        r->errors = sqlite3_column_int64(st, 6);
        r->metrics = cJSON_CreateObject();
        sqlite3_reset(ms);
        sqlite3_bind_int64(ms, 1, r->id);
        int mrc;
        while ((mrc = sqlite3_step(ms)) == SQLITE_ROW) {
            const unsigned char *name = sqlite3_column_text(ms, 0);
            if (name) cJSON_AddNumberToObject(r->metrics, (const char *)name, sqlite3_column_double(ms, 1));
        }
        if (mrc != SQLITE_DONE) break; /* rc stays SQLITE_ROW: reported below */
    }
    if (rc != SQLITE_DONE) {
        rb_err(err, "report: %s", sqlite3_errmsg(db));
        lab_results_free(v, n);
        v = NULL;
        n = -1;
    }
out:
    sqlite3_finalize(st);
    sqlite3_finalize(ms);
    *out = v;
    return n;
}

/* Opens the section of a lab scenario: writes intro, then "No runs." (returns
 * 0) or the latest run's id and start, loading its results of scenario into
 * *v (returns their count; the caller frees them with lab_results_free). -1
 * with err. */
static int lab_section_open(buf *b, sqlite3 *db, const char *project, const char *branch,
                            const char *scenario, const char *intro, struct labres **v, char *err)
{
    char id[RB_NAME_LEN], started[RB_NAME_LEN];
    buf_puts(b, intro);
    int f = latest_run_with(db, project, branch, scenario, id, started, err);
    if (f <= 0) {
        if (f == 0) buf_puts(b, "No runs.\n\n");
        return f;
    }
    int n = lab_results(db, id, scenario, v, err);
    if (n < 0) return -1;
    buf_puts(b, "Run `");
    cell(b, id);
    buf_puts(b, "` started ");
    cell(b, started);
    buf_puts(b, ".\n\n");
    return n;
}

static int section_persistence(buf *b, sqlite3 *db, const char *project, const char *branch, char *err)
{
    struct labres *v;
    int n = lab_section_open(b, db, project, branch, "persistence-recovery",
                             "## Persistence recovery\n\n"
                             "`redbench lab persistence-recovery`: acknowledged writes, then kill -9 of the "
                             "server mid-stream and a restart on the same directory. Recovery: from the "
                             "restart until PING answers PONG; loaded: until INFO says loading:0 "
                             "(docs/lab.md).\n\n",
                             &v, err);
    if (n <= 0) return n;
    buf_puts(b, "| variant | acked writes | survived | survived ratio | recovery ms | "
                "loaded ms | status |\n| --- | ---: | ---: | ---: | ---: | ---: | --- |\n");
    for (int i = 0; i < n; i++) {
        buf_puts(b, "| ");
        cell(b, v[i].op);
        num(b, "%.0f", jnum(v[i].metrics, "acked_writes"));
        num(b, "%.0f", jnum(v[i].metrics, "survived_writes"));
        num(b, "%.4f", jnum(v[i].metrics, "survived_ratio"));
        num(b, "%.1f", jnum(v[i].metrics, "recovery_ms"));
        num(b, "%.1f", jnum(v[i].metrics, "loading_done_ms"));
        buf_puts(b, " | ");
        cell(b, v[i].status);
        if (v[i].error[0]) {
            buf_puts(b, ": ");
            cell(b, v[i].error);
        }
        buf_puts(b, " |\n");
    }
    buf_puts(b, "\n");
    lab_results_free(v, n);
    return 0;
}

static int section_chaos(buf *b, sqlite3 *db, const char *project, const char *branch, char *err)
{
    static const char *kinds[] = {"?", "latency", "stall", "reset"};
    struct labres *v;
    int n = lab_section_open(b, db, project, branch, "chaos",
                             "## Chaos\n\n"
                             "`redbench lab chaos`: a steady load through a fault-injecting proxy. Per fault: "
                             "the error rate of the requests in flight during it, p50/p99 before (steady "
                             "state), during and after it, and the time from its end until an interval "
                             "is clean again (docs/lab.md).\n\n",
                             &v, err);
    if (n <= 0) return n;
    for (int i = 0; i < n; i++) {
        buf_puts(b, "Operation `");
        cell(b, v[i].op);
        buf_puts(b, "`, ");
        cell(b, v[i].params);
        buf_printf(b, ": %lld requests, %lld errors.\n\n", v[i].requests, v[i].errors);
        buf_puts(b, "| fault | kind | duration ms | error rate | p50 before µs | p99 before µs | "
                    "p50 during µs | p99 during µs | p99 after µs | recovery ms |\n"
                    "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        const cJSON *nf = jnum(v[i].metrics, "faults");
        for (int k = 1; nf && k <= (int)nf->valuedouble && k <= 64; k++) {
            char name[RB_NAME_LEN];
#define FM(s) (snprintf(name, sizeof name, "fault%d_%s", k, s), jnum(v[i].metrics, name))
            const cJSON *kind = FM("kind");
            int ki = kind && kind->valuedouble >= 1 && kind->valuedouble <= 3 ? (int)kind->valuedouble : 0;
            const cJSON *arg = FM("arg");
            buf_printf(b, "| %d | %s", k, kinds[ki]);
            if (ki == 1 && arg) buf_printf(b, " +%.0f ms", arg->valuedouble);
            num(b, "%.0f", FM("duration_ms"));
            num(b, "%.4f", FM("error_rate"));
            num(b, "%.1f", FM("p50_before_us"));
            num(b, "%.1f", FM("p99_before_us"));
            num(b, "%.1f", FM("p50_during_us"));
            num(b, "%.1f", FM("p99_during_us"));
            num(b, "%.1f", FM("p99_after_us"));
            const cJSON *rec = FM("recovery_ms");
            if (rec && rec->valuedouble < 0) buf_puts(b, " | not recovered");
            else num(b, "%.0f", rec);
            buf_puts(b, " |\n");
#undef FM
        }
        buf_puts(b, "\n");
    }
    lab_results_free(v, n);
    return 0;
}

enum report_rc report_render(sqlite3 *db, const char *project, const char *branch, buf *b, char *err)
{
    cJSON *sum = NULL;
    enum report_rc rc = REPORT_ERROR;
    /* One read transaction: every section sees the same snapshot, even while
     * the collector commits runs (a savepoint, so that a caller's open
     * transaction is fine too). */
    if (store_exec(db, "SAVEPOINT report", err) < 0) return REPORT_ERROR;
    if (!(sum = modes_summary(db, project, branch, err))) goto out;
    char now[RB_NAME_LEN];
    fmt_time_utc(wall_ns(), now, sizeof now);
    buf_puts(b, "# Benchmark results\n\nGenerated by `redbench report` at ");
    buf_puts(b, now);
    buf_puts(b, " from the warehouse, project `");
    cell(b, project);
    buf_puts(b, "`, branch `");
    cell(b, branch);
    buf_puts(b, "`.\n\n");
    section_modes(b, sum);
    section_overhead(b, sum);
    section_lag(b, sum);
    if (section_persistence(b, db, project, branch, err) < 0 || section_chaos(b, db, project, branch, err) < 0)
        goto out;
    section_cost(b, sum);
    if (b->toobig) {
        rb_err(err, "the report would pass %zu MiB", b->max >> 20);
        rc = REPORT_TOOBIG;
        goto out;
    }
    rc = REPORT_OK;
out:
    cJSON_Delete(sum);
    store_exec(db, "RELEASE report", NULL); /* a read: nothing to commit, cannot be busy */
    return rc;
}
