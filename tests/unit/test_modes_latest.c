/* test_modes_latest.c -- modes_latest_runs (lib/modes.c), the per-deployment index
 * seeks behind /modes and /cost, against the window query they replaced (the latest
 * MODES_MAX_RUNS runs of the branch, row_number() per deployment) on random
 * warehouses: several projects, branches, modes, regions and presets, equal start
 * times, runs without results and runs holding only lab scenarios. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "modes.h"
#include "store.h"
#include "testhelp.h"
#include "util.h"
#include "testdb.h"

#define RB_STR_(x) #x
#define RB_STR(x) RB_STR_(x)

/* The queries of lib/modes.c (DEPLOY_SQL) and collector/page_cost.c (COST_SQL)
 * before runs_by_deployment: ?3 = 1 partitions by preset too and ?4 = 1 leaves
 * lab scenarios out. */
static const char ORACLE_SQL[] =
    "SELECT mode, client_region, server_region, target_preset, id, started_at FROM ("
    "  SELECT u.*, row_number() OVER (PARTITION BY u.mode, u.client_region, u.server_region, "
    "                                 CASE WHEN ?3 THEN u.target_preset END "
    "                                 ORDER BY u.started_at DESC, u.id DESC) AS rn "
    "  FROM (SELECT id, mode, client_region, server_region, target_preset, started_at FROM runs "
    "        WHERE project = ?1 AND branch = ?2 ORDER BY started_at DESC LIMIT " RB_STR(MODES_MAX_RUNS) ") AS u "
    "  WHERE EXISTS (SELECT 1 FROM results x WHERE x.run_id = u.id "
    "                AND (?4 = 0 OR x.scenario NOT IN ('persistence-recovery', 'chaos')))) "
    "WHERE rn = 1 ORDER BY mode, client_region, server_region, target_preset";

/* A deterministic generator (tests must repeat). */
static unsigned next_rand(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return (*s >> 16) & 0x7fff;
}

/* nruns random runs in one transaction; start times from a small set of
 * hours so that many are equal. */
