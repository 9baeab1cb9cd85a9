/* analyze.c -- baselines from the warehouse, Welch's t-test plus a practical
 * threshold per metric, verdict storage and presentation. */
#include "analyze.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"
#include "store.h"
#include "util.h"

const struct metric_info metric_info[MET__MAX] = {
    [MET_OPS] = {"ops_per_sec", "ops/s", 1, 0.10},
    [MET_P50] = {"p50_us", "p50 µs", 0, 0.15},
    [MET_P99] = {"p99_us", "p99 µs", 0, 0.25},
};

const char *const verdict_status_name[V__MAX] = {
    [V_PASS] = "pass",
    [V_REGRESSION] = "regression",
    [V_IMPROVEMENT] = "improvement",
    [V_INSUFFICIENT] = "insufficient_baseline",
};

void analyze_opts_default(analyze_opts *o)
{
    memset(o, 0, sizeof *o);
    snprintf(o->baseline_branch, sizeof o->baseline_branch, "main");
    o->max_baseline_runs = 30;
    o->min_baseline_runs = 2;
    o->alpha = 0.05;
    for (int m = 0; m < MET__MAX; m++) o->threshold[m] = metric_info[m].default_threshold;
}

void analyze_opts_threshold_all(analyze_opts *o, double t)
{
    for (int m = 0; m < MET__MAX; m++) o->threshold[m] = t;
}

void verdict_list_init(verdict_list *vl)
{
    memset(vl, 0, sizeof *vl);
}

void verdict_list_cleanup(verdict_list *vl)
{
    free(vl->v);
    verdict_list_init(vl);
}

size_t verdict_list_count(const verdict_list *vl, enum verdict_status st)
{
    size_t n = 0;
    for (size_t i = 0; i < vl->n; i++) n += vl->v[i].status == st;
    return n;
}

static verdict *add_verdict(verdict_list *vl)
{
    vl->v = xrealloc(vl->v, (vl->n + 1) * sizeof *vl->v);
    verdict *v = &vl->v[vl->n++];
    memset(v, 0, sizeof *v);
    return v;
}

/* Per-metric samples of one side of the comparison. */
typedef struct sampleset {
    double *x[MET__MAX];
    size_t n, cap;
    int runs;
} sampleset;

static void sampleset_add(sampleset *s, sqlite3_stmt *st, int first_col)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        for (int m = 0; m < MET__MAX; m++) s->x[m] = xrealloc(s->x[m], s->cap * sizeof(double));
    }
    for (int m = 0; m < MET__MAX; m++) s->x[m][s->n] = sqlite3_column_double(st, first_col + m);
    s->n++;
}

static void sampleset_free(sampleset *s)
{
    for (int m = 0; m < MET__MAX; m++) free(s->x[m]);
    memset(s, 0, sizeof *s);
}

static void judge(verdict *v, enum metric m, const sampleset *base, const sampleset *cand,
                  const analyze_opts *o)
{
    v->metric = m;
    v->threshold = o->threshold[m];
    v->alpha = o->alpha;
    v->baseline_runs = base->runs;
    v->baseline_samples = (int)base->n;
    v->candidate_samples = (int)cand->n;
    v->p_value = NAN;
    v->change = v->ci_low = v->ci_high = NAN;
    snprintf(v->test, sizeof v->test, "welch+threshold");
    v->baseline_mean = base->n ? stats_mean(base->x[m], base->n) : NAN;
    v->candidate_mean = cand->n ? stats_mean(cand->x[m], cand->n) : NAN;
    if (base->runs < o->min_baseline_runs || base->n < 2 || cand->n < 2) {
        v->status = V_INSUFFICIENT;
        return;
    }
    stats_ttest t;
    stats_welch(base->x[m], base->n, cand->x[m], cand->n, &t);
    double a = v->baseline_mean;
    if (a != 0) {
        v->change = (v->candidate_mean - a) / a;
        v->ci_low = t.ci_low / a;
        v->ci_high = t.ci_high / a;
    } else {
        v->change = v->candidate_mean == 0 ? 0 : INFINITY;
    }
    int hib = metric_info[m].higher_is_better;
    double p_worse = hib ? t.p_less : t.p_greater;
    double p_better = hib ? t.p_greater : t.p_less;
    int worse = hib ? v->change < -v->threshold : v->change > v->threshold;
    int better = hib ? v->change > v->threshold : v->change < -v->threshold;
    if (worse && p_worse < o->alpha) {
        v->status = V_REGRESSION;
        v->p_value = p_worse;
    } else if (better && p_better < o->alpha) {
        v->status = V_IMPROVEMENT;
        v->p_value = p_better;
    } else {
        v->status = V_PASS;
        v->p_value = p_worse;
    }
}

