/* schedule.c -- cron schedules that create orchestrated benchmarks: the
 * /api/v1/schedules endpoints and the collector's scheduler thread, which
 * also lets lapsed task leases go (docs/orchestrated.md). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collector.h"
#include "cron.h"
#include "util.h"

#define SCHED_TICK_MS 1000
#define DUE_BATCH 16          /* due schedules handled per tick */

/* The scheduler's one state: its thread and how it is told to stop. */
static struct {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int running, stop;
    struct collector *col;
    long test_seconds;          /* REDBENCH_SCHED_TEST_SECONDS: due every N s instead of by cron */
} sched = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static long test_seconds(void)
{
    const char *s = getenv("REDBENCH_SCHED_TEST_SECONDS");
    long v = s ? strtol(s, NULL, 10) : 0;
    return v > 0 && v <= 3600 ? v : 0;
}

/* The next due time (Unix ms) of expr after now_ms; -1 if never. */
static int64_t next_due(const cron_expr *e, int64_t now_ms)
{
    long ts = test_seconds();
    if (ts) return now_ms + ts * 1000;
    int64_t t = cron_next(e, now_ms / 1000);
    return t < 0 ? -1 : t * 1000;
}

static void ms_rfc(int64_t ms, char *out, size_t len)
{
    fmt_time_utc((uint64_t)ms * 1000000u, out, len);
}

/* ---- handlers ---- */

enum MHD_Result api_schedules_post(const struct request *r)
{
    char err[RB_ERR_LEN];
    cJSON *body = cJSON_ParseWithLength(r->body, r->body_len);
    if (!cJSON_IsObject(body)) {
        cJSON_Delete(body);
        return respond_error(r->conn, 400, "body: want a JSON object {cron, plan, enabled}");
    }
    const cJSON *cj = cJSON_GetObjectItemCaseSensitive(body, "cron");
    const cJSON *en = cJSON_GetObjectItemCaseSensitive(body, "enabled");
    cron_expr e;
    cJSON *plan = NULL;
    unsigned status = 400;
    if (!cJSON_IsString(cj)) {
        rb_err(err, "cron: required string, e.g. \"*/5 * * * *\"");
        goto bad;
    }
    if (cron_parse(cj->valuestring, &e, err) < 0) goto bad;
    if (en && !cJSON_IsBool(en)) {
        rb_err(err, "enabled: want true or false");
        goto bad;
    }
    int enabled = !en || cJSON_IsTrue(en);
    if (!(plan = orch_plan_normalize(cJSON_GetObjectItemCaseSensitive(body, "plan"), err))) goto bad;
    int64_t now = (int64_t)(wall_ns() / 1000000), due = next_due(&e, now);
    char created[40];
    fmt_time_utc(wall_ns(), created, sizeof created);
    char *text = cJSON_PrintUnformatted(plan);
    long long id = -1;
    sqlite3 *db = store_writer_lock(r->col->st);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO schedules (cron, plan, enabled, created_at, next_due_ms) "
                           "VALUES (?, ?, ?, ?, ?)",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, cj->valuestring, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 3, enabled);
        sqlite3_bind_text(st, 4, created, -1, SQLITE_STATIC);
        if (enabled && due >= 0) sqlite3_bind_int64(st, 5, due);
        if (sqlite3_step(st) == SQLITE_DONE) id = sqlite3_last_insert_rowid(db);
        sqlite3_finalize(st);
    }
    if (id < 0) rb_err(err, "insert schedule: %s", sqlite3_errmsg(db));
    store_writer_unlock(r->col->st);
    cJSON_free(text);
    cJSON_Delete(plan);
    plan = NULL;
    if (id < 0) {
        status = 500;
        goto bad;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "id", (double)id);
    cJSON_AddStringToObject(j, "cron", cj->valuestring);
    cJSON_AddBoolToObject(j, "enabled", enabled);
    if (enabled && due >= 0) {
        char d[40];
        ms_rfc(due, d, sizeof d);
        cJSON_AddStringToObject(j, "next_due", d);
    } else {
        cJSON_AddNullToObject(j, "next_due");
    }
    cJSON_Delete(body);
    fprintf(stderr, "redbench serve: schedule %lld added (%s)\n", id, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "cron")));
    return respond_json(r->conn, 201, j);
bad:
    cJSON_Delete(plan);
    cJSON_Delete(body);
    return respond_error(r->conn, status, "%s", err);
}

