/* pages.c -- the dashboard's HTML pages: data gathered as cJSON, rendered by
 * templates in web/templates/ with escaping on. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "collector.h"
#include "triage.h"
#include "util.h"

#define PAGE_MAX (8u << 20)

enum MHD_Result page_render(const struct request *r, unsigned status, const char *name, cJSON *data)
{
    buf out;
    buf_init(&out, PAGE_MAX);
    char err[RB_ERR_LEN];
    cJSON_AddStringToObject(data, "version", RB_VERSION);
    cJSON_AddBoolToObject(data, "can_query", request_has_role(r, ROLE_QUERY));
    cJSON_AddBoolToObject(data, "can_admin", request_has_role(r, ROLE_ADMIN));
    if (!cJSON_HasObjectItem(data, "logged_in"))
        cJSON_AddBoolToObject(data, "logged_in", request_has_role(r, ROLE_READ));
    int rc = tmpl_render(r->col->pages, name, data, &out, err);
    cJSON_Delete(data);
    if (rc < 0) {
        buf_cleanup(&out);
        fprintf(stderr, "redbench serve: render %s: %s\n", name, err);
        return respond_error(r->conn, 500, "could not render the page");
    }
    size_t len = out.len;
    return respond_html(r->conn, status, buf_take(&out), len);
}

void page_add_fmt(cJSON *o, const char *k, const char *fmt, double x)
{
    char s[64];
    if (!isfinite(x))
        snprintf(s, sizeof s, "–");
    else
        fmt_double(s, sizeof s, fmt, x); /* a page shows hundreds: ~10x faster than printf */
    cJSON_AddStringToObject(o, k, s);
}

void page_add_col(cJSON *o, const char *k, sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    cJSON_AddStringToObject(o, k, t ? (const char *)t : "");
}

/* ---- helpers of the pages in this file and page_compare.c ---- */

#define OVERVIEW_SCAN 500      /* latest runs looked at for the per-branch-and-mode list */
#define OVERVIEW_GROUPS 20     /* branch and mode pairs shown */
#define OVERVIEW_PER_GROUP 5   /* runs shown per pair */
#define OVERVIEW_REGRESSIONS 20

