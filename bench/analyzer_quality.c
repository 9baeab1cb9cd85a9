/* analyzer_quality.c -- how good the analyzer's verdicts are, measured on
 * synthetic histories with known injected shifts, next to a plain 5%
 * threshold and Bencher-style t-tests; and how fast analyze_run is on a
 * 1,000-result run against 30-run baselines in a real warehouse file.
 * Prints a Markdown section (bench/RESULTS.md). Usage: analyzer_quality [N]
 * (histories per cell, default 4000) [--no-timing | --timing-only]; AQ_KEEP=FILE
 * keeps the timing warehouse in FILE for profiling. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyze.h"
#include "rules.h"
#include "stats.h"
#include "store.h"
#include "util.h"

#define BASE_RUNS 30
#define ITERS 5

/* ---- random numbers (xoshiro256**, deterministic) ---- */

static uint64_t rs[4] = {0x9E3779B97F4A7C15ull, 0xBF58476D1CE4E5B9ull, 0x94D049BB133111EBull,
                         0x2545F4914F6CDD1Dull};

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t next_u64(void)
{
    uint64_t r = rotl(rs[1] * 5, 7) * 9, t = rs[1] << 17;
    rs[2] ^= rs[0];
    rs[3] ^= rs[1];
    rs[1] ^= rs[2];
    rs[0] ^= rs[3];
    rs[2] ^= t;
    rs[3] = rotl(rs[3], 45);
    return r;
}

static double unif(void) { return ((double)(next_u64() >> 11) + 0.5) / 9007199254740992.0; }

static double gauss(void)
{
    return sqrt(-2 * log(unif())) * cos(6.283185307179586 * unif());
}

/* Student t with 3 df scaled to unit variance (variance of t3 is 3). */
static double t3(void)
{
    double z = gauss(), c = 0;
    for (int i = 0; i < 3; i++) {
        double g = gauss();
        c += g * g;
    }
    return z / sqrt(c / 3) / sqrt(3.0);
}

/* ---- noise profiles ---- */

enum tails { T_NORMAL, T_HEAVY, T_OUTLIERS, T_LOGNORMAL };

typedef struct profile {
    const char *name;
    int higher_is_better;     /* 1 throughput, 0 latency */
    double cv;                /* within-run SD of an iteration, relative */
    double between;           /* SD of a run's level, relative */
    double drift;             /* SD of the random-walk step of the level per run, relative */
    enum tails tails;
    int bad_base_runs;        /* baseline runs hit as a whole (25% worse) */
    double outlier_p;         /* probability an iteration is hit (20-60% worse) */
} profile;

static const profile profiles[] = {
    {"ops/s, CV 1%", 1, 0.01, 0.005, 0, T_NORMAL, 0, 0},
    {"ops/s, CV 2%", 1, 0.02, 0.01, 0, T_NORMAL, 0, 0},
    {"ops/s, CV 3%", 1, 0.03, 0.015, 0, T_NORMAL, 0, 0},
    {"ops/s, CV 3%, heavy tails (t3)", 1, 0.03, 0.015, 0, T_HEAVY, 0, 0},
    {"ops/s, CV 3%, 5% outlier iterations", 1, 0.03, 0.015, 0, T_OUTLIERS, 0, 0.05},
    {"ops/s, CV 3%, drifting level", 1, 0.03, 0.01, 0.004, T_NORMAL, 0, 0},
    {"ops/s, CV 3%, runs 3% apart", 1, 0.03, 0.03, 0, T_NORMAL, 0, 0},
    {"ops/s, CV 3%, 2 bad baseline runs", 1, 0.03, 0.015, 0, T_NORMAL, 2, 0},
    {"ops/s, CV 5%", 1, 0.05, 0.025, 0, T_NORMAL, 0, 0},
    {"ops/s, CV 10%", 1, 0.10, 0.05, 0, T_NORMAL, 0, 0},
    {"ops/s, CV 10%, heavy tails + outliers", 1, 0.10, 0.05, 0, T_HEAVY, 0, 0.05},
    {"p99 µs, CV 3%, lognormal + spikes", 0, 0.03, 0.015, 0, T_LOGNORMAL, 0, 0.05},
    {"p99 µs, CV 10%, lognormal + spikes", 0, 0.10, 0.05, 0, T_LOGNORMAL, 0, 0.05},
};
#define N_PROFILES (sizeof profiles / sizeof profiles[0])

