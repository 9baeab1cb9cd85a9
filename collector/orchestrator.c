/* orchestrator.c -- orchestrated mode: benchmarks split into tasks that
 * workers lease, heartbeat and answer; leases that lapse are handed out again
 * (bounded attempts); when every task is done the workers' runs are merged
 * into one run and ingested like any other (docs/orchestrated.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collector.h"
#include "ops.h"
#include "util.h"

#define PLAN_MAX_LIST 16
#define WORKER_NAME_MAX 32
#define MAX_WORKERS 64

static int64_t now_ms(void)
{
    return (int64_t)(wall_ns() / 1000000);
}

static void now_rfc(char *out, size_t len)
{
    fmt_time_utc(wall_ns(), out, len);
}

/* A body-less answer (204 No Content). */
static enum MHD_Result respond_empty(struct MHD_Connection *c, unsigned status)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static cJSON *parse_body(const struct request *r, char *err)
{
    cJSON *j = cJSON_ParseWithLength(r->body, r->body_len);
    if (!j || !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        rb_err(err, "body: want a JSON object");
        return NULL;
    }
    return j;
}

static sqlite3_stmt *prepare(sqlite3 *db, const char *sql, char *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        rb_err(err, "sql: %s", sqlite3_errmsg(db));
        return NULL;
    }
    return st;
}

/* 1 if s is a usable worker name: 1-32 letters, digits, '.', '-' or '_'. */
static int worker_name_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > WORKER_NAME_MAX) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

/* ---- plans ---- */

/* A list field: a number, an array of numbers, or a string "1,10,50".
 * Writes the normalized array into out under name. */
static int plan_list(const cJSON *plan, const char *name, long def, long min, long max, cJSON *out,
                     long *vals, int *n, char *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(plan, name);
    *n = 0;
    if (!v) {
        vals[(*n)++] = def;
    } else if (cJSON_IsNumber(v)) {
        vals[(*n)++] = (long)v->valuedouble;
        if ((double)vals[0] != v->valuedouble) return rb_err(err, "plan.%s: want integers", name);
    } else if (cJSON_IsString(v)) {
        char lerr[RB_ERR_LEN];
        if ((*n = parse_int_list(v->valuestring, vals, PLAN_MAX_LIST, lerr)) < 1)
            return rb_err(err, "plan.%s: %s", name, lerr);
    } else if (cJSON_IsArray(v)) {
        const cJSON *e;
        cJSON_ArrayForEach(e, v) {
            if (*n >= PLAN_MAX_LIST) return rb_err(err, "plan.%s: at most %d values", name, PLAN_MAX_LIST);
            if (!cJSON_IsNumber(e) || e->valuedouble != (double)(long)e->valuedouble)
                return rb_err(err, "plan.%s[%d]: want an integer", name, *n);
            for (int k = 0; k < *n; k++)
                if (vals[k] == (long)e->valuedouble) return rb_err(err, "plan.%s: repeated value", name);
            vals[(*n)++] = (long)e->valuedouble;
        }
        if (*n == 0) return rb_err(err, "plan.%s: empty list", name);
    } else {
        return rb_err(err, "plan.%s: want a number, an array of numbers or \"1,10\"", name);
    }
    cJSON *arr = cJSON_AddArrayToObject(out, name);
    for (int k = 0; k < *n; k++) {
        if (vals[k] < min || vals[k] > max)
            return rb_err(err, "plan.%s: %ld is outside %ld..%ld", name, vals[k], min, max);
        cJSON_AddItemToArray(arr, cJSON_CreateNumber((double)vals[k]));
    }
    return 0;
}

static int plan_num(const cJSON *plan, const char *name, double def, double min, double max,
                    int integral, cJSON *out, double *val, char *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(plan, name);
    double x = def;
    if (v) {
        if (!cJSON_IsNumber(v)) return rb_err(err, "plan.%s: want a number", name);
        x = v->valuedouble;
        if (integral && x != (double)(long long)x) return rb_err(err, "plan.%s: want an integer", name);
        if (!(x >= min && x <= max)) return rb_err(err, "plan.%s: want %g..%g", name, min, max);
    }
    cJSON_AddNumberToObject(out, name, x);
    if (val) *val = x;
    return 0;
}

static int plan_str(const cJSON *plan, const char *name, const char *def, cJSON *out, char *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(plan, name);
    const char *s = def;
    if (v) {
        if (!cJSON_IsString(v)) return rb_err(err, "plan.%s: want a string", name);
        s = v->valuestring;
        if (strlen(s) >= RB_NAME_LEN) return rb_err(err, "plan.%s: longer than %d characters", name, RB_NAME_LEN - 1);
    }
    if (!s) return rb_err(err, "plan.%s: required field is missing", name);
    cJSON_AddStringToObject(out, name, s);
    return 0;
}