double page_col_num(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

void page_add_short(cJSON *o, const char *k, const char *s, int n)
{
    char b[64];
    snprintf(b, sizeof b, "%.*s", n < 63 ? n : 63, s ? s : "");
    cJSON_AddStringToObject(o, k, b);
}

enum MHD_Result page_not_found(const struct request *r, const char *what, const char *id)
{
    cJSON *data = cJSON_CreateObject();
    char title[96];
    snprintf(title, sizeof title, "%c%s not found", what[0] >= 'a' && what[0] <= 'z' ? what[0] - 32 : what[0],
             what + 1);
    cJSON_AddStringToObject(data, "title", title);
    cJSON_AddStringToObject(data, "missing_what", what);
    cJSON_AddStringToObject(data, "missing_id", id ? id : "");
    return page_render(r, 404, "notfound", data);
}

/* The notfound template with a title and a message, for refused form posts. */
static enum MHD_Result page_problem(const struct request *r, unsigned status, const char *title,
                                    const char *message)
{
    cJSON *data = cJSON_CreateObject();
    cJSON_AddStringToObject(data, "title", title);
    cJSON_AddStringToObject(data, "message", message);
    return page_render(r, status, "notfound", data);
}

/* Adds to o the verdict state of a run from its summary columns
 * (migrations/0010_run_summary.sql): "status" (pending, pass, regression,
 * improvement, insufficient_baseline), "is_pending", "is_regression",
 * "results", "regressions", "improvements" (verdict rows). */
static void add_state_fields(cJSON *o, const char *status, long long results, long long reg, long long imp)
{
    cJSON_AddStringToObject(o, "status", status);
    cJSON_AddBoolToObject(o, "is_pending", strcmp(status, "pending") == 0);
    cJSON_AddBoolToObject(o, "is_regression", strcmp(status, "regression") == 0);
    cJSON_AddNumberToObject(o, "results", (double)results);
    cJSON_AddNumberToObject(o, "regressions", (double)reg);
    cJSON_AddNumberToObject(o, "improvements", (double)imp);
}

/* add_state_fields of run id, read from its row. */
static void add_run_state(sqlite3 *db, const char *id, cJSON *o)
{
    sqlite3_stmt *st = NULL;
    char status[32] = "pending";
    long long results = 0, reg = 0, imp = 0;
    if (sqlite3_prepare_v2(db, "SELECT verdict_status, n_results, n_regressions, n_improvements FROM runs WHERE id=?",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            const unsigned char *s = sqlite3_column_text(st, 0);
            if (s) snprintf(status, sizeof status, "%s", (const char *)s);
            results = sqlite3_column_int64(st, 1);
            reg = sqlite3_column_int64(st, 2);
            imp = sqlite3_column_int64(st, 3);
        }
    }
    sqlite3_finalize(st);
    add_state_fields(o, status, results, reg, imp);
}

/* "http://HOST" of the request (https when a proxy says so), for the
 * copy-paste commands shown on the pages. */
static void request_base_url(const struct request *r, char *out, size_t outlen)
{
    const char *host = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    const char *xfp = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Forwarded-Proto");
    snprintf(out, outlen, "%s://%s", xfp && !strcmp(xfp, "https") ? "https" : "http",
             host && *host ? host : "127.0.0.1:8080");
}

/* ---- overview ---- */

/* Columns of the overview's runs query (OV_N text ones, then the counts). */
enum { OV_ID, OV_PROJECT, OV_BRANCH, OV_COMMIT, OV_MODE, OV_STARTED, OV_KIND, OV_VERSION, OV_STATUS, OV_N };

/* Runs read but not yet placed: those with the same started_at, held until the
 * next start time shows up (they are placed in id order). Their texts live in
 * one arena (no allocation per run). */
struct ov_pending {
    buf arena;
    size_t (*off)[OV_N]; /* per run: offsets of its texts in the arena */
    long long (*num)[3]; /* n_results, n_regressions, n_improvements */
    size_t n, cap;
};

static void ov_hold(struct ov_pending *p, sqlite3_stmt *st)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 8;
        p->off = xrealloc(p->off, p->cap * sizeof *p->off);
        p->num = xrealloc(p->num, p->cap * sizeof *p->num);
    }
    for (int i = 0; i < OV_N; i++) {
        const unsigned char *t = sqlite3_column_text(st, i);
        p->off[p->n][i] = p->arena.len;
        if (buf_append(&p->arena, t ? (const char *)t : "", t ? (size_t)sqlite3_column_bytes(st, i) + 1 : 1) < 0)
            return; /* past the arena's cap (a tie of ~100,000 runs): left out */
    }
    for (int i = 0; i < 3; i++) p->num[p->n][i] = sqlite3_column_int64(st, OV_N + i);
    p->n++;
}

/* Places held run k into groups (the first OVERVIEW_GROUPS branch and mode pairs,
 * OVERVIEW_PER_GROUP runs each); 1 once every group is full. */
static int ov_place(cJSON *groups, const struct ov_pending *p, size_t k)
{
    const char *v[OV_N];
    for (int i = 0; i < OV_N; i++) v[i] = p->arena.data + p->off[k][i];
    cJSON *g = NULL, *it;
    int full = 0, n = 0;
    cJSON_ArrayForEach(it, groups) {
        if (!g && !strcmp(cJSON_GetObjectItemCaseSensitive(it, "branch")->valuestring, v[OV_BRANCH]) &&
            !strcmp(cJSON_GetObjectItemCaseSensitive(it, "mode")->valuestring, v[OV_MODE]))
            g = it;
        n++;
    }
    if (!g) {
        if (n >= OVERVIEW_GROUPS) return 0;
        g = cJSON_CreateObject();
        cJSON_AddStringToObject(g, "branch", v[OV_BRANCH]);
        cJSON_AddStringToObject(g, "mode", v[OV_MODE]);
        cJSON_AddArrayToObject(g, "runs");
        cJSON_AddItemToArray(groups, g);
        n++;
    }
    cJSON *runs = cJSON_GetObjectItemCaseSensitive(g, "runs");
    if (cJSON_GetArraySize(runs) >= OVERVIEW_PER_GROUP) return 0;
    cJSON *o = cJSON_CreateObject();
    static const char *const names[] = {"id", "project", "branch", "commit", "mode", "started_at",
                                        "target_kind", "target_version"};
    for (int i = 0; i < 8; i++) cJSON_AddStringToObject(o, names[i], v[i]);
    page_add_short(o, "short_id", v[OV_ID], 8);
    page_add_short(o, "short_commit", v[OV_COMMIT], 10);
    add_state_fields(o, *v[OV_STATUS] ? v[OV_STATUS] : "pending", p->num[k][0], p->num[k][1], p->num[k][2]);
    cJSON_AddItemToArray(runs, o);
    if (n < OVERVIEW_GROUPS) return 0;
    cJSON_ArrayForEach(it, groups) full += cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(it, "runs")) >=
                                           OVERVIEW_PER_GROUP;
    return full == n;
}

