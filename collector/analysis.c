/* analysis.c -- the collector's analysis thread: judges committed runs after
 * their ingest was acknowledged, in commit order, and refreshes the change
 * points of the series they touched (docs/api.md#analysis-after-the-commit). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "changepoint.h"
#include "collector.h"
#include "util.h"

#define AN_BATCH_MAX 64      /* runs judged before their series' change points are refreshed */
#define AN_CP_PER_TXN 16     /* series per change point write transaction */
#define AN_ATTEMPTS 3        /* a run whose analysis failed this often is skipped until restart */
#define AN_SKIP_MAX 256
#define AN_POLL_MS 1000      /* idle re-check of the queue (runs committed without a kick) */
#define AN_NICE 10           /* the thread's nice value: acknowledging uploads comes first */

struct analysis {
    const struct collector *col;
    pthread_t th;
    int started;
    int paused;                 /* REDBENCH_ANALYSIS_PAUSE: a test knob */
    pthread_mutex_t mu;
    pthread_cond_t wake;        /* kicks and stop */
    pthread_cond_t progress;    /* a batch was stored */
    int stop, kicked;
    unsigned long batches;      /* batches stored, under mu */
    atomic_ulong analysed;      /* runs analysed since start */
    long long fail_rowid;       /* the run that failed last, and how often in a row */
    int fail_n;
    long long skip[AN_SKIP_MAX];
    size_t n_skip;
};

/* One run of a batch. */
struct an_run {
    long long rowid;
    char id[RB_NAME_LEN], project[RB_NAME_LEN], branch[RB_NAME_LEN];
    size_t n[V__MAX];
    int judged;
};

/* One series whose change points the batch refreshes. */
struct an_series {
    char *project, *branch, *key;
};

static int series_cmp(const void *a, const void *b)
{
    const struct an_series *x = a, *y = b;
    int c = strcmp(x->project, y->project);
    if (!c) c = strcmp(x->branch, y->branch);
    return c ? c : strcmp(x->key, y->key);
}