static const char *BASELINE_SQL =
    "WITH base AS ("
    "  SELECT res.id AS rid FROM results res JOIN runs r ON r.id = res.run_id"
    "  WHERE res.series_key = ?1 AND r.project = ?2 AND r.branch = ?3 AND r.id <> ?4"
    "    AND r.started_at < ?5"
    "    AND NOT EXISTS (SELECT 1 FROM verdicts v WHERE v.result_id = res.id"
    "                    AND v.status = 'regression' AND v.triage IS NULL)"
    "  ORDER BY r.started_at DESC LIMIT ?6)"
    " SELECT s.result_id, s.ops_per_sec, s.p50_us, s.p99_us"
    " FROM samples s JOIN base ON base.rid = s.result_id ORDER BY s.result_id";

int analyze_run(sqlite3 *db, const char *run_id, const analyze_opts *o, verdict_list *out,
                char *err)
{
    sqlite3_stmt *rs = NULL, *res = NULL, *cs = NULL, *bs = NULL;
    char *project = NULL, *started = NULL;
    int rc = -1;

    verdict_list_init(out);
    snprintf(out->run_id, sizeof out->run_id, "%s", run_id);
    snprintf(out->baseline_branch, sizeof out->baseline_branch, "%s", o->baseline_branch);

    if (sqlite3_prepare_v2(db, "SELECT project, started_at FROM runs WHERE id=?", -1, &rs, NULL) ||
        sqlite3_prepare_v2(db, "SELECT id, series_key, op FROM results WHERE run_id=? AND status IN ('ok', 'partial') ORDER BY id",
                           -1, &res, NULL) ||
        sqlite3_prepare_v2(db,
                           "SELECT result_id, ops_per_sec, p50_us, p99_us FROM samples "
                           "WHERE result_id=? ORDER BY iteration",
                           -1, &cs, NULL) ||
        sqlite3_prepare_v2(db, BASELINE_SQL, -1, &bs, NULL)) {
        rb_err(err, "sqlite: %s", sqlite3_errmsg(db));
        goto out;
    }
    sqlite3_bind_text(rs, 1, run_id, -1, SQLITE_STATIC);
    if (sqlite3_step(rs) != SQLITE_ROW) {
        rb_err(err, "run %s not found", run_id);
        goto out;
    }
    project = store_col_text(rs, 0);
    started = store_col_text(rs, 1);

    sqlite3_bind_text(res, 1, run_id, -1, SQLITE_STATIC);
    while (sqlite3_step(res) == SQLITE_ROW) {
        long long rid = sqlite3_column_int64(res, 0);
        const char *key = (const char *)sqlite3_column_text(res, 1);
        const char *op = (const char *)sqlite3_column_text(res, 2);
        sampleset cand = {0}, base = {0};

        sqlite3_reset(cs);
        sqlite3_bind_int64(cs, 1, rid);
        while (sqlite3_step(cs) == SQLITE_ROW) sampleset_add(&cand, cs, 1);
        cand.runs = 1;

        sqlite3_reset(bs);
        sqlite3_bind_text(bs, 1, key, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(bs, 2, project, -1, SQLITE_STATIC);
        sqlite3_bind_text(bs, 3, o->baseline_branch, -1, SQLITE_STATIC);
        sqlite3_bind_text(bs, 4, run_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(bs, 5, started, -1, SQLITE_STATIC);
        sqlite3_bind_int(bs, 6, o->max_baseline_runs);
        long long last = -1;
        int src;
        while ((src = sqlite3_step(bs)) == SQLITE_ROW) {
            long long brid = sqlite3_column_int64(bs, 0);
            if (brid != last) base.runs++;
            last = brid;
            sampleset_add(&base, bs, 1);
        }
        if (src != SQLITE_DONE) {
            rb_err(err, "sqlite: %s", sqlite3_errmsg(db));
            sampleset_free(&cand);
            sampleset_free(&base);
            goto out;
        }
        for (int m = 0; m < MET__MAX; m++) {
            verdict *v = add_verdict(out);
            v->result_id = rid;
            snprintf(v->series_key, sizeof v->series_key, "%s", key);
            snprintf(v->op, sizeof v->op, "%s", op);
            judge(v, (enum metric)m, &base, &cand, o);
        }
        sampleset_free(&cand);
        sampleset_free(&base);
    }
    rc = 0;
out:
    sqlite3_finalize(rs);
    sqlite3_finalize(res);
    sqlite3_finalize(cs);
    sqlite3_finalize(bs);
    free(project);
    free(started);
    if (rc < 0) verdict_list_cleanup(out);
    return rc;
}

static void bind_num(sqlite3_stmt *st, int i, double x)
{
    if (isfinite(x))
        sqlite3_bind_double(st, i, x);
    else
        sqlite3_bind_null(st, i);
}

int analyze_save(sqlite3 *db, const verdict_list *vl, char *err)
{
    sqlite3_stmt *del = NULL, *ins = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(db, "DELETE FROM verdicts WHERE run_id=?", -1, &del, NULL) ||
        sqlite3_prepare_v2(db,
                           "INSERT INTO verdicts(run_id, result_id, series_key, metric, status, "
                           "test, p_value, change, ci_low, ci_high, baseline_mean, candidate_mean, "
                           "baseline_runs, baseline_samples, threshold, alpha, baseline_branch, "
                           "created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,"
                           "strftime('%Y-%m-%dT%H:%M:%fZ','now'))",
                           -1, &ins, NULL)) {
        rb_err(err, "sqlite: %s", sqlite3_errmsg(db));
        goto out;
    }
    sqlite3_bind_text(del, 1, vl->run_id, -1, SQLITE_STATIC);
    if (sqlite3_step(del) != SQLITE_DONE) {
        rb_err(err, "sqlite: %s", sqlite3_errmsg(db));
        goto out;
    }
    for (size_t i = 0; i < vl->n; i++) {
        const verdict *v = &vl->v[i];
        sqlite3_reset(ins);
        sqlite3_bind_text(ins, 1, vl->run_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 2, v->result_id);
        sqlite3_bind_text(ins, 3, v->series_key, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 4, metric_info[v->metric].name, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 5, verdict_status_name[v->status], -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 6, v->test, -1, SQLITE_STATIC);
        bind_num(ins, 7, v->p_value);
        bind_num(ins, 8, v->change);
        bind_num(ins, 9, v->ci_low);
        bind_num(ins, 10, v->ci_high);
        bind_num(ins, 11, v->baseline_mean);
        bind_num(ins, 12, v->candidate_mean);
        sqlite3_bind_int(ins, 13, v->baseline_runs);
        sqlite3_bind_int(ins, 14, v->baseline_samples);
        sqlite3_bind_double(ins, 15, v->threshold);
        sqlite3_bind_double(ins, 16, v->alpha);
        sqlite3_bind_text(ins, 17, vl->baseline_branch, -1, SQLITE_STATIC);
        if (sqlite3_step(ins) != SQLITE_DONE) {
            rb_err(err, "sqlite: %s", sqlite3_errmsg(db));
            goto out;
        }
    }
    rc = 0;
out:
    sqlite3_finalize(del);
    sqlite3_finalize(ins);
    return rc;
}

/* ---- JSON ---- */

static void add_num(cJSON *o, const char *k, double x)
{
    if (isfinite(x))
        cJSON_AddNumberToObject(o, k, x);
    else
        cJSON_AddNullToObject(o, k);
}

static const char *overall_status(const verdict_list *vl)
{
    if (verdict_list_count(vl, V_REGRESSION)) return "regression";
    if (vl->n && verdict_list_count(vl, V_INSUFFICIENT) == vl->n) return "insufficient_baseline";
    return "pass";
}

cJSON *verdicts_to_json(const verdict_list *vl)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "run_id", vl->run_id);
    cJSON_AddStringToObject(root, "baseline_branch", vl->baseline_branch);
    cJSON *sum = cJSON_AddObjectToObject(root, "summary");
    cJSON_AddStringToObject(sum, "status", overall_status(vl));
    for (int s = 0; s < V__MAX; s++)
        cJSON_AddNumberToObject(sum, verdict_status_name[s],
                                (double)verdict_list_count(vl, (enum verdict_status)s));
    cJSON *arr = cJSON_AddArrayToObject(root, "verdicts");
    for (size_t i = 0; i < vl->n; i++) {
        const verdict *v = &vl->v[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "result_id", (double)v->result_id);
        cJSON_AddStringToObject(o, "series_key", v->series_key);
        cJSON_AddStringToObject(o, "op", v->op);
        cJSON_AddStringToObject(o, "metric", metric_info[v->metric].name);
        cJSON_AddStringToObject(o, "status", verdict_status_name[v->status]);
        cJSON_AddStringToObject(o, "test", v->test);
        add_num(o, "p_value", v->p_value);
        add_num(o, "change", v->change);
        add_num(o, "ci_low", v->ci_low);
        add_num(o, "ci_high", v->ci_high);
        add_num(o, "baseline_mean", v->baseline_mean);
        add_num(o, "candidate_mean", v->candidate_mean);
        cJSON_AddNumberToObject(o, "baseline_runs", v->baseline_runs);
        cJSON_AddNumberToObject(o, "baseline_samples", v->baseline_samples);
        cJSON_AddNumberToObject(o, "candidate_samples", v->candidate_samples);
        cJSON_AddNumberToObject(o, "threshold", v->threshold);
        cJSON_AddNumberToObject(o, "alpha", v->alpha);
        cJSON_AddItemToArray(arr, o);
    }
    return root;
}