cJSON *orch_plan_normalize(const cJSON *plan, char *err)
{
    static const char *const known[] = {
        "target", "scenarios", "concurrency", "pipeline", "value_size", "dataset_size",
        "iterations", "requests", "duration", "warmup", "threads", "timeout_ms", "workers",
        "share", "project", "branch", "commit", "client_region", "server_region", "preset",
        "start_delay", "lease_seconds", "max_attempts", NULL};
    if (!cJSON_IsObject(plan)) {
        rb_err(err, "plan: want a JSON object");
        return NULL;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, plan) {
        int ok = 0;
        for (int i = 0; known[i] && !ok; i++) ok = it->string && !strcmp(it->string, known[i]);
        if (!ok) {
            rb_err(err, "plan.%s: unknown field", it->string ? it->string : "?");
            return NULL;
        }
    }
    cJSON *out = cJSON_CreateObject();
    long conc[PLAN_MAX_LIST], other[PLAN_MAX_LIST];
    int nconc, n;
    double workers, requests, duration, warmup;
    if (plan_str(plan, "target", NULL, out, err) < 0) goto bad;
    {
        char *host = NULL;
        int port;
        char herr[RB_ERR_LEN];
        const char *t = cJSON_GetObjectItemCaseSensitive(out, "target")->valuestring;
        if (parse_hostport(t, &host, &port, herr) < 0) {
            rb_err(err, "plan.target: %s", herr);
            goto bad;
        }
        free(host);
    }
    if (plan_str(plan, "scenarios", "set,get", out, err) < 0) goto bad;
    {
        const struct op_def *ops[128];
        char oerr[RB_ERR_LEN];
        if (op_select(cJSON_GetObjectItemCaseSensitive(out, "scenarios")->valuestring, ops, 128, oerr) < 1) {
            rb_err(err, "plan.scenarios: %s", oerr[0] ? oerr : "no operation");
            goto bad;
        }
    }
    if (plan_list(plan, "concurrency", 50, 1, 100000, out, conc, &nconc, err) < 0 ||
        plan_list(plan, "pipeline", 1, 1, 10000, out, other, &n, err) < 0 ||
        plan_list(plan, "value_size", 64, 1, 1 << 26, out, other, &n, err) < 0 ||
        plan_list(plan, "dataset_size", 10000, 1, 1000000000, out, other, &n, err) < 0 ||
        plan_num(plan, "iterations", 3, 1, 1000, 1, out, NULL, err) < 0 ||
        plan_num(plan, "duration", 0, 0, 3600, 0, out, &duration, err) < 0 ||
        plan_num(plan, "requests", duration > 0 ? 0 : 100000, duration > 0 ? 0 : 1, 1e12, 1, out,
                 &requests, err) < 0 ||
        plan_num(plan, "warmup", 1000, 0, 1e9, 1, out, &warmup, err) < 0 ||
        plan_num(plan, "threads", 1, 1, 64, 1, out, NULL, err) < 0 ||
        plan_num(plan, "timeout_ms", 5000, 100, 600000, 1, out, NULL, err) < 0 ||
        plan_num(plan, "workers", 1, 1, MAX_WORKERS, 1, out, &workers, err) < 0 ||
        plan_str(plan, "share", "split", out, err) < 0 ||
        plan_str(plan, "project", "default", out, err) < 0 ||
        plan_str(plan, "branch", "main", out, err) < 0 ||
        plan_str(plan, "commit", "", out, err) < 0 ||
        plan_str(plan, "client_region", "local", out, err) < 0 ||
        plan_str(plan, "server_region", "local", out, err) < 0 ||
        plan_str(plan, "preset", "local", out, err) < 0 ||
        plan_num(plan, "start_delay", 3, 0, 3600, 0, out, NULL, err) < 0 ||
        plan_num(plan, "lease_seconds", 30, 2, 3600, 0, out, NULL, err) < 0 ||
        plan_num(plan, "max_attempts", 3, 1, 10, 1, out, NULL, err) < 0)
        goto bad;
    if (duration > 0 && requests > 0) {
        rb_err(err, "plan: give requests or duration, not both");
        goto bad;
    }
    const char *share = cJSON_GetObjectItemCaseSensitive(out, "share")->valuestring;
    if (strcmp(share, "split") && strcmp(share, "each")) {
        rb_err(err, "plan.share: want \"split\" or \"each\"");
        goto bad;
    }
    if (!strcmp(share, "split")) {
        for (int i = 0; i < nconc; i++)
            if (conc[i] < (long)workers) {
                rb_err(err, "plan.concurrency: %ld connections cannot be split among %g workers", conc[i], workers);
                goto bad;
            }
        if (requests > 0 && requests < workers) {
            rb_err(err, "plan.requests: fewer requests than workers");
            goto bad;
        }
    }
    (void)warmup;
    return out;
bad:
    cJSON_Delete(out);
    return NULL;
}

static double jnum(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static const char *jstr(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* Worker index's part of total when split among n (the first total % n get one more). */
static long share_of(long total, int index, int n)
{
    return total / n + (index < total % n ? 1 : 0);
}

/* The plan one task runs: with share "split", connections, requests and
 * warm-up divided among the workers; caller owns the result. */
static cJSON *task_plan(const cJSON *plan, int index, int n, int split)
{
    cJSON *p = cJSON_Duplicate(plan, 1);
    static const char *const drop[] = {"workers", "share", "start_delay", "lease_seconds", "max_attempts"};
    for (size_t i = 0; i < sizeof drop / sizeof drop[0]; i++) cJSON_DeleteItemFromObjectCaseSensitive(p, drop[i]);
    if (!split) return p;
    cJSON *conc = cJSON_GetObjectItemCaseSensitive(p, "concurrency"), *e;
    cJSON_ArrayForEach(e, conc) cJSON_SetNumberValue(e, (double)share_of((long)e->valuedouble, index, n));
    static const char *const counts[] = {"requests", "warmup"};
    for (int i = 0; i < 2; i++) {
        cJSON *v = cJSON_GetObjectItemCaseSensitive(p, counts[i]);
        double x = v->valuedouble;
        long long q = (long long)x / n, rem = (long long)x % n;
        cJSON_SetNumberValue(v, (double)(q + (index < rem ? 1 : 0)));
    }
    return p;
}

int orch_create(sqlite3 *db, const cJSON *plan, long long schedule_id, char *id_out, char *err)
{
    char created[40];
    now_rfc(created, sizeof created);
    make_run_id(id_out);
    int workers = (int)jnum(plan, "workers");
    int64_t start = now_ms() + (int64_t)(jnum(plan, "start_delay") * 1000);
    char *text = cJSON_PrintUnformatted(plan);
    int rc = -1;
    sqlite3_stmt *st = prepare(db,
                               "INSERT INTO benchmarks (id, plan, status, workers, share, start_at_ms, "
                               "lease_ms, max_attempts, created_at, schedule_id) "
                               "VALUES (?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?)",
                               err);
    if (!st) goto out;
    sqlite3_bind_text(st, 1, id_out, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, workers);
    sqlite3_bind_text(st, 4, jstr(plan, "share"), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, start);
    sqlite3_bind_int64(st, 6, (int64_t)(jnum(plan, "lease_seconds") * 1000));
    sqlite3_bind_int(st, 7, (int)jnum(plan, "max_attempts"));
    sqlite3_bind_text(st, 8, created, -1, SQLITE_STATIC);
    if (schedule_id > 0) sqlite3_bind_int64(st, 9, schedule_id);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rb_err(err, "insert benchmark: %s", sqlite3_errmsg(db));
        goto out;
    }
    sqlite3_finalize(st);
    if (!(st = prepare(db, "INSERT INTO tasks (benchmark_id, idx) VALUES (?, ?)", err))) goto out;
    for (int i = 0; i < workers; i++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, id_out, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, i);
        if (sqlite3_step(st) != SQLITE_DONE) {
            rb_err(err, "insert task: %s", sqlite3_errmsg(db));
            goto out;
        }
    }
    rc = 0;
out:
    sqlite3_finalize(st);
    cJSON_free(text);
    return rc;
}