static void timespec_after_ms(struct timespec *ts, long ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* Derived data: a write transaction of the analysis commits with
 * synchronous=NORMAL (no fsync of its own; the next ingest commit's fsync
 * covers it). A power cut may lose it, never an acknowledged run, and a run
 * whose analysis was lost is still pending and judged again at start. */
static sqlite3 *an_writer(const struct collector *col, char *err)
{
    sqlite3 *db = store_writer_lock(col->st);
    if (store_exec(db, "PRAGMA synchronous=NORMAL", err) < 0 || store_exec(db, "BEGIN IMMEDIATE", err) < 0) {
        store_exec(db, "PRAGMA synchronous=FULL", NULL);
        store_writer_unlock(col->st);
        return NULL;
    }
    return db;
}

/* Commits (ok) or rolls back the transaction of an_writer; 0 or -1 with err. */
static int an_writer_done(const struct collector *col, sqlite3 *db, int ok, char *err)
{
    int rc = ok ? store_exec(db, "COMMIT", err) : -1;
    if (rc < 0) store_exec(db, "ROLLBACK", NULL);
    store_exec(db, "PRAGMA synchronous=FULL", NULL);
    store_writer_unlock(col->st);
    return rc;
}

static int skipped(const struct analysis *a, long long rowid)
{
    for (size_t i = 0; i < a->n_skip; i++)
        if (a->skip[i] == rowid) return 1;
    return 0;
}

/* Counts one failure of run; after AN_ATTEMPTS in a row it is skipped. */
static void an_failed(struct analysis *a, const struct an_run *run, const char *err)
{
    a->fail_n = a->fail_rowid == run->rowid ? a->fail_n + 1 : 1;
    a->fail_rowid = run->rowid;
    int skip = a->fail_n >= AN_ATTEMPTS && a->n_skip < AN_SKIP_MAX;
    if (skip) a->skip[a->n_skip++] = run->rowid;
    fprintf(stderr, "redbench serve: analysis of run %s failed (attempt %d): %s%s\n", run->id, a->fail_n,
            err, skip ? "; skipped until the collector restarts" : "");
}

/* The oldest pending runs (commit order), at most AN_BATCH_MAX; -1 on error. */
static int an_pending(struct analysis *a, struct an_run *runs)
{
    sqlite3 *db = store_reader(a->col->st);
    sqlite3_stmt *st;
    int n = -1;
    if (sqlite3_prepare_v2(db,
                           "SELECT rowid, id, project, branch FROM runs WHERE analyzed_at IS NULL "
                           "ORDER BY rowid LIMIT ?",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, AN_BATCH_MAX + (sqlite3_int64)a->n_skip);
        n = 0;
        while (n < AN_BATCH_MAX && sqlite3_step(st) == SQLITE_ROW) {
            long long rowid = sqlite3_column_int64(st, 0);
            if (skipped(a, rowid)) continue;
            struct an_run *r = &runs[n++];
            memset(r, 0, sizeof *r);
            r->rowid = rowid;
            snprintf(r->id, sizeof r->id, "%s", (const char *)sqlite3_column_text(st, 1));
            snprintf(r->project, sizeof r->project, "%s", (const char *)sqlite3_column_text(st, 2));
            snprintf(r->branch, sizeof r->branch, "%s", (const char *)sqlite3_column_text(st, 3));
        }
        sqlite3_finalize(st);
    }
    store_reader_release(a->col->st, db);
    return n;
}

/* Judges run on a reader and stores its verdicts in a short write
 * transaction, so that the next run of the batch sees them (its baseline
 * leaves out regressions); adds the run's series to *ser. 0 or -1 with err. */
static int an_judge(struct analysis *a, struct an_run *run, struct an_series **ser, size_t *n_ser,
                    size_t *cap, char *err)
{
    verdict_list vl;
    sqlite3 *db = store_reader(a->col->st);
    int rc = analyze_run(db, run->id, &a->col->aopts, &vl, err);
    sqlite3_stmt *st = NULL;
    if (rc == 0 &&
        sqlite3_prepare_v2(db,
                           "SELECT DISTINCT series_key FROM results WHERE run_id = ? "
                           "AND status IN ('ok', 'partial')",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, run->id, -1, SQLITE_STATIC);
        while (sqlite3_step(st) == SQLITE_ROW) {
            if (*n_ser == *cap) *ser = xrealloc(*ser, (*cap = *cap ? 2 * *cap : 128) * sizeof **ser);
            (*ser)[(*n_ser)++] = (struct an_series){xstrdup(run->project), xstrdup(run->branch),
                                                   store_col_text(st, 0)};
        }
    }
    sqlite3_finalize(st);
    store_reader_release(a->col->st, db);
    if (rc < 0) return -1;
    for (int s = 0; s < V__MAX; s++) run->n[s] = verdict_list_count(&vl, (enum verdict_status)s);
    sqlite3 *w = an_writer(a->col, err);
    rc = w ? an_writer_done(a->col, w, analyze_save(w, &vl, err) == 0, err) : -1;
    verdict_list_cleanup(&vl);
    return rc;
}

/* The stored status of a run with these verdict counts (docs/warehouse.md). */
static const char *summary_status(const size_t n[V__MAX])
{
    size_t total = 0;
    for (int s = 0; s < V__MAX; s++) total += n[s];
    if (n[V_REGRESSION]) return "regression";
    if (n[V_IMPROVEMENT]) return "improvement";
    if (total && n[V_INSUFFICIENT] == total) return "insufficient_baseline";
    return "pass";
}

/* Marks the judged runs of the batch analysed, with their summaries. */
static int an_mark(struct analysis *a, const struct an_run *runs, int n, char *err)
{
    sqlite3 *w = an_writer(a->col, err);
    if (!w) return -1;
    sqlite3_stmt *st;
    int ok = sqlite3_prepare_v2(w,
                                "UPDATE runs SET n_regressions = ?2, n_improvements = ?3, "
                                "n_insufficient = ?4, verdict_status = ?5, "
                                "analyzed_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = ?1",
                                -1, &st, NULL) == SQLITE_OK;
    if (!ok) rb_err(err, "sqlite: %s", sqlite3_errmsg(w));
    for (int i = 0; ok && i < n; i++) {
        if (!runs[i].judged) continue;
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, runs[i].id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)runs[i].n[V_REGRESSION]);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)runs[i].n[V_IMPROVEMENT]);
        sqlite3_bind_int64(st, 4, (sqlite3_int64)runs[i].n[V_INSUFFICIENT]);
        sqlite3_bind_text(st, 5, summary_status(runs[i].n), -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) {
            rb_err(err, "sqlite: %s", sqlite3_errmsg(w));
            ok = 0;
        }
    }
    sqlite3_finalize(st);
    return an_writer_done(a->col, w, ok, err);
}

