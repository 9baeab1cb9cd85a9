/* api.c -- the collector's JSON API: ingest, list and read runs, fresh analyses. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "rules.h"
#include "thresholds.h"
#include "util.h"

enum MHD_Result api_health(const struct request *r)
{
    sqlite3 *db = store_reader(r->col->st);
    sqlite3_stmt *st;
    long long runs = -1;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM runs", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) runs = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    store_reader_release(r->col->st, db);
    if (runs < 0) return respond_error(r->conn, 503, "warehouse unavailable");
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "status", "ok");
    cJSON_AddStringToObject(j, "version", RB_VERSION);
    cJSON_AddNumberToObject(j, "runs", (double)runs);
    return respond_json(r->conn, 200, j);
}

/* The API's summary status of a stored verdict_status: "improvement" reads
 * "pass" there (docs/api.md: pass includes improvements). */
static const char *api_status(const char *verdict_status)
{
    return !verdict_status ? "pending" : strcmp(verdict_status, "improvement") == 0 ? "pass" : verdict_status;
}

cJSON *verdict_summary(sqlite3 *db, const char *run_id)
{
    cJSON *j = cJSON_CreateObject();
    long long n[V__MAX] = {0};
    char status[32] = "pending";
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT verdict_status FROM runs WHERE id=?", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
            snprintf(status, sizeof status, "%s", api_status((const char *)sqlite3_column_text(st, 0)));
        sqlite3_finalize(st);
    }
    if (strcmp(status, "pending") != 0 &&
        sqlite3_prepare_v2(db, "SELECT status, count(*) FROM verdicts WHERE run_id=? GROUP BY status",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
        while (sqlite3_step(st) == SQLITE_ROW) {
            const char *s = (const char *)sqlite3_column_text(st, 0);
            for (int i = 0; i < V__MAX; i++)
                if (s && strcmp(s, verdict_status_name[i]) == 0) n[i] = sqlite3_column_int64(st, 1);
        }
        sqlite3_finalize(st);
    }
    cJSON_AddStringToObject(j, "status", status);
    for (int i = 0; i < V__MAX; i++) cJSON_AddNumberToObject(j, verdict_status_name[i], (double)n[i]);
    return j;
}

enum store_put collector_store_run(sqlite3 *db, const struct collector *col, const rb_run *run,
                                   const char *doc, char *err)
{
    (void)col;
    return store_insert_run(db, run, doc, err);
}

/* How long POST /api/v1/runs?wait=analysis waits for the verdicts, ms. */
#define WAIT_ANALYSIS_MS 30000

enum MHD_Result api_runs_post(const struct request *r)
{
    rb_run run;
    char err[RB_ERR_LEN];
    const char *wait = query_arg(r, "wait");
    if (wait && strcmp(wait, "analysis") != 0)
        return respond_error(r->conn, 400, "wait: the only value is 'analysis'");
    /* The histograms are passed through: validated and summarized, not built. */
    if (run_decode(r->body, r->body_len, &run, RUN_DECODE_HIST_TEXT, err) < 0)
        return respond_error(r->conn, 400, "%s", err);

    /* The canonical form makes "same content" independent of whitespace and
     * key order in the upload. */
    char *doc = run_to_json(&run, 0);
    const struct collector *col = r->col;
    enum MHD_Result ret;
    cJSON *answer = NULL;
    /* Committed together with the runs that reach the writer at the same
     * time, acknowledged after that commit. */
    enum store_put put = ingest_commit(col, &run, doc, err);
    if (put == STORE_ERROR) {
        fprintf(stderr, "redbench serve: ingest of run %s failed: %s\n", run.id, err);
        ret = respond_error(r->conn, 500, "%s", err);
        goto out;
    }
    if (put == STORE_CONFLICT) {
        ret = respond_error(r->conn, 409, "run_id %s: a different run with this id is already stored", run.id);
        goto out;
    }
    unsigned status = put == STORE_CREATED ? 201 : 200;
    fprintf(stderr, "redbench serve: run %s (%zu results, branch %s): %s\n", run.id,
            run.n_results, run.branch, put == STORE_CREATED ? "stored" : "already present");