static double jnum(const cJSON *o, const char *k)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(it) ? it->valuedouble : NAN;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(it) ? it->valuestring : NULL;
}

int verdicts_from_json(const cJSON *j, verdict_list *vl, char *err)
{
    verdict_list_init(vl);
    const char *rid = jstr(j, "run_id"), *bb = jstr(j, "baseline_branch");
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(j, "verdicts");
    if (!rid || !bb || !cJSON_IsArray(arr)) return rb_err(err, "analysis: missing run_id, baseline_branch or verdicts");
    snprintf(vl->run_id, sizeof vl->run_id, "%s", rid);
    snprintf(vl->baseline_branch, sizeof vl->baseline_branch, "%s", bb);
    const cJSON *o;
    cJSON_ArrayForEach(o, arr) {
        const char *key = jstr(o, "series_key"), *op = jstr(o, "op"), *met = jstr(o, "metric"),
                   *st = jstr(o, "status"), *test = jstr(o, "test");
        if (!key || !op || !met || !st || !test) {
            verdict_list_cleanup(vl);
            return rb_err(err, "analysis: verdict %zu lacks a field", vl->n);
        }
        verdict *v = add_verdict(vl);
        int m = -1, s = -1;
        for (int i = 0; i < MET__MAX; i++)
            if (strcmp(metric_info[i].name, met) == 0) m = i;
        for (int i = 0; i < V__MAX; i++)
            if (strcmp(verdict_status_name[i], st) == 0) s = i;
        if (m < 0 || s < 0) {
            verdict_list_cleanup(vl);
            return rb_err(err, "analysis: unknown metric '%s' or status '%s'", met, st);
        }
        v->metric = (enum metric)m;
        v->status = (enum verdict_status)s;
        v->result_id = (long long)jnum(o, "result_id");
        snprintf(v->series_key, sizeof v->series_key, "%s", key);
        snprintf(v->op, sizeof v->op, "%s", op);
        snprintf(v->test, sizeof v->test, "%s", test);
        v->p_value = jnum(o, "p_value");
        v->change = jnum(o, "change");
        v->ci_low = jnum(o, "ci_low");
        v->ci_high = jnum(o, "ci_high");
        v->baseline_mean = jnum(o, "baseline_mean");
        v->candidate_mean = jnum(o, "candidate_mean");
        v->baseline_runs = (int)jnum(o, "baseline_runs");
        v->baseline_samples = (int)jnum(o, "baseline_samples");
        v->candidate_samples = (int)jnum(o, "candidate_samples");
        v->threshold = jnum(o, "threshold");
        v->alpha = jnum(o, "alpha");
    }
    return 0;
}