/* The latest runs grouped by branch and mode (newest pair first), as
 * [{"branch", "mode", "runs": [...]}]: the first OVERVIEW_SCAN runs by
 * (started_at DESC, id), as ORDER BY started_at DESC, id LIMIT OVERVIEW_SCAN
 * would give them. Every column comes from the covering index runs_list (the
 * summary columns sit after the large `document` in the table's rows), walked
 * backwards: that gives equal start times in descending id order, so such runs
 * are held and placed in ascending order (no sort of the OVERVIEW_SCAN rows). */
static cJSON *overview_groups(sqlite3 *db)
{
    cJSON *groups = cJSON_CreateArray();
    sqlite3_stmt *st = NULL;
    struct ov_pending p = {0};
    buf_init(&p.arena, 1u << 26);
    int seen = 0, done = 0, rc;
    if (sqlite3_prepare_v2(db,
                           "SELECT id, project, branch, commit_sha, mode, started_at, target_kind, target_version, "
                           "verdict_status, n_results, n_regressions, n_improvements "
                           "FROM runs INDEXED BY runs_list ORDER BY started_at DESC, id DESC",
                           -1, &st, NULL) != SQLITE_OK)
        goto out;
    do {
        rc = sqlite3_step(st);
        const char *t = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, OV_STARTED) : NULL;
        if (rc == SQLITE_ROW && t && p.n && strcmp(t, p.arena.data + p.off[0][OV_STARTED]) == 0) {
            /* the same start time as the held runs: hold it too */
            ov_hold(&p, st);
            continue;
        }
        for (size_t k = p.n; k > 0 && !done; k--) /* the held runs in ascending id order */
            done = ov_place(groups, &p, k - 1) || ++seen >= OVERVIEW_SCAN;
        p.n = 0;
        buf_reset(&p.arena);
        if (rc != SQLITE_ROW || done) break;
        ov_hold(&p, st);
    } while (!done);
out:
    sqlite3_finalize(st);
    buf_cleanup(&p.arena);
    free(p.off);
    free(p.num);
    return groups;
}

/* The newest untriaged regression verdicts (partial index
 * verdicts_untriaged_regressions), at most OVERVIEW_REGRESSIONS. */
