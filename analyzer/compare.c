/* compare.c -- `redbench compare OLD.json [OLD2.json ...] NEW.json`: judges run
 * files against run files without a warehouse (like benchstat); the OLD files
 * together form the baseline, so the warehouse's decision rule applies. */
#include <getopt.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyze.h"
#include "commands.h"
#include "model.h"
#include "rules.h"
#include "stats.h"
#include "thresholds.h"
#include "util.h"

#define RUN_FILE_MAX (256u << 20)   /* bytes */
#define THRESHOLDS_FILE "redbench.thresholds"   /* read when present, as `analyze` does */

static const char COMPARE_USAGE[] =
    "usage: redbench compare OLD.json [OLD2.json ...] NEW.json [options]\n"
    "\n"
    "Compares run files (redbench run --out) without a warehouse. The OLD files\n"
    "together are the baseline: each is one baseline run, their per-iteration\n"
    "samples pooled, so the warehouse's rule and settings decide (a change is a\n"
    "regression when it is significant AND beyond the practical threshold; see\n"
    "docs/analysis.md). Cells are matched by series key; cells on one side only\n"
    "are listed as added or removed.\n"
    "\n"
    "  --format table|json|markdown   (default table)\n"
    "  --threshold X          practical threshold for every metric, relative: 0.1 = 10%,\n"
    "                         or METRIC=X for one (repeatable); default as analyze:\n"
    "                         ops_per_sec 0.05, p50_us 0.10, p99_us 0.15, errors 1.0\n"
    "  --alpha A              one-sided significance level (default as analyze: 0.005)\n"
    "  --rule NAME            default, threshold, zscore, welch, pi, mwu or iqr\n"
    "  --min-baseline-runs N  OLD files a cell needs (default as analyze: 2)\n"
    "  --thresholds FILE      per scenario/operation/metric settings and SLOs\n"
    "                         (default ./redbench.thresholds if present; 'none': no file)\n"
    "\n"
    "exit status: 0 no regression, 1 regression (or SLO violation), 2 error (a file\n"
    "unreadable or invalid).\n";

/* ---- per-iteration values ---- */

/* A result without per-iteration samples (an import) counts as one sample of its summary. */
static size_t result_samples(const rb_result *r, const rb_sample **out, rb_sample *one)
{
    if (r->n_samples) {
        *out = r->samples;
        return r->n_samples;
    }
    memset(one, 0, sizeof *one);
    one->ops_per_sec = r->ops_per_sec;
    one->p50_us = r->p50_us;
    one->p99_us = r->p99_us;
    one->errors = r->errors;
    one->requests = r->requests;
    *out = one;
    return 1;
}

static int result_usable(const rb_result *r)
{
    return !r->status[0] || !strcmp(r->status, "ok") || !strcmp(r->status, "partial");
}

/* ---- the comparison ---- */

typedef struct side_stats {
    size_t n;
    double mean, stddev, cv, median, q1, q3;
} side_stats;

typedef struct metric_cmp {
    int metric;                 /* index into metric_info */
    double threshold, alpha;    /* as resolved for this cell and metric */
    side_stats old, new_;
    judgement j;
    enum verdict_status status;
    char slo[96];               /* an SLO check: its text ("p99_us < 5000"); else "" */
} metric_cmp;

enum cell_status { CELL_COMPARED, CELL_ADDED, CELL_REMOVED, CELL_FAILED };
static const char *const cell_status_name[] = {"compared", "added", "removed", "failed"};

#define CELL_MAX_SLOS 16

typedef struct cell {
    char key[RB_SERIES_KEY_LEN];
    enum cell_status status;
    int baseline_runs;
    char error[RB_ERR_LEN + 32]; /* CELL_FAILED: the new result's status and error */
    metric_cmp m[MET__MAX + CELL_MAX_SLOS];
    int n_m;
} cell;

/* A run's results sorted by series key, for lookups. */
typedef struct keyed {
    char (*keys)[RB_SERIES_KEY_LEN];
    size_t *order;              /* indices into run->results, sorted by key */
    size_t n;
} keyed;

static int order_cmp(const void *a, const void *b, void *ctx)
{
    const keyed *k = ctx;
    return strcmp(k->keys[*(const size_t *)a], k->keys[*(const size_t *)b]);
}

