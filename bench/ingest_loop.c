/* ingest_loop.c -- the ingest benchmarks of bench/collector_bench.sh: the same
 * 100-result runs stored by a plain C loop over the store (the baseline), sent
 * to a collector by concurrent HTTP uploaders, or bulk-loaded into a warehouse
 * for the read benchmarks.
 *
 * usage: ingest_loop loop   RUN.json DB RUNS          one transaction per run, synchronous=FULL
 *        ingest_loop upload RUN.json URL RUNS CONC    CONC threads POST URL/api/v1/runs
 *                                                     (token from $REDBENCH_TOKEN), then
 *                                                     polls GET URL/metrics until the
 *                                                     analysis queue is empty
 *        ingest_loop fill   RUN.json DB RUNS          100 runs a transaction, synchronous=OFF,
 *                                                     10 groups of series (RUNS/10 runs each),
 *                                                     marked analysed without verdicts
 * Every run is RUN.json's results repeated to 100, each with its own
 * dataset_size (so its own series key), under its own run id and start time.
 * Prints one line: mode=... runs=N rows=N seconds=S rows_per_s=R (rows =
 * results; each also writes its samples); upload adds a line mode=analysis
 * runs=N analysed_s=S (from the first upload until every run is analysed)
 * analysed_runs_per_s=R.
 * exit status: 0 ok, 1 a failure. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "httpc.h"
#include "model.h"
#include "store.h"
#include "util.h"

#define RESULTS_PER_RUN 100
#define FILL_GROUPS 10          /* fill: run r measures series group r % FILL_GROUPS */
#define FILL_RUNS_PER_TXN 100
#define BASE_NS 1767225600000000000ull /* 2026-01-01T00:00:00Z */

/* The template run (RESULTS_PER_RUN results) read from path into run; 0 or -1 with err. */
static int template_load(const char *path, rb_run *run, char *err)
{
    int rc = -1;
    char *text = read_file(path, 64u << 20, NULL, err);
    if (!text) return -1;
    cJSON *j = cJSON_Parse(text), *res = j ? cJSON_GetObjectItemCaseSensitive(j, "results") : NULL;
    int n = cJSON_GetArraySize(res);
    if (!cJSON_IsArray(res) || n < 1) {
        rb_err(err, "%s: want a run with results", path);
        goto out;
    }
    cJSON *many = cJSON_CreateArray();
    for (int i = 0; i < RESULTS_PER_RUN; i++) {
        cJSON *r = cJSON_Duplicate(cJSON_GetArrayItem(res, i % n), 1);
        cJSON_ReplaceItemInObjectCaseSensitive(r, "dataset_size", cJSON_CreateNumber(1000 + i));
        cJSON_AddItemToArray(many, r);
    }
    cJSON_ReplaceItemInObjectCaseSensitive(j, "results", many);
    char *s = cJSON_PrintUnformatted(j);
    rc = run_from_json(s, strlen(s), run, err);
    free(s);
out:
    cJSON_Delete(j);
    free(text);
    return rc;
}

/* Makes run the idx-th run of prefix: its id, start and end time, commit, and
 * the dataset sizes that give its series keys (group selects a set of 100). */
static void run_make(rb_run *run, const char *prefix, long idx, int group)
{
    snprintf(run->id, sizeof run->id, "%s-%06ld", prefix, idx);
    snprintf(run->commit, sizeof run->commit, "c%06ld", idx);
    uint64_t t = BASE_NS + (uint64_t)idx * 3600ull * 1000000000ull; /* an hour apart */
    fmt_time_utc(t, run->started_at, sizeof run->started_at);
    fmt_time_utc(t + 60ull * 1000000000ull, run->ended_at, sizeof run->ended_at);
    for (size_t i = 0; i < run->n_results; i++)
        run->results[i].dataset_size = 1000 + group * RESULTS_PER_RUN + (long)i;
}