/* Marks benchmarks with a failed task failed. */
static int fail_benchmarks(sqlite3 *db, char *err)
{
    char now[40], sql[512];
    now_rfc(now, sizeof now);
    snprintf(sql, sizeof sql,
             "UPDATE benchmarks SET status='failed', finished_at='%s', "
             "error=coalesce(error, (SELECT 'task ' || t.idx || ': ' || coalesce(t.error, 'failed') "
             "FROM tasks t WHERE t.benchmark_id=benchmarks.id AND t.status='failed' ORDER BY t.idx LIMIT 1)) "
             "WHERE status IN ('queued','running') AND EXISTS "
             "(SELECT 1 FROM tasks t WHERE t.benchmark_id=benchmarks.id AND t.status='failed')",
             now);
    return store_exec(db, sql, err);
}

int orch_expire(sqlite3 *db, int64_t now, char *err)
{
    sqlite3_stmt *st = prepare(db,
                               "UPDATE tasks SET status = CASE WHEN attempts >= "
                               "(SELECT max_attempts FROM benchmarks b WHERE b.id = tasks.benchmark_id) "
                               "THEN 'failed' ELSE 'queued' END, "
                               "error = 'lease of ' || lease_owner || ' lapsed (attempt ' || attempts || ')' "
                               "WHERE status = 'leased' AND lease_expires_ms < ?",
                               err);
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, now);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : rb_err(err, "expire leases: %s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    int n = sqlite3_changes(db);
    if (rc == 0 && n > 0) {
        fprintf(stderr, "redbench serve: %d task lease(s) lapsed\n", n);
        rc = fail_benchmarks(db, err);
    }
    return rc;
}

/* ---- merging ---- */

static int status_rank(const char *s)
{
    if (!strcmp(s, "failed")) return 3;
    if (!strcmp(s, "unsupported")) return 2;
    if (!strcmp(s, "partial")) return 1;
    return 0;
}

/* Merges the workers' runs w[0..n) (task order) into m (initialized by the
 * caller) as one orchestrated run; -1 with err when they do not line up. */