static void keyed_init(keyed *k, const rb_run *run)
{
    k->n = run->n_results;
    k->keys = xmalloc((k->n ? k->n : 1) * sizeof *k->keys);
    k->order = xmalloc((k->n ? k->n : 1) * sizeof *k->order);
    for (size_t i = 0; i < k->n; i++) {
        result_series_key(run, &run->results[i], k->keys[i], sizeof k->keys[i]);
        k->order[i] = i;
    }
    qsort_r(k->order, k->n, sizeof *k->order, order_cmp, k);
}

static void keyed_cleanup(keyed *k)
{
    free(k->keys);
    free(k->order);
}

/* Index of the result with series key key, or -1. */
static long keyed_find(const keyed *k, const char *key)
{
    size_t lo = 0, hi = k->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(k->keys[k->order[mid]], key);
        if (c == 0) return (long)k->order[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static void describe(const double *x, size_t n, side_stats *s)
{
    s->n = n;
    s->mean = stats_mean(x, n);
    s->stddev = stats_stddev(x, n);
    s->cv = n && s->mean != 0 ? s->stddev / fabs(s->mean) : NAN;
    s->median = stats_median(x, n);
    s->q1 = stats_quantile(x, n, 0.25);
    s->q3 = stats_quantile(x, n, 0.75);
}

static enum verdict_status to_status(enum judge_status j)
{
    switch (j) {
    case J_REGRESSION: return V_REGRESSION;
    case J_IMPROVEMENT: return V_IMPROVEMENT;
    case J_PASS: return V_PASS;
    default: return V_INSUFFICIENT;
    }
}

/* The settings for one cell and metric, as analyze.c resolves them: o's, then
 * the thresholds lines, then what a person set on o where no specific line speaks. */
static void settings_for(const analyze_opts *o, const th_subject *subj, int m, th_settings *s)
{
    s->rule = o->rule;
    s->threshold = o->threshold[m];
    s->alpha = o->alpha;
    s->limit = 0;
    s->min_baseline_runs = o->min_baseline_runs;
    if (o->th) thresholds_resolve(o->th, subj, s);
    else for (int f = 0; f < TH__MAX; f++) s->spec[f] = -1;
    if ((o->user_set & ANALYZE_SET_RULE) && s->spec[TH_RULE] <= 0) s->rule = o->rule;
    if ((o->user_set & ANALYZE_SET_THRESHOLD) && s->spec[TH_THRESHOLD] <= 0) s->threshold = o->threshold[m];
    if ((o->user_set & ANALYZE_SET_ALPHA) && s->spec[TH_ALPHA] <= 0) s->alpha = o->alpha;
    if ((o->user_set & ANALYZE_SET_MIN_RUNS) && s->spec[TH_MIN_RUNS] <= 0)
        s->min_baseline_runs = o->min_baseline_runs;
}

static int any_nonzero(const double *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (x[i] != 0) return 1;
    return 0;
}

/* The new result's summary value of metric m, which SLOs are checked against
 * (as the warehouse checks the results row). */
static double summary_value(const rb_result *r, int m)
{
    switch (m) {
    case MET_OPS: return r->ops_per_sec;
    case MET_P50: return r->p50_us;
    case MET_P99: return r->p99_us;
    case MET_ERRORS: return (double)r->errors;
    default: return NAN;
    }
}

/* Appends the cell's static SLO checks (thresholds lines) on the new
 * result's summary, judged with or without a baseline as in the warehouse. */
static void check_slos(cell *c, const rb_result *new_res, const analyze_opts *o)
{
    th_subject subj = {new_res->scenario, new_res->op, c->key, NULL};
    size_t it = 0;
    const th_slo *slo;
    while (o->th && c->n_m < (int)(sizeof c->m / sizeof c->m[0]) &&
           (slo = thresholds_next_slo(o->th, &subj, &it))) {
        int m = 0;
        while (m < MET__MAX && strcmp(metric_info[m].name, slo->metric) != 0) m++;
        if (m == MET__MAX) continue;
        metric_cmp *mc = &c->m[c->n_m++];
        memset(mc, 0, sizeof *mc);
        mc->metric = m;
        mc->old.mean = mc->old.stddev = mc->old.cv = mc->old.median = mc->old.q1 = mc->old.q3 = NAN;
        mc->new_ = mc->old;
        mc->new_.n = 1;
        double x = summary_value(new_res, m);
        mc->new_.mean = mc->new_.median = x;
        snprintf(mc->slo, sizeof mc->slo, "%s", slo->text);
        snprintf(mc->j.test, sizeof mc->j.test, "slo");
        mc->j.p_value = mc->j.ci_low = mc->j.ci_high = mc->j.statistic = NAN;
        mc->j.baseline_center = slo->limit;
        mc->j.candidate_center = x;
        mc->j.change = slo->limit != 0 ? (x - slo->limit) / fabs(slo->limit) : NAN;
        mc->status = th_slo_met(slo, x) ? V_PASS : V_REGRESSION;
    }
}

/* Judges the cell whose candidate is new_res against the OLD runs' results with
 * the same key. */
static void judge_cell(cell *c, const rb_result *new_res, const rb_run *runs, const keyed *idx,
                       size_t n_old, const analyze_opts *o)
{
    /* Pool the usable baseline results' samples, with their run index. */
    size_t cap = 0, nb = 0;
    for (size_t f = 0; f < n_old; f++) {
        long i = keyed_find(&idx[f], c->key);
        if (i >= 0) cap += runs[f].results[i].n_samples ? runs[f].results[i].n_samples : 1;
    }
    const rb_sample **bs = xmalloc((cap ? cap : 1) * sizeof *bs);
    int *brun = xmalloc((cap ? cap : 1) * sizeof *brun);
    rb_sample *ones = xcalloc(n_old ? n_old : 1, sizeof *ones);
    int runs_used = 0;
    for (size_t f = 0; f < n_old; f++) {
        long i = keyed_find(&idx[f], c->key);
        if (i < 0 || !result_usable(&runs[f].results[i])) continue;
        const rb_sample *s;
        size_t n = result_samples(&runs[f].results[i], &s, &ones[f]);
        for (size_t k = 0; k < n; k++) {
            bs[nb] = &s[k];
            brun[nb++] = runs_used;
        }
        runs_used++;
    }
    c->baseline_runs = runs_used;
    if (runs_used == 0) {
        c->status = CELL_ADDED;
        goto out;
    }
    c->status = CELL_COMPARED;

    rb_sample one;
    const rb_sample *cs;
    size_t nc = result_samples(new_res, &cs, &one);
    double *bx = xmalloc(nb * sizeof *bx), *cx = xmalloc(nc * sizeof *cx);
    th_subject subj = {new_res->scenario, new_res->op, c->key, NULL};
    for (int m = 0; m < MET__MAX; m++) {
        th_settings st;
        subj.metric = metric_info[m].name;
        settings_for(o, &subj, m, &st);
        if (st.rule == TH_RULE_OFF) continue;
        for (size_t k = 0; k < nb; k++) bx[k] = metric_sample_value((enum metric)m, bs[k]);
        for (size_t k = 0; k < nc; k++) cx[k] = metric_sample_value((enum metric)m, &cs[k]);
        /* Errors are judged only where there are some, as in the warehouse. */
        if (m == MET_ERRORS && !any_nonzero(bx, nb) && !any_nonzero(cx, nc)) continue;
        metric_cmp *mc = &c->m[c->n_m++];
        mc->metric = m;
        mc->threshold = st.threshold;
        mc->alpha = st.alpha;
        describe(bx, nb, &mc->old);
        describe(cx, nc, &mc->new_);
        judge_input in = {
            .base = bx, .base_run = brun, .n_base = nb, .n_base_runs = runs_used,
            .cand = cx, .n_cand = nc,
            .higher_is_better = metric_info[m].higher_is_better,
            .threshold = st.threshold, .alpha = st.alpha, .limit = st.limit,
            .min_baseline_runs = st.min_baseline_runs,
        };
        rule_judge((enum rule)st.rule, &in, &mc->j);
        mc->status = to_status(mc->j.status);
    }
    free(bx);
    free(cx);
out:
    check_slos(c, new_res, o);
    free(bs);
    free(brun);
    free(ones);
}

typedef struct comparison {
    cell *cells;
    size_t n;
    size_t count[V__MAX];
    size_t added, removed, failed;
} comparison;

static cell *add_cell(comparison *cmp, const char *key)
{
    cmp->cells = xrealloc(cmp->cells, (cmp->n + 1) * sizeof *cmp->cells);
    cell *c = &cmp->cells[cmp->n++];
    memset(c, 0, sizeof *c);
    snprintf(c->key, sizeof c->key, "%s", key);
    return c;
}

/* runs[0..n-2] are the baseline, runs[n-1] the candidate. */
static void compare_runs(const rb_run *runs, size_t n, const analyze_opts *o, comparison *cmp)
{
    memset(cmp, 0, sizeof *cmp);
    keyed *idx = xcalloc(n, sizeof *idx);
    for (size_t f = 0; f < n; f++) keyed_init(&idx[f], &runs[f]);
    const rb_run *nr = &runs[n - 1];
    const keyed *nk = &idx[n - 1];
    for (size_t i = 0; i < nr->n_results; i++) {
        cell *c = add_cell(cmp, nk->keys[i]);
        const rb_result *res = &nr->results[i];
        if (!result_usable(res)) {
            c->status = CELL_FAILED;
            snprintf(c->error, sizeof c->error, "%s%s%s", res->status, res->error[0] ? ": " : "",
                     res->error);
            cmp->failed++;
            continue;
        }
        judge_cell(c, res, runs, idx, n - 1, o);
        if (c->status == CELL_ADDED) cmp->added++;
        for (int m = 0; m < c->n_m; m++) cmp->count[c->m[m].status]++;
    }
    /* Cells of the baseline the new run lacks, once each, in file order. */
    for (size_t f = 0; f + 1 < n; f++) {
        for (size_t i = 0; i < runs[f].n_results; i++) {
            const char *key = idx[f].keys[i];
            if (keyed_find(nk, key) >= 0) continue;
            int seen = 0;
            for (size_t g = 0; g < f && !seen; g++) seen = keyed_find(&idx[g], key) >= 0;
            if (seen) continue;
            cell *c = add_cell(cmp, key);
            c->status = CELL_REMOVED;
            for (size_t g = f; g + 1 < n; g++) c->baseline_runs += keyed_find(&idx[g], key) >= 0;
            cmp->removed++;
        }
    }
    for (size_t f = 0; f < n; f++) keyed_cleanup(&idx[f]);
    free(idx);
}

static const char *overall(const comparison *cmp)
{
    if (cmp->count[V_REGRESSION]) return "regression";
    size_t judged = 0;
    for (int s = 0; s < V__MAX; s++) judged += cmp->count[s];
    if (judged && cmp->count[V_INSUFFICIENT] == judged) return "insufficient_baseline";
    return "pass";
}

/* ---- environment: what differs between the baseline runs and the new run ---- */

typedef struct env_diff {
    char field[RB_NAME_LEN + 16];
    char old[256];              /* the baseline's distinct values, comma-separated */
    char new_[RB_NAME_LEN];
} env_diff;

static void env_add(env_diff **d, size_t *n, const char *field, const rb_run *runs, size_t n_old,
                    const char *(*get)(const rb_run *, const char *), const char *arg)
{
    const char *nv = get(&runs[n_old], arg);
    int differs = 0;
    for (size_t f = 0; f < n_old; f++) differs |= strcmp(get(&runs[f], arg), nv) != 0;
    if (!differs) return;
    *d = xrealloc(*d, (*n + 1) * sizeof **d);
    env_diff *e = &(*d)[(*n)++];
    snprintf(e->field, sizeof e->field, "%s%s", field, arg ? arg : "");
    snprintf(e->new_, sizeof e->new_, "%s", nv);
    e->old[0] = '\0';
    for (size_t f = 0; f < n_old; f++) {
        const char *ov = get(&runs[f], arg);
        int dup = 0;
        for (size_t g = 0; g < f && !dup; g++) dup = strcmp(get(&runs[g], arg), ov) == 0;
        if (dup) continue;
        size_t l = strlen(e->old);
        snprintf(e->old + l, sizeof e->old - l, "%s%s", l ? ", " : "", ov[0] ? ov : "(none)");
    }
}

static const char *get_kind(const rb_run *r, const char *a) { (void)a; return r->target_kind; }
static const char *get_version(const rb_run *r, const char *a) { (void)a; return r->target_version; }
static const char *get_preset(const rb_run *r, const char *a) { (void)a; return r->target_preset; }
static const char *get_runner(const rb_run *r, const char *a) { (void)a; return r->runner_version; }
static const char *get_config(const rb_run *r, const char *key)
{
    for (size_t i = 0; i < r->n_config; i++)
        if (strcmp(r->config[i].key, key) == 0) return r->config[i].value;
    return "";
}

static int has_config(const rb_run *r, const char *key)
{
    for (size_t i = 0; i < r->n_config; i++)
        if (strcmp(r->config[i].key, key) == 0) return 1;
    return 0;
}

/* Target kind, version, preset, runner version and every config audit key
 * (a key a run lacks reads as ""). The caller frees the array. */
static env_diff *env_compare(const rb_run *runs, size_t n, size_t *n_out)
{
    env_diff *d = NULL;
    size_t nd = 0, n_old = n - 1;
    env_add(&d, &nd, "target.kind", runs, n_old, get_kind, NULL);
    env_add(&d, &nd, "target.version", runs, n_old, get_version, NULL);
    env_add(&d, &nd, "target.preset", runs, n_old, get_preset, NULL);
    env_add(&d, &nd, "runner.version", runs, n_old, get_runner, NULL);
    for (size_t f = 0; f < n; f++) {
        for (size_t i = 0; i < runs[f].n_config; i++) {
            const char *k = runs[f].config[i].key;
            int seen = 0;
            for (size_t g = 0; g < f && !seen; g++) seen = has_config(&runs[g], k);
            if (!seen) env_add(&d, &nd, "config.", runs, n_old, get_config, k);
        }
    }
    *n_out = nd;
    return d;
}

/* ---- presentation ---- */

static void fmt_val(char *out, size_t n, double x)
{
    double a = fabs(x);
    if (!isfinite(x))
        snprintf(out, n, "-");
    else if (a >= 1000)
        snprintf(out, n, "%.0f", x);
    else if (a >= 10)
        snprintf(out, n, "%.1f", x);
    else
        snprintf(out, n, "%.2f", x);
}

/* "center ±cv%" of one side. */
static void fmt_side(char *out, size_t n, double center, const side_stats *s)
{
    char v[32];
    fmt_val(v, sizeof v, center);
    if (isfinite(s->cv) && s->n > 1)
        snprintf(out, n, "%s ±%.1f%%", v, s->cv * 100);
    else
        snprintf(out, n, "%s", v);
}

static void add_num(cJSON *o, const char *k, double x)
{
    if (isfinite(x))
        cJSON_AddNumberToObject(o, k, x);
    else
        cJSON_AddNullToObject(o, k);
}

static cJSON *side_json(const side_stats *s, double center)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "n", (double)s->n);
    add_num(o, "center", center);
    add_num(o, "mean", s->mean);
    add_num(o, "stddev", s->stddev);
    add_num(o, "cv", s->cv);
    add_num(o, "median", s->median);
    add_num(o, "q1", s->q1);
    add_num(o, "q3", s->q3);
    return o;
}