/* ---- presentation ---- */

int out_format_parse(const char *s)
{
    if (strcmp(s, "table") == 0) return FMT_TABLE;
    if (strcmp(s, "json") == 0) return FMT_JSON;
    if (strcmp(s, "markdown") == 0) return FMT_MARKDOWN;
    return -1;
}

static void fmt_pct(char *out, size_t n, double x)
{
    if (isfinite(x))
        snprintf(out, n, "%+.1f%%", x * 100);
    else
        snprintf(out, n, "-");
}

static void fmt_val(char *out, size_t n, double x)
{
    if (isfinite(x))
        snprintf(out, n, "%.1f", x);
    else
        snprintf(out, n, "-");
}

static void fmt_p(char *out, size_t n, double p)
{
    if (!isfinite(p))
        snprintf(out, n, "-");
    else if (p < 0.0001)
        snprintf(out, n, "<0.0001");
    else
        snprintf(out, n, "%.4f", p);
}

void verdicts_print(const verdict_list *vl, enum out_format f, FILE *out)
{
    if (f == FMT_JSON) {
        cJSON *j = verdicts_to_json(vl);
        char *s = cJSON_Print(j);
        fprintf(out, "%s\n", s);
        cJSON_free(s);
        cJSON_Delete(j);
        return;
    }
    int w = 6;
    for (size_t i = 0; i < vl->n; i++) {
        int l = (int)strlen(vl->v[i].series_key);
        if (l > w) w = l;
    }
    if (f == FMT_MARKDOWN) {
        fprintf(out, "### redbench: run `%s` vs `%s` — %s\n\n", vl->run_id, vl->baseline_branch,
                overall_status(vl));
        fprintf(out, "| series | metric | baseline | candidate | change | 95%% CI | p | runs | verdict |\n");
        fprintf(out, "|---|---|---:|---:|---:|---|---:|---:|---|\n");
    } else {
        fprintf(out, "run %s vs baseline branch %s\n", vl->run_id, vl->baseline_branch);
        fprintf(out, "%-*s  %-11s %12s %12s %8s %17s %8s %4s  %s\n", w, "SERIES", "METRIC",
                "BASELINE", "CANDIDATE", "CHANGE", "95% CI", "P", "RUNS", "VERDICT");
    }
    for (size_t i = 0; i < vl->n; i++) {
        const verdict *v = &vl->v[i];
        char b[32], c[32], ch[32], lo[32], hi[32], ci[72], p[32];
        fmt_val(b, sizeof b, v->baseline_mean);
        fmt_val(c, sizeof c, v->candidate_mean);
        fmt_pct(ch, sizeof ch, v->change);
        fmt_pct(lo, sizeof lo, v->ci_low);
        fmt_pct(hi, sizeof hi, v->ci_high);
        snprintf(ci, sizeof ci, "%s..%s", lo, hi);
        fmt_p(p, sizeof p, v->p_value);
        const char *st = verdict_status_name[v->status];
        if (f == FMT_MARKDOWN) {
            const char *mark = v->status == V_REGRESSION ? "❌ " : v->status == V_IMPROVEMENT ? "✅ " : "";
            fprintf(out, "| `%s` | %s | %s | %s | %s | %s | %s | %d | %s%s |\n", v->series_key,
                    metric_info[v->metric].label, b, c, ch, ci, p, v->baseline_runs, mark, st);
        } else {
            fprintf(out, "%-*s  %-11s %12s %12s %8s %17s %8s %4d  %s\n", w, v->series_key,
                    metric_info[v->metric].name, b, c, ch, ci, p, v->baseline_runs,
                    v->status == V_REGRESSION ? "REGRESSION" : st);
        }
    }
    fprintf(out, "%s%zu regression(s), %zu improvement(s), %zu pass, %zu insufficient baseline "
                 "(threshold and one-sided Welch's t-test at alpha %.3g)\n",
            f == FMT_MARKDOWN ? "\n" : "", verdict_list_count(vl, V_REGRESSION),
            verdict_list_count(vl, V_IMPROVEMENT), verdict_list_count(vl, V_PASS),
            verdict_list_count(vl, V_INSUFFICIENT), vl->n ? vl->v[0].alpha : 0.05);
}