    /* The answer: the run is committed; its verdicts follow from the analysis
     * thread, or are awaited (bounded) with ?wait=analysis. */
    int analysed = wait || put == STORE_SAME ? analysis_wait(col, run.id, wait ? WAIT_ANALYSIS_MS : 0) : 0;
    answer = cJSON_CreateObject();
    cJSON_AddStringToObject(answer, "run_id", run.id);
    cJSON_AddStringToObject(answer, "status", put == STORE_CREATED ? "created" : "already_present");
    cJSON_AddNumberToObject(answer, "results", (double)run.n_results);
    cJSON_AddStringToObject(answer, "analysis", analysed ? "done" : "pending");
    if (analysed || put == STORE_SAME) {
        sqlite3 *rd = store_reader(col->st);
        cJSON_AddItemToObject(answer, "verdict", verdict_summary(rd, run.id));
        store_reader_release(col->st, rd);
    }
    char url[128];
    snprintf(url, sizeof url, "/runs/%s", run.id);
    cJSON_AddStringToObject(answer, "url", url);
    ret = respond_json(r->conn, status, answer);
out:
    free(doc);
    run_cleanup(&run);
    return ret;
}

/* Reads a bounded integer query argument. */
static long arg_long(const struct request *r, const char *name, long def, long min, long max)
{
    const char *s = query_arg(r, name);
    if (!s) return def;
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v < min) return def;
    return v > max ? max : v;
}

cJSON *runs_list_json(sqlite3 *db, const char *branch, long limit)
{
    cJSON *arr = cJSON_CreateArray();
    sqlite3_stmt *st;
    /* The summary columns of runs (migrations/0010_run_summary.sql): no
     * counting per listed run. */
    if (sqlite3_prepare_v2(db,
                           "SELECT id, project, branch, commit_sha, mode, started_at, target_kind, "
                           "target_version, n_results, n_regressions, n_improvements, n_insufficient, "
                           "verdict_status, analyzed_at "
                           "FROM runs WHERE (?1 IS NULL OR branch = ?1) "
                           "ORDER BY started_at DESC LIMIT ?2",
                           -1, &st, NULL) != SQLITE_OK)
        return arr;
    if (branch) sqlite3_bind_text(st, 1, branch, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, limit);
    while (sqlite3_step(st) == SQLITE_ROW) {
        cJSON *o = cJSON_CreateObject();
        static const char *names[] = {"id", "project", "branch", "commit", "mode", "started_at",
                                      "target_kind", "target_version"};
        for (int i = 0; i < 8; i++) {
            const unsigned char *t = sqlite3_column_text(st, i);
            cJSON_AddStringToObject(o, names[i], t ? (const char *)t : "");
        }
        const char *vs = (const char *)sqlite3_column_text(st, 12);
        cJSON_AddNumberToObject(o, "results", (double)sqlite3_column_int64(st, 8));
        cJSON_AddNumberToObject(o, "regressions", (double)sqlite3_column_int64(st, 9));
        cJSON_AddNumberToObject(o, "improvements", (double)sqlite3_column_int64(st, 10));
        cJSON_AddNumberToObject(o, "insufficient", (double)sqlite3_column_int64(st, 11));
        cJSON_AddStringToObject(o, "status", api_status(vs));
        cJSON_AddStringToObject(o, "verdict_status", vs ? vs : "pending");
        if (sqlite3_column_type(st, 13) == SQLITE_NULL)
            cJSON_AddNullToObject(o, "analyzed_at");
        else
            cJSON_AddStringToObject(o, "analyzed_at", (const char *)sqlite3_column_text(st, 13));
        cJSON_AddItemToArray(arr, o);
    }
    sqlite3_finalize(st);
    return arr;
}

enum MHD_Result api_runs_list(const struct request *r)
{
    long limit = arg_long(r, "limit", 50, 1, 1000);
    sqlite3 *db = store_reader(r->col->st);
    cJSON *arr = runs_list_json(db, query_arg(r, "branch"), limit);
    store_reader_release(r->col->st, db);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddItemToObject(j, "runs", arr);
    return respond_json(r->conn, 200, j);
}

cJSON *stored_verdicts_json(sqlite3 *db, const char *run_id)
{
    cJSON *arr = cJSON_CreateArray();
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT id, result_id, series_key, metric, status, test, p_value, change, "
                           "ci_low, ci_high, baseline_mean, candidate_mean, baseline_runs, "
                           "baseline_samples, threshold, alpha, baseline_branch, triage "
                           "FROM verdicts WHERE run_id=? ORDER BY id",
                           -1, &st, NULL) != SQLITE_OK)
        return arr;
    sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
        cJSON *o = cJSON_CreateObject();
        for (int i = 0; i < sqlite3_column_count(st); i++) {
            const char *name = sqlite3_column_name(st, i);
            switch (sqlite3_column_type(st, i)) {
            case SQLITE_NULL: cJSON_AddNullToObject(o, name); break;
            case SQLITE_INTEGER:
            case SQLITE_FLOAT: cJSON_AddNumberToObject(o, name, sqlite3_column_double(st, i)); break;
            default: cJSON_AddStringToObject(o, name, (const char *)sqlite3_column_text(st, i));
            }
        }
        cJSON_AddItemToArray(arr, o);
    }
    sqlite3_finalize(st);
    return arr;
}