/* One iteration's value at run level `level` (1 = nominal). */
static double iteration(const profile *p, double level)
{
    double e;
    switch (p->tails) {
    case T_HEAVY: e = p->cv * t3(); break;
    case T_LOGNORMAL: e = exp(p->cv * gauss()) - 1; break;
    default: e = p->cv * gauss(); break;
    }
    double x = level * (1 + e);
    if (p->outlier_p > 0 && unif() < p->outlier_p) {
        double hit = 0.2 + 0.4 * unif();
        x = p->higher_is_better ? x * (1 - hit) : x * (1 + 2 * hit);
    }
    return x > 0 ? x : 1e-9;
}

/* A history: BASE_RUNS baseline runs then one candidate run whose level is
 * multiplied by (1 + shift). Values scaled to 100000 (ops/s) or 500 (µs). */
typedef struct history {
    double base[BASE_RUNS * ITERS];
    int base_run[BASE_RUNS * ITERS];
    double cand[ITERS];
} history;

static void make_history(const profile *p, double shift, history *h)
{
    double scale = p->higher_is_better ? 100000 : 500, walk = 0;
    int bad[BASE_RUNS] = {0};
    for (int k = 0; k < p->bad_base_runs; k++) bad[(int)(unif() * BASE_RUNS)] = 1;
    for (int r = 0; r <= BASE_RUNS; r++) {
        walk += p->drift * gauss();
        double level = (1 + walk) * (1 + p->between * gauss());
        if (r < BASE_RUNS && bad[r]) level *= p->higher_is_better ? 0.75 : 1.25;
        if (r == BASE_RUNS) level *= 1 + shift;
        for (int i = 0; i < ITERS; i++) {
            double x = scale * iteration(p, level);
            if (r < BASE_RUNS) {
                h->base[r * ITERS + i] = x;
                h->base_run[r * ITERS + i] = r;
            } else {
                h->cand[i] = x;
            }
        }
    }
}

/* ---- the deciders compared ---- */

enum method { M_DEFAULT, M_PLAIN5, M_WELCH, M_BENCHER95, M_BENCHER99, M__MAX };
static const char *const method_name[M__MAX] = {
    "redbench default", "plain 5% threshold", "Welch p<0.05, no threshold",
    "Bencher t_test 0.95", "Bencher t_test 0.99",
};

/* Bencher's t_test threshold as we read it: one value per run (the run's
 * mean), the new value against mean +- t(boundary, n-1) * sd of the
 * historical values, no practical threshold. */
static enum judge_status bencher(const history *h, int hib, double boundary)
{
    double rm[BASE_RUNS];
    for (int r = 0; r < BASE_RUNS; r++) rm[r] = stats_mean(h->base + r * ITERS, ITERS);
    double m = stats_mean(rm, BASE_RUNS), sd = stats_stddev(rm, BASE_RUNS);
    double q = stats_t_quantile(boundary, BASE_RUNS - 1);
    double c = stats_mean(h->cand, ITERS);
    if (c < m - q * sd) return hib ? J_REGRESSION : J_IMPROVEMENT;
    if (c > m + q * sd) return hib ? J_IMPROVEMENT : J_REGRESSION;
    return J_PASS;
}