enum MHD_Result api_schedules_list(const struct request *r)
{
    sqlite3 *db = store_reader(r->col->st);
    cJSON *arr = cJSON_CreateArray();
    sqlite3_stmt *st, *ms = NULL;
    sqlite3_prepare_v2(db,
                       "SELECT due_at, benchmark_id, reason FROM schedule_misses WHERE schedule_id=? "
                       "ORDER BY id DESC LIMIT " "20",
                       -1, &ms, NULL);
    if (sqlite3_prepare_v2(db,
                           "SELECT s.id, s.cron, s.plan, s.enabled, s.created_at, s.next_due_ms, "
                           "s.last_benchmark_id, b.status, s.missed FROM schedules s "
                           "LEFT JOIN benchmarks b ON b.id = s.last_benchmark_id ORDER BY s.id",
                           -1, &st, NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddNumberToObject(o, "id", (double)sqlite3_column_int64(st, 0));
            cJSON_AddStringToObject(o, "cron", (const char *)sqlite3_column_text(st, 1));
            cJSON *plan = cJSON_Parse((const char *)sqlite3_column_text(st, 2));
            cJSON_AddItemToObject(o, "plan", plan ? plan : cJSON_CreateNull());
            cJSON_AddBoolToObject(o, "enabled", sqlite3_column_int(st, 3));
            cJSON_AddStringToObject(o, "created_at", (const char *)sqlite3_column_text(st, 4));
            if (sqlite3_column_type(st, 5) == SQLITE_NULL) {
                cJSON_AddNullToObject(o, "next_due");
            } else {
                char d[40];
                ms_rfc(sqlite3_column_int64(st, 5), d, sizeof d);
                cJSON_AddStringToObject(o, "next_due", d);
            }
            for (int i = 6; i <= 7; i++) {
                const char *name = i == 6 ? "last_benchmark_id" : "last_benchmark_status";
                if (sqlite3_column_type(st, i) == SQLITE_NULL) cJSON_AddNullToObject(o, name);
                else cJSON_AddStringToObject(o, name, (const char *)sqlite3_column_text(st, i));
            }
            cJSON_AddNumberToObject(o, "missed", sqlite3_column_int(st, 8));
            cJSON *misses = cJSON_AddArrayToObject(o, "misses");
            if (ms) {
                sqlite3_reset(ms);
                sqlite3_bind_int64(ms, 1, sqlite3_column_int64(st, 0));
                while (sqlite3_step(ms) == SQLITE_ROW) {
                    cJSON *m = cJSON_CreateObject();
                    cJSON_AddStringToObject(m, "due_at", (const char *)sqlite3_column_text(ms, 0));
                    if (sqlite3_column_type(ms, 1) == SQLITE_NULL) cJSON_AddNullToObject(m, "benchmark_id");
                    else cJSON_AddStringToObject(m, "benchmark_id", (const char *)sqlite3_column_text(ms, 1));
                    cJSON_AddStringToObject(m, "reason", (const char *)sqlite3_column_text(ms, 2));
                    cJSON_AddItemToArray(misses, m);
                }
            }
            cJSON_AddItemToArray(arr, o);
        }
        sqlite3_finalize(st);
    }
    sqlite3_finalize(ms);
    store_reader_release(r->col->st, db);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddItemToObject(j, "schedules", arr);
    return respond_json(r->conn, 200, j);
}

enum MHD_Result api_schedule_delete(const struct request *r)
{
    char *end;
    long long id = strtoll(r->param ? r->param : "", &end, 10);
    if (*end || id < 1) return respond_error(r->conn, 404, "no such schedule: %s", r->param);
    int n = -1;
    sqlite3 *db = store_writer_lock(r->col->st);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "DELETE FROM schedules WHERE id=?", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, id);
        if (sqlite3_step(st) == SQLITE_DONE) n = sqlite3_changes(db);
        sqlite3_finalize(st);
    }
    char err[RB_ERR_LEN];
    snprintf(err, sizeof err, "%s", sqlite3_errmsg(db));
    store_writer_unlock(r->col->st);
    if (n < 0) return respond_error(r->conn, 500, "delete schedule: %s", err);
    if (n == 0) return respond_error(r->conn, 404, "no such schedule: %lld", id);
    fprintf(stderr, "redbench serve: schedule %lld deleted\n", id);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "id", (double)id);
    cJSON_AddStringToObject(j, "status", "deleted");
    return respond_json(r->conn, 200, j);
}

/* ---- the scheduler thread ---- */

/* One due schedule: records a miss when its previous benchmark has not
 * completed, creates the next benchmark unless the previous one is still
 * queued or running, and moves next_due on. In the caller's transaction. */
