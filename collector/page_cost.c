/* page_cost.c -- GET /cost: USD per million operations by operation and machine preset
 * (the cost_per_op view, docs/cost.md) from the latest run of each preset and deployment
 * on a branch, links to each series' cost over time, the cheapest configuration reaching
 * a required throughput, and the prices in effect with their dates and sources. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collector.h"
#include "modes.h"
#include "util.h"

/* One row per result of the runs ?2 (a JSON array of run ids: the latest run of each
 * (preset, mode, client region, server region) among the latest MODES_MAX_RUNS runs of
 * the branch that have results, from modes_latest_runs) of operation ?1 if not NULL. */
static const char COST_SQL[] =
    "SELECT x.scenario, x.op, x.concurrency, x.pipeline, x.value_size, x.series_key, "
    "       u.mode, u.client_region, u.server_region, u.target_preset, u.id, u.started_at, "
    "       c.ops_per_sec, c.usd_per_mop, c.usd_per_second, c.memory_mb, c.price_effective_date, "
    "       c.egress_usd_per_mop "
    "FROM cost_per_op c JOIN results x ON x.id = c.result_id JOIN runs u ON u.id = c.run_id "
    "WHERE c.run_id IN (SELECT value FROM json_each(?2)) "
    "  AND (?1 IS NULL OR x.op = ?1) "
    "ORDER BY x.scenario, x.op, x.concurrency, x.pipeline, x.value_size, "
    "         c.usd_per_mop IS NULL, c.usd_per_mop, u.target_preset, u.mode, u.client_region";

static const char *col_str(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? (const char *)t : "";
}

/* The prices of prices_json with, per row, "state": in effect (the latest date on or
 * before today of its provider, preset, group and memory), superseded or future. Rows
 * come grouped by those keys, dates ascending. */
static void mark_prices(cJSON *rows, const char *const *keys, size_t nkeys, const char *today)
{
    int n = cJSON_GetArraySize(rows);
    for (int i = 0; i < n; i++) {
        cJSON *p = cJSON_GetArrayItem(rows, i);
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(p, "effective_date");
        const char *date = cJSON_IsString(d) ? d->valuestring : "";
        const char *state = strcmp(date, today) > 0 ? "future" : "in effect";
        if (!strcmp(state, "in effect") && i + 1 < n) {
            cJSON *q = cJSON_GetArrayItem(rows, i + 1);
            int same = 1;
            for (size_t k = 0; k < nkeys; k++)
                same &= cJSON_Compare(cJSON_GetObjectItemCaseSensitive(p, keys[k]),
                                      cJSON_GetObjectItemCaseSensitive(q, keys[k]), 1);
            const cJSON *qd = cJSON_GetObjectItemCaseSensitive(q, "effective_date");
            if (same && cJSON_IsString(qd) && strcmp(qd->valuestring, today) <= 0) state = "superseded";
        }
        cJSON_AddStringToObject(p, "state", state);
        cJSON_AddBoolToObject(p, "in_effect", !strcmp(state, "in effect"));
        const cJSON *u = cJSON_GetObjectItemCaseSensitive(p, "usd_per_second");
        if (cJSON_IsNumber(u)) {
            page_add_fmt(p, "usd_s", "%.8f", u->valuedouble);
            page_add_fmt(p, "usd_h", "$%.4f", u->valuedouble * 3600);
        }
    }
}

enum MHD_Result page_cost(const struct request *r)
{
    char project[128], branch[128], err[RB_ERR_LEN];
    cJSON *data = cJSON_CreateObject();
    cJSON_AddBoolToObject(data, "nav_cost", 1);
    cJSON_AddStringToObject(data, "title", "Cost per operation");
    const char *opf = query_arg(r, "op"), *needs = query_arg(r, "need");
    if (opf && !*opf) opf = NULL;
    cJSON_AddStringToObject(data, "op", opf ? opf : "");
    cJSON_AddStringToObject(data, "need", needs ? needs : "");
    double need = NAN;
    if (needs && *needs) {
        char *end;
        need = strtod(needs, &end);
        if (*end || !isfinite(need) || need < 0) {
            cJSON_AddStringToObject(data, "need_error", "The required throughput must be a number of ops/s, e.g. 50000.");
            need = NAN;
        }
    }