static enum judge_status decide(enum method m, const history *h, const profile *p,
                                const analyze_opts *o, enum metric met)
{
    judge_input in = {
        .base = h->base, .base_run = h->base_run, .n_base = BASE_RUNS * ITERS,
        .n_base_runs = BASE_RUNS, .cand = h->cand, .n_cand = ITERS,
        .higher_is_better = p->higher_is_better, .threshold = o->threshold[met],
        .alpha = o->alpha, .min_baseline_runs = o->min_baseline_runs,
    };
    judgement j;
    switch (m) {
    case M_DEFAULT: rule_judge(RULE_DEFAULT, &in, &j); return j.status;
    case M_PLAIN5:
        in.threshold = 0.05;
        rule_judge(RULE_THRESHOLD, &in, &j);
        return j.status;
    case M_WELCH:
        in.threshold = 0;
        in.alpha = 0.05;
        rule_judge(RULE_WELCH, &in, &j);
        return j.status;
    case M_BENCHER95: return bencher(h, p->higher_is_better, 0.95);
    case M_BENCHER99: return bencher(h, p->higher_is_better, 0.99);
    default: return J_INSUFFICIENT;
    }
}

/* Shifts of the candidate's level: worse first (negative for throughput). */
static const double shifts[] = {0.02, 0.05, 0.10, 0.20, 0.50};
#define N_SHIFTS (sizeof shifts / sizeof shifts[0])

typedef struct tally {
    long n, regress, improve;
} tally;

static void run_cell(const profile *p, double worse_by, int better, long n, const analyze_opts *o,
                     tally t[M__MAX])
{
    enum metric met = p->higher_is_better ? MET_OPS : MET_P99;
    /* A worse change: throughput down, latency up; a better one the reverse. */
    double shift = (p->higher_is_better != better) ? -worse_by : worse_by;
    if (better && !p->higher_is_better) shift = -worse_by / (1 + worse_by); /* latency 1/(1+x) */
    history h;
    memset(t, 0, M__MAX * sizeof *t);
    for (long i = 0; i < n; i++) {
        make_history(p, shift, &h);
        for (int m = 0; m < M__MAX; m++) {
            enum judge_status s = decide((enum method)m, &h, p, o, met);
            t[m].n++;
            t[m].regress += s == J_REGRESSION;
            t[m].improve += s == J_IMPROVEMENT;
        }
    }
}

static double pct(long a, long n) { return n ? 100.0 * (double)a / (double)n : NAN; }

static void quality(long n)
{
    analyze_opts o;
    analyze_opts_default(&o);
    printf("\n## Analyzer quality\n\n"
           "`bench/analyzer_quality.c`: synthetic histories of %d baseline runs × %d iterations and a\n"
           "candidate run of %d iterations; %ld histories per cell, fixed seed. A run's level varies\n"
           "(\"between\" SD) around the nominal value, iterations vary around their run's level\n"
           "(\"within\" CV); heavy tails are Student t with 3 df, outlier iterations are 20–60%% worse,\n"
           "bad baseline runs are 25%% worse, a drifting level is a random walk. Default settings:\n"
           "rule `default`, alpha %g, threshold ops/s %g%%, p99 %g%%, min %d baseline runs.\n\n",
           BASE_RUNS, ITERS, ITERS, n, o.alpha, o.threshold[MET_OPS] * 100,
           o.threshold[MET_P99] * 100, o.min_baseline_runs);

    printf("### False alarms on unchanged series (%% of histories flagged regression; any change in brackets)\n\n");
    printf("| profile | within CV | between SD |");
    for (int m = 0; m < M__MAX; m++) printf(" %s |", method_name[m]);
    printf("\n|---|---:|---:|");
    for (int m = 0; m < M__MAX; m++) printf("---:|");
    printf("\n");
    tally t[M__MAX];
    for (size_t p = 0; p < N_PROFILES; p++) {
        run_cell(&profiles[p], 0, 0, n, &o, t);
        printf("| %s | %g%% | %g%% |", profiles[p].name, profiles[p].cv * 100,
               profiles[p].between * 100);
        for (int m = 0; m < M__MAX; m++)
            printf(" %.2f (%.2f) |", pct(t[m].regress, t[m].n),
                   pct(t[m].regress + t[m].improve, t[m].n));
        printf("\n");
        fflush(stdout);
    }

    printf("\n### Detection by shift size, redbench default (%% of histories flagged)\n\n"
           "Worse: throughput lower / latency higher by the shift, counted as regressions;\n"
           "better: the reverse, counted as improvements.\n\n| profile |");
    for (size_t s = 0; s < N_SHIFTS; s++) printf(" worse %g%% |", shifts[s] * 100);
    for (size_t s = 0; s < N_SHIFTS; s++) printf(" better %g%% |", shifts[s] * 100);
    printf("\n|---|");
    for (size_t s = 0; s < 2 * N_SHIFTS; s++) printf("---:|");
    printf("\n");
    double det10[N_PROFILES][M__MAX];
    for (size_t p = 0; p < N_PROFILES; p++) {
        printf("| %s |", profiles[p].name);
        for (int better = 0; better <= 1; better++)
            for (size_t s = 0; s < N_SHIFTS; s++) {
                run_cell(&profiles[p], shifts[s], better, n, &o, t);
                printf(" %.1f |", pct(better ? t[M_DEFAULT].improve : t[M_DEFAULT].regress, t[M_DEFAULT].n));
                if (!better && shifts[s] == 0.10)
                    for (int m = 0; m < M__MAX; m++) det10[p][m] = pct(t[m].regress, t[m].n);
            }
        printf("\n");
        fflush(stdout);
    }

    printf("\n### A 10%% worse candidate: detection by method (%% flagged regression)\n\n| profile |");
    for (int m = 0; m < M__MAX; m++) printf(" %s |", method_name[m]);
    printf("\n|---|");
    for (int m = 0; m < M__MAX; m++) printf("---:|");
    printf("\n");
    for (size_t p = 0; p < N_PROFILES; p++) {
        printf("| %s |", profiles[p].name);
        for (int m = 0; m < M__MAX; m++) printf(" %.1f |", det10[p][m]);
        printf("\n");
    }
}

