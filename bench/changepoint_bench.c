/* changepoint_bench.c -- the cost of change point detection: cp_detect over a
 * 10,000-point series (goal <= 1 s) at the defaults, with the permutation test
 * and with Hunter's windows, and cp_refresh_series over a 500-run history in a
 * real warehouse (what the collector adds to an ingest, per series). Median of
 * 7 runs each. Prints a Markdown section. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "changepoint.h"
#include "store.h"
#include "util.h"

#define N 10000
#define RUNS 7
#define STEPS 20

static uint64_t s = 88172645463325252ull;
static double u01(void)
{
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return ((double)(s >> 11) + 0.5) / 9007199254740992.0;
}
static double gauss(void) { return sqrt(-2 * log(u01())) * cos(6.283185307179586 * u01()); }

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static size_t at[STEPS]; /* where the shifts were injected */

/* Median, fastest and slowest of RUNS timings of cp_detect, in ms; *found gets
 * the change point count (the same every run), *near how many injected shifts
 * have one within 2 points. */
static void time_detect(const double *x, size_t n, const cp_opts *o, double out[3], int *found,
                        int *near)
{
    double ms[RUNS];
    cp_point *cp = xmalloc(n * sizeof *cp);
    char err[RB_ERR_LEN];
    for (int r = 0; r < RUNS; r++) {
        uint64_t t0 = now_ns();
        *found = cp_detect(x, n, o, cp, n, err);
        ms[r] = (double)(now_ns() - t0) / 1e6;
        if (*found < 0) {
            fprintf(stderr, "changepoint_bench: %s\n", err);
            exit(1);
        }
    }
    *near = 0;
    for (int k = 0; k < STEPS; k++)
        for (int i = 0; i < *found; i++)
            if (labs((long)cp[i].index - (long)at[k]) <= 2) {
                ++*near;
                break;
            }
    free(cp);
    qsort(ms, RUNS, sizeof ms[0], cmp);
    out[0] = ms[RUNS / 2];
    out[1] = ms[0];
    out[2] = ms[RUNS - 1];
}

static int exec(sqlite3 *db, const char *sql)
{
    char err[RB_ERR_LEN];
    if (store_exec(db, sql, err) < 0) {
        fprintf(stderr, "changepoint_bench: %s\n", err);
        return -1;
    }
    return 0;
}

/* A warehouse with 500 runs of one series (5 samples each, a 10% drop at run
 * 300); times cp_refresh_series inside a transaction, in ms. */
static int time_refresh(double out[3])
{
    char dir[] = "/tmp/rb-cpbench-XXXXXX", path[64], err[RB_ERR_LEN], sql[1024];
    if (!mkdtemp(dir)) return -1;
    snprintf(path, sizeof path, "%s/wh.db", dir);
    store *st = store_open(path, err);
    if (!st) {
        fprintf(stderr, "changepoint_bench: %s\n", err);
        return -1;
    }
    sqlite3 *db = store_writer_lock(st);
    int rc = exec(db, "BEGIN");
    for (int i = 0; i < CP_HISTORY_RUNS && rc == 0; i++) {
        double level = i < 300 ? 100000 : 90000;
        snprintf(sql, sizeof sql,
                 "INSERT INTO runs(id, project, branch, mode, started_at, ended_at, document,"
                 " ingested_at) VALUES ('r%03d', 'p', 'main', 'single', '2024-01-01T%02d:%02d:00Z',"
                 " '2024-01-01T%02d:%02d:30Z', '{}', 'now');"
                 "INSERT INTO results(run_id, series_key, scenario, op, data_type, concurrency,"
                 " pipeline, value_size, dataset_size, requests, errors, ops_per_sec, p50_us, p90_us,"
                 " p95_us, p99_us, p999_us, max_us, mean_us, latency_hist) VALUES ('r%03d', 'k', 'get',"
                 " 'get', 'string', 1, 1, 64, 100, 500, 0, %g, 40, 0, 0, 80, 0, 0, 0, '')",
                 i, i / 60, i % 60, i / 60, i % 60, i, level);
        rc = exec(db, sql);
        for (int it = 0; it < 5 && rc == 0; it++) {
            double e = 1 + 0.02 * gauss();
            snprintf(sql, sizeof sql,
                     "INSERT INTO samples(result_id, iteration, ops_per_sec, requests, errors,"
                     " seconds, p50_us, p99_us) SELECT id, %d, %.17g, 100, 0, 1, %.17g, %.17g"
                     " FROM results WHERE run_id = 'r%03d'",
                     it, level * e, 40 / e, 80 / e, i);
            rc = exec(db, sql);
        }
    }
    if (rc == 0) rc = exec(db, "COMMIT");
    double ms[RUNS];
    for (int r = 0; r < RUNS && rc == 0; r++) {
        uint64_t t0 = now_ns();
        rc = exec(db, "BEGIN");
        if (rc == 0 && cp_refresh_series(db, "p", "main", "k", err) < 0) {
            fprintf(stderr, "changepoint_bench: %s\n", err);
            rc = -1;
        }
        if (rc == 0) rc = exec(db, "COMMIT");
        ms[r] = (double)(now_ns() - t0) / 1e6;
    }
    store_writer_unlock(st);
    store_close(st);
    snprintf(sql, sizeof sql, "rm -rf %s", dir);
    if (system(sql) != 0) rc = -1;
    if (rc) return -1;
    qsort(ms, RUNS, sizeof ms[0], cmp);
    out[0] = ms[RUNS / 2];
    out[1] = ms[0];
    out[2] = ms[RUNS - 1];
    return 0;
}