static void print_json(const comparison *cmp, const env_diff *env, size_t n_env, char **files,
                       size_t n_files, const analyze_opts *o, const char *th_path, FILE *out)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *old = cJSON_AddArrayToObject(root, "old");
    for (size_t f = 0; f + 1 < n_files; f++) cJSON_AddItemToArray(old, cJSON_CreateString(files[f]));
    cJSON_AddStringToObject(root, "new", files[n_files - 1]);
    cJSON_AddStringToObject(root, "rule", rule_name[o->rule]);
    cJSON_AddNumberToObject(root, "alpha", o->alpha);
    cJSON_AddNumberToObject(root, "min_baseline_runs", o->min_baseline_runs);
    if (th_path)
        cJSON_AddStringToObject(root, "thresholds_file", th_path);
    else
        cJSON_AddNullToObject(root, "thresholds_file");
    cJSON *sum = cJSON_AddObjectToObject(root, "summary");
    cJSON_AddStringToObject(sum, "status", overall(cmp));
    for (int s = 0; s < V__MAX; s++)
        cJSON_AddNumberToObject(sum, verdict_status_name[s], (double)cmp->count[s]);
    cJSON_AddNumberToObject(sum, "added", (double)cmp->added);
    cJSON_AddNumberToObject(sum, "removed", (double)cmp->removed);
    cJSON_AddNumberToObject(sum, "failed", (double)cmp->failed);
    cJSON *ea = cJSON_AddArrayToObject(root, "environment");
    for (size_t i = 0; i < n_env; i++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "field", env[i].field);
        cJSON_AddStringToObject(e, "old", env[i].old);
        cJSON_AddStringToObject(e, "new", env[i].new_);
        cJSON_AddItemToArray(ea, e);
    }
    cJSON *cells = cJSON_AddArrayToObject(root, "cells");
    for (size_t i = 0; i < cmp->n; i++) {
        const cell *c = &cmp->cells[i];
        cJSON *co = cJSON_CreateObject();
        cJSON_AddStringToObject(co, "series_key", c->key);
        cJSON_AddStringToObject(co, "status", cell_status_name[c->status]);
        cJSON_AddNumberToObject(co, "baseline_runs", c->baseline_runs);
        if (c->status == CELL_FAILED) cJSON_AddStringToObject(co, "error", c->error);
        cJSON *ma = cJSON_AddArrayToObject(co, "metrics");
        for (int m = 0; m < c->n_m; m++) {
            const metric_cmp *mc = &c->m[m];
            cJSON *mo = cJSON_CreateObject();
            cJSON_AddStringToObject(mo, "metric", metric_info[mc->metric].name);
            cJSON_AddStringToObject(mo, "verdict", verdict_status_name[mc->status]);
            cJSON_AddStringToObject(mo, "test", mc->j.test);
            add_num(mo, "p_value", mc->j.p_value);
            add_num(mo, "change", mc->j.change);
            add_num(mo, "ci_low", mc->j.ci_low);
            add_num(mo, "ci_high", mc->j.ci_high);
            add_num(mo, "statistic", mc->j.statistic);
            if (mc->slo[0]) {
                cJSON_AddStringToObject(mo, "slo", mc->slo);
            } else {
                cJSON_AddNumberToObject(mo, "threshold", mc->threshold);
                cJSON_AddNumberToObject(mo, "alpha", mc->alpha);
            }
            cJSON_AddItemToObject(mo, "old", side_json(&mc->old, mc->j.baseline_center));
            cJSON_AddItemToObject(mo, "new", side_json(&mc->new_, mc->j.candidate_center));
            cJSON_AddItemToArray(ma, mo);
        }
        cJSON_AddItemToArray(cells, co);
    }
    char *s = cJSON_Print(root);
    fprintf(out, "%s\n", s);
    cJSON_free(s);
    cJSON_Delete(root);
}