static int merge_runs(const rb_run *w, size_t n, const cJSON *plan, const char *bench_id, rb_run *m,
                      char *err)
{
    snprintf(m->id, sizeof m->id, "orch-%s", bench_id);
    snprintf(m->project, sizeof m->project, "%s", jstr(plan, "project"));
    snprintf(m->branch, sizeof m->branch, "%s", jstr(plan, "branch"));
    snprintf(m->commit, sizeof m->commit, "%s", jstr(plan, "commit"));
    snprintf(m->mode, sizeof m->mode, "orchestrated");
    snprintf(m->client_region, sizeof m->client_region, "%s", jstr(plan, "client_region"));
    snprintf(m->server_region, sizeof m->server_region, "%s", jstr(plan, "server_region"));
    snprintf(m->target_preset, sizeof m->target_preset, "%s", jstr(plan, "preset"));
    snprintf(m->target_kind, sizeof m->target_kind, "%s", w[0].target_kind);
    snprintf(m->target_version, sizeof m->target_version, "%s", w[0].target_version);
    snprintf(m->target_address, sizeof m->target_address, "%s", w[0].target_address);
    snprintf(m->runner_version, sizeof m->runner_version, "%s", RB_VERSION);
    gethostname(m->runner_host, sizeof m->runner_host - 1);
    snprintf(m->started_at, sizeof m->started_at, "%s", w[0].started_at);
    snprintf(m->ended_at, sizeof m->ended_at, "%s", w[0].ended_at);
    for (size_t i = 0; i < w[0].n_config; i++)
        kv_set(&m->config, &m->n_config, w[0].config[i].key, w[0].config[i].value);
    int worst = 0;
    for (size_t k = 0; k < n; k++) {
        if (strcmp(w[k].started_at, m->started_at) < 0) snprintf(m->started_at, sizeof m->started_at, "%s", w[k].started_at);
        if (strcmp(w[k].ended_at, m->ended_at) > 0) snprintf(m->ended_at, sizeof m->ended_at, "%s", w[k].ended_at);
        for (size_t i = 0; i < w[k].n_commands; i++)
            kv_add(&m->commands, &m->n_commands, w[k].commands[i].key,
                   strtoull(w[k].commands[i].value, NULL, 10));
        int r = !strcmp(w[k].status, "failed") ? 2 : !strcmp(w[k].status, "partial") ? 1 : 0;
        if (r > worst) worst = r;
        if (w[k].n_results != w[0].n_results)
            return rb_err(err, "task %zu has %zu results, task 0 has %zu", k, w[k].n_results, w[0].n_results);
    }
    if (worst) snprintf(m->status, sizeof m->status, "%s", worst == 2 ? "failed" : "partial");

    for (size_t i = 0; i < w[0].n_results; i++) {
        const rb_result *a = &w[0].results[i];
        for (size_t k = 1; k < n; k++) {
            const rb_result *b = &w[k].results[i];
            if (strcmp(a->op, b->op) || strcmp(a->scenario, b->scenario) || a->pipeline != b->pipeline ||
                a->value_size != b->value_size || a->dataset_size != b->dataset_size)
                return rb_err(err, "result %zu: task %zu measured %s p=%ld v=%ld d=%ld, task 0 %s p=%ld v=%ld d=%ld",
                              i, k, b->op, b->pipeline, b->value_size, b->dataset_size, a->op,
                              a->pipeline, a->value_size, a->dataset_size);
        }
        rb_result *mr = run_add_result(m);
        snprintf(mr->scenario, sizeof mr->scenario, "%s", a->scenario);
        snprintf(mr->op, sizeof mr->op, "%s", a->op);
        snprintf(mr->data_type, sizeof mr->data_type, "%s", a->data_type);
        mr->pipeline = a->pipeline;
        mr->value_size = a->value_size;
        mr->dataset_size = a->dataset_size;
        for (size_t p = 0; p < a->n_params; p++) kv_set(&mr->params, &mr->n_params, a->params[p].key, a->params[p].value);
        mr->latency = hist_new();
        size_t ns = a->n_samples;
        for (size_t k = 0; k < n; k++) if (w[k].results[i].n_samples < ns) ns = w[k].results[i].n_samples;
        mr->samples = xcalloc(ns ? ns : 1, sizeof *mr->samples);
        mr->n_samples = ns;
        int rank = 0;
        snprintf(mr->status, sizeof mr->status, "ok");
        for (size_t k = 0; k < n; k++) {
            const rb_result *b = &w[k].results[i];
            const char *bs = b->status[0] ? b->status : "ok";
            if (status_rank(bs) > rank) {
                rank = status_rank(bs);
                snprintf(mr->status, sizeof mr->status, "%s", bs);
                snprintf(mr->error, sizeof mr->error, "task %zu: %.200s", k, b->error);
            }
            mr->concurrency += b->concurrency;
            mr->requests += b->requests;
            mr->errors += b->errors;
            if (b->latency) hist_merge(mr->latency, b->latency);
            for (size_t s = 0; s < ns; s++) {
                rb_sample *ms = &mr->samples[s];
                const rb_sample *bs2 = &b->samples[s];
                ms->ops_per_sec += bs2->ops_per_sec;
                ms->requests += bs2->requests;
                ms->errors += bs2->errors;
                if (bs2->seconds > ms->seconds) ms->seconds = bs2->seconds;
                if (bs2->p50_us > ms->p50_us) ms->p50_us = bs2->p50_us;
                if (bs2->p99_us > ms->p99_us) ms->p99_us = bs2->p99_us;
            }
            if (b->server.present) {
                mr->server.present = 1;
                for (int v = 0; v < SRV__MAX; v++)
                    if (k == 0 || b->server.v[v] > mr->server.v[v]) mr->server.v[v] = b->server.v[v];
            }
            /* Engine counters (timeouts, reconnects...) add up. */
            for (size_t q = 0; q < b->n_metrics; q++) {
                double cur = 0;
                for (size_t z = 0; z < mr->n_metrics; z++)
                    if (!strcmp(mr->metrics[z].name, b->metrics[q].name)) cur = mr->metrics[z].value;
                result_set_metric(mr, b->metrics[q].name, cur + b->metrics[q].value);
            }
        }
        /* Each worker's own figures, by task index (the benchmark's status
         * names the worker that ran each task). */
        for (size_t k = 0; k < n; k++) {
            const rb_result *b = &w[k].results[i];
            char name[RB_NAME_LEN];
            snprintf(name, sizeof name, "worker%zu_ops_per_sec", k);
            result_set_metric(mr, name, b->ops_per_sec);
            snprintf(name, sizeof name, "worker%zu_requests", k);
            result_set_metric(mr, name, (double)b->requests);
            snprintf(name, sizeof name, "worker%zu_p99_us", k);
            result_set_metric(mr, name, b->p99_us);
        }
        result_set_metric(mr, "workers", (double)n);
        /* Values in the merged histogram: equals requests when every
         * request was counted once. */
        result_set_metric(mr, "latency_count", (double)hist_count(mr->latency));
        result_summarize(mr);
        if (!ns) mr->ops_per_sec = 0;
    }
    return 0;
}

/* Merges the finished tasks of benchmark id and ingests the merged run
 * (judged after the commit, by the analysis thread) inside the caller's
 * transaction; writes the run id. */