static int fire(sqlite3 *db, long long id, const char *cron, const char *plan_text,
                const char *last, int64_t due, int64_t now, char *err)
{
    char last_status[16] = "";
    sqlite3_stmt *st;
    if (last && last[0]) {
        if (sqlite3_prepare_v2(db, "SELECT status FROM benchmarks WHERE id=?", -1, &st, NULL) != SQLITE_OK)
            return rb_err(err, "%s", sqlite3_errmsg(db));
        sqlite3_bind_text(st, 1, last, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) snprintf(last_status, sizeof last_status, "%s", sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
    }
    char due_at[40];
    ms_rfc(due, due_at, sizeof due_at);
    int missed = last_status[0] && strcmp(last_status, "complete") != 0;
    if (missed) {
        char reason[RB_ERR_LEN];
        snprintf(reason, sizeof reason, "previous benchmark %s was %s at the next due time", last, last_status);
        if (sqlite3_prepare_v2(db, "INSERT INTO schedule_misses (schedule_id, due_at, benchmark_id, reason) "
                                   "VALUES (?, ?, ?, ?)", -1, &st, NULL) != SQLITE_OK)
            return rb_err(err, "%s", sqlite3_errmsg(db));
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_text(st, 2, due_at, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, last, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, reason, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE) return rb_err(err, "%s", sqlite3_errmsg(db));
        fprintf(stderr, "redbench serve: schedule %lld missed: %s\n", id, reason);
    }
    char bid[40] = "";
    /* Still queued or running: do not pile another benchmark on top. */
    int busy = !strcmp(last_status, "queued") || !strcmp(last_status, "running");
    if (!busy) {
        cJSON *plan = cJSON_Parse(plan_text);
        int rc = plan ? orch_create(db, plan, id, bid, err) : rb_err(err, "schedule %lld: bad plan", id);
        cJSON_Delete(plan);
        if (rc < 0) return -1;
        fprintf(stderr, "redbench serve: schedule %lld due: benchmark %s queued\n", id, bid);
    }
    cron_expr e;
    int64_t next = cron_parse(cron, &e, NULL) == 0 ? next_due(&e, now) : -1;
    if (sqlite3_prepare_v2(db, "UPDATE schedules SET next_due_ms=?1, missed=missed+?2, "
                               "last_benchmark_id=coalesce(?3, last_benchmark_id) WHERE id=?4",
                           -1, &st, NULL) != SQLITE_OK)
        return rb_err(err, "%s", sqlite3_errmsg(db));
    if (next >= 0) sqlite3_bind_int64(st, 1, next);
    sqlite3_bind_int(st, 2, missed);
    if (bid[0]) sqlite3_bind_text(st, 3, bid, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, id);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : rb_err(err, "%s", sqlite3_errmsg(db));
}

/* One tick: lapsed leases, then due schedules, in one transaction. */
static void tick(struct collector *col)
{
    char err[RB_ERR_LEN];
    int64_t now = (int64_t)(wall_ns() / 1000000);
    sqlite3 *db = store_writer_lock(col->st);
    if (store_exec(db, "BEGIN IMMEDIATE", err) < 0) goto out;
    if (orch_expire(db, now, err) < 0) goto rollback;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT id, cron, plan, last_benchmark_id, next_due_ms FROM schedules "
                           "WHERE enabled=1 AND next_due_ms IS NOT NULL AND next_due_ms <= ? "
                           "ORDER BY next_due_ms LIMIT " "16",
                           -1, &st, NULL) != SQLITE_OK) {
        rb_err(err, "%s", sqlite3_errmsg(db));
        goto rollback;
    }
    sqlite3_bind_int64(st, 1, now);
    struct due { long long id; char *cron, *plan, *last; int64_t due; } d[DUE_BATCH];
    int n = 0;
    while (n < DUE_BATCH && sqlite3_step(st) == SQLITE_ROW) {
        d[n].id = sqlite3_column_int64(st, 0);
        d[n].cron = store_col_text(st, 1);
        d[n].plan = store_col_text(st, 2);
        d[n].last = store_col_text(st, 3);
        d[n].due = sqlite3_column_int64(st, 4);
        n++;
    }
    sqlite3_finalize(st);
    int rc = 0;
    for (int i = 0; i < n; i++) {
        if (rc == 0) rc = fire(db, d[i].id, d[i].cron, d[i].plan, d[i].last, d[i].due, now, err);
        free(d[i].cron);
        free(d[i].plan);
        free(d[i].last);
    }
    if (rc < 0 || store_exec(db, "COMMIT", err) < 0) goto rollback;
    goto out;
rollback:
    store_exec(db, "ROLLBACK", NULL);
    fprintf(stderr, "redbench serve: scheduler: %s\n", err);
out:
    store_writer_unlock(col->st);
}

static void *sched_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&sched.mu);
    while (!sched.stop) {
        pthread_mutex_unlock(&sched.mu);
        tick(sched.col);
        pthread_mutex_lock(&sched.mu);
        if (sched.stop) break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += SCHED_TICK_MS / 1000;
        /* A spurious or early wake-up only makes the next tick come sooner. */
        pthread_cond_timedwait(&sched.cv, &sched.mu, &ts);
    }
    pthread_mutex_unlock(&sched.mu);
    return NULL;
}

int sched_start(struct collector *col)
{
    sched.col = col;
    sched.stop = 0;
    sched.test_seconds = test_seconds();
    if (sched.test_seconds)
        fprintf(stderr, "redbench serve: REDBENCH_SCHED_TEST_SECONDS=%ld: schedules are due every %ld s (test only)\n",
                sched.test_seconds, sched.test_seconds);
    int rc = pthread_create(&sched.thread, NULL, sched_main, NULL);
    if (rc) {
        fprintf(stderr, "redbench serve: scheduler thread: %s\n", strerror(rc));
        return -1;
    }
    sched.running = 1;
    return 0;
}

void sched_stop(void)
{
    if (!sched.running) return;
    pthread_mutex_lock(&sched.mu);
    sched.stop = 1;
    pthread_cond_signal(&sched.cv);
    pthread_mutex_unlock(&sched.mu);
    pthread_join(sched.thread, NULL);
    sched.running = 0;
}