static double elapsed_s(uint64_t t0)
{
    return (double)(now_ns() - t0) / 1e9;
}

static void report(const char *mode, long runs, size_t per_run, double secs)
{
    double rows = (double)runs * (double)per_run;
    printf("mode=%s runs=%ld rows=%.0f seconds=%.3f rows_per_s=%.0f\n", mode, runs, rows, secs,
           secs > 0 ? rows / secs : 0);
}

/* The baseline: what api_runs_post does minus HTTP, parsing and analysis. The
 * documents are made before the clock starts. */
static int mode_loop(rb_run *tpl, const char *db_path, long runs, int fill, char *err)
{
    int rc = -1;
    store *st = store_open(db_path, err);
    if (!st) return -1;
    sqlite3 *db = store_writer_lock(st);
    char **docs = xcalloc((size_t)runs, sizeof *docs);
    long done = 0;
    uint64_t t0 = 0;
    if (fill) {
        if (store_exec(db, "PRAGMA synchronous=OFF", err) < 0) goto out;
    } else {
        for (long i = 0; i < runs; i++) {
            run_make(tpl, "loop", i, 0);
            docs[i] = run_to_json(tpl, 0);
        }
    }
    t0 = now_ns();
    for (long i = 0; i < runs; i++) {
        int first = !fill || i % FILL_RUNS_PER_TXN == 0;
        int last = !fill || i % FILL_RUNS_PER_TXN == FILL_RUNS_PER_TXN - 1 || i == runs - 1;
        if (fill) {
            run_make(tpl, "fill", i, (int)(i % FILL_GROUPS));
            docs[i] = run_to_json(tpl, 0);
        } else {
            run_make(tpl, "loop", i, 0);
        }
        if (first && store_exec(db, "BEGIN IMMEDIATE", err) < 0) goto out;
        if (store_insert_run(db, tpl, docs[i], err) != STORE_CREATED) {
            if (!*err) rb_err(err, "run %s: already stored", tpl->id);
            store_exec(db, "ROLLBACK", NULL);
            goto out;
        }
        if (fill) {
            free(docs[i]);
            docs[i] = NULL;
        }
        /* The read benchmarks measure reads: the filled runs count as
         * analysed (no verdicts), so the collector has no backlog to judge. */
        if (fill && last &&
            store_exec(db, "UPDATE runs SET verdict_status = 'pass', "
                           "analyzed_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE analyzed_at IS NULL",
                       err) < 0)
            goto out;
        if (last && store_exec(db, "COMMIT", err) < 0) goto out;
        done++;
    }
    rc = 0;
out:
    report(fill ? "fill" : "loop", done, tpl->n_results, t0 ? elapsed_s(t0) : 0);
    for (long i = 0; i < runs; i++) free(docs[i]);
    free(docs);
    store_writer_unlock(st);
    store_close(st);
    return rc;
}

struct uploader {
    const char *url, *token;
    char **docs;
    long runs;
    atomic_long next;           /* the next run to send */
    atomic_long failed;
};

static void *upload_main(void *arg)
{
    struct uploader *u = arg;
    char err[RB_ERR_LEN];
    for (long i; (i = atomic_fetch_add(&u->next, 1)) < u->runs;) {
        httpc_resp r;
        if (httpc_request("POST", u->url, u->token, NULL, u->docs[i], strlen(u->docs[i]), 60000,
                          1u << 20, &r, err) < 0) {
            fprintf(stderr, "ingest_loop: upload %ld: %s\n", i, err);
            atomic_fetch_add(&u->failed, 1);
            continue;
        }
        if (r.status != 201) {
            fprintf(stderr, "ingest_loop: upload %ld: HTTP %d: %.200s\n", i, r.status, r.body);
            atomic_fetch_add(&u->failed, 1);
        }
        httpc_resp_cleanup(&r);
    }
    return NULL;
}

