/* test_changepoint.c -- the change point detector: the O(n log n) energy
 * statistic against the plain O(n^2) sums, constructed step series, false
 * alarms on noise, missing values, tiny and constant series, the series parser,
 * the fixtures of tests/fixtures/changepoints/ (NAME.csv or NAME.json beside
 * NAME.expected, one index per line) and the warehouse table change_points. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "changepoint.h"
#include "store.h"
#include "testhelp.h"
#include "util.h"

/* xorshift64 and Box-Muller: reproducible noise without libc's rand(). */
static uint64_t rng_state;
static void rng_seed(uint64_t s) { rng_state = s * 0x9e3779b97f4a7c15ull + 1; }
static double u01(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return ((double)(rng_state >> 11) + 0.5) / 9007199254740992.0;
}
static double gauss(void) { return sqrt(-2 * log(u01())) * cos(6.283185307179586 * u01()); }

static int detect(const double *x, size_t n, cp_point *out, size_t max_out)
{
    cp_opts o;
    cp_opts_default(&o);
    char err[RB_ERR_LEN];
    return cp_detect(x, n, &o, out, max_out, err);
}

/* Q(t) straight from its definition. */
static double naive_q(const double *x, size_t n, size_t t)
{
    double cross = 0, wx = 0, wy = 0;
    for (size_t i = 0; i < t; i++)
        for (size_t j = t; j < n; j++) cross += fabs(x[i] - x[j]);
    for (size_t i = 0; i < t; i++)
        for (size_t k = i + 1; k < t; k++) wx += fabs(x[i] - x[k]);
    for (size_t j = t; j < n; j++)
        for (size_t k = j + 1; k < n; k++) wy += fabs(x[j] - x[k]);
    double a = (double)t, b = (double)(n - t);
    double e = 2 * cross / (a * b) - (t > 1 ? wx / (a * (a - 1) / 2) : 0) -
               (n - t > 1 ? wy / (b * (b - 1) / 2) : 0);
    return a * b / (a + b) * e;
}

static void test_energy_matches_naive(void)
{
    size_t sizes[] = {1, 2, 3, 7, 50, 201};
    rng_seed(1);
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        size_t n = sizes[s];
        double *x = xmalloc(n * sizeof *x), *q = xmalloc((n + 1) * sizeof *q);
        for (size_t i = 0; i < n; i++) /* rounded: ties on purpose */
            x[i] = round((i > n / 2 ? 12 : 10) + 3 * gauss());
        cp_energy(x, n, q);
        CHECK(q[0] == 0 && q[n] == 0);
        for (size_t t = 1; t < n; t++) {
            double want = naive_q(x, n, t);
            CHECK_NEAR(q[t], want, 1e-9 * (1 + fabs(want)));
        }
        free(x);
        free(q);
    }
}

static void test_tiny_series(void)
{
    cp_point cp[4];
    double x[] = {1, 1000, 1, 1000, 7};
    CHECK(detect(NULL, 0, NULL, 0) == 0);
    CHECK(detect(x, 1, cp, 4) == 0);
    CHECK(detect(x, 2, cp, 4) == 0);
    CHECK(detect(x, 5, cp, 4) == 0); /* fewer than 2 * min_segment */

    cp_opts o;
    cp_opts_default(&o);
    o.min_segment = 1;
    char err[RB_ERR_LEN];
    double two[] = {1, 5};
    CHECK(cp_detect(two, 2, &o, cp, 4, err) == 0); /* no degrees of freedom */
    double four[] = {1, 1, 5, 5};
    CHECK(cp_detect(four, 4, &o, cp, 4, err) == 1);
    CHECK(cp[0].index == 2);
}

static void test_constant_series(void)
{
    double x[100];
    cp_point cp[8];
    for (int i = 0; i < 100; i++) x[i] = 0.1; /* 0.1 * k is not exact: no false shift */
    CHECK(detect(x, 100, cp, 8) == 0);
    x[10] = x[50] = NAN;
    CHECK(detect(x, 100, cp, 8) == 0);
}