static void print_text(const comparison *cmp, const env_diff *env, size_t n_env, char **files,
                       size_t n_files, const analyze_opts *o, const char *th_path, int md,
                       FILE *out)
{
    int w = 6;
    for (size_t i = 0; i < cmp->n; i++)
        if (cmp->cells[i].n_m && (int)strlen(cmp->cells[i].key) > w)
            w = (int)strlen(cmp->cells[i].key);
    if (md) {
        fprintf(out, "### redbench compare: `%s` vs %zu baseline run(s) — %s\n\n",
                files[n_files - 1], n_files - 1, overall(cmp));
        fprintf(out, "| series | metric | old | new | change | p | runs | verdict |\n");
        fprintf(out, "|---|---|---:|---:|---:|---:|---:|---|\n");
    } else {
        fprintf(out, "old:");
        for (size_t f = 0; f + 1 < n_files; f++) fprintf(out, " %s", files[f]);
        fprintf(out, "\nnew: %s\n", files[n_files - 1]);
        fprintf(out, "%-*s  %-11s %18s %18s %8s %8s %4s  %s\n", w, "SERIES", "METRIC", "OLD", "NEW",
                "CHANGE", "P", "RUNS", "VERDICT");
    }
    for (size_t i = 0; i < cmp->n; i++) {
        const cell *c = &cmp->cells[i];
        for (int m = 0; m < c->n_m; m++) {
            const metric_cmp *mc = &c->m[m];
            char ov[112], nv[48], ch[32], p[32];
            fmt_side(ov, sizeof ov, mc->j.baseline_center, &mc->old);
            fmt_side(nv, sizeof nv, mc->j.candidate_center, &mc->new_);
            if (mc->slo[0]) snprintf(ov, sizeof ov, "SLO %s", mc->slo);
            verdict_fmt_pct(ch, sizeof ch, mc->j.change);
            verdict_fmt_p(p, sizeof p, mc->j.p_value);
            const char *st = verdict_status_name[mc->status];
            if (md) {
                const char *mark = mc->status == V_REGRESSION    ? "❌ "
                                   : mc->status == V_IMPROVEMENT ? "✅ "
                                                                 : "";
                fprintf(out, "| `%s` | %s | %s | %s | %s | %s | %d | %s%s |\n", c->key,
                        metric_info[mc->metric].label, ov, nv, ch, p, c->baseline_runs, mark, st);
            } else {
                fprintf(out, "%-*s  %-11s %18s %18s %8s %8s %4d  %s\n", w, c->key,
                        metric_info[mc->metric].name, ov, nv, ch, p, c->baseline_runs,
                        mc->status == V_REGRESSION ? "REGRESSION" : st);
            }
        }
    }
    const char *lead = md ? "- " : "  ";
    for (int s = CELL_ADDED; s <= CELL_FAILED; s++) {
        int header = 0;
        for (size_t i = 0; i < cmp->n; i++) {
            const cell *c = &cmp->cells[i];
            if ((int)c->status != s) continue;
            if (!header++)
                fprintf(out, "\n%s%s:\n%s",
                        md ? "**" : "",
                        s == CELL_ADDED     ? "added (only in the new run: no baseline)"
                        : s == CELL_REMOVED ? "removed (only in the baseline)"
                                            : "failed in the new run (not judged)",
                        md ? "**\n\n" : "");
            if (md)
                fprintf(out, "%s`%s`%s%s\n", lead, c->key, c->error[0] ? " — " : "", c->error);
            else
                fprintf(out, "%s%s%s%s\n", lead, c->key, c->error[0] ? "  -- " : "", c->error);
        }
    }
    if (n_env) {
        fprintf(out, "\n%senvironment differs from the baseline:%s\n", md ? "**" : "",
                md ? "**\n" : "");
        for (size_t i = 0; i < n_env; i++)
            fprintf(out, md ? "- `%s`: %s → %s\n" : "  %s: %s -> %s\n", env[i].field, env[i].old,
                    env[i].new_);
    }
    fprintf(out, "\n%zu regression(s), %zu improvement(s), %zu pass, %zu insufficient baseline; "
                 "%zu added, %zu removed, %zu failed (rule %s, alpha %.3g, thresholds",
            cmp->count[V_REGRESSION], cmp->count[V_IMPROVEMENT], cmp->count[V_PASS],
            cmp->count[V_INSUFFICIENT], cmp->added, cmp->removed, cmp->failed, rule_name[o->rule],
            o->alpha);
    for (int m = 0; m < MET__MAX; m++)
        fprintf(out, "%s %s %.3g%%", m ? "," : "", metric_info[m].name, o->threshold[m] * 100);
    if (th_path) fprintf(out, ", then %s", th_path);
    fprintf(out, "; at least %d baseline run(s); old and new: center ±CV of the per-iteration "
                 "samples)\n", o->min_baseline_runs);
}

