/* test_rules.c -- unit tests for analyzer/rules.c: every rule on a small
 * constructed baseline against reference values, outlier robustness,
 * insufficient inputs; then the fixture files tests/fixtures/analyze/ files
 * (series with known verdicts, input and expected output side by side).
 *
 * Reference values were computed with mpmath at 30 digits, independently of
 * lib/stats.c: t tails by the regularized incomplete beta (betainc), normal
 * tails by ncdf, U and its tie-corrected variance by direct ranking. */
#include <dirent.h>
#include <math.h>
#include <stdlib.h>

#include "rules.h"
#include "testhelp.h"
#include "util.h"

#define N(arr) (sizeof(arr) / sizeof((arr)[0]))

/* Five runs of three iterations; run medians and means 100 101 98 102 100
 * (center 100.2, SD 1.48324). */
static const double BASE[] = {100, 102, 98, 101, 99, 103, 97, 99, 98, 102, 100, 104, 99, 101, 100};
static const int BASE_RUN[] = {0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4};
static const double DROP[] = {90, 91, 89};

static judge_input input(const double *cand, size_t n_cand, int hib)
{
    judge_input in = {
        .base = BASE, .base_run = BASE_RUN, .n_base = N(BASE), .n_base_runs = 5,
        .cand = cand, .n_cand = n_cand, .higher_is_better = hib,
        .threshold = 0.05, .alpha = 0.05, .min_baseline_runs = 2,
    };
    return in;
}

static void test_names(void)
{
    CHECK(rule_find("default") == RULE_DEFAULT);
    CHECK(rule_find("mwu") == RULE_MWU);
    CHECK(rule_find("iqr") == RULE_IQR);
    CHECK(rule_find("nope") == -1);
    for (int r = 0; r < RULE__MAX; r++) CHECK(rule_find(rule_name[r]) == r);
}

static void test_default_reference(void)
{
    judge_input in = input(DROP, N(DROP), 1);
    judgement j;
    CHECK(rule_judge(RULE_DEFAULT, &in, &j) == 0);
    CHECK(j.status == J_REGRESSION);
    CHECK_STREQ(j.test, "run-spread+mann-whitney+threshold");
    /* On a log scale: center = geometric mean of the run medians, t =
     * (ln 90 - mean ln) / (SD ln * sqrt(1 + 1/5)), 4 df; the U test (p
     * 0.00438) passes the 0.05 gate, so the interval's p is reported. */
    CHECK_NEAR(j.baseline_center, 100.191187547414282, 1e-9);
    CHECK_NEAR(j.candidate_center, 90, 0);
    CHECK_NEAR(j.change, -0.101717404463256059, 1e-12);
    CHECK_NEAR(j.statistic, -6.59807034184616373, 1e-9);
    CHECK_NEAR(j.p_value, 0.00136681884937545060, 1e-10);
    CHECK_NEAR(j.ci_low, -0.141363529772397800, 1e-9);
    CHECK_NEAR(j.ci_high, -0.0602406845934016558, 1e-9);
    /* Stricter alpha: not significant any more. */
    in.alpha = 0.001;
    rule_judge(RULE_DEFAULT, &in, &j);
    CHECK(j.status == J_PASS);
    /* Larger threshold: significant but not practically. */
    in.alpha = 0.05;
    in.threshold = 0.15;
    rule_judge(RULE_DEFAULT, &in, &j);
    CHECK(j.status == J_PASS);
    /* The same drop is an improvement for a lower-is-better metric. */
    in = input(DROP, N(DROP), 0);
    rule_judge(RULE_DEFAULT, &in, &j);
    CHECK(j.status == J_IMPROVEMENT);
    CHECK_NEAR(j.p_value, 0.00136681884937545060, 1e-10);
    /* Symmetric: 10% up is an improvement of throughput. */
    const double up[] = {110, 111, 109};
    in = input(up, N(up), 1);
    rule_judge(RULE_DEFAULT, &in, &j);
    CHECK(j.status == J_IMPROVEMENT);
    in.higher_is_better = 0;
    rule_judge(RULE_DEFAULT, &in, &j);
    CHECK(j.status == J_REGRESSION);
}

static void test_threshold(void)
{
    judge_input in = input(DROP, N(DROP), 1);
    judgement j;
    rule_judge(RULE_THRESHOLD, &in, &j);
    CHECK(j.status == J_REGRESSION);
    CHECK_NEAR(j.change, -0.101796407185628743, 1e-12);
    CHECK(isnan(j.p_value));
    in.threshold = 0.15;
    rule_judge(RULE_THRESHOLD, &in, &j);
    CHECK(j.status == J_PASS);
}