static void test_one_step_exact(void)
{
    double x[40];
    cp_point cp[4];
    for (int i = 0; i < 40; i++) x[i] = i < 20 ? 10 : 20;
    CHECK(detect(x, 40, cp, 4) == 1);
    CHECK(cp[0].index == 20);
    CHECK_NEAR(cp[0].mean_before, 10, 0);
    CHECK_NEAR(cp[0].mean_after, 20, 0);
    CHECK_NEAR(cp[0].change, 1.0, 1e-15);
    CHECK_NEAR(cp[0].p_value, 0, 0);
    CHECK(cp[0].n_before == 20 && cp[0].n_after == 20);
    CHECK(cp[0].qhat > 0);
}

static void test_two_steps(void)
{
    double x[90];
    cp_point cp[8];
    rng_seed(2);
    for (int i = 0; i < 90; i++) x[i] = (i < 30 || i >= 60 ? 50 : 60) * (1 + 0.02 * gauss());
    CHECK(detect(x, 90, cp, 8) == 2);
    CHECK(cp[0].index == 30 && cp[1].index == 60);
    CHECK(cp[0].change > 0.15 && cp[0].change < 0.25);
    CHECK(cp[1].change < -0.12 && cp[1].change > -0.22);
    CHECK(cp[0].n_before == 30 && cp[0].n_after == 30 && cp[1].n_after == 30);
    CHECK(cp[0].p_value < 1e-10 && cp[1].p_value < 1e-10);
}

/* A 10% drop under 2% noise, anywhere in a 60-run history: found, within one
 * index, and nothing else found. */
static void test_step_10pct_noise_2pct(void)
{
    int found = 0, exact = 0, extra = 0;
    double x[60];
    cp_point cp[8];
    for (int s = 0; s < 100; s++) {
        rng_seed(1000 + (uint64_t)s);
        size_t at = 5 + (size_t)(u01() * 50); /* 5..54 */
        for (size_t i = 0; i < 60; i++) x[i] = 100000 * (i < at ? 1.0 : 0.9) * (1 + 0.02 * gauss());
        int n = detect(x, 60, cp, 8);
        int hit = 0;
        for (int k = 0; k < n; k++)
            if (labs((long)cp[k].index - (long)at) <= 1) hit = 1, exact += cp[k].index == at;
        found += hit;
        extra += n - hit;
    }
    printf("# 10%% step, 2%% noise, n=60: found %d/100 within +-1 (%d exactly), %d extra\n", found,
           exact, extra);
    CHECK(found == 100);
    CHECK(extra == 0);
}

/* Noise only: 200 seeded series of 100 runs (2% Gaussian noise) and 200 with
 * heavy tails (Student t, 3 df): few false change points at the defaults. */
static void test_no_false_alarms_on_noise(void)
{
    int fp_gauss = 0, fp_heavy = 0;
    double x[100];
    cp_point cp[8];
    for (int s = 0; s < 200; s++) {
        rng_seed(5000 + (uint64_t)s);
        for (int i = 0; i < 100; i++) x[i] = 250000 * (1 + 0.02 * gauss());
        fp_gauss += detect(x, 100, cp, 8) > 0;
        for (int i = 0; i < 100; i++) {
            double chi = (pow(gauss(), 2) + pow(gauss(), 2) + pow(gauss(), 2)) / 3;
            x[i] = 250000 * (1 + 0.02 * gauss() / sqrt(chi));
        }
        fp_heavy += detect(x, 100, cp, 8) > 0;
    }
    printf("# noise only, 200 series of 100: %d with a false change point (Gaussian), %d (t3)\n",
           fp_gauss, fp_heavy);
    CHECK(fp_gauss <= 2); /* <= 1% */
    CHECK(fp_heavy <= 4);
}

static void test_missing_values_keep_indices(void)
{
    double a[] = {NAN, 1, 1, 1, 1, NAN, 5, 5, 5, 5};
    double b[] = {1, 1, 1, NAN, 5, 5, 5};
    double c[] = {2, 2, INFINITY, 2, 2, 9, -INFINITY, 9, 9, 9};
    double d[] = {NAN, NAN, NAN};
    cp_point cp[4];
    CHECK(detect(a, 10, cp, 4) == 1);
    CHECK(cp[0].index == 6);
    CHECK(cp[0].n_before == 4 && cp[0].n_after == 4);
    CHECK(detect(b, 7, cp, 4) == 1);
    CHECK(cp[0].index == 4); /* the first value of the new segment, past the gap */
    CHECK(detect(c, 10, cp, 4) == 1);
    CHECK(cp[0].index == 5);
    CHECK_NEAR(cp[0].mean_after, 9, 0);
    CHECK(detect(d, 3, cp, 4) == 0);
}