/* ---- the command ---- */

static int parse_threshold(const char *arg, analyze_opts *o)
{
    const char *eq = strchr(arg, '=');
    char *end;
    double t = strtod(eq ? eq + 1 : arg, &end);
    if (*end || end == (eq ? eq + 1 : arg) || !(t >= 0 && t < 100)) return -1;
    if (!eq) {
        analyze_opts_threshold_all(o, t);
        return 0;
    }
    for (int m = 0; m < MET__MAX; m++)
        if (strlen(metric_info[m].name) == (size_t)(eq - arg) &&
            strncmp(metric_info[m].name, arg, (size_t)(eq - arg)) == 0) {
            o->threshold[m] = t;
            o->user_set |= ANALYZE_SET_THRESHOLD;
            return 0;
        }
    return -1;
}

int cmd_compare(int argc, char **argv)
{
    static const struct option opts[] = {
        {"format", 1, 0, 'f'}, {"threshold", 1, 0, 't'}, {"alpha", 1, 0, 'a'},
        {"rule", 1, 0, 'r'}, {"min-baseline-runs", 1, 0, 'm'}, {"thresholds", 1, 0, 'T'},
        {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    analyze_opts o;
    analyze_opts_default(&o);
    const char *th_path = NULL;
    int fmt = FMT_TABLE, opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        char *end;
        switch (opt) {
        case 'f':
            fmt = out_format_parse(optarg);
            if (fmt != FMT_TABLE && fmt != FMT_JSON && fmt != FMT_MARKDOWN) {
                fprintf(stderr, "redbench compare: --format: want table, json or markdown\n");
                return EXIT_ERROR;
            }
            break;
        case 't':
            if (parse_threshold(optarg, &o) < 0) {
                fprintf(stderr, "redbench compare: --threshold: want a relative change such as "
                                "0.1, or METRIC=X with a metric of the analyzer\n");
                return EXIT_ERROR;
            }
            break;
        case 'a':
            o.alpha = strtod(optarg, &end);
            if (end == optarg || *end || !(o.alpha > 0 && o.alpha < 1)) {
                fprintf(stderr, "redbench compare: --alpha: want a number in (0, 1)\n");
                return EXIT_ERROR;
            }
            o.user_set |= ANALYZE_SET_ALPHA;
            break;
        case 'r': {
            int r = rule_find(optarg);
            if (r < 0) {
                fprintf(stderr, "redbench compare: --rule: unknown rule '%s' (", optarg);
                for (int i = 0; i < RULE__MAX; i++) fprintf(stderr, "%s%s", i ? ", " : "", rule_name[i]);
                fprintf(stderr, ")\n");
                return EXIT_ERROR;
            }
            o.rule = r;
            o.user_set |= ANALYZE_SET_RULE;
            break;
        }
        case 'm': {
            long v = strtol(optarg, &end, 10);
            if (end == optarg || *end || v < 1 || v > 1000) {
                fprintf(stderr, "redbench compare: --min-baseline-runs: want 1..1000\n");
                return EXIT_ERROR;
            }
            o.min_baseline_runs = (int)v;
            o.user_set |= ANALYZE_SET_MIN_RUNS;
            break;
        }
        case 'T': th_path = optarg; break;
        case 'h': fputs(COMPARE_USAGE, stdout); return EXIT_OK;
        default: fputs(COMPARE_USAGE, stderr); return EXIT_ERROR;
        }
    }
    size_t n = (size_t)(argc - optind);
    char **files = argv + optind;
    if (n < 2) {
        fprintf(stderr, "redbench compare: need at least one OLD file and the NEW file\n");
        fputs(COMPARE_USAGE, stderr);
        return EXIT_ERROR;
    }
    char err[RB_ERR_LEN];
    /* The thresholds file: named, or ./redbench.thresholds when present. */
    thresholds *th = NULL;
    if (!th_path && access(THRESHOLDS_FILE, F_OK) == 0) th_path = THRESHOLDS_FILE;
    if (th_path && strcmp(th_path, "none") == 0) th_path = NULL;
    if (th_path) {
        th = thresholds_new();
        if (thresholds_load_file(th, th_path, err) < 0) {
            fprintf(stderr, "redbench compare: %s\n", err);
            thresholds_free(th);
            return EXIT_ERROR;
        }
        o.th = th;
    }
    rb_run *runs = xcalloc(n, sizeof *runs);
    size_t loaded = 0;
    int rc = EXIT_ERROR;
    for (; loaded < n; loaded++) {
        run_init(&runs[loaded]);
        size_t len;
        char *doc = read_file(files[loaded], RUN_FILE_MAX, &len, err);
        if (!doc) {
            fprintf(stderr, "redbench compare: %s\n", err);
            goto out;
        }
        int prc = run_from_json(doc, len, &runs[loaded], err);
        free(doc);
        if (prc < 0) {
            fprintf(stderr, "redbench compare: %s: %s\n", files[loaded], err);
            goto out;
        }
    }
    comparison cmp;
    compare_runs(runs, n, &o, &cmp);
    size_t n_env;
    env_diff *env = env_compare(runs, n, &n_env);
    if (fmt == FMT_JSON)
        print_json(&cmp, env, n_env, files, n, &o, th_path, stdout);
    else
        print_text(&cmp, env, n_env, files, n, &o, th_path, fmt == FMT_MARKDOWN, stdout);
    if (fmt != FMT_JSON) {
        for (size_t i = 0; i < cmp.n; i++)
            for (int m = 0; m < cmp.cells[i].n_m; m++) {
                const metric_cmp *mc = &cmp.cells[i].m[m];
                if (mc->status != V_REGRESSION) continue;
                if (mc->slo[0])
                    fprintf(stderr, "slo violation: %s %s %.6g (limit %s)\n", cmp.cells[i].key,
                            metric_info[mc->metric].name, mc->j.candidate_center, mc->slo);
                else
                    fprintf(stderr, "regression: %s %s %+.1f%% (p=%.4g)\n", cmp.cells[i].key,
                            metric_info[mc->metric].name, mc->j.change * 100, mc->j.p_value);
            }
    }
    rc = cmp.count[V_REGRESSION] ? EXIT_REGRESSION : EXIT_OK;
    free(cmp.cells);
    free(env);
out:
    for (size_t f = 0; f < loaded && f < n; f++) run_cleanup(&runs[f]);
    if (loaded < n) run_cleanup(&runs[loaded]);
    free(runs);
    thresholds_free(th);
    return rc;
}
