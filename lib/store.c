/* store.c -- SQLite warehouse: migrations, writer/readers, run ingestion. */
#include "store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define STORE_READERS 4
#define STORE_BUSY_MS 5000

struct store {
    sqlite3 *writer;
    pthread_mutex_t wlock;
    sqlite3 *readers[STORE_READERS];
    int reader_busy[STORE_READERS];
    pthread_mutex_t rlock;
    pthread_cond_t rfree;
    _Atomic uint64_t generation;    /* writer sessions ended: see store_generation */
};

int store_exec(sqlite3 *db, const char *sql, char *err)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        rb_err(err, "sqlite: %s", msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

char *store_col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return xstrdup(t ? (const char *)t : "");
}

static sqlite3 *open_conn(const char *path, int flags, char *err)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        rb_err(err, "open %s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, STORE_BUSY_MS);
    sqlite3_extended_result_codes(db, 1);
    if (store_exec(db, "PRAGMA foreign_keys=ON; PRAGMA trusted_schema=OFF;", err) < 0) {
        sqlite3_close(db);
        return NULL;
    }
    return db;
}

static int migrate(sqlite3 *db, char *err)
{
    if (store_exec(db,
                   "CREATE TABLE IF NOT EXISTS schema_migrations ("
                   "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
                   err) < 0)
        return -1;
    for (const struct store_migration *m = store_migrations; m->version; m++) {
        sqlite3_stmt *st;
        int done = 0;
        if (sqlite3_prepare_v2(db, "SELECT 1 FROM schema_migrations WHERE version=?", -1, &st,
                               NULL) != SQLITE_OK)
            return rb_err(err, "sqlite: %s", sqlite3_errmsg(db));
        sqlite3_bind_int(st, 1, m->version);
        done = sqlite3_step(st) == SQLITE_ROW;
        sqlite3_finalize(st);
        if (done) continue;

        if (store_exec(db, "BEGIN IMMEDIATE", err) < 0) return -1;
        char merr[RB_ERR_LEN];
        if (store_exec(db, m->sql, merr) < 0) {
            store_exec(db, "ROLLBACK", NULL);
            return rb_err(err, "migration %04d_%s: %s", m->version, m->name, merr);
        }
        if (sqlite3_prepare_v2(db,
                               "INSERT INTO schema_migrations(version, name, applied_at) "
                               "VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%fZ','now'))",
                               -1, &st, NULL) != SQLITE_OK) {
            store_exec(db, "ROLLBACK", NULL);
            return rb_err(err, "sqlite: %s", sqlite3_errmsg(db));
        }
        sqlite3_bind_int(st, 1, m->version);
        sqlite3_bind_text(st, 2, m->name, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE) {
            store_exec(db, "ROLLBACK", NULL);
            return rb_err(err, "sqlite: %s", sqlite3_errmsg(db));
        }
        if (store_exec(db, "COMMIT", err) < 0) return -1;
    }
    return 0;
}