/* One batch: judge the oldest pending runs in order, refresh each touched
 * series' change points once, mark the runs analysed. Returns the number of
 * runs taken (0: none pending), -1 on a failure to read the queue. */
static int an_batch(struct analysis *a)
{
    struct an_run *runs = xcalloc(AN_BATCH_MAX, sizeof *runs);
    struct an_series *ser = NULL;
    size_t n_ser = 0, cap = 0;
    char err[RB_ERR_LEN];
    int n = an_pending(a, runs), judged = 0;
    for (int i = 0; i < n; i++) {
        if (an_judge(a, &runs[i], &ser, &n_ser, &cap, err) < 0) {
            an_failed(a, &runs[i], err);
            continue;
        }
        runs[i].judged = 1;
        judged++;
    }
    if (n_ser) qsort(ser, n_ser, sizeof *ser, series_cmp);
    for (size_t i = 0; i < n_ser;) {
        sqlite3 *w = an_writer(a->col, err);
        int ok = w != NULL;
        size_t end = i, done = 0;
        for (; ok && end < n_ser && done < AN_CP_PER_TXN; end++) {
            if (end > i && series_cmp(&ser[end], &ser[end - 1]) == 0) continue; /* a duplicate */
            ok = cp_refresh_series(w, ser[end].project, ser[end].branch, ser[end].key, err) == 0;
            done++;
        }
        if (w && an_writer_done(a->col, w, ok, err) < 0) ok = 0;
        if (!ok) { /* verdicts stand without fresh change points; the next batch retries */
            fprintf(stderr, "redbench serve: analysis: change points of %s: %s\n", ser[end > i ? end - 1 : i].key, err);
            break;
        }
        i = end;
    }
    if (judged && an_mark(a, runs, n, err) < 0) {
        fprintf(stderr, "redbench serve: analysis: storing the summaries: %s\n", err);
        judged = 0;
    }
    for (int i = 0; i < n && judged; i++) {
        if (!runs[i].judged) continue;
        fprintf(stderr, "redbench serve: run %s analysed: %s (%zu regression(s), %zu improvement(s))\n",
                runs[i].id, summary_status(runs[i].n), runs[i].n[V_REGRESSION], runs[i].n[V_IMPROVEMENT]);
        if (a->fail_rowid == runs[i].rowid) a->fail_n = 0;
    }
    atomic_fetch_add(&a->analysed, (unsigned long)judged);
    pthread_mutex_lock(&a->mu);
    a->batches++;
    pthread_cond_broadcast(&a->progress);
    pthread_mutex_unlock(&a->mu);
    for (size_t i = 0; i < n_ser; i++) {
        free(ser[i].project);
        free(ser[i].branch);
        free(ser[i].key);
    }
    free(ser);
    free(runs);
    /* A batch that judged nothing (each run failed) still moved the failure
     * counts on; a short pause keeps a failing warehouse from spinning. */
    if (n > 0 && !judged) {
        struct timespec ts = {0, 200000000L};
        nanosleep(&ts, NULL);
    }
    return n;
}

static void *an_main(void *arg)
{
    struct analysis *a = arg;
    /* Linux: a thread has its own nice value. Verdicts are derived data and
     * may lag under load; uploads (each waits for its commit) should not. */
    if (setpriority(PRIO_PROCESS, (id_t)gettid(), AN_NICE) < 0)
        fprintf(stderr, "redbench serve: analysis thread: setpriority: %s\n", strerror(errno));
    for (;;) {
        pthread_mutex_lock(&a->mu);
        if (!a->stop && !a->kicked) {
            struct timespec ts;
            timespec_after_ms(&ts, AN_POLL_MS);
            pthread_cond_timedwait(&a->wake, &a->mu, &ts);
        }
        int stop = a->stop;
        a->kicked = 0;
        pthread_mutex_unlock(&a->mu);
        if (stop) break;
        if (a->paused) continue;
        for (;;) { /* drain the queue, checking for stop between batches */
            pthread_mutex_lock(&a->mu);
            stop = a->stop;
            a->kicked = 0;
            pthread_mutex_unlock(&a->mu);
            if (stop || an_batch(a) <= 0) break;
        }
    }
    return NULL;
}