static int merge_and_ingest(sqlite3 *db, const struct collector *col, const char *id, char *run_id,
                            char *err)
{
    int rc = -1;
    size_t n = 0;
    rb_run *w = NULL, m;
    cJSON *plan = NULL;
    char *doc = NULL;
    run_init(&m);
    sqlite3_stmt *st = prepare(db, "SELECT plan, workers FROM benchmarks WHERE id=?", err);
    if (!st) goto out;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        plan = cJSON_Parse((const char *)sqlite3_column_text(st, 0));
        n = (size_t)sqlite3_column_int(st, 1);
    }
    sqlite3_finalize(st);
    if (!plan || n < 1) {
        rb_err(err, "benchmark %s: plan missing", id);
        goto out;
    }
    w = xcalloc(n, sizeof *w);
    for (size_t k = 0; k < n; k++) run_init(&w[k]);
    if (!(st = prepare(db, "SELECT idx, result FROM tasks WHERE benchmark_id=? AND status='done' ORDER BY idx", err)))
        goto out;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    size_t got = 0;
    while (sqlite3_step(st) == SQLITE_ROW && got < n) {
        const char *j = (const char *)sqlite3_column_text(st, 1);
        char jerr[RB_ERR_LEN];
        if (!j || run_from_json(j, strlen(j), &w[got], jerr) < 0) {
            rb_err(err, "task %d: stored result: %s", sqlite3_column_int(st, 0), j ? jerr : "missing");
            sqlite3_finalize(st);
            goto out;
        }
        got++;
    }
    sqlite3_finalize(st);
    if (got != n) {
        rb_err(err, "benchmark %s: %zu of %zu tasks done", id, got, n);
        goto out;
    }
    if (merge_runs(w, n, plan, id, &m, err) < 0) goto out;
    doc = run_to_json(&m, 0);
    if (collector_store_run(db, col, &m, doc, err) == STORE_ERROR) goto out;
    snprintf(run_id, RB_NAME_LEN, "%s", m.id);
    rc = 0;
out:
    if (w)
        for (size_t k = 0; k < n; k++) run_cleanup(&w[k]);
    free(w);
    free(doc);
    run_cleanup(&m);
    cJSON_Delete(plan);
    return rc;
}

/* ---- handlers ---- */

enum MHD_Result api_benchmark_start(const struct request *r)
{
    char err[RB_ERR_LEN], id[40];
    cJSON *body = parse_body(r, err);
    if (!body) return respond_error(r->conn, 400, "%s", err);
    /* The plan is the body itself, or {"plan": {...}}. */
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(body, "plan");
    cJSON *plan = orch_plan_normalize(p ? p : body, err);
    cJSON_Delete(body);
    if (!plan) return respond_error(r->conn, 400, "%s", err);
    sqlite3 *db = store_writer_lock(r->col->st);
    int ok = store_exec(db, "BEGIN IMMEDIATE", err) == 0;
    if (ok && orch_create(db, plan, 0, id, err) == 0 && store_exec(db, "COMMIT", err) == 0) {
        store_writer_unlock(r->col->st);
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "id", id);
        cJSON_AddStringToObject(j, "status", "queued");
        cJSON_AddNumberToObject(j, "workers", jnum(plan, "workers"));
        cJSON_AddStringToObject(j, "share", jstr(plan, "share"));
        char u[96];
        snprintf(u, sizeof u, "/benchmark/status/%s", id);
        cJSON_AddStringToObject(j, "status_url", u);
        snprintf(u, sizeof u, "/benchmark/results/%s", id);
        cJSON_AddStringToObject(j, "results_url", u);
        fprintf(stderr, "redbench serve: benchmark %s queued (%g tasks)\n", id, jnum(plan, "workers"));
        cJSON_Delete(plan);
        return respond_json(r->conn, 201, j);
    }
    if (ok) store_exec(db, "ROLLBACK", NULL);
    store_writer_unlock(r->col->st);
    cJSON_Delete(plan);
    return respond_error(r->conn, 500, "%s", err);
}

static void add_col(cJSON *o, sqlite3_stmt *st, int i, const char *name)
{
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_NULL: cJSON_AddNullToObject(o, name); break;
    case SQLITE_INTEGER:
    case SQLITE_FLOAT: cJSON_AddNumberToObject(o, name, sqlite3_column_double(st, i)); break;
    default: cJSON_AddStringToObject(o, name, (const char *)sqlite3_column_text(st, i));
    }
}

enum MHD_Result api_benchmark_status(const struct request *r)
{
    sqlite3 *db = store_reader(r->col->st);
    cJSON *j = orch_status_json(db, r->param, now_ms());
    store_reader_release(r->col->st, db);
    if (!j) return respond_error(r->conn, 404, "benchmark %s not found", r->param);
    return respond_json(r->conn, 200, j);
}

enum MHD_Result api_benchmark_results(const struct request *r)
{
    sqlite3 *db = store_reader(r->col->st);
    sqlite3_stmt *st;
    char status[16] = "", error[RB_ERR_LEN] = "";
    cJSON *doc = NULL;
    int found = 0;
    if (sqlite3_prepare_v2(db,
                           "SELECT b.status, coalesce(b.error, ''), r.document FROM benchmarks b "
                           "LEFT JOIN runs r ON r.id = b.run_id WHERE b.id=?",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, r->param, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            found = 1;
            snprintf(status, sizeof status, "%s", (const char *)sqlite3_column_text(st, 0));
            snprintf(error, sizeof error, "%s", (const char *)sqlite3_column_text(st, 1));
            if (sqlite3_column_type(st, 2) != SQLITE_NULL)
                doc = cJSON_Parse((const char *)sqlite3_column_text(st, 2));
        }
        sqlite3_finalize(st);
    }
    store_reader_release(r->col->st, db);
    if (!found) return respond_error(r->conn, 404, "benchmark %s not found", r->param);
    if (!doc)
        return respond_error(r->conn, 404, "benchmark %s is %s%s%s: no merged results", r->param,
                             status, error[0] ? ": " : "", error);
    return respond_json(r->conn, 200, doc);
}

/* Reads {"worker": NAME} from the body into name. */
static int body_worker(const cJSON *body, char *name, char *err)
{
    const char *w = jstr(body, "worker");
    if (!worker_name_valid(w))
        return rb_err(err, "worker: want 1-%d letters, digits, '.', '-' or '_'", WORKER_NAME_MAX);
    snprintf(name, WORKER_NAME_MAX + 1, "%s", w);
    return 0;
}