static void test_max_out_and_order(void)
{
    double x[60];
    cp_point cp[1];
    for (int i = 0; i < 60; i++) x[i] = i < 20 ? 1 : i < 40 ? 3 : 2;
    CHECK(detect(x, 60, cp, 1) == 2);
    CHECK(cp[0].index == 20);
    CHECK(detect(x, 60, NULL, 0) == 2);
}

static void test_bad_options(void)
{
    cp_opts o;
    char err[RB_ERR_LEN];
    double x[4] = {1, 2, 3, 4};
    cp_opts_default(&o);
    o.alpha = 0;
    CHECK(cp_detect(x, 4, &o, NULL, 0, err) == -1 && strstr(err, "alpha"));
    cp_opts_default(&o);
    o.min_segment = 0;
    CHECK(cp_detect(x, 4, &o, NULL, 0, err) == -1 && strstr(err, "min_segment"));
    cp_opts_default(&o);
    o.permutations = 99;
    o.alpha = 0.001;
    CHECK(cp_detect(x, 4, &o, NULL, 0, err) == -1 && strstr(err, "1/100"));
    cp_opts_default(&o);
    o.window = 5;
    CHECK(cp_detect(x, 4, &o, NULL, 0, err) == -1 && strstr(err, "window"));
}

static void test_permutation_test(void)
{
    cp_opts o;
    cp_opts_default(&o);
    o.permutations = 199;
    o.alpha = CP_DEFAULT_PERM_ALPHA;
    char err[RB_ERR_LEN];
    double x[80];
    cp_point a[8], b[8];
    rng_seed(7);
    for (int i = 0; i < 80; i++) x[i] = (i < 50 ? 100 : 92) * (1 + 0.02 * gauss());
    int na = cp_detect(x, 80, &o, a, 8, err), nb = cp_detect(x, 80, &o, b, 8, err);
    CHECK(na == 1 && nb == 1);
    CHECK(a[0].index == 50);
    CHECK(a[0].p_value == b[0].p_value && a[0].p_value <= 0.05);
    CHECK_NEAR(a[0].p_value, 1.0 / 200, 1e-12); /* no shuffle beats the real order */
    int fp = 0;
    for (int s = 0; s < 40; s++) {
        rng_seed(9000 + (uint64_t)s);
        for (int i = 0; i < 80; i++) x[i] = 100 * (1 + 0.02 * gauss());
        fp += cp_detect(x, 80, &o, a, 8, err) > 0;
    }
    printf("# permutation test (199, alpha 0.05), 40 noise series: %d with a change point\n", fp);
    CHECK(fp <= 6);
}

/* Otava-like settings: sliding windows of 50, raw p-values at 0.001. */
static void test_hunter_windows(void)
{
    cp_opts o;
    cp_opts_default(&o);
    o.window = 50;
    o.no_correction = 1;
    o.alpha = 0.001;
    o.min_segment = 1;
    char err[RB_ERR_LEN];
    double x[200];
    cp_point cp[32];
    rng_seed(11);
    for (int i = 0; i < 200; i++)
        x[i] = (i < 60 ? 100 : i < 130 ? 85 : i < 170 ? 100 : 120) * (1 + 0.01 * gauss());
    int n = cp_detect(x, 200, &o, cp, 32, err);
    CHECK(n == 3);
    CHECK(n >= 3 && cp[0].index == 60 && cp[1].index == 130 && cp[2].index == 170);
    cp_opts_default(&o); /* the defaults agree */
    CHECK(cp_detect(x, 200, &o, cp, 32, err) == 3 && cp[0].index == 60 && cp[1].index == 130 &&
          cp[2].index == 170);
}