static void test_zscore(void)
{
    judge_input in = input(DROP, N(DROP), 1);
    judgement j;
    rule_judge(RULE_ZSCORE, &in, &j);
    CHECK(j.status == J_REGRESSION);
    CHECK_NEAR(j.statistic, -6.87683859712506928, 1e-9);
    CHECK_NEAR(j.p_value, 3.05976882024415083e-12, 1e-20);
    /* limit 7: z = -6.88 is inside. */
    in.limit = 7;
    rule_judge(RULE_ZSCORE, &in, &j);
    CHECK(j.status == J_PASS);
}

static void test_welch(void)
{
    judge_input in = input(DROP, N(DROP), 1);
    judgement j;
    rule_judge(RULE_WELCH, &in, &j);
    CHECK(j.status == J_REGRESSION);
    CHECK_STREQ(j.test, "welch+threshold");
    CHECK_NEAR(j.statistic, -13.2525554169898060, 1e-9);
    CHECK_NEAR(j.p_value, 7.26190869679666691e-06, 1e-12);
    CHECK_NEAR(j.change, -0.101796407185628743, 1e-12);
    CHECK_NEAR(j.ci_low, -0.120737871062964308, 1e-9);
    CHECK_NEAR(j.ci_high, -0.0828549433082931774, 1e-9);
}

static void test_pi(void)
{
    /* Run means equal run medians here; unlike the default rule, on the linear scale. */
    judge_input in = input(DROP, N(DROP), 1);
    judgement j;
    rule_judge(RULE_PI, &in, &j);
    CHECK(j.status == J_REGRESSION);
    CHECK_NEAR(j.statistic, -6.27766603994596937, 1e-9);
    CHECK_NEAR(j.p_value, 0.00164366427348686482, 1e-10);
}

static void test_mwu(void)
{
    judge_input in = input(DROP, N(DROP), 1);
    judgement j;
    rule_judge(RULE_MWU, &in, &j);
    CHECK(j.status == J_REGRESSION);
    CHECK_NEAR(j.statistic, 0, 0);
    CHECK_NEAR(j.p_value, 0.00438032688358593612, 1e-10);
    CHECK_NEAR(j.baseline_center, 100, 0);
    CHECK_NEAR(j.change, -0.1, 1e-12);
    /* Hodges-Lehmann interval of the shift: -13 .. -8 of 100. */
    CHECK_NEAR(j.ci_low, -0.13, 1e-12);
    CHECK_NEAR(j.ci_high, -0.08, 1e-12);
}

static void test_iqr(void)
{
    /* Run medians 98 100 100 101 102: Q1 100, Q3 101, lower fence 98.5. */
    judge_input in = input(DROP, N(DROP), 1);
    judgement j;
    rule_judge(RULE_IQR, &in, &j);
    CHECK(j.status == J_REGRESSION);
    CHECK_NEAR(j.statistic, -10, 1e-12);
    CHECK_NEAR(j.change, -0.1, 1e-12);
    const double near[] = {99, 99.5, 100}; /* median 99.5: inside the fence */
    in = input(near, N(near), 1);
    in.threshold = 0;
    rule_judge(RULE_IQR, &in, &j);
    CHECK(j.status == J_PASS);
}

/* One bad iteration of the candidate: the default rule looks at the median
 * and the iterations as a group, a mean-based threshold does not. */
static void test_outlier_iteration(void)
{
    const double cand[] = {100, 101, 60};
    judge_input in = input(cand, N(cand), 1);
    judgement j;
    rule_judge(RULE_DEFAULT, &in, &j);
    CHECK(j.status == J_PASS);
    rule_judge(RULE_THRESHOLD, &in, &j);
    CHECK(j.status == J_REGRESSION);
}

/* One bad baseline run: trimmed from the default rule's spread, while it
 * hides the drop from the prediction interval on run means. */
static void test_outlier_run(void)
{
    double base[N(BASE) + 3];
    int run[N(BASE) + 3];
    memcpy(base, BASE, sizeof BASE);
    memcpy(run, BASE_RUN, sizeof BASE_RUN);
    const double bad[] = {70, 71, 69};
    for (int i = 0; i < 3; i++) {
        base[N(BASE) + i] = bad[i];
        run[N(BASE) + i] = 5;
    }
    judge_input in = input(DROP, N(DROP), 1);
    in.base = base;
    in.base_run = run;
    in.n_base = N(base);
    in.n_base_runs = 6;
    judgement j;
    rule_judge(RULE_DEFAULT, &in, &j);
    CHECK(j.status == J_REGRESSION);
    CHECK_NEAR(j.baseline_center, 100.191187547414282, 1e-9); /* the bad run trimmed */
    rule_judge(RULE_PI, &in, &j);
    CHECK(j.status == J_PASS);
    CHECK_NEAR(j.statistic, -0.385750012395882166, 1e-9);
    CHECK_NEAR(j.p_value, 0.357774353980681229, 1e-9);
}