store *store_open(const char *path, char *err)
{
    sqlite3 *w = open_conn(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, err);
    if (!w) return NULL;

    /* journal_mode returns the mode in effect: WAL can be refused (e.g. some
     * network filesystems), and we rely on it for concurrent readers. */
    sqlite3_stmt *st;
    char mode[16] = "";
    if (sqlite3_prepare_v2(w, "PRAGMA journal_mode=WAL", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            snprintf(mode, sizeof mode, "%s", (const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
    }
    if (strcmp(mode, "wal") != 0) {
        rb_err(err, "%s: could not enable WAL mode (journal_mode is '%s')", path, mode);
        sqlite3_close(w);
        return NULL;
    }
    if (store_exec(w, "PRAGMA synchronous=FULL;", err) < 0 || migrate(w, err) < 0) {
        sqlite3_close(w);
        return NULL;
    }

    store *s = xcalloc(1, sizeof *s);
    s->writer = w;
    pthread_mutex_init(&s->wlock, NULL);
    pthread_mutex_init(&s->rlock, NULL);
    pthread_cond_init(&s->rfree, NULL);
    for (int i = 0; i < STORE_READERS; i++) {
        s->readers[i] = open_conn(path, SQLITE_OPEN_READONLY, err);
        if (!s->readers[i]) {
            store_close(s);
            return NULL;
        }
    }
    return s;
}

void store_close(store *s)
{
    if (!s) return;
    for (int i = 0; i < STORE_READERS; i++) sqlite3_close(s->readers[i]);
    sqlite3_close(s->writer);
    pthread_mutex_destroy(&s->wlock);
    pthread_mutex_destroy(&s->rlock);
    pthread_cond_destroy(&s->rfree);
    free(s);
}

sqlite3 *store_writer_lock(store *s)
{
    pthread_mutex_lock(&s->wlock);
    return s->writer;
}

void store_writer_unlock(store *s)
{
    s->generation++;
    pthread_mutex_unlock(&s->wlock);
}

uint64_t store_generation(store *s)
{
    return s->generation;
}

sqlite3 *store_reader(store *s)
{
    pthread_mutex_lock(&s->rlock);
    for (;;) {
        for (int i = 0; i < STORE_READERS; i++) {
            if (!s->reader_busy[i]) {
                s->reader_busy[i] = 1;
                pthread_mutex_unlock(&s->rlock);
                return s->readers[i];
            }
        }
        pthread_cond_wait(&s->rfree, &s->rlock);
    }
}

void store_reader_release(store *s, sqlite3 *db)
{
    pthread_mutex_lock(&s->rlock);
    for (int i = 0; i < STORE_READERS; i++)
        if (s->readers[i] == db) s->reader_busy[i] = 0;
    pthread_cond_signal(&s->rfree);
    pthread_mutex_unlock(&s->rlock);
}

sqlite3 *store_open_readonly(const char *path, char *err)
{
    return open_conn(path, SQLITE_OPEN_READONLY, err);
}

static int step_done(sqlite3 *db, sqlite3_stmt *st, char *err)
{
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE) return rb_err(err, "sqlite: %s", sqlite3_errmsg(db));
    return 0;
}

enum store_put store_insert_run(sqlite3 *db, const rb_run *run, const char *document, char *err)
{
    sqlite3_stmt *st = NULL, *rs = NULL, *ss = NULL, *ms = NULL;
    enum store_put ret = STORE_ERROR;
    char *cfg = NULL, *cmds = NULL;

    if (sqlite3_prepare_v2(db, "SELECT document FROM runs WHERE id=?", -1, &st, NULL) != SQLITE_OK)
        goto sqlerr;
    sqlite3_bind_text(st, 1, run->id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *old = (const char *)sqlite3_column_text(st, 0);
        ret = old && strcmp(old, document) == 0 ? STORE_SAME : STORE_CONFLICT;
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;

    cfg = kv_json(run->config, run->n_config, 0);
    cmds = kv_json(run->commands, run->n_commands, 1);
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO runs(id, project, branch, commit_sha, mode, client_region, "
                           "server_region, started_at, ended_at, target_kind, target_version, "
                           "target_address, target_preset, target_config, runner_version, runner_host, "
                           "commands, document, status, n_results, ingested_at) "
                           "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,"
                           "strftime('%Y-%m-%dT%H:%M:%fZ','now'))",
                           -1, &st, NULL) != SQLITE_OK)
        goto sqlerr;
    const char *cols[] = {run->id, run->project, run->branch, run->commit, run->mode,
                          run->client_region, run->server_region, run->started_at, run->ended_at,
                          run->target_kind, run->target_version, run->target_address,
                          run->target_preset, cfg, run->runner_version, run->runner_host, cmds,
                          document, run->status[0] ? run->status : "complete"};
    for (int i = 0; i < (int)(sizeof cols / sizeof cols[0]); i++)
        sqlite3_bind_text(st, i + 1, cols[i], -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, (int)(sizeof cols / sizeof cols[0]) + 1, (sqlite3_int64)run->n_results);
    if (step_done(db, st, err) < 0) goto out;

    /* The column list follows the server metric table, so adding a metric
     * there (and its column in a migration) needs no change here. */
    buf sqlb;
    buf_init(&sqlb, 4096);
    buf_puts(&sqlb, "INSERT INTO results(run_id, series_key, scenario, op, data_type, concurrency, "
                    "pipeline, value_size, dataset_size, requests, errors, ops_per_sec, p50_us, "
                    "p90_us, p95_us, p99_us, p999_us, max_us, mean_us, latency_hist, status, error, "
                    "params");
    for (int m = 0; m < SRV__MAX; m++) buf_printf(&sqlb, ", server_%s", srv_metric_info[m].name);
    buf_puts(&sqlb, ") VALUES (?");
    for (int i = 1; i < 23 + SRV__MAX; i++) buf_puts(&sqlb, ",?");
    buf_puts(&sqlb, ")");
    int prc = sqlite3_prepare_v2(db, sqlb.data, -1, &rs, NULL);
    buf_cleanup(&sqlb);
    if (prc != SQLITE_OK) goto sqlerr;
    if (sqlite3_prepare_v2(db, "INSERT INTO result_metrics(result_id, name, value) VALUES (?,?,?)",
                           -1, &ms, NULL) != SQLITE_OK)
        goto sqlerr;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO samples(result_id, iteration, ops_per_sec, requests, errors, "
                           "seconds, p50_us, p99_us) VALUES (?,?,?,?,?,?,?,?)",
                           -1, &ss, NULL) != SQLITE_OK)
        goto sqlerr;

    for (size_t i = 0; i < run->n_results; i++) {
        const rb_result *res = &run->results[i];
        char key[RB_SERIES_KEY_LEN];
        result_series_key(run, res, key, sizeof key);
        /* A passed-through histogram is stored as decoded (encoded once, by the runner). */
        char *h = res->latency_text ? NULL : res->latency ? hist_encode(res->latency) : xstrdup("");
        sqlite3_reset(rs);
        sqlite3_clear_bindings(rs);
        int c = 1;
        sqlite3_bind_text(rs, c++, run->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(rs, c++, key, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(rs, c++, res->scenario, -1, SQLITE_STATIC);
        sqlite3_bind_text(rs, c++, res->op, -1, SQLITE_STATIC);
        sqlite3_bind_text(rs, c++, res->data_type, -1, SQLITE_STATIC);
        sqlite3_bind_int64(rs, c++, res->concurrency);
        sqlite3_bind_int64(rs, c++, res->pipeline);
        sqlite3_bind_int64(rs, c++, res->value_size);
        sqlite3_bind_int64(rs, c++, res->dataset_size);
        sqlite3_bind_int64(rs, c++, (sqlite3_int64)res->requests);
        sqlite3_bind_int64(rs, c++, (sqlite3_int64)res->errors);
        const double nums[] = {res->ops_per_sec, res->p50_us, res->p90_us, res->p95_us,
                               res->p99_us, res->p999_us, res->max_us, res->mean_us};
        for (size_t k = 0; k < sizeof nums / sizeof nums[0]; k++)
            sqlite3_bind_double(rs, c++, nums[k]);
        if (h)
            sqlite3_bind_text(rs, c++, h, -1, free);
        else
            sqlite3_bind_text(rs, c++, res->latency_text, -1, SQLITE_STATIC);
        sqlite3_bind_text(rs, c++, res->status[0] ? res->status : "ok", -1, SQLITE_STATIC);
        sqlite3_bind_text(rs, c++, res->error, -1, SQLITE_STATIC);
        sqlite3_bind_text(rs, c++, kv_json(res->params, res->n_params, 0), -1, free);
        for (int m = 0; m < SRV__MAX; m++, c++) {
            if (res->server.present)
                sqlite3_bind_double(rs, c, res->server.v[m]);
            else
                sqlite3_bind_null(rs, c);
        }
        if (step_done(db, rs, err) < 0) goto out;
        sqlite3_int64 rid = sqlite3_last_insert_rowid(db);
        for (size_t k = 0; k < res->n_metrics; k++) {
            sqlite3_reset(ms);
            sqlite3_bind_int64(ms, 1, rid);
            sqlite3_bind_text(ms, 2, res->metrics[k].name, -1, SQLITE_STATIC);
            sqlite3_bind_double(ms, 3, res->metrics[k].value);
            if (step_done(db, ms, err) < 0) goto out;
        }
        for (size_t k = 0; k < res->n_samples; k++) {
            const rb_sample *sm = &res->samples[k];
            sqlite3_reset(ss);
            sqlite3_bind_int64(ss, 1, rid);
            sqlite3_bind_int64(ss, 2, (sqlite3_int64)k);
            sqlite3_bind_double(ss, 3, sm->ops_per_sec);
            sqlite3_bind_int64(ss, 4, (sqlite3_int64)sm->requests);
            sqlite3_bind_int64(ss, 5, (sqlite3_int64)sm->errors);
            sqlite3_bind_double(ss, 6, sm->seconds);
            sqlite3_bind_double(ss, 7, sm->p50_us);
            sqlite3_bind_double(ss, 8, sm->p99_us);
            if (step_done(db, ss, err) < 0) goto out;
        }
    }
    ret = STORE_CREATED;
    goto out;
sqlerr:
    rb_err(err, "sqlite: %s", sqlite3_errmsg(db));
out:
    sqlite3_finalize(st);
    sqlite3_finalize(rs);
    sqlite3_finalize(ss);
    sqlite3_finalize(ms);
    free(cfg);
    free(cmds);
    return ret;
}