static int touch_worker(sqlite3 *db, const char *name, int64_t now, int done, char *err)
{
    sqlite3_stmt *st = prepare(db,
                               "INSERT INTO workers (name, last_seen_ms, tasks_done) VALUES (?1, ?2, ?3) "
                               "ON CONFLICT(name) DO UPDATE SET last_seen_ms=?2, tasks_done=tasks_done+?3",
                               err);
    if (!st) return -1;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_int(st, 3, done);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : rb_err(err, "workers: %s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return rc;
}

enum MHD_Result api_task_lease(const struct request *r)
{
    char err[RB_ERR_LEN], name[WORKER_NAME_MAX + 1];
    cJSON *body = parse_body(r, err);
    if (!body) return respond_error(r->conn, 400, "%s", err);
    int bad = body_worker(body, name, err);
    cJSON_Delete(body);
    if (bad) return respond_error(r->conn, 400, "%s", err);

    int64_t now = now_ms();
    cJSON *task = NULL;
    sqlite3 *db = store_writer_lock(r->col->st);
    sqlite3_stmt *st = NULL;
    if (store_exec(db, "BEGIN IMMEDIATE", err) < 0) goto fail;
    if (touch_worker(db, name, now, 0, err) < 0 || orch_expire(db, now, err) < 0) goto rollback;
    if (!(st = prepare(db,
                       "SELECT t.id, t.idx, t.attempts, b.id, b.plan, b.workers, b.share, b.start_at_ms, "
                       "b.lease_ms FROM tasks t JOIN benchmarks b ON b.id = t.benchmark_id "
                       "WHERE t.status='queued' AND b.status IN ('queued','running') ORDER BY t.id LIMIT 1",
                       err)))
        goto rollback;
    if (sqlite3_step(st) == SQLITE_ROW) {
        long long tid = sqlite3_column_int64(st, 0);
        int idx = sqlite3_column_int(st, 1), n = sqlite3_column_int(st, 5);
        int64_t lease = sqlite3_column_int64(st, 8);
        cJSON *plan = cJSON_Parse((const char *)sqlite3_column_text(st, 4));
        task = cJSON_CreateObject();
        cJSON_AddNumberToObject(task, "task_id", (double)tid);
        cJSON_AddStringToObject(task, "benchmark_id", (const char *)sqlite3_column_text(st, 3));
        cJSON_AddNumberToObject(task, "index", idx);
        cJSON_AddNumberToObject(task, "workers", n);
        cJSON_AddStringToObject(task, "share", (const char *)sqlite3_column_text(st, 6));
        cJSON_AddNumberToObject(task, "attempt", sqlite3_column_int(st, 2) + 1);
        cJSON_AddNumberToObject(task, "start_at_ms", (double)sqlite3_column_int64(st, 7));
        cJSON_AddNumberToObject(task, "lease_seconds", (double)lease / 1000.0);
        double hb = (double)lease / 3000.0;
        cJSON_AddNumberToObject(task, "heartbeat_seconds", hb < 1 ? 1 : hb);
        cJSON_AddItemToObject(task, "plan", task_plan(plan, idx, n,
                                                      !strcmp((const char *)sqlite3_column_text(st, 6), "split")));
        cJSON_Delete(plan);
        sqlite3_finalize(st);
        char started[40];
        now_rfc(started, sizeof started);
        if (!(st = prepare(db,
                           "UPDATE tasks SET status='leased', lease_owner=?1, attempts=attempts+1, "
                           "lease_expires_ms=?2, heartbeat_ms=?3, error=NULL WHERE id=?4",
                           err)))
            goto rollback;
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, now + lease);
        sqlite3_bind_int64(st, 3, now);
        sqlite3_bind_int64(st, 4, tid);
        if (sqlite3_step(st) != SQLITE_DONE) {
            rb_err(err, "lease: %s", sqlite3_errmsg(db));
            goto rollback;
        }
        sqlite3_finalize(st);
        if (!(st = prepare(db,
                           "UPDATE benchmarks SET status='running', started_at=coalesce(started_at, ?1) "
                           "WHERE id=?2",
                           err)))
            goto rollback;
        sqlite3_bind_text(st, 1, started, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, jstr(task, "benchmark_id"), -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) {
            rb_err(err, "lease: %s", sqlite3_errmsg(db));
            goto rollback;
        }
    }
    sqlite3_finalize(st);
    st = NULL;
    if (store_exec(db, "COMMIT", err) < 0) goto rollback;
    store_writer_unlock(r->col->st);
    if (!task) return respond_empty(r->conn, 204);
    fprintf(stderr, "redbench serve: task %g (benchmark %s, share %g) leased to %s, attempt %g\n",
            jnum(task, "task_id"), jstr(task, "benchmark_id"), jnum(task, "index"), name, jnum(task, "attempt"));
    return respond_json(r->conn, 200, task);
rollback:
    sqlite3_finalize(st);
    store_exec(db, "ROLLBACK", NULL);
fail:
    store_writer_unlock(r->col->st);
    cJSON_Delete(task);
    return respond_error(r->conn, 500, "%s", err);
}

static long long task_id_param(const struct request *r)
{
    char *end;
    long long id = strtoll(r->param ? r->param : "", &end, 10);
    return *end || id < 1 ? -1 : id;
}