static cJSON *overview_regressions(sqlite3 *db, long long *total)
{
    cJSON *arr = cJSON_CreateArray();
    sqlite3_stmt *st = NULL;
    *total = 0;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM verdicts WHERE status='regression' AND triage IS NULL",
                           -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        *total = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(db,
                           "SELECT v.id, v.run_id, v.series_key, v.metric, v.change, v.p_value, "
                           "u.branch, u.started_at, u.commit_sha, u.mode, u.project FROM verdicts v JOIN runs u ON u.id = v.run_id "
                           "WHERE v.status='regression' AND v.triage IS NULL "
                           "ORDER BY v.result_id DESC, v.id DESC LIMIT ?",
                           -1, &st, NULL) != SQLITE_OK)
        return arr;
    sqlite3_bind_int(st, 1, OVERVIEW_REGRESSIONS);
    while (sqlite3_step(st) == SQLITE_ROW) {
        cJSON *o = cJSON_CreateObject();
        page_add_col(o, "verdict_id", st, 0);
        page_add_col(o, "run_id", st, 1);
        page_add_short(o, "short_id", (const char *)sqlite3_column_text(st, 1), 8);
        page_add_col(o, "series_key", st, 2);
        page_add_col(o, "metric", st, 3);
        page_add_fmt(o, "change", "%+.1f%%", page_col_num(st, 4) * 100);
        page_add_fmt(o, "p_value", "%.4f", page_col_num(st, 5));
        page_add_col(o, "branch", st, 6);
        page_add_col(o, "started_at", st, 7);
        page_add_short(o, "short_commit", (const char *)sqlite3_column_text(st, 8), 10);
        page_add_col(o, "mode", st, 9);
        page_add_col(o, "project", st, 10);
        cJSON_AddItemToArray(arr, o);
    }
    sqlite3_finalize(st);
    return arr;
}

static void ms_text(sqlite3_stmt *st, int i, cJSON *o, const char *k, const char *none)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL) {
        cJSON_AddStringToObject(o, k, none);
        return;
    }
    char t[40];
    fmt_time_utc((uint64_t)sqlite3_column_int64(st, i) * 1000000u, t, sizeof t);
    cJSON_AddStringToObject(o, k, t);
}

/* Schedules and their latest missed due times. */
static void overview_schedules(sqlite3 *db, cJSON *data)
{
    cJSON *sch = cJSON_AddArrayToObject(data, "schedules");
    cJSON *miss = cJSON_AddArrayToObject(data, "misses");
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT id, cron, enabled, next_due_ms, coalesce(last_benchmark_id, ''), missed "
                           "FROM schedules ORDER BY id LIMIT 50",
                           -1, &st, NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            cJSON *o = cJSON_CreateObject();
            page_add_col(o, "id", st, 0);
            page_add_col(o, "cron", st, 1);
            cJSON_AddBoolToObject(o, "enabled", sqlite3_column_int(st, 2) != 0);
            ms_text(st, 3, o, "next_due", "never");
            page_add_col(o, "last_benchmark_id", st, 4);
            page_add_col(o, "missed", st, 5);
            cJSON_AddItemToArray(sch, o);
        }
    }
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(db,
                           "SELECT schedule_id, due_at, coalesce(benchmark_id, ''), reason "
                           "FROM schedule_misses ORDER BY id DESC LIMIT 10",
                           -1, &st, NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            cJSON *o = cJSON_CreateObject();
            static const char *const names[] = {"schedule_id", "due_at", "benchmark_id", "reason"};
            for (int i = 0; i < 4; i++) page_add_col(o, names[i], st, i);
            cJSON_AddItemToArray(miss, o);
        }
    }
    sqlite3_finalize(st);
    cJSON_AddBoolToObject(data, "has_schedules", cJSON_GetArraySize(sch) > 0);
    cJSON_AddBoolToObject(data, "has_misses", cJSON_GetArraySize(miss) > 0);
}