static void test_insufficient(void)
{
    judgement j;
    judge_input in = input(DROP, N(DROP), 1);
    in.min_baseline_runs = 6;
    CHECK(rule_judge(RULE_DEFAULT, &in, &j) == 0);
    CHECK(j.status == J_INSUFFICIENT);
    CHECK(isnan(j.p_value) && isnan(j.change));
    CHECK_NEAR(j.candidate_center, 90, 0);
    in = input(DROP, 1, 1); /* one candidate sample */
    rule_judge(RULE_WELCH, &in, &j);
    CHECK(j.status == J_INSUFFICIENT);
    in = input(DROP, 0, 1); /* none: unusable */
    CHECK(rule_judge(RULE_DEFAULT, &in, &j) == -1);
    CHECK(j.status == J_INSUFFICIENT);
    in = input(DROP, N(DROP), 1);
    in.n_base_runs = 0;
    in.n_base = 0;
    rule_judge(RULE_MWU, &in, &j);
    CHECK(j.status == J_INSUFFICIENT);
    CHECK(isnan(j.baseline_center));
    /* A rule out of range is unusable too. */
    in = input(DROP, N(DROP), 1);
    CHECK(rule_judge((enum rule)RULE__MAX, &in, &j) == -1);
}

/* A single baseline run: no spread, the U test decides alone. */
static void test_single_run(void)
{
    const double base[] = {100, 101, 99, 100, 102};
    const int run[] = {0, 0, 0, 0, 0};
    const double cand[] = {80, 81, 79, 80, 82};
    judge_input in = {.base = base, .base_run = run, .n_base = 5, .n_base_runs = 1,
                      .cand = cand, .n_cand = 5, .higher_is_better = 1, .threshold = 0.05,
                      .alpha = 0.05, .min_baseline_runs = 1};
    judgement j;
    rule_judge(RULE_DEFAULT, &in, &j);
    CHECK(j.status == J_REGRESSION);
    CHECK(isnan(j.ci_low));
}

static void test_from_zero(void)
{
    const double base[] = {0, 0, 0, 0, 0, 0};
    const int run[] = {0, 0, 1, 1, 2, 2};
    const double some[] = {0, 3}, none[] = {0, 0};
    judge_input in = {.base = base, .base_run = run, .n_base = 6, .n_base_runs = 3,
                      .cand = some, .n_cand = 2, .higher_is_better = 0, .threshold = 1,
                      .alpha = 0.005, .min_baseline_runs = 2};
    judgement j;
    for (int r = 0; r < RULE__MAX; r++) {
        rule_judge((enum rule)r, &in, &j);
        CHECK(j.status == J_REGRESSION);
        CHECK_STREQ(j.test, "from-zero");
        CHECK(isinf(j.change) && j.change > 0);
    }
    in.cand = none;
    rule_judge(RULE_DEFAULT, &in, &j);
    CHECK(j.status == J_PASS);
    CHECK(j.change == 0);
}

/* ---- fixtures ---- */

typedef struct fcase {
    char name[256];
    int rule, hib, min_runs, line;
    double threshold, alpha, limit;
    double base[4096], cand[256];
    int base_run[4096];
    size_t n_base, n_cand;
    int n_runs;
    char expect[32];
    double change, change_tol;
    int has_change;
} fcase;

static int parse_values(const char *s, double *x, int *run, size_t max, size_t *n, int *runs)
{
    int r = 0;
    *n = 0;
    while (*s) {
        while (*s == ' ' || *s == '\t') s++;
        if (!*s || *s == '\n') break;
        if (*s == '|') {
            r++;
            s++;
            continue;
        }
        char *end;
        double v = strtod(s, &end);
        if (end == s || *n == max) return -1;
        x[*n] = v;
        if (run) run[*n] = r;
        (*n)++;
        s = end;
    }
    if (runs) *runs = *n ? r + 1 : 0;
    return 0;
}

static const char *const status_word[] = {"pass", "regression", "improvement", "insufficient"};

static void run_case(const char *file, fcase *c)
{
    judge_input in = {.base = c->base, .base_run = c->base_run, .n_base = c->n_base,
                      .n_base_runs = c->n_runs, .cand = c->cand, .n_cand = c->n_cand,
                      .higher_is_better = c->hib, .threshold = c->threshold, .alpha = c->alpha,
                      .limit = c->limit, .min_baseline_runs = c->min_runs};
    judgement j;
    rule_judge((enum rule)c->rule, &in, &j);
    int ok = strcmp(status_word[j.status], c->expect) == 0;
    if (c->has_change && !(fabs(j.change - c->change) <= c->change_tol)) ok = 0;
    if (!ok) {
        fprintf(stderr, "  %s:%d: %s: got %s (change %.4f, p %.4g, %s), expected %s", file, c->line,
                c->name, status_word[j.status], j.change, j.p_value, j.test, c->expect);
        if (c->has_change) fprintf(stderr, " change %.4f±%.4f", c->change, c->change_tol);
        fprintf(stderr, "\n");
        th_cur_fail++;
    }
}