static void test_min_change(void)
{
    cp_opts o;
    cp_opts_default(&o);
    char err[RB_ERR_LEN];
    double x[90];
    cp_point cp[8];
    rng_seed(12);
    for (int i = 0; i < 90; i++) x[i] = (i < 30 ? 100 : i < 60 ? 90 : 87.3) * (1 + 0.002 * gauss());
    CHECK(cp_detect(x, 90, &o, cp, 8, err) == 2);
    o.min_change = 0.05;
    CHECK(cp_detect(x, 90, &o, cp, 8, err) == 1);
    CHECK(cp[0].index == 30);
    CHECK(cp[0].n_after == 60); /* the segments merged */
}

static int parse(const char *s, double **x, size_t *n, char *err)
{
    return cp_parse_series(s, strlen(s), x, n, err);
}

static void test_parse_series(void)
{
    double *x = NULL;
    size_t n = 0;
    char err[RB_ERR_LEN];

    CHECK(parse("ops\r\n1.5\r\n\r\n  2 \nNaN\n\"3e2\"\nnull\nNA\n-4\n", &x, &n, err) == 0);
    CHECK(n == 7);
    if (n == 7) {
        CHECK(x[0] == 1.5 && x[1] == 2 && isnan(x[2]) && x[3] == 300 && isnan(x[4]) &&
              isnan(x[5]) && x[6] == -4);
    }
    free(x);
    CHECK(parse("", &x, &n, err) == 0 && n == 0);
    free(x);
    CHECK(parse("\n\n", &x, &n, err) == 0 && n == 0);
    free(x);
    CHECK(parse("value\n", &x, &n, err) == 0 && n == 0);
    free(x);
    CHECK(parse("1\n2", &x, &n, err) == 0 && n == 2 && x[1] == 2); /* no final newline */
    free(x);

    CHECK(parse("1\n2\nabc\n", &x, &n, err) == -1);
    CHECK(strstr(err, "line 3") && strstr(err, "abc"));
    CHECK(parse("h\n1\n\n2,3\n", &x, &n, err) == -1);
    CHECK(strstr(err, "line 4") && strstr(err, "one column"));
    CHECK(parse("1\ninf\n", &x, &n, err) == -1 && strstr(err, "line 2"));
    CHECK(parse("a\nb\n", &x, &n, err) == -1 && strstr(err, "line 2"));
    CHECK(parse("12abc\n", &x, &n, err) == -1 && strstr(err, "line 1"));

    CHECK(parse(" [1, null, 2.5e3]\n", &x, &n, err) == 0);
    CHECK(n == 3 && x[0] == 1 && isnan(x[1]) && x[2] == 2500);
    free(x);
    CHECK(parse("[]", &x, &n, err) == 0 && n == 0);
    free(x);
    CHECK(parse("[1,\n2,\n3,,\n4]", &x, &n, err) == -1);
    CHECK(strstr(err, "line 3") && strstr(err, "malformed"));
    CHECK(parse("[1, \"2\"]", &x, &n, err) == -1 && strstr(err, "element 1"));
    CHECK(parse("[1] x", &x, &n, err) == -1 && strstr(err, "after"));
    CHECK(parse("{\"a\": 1}", &x, &n, err) == -1 && strstr(err, "array"));
}

static size_t read_expected(const char *path, size_t *idx, size_t max)
{
    FILE *f = fopen(path, "r");
    size_t n = 0;
    unsigned long v;
    if (!f) return (size_t)-1;
    while (n < max && fscanf(f, "%lu", &v) == 1) idx[n++] = v;
    fclose(f);
    return n;
}