static int mode_upload(rb_run *tpl, const char *base, long runs, long conc, char *err)
{
    char url[512];
    snprintf(url, sizeof url, "%s/api/v1/runs", base);
    struct uploader u = {.url = url, .token = getenv("REDBENCH_TOKEN"), .runs = runs};
    u.docs = xcalloc((size_t)runs, sizeof *u.docs);
    for (long i = 0; i < runs; i++) {
        run_make(tpl, "http", i, 0);
        u.docs[i] = run_to_json(tpl, 0);
    }
    pthread_t *th = xcalloc((size_t)conc, sizeof *th);
    uint64_t t0 = now_ns();
    for (long i = 0; i < conc; i++) pthread_create(&th[i], NULL, upload_main, &u);
    for (long i = 0; i < conc; i++) pthread_join(th[i], NULL);
    double secs = elapsed_s(t0);
    long failed = atomic_load(&u.failed);
    report("upload", runs - failed, tpl->n_results, secs);
    fflush(stdout);
    /* The analysis follows the acks: wait (at most 10 minutes) until the
     * collector's queue is empty, so its throughput is measured too. */
    char murl[512];
    snprintf(murl, sizeof murl, "%s/metrics", base);
    double analysed = -1;
    for (int k = 0; k < 12000 && analysed < 0; k++) {
        httpc_resp r;
        if (httpc_request("GET", murl, NULL, NULL, NULL, 0, 10000, 1u << 22, &r, err) == 0) {
            const char *q = r.body ? strstr(r.body, "\nredbench_analysis_queue_runs ") : NULL;
            if (q && strtoll(q + 30, NULL, 10) == 0) analysed = elapsed_s(t0);
            httpc_resp_cleanup(&r);
        }
        if (analysed < 0) {
            struct timespec ts = {0, 50000000L};
            nanosleep(&ts, NULL);
        }
    }
    if (analysed < 0) {
        fputs("\n", stdout);
        free(th);
        for (long i = 0; i < runs; i++) free(u.docs[i]);
        free(u.docs);
        return rb_err(err, "the analysis queue did not empty within 10 minutes");
    }
    printf("mode=analysis runs=%ld analysed_s=%.3f analysed_runs_per_s=%.1f\n", runs - failed, analysed,
           analysed > 0 ? (double)(runs - failed) / analysed : 0);
    for (long i = 0; i < runs; i++) free(u.docs[i]);
    free(u.docs);
    free(th);
    if (failed) return rb_err(err, "%ld of %ld uploads failed", failed, runs);
    return 0;
}

static long arg_num(const char *s, long max)
{
    char *end;
    long v = strtol(s, &end, 10);
    return *end || v < 1 || v > max ? -1 : v;
}

int main(int argc, char **argv)
{
    char err[RB_ERR_LEN] = "";
    rb_run tpl;
    run_init(&tpl);
    int ok = argc >= 5 && (!strcmp(argv[1], "loop") || !strcmp(argv[1], "fill") ||
                           (!strcmp(argv[1], "upload") && argc == 6));
    long runs = ok ? arg_num(argv[4], 1000000) : -1;
    long conc = ok && argc == 6 ? arg_num(argv[5], 256) : 1;
    if (!ok || runs < 0 || conc < 0) {
        fputs("usage: ingest_loop loop|fill RUN.json DB RUNS\n"
              "       ingest_loop upload RUN.json URL RUNS CONC\n", stderr);
        return 2;
    }
    int rc = template_load(argv[2], &tpl, err);
    if (rc == 0) {
        if (!strcmp(argv[1], "upload"))
            rc = mode_upload(&tpl, argv[3], runs, conc, err);
        else
            rc = mode_loop(&tpl, argv[3], runs, !strcmp(argv[1], "fill"), err);
    }
    if (rc < 0) fprintf(stderr, "ingest_loop %s: %s\n", argv[1], err);
    run_cleanup(&tpl);
    return rc < 0;
}