enum MHD_Result api_run_get(const struct request *r)
{
    sqlite3 *db = store_reader(r->col->st);
    sqlite3_stmt *st;
    cJSON *j = NULL;
    if (sqlite3_prepare_v2(db, "SELECT document FROM runs WHERE id=?", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, r->param, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            /* The stored canonical document goes out as it is, not re-parsed. */
            j = cJSON_CreateObject();
            cJSON_AddRawToObject(j, "run", (const char *)sqlite3_column_text(st, 0));
        }
        sqlite3_finalize(st);
    }
    if (!j) {
        store_reader_release(r->col->st, db);
        return respond_error(r->conn, 404, "run %s not found", r->param);
    }
    cJSON_AddItemToObject(j, "verdict", verdict_summary(db, r->param));
    cJSON_AddItemToObject(j, "verdicts", stored_verdicts_json(db, r->param));
    store_reader_release(r->col->st, db);
    return respond_json(r->conn, 200, j);
}

enum MHD_Result api_run_analysis(const struct request *r)
{
    /* The query arguments are the ones `redbench analyze --collector` sends,
     * so the answer equals what `--db` computes on the same warehouse. */
    analyze_opts o = r->col->aopts;
    const char *b = query_arg(r, "baseline_branch");
    if (b) snprintf(o.baseline_branch, sizeof o.baseline_branch, "%s", b);
    const char *a = query_arg(r, "alpha");
    if (a) {
        char *end;
        double v = strtod(a, &end);
        if (*end || !(v > 0 && v < 1)) return respond_error(r->conn, 400, "alpha: want a number in (0, 1)");
        o.alpha = v;
        o.user_set |= ANALYZE_SET_ALPHA;
    }
    const char *t = query_arg(r, "threshold");
    if (t) {
        char *end;
        double v = strtod(t, &end);
        if (*end || !(v >= 0 && v < 100)) return respond_error(r->conn, 400, "threshold: want a relative change such as 0.1");
        analyze_opts_threshold_all(&o, v);
    }
    const char *rn = query_arg(r, "rule");
    if (rn) {
        int v = rule_find(rn);
        if (v < 0) return respond_error(r->conn, 400, "rule: unknown rule '%s'", rn);
        o.rule = v;
        o.user_set |= ANALYZE_SET_RULE;
    }
    o.max_baseline_runs = (int)arg_long(r, "max_baseline_runs", o.max_baseline_runs, 1, 1000);
    if (query_arg(r, "min_baseline_runs")) {
        o.min_baseline_runs = (int)arg_long(r, "min_baseline_runs", o.min_baseline_runs, 1, 1000);
        o.user_set |= ANALYZE_SET_MIN_RUNS;
    }
    const char *si = query_arg(r, "since");
    if (si) {
        if (!analyze_since_valid(si)) return respond_error(r->conn, 400, "since: want a date like 2026-10-01");
        snprintf(o.since, sizeof o.since, "%s", si);
    }
    o.days = (int)arg_long(r, "days", 0, 0, 100000);
    char err[RB_ERR_LEN];
    thresholds *th = NULL;
    const char *tt = query_arg(r, "thresholds");
    if (tt) {
        th = thresholds_new();
        if (thresholds_parse(th, tt, "thresholds", err) < 0) {
            thresholds_free(th);
            return respond_error(r->conn, 400, "%s", err);
        }
        o.th = th;
    }
    verdict_list vl;
    sqlite3 *db = store_reader(r->col->st);
    int rc = analyze_run(db, r->param, &o, &vl, err);
    store_reader_release(r->col->st, db);
    thresholds_free(th);
    if (rc < 0) return respond_error(r->conn, strstr(err, "not found") ? 404 : 500, "%s", err);
    cJSON *j = verdicts_to_json(&vl);
    verdict_list_cleanup(&vl);
    return respond_json(r->conn, 200, j);
}