static void test_fixtures(void)
{
    const char *root = getenv("RB_ROOT");
    char dir[1024], path[1400];
    snprintf(dir, sizeof dir, "%s/tests/fixtures/changepoints", root && *root ? root : ".");
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    if (!d) return;
    int files = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        int csv = l > 4 && !strcmp(e->d_name + l - 4, ".csv");
        int json = l > 5 && !strcmp(e->d_name + l - 5, ".json");
        if (!csv && !json) continue;
        files++;
        char err[RB_ERR_LEN] = "";
        size_t len, want[64], nwant;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        char *text = read_file(path, 1 << 20, &len, err);
        snprintf(path, sizeof path, "%s/%.*s.expected", dir, (int)(l - (csv ? 4 : 5)), e->d_name);
        nwant = read_expected(path, want, 64);
        double *x = NULL;
        size_t n = 0;
        int ok = text && nwant != (size_t)-1 && cp_parse_series(text, len, &x, &n, err) == 0;
        if (!ok) {
            fprintf(stderr, "  fixture %s: %s\n", e->d_name, *err ? err : "no .expected");
            th_cur_fail++;
        } else {
            cp_point *cp = xmalloc((n + 1) * sizeof *cp);
            int got = detect(x, n, cp, n);
            int same = got == (int)nwant;
            for (int k = 0; same && k < got; k++) same = cp[k].index == want[k];
            if (!same) {
                fprintf(stderr, "  fixture %s: got", e->d_name);
                for (int k = 0; k < got; k++) fprintf(stderr, " %zu", cp[k].index);
                fprintf(stderr, ", expected");
                for (size_t k = 0; k < nwant; k++) fprintf(stderr, " %zu", want[k]);
                fprintf(stderr, "\n");
                th_cur_fail++;
            }
            free(cp);
        }
        free(x);
        free(text);
    }
    closedir(d);
    CHECK(files >= 10);
}

/* ---- the warehouse ---- */

static int exec(sqlite3 *db, const char *sql)
{
    char err[RB_ERR_LEN];
    if (store_exec(db, sql, err) < 0) {
        fprintf(stderr, "  %s\n", err);
        return -1;
    }
    return 0;
}

/* Run i of a series: ops/s level, 3 samples with a little noise. */
static void add_run(sqlite3 *db, const char *branch, int i, double ops, double p50,
                    const char *status)
{
    char sql[2048];
    snprintf(sql, sizeof sql,
             "INSERT INTO runs(id, project, branch, commit_sha, mode, started_at, ended_at, document,"
             " ingested_at) VALUES ('%s-%02d', 'p', '%s', 'c%02d', 'single',"
             " '2024-01-01T00:%02d:00.000Z', '2024-01-01T00:%02d:30.000Z', '{}', 'now');"
             "INSERT INTO results(run_id, series_key, scenario, op, data_type, concurrency, pipeline,"
             " value_size, dataset_size, requests, errors, ops_per_sec, p50_us, p90_us, p95_us, p99_us,"
             " p999_us, max_us, mean_us, latency_hist, status) VALUES ('%s-%02d', 'k1', 'get', 'get',"
             " 'string', 1, 1, 64, 100, 300, 0, %g, %g, 0, 0, %g, 0, 0, 0, '', '%s');",
             branch, i, branch, i, i, i, branch, i, ops, p50, p50 * 2, status);
    CHECK(exec(db, sql) == 0);
    for (int it = 0; it < 3; it++) {
        double e = 1 + 0.01 * gauss();
        snprintf(sql, sizeof sql,
                 "INSERT INTO samples(result_id, iteration, ops_per_sec, requests, errors, seconds,"
                 " p50_us, p99_us) SELECT id, %d, %.17g, 100, 0, 1, %.17g, %.17g FROM results"
                 " WHERE run_id = '%s-%02d'",
                 it, ops * e, p50 * e, p50 * 2 * e, branch, i);
        CHECK(exec(db, sql) == 0);
    }
}