/* ---- speed: analyze_run on a real warehouse ---- */

#define T_RESULTS 1000
#define T_RUNS (BASE_RUNS + 1)
#define T_REPEAT 7

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int timing(void)
{
    char path[] = "/tmp/redbench-aq-XXXXXX";
    const char *keep = getenv("AQ_KEEP");
    int fd = mkstemp(path);
    if (fd < 0) return 1;
    close(fd);
    unlink(path);
    if (keep) snprintf(path, sizeof path, "%s", keep);
    char err[RB_ERR_LEN];
    store *st = store_open(path, err);
    if (!st) {
        fprintf(stderr, "analyzer_quality: %s\n", err);
        return 1;
    }
    uint64_t t0 = now_ns();
    char last_id[RB_NAME_LEN] = "";
    for (int r = 0; r < T_RUNS; r++) {
        rb_run run;
        run_init(&run);
        snprintf(run.id, sizeof run.id, "aq-run-%02d", r);
        snprintf(last_id, sizeof last_id, "%s", run.id);
        snprintf(run.project, sizeof run.project, "aq");
        snprintf(run.branch, sizeof run.branch, "main");
        snprintf(run.mode, sizeof run.mode, "single");
        snprintf(run.client_region, sizeof run.client_region, "local");
        snprintf(run.server_region, sizeof run.server_region, "local");
        snprintf(run.target_preset, sizeof run.target_preset, "local");
        snprintf(run.target_version, sizeof run.target_version, "7.0.%d", r == BASE_RUNS ? 1 : 0);
        snprintf(run.started_at, sizeof run.started_at, "2026-10-%02dT10:00:00.000Z", r + 1);
        snprintf(run.ended_at, sizeof run.ended_at, "2026-10-%02dT10:05:00.000Z", r + 1);
        kv_set(&run.config, &run.n_config, "maxmemory-policy", "noeviction");
        for (int i = 0; i < T_RESULTS; i++) {
            rb_result *res = run_add_result(&run);
            snprintf(res->scenario, sizeof res->scenario, "op%d", i / 10);
            snprintf(res->op, sizeof res->op, "op%d", i / 10);
            snprintf(res->data_type, sizeof res->data_type, "string");
            res->concurrency = 1 + i % 10;
            res->pipeline = 1;
            res->value_size = 64;
            res->dataset_size = 1000;
            res->latency = hist_new();
            /* A histogram of realistic size in the row (~100 µs lognormal). */
            for (int k = 0; k < 500; k++) hist_record(res->latency, (uint64_t)(1e5 * exp(0.5 * gauss())));
            res->samples = xcalloc(ITERS, sizeof *res->samples);
            res->n_samples = ITERS;
            for (int k = 0; k < ITERS; k++) {
                rb_sample *s = &res->samples[k];
                s->ops_per_sec = 100000 * (1 + 0.03 * gauss());
                s->p50_us = 100 * (1 + 0.03 * gauss());
                s->p99_us = 500 * (1 + 0.05 * gauss());
                s->requests = 10000;
                s->seconds = 0.1;
            }
            res->ops_per_sec = res->samples[0].ops_per_sec;
            res->p50_us = 100;
            res->p99_us = 500;
        }
        /* As the collector ingests: the run and its verdicts in one transaction. */
        char *doc = run_to_json(&run, 0);
        sqlite3 *db = store_writer_lock(st);
        analyze_opts ao;
        analyze_opts_default(&ao);
        verdict_list vl;
        verdict_list_init(&vl);
        int bad = store_exec(db, "BEGIN", err) < 0 ||
                  store_insert_run(db, &run, doc, err) != STORE_CREATED ||
                  analyze_run(db, run.id, &ao, &vl, err) < 0 || analyze_save(db, &vl, err) < 0 ||
                  store_exec(db, "COMMIT", err) < 0;
        verdict_list_cleanup(&vl);
        store_writer_unlock(st);
        free(doc);
        run_cleanup(&run);
        if (bad) {
            fprintf(stderr, "analyzer_quality: %s\n", err);
            store_close(st);
            return 1;
        }
    }
    double build_s = (double)(now_ns() - t0) / 1e9;
    sqlite3 *db = store_reader(st);
    analyze_opts o;
    analyze_opts_default(&o);
    double ms[T_REPEAT];
    size_t nv = 0;
    for (int k = 0; k < T_REPEAT; k++) {
        verdict_list vl;
        uint64_t a = now_ns();
        if (analyze_run(db, last_id, &o, &vl, err) < 0) {
            fprintf(stderr, "analyzer_quality: %s\n", err);
            store_reader_release(st, db);
            store_close(st);
            return 1;
        }
        ms[k] = (double)(now_ns() - a) / 1e6;
        nv = vl.n;
        verdict_list_cleanup(&vl);
    }
    store_reader_release(st, db);
    store_close(st);
    for (const char *suf = ""; suf && !keep; suf = !*suf ? "-wal" : !strcmp(suf, "-wal") ? "-shm" : NULL) {
        char p[sizeof path + 8];
        snprintf(p, sizeof p, "%s%s", path, suf);
        unlink(p);
    }
    qsort(ms, T_REPEAT, sizeof ms[0], cmpd);
    printf("\n### Speed of analyze_run\n\n"
           "A warehouse file built as the collector ingests (`store_insert_run`, then `analyze_run`\n"
           "and `analyze_save` in the same transaction): %d runs on `main` of %d results × %d\n"
           "iterations (built in %.1f s); `analyze_run` of the last run against its 30-run baselines\n"
           "(%zu verdicts), %d times, reader connection, warm cache.\n\n"
           "| median ms | fastest | slowest | goal |\n|---:|---:|---:|---:|\n"
           "| %.1f | %.1f | %.1f | ≤ 100 |\n",
           T_RUNS, T_RESULTS, ITERS, build_s, nv, T_REPEAT, ms[T_REPEAT / 2], ms[0],
           ms[T_REPEAT - 1]);
    return 0;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 4000;
    if (n < 1) n = 1;
    if (!(argc > 2 && strcmp(argv[2], "--no-timing") == 0) && timing() != 0) return 1;
    if (!(argc > 2 && strcmp(argv[2], "--timing-only") == 0)) quality(n);
    return 0;
}