/* The collector's health: runs stored, file size, analysis pending, last ingest. */
static void overview_health(sqlite3 *db, cJSON *data)
{
    cJSON *h = cJSON_AddObjectToObject(data, "health");
    sqlite3_stmt *st = NULL;
    long long runs = 0;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM runs", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        runs = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    cJSON_AddNumberToObject(h, "runs", (double)runs);
    double bytes = NAN;
    if (sqlite3_prepare_v2(db, "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()", -1,
                           &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        bytes = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    page_add_fmt(h, "db_mb", "%.1f", bytes / 1e6);
    /* The analysis queue: the partial index runs_pending. */
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM runs WHERE analyzed_at IS NULL", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        cJSON_AddNumberToObject(h, "pending", (double)sqlite3_column_int64(st, 0));
    sqlite3_finalize(st);
    st = NULL;
    /* The last run ingested: the index runs_by_ingest (ingested_at sits after the
     * large `document` in the table's rows). */
    if (sqlite3_prepare_v2(db, "SELECT max(ingested_at) FROM runs", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        page_add_col(h, "last_ingest", st, 0);
    else
        cJSON_AddStringToObject(h, "last_ingest", "never");
    sqlite3_finalize(st);
}

enum MHD_Result page_index(const struct request *r)
{
    cJSON *data = cJSON_CreateObject();
    sqlite3 *db = store_reader(r->col->st);
    long long open = 0;
    cJSON *groups = overview_groups(db);
    cJSON_AddItemToObject(data, "regressions", overview_regressions(db, &open));
    overview_schedules(db, data);
    overview_health(db, data);
    store_reader_release(r->col->st, db);
    cJSON_AddBoolToObject(data, "has_runs", cJSON_GetArraySize(groups) > 0);
    cJSON_AddItemToObject(data, "groups", groups);
    cJSON_AddNumberToObject(data, "open_regressions", (double)open);
    cJSON_AddBoolToObject(data, "more_regressions", open > OVERVIEW_REGRESSIONS);
    char base[300];
    request_base_url(r, base, sizeof base);
    cJSON_AddStringToObject(data, "collector_url", base);
    cJSON_AddStringToObject(data, "title", "Overview");
    cJSON_AddBoolToObject(data, "nav_overview", 1);
    return page_render(r, 200, "index", data);
}

/* ---- run ---- */

/* The run's environment differences from its baseline, as recorded with its
 * regression verdicts (verdicts.env_diff), each field once. */
static cJSON *run_env_diff(sqlite3 *db, const char *id)
{
    cJSON *out = cJSON_CreateArray();
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT DISTINCT env_diff FROM verdicts WHERE run_id=? AND env_diff IS NOT NULL",
                           -1, &st, NULL) != SQLITE_OK)
        return out;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
        cJSON *arr = cJSON_Parse((const char *)sqlite3_column_text(st, 0)), *e;
        cJSON_ArrayForEach(e, arr) {
            const char *f = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "field"));
            const char *b = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "baseline"));
            const char *c = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "candidate"));
            if (!f || !b || !c) continue;
            int dup = 0;
            const cJSON *x;
            cJSON_ArrayForEach(x, out) dup |= !strcmp(cJSON_GetObjectItemCaseSensitive(x, "field")->valuestring, f);
            if (dup) continue;
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "field", f);
            cJSON_AddStringToObject(o, "baseline", b);
            cJSON_AddStringToObject(o, "candidate", c);
            cJSON_AddItemToArray(out, o);
        }
        cJSON_Delete(arr);
    }
    sqlite3_finalize(st);
    return out;
}

/* The previous run on the baseline branch with the same project and mode,
 * started before started_at (runs_by_branch); "" if none. */
