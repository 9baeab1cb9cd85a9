/* pages.c -- the dashboard's HTML pages: data gathered as cJSON, rendered by
 * templates in web/templates/ with escaping on. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "collector.h"
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
    if (isfinite(x))
        snprintf(s, sizeof s, fmt, x);
    else
        snprintf(s, sizeof s, "–");
    cJSON_AddStringToObject(o, k, s);
}

void page_add_col(cJSON *o, const char *k, sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    cJSON_AddStringToObject(o, k, t ? (const char *)t : "");
}

enum MHD_Result page_index(const struct request *r)
{
    sqlite3 *db = store_reader(r->col->st);
    cJSON *runs = runs_list_json(db, query_arg(r, "branch"), 100);
    store_reader_release(r->col->st, db);
    cJSON *item;
    cJSON_ArrayForEach(item, runs) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(item, "id");
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(item, "commit");
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(item, "status");
        char sh[16];
        snprintf(sh, sizeof sh, "%.8s", id->valuestring);
        cJSON_AddStringToObject(item, "short_id", sh);
        snprintf(sh, sizeof sh, "%.10s", c->valuestring);
        cJSON_AddStringToObject(item, "short_commit", sh);
        cJSON_AddBoolToObject(item, "is_regression", strcmp(s->valuestring, "regression") == 0);
    }
    cJSON *data = cJSON_CreateObject();
    cJSON_AddBoolToObject(data, "has_runs", cJSON_GetArraySize(runs) > 0);
    cJSON_AddItemToObject(data, "runs", runs);
    cJSON_AddStringToObject(data, "title", "Latest runs");
    return page_render(r, 200, "index", data);
}

enum MHD_Result page_run(const struct request *r)
{
    sqlite3 *db = store_reader(r->col->st);
    sqlite3_stmt *st = NULL;
    cJSON *data = cJSON_CreateObject(), *run = NULL;
    int found = 0;
    if (sqlite3_prepare_v2(db,
                           "SELECT id, project, branch, commit_sha, mode, client_region, server_region, "
                           "started_at, ended_at, target_kind, target_version, target_address, "
                           "target_preset, runner_version, runner_host, target_config "
                           "FROM runs WHERE id=?",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, r->param, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            found = 1;
            run = cJSON_AddObjectToObject(data, "run");
            for (int i = 0; i < 15; i++) page_add_col(run, sqlite3_column_name(st, i), st, i);
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
    st = NULL;
    if (!found) {
        store_reader_release(r->col->st, db);
        cJSON_AddStringToObject(data, "title", "Run not found");
        cJSON_AddStringToObject(data, "missing_id", r->param);
        return page_render(r, 404, "notfound", data);
    }
    cJSON_AddItemToObject(data, "verdict", verdict_summary(db, r->param));

    cJSON *results = cJSON_AddArrayToObject(data, "results");
    if (sqlite3_prepare_v2(db,
                           "SELECT id, op, concurrency, pipeline, value_size, dataset_size, ops_per_sec, "
                           "p50_us, p99_us, p999_us, max_us, errors, requests, series_key "
                           "FROM results WHERE run_id=? ORDER BY id",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_stmt *vs = NULL;
        sqlite3_prepare_v2(db,
                           "SELECT metric, status, change, p_value, baseline_runs FROM verdicts "
                           "WHERE result_id=? ORDER BY id",
                           -1, &vs, NULL);
        sqlite3_bind_text(st, 1, r->param, -1, SQLITE_STATIC);
        while (sqlite3_step(st) == SQLITE_ROW) {
            cJSON *o = cJSON_CreateObject();
            page_add_col(o, "op", st, 1);
            for (int i = 2; i <= 5; i++) page_add_col(o, sqlite3_column_name(st, i), st, i);
            page_add_fmt(o, "ops_per_sec", "%.0f", sqlite3_column_double(st, 6));
            page_add_fmt(o, "p50_us", "%.1f", sqlite3_column_double(st, 7));
            page_add_fmt(o, "p99_us", "%.1f", sqlite3_column_double(st, 8));
            page_add_fmt(o, "p999_us", "%.1f", sqlite3_column_double(st, 9));
            page_add_fmt(o, "max_us", "%.1f", sqlite3_column_double(st, 10));
            page_add_col(o, "errors", st, 11);
            page_add_col(o, "requests", st, 12);
            page_add_col(o, "series_key", st, 13);
            cJSON *va = cJSON_AddArrayToObject(o, "verdicts");
            if (vs) {
                sqlite3_reset(vs);
                sqlite3_bind_int64(vs, 1, sqlite3_column_int64(st, 0));
                while (sqlite3_step(vs) == SQLITE_ROW) {
                    cJSON *v = cJSON_CreateObject();
                    page_add_col(v, "metric", vs, 0);
                    page_add_col(v, "status", vs, 1);
                    const char *s = (const char *)sqlite3_column_text(vs, 1);
                    cJSON_AddBoolToObject(v, "is_regression", s && !strcmp(s, "regression"));
                    cJSON_AddBoolToObject(v, "is_improvement", s && !strcmp(s, "improvement"));
                    double ch = sqlite3_column_type(vs, 2) == SQLITE_NULL ? NAN : sqlite3_column_double(vs, 2);
                    double p = sqlite3_column_type(vs, 3) == SQLITE_NULL ? NAN : sqlite3_column_double(vs, 3);
                    page_add_fmt(v, "change", "%+.1f%%", ch * 100);
                    page_add_fmt(v, "p_value", "%.4f", p);
                    page_add_col(v, "baseline_runs", vs, 4);
                    cJSON_AddItemToArray(va, v);
                }
            }
            cJSON_AddItemToArray(results, o);
        }
        sqlite3_finalize(vs);
    }
    sqlite3_finalize(st);
    store_reader_release(r->col->st, db);
    char title[96];
    snprintf(title, sizeof title, "Run %.8s", r->param);
    cJSON_AddStringToObject(data, "title", title);
    return page_render(r, 200, "run", data);
}