int main(void)
{
    /* 20 shifts of 5-15% (up or down) at random places, 2% noise, 1% of the
     * points outliers 30% high: a rough benchmark history. */
    double *x = xmalloc(N * sizeof *x), level = 100000;
    for (int k = 0; k < STEPS; k++) at[k] = (size_t)(u01() * N);
    for (size_t i = 0; i < N; i++) {
        for (int k = 0; k < STEPS; k++)
            if (at[k] == i) level *= (u01() < 0.5 ? 0.85 : 1.05) + 0.1 * u01();
        x[i] = level * (1 + 0.02 * gauss()) * (u01() < 0.01 ? 1.3 : 1);
    }
    double *noise = xmalloc(N * sizeof *noise);
    for (size_t i = 0; i < N; i++) noise[i] = 100000 * (1 + 0.02 * gauss());

    cp_opts def, perm, hunter;
    cp_opts_default(&def);
    cp_opts_default(&perm);
    perm.permutations = 199;
    perm.alpha = CP_DEFAULT_PERM_ALPHA;
    cp_opts_default(&hunter);
    hunter.window = 50;
    hunter.no_correction = 1;
    hunter.alpha = 0.001;
    hunter.min_segment = 1;

    double t_def[3], t_noise[3], t_perm[3], t_hunter[3], t_ref[3];
    int f_def, f_noise, f_perm, f_hunter, n_def, n_noise, n_perm, n_hunter;
    time_detect(x, N, &def, t_def, &f_def, &n_def);
    time_detect(noise, N, &def, t_noise, &f_noise, &n_noise);
    time_detect(x, N, &perm, t_perm, &f_perm, &n_perm);
    time_detect(x, N, &hunter, t_hunter, &f_hunter, &n_hunter);
    int ref_ok = time_refresh(t_ref) == 0;

    printf("\n## Change points\n\n"
           "`bench/changepoint_bench.c`: median of %d runs of `cp_detect` on a %d-point series\n"
           "(%d shifts of 5-15%%, 2%% Gaussian noise, 1%% outliers +30%%; and pure noise), and of\n"
           "`cp_refresh_series` over a %d-run history (5 samples per run, 3 metrics) in a real\n"
           "warehouse file, inside a transaction.\n\n"
           "| what | change points found | of the %d shifts, found (±2) | median ms | fastest | slowest | goal |\n"
           "|---|---:|---:|---:|---:|---:|---:|\n",
           RUNS, N, STEPS, CP_HISTORY_RUNS, STEPS);
    printf("| defaults (t-test, Bonferroni, alpha %g) | %d | %d | %.1f | %.1f | %.1f | ≤ 1000 |\n",
           def.alpha, f_def, n_def, t_def[0], t_def[1], t_def[2]);
    printf("| defaults, noise only | %d | - | %.1f | %.1f | %.1f | ≤ 1000 |\n", f_noise,
           t_noise[0], t_noise[1], t_noise[2]);
    printf("| permutation test, 199 shuffles, alpha %g | %d | %d | %.1f | %.1f | %.1f | |\n",
           perm.alpha, f_perm, n_perm, t_perm[0], t_perm[1], t_perm[2]);
    printf("| Otava-like: window 50, raw p, alpha 0.001, min segment 1 | %d | %d | %.1f | %.1f | %.1f | |\n",
           f_hunter, n_hunter, t_hunter[0], t_hunter[1], t_hunter[2]);
    if (ref_ok)
        printf("| `cp_refresh_series`, %d runs | - | - | %.1f | %.1f | %.1f | |\n", CP_HISTORY_RUNS,
               t_ref[0], t_ref[1], t_ref[2]);
    free(x);
    free(noise);
    return ref_ok && t_def[0] <= 1000 ? 0 : 1;
}