static void baseline_run(sqlite3 *db, const char *branch, const char *project, const char *mode,
                         const char *started_at, const char *id, char *out, size_t outlen)
{
    sqlite3_stmt *st = NULL;
    out[0] = '\0';
    if (sqlite3_prepare_v2(db,
                           "SELECT id FROM runs WHERE project=?1 AND branch=?2 AND mode=?3 AND "
                           "started_at <= ?4 AND id <> ?5 ORDER BY started_at DESC LIMIT 1",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, project, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, branch, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, mode, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, started_at, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, id, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
            snprintf(out, outlen, "%s", (const char *)sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
}

/* The matrix of run id: one object per result with its verdicts and cost. */
static cJSON *run_matrix(sqlite3 *db, const char *id, const char *back)
{
    cJSON *results = cJSON_CreateArray();
    sqlite3_stmt *st = NULL, *vs = NULL, *cs = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT id, scenario, op, concurrency, pipeline, value_size, dataset_size, "
                           "ops_per_sec, p50_us, p99_us, errors, requests, series_key, status, params "
                           "FROM results WHERE run_id=? ORDER BY id",
                           -1, &st, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "SELECT id, metric, status, test, change, p_value, baseline_runs, "
                           "coalesce(triage, ''), triage_note FROM verdicts WHERE result_id=? ORDER BY id",
                           -1, &vs, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT result_id, usd_per_mop FROM cost_per_op WHERE run_id=? ORDER BY result_id",
                           -1, &cs, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(cs, 1, id, -1, SQLITE_STATIC);
    int crow = sqlite3_step(cs);
    while (sqlite3_step(st) == SQLITE_ROW) {
        long long rid = sqlite3_column_int64(st, 0);
        cJSON *o = cJSON_CreateObject();
        page_add_col(o, "result_id", st, 0);
        page_add_col(o, "scenario", st, 1);
        page_add_col(o, "op", st, 2);
        for (int i = 3; i <= 6; i++) page_add_col(o, sqlite3_column_name(st, i), st, i);
        page_add_fmt(o, "ops_per_sec", "%.0f", page_col_num(st, 7));
        page_add_fmt(o, "p50_us", "%.1f", page_col_num(st, 8));
        page_add_fmt(o, "p99_us", "%.1f", page_col_num(st, 9));
        page_add_col(o, "errors", st, 10);
        page_add_col(o, "requests", st, 11);
        page_add_col(o, "series_key", st, 12);
        page_add_col(o, "status", st, 13);
        const char *rs = (const char *)sqlite3_column_text(st, 13);
        cJSON_AddBoolToObject(o, "failed", rs && strcmp(rs, "ok") && strcmp(rs, "partial"));
        const char *params = (const char *)sqlite3_column_text(st, 14);
        if (params && strcmp(params, "{}")) cJSON_AddStringToObject(o, "params", params);
        double cost = NAN;
        while (crow == SQLITE_ROW && sqlite3_column_int64(cs, 0) < rid) crow = sqlite3_step(cs);
        if (crow == SQLITE_ROW && sqlite3_column_int64(cs, 0) == rid) cost = page_col_num(cs, 1);
        page_add_fmt(o, "cost", "$%.4f", cost);
        cJSON *va = cJSON_AddArrayToObject(o, "verdicts");
        sqlite3_reset(vs);
        sqlite3_bind_int64(vs, 1, rid);
        while (sqlite3_step(vs) == SQLITE_ROW) {
            cJSON *v = cJSON_CreateObject();
            page_add_col(v, "id", vs, 0);
            page_add_col(v, "metric", vs, 1);
            page_add_col(v, "status", vs, 2);
            page_add_col(v, "test", vs, 3);
            page_add_fmt(v, "change", "%+.1f%%", page_col_num(vs, 4) * 100);
            page_add_fmt(v, "p_value", "%.4f", page_col_num(vs, 5));
            page_add_col(v, "baseline_runs", vs, 6);
            page_add_col(v, "triage", vs, 7);
            page_add_col(v, "triage_note", vs, 8);
            const char *s = (const char *)sqlite3_column_text(vs, 2);
            const char *t = (const char *)sqlite3_column_text(vs, 7);
            int flagged = s && (!strcmp(s, "regression") || !strcmp(s, "improvement"));
            cJSON_AddBoolToObject(v, "triageable", flagged && t && !*t);
            cJSON_AddStringToObject(v, "back", back);
            cJSON_AddItemToArray(va, v);
        }
        cJSON_AddItemToArray(results, o);
    }
out:
    sqlite3_finalize(st);
    sqlite3_finalize(vs);
    sqlite3_finalize(cs);
    return results;
}

enum MHD_Result page_run(const struct request *r)
{
    sqlite3 *db = store_reader(r->col->st);
    sqlite3_stmt *st = NULL;
    cJSON *data = cJSON_CreateObject(), *run = NULL;
    char project[256] = "", branch[256] = "", mode[64] = "", started[64] = "";
    if (sqlite3_prepare_v2(db,
                           "SELECT id, project, branch, commit_sha, mode, client_region, server_region, "
                           "started_at, ended_at, target_kind, target_version, target_address, "
                           "target_preset, runner_version, runner_host, target_config "
                           "FROM runs WHERE id=?",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, r->param, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            run = cJSON_AddObjectToObject(data, "run");
            for (int i = 0; i < 15; i++) page_add_col(run, sqlite3_column_name(st, i), st, i);
            snprintf(project, sizeof project, "%s", (const char *)sqlite3_column_text(st, 1));
            snprintf(branch, sizeof branch, "%s", (const char *)sqlite3_column_text(st, 2));
            snprintf(mode, sizeof mode, "%s", (const char *)sqlite3_column_text(st, 4));
            snprintf(started, sizeof started, "%s", (const char *)sqlite3_column_text(st, 7));
            cJSON *cfg = cJSON_Parse((const char *)sqlite3_column_text(st, 15));
            cJSON *list = cJSON_AddArrayToObject(data, "config");
            const cJSON *e;
            cJSON_ArrayForEach(e, cfg) {
                if (!cJSON_IsString(e)) continue;
                cJSON *kv = cJSON_CreateObject();
                cJSON_AddStringToObject(kv, "key", e->string);
                cJSON_AddStringToObject(kv, "value", e->valuestring);
                cJSON_AddItemToArray(list, kv);
            }
            cJSON_Delete(cfg);
        }
    }
    sqlite3_finalize(st);
    if (!run) {
        store_reader_release(r->col->st, db);
        cJSON_Delete(data);
        return page_not_found(r, "run", r->param);
    }
    cJSON *state = cJSON_AddObjectToObject(data, "state");
    add_run_state(db, r->param, state);
    char back[128], base[128];
    snprintf(back, sizeof back, "/runs/%s", r->param);
    cJSON_AddItemToObject(data, "results", run_matrix(db, r->param, back));
    cJSON_AddItemToObject(data, "env_diff", run_env_diff(db, r->param));
    baseline_run(db, r->col->aopts.baseline_branch, project, mode, started, r->param, base, sizeof base);
    store_reader_release(r->col->st, db);
    if (base[0]) cJSON_AddStringToObject(data, "baseline_run", base);
    cJSON_AddStringToObject(data, "baseline_branch", r->col->aopts.baseline_branch);
    char title[96];
    snprintf(title, sizeof title, "Run %.8s", r->param);
    cJSON_AddStringToObject(data, "title", title);
    return page_render(r, 200, "run", data);
}

/* ---- triage from the pages ---- */

enum MHD_Result page_triage_post(const struct request *r)
{
    if (!page_same_origin(r))
        return page_problem(r, 403, "Refused",
                            "The triage form was not sent from this site (Origin or Referer missing "
                            "or foreign), so it was not applied.");
    char *end;
    long long id = r->param ? strtoll(r->param, &end, 10) : 0;
    if (!r->param || *end || end == r->param || id < 1) return page_not_found(r, "verdict", r->param);
    char decision[32], note[TRIAGE_NOTE_MAX + 1] = "";
    int v = form_field(r, "decision", decision, sizeof decision) == 1 ? triage_parse(decision) : -1;
    if (v < 0)
        return page_problem(r, 400, "Bad triage", "decision: want accepted, false_positive or none (clear).");
    if (form_field(r, "note", note, sizeof note) < 0)
        return page_problem(r, 400, "Bad triage", "note: at most 1000 bytes.");
    char err[RB_ERR_LEN];
    cJSON *out = NULL;
    sqlite3 *db = store_writer_lock(r->col->st);
    enum triage_rc rc = triage_apply(db, id, (enum triage_value)v, note, "dashboard", &out, err);
    store_writer_unlock(r->col->st);
    switch (rc) {
    case TRIAGE_OK: {
        char fallback[128], to[1100];
        const char *run_id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(out, "run_id"));
        snprintf(fallback, sizeof fallback, "/runs/%s", run_id ? run_id : "");
        fprintf(stderr, "redbench serve: verdict %lld triaged from the dashboard: %s\n", id, triage_name[v]);
        enum MHD_Result ret = page_redirect(r, page_back(r, "back", to, sizeof to, fallback), NULL);
        cJSON_Delete(out);
        return ret;
    }
    case TRIAGE_NOT_FOUND: return page_not_found(r, "verdict", r->param);
    case TRIAGE_NOT_FLAGGED: return page_problem(r, 409, "Nothing to triage", err);
    default:
        fprintf(stderr, "redbench serve: triage of verdict %lld failed: %s\n", id, err);
        return page_problem(r, 500, "Triage failed", err);
    }
}
