/* page_bench.c -- GET /benchmarks (recent orchestrated benchmarks and schedules, missed
 * ones flagged) and GET /benchmarks/{id} (one benchmark's plan, tasks and workers from
 * orch_status_json, reloading itself while it runs; docs/orchestrated.md). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "util.h"

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL;
    return cJSON_IsString(v) ? v->valuestring : "";
}

static double jnum(const cJSON *o, const char *k)
{
    const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL;
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static int64_t wall_ms(void)
{
    return (int64_t)(wall_ns() / 1000000u);
}

/* o[k] = v cut to 8 characters (13 for a merged run's "orch-" id). */
static void add_short(cJSON *o, const char *k, const char *v)
{
    page_add_short(o, k, v, v && !strncmp(v, "orch-", 5) ? 13 : 8);
}

static void add_ms_time(cJSON *o, const char *k, sqlite3_stmt *st, int i)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL) {
        cJSON_AddStringToObject(o, k, "–");
        return;
    }
    char t[40];
    fmt_time_utc((uint64_t)sqlite3_column_int64(st, i) * 1000000u, t, sizeof t);
    cJSON_AddStringToObject(o, k, t);
}

enum MHD_Result page_benchmarks(const struct request *r)
{
    cJSON *data = cJSON_CreateObject();
    cJSON_AddStringToObject(data, "title", "Orchestrated benchmarks");
    sqlite3 *db = store_reader(r->col->st);
    sqlite3_stmt *st = NULL;
    cJSON *bs = cJSON_AddArrayToObject(data, "benchmarks");
    if (sqlite3_prepare_v2(db,
                           "SELECT id, status, workers, share, created_at, coalesce(finished_at, '–'), "
                           "coalesce(run_id, ''), schedule_id, coalesce(error, '') FROM benchmarks "
                           "ORDER BY created_at DESC, id LIMIT 50",
                           -1, &st, NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            cJSON *o = cJSON_CreateObject();
            page_add_col(o, "id", st, 0);
            add_short(o, "short_id", (const char *)sqlite3_column_text(st, 0));
            page_add_col(o, "status", st, 1);
            page_add_col(o, "workers", st, 2);
            page_add_col(o, "share", st, 3);
            page_add_col(o, "created_at", st, 4);
            page_add_col(o, "finished_at", st, 5);
            page_add_col(o, "run_id", st, 6);
            add_short(o, "short_run", (const char *)sqlite3_column_text(st, 6));
            if (sqlite3_column_type(st, 7) == SQLITE_NULL) cJSON_AddStringToObject(o, "schedule_id", "–");
            else page_add_col(o, "schedule_id", st, 7);
            page_add_col(o, "error", st, 8);
            cJSON_AddItemToArray(bs, o);
        }
    }
    sqlite3_finalize(st);
    st = NULL;
    cJSON *ss = cJSON_AddArrayToObject(data, "schedules");
    if (sqlite3_prepare_v2(db,
                           "SELECT s.id, s.cron, s.enabled, s.next_due_ms, coalesce(s.last_benchmark_id, ''), "
                           "coalesce(b.status, ''), s.missed, "
                           "(SELECT m.due_at || ': ' || m.reason FROM schedule_misses m "
                           " WHERE m.schedule_id = s.id ORDER BY m.id DESC LIMIT 1) "
                           "FROM schedules s LEFT JOIN benchmarks b ON b.id = s.last_benchmark_id ORDER BY s.id",
                           -1, &st, NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            cJSON *o = cJSON_CreateObject();
            page_add_col(o, "id", st, 0);
            page_add_col(o, "cron", st, 1);
            cJSON_AddBoolToObject(o, "enabled", sqlite3_column_int(st, 2));
            add_ms_time(o, "next_due", st, 3);
            page_add_col(o, "last_benchmark_id", st, 4);
            add_short(o, "short_last", (const char *)sqlite3_column_text(st, 4));
            page_add_col(o, "last_status", st, 5);
            int missed = sqlite3_column_int(st, 6);
            cJSON_AddNumberToObject(o, "missed", missed);
            cJSON_AddBoolToObject(o, "has_missed", missed > 0);
            page_add_col(o, "last_miss", st, 7);
            cJSON_AddItemToArray(ss, o);
        }
    }
    sqlite3_finalize(st);
    store_reader_release(r->col->st, db);
    cJSON_AddBoolToObject(data, "has_benchmarks", cJSON_GetArraySize(bs) > 0);
    cJSON_AddBoolToObject(data, "has_schedules", cJSON_GetArraySize(ss) > 0);
    cJSON_AddBoolToObject(data, "nav_benchmarks", 1);
    return page_render(r, 200, "benchmarks", data);
}