int analysis_start(struct collector *col, char *err)
{
    struct analysis *a = xcalloc(1, sizeof *a);
    a->col = col;
    a->fail_rowid = -1;
    const char *p = getenv("REDBENCH_ANALYSIS_PAUSE");
    a->paused = p && *p && strcmp(p, "0") != 0;
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->wake, NULL);
    pthread_cond_init(&a->progress, NULL);
    atomic_init(&a->analysed, 0);
    /* The thread takes no signal: `serve` sigwaits for SIGINT/SIGTERM in its main thread. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int e = pthread_create(&a->th, NULL, an_main, a);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e) {
        pthread_mutex_destroy(&a->mu);
        pthread_cond_destroy(&a->wake);
        pthread_cond_destroy(&a->progress);
        free(a);
        return rb_err(err, "analysis thread: %s", strerror(e));
    }
    a->started = 1;
    col->an = a;
    if (a->paused)
        fprintf(stderr, "redbench serve: analysis paused (REDBENCH_ANALYSIS_PAUSE, a test knob): "
                        "runs stay pending\n");
    return 0;
}

void analysis_stop(struct collector *col)
{
    struct analysis *a = col->an;
    if (!a || !a->started) return;
    pthread_mutex_lock(&a->mu);
    a->stop = 1;
    pthread_cond_broadcast(&a->wake);
    pthread_cond_broadcast(&a->progress);
    pthread_mutex_unlock(&a->mu);
    pthread_join(a->th, NULL);
    a->started = 0;
}

void analysis_free(struct collector *col)
{
    struct analysis *a = col->an;
    if (!a) return;
    analysis_stop(col);
    pthread_mutex_destroy(&a->mu);
    pthread_cond_destroy(&a->wake);
    pthread_cond_destroy(&a->progress);
    free(a);
    col->an = NULL;
}

void analysis_kick(const struct collector *col)
{
    struct analysis *a = col->an;
    if (!a) return;
    pthread_mutex_lock(&a->mu);
    a->kicked = 1;
    pthread_cond_signal(&a->wake);
    pthread_mutex_unlock(&a->mu);
}

/* 1 if run_id is analysed, 0 if pending, -1 if not stored. */
static int run_analysed(const struct collector *col, const char *run_id)
{
    sqlite3 *db = store_reader(col->st);
    sqlite3_stmt *st;
    int rc = -1;
    if (sqlite3_prepare_v2(db, "SELECT analyzed_at IS NOT NULL FROM runs WHERE id = ?", -1, &st, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) rc = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
    }
    store_reader_release(col->st, db);
    return rc;
}

int analysis_wait(const struct collector *col, const char *run_id, long timeout_ms)
{
    struct analysis *a = col->an;
    struct timespec deadline;
    timespec_after_ms(&deadline, timeout_ms);
    for (;;) {
        unsigned long seen = 0;
        if (a) {
            pthread_mutex_lock(&a->mu);
            seen = a->batches;
            pthread_mutex_unlock(&a->mu);
        }
        int rc = run_analysed(col, run_id);
        if (rc != 0 || !a) return rc > 0;
        pthread_mutex_lock(&a->mu);
        int e = 0;
        while (a->batches == seen && !a->stop && e != ETIMEDOUT)
            e = pthread_cond_timedwait(&a->progress, &a->mu, &deadline);
        int stop = a->stop;
        pthread_mutex_unlock(&a->mu);
        if (stop || e == ETIMEDOUT) return run_analysed(col, run_id) > 0;
    }
}

void analysis_gauges(const struct collector *col, long long *queued, double *lag_s,
                     unsigned long long *analysed)
{
    *queued = -1;
    *lag_s = 0;
    *analysed = col->an ? atomic_load(&col->an->analysed) : 0;
    sqlite3 *db = store_reader(col->st);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM runs WHERE analyzed_at IS NULL", -1, &st, NULL) ==
        SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) *queued = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    if (sqlite3_prepare_v2(db,
                           "SELECT (julianday('now') - julianday(ingested_at)) * 86400 FROM runs "
                           "WHERE analyzed_at IS NULL ORDER BY rowid LIMIT 1",
                           -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) *lag_s = sqlite3_column_double(st, 0);
        sqlite3_finalize(st);
    }
    store_reader_release(col->st, db);
    if (*lag_s < 0) *lag_s = 0;
}