enum MHD_Result api_task_heartbeat(const struct request *r)
{
    char err[RB_ERR_LEN], name[WORKER_NAME_MAX + 1];
    long long tid = task_id_param(r);
    if (tid < 0) return respond_error(r->conn, 404, "no such task: %s", r->param);
    cJSON *body = parse_body(r, err);
    if (!body) return respond_error(r->conn, 400, "%s", err);
    int bad = body_worker(body, name, err);
    cJSON_Delete(body);
    if (bad) return respond_error(r->conn, 400, "%s", err);
    int64_t now = now_ms();
    int changed = -1;
    sqlite3 *db = store_writer_lock(r->col->st);
    sqlite3_stmt *st = prepare(db,
                               "UPDATE tasks SET heartbeat_ms=?1, lease_expires_ms=?1 + "
                               "(SELECT lease_ms FROM benchmarks b WHERE b.id=tasks.benchmark_id) "
                               "WHERE id=?2 AND status='leased' AND lease_owner=?3",
                               err);
    if (st) {
        sqlite3_bind_int64(st, 1, now);
        sqlite3_bind_int64(st, 2, tid);
        sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_DONE) changed = sqlite3_changes(db);
        else rb_err(err, "heartbeat: %s", sqlite3_errmsg(db));
        sqlite3_finalize(st);
    }
    if (changed >= 0) touch_worker(db, name, now, 0, err);
    store_writer_unlock(r->col->st);
    if (changed < 0) return respond_error(r->conn, 500, "%s", err);
    if (changed == 0)
        return respond_error(r->conn, 409, "task %lld is not leased by %s (the lease lapsed or the task is finished)", tid, name);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "status", "leased");
    return respond_json(r->conn, 200, j);
}

enum MHD_Result api_task_result(const struct request *r)
{
    char err[RB_ERR_LEN], name[WORKER_NAME_MAX + 1], bid[40] = "", run_id[RB_NAME_LEN] = "";
    char werr[RB_ERR_LEN] = "";
    long long tid = task_id_param(r);
    if (tid < 0) return respond_error(r->conn, 404, "no such task: %s", r->param);
    cJSON *body = parse_body(r, err);
    if (!body) return respond_error(r->conn, 400, "%s", err);
    if (body_worker(body, name, err) < 0) {
        cJSON_Delete(body);
        return respond_error(r->conn, 400, "%s", err);
    }
    /* Either {"worker", "run": {...}} or {"worker", "error": "why"}. */
    const cJSON *runj = cJSON_GetObjectItemCaseSensitive(body, "run");
    const cJSON *errj = cJSON_GetObjectItemCaseSensitive(body, "error");
    rb_run run;
    run_init(&run);
    char *doc = NULL;
    if (cJSON_IsObject(runj)) {
        char *text = cJSON_PrintUnformatted(runj);
        int rc = run_from_json(text, strlen(text), &run, err);
        cJSON_free(text);
        if (rc < 0) {
            cJSON_Delete(body);
            run_cleanup(&run);
            return respond_error(r->conn, 400, "run.%s", err);
        }
        doc = run_to_json(&run, 0);
    } else if (cJSON_IsString(errj)) {
        snprintf(werr, sizeof werr, "%s: %.200s", name, errj->valuestring);
    } else {
        cJSON_Delete(body);
        run_cleanup(&run);
        return respond_error(r->conn, 400, "body: want \"run\" (an object) or \"error\" (a string)");
    }
    cJSON_Delete(body);

    unsigned status = 500;
    const char *outcome = "stored";
    int64_t now = now_ms();
    char fin[40];
    now_rfc(fin, sizeof fin);
    sqlite3 *db = store_writer_lock(r->col->st);
    sqlite3_stmt *st = NULL;
    if (store_exec(db, "BEGIN IMMEDIATE", err) < 0) goto fail;
    if (!(st = prepare(db, "SELECT status, coalesce(lease_owner, ''), benchmark_id, attempts, "
                           "(SELECT max_attempts FROM benchmarks b WHERE b.id = benchmark_id) "
                           "FROM tasks WHERE id=?", err)))
        goto rollback;
    sqlite3_bind_int64(st, 1, tid);
    if (sqlite3_step(st) != SQLITE_ROW) {
        status = 404;
        rb_err(err, "no such task: %lld", tid);
        goto rollback;
    }
    char tstatus[16], owner[WORKER_NAME_MAX + 1];
    snprintf(tstatus, sizeof tstatus, "%s", (const char *)sqlite3_column_text(st, 0));
    snprintf(owner, sizeof owner, "%s", (const char *)sqlite3_column_text(st, 1));
    snprintf(bid, sizeof bid, "%s", (const char *)sqlite3_column_text(st, 2));
    int attempts = sqlite3_column_int(st, 3), max_attempts = sqlite3_column_int(st, 4);
    sqlite3_finalize(st);
    st = NULL;
    if (!strcmp(tstatus, "done") && !strcmp(owner, name)) {
        status = 200; /* a retried upload of a result already taken */
        outcome = "already_present";
        store_exec(db, "ROLLBACK", NULL);
        goto answer;
    }
    if (strcmp(tstatus, "leased") || strcmp(owner, name)) {
        status = 409;
        rb_err(err, "task %lld is not leased by %s (status %s%s%s): result refused", tid, name,
               tstatus, owner[0] ? ", last leased by " : "", owner);
        goto rollback;
    }
    if (!doc) {
        /* The worker gave up: hand the task out again, or fail it. */
        int final = attempts >= max_attempts;
        if (!(st = prepare(db, "UPDATE tasks SET status=?1, error=?2 WHERE id=?3", err))) goto rollback;
        sqlite3_bind_text(st, 1, final ? "failed" : "queued", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, werr, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, tid);
        if (sqlite3_step(st) != SQLITE_DONE || (final && fail_benchmarks(db, err) < 0)) goto rollback;
        sqlite3_finalize(st);
        st = NULL;
        outcome = final ? "failed" : "requeued";
    } else {
        if (!(st = prepare(db, "UPDATE tasks SET status='done', result=?1, finished_at=?2, "
                               "heartbeat_ms=?3 WHERE id=?4", err)))
            goto rollback;
        sqlite3_bind_text(st, 1, doc, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, fin, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, now);
        sqlite3_bind_int64(st, 4, tid);
        if (sqlite3_step(st) != SQLITE_DONE) {
            rb_err(err, "task %lld: %s", tid, sqlite3_errmsg(db));
            goto rollback;
        }
        sqlite3_finalize(st);
        st = NULL;
        if (touch_worker(db, name, now, 1, err) < 0) goto rollback;
        if (!(st = prepare(db, "SELECT count(*) FROM tasks WHERE benchmark_id=? AND status != 'done'", err)))
            goto rollback;
        sqlite3_bind_text(st, 1, bid, -1, SQLITE_STATIC);
        int left = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
        sqlite3_finalize(st);
        st = NULL;
        if (left == 0) {
            char merr[RB_ERR_LEN];
            const char *sql, *arg = run_id;
            if (store_exec(db, "SAVEPOINT merge", err) < 0) goto rollback;
            if (merge_and_ingest(db, r->col, bid, run_id, merr) == 0) {
                store_exec(db, "RELEASE merge", NULL);
                sql = "UPDATE benchmarks SET status='complete', finished_at=?1, run_id=?2 WHERE id=?3";
            } else {
                /* The task results stay; the benchmark records why it failed. */
                store_exec(db, "ROLLBACK TO merge", NULL);
                store_exec(db, "RELEASE merge", NULL);
                fprintf(stderr, "redbench serve: benchmark %s: merge failed: %s\n", bid, merr);
                snprintf(werr, sizeof werr, "merge: %.200s", merr);
                arg = werr;
                sql = "UPDATE benchmarks SET status='failed', finished_at=?1, error=?2 WHERE id=?3";
            }
            if (!(st = prepare(db, sql, err))) goto rollback;
            sqlite3_bind_text(st, 1, fin, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, arg, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 3, bid, -1, SQLITE_STATIC);
            if (sqlite3_step(st) != SQLITE_DONE) {
                rb_err(err, "benchmark %s: %s", bid, sqlite3_errmsg(db));
                goto rollback;
            }
            sqlite3_finalize(st);
            st = NULL;
        }
    }
    if (store_exec(db, "COMMIT", err) < 0) goto rollback;
    status = 200;
answer:
    store_writer_unlock(r->col->st);
    if (run_id[0]) analysis_kick(r->col); /* a merged run was committed: judge it */
    fprintf(stderr, "redbench serve: task %lld (benchmark %s) from %s: %s%s%s\n", tid, bid, name,
            outcome, run_id[0] ? ", merged into run " : "", run_id);
    {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "status", outcome);
        cJSON_AddStringToObject(j, "benchmark_id", bid);
        if (run_id[0]) cJSON_AddStringToObject(j, "run_id", run_id);
        free(doc);
        run_cleanup(&run);
        return respond_json(r->conn, status, j);
    }