static long long count(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    long long v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void test_warehouse(void)
{
    char dir[] = "/tmp/rb-cp-XXXXXX", path[64], err[RB_ERR_LEN];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/wh.db", dir);
    store *s = store_open(path, err);
    CHECK(s != NULL);
    if (!s) {
        fprintf(stderr, "  %s\n", err);
        return;
    }
    sqlite3 *db = store_writer_lock(s);
    rng_seed(21);
    CHECK(exec(db, "BEGIN") == 0);
    /* main: 20 runs, ops/s drops 20% and p50 rises 25% from run 12 on; a failed
     * run in between takes no part; another branch holds wild values. */
    for (int i = 0; i < 20; i++) add_run(db, "main", i, i < 12 ? 100000 : 80000, i < 12 ? 40 : 50, "ok");
    add_run(db, "main", 30, 1, 1, "failed");
    CHECK(exec(db, "UPDATE runs SET started_at = '2024-01-01T00:05:30.000Z' WHERE id = 'main-30'") == 0);
    for (int i = 0; i < 10; i++) add_run(db, "feature", i, i < 5 ? 5 : 5000, 1, "ok");
    CHECK(cp_refresh_run(db, "main-19", err) == 0);
    CHECK(exec(db, "COMMIT") == 0);

    CHECK(count(db, "SELECT count(*) FROM change_points") == 3); /* ops, p50, p99 */
    CHECK(count(db, "SELECT count(*) FROM change_points WHERE run_id = 'main-12' AND branch = 'main'"
                    " AND series_key = 'k1' AND metric IN ('ops_per_sec', 'p50_us')") == 2);
    CHECK(count(db, "SELECT count(*) FROM change_points WHERE metric = 'ops_per_sec'"
                    " AND commit_sha = 'c12' AND started_at = '2024-01-01T00:12:00.000Z'"
                    " AND abs(mean_before - 100000) < 1000 AND abs(mean_after - 80000) < 1000"
                    " AND change BETWEEN -0.21 AND -0.19 AND p_value < 1e-6"
                    " AND runs_before = 12 AND runs_after = 8 AND detected_at LIKE '20%Z'") == 1);

    char run[RB_NAME_LEN], commit[RB_NAME_LEN], started[RB_NAME_LEN];
    CHECK(cp_since(db, "p", "main", "k1", "ops_per_sec", run, commit, started, err) == 1);
    CHECK_STREQ(run, "main-12");
    CHECK_STREQ(commit, "c12");
    CHECK_STREQ(started, "2024-01-01T00:12:00.000Z");
    CHECK(cp_since(db, "p", "main", "k1", "p99_us", NULL, NULL, NULL, err) == 1);
    CHECK(cp_since(db, "p", "feature", "k1", "ops_per_sec", run, NULL, NULL, err) == 0);
    CHECK(cp_since(db, "p", "main", "nope", "ops_per_sec", run, NULL, NULL, err) == 0);

    /* Refreshing again keeps when each change point was first seen; the
     * feature branch gets its own. */
    CHECK(exec(db, "UPDATE change_points SET detected_at = '2000-01-01T00:00:00.000Z'") == 0);
    CHECK(exec(db, "BEGIN") == 0);
    CHECK(cp_refresh_series(db, "p", "main", "k1", err) == 0);
    CHECK(cp_refresh_run(db, "feature-09", err) == 0);
    CHECK(exec(db, "COMMIT") == 0);
    CHECK(count(db, "SELECT count(*) FROM change_points WHERE branch = 'main'"
                    " AND detected_at = '2000-01-01T00:00:00.000Z'") == 3);
    CHECK(count(db, "SELECT count(*) FROM change_points WHERE branch = 'feature'"
                    " AND run_id = 'feature-05' AND metric = 'ops_per_sec'") == 1);

    /* The shift undone (runs 12.. back to the old level): its rows go. */
    CHECK(exec(db, "UPDATE results SET ops_per_sec = 100000, p50_us = 40, p99_us = 80"
                   " WHERE run_id LIKE 'main-%'") == 0);
    CHECK(cp_refresh_series(db, "p", "main", "k1", err) == 0);
    CHECK(count(db, "SELECT count(*) FROM change_points WHERE branch = 'main'") == 0);

    CHECK(cp_refresh_run(db, "no-such-run", err) == -1 && strstr(err, "not found"));
    store_writer_unlock(s);
    store_close(s);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}

int main(void)
{
    RUN(test_energy_matches_naive);
    RUN(test_tiny_series);
    RUN(test_constant_series);
    RUN(test_one_step_exact);
    RUN(test_two_steps);
    RUN(test_step_10pct_noise_2pct);
    RUN(test_no_false_alarms_on_noise);
    RUN(test_missing_values_keep_indices);
    RUN(test_max_out_and_order);
    RUN(test_bad_options);
    RUN(test_permutation_test);
    RUN(test_hunter_windows);
    RUN(test_min_change);
    RUN(test_parse_series);
    RUN(test_fixtures);
    RUN(test_warehouse);
    return TH_DONE();
}