/* The plan as a list of {key, value} with arrays and objects as compact JSON text. */
static cJSON *plan_rows(const cJSON *plan)
{
    cJSON *arr = cJSON_CreateArray();
    const cJSON *e;
    cJSON_ArrayForEach(e, plan) {
        cJSON *kv = cJSON_CreateObject();
        cJSON_AddStringToObject(kv, "key", e->string ? e->string : "");
        if (cJSON_IsString(e)) {
            cJSON_AddStringToObject(kv, "value", e->valuestring);
        } else {
            char *t = cJSON_PrintUnformatted(e);
            cJSON_AddStringToObject(kv, "value", t ? t : "");
            free(t);
        }
        cJSON_AddItemToArray(arr, kv);
    }
    return arr;
}

enum MHD_Result page_benchmark(const struct request *r)
{
    sqlite3 *db = store_reader(r->col->st);
    cJSON *b = orch_status_json(db, r->param, wall_ms());
    store_reader_release(r->col->st, db);
    if (!b) return page_not_found(r, "benchmark", r->param);
    cJSON *data = cJSON_CreateObject();
    char title[96];
    snprintf(title, sizeof title, "Benchmark %.8s", r->param);
    cJSON_AddStringToObject(data, "title", title);
    const char *status = jstr(b, "status");
    int live = !strcmp(status, "queued") || !strcmp(status, "running");
    cJSON_AddBoolToObject(data, "live", live);

    cJSON *s = cJSON_AddObjectToObject(data, "bench");
    static const char *const keys[] = {"id", "status", "share", "created_at", "started_at",
                                       "finished_at", "run_id", "error"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const char *v = jstr(b, keys[i]);
        int dash = !*v && strcmp(keys[i], "run_id") && strcmp(keys[i], "error");
        cJSON_AddStringToObject(s, keys[i], dash ? "–" : v);
    }
    page_add_fmt(s, "worker_count", "%.0f", jnum(b, "worker_count"));
    page_add_fmt(s, "schedule_id", "%.0f", jnum(b, "schedule_id"));
    char t[40] = "–";
    double start = jnum(b, "start_at_ms");
    if (isfinite(start) && start > 0) fmt_time_utc((uint64_t)start * 1000000u, t, sizeof t);
    cJSON_AddStringToObject(s, "start_at", t);
    cJSON_AddItemToObject(data, "plan", plan_rows(cJSON_GetObjectItemCaseSensitive(b, "plan")));

    cJSON *tasks = cJSON_AddArrayToObject(data, "tasks");
    const cJSON *e;
    int done = 0, n = 0;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(b, "tasks")) {
        cJSON *o = cJSON_CreateObject();
        page_add_fmt(o, "index", "%.0f", jnum(e, "index"));
        cJSON_AddStringToObject(o, "status", jstr(e, "status"));
        page_add_fmt(o, "attempts", "%.0f", jnum(e, "attempts"));
        const char *w = jstr(e, "worker");
        cJSON_AddStringToObject(o, "worker", *w ? w : "–");
        page_add_fmt(o, "heartbeat_age", "%.1f s", jnum(e, "heartbeat_age_s"));
        page_add_fmt(o, "lease_expires", "%.1f s", jnum(e, "lease_expires_in_s"));
        const char *f = jstr(e, "finished_at"), *er = jstr(e, "error");
        cJSON_AddStringToObject(o, "finished_at", *f ? f : "–");
        cJSON_AddStringToObject(o, "error", er);
        done += !strcmp(jstr(e, "status"), "done");
        n++;
        cJSON_AddItemToArray(tasks, o);
    }
    char prog[64];
    snprintf(prog, sizeof prog, "%d of %d", done, n);
    cJSON_AddStringToObject(data, "progress", prog);
    cJSON *workers = cJSON_AddArrayToObject(data, "workers");
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(b, "workers")) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", jstr(e, "name"));
        page_add_fmt(o, "last_seen_age", "%.1f s", jnum(e, "last_seen_age_s"));
        page_add_fmt(o, "tasks_done", "%.0f", jnum(e, "tasks_done"));
        cJSON_AddItemToArray(workers, o);
    }
    cJSON_AddBoolToObject(data, "has_workers", cJSON_GetArraySize(workers) > 0);
    cJSON_Delete(b);
    cJSON_AddBoolToObject(data, "nav_benchmarks", 1);
    return page_render(r, 200, "benchmark", data);
}