static void fill(sqlite3 *db, unsigned seed, int nruns)
{
    static const char *const projects[] = {"p1", "p2"};
    static const char *const branches[] = {"main", "main", "feature"};
    static const char *const modes[] = {"single", "client-server", "multi-region"};
    /* Many deployments, most with a few runs: some have their latest run at the
     * window's edge. */
    static const char *const regions[] = {"local", "iad", "fra", "ams", "syd", "nrt", "gru", "jnb", "ord", "lhr"};
    static const char *const presets[] = {"local", "shared-cpu-1x", "performance-2x/8192"};
    char err[RB_ERR_LEN];
    sqlite3_stmt *run = NULL, *res = NULL;
    CHECK(store_exec(db, "BEGIN", err) == 0);
    CHECK(sqlite3_prepare_v2(db,
                             "INSERT INTO runs(id, project, branch, mode, client_region, server_region, started_at, "
                             "ended_at, target_preset, document, ingested_at) "
                             "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8, '{}', ?7)",
                             -1, &run, NULL) == SQLITE_OK);
    CHECK(sqlite3_prepare_v2(db,
                             "INSERT INTO results(run_id, series_key, scenario, op, data_type, concurrency, pipeline, "
                             "value_size, dataset_size, requests, errors, ops_per_sec, p50_us, p90_us, p95_us, "
                             "p99_us, p999_us, max_us, mean_us, latency_hist) "
                             "VALUES (?1, ?2, ?3, 'get', 'string', 1, 1, 64, 100, 10, 0, 1, 1, 1, 1, 1, 1, 1, 1, '')",
                             -1, &res, NULL) == SQLITE_OK);
    for (int i = 0; i < nruns && run && res; i++) {
        char id[32], at[40];
        snprintf(id, sizeof id, "r%05u-%d", next_rand(&seed) % 100000, i);
        snprintf(at, sizeof at, "2026-10-%02uT%02u:00:00.000Z", 1 + next_rand(&seed) % 28, next_rand(&seed) % 3);
        sqlite3_reset(run);
        sqlite3_bind_text(run, 1, id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(run, 2, projects[next_rand(&seed) % 2], -1, SQLITE_STATIC);
        sqlite3_bind_text(run, 3, branches[next_rand(&seed) % 3], -1, SQLITE_STATIC);
        sqlite3_bind_text(run, 4, modes[next_rand(&seed) % 3], -1, SQLITE_STATIC);
        sqlite3_bind_text(run, 5, regions[next_rand(&seed) % 10], -1, SQLITE_STATIC);
        sqlite3_bind_text(run, 6, regions[next_rand(&seed) % 10], -1, SQLITE_STATIC);
        sqlite3_bind_text(run, 7, at, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(run, 8, presets[next_rand(&seed) % 3], -1, SQLITE_STATIC);
        CHECK(sqlite3_step(run) == SQLITE_DONE);
        /* 0: no results; 1: a lab scenario only; 2: a lab scenario and get; else get. */
        unsigned kind = next_rand(&seed) % 6;
        for (unsigned k = 0; k < (kind == 0 ? 0u : kind == 2 ? 2u : 1u); k++) {
            const char *scenario = (kind == 1 || (kind == 2 && k == 0)) ? (k % 2 ? "chaos" : "persistence-recovery")
                                                                        : "get";
            char key[64];
            snprintf(key, sizeof key, "%s/get %u", scenario, k);
            sqlite3_reset(res);
            sqlite3_bind_text(res, 1, id, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(res, 2, key, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(res, 3, scenario, -1, SQLITE_STATIC);
            CHECK(sqlite3_step(res) == SQLITE_DONE);
        }
    }
    sqlite3_finalize(run);
    sqlite3_finalize(res);
    CHECK(store_exec(db, "COMMIT", err) == 0);
}

static int run_cmp(const void *a, const void *b)
{
    const struct modes_run *x = a, *y = b;
    int c = strcmp(x->mode, y->mode);
    if (!c) c = strcmp(x->client_region, y->client_region);
    if (!c) c = strcmp(x->server_region, y->server_region);
    if (!c) c = strcmp(x->preset, y->preset);
    return c;
}

/* modes_latest_runs equals the oracle for project/branch; returns the count. */
static size_t same_as_oracle(sqlite3 *db, const char *project, const char *branch, int by_preset, int skip_lab)
{
    char err[RB_ERR_LEN];
    struct modes_run *got = NULL;
    size_t n = 0, k = 0;
    CHECK(modes_latest_runs(db, project, branch, by_preset, skip_lab, &got, &n, err) == 0);
    if (n) qsort(got, n, sizeof *got, run_cmp);
    sqlite3_stmt *st = NULL;
    CHECK(sqlite3_prepare_v2(db, ORACLE_SQL, -1, &st, NULL) == SQLITE_OK);
    sqlite3_bind_text(st, 1, project, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, branch, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, by_preset);
    sqlite3_bind_int(st, 4, skip_lab);
    while (st && sqlite3_step(st) == SQLITE_ROW) {
        CHECK(k < n);
        if (k >= n) break;
        /* Without presets apart the run's preset is whichever its latest run has. */
        CHECK_STREQ(got[k].mode, (const char *)sqlite3_column_text(st, 0));
        CHECK_STREQ(got[k].client_region, (const char *)sqlite3_column_text(st, 1));
        CHECK_STREQ(got[k].server_region, (const char *)sqlite3_column_text(st, 2));
        CHECK_STREQ(got[k].preset, (const char *)sqlite3_column_text(st, 3));
        CHECK_STREQ(got[k].run_id, (const char *)sqlite3_column_text(st, 4));
        CHECK_STREQ(got[k].started_at, (const char *)sqlite3_column_text(st, 5));
        k++;
    }
    sqlite3_finalize(st);
    CHECK(k == n);
    modes_runs_free(got, n);
    return n;
}

/* Warehouses below and above MODES_MAX_RUNS runs per branch: the window's edge
 * falls among runs with equal start times. */
static void test_matches_window_query(void)
{
    static const int sizes[] = {40, 4000};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        char path[] = "/tmp/rb_modes_latest_XXXXXX";
        store *st = open_tmp(path);
        CHECK(st != NULL);
        if (!st) return;
        sqlite3 *db = store_writer_lock(st);
        fill(db, 7u + (unsigned)s, sizes[s]);
        size_t total = 0;
        static const char *const pb[][2] = {{"p1", "main"}, {"p1", "feature"}, {"p2", "main"}, {"p2", "none"}};
        for (size_t i = 0; i < 4; i++)
            for (int by_preset = 0; by_preset < 2; by_preset++)
                for (int skip_lab = 0; skip_lab < 2; skip_lab++)
                    total += same_as_oracle(db, pb[i][0], pb[i][1], by_preset, skip_lab);
        CHECK(total > 0);
        store_writer_unlock(st);
        store_close(st);
        rm_db(path);
    }
}

/* An empty warehouse gives no deployment and no error. */
static void test_empty(void)
{
    char path[] = "/tmp/rb_modes_latest_XXXXXX", err[RB_ERR_LEN];
    store *st = open_tmp(path);
    CHECK(st != NULL);
    if (!st) return;
    sqlite3 *db = store_reader(st);
    struct modes_run *got = (struct modes_run *)&got;
    size_t n = 7;
    CHECK(modes_latest_runs(db, "p", "main", 1, 1, &got, &n, err) == 0);
    CHECK(n == 0);
    CHECK(got == NULL);
    store_reader_release(st, db);
    store_close(st);
    rm_db(path);
}

int main(void)
{
    RUN(test_matches_window_query);
    RUN(test_empty);
    return TH_DONE();
}