rollback:
    sqlite3_finalize(st);
    store_exec(db, "ROLLBACK", NULL);
fail:
    store_writer_unlock(r->col->st);
    free(doc);
    run_cleanup(&run);
    if (status == 500) fprintf(stderr, "redbench serve: task %lld result: %s\n", tid, err);
    return respond_error(r->conn, status, "%s", err);
}

cJSON *orch_status_json(sqlite3 *db, const char *id, int64_t now)
{
    cJSON *j = NULL;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT id, status, workers AS worker_count, share, start_at_ms, created_at, started_at, "
                           "finished_at, run_id, schedule_id, error, plan FROM benchmarks WHERE id=?",
                           -1, &st, NULL) != SQLITE_OK)
        return NULL;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        j = cJSON_CreateObject();
        for (int i = 0; i < 11; i++) add_col(j, st, i, sqlite3_column_name(st, i));
        cJSON *plan = cJSON_Parse((const char *)sqlite3_column_text(st, 11));
        if (plan) cJSON_AddItemToObject(j, "plan", plan);
    }
    sqlite3_finalize(st);
    if (!j) return NULL;
    cJSON *tasks = cJSON_AddArrayToObject(j, "tasks");
    if (sqlite3_prepare_v2(db,
                           "SELECT id, idx, status, attempts, lease_owner, heartbeat_ms, lease_expires_ms, "
                           "finished_at, error FROM tasks WHERE benchmark_id=? ORDER BY idx",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        while (sqlite3_step(st) == SQLITE_ROW) {
            cJSON *t = cJSON_CreateObject();
            add_col(t, st, 0, "id");
            add_col(t, st, 1, "index");
            add_col(t, st, 2, "status");
            add_col(t, st, 3, "attempts");
            add_col(t, st, 4, "worker");
            if (sqlite3_column_type(st, 5) != SQLITE_NULL)
                cJSON_AddNumberToObject(t, "heartbeat_age_s", (double)(now - sqlite3_column_int64(st, 5)) / 1000.0);
            if (!strcmp((const char *)sqlite3_column_text(st, 2), "leased"))
                cJSON_AddNumberToObject(t, "lease_expires_in_s", (double)(sqlite3_column_int64(st, 6) - now) / 1000.0);
            add_col(t, st, 7, "finished_at");
            add_col(t, st, 8, "error");
            cJSON_AddItemToArray(tasks, t);
        }
        sqlite3_finalize(st);
    }
    cJSON *workers = cJSON_AddArrayToObject(j, "workers");
    if (sqlite3_prepare_v2(db,
                           "SELECT name, last_seen_ms, tasks_done FROM workers WHERE name IN "
                           "(SELECT lease_owner FROM tasks WHERE benchmark_id=?) ORDER BY name",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        while (sqlite3_step(st) == SQLITE_ROW) {
            cJSON *w = cJSON_CreateObject();
            add_col(w, st, 0, "name");
            cJSON_AddNumberToObject(w, "last_seen_age_s", (double)(now - sqlite3_column_int64(st, 1)) / 1000.0);
            add_col(w, st, 2, "tasks_done");
            cJSON_AddItemToArray(workers, w);
        }
        sqlite3_finalize(st);
    }
    return j;
}