    sqlite3 *db = store_reader(r->col->st);
    page_scope(r, db, data, project, branch, sizeof project);
    cJSON *rows = cJSON_AddArrayToObject(data, "rows");
    op_choices(db, project, branch, opf, cJSON_AddArrayToObject(data, "op_names"));
    cJSON *best = NULL;
    double best_usd_s = INFINITY, best_mop = INFINITY, top_ops = -1;
    char top_preset[128] = "";
    sqlite3_stmt *st = NULL;
    int rc = SQLITE_ERROR;
    struct modes_run *latest = NULL;
    size_t nl = 0;
    char *ids = NULL;
    if (modes_latest_runs(db, project, branch, 1, 0, &latest, &nl, err) == 0) {
        cJSON *arr = cJSON_CreateArray();
        for (size_t i = 0; i < nl; i++) cJSON_AddItemToArray(arr, cJSON_CreateString(latest[i].run_id));
        ids = cJSON_PrintUnformatted(arr);
        cJSON_Delete(arr);
        modes_runs_free(latest, nl);
    }
    if (ids && sqlite3_prepare_v2(db, COST_SQL, -1, &st, NULL) == SQLITE_OK) {
        if (opf) sqlite3_bind_text(st, 1, opf, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, ids, -1, SQLITE_STATIC);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            double ops = page_col_num(st, 12), mop = page_col_num(st, 13), usd_s = page_col_num(st, 14);
            cJSON *o = cJSON_CreateObject();
            page_add_col(o, "scenario", st, 0);
            page_add_col(o, "op_name", st, 1);
            page_add_col(o, "concurrency", st, 2);
            page_add_col(o, "pipeline", st, 3);
            page_add_col(o, "value_size", st, 4);
            page_add_col(o, "series_key", st, 5);
            page_add_col(o, "mode", st, 6);
            page_add_col(o, "client_region", st, 7);
            page_add_col(o, "server_region", st, 8);
            page_add_col(o, "preset", st, 9);
            page_add_col(o, "run_id", st, 10);
            page_add_col(o, "started_at", st, 11);
            page_add_short(o, "short_run", col_str(st, 10), 8);
            page_add_fmt(o, "ops", "%.0f", ops);
            page_add_fmt(o, "cost", "$%.4f", mop);
            page_add_fmt(o, "usd_h", "$%.4f", usd_s * 3600);
            page_add_fmt(o, "memory_mb", "%.0f", page_col_num(st, 15));
            page_add_col(o, "price_date", st, 16);
            page_add_fmt(o, "egress", "$%.4f", page_col_num(st, 17));
            cJSON_AddBoolToObject(o, "priced", isfinite(mop));
            cJSON_AddItemToArray(rows, o);
            if (isfinite(need) && isfinite(ops)) {
                if (ops > top_ops) {
                    top_ops = ops;
                    snprintf(top_preset, sizeof top_preset, "%s", col_str(st, 9));
                }
                if (ops >= need && isfinite(usd_s) && isfinite(mop) &&
                    (usd_s < best_usd_s || (usd_s == best_usd_s && mop < best_mop))) {
                    best_usd_s = usd_s;
                    best_mop = mop;
                    cJSON_Delete(best);
                    best = cJSON_Duplicate(o, 1);
                }
            }
        }
    }
    if (ids && rc != SQLITE_DONE) snprintf(err, sizeof err, "%s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    cJSON_free(ids);
    cJSON *prices = rc == SQLITE_DONE ? prices_json(db, err) : NULL;
    store_reader_release(r->col->st, db);
    if (!prices) {
        cJSON_Delete(best);
        cJSON_Delete(data);
        return respond_error(r->conn, 500, "%s", err);
    }
    cJSON_AddBoolToObject(data, "has_rows", cJSON_GetArraySize(rows) > 0);
    if (isfinite(need)) {
        cJSON *ans = cJSON_AddObjectToObject(data, "answer");
        page_add_fmt(ans, "need", "%.0f", need);
        if (best) {
            cJSON_AddItemToObject(ans, "best", best);
        } else {
            cJSON_AddBoolToObject(ans, "none", 1);
            if (top_ops >= 0) {
                page_add_fmt(ans, "top_ops", "%.0f", top_ops);
                cJSON_AddStringToObject(ans, "top_preset", top_preset);
            }
        }
    }

    char today[16];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(today, sizeof today, "%Y-%m-%d", &tm);
    cJSON_AddStringToObject(data, "today", today);
    static const char *const mkeys[] = {"provider", "preset", "region_group", "memory_mb"};
    static const char *const ekeys[] = {"provider", "region_group"};
    cJSON *mp = cJSON_DetachItemFromObjectCaseSensitive(prices, "machine_prices");
    cJSON *ep = cJSON_DetachItemFromObjectCaseSensitive(prices, "egress_prices");
    cJSON_Delete(prices);
    mark_prices(mp, mkeys, 4, today);
    mark_prices(ep, ekeys, 2, today);
    cJSON_AddItemToObject(data, "machine_prices", mp);
    cJSON_AddItemToObject(data, "egress_prices", ep);
    return page_render(r, 200, "cost", data);
}