static void reset_case(fcase *c)
{
    memset(c, 0, sizeof *c);
    c->rule = RULE_DEFAULT;
    c->hib = 1;
    c->threshold = 0.05;
    c->alpha = 0.005;
    c->min_runs = 2;
}

/* Runs every case of one fixture file; returns the number of cases. */
static int run_fixture(const char *path)
{
    char err[RB_ERR_LEN];
    char *text = read_file(path, 1 << 20, NULL, err);
    if (!text) {
        fprintf(stderr, "  %s\n", err);
        th_cur_fail++;
        return 0;
    }
    static fcase c;
    reset_case(&c);
    int cases = 0, lineno = 0, open = 0;
    char *next = text;
    for (;;) {
        char *line = next;
        if (line && *line) {
            next = strchr(line, '\n');
            if (next) *next++ = '\0';
            lineno++;
        } else {
            line = NULL;
        }
        if (line && (line[0] == '#' || line[0] == '\0')) continue;
        if (!line || strncmp(line, "case:", 5) == 0) {
            if (open) {
                run_case(path, &c);
                cases++;
            }
            if (!line) break;
            reset_case(&c);
            snprintf(c.name, sizeof c.name, "%s", line + 6);
            c.line = lineno;
            open = 1;
            continue;
        }
        char *colon = strchr(line, ':');
        if (!colon) {
            fprintf(stderr, "  %s:%d: want KEY: VALUE\n", path, lineno);
            th_cur_fail++;
            continue;
        }
        *colon = '\0';
        const char *k = line, *v = colon + 1;
        while (*v == ' ') v++;
        int bad = 0;
        if (!strcmp(k, "rule"))
            bad = (c.rule = rule_find(v)) < 0;
        else if (!strcmp(k, "direction"))
            c.hib = !strcmp(v, "higher") ? 1 : !strcmp(v, "lower") ? 0 : (bad = 1);
        else if (!strcmp(k, "threshold"))
            c.threshold = atof(v);
        else if (!strcmp(k, "alpha"))
            c.alpha = atof(v);
        else if (!strcmp(k, "limit"))
            c.limit = atof(v);
        else if (!strcmp(k, "min_runs"))
            c.min_runs = atoi(v);
        else if (!strcmp(k, "base"))
            bad = parse_values(v, c.base, c.base_run, N(c.base), &c.n_base, &c.n_runs);
        else if (!strcmp(k, "cand"))
            bad = parse_values(v, c.cand, NULL, N(c.cand), &c.n_cand, NULL);
        else if (!strcmp(k, "expect")) {
            char word[32];
            double ch, tol;
            int n = sscanf(v, "%31s change=%lf~%lf", word, &ch, &tol);
            snprintf(c.expect, sizeof c.expect, "%s", word);
            bad = n != 1 && n != 3;
            if (n == 3) {
                c.has_change = 1;
                c.change = ch;
                c.change_tol = tol;
            }
        } else
            bad = 1;
        if (bad) {
            fprintf(stderr, "  %s:%d: bad line '%s: %s'\n", path, lineno, k, v);
            th_cur_fail++;
        }
    }
    free(text);
    return cases;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_fixtures(void)
{
    const char *root = getenv("RB_ROOT") ? getenv("RB_ROOT") : ".";
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tests/fixtures/analyze", root);
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    if (!d) return;
    char *names[64];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 64) {
        size_t l = strlen(e->d_name);
        if (l > 4 && !strcmp(e->d_name + l - 4, ".txt")) names[n++] = xstrdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    int total = 0;
    for (int i = 0; i < n; i++) {
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        total += run_fixture(path);
        free(names[i]);
    }
    CHECK(n >= 2);
    CHECK(total >= 20);
}

int main(void)
{
    RUN(test_names);
    RUN(test_default_reference);
    RUN(test_threshold);
    RUN(test_zscore);
    RUN(test_welch);
    RUN(test_pi);
    RUN(test_mwu);
    RUN(test_iqr);
    RUN(test_outlier_iteration);
    RUN(test_outlier_run);
    RUN(test_insufficient);
    RUN(test_single_run);
    RUN(test_from_zero);
    RUN(test_fixtures);
    return TH_DONE();
}
