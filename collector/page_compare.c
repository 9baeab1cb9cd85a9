/* page_compare.c -- GET /compare: a picker of two runs, or with ?base=ID&head=ID the
 * two runs side by side per cell (matched by series key): values, change,
 * spread and significance on the per-iteration samples, worst change first. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "stats.h"
#include "util.h"

#define PICKER_RUNS 50
#define COMPARE_MAX_CELLS 5000   /* results per run read (a run holds at most 2000) */

/* One result of a run, with its per-iteration ops/s. */
typedef struct cmp_cell {
    long long id;
    char *key, *scenario, *op;
    long long concurrency, pipeline, value_size, dataset_size, errors;
    double ops, p50, p99;
    double *samples;   /* ops/s per iteration; the summary alone for an import */
    size_t n;
} cmp_cell;

typedef struct cmp_run {
    cmp_cell *c;
    size_t n;
} cmp_run;

/* A matched pair and what sorting needs. */
typedef struct cmp_pair {
    const cmp_cell *a, *b;
    double change;     /* ops/s, relative; NAN when the base is 0 */
} cmp_pair;

static char *col_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return xstrdup(t ? (const char *)t : "");
}

static void cmp_run_cleanup(cmp_run *run)
{
    for (size_t i = 0; i < run->n; i++) {
        free(run->c[i].key);
        free(run->c[i].scenario);
        free(run->c[i].op);
        free(run->c[i].samples);
    }
    free(run->c);
}

/* Loads the results of run id sorted by series key (the index on
 * (run_id, series_key)) with their samples. */
static void cmp_run_load(sqlite3 *db, const char *id, cmp_run *run)
{
    sqlite3_stmt *st = NULL, *ss = NULL;
    size_t cap = 0;
    run->c = NULL;
    run->n = 0;
    if (sqlite3_prepare_v2(db,
                           "SELECT id, series_key, scenario, op, concurrency, pipeline, value_size, "
                           "dataset_size, errors, ops_per_sec, p50_us, p99_us FROM results "
                           "WHERE run_id=? ORDER BY series_key",
                           -1, &st, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT ops_per_sec FROM samples WHERE result_id=? ORDER BY iteration", -1, &ss,
                           NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    while (run->n < COMPARE_MAX_CELLS && sqlite3_step(st) == SQLITE_ROW) {
        if (run->n == cap) {
            cap = cap ? 2 * cap : 64;
            run->c = xrealloc(run->c, cap * sizeof *run->c);
        }
        cmp_cell *c = &run->c[run->n++];
        memset(c, 0, sizeof *c);
        c->id = sqlite3_column_int64(st, 0);
        c->key = col_dup(st, 1);
        c->scenario = col_dup(st, 2);
        c->op = col_dup(st, 3);
        c->concurrency = sqlite3_column_int64(st, 4);
        c->pipeline = sqlite3_column_int64(st, 5);
        c->value_size = sqlite3_column_int64(st, 6);
        c->dataset_size = sqlite3_column_int64(st, 7);
        c->errors = sqlite3_column_int64(st, 8);
        c->ops = sqlite3_column_double(st, 9);
        c->p50 = sqlite3_column_double(st, 10);
        c->p99 = sqlite3_column_double(st, 11);
        size_t scap = 0;
        sqlite3_reset(ss);
        sqlite3_bind_int64(ss, 1, c->id);
        while (sqlite3_step(ss) == SQLITE_ROW) {
            if (c->n == scap) {
                scap = scap ? 2 * scap : 8;
                c->samples = xrealloc(c->samples, scap * sizeof *c->samples);
            }
            c->samples[c->n++] = sqlite3_column_double(ss, 0);
        }
        if (!c->n) { /* an imported result: its summary is its one sample */
            c->samples = xmalloc(sizeof *c->samples);
            c->samples[0] = c->ops;
            c->n = 1;
        }
    }
out:
    sqlite3_finalize(st);
    sqlite3_finalize(ss);
}

/* Run id's header fields into a new object, or NULL if there is no such run. */
static cJSON *run_header(sqlite3 *db, const char *id)
{
    sqlite3_stmt *st = NULL;
    cJSON *o = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT id, branch, commit_sha, started_at, mode, target_kind, target_version, project "
                           "FROM runs WHERE id=?",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            o = cJSON_CreateObject();
            for (int i = 0; i < 8; i++) page_add_col(o, sqlite3_column_name(st, i), st, i);
            page_add_short(o, "short_id", id, 8);
            page_add_short(o, "short_commit", (const char *)sqlite3_column_text(st, 2), 10);
        }
    }
    sqlite3_finalize(st);
    return o;
}

static double rel(double a, double b)
{
    return a != 0 && isfinite(a) && isfinite(b) ? b / a - 1 : NAN;
}

/* Coefficient of variation of x (sample stddev / |mean|); NAN below 2 values. */
static double cv(const double *x, size_t n)
{
    double m = stats_mean(x, n);
    return n >= 2 && m != 0 ? stats_stddev(x, n) / fabs(m) : NAN;
}

/* Worst first: the largest ops/s drop; cells without a change last, by key. */
static int pair_cmp(const void *x, const void *y)
{
    const cmp_pair *a = x, *b = y;
    int na = isnan(a->change), nb = isnan(b->change);
    if (na != nb) return na - nb;
    if (!na && a->change != b->change) return a->change < b->change ? -1 : 1;
    return strcmp(a->a->key, b->a->key);
}

static void add_cell_fields(cJSON *o, const cmp_cell *c)
{
    cJSON_AddStringToObject(o, "series_key", c->key);
    cJSON_AddStringToObject(o, "scenario", c->scenario);
    cJSON_AddStringToObject(o, "op", c->op);
    cJSON_AddNumberToObject(o, "concurrency", (double)c->concurrency);
    cJSON_AddNumberToObject(o, "pipeline", (double)c->pipeline);
    cJSON_AddNumberToObject(o, "value_size", (double)c->value_size);
    cJSON_AddNumberToObject(o, "dataset_size", (double)c->dataset_size);
}

/* One row of the side-by-side table. */
static cJSON *pair_json(const cmp_pair *p)
{
    const cmp_cell *a = p->a, *b = p->b;
    cJSON *o = cJSON_CreateObject();
    add_cell_fields(o, a);
    page_add_fmt(o, "base_ops", "%.0f", a->ops);
    page_add_fmt(o, "head_ops", "%.0f", b->ops);
    page_add_fmt(o, "change", "%+.1f%%", p->change * 100);
    page_add_fmt(o, "base_cv", "%.1f%%", cv(a->samples, a->n) * 100);
    page_add_fmt(o, "head_cv", "%.1f%%", cv(b->samples, b->n) * 100);
    cJSON_AddNumberToObject(o, "base_n", (double)a->n);
    cJSON_AddNumberToObject(o, "head_n", (double)b->n);
    double p_mw = NAN;
    stats_ttest t;
    if (stats_mannwhitney(a->samples, a->n, b->samples, b->n, NULL, &p_mw, NULL, NULL) < 0) p_mw = NAN;
    page_add_fmt(o, "p_mw", "%.4f", p_mw);
    page_add_fmt(o, "p_welch", "%.4f",
                 stats_welch_test(a->samples, a->n, b->samples, b->n, &t) == 0 ? t.p_two_sided : NAN);
    int worse = p->change < 0, significant = isfinite(p_mw) && p_mw < 0.05;
    cJSON_AddStringToObject(o, "direction", !isfinite(p->change) || p->change == 0 ? "same"
                                            : worse                               ? "regression"
                                                                                  : "improvement");
    cJSON_AddBoolToObject(o, "significant", significant);
    page_add_fmt(o, "base_p50", "%.1f", a->p50);
    page_add_fmt(o, "head_p50", "%.1f", b->p50);
    page_add_fmt(o, "change_p50", "%+.1f%%", rel(a->p50, b->p50) * 100);
    page_add_fmt(o, "base_p99", "%.1f", a->p99);
    page_add_fmt(o, "head_p99", "%.1f", b->p99);
    page_add_fmt(o, "change_p99", "%+.1f%%", rel(a->p99, b->p99) * 100);
    cJSON_AddNumberToObject(o, "base_errors", (double)a->errors);
    cJSON_AddNumberToObject(o, "head_errors", (double)b->errors);
    return o;
}

static cJSON *only_json(const cmp_cell *c)
{
    cJSON *o = cJSON_CreateObject();
    add_cell_fields(o, c);
    page_add_fmt(o, "ops", "%.0f", c->ops);
    page_add_fmt(o, "p50", "%.1f", c->p50);
    page_add_fmt(o, "p99", "%.1f", c->p99);
    cJSON_AddNumberToObject(o, "errors", (double)c->errors);
    return o;
}

/* The picker: the latest runs in two selects (base: the second newest,
 * head: the newest, unless given). */
static void picker(sqlite3 *db, const char *base, const char *head, cJSON *data)
{
    cJSON *arr = cJSON_AddArrayToObject(data, "choices");
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT id, branch, commit_sha, started_at, mode FROM runs "
                           "ORDER BY started_at DESC, id LIMIT ?",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int(st, 1, PICKER_RUNS);
        for (int i = 0; sqlite3_step(st) == SQLITE_ROW; i++) {
            const char *id = (const char *)sqlite3_column_text(st, 0);
            cJSON *o = cJSON_CreateObject();
            page_add_col(o, "id", st, 0);
            page_add_col(o, "branch", st, 1);
            page_add_short(o, "short_id", id, 8);
            page_add_short(o, "short_commit", (const char *)sqlite3_column_text(st, 2), 10);
            page_add_col(o, "started_at", st, 3);
            page_add_col(o, "mode", st, 4);
            cJSON_AddBoolToObject(o, "is_base", base ? !strcmp(base, id) : i == 1);
            cJSON_AddBoolToObject(o, "is_head", head ? !strcmp(head, id) : i == 0);
            cJSON_AddItemToArray(arr, o);
        }
    }
    sqlite3_finalize(st);
    cJSON_AddBoolToObject(data, "has_choices", cJSON_GetArraySize(arr) > 0);
    cJSON_AddBoolToObject(data, "can_pick", cJSON_GetArraySize(arr) > 1);
}

enum MHD_Result page_compare(const struct request *r)
{
    const char *base = query_arg(r, "base"), *head = query_arg(r, "head");
    if (base && !*base) base = NULL;
    if (head && !*head) head = NULL;
    cJSON *data = cJSON_CreateObject();
    cJSON_AddBoolToObject(data, "nav_compare", 1);
    sqlite3 *db = store_reader(r->col->st);
    if (!base || !head) {
        picker(db, base, head, data);
        store_reader_release(r->col->st, db);
        cJSON_AddStringToObject(data, "title", "Compare two runs");
        return page_render(r, 200, "compare", data);
    }
    cJSON *hb = run_header(db, base), *hh = hb ? run_header(db, head) : NULL;
    if (!hb || !hh) {
        store_reader_release(r->col->st, db);
        cJSON_Delete(hb);
        cJSON_Delete(data);
        return page_not_found(r, "run", hb ? head : base);
    }
    cJSON_AddItemToObject(data, "base", hb);
    cJSON_AddItemToObject(data, "head", hh);
    cmp_run a, b;
    cmp_run_load(db, base, &a);
    cmp_run_load(db, head, &b);
    store_reader_release(r->col->st, db);

    cmp_pair *pairs = xmalloc((a.n < b.n ? a.n : b.n) * sizeof *pairs + 1);
    size_t np = 0, i = 0, j = 0;
    cJSON *only_base = cJSON_AddArrayToObject(data, "only_base");
    cJSON *only_head = cJSON_AddArrayToObject(data, "only_head");
    while (i < a.n || j < b.n) {
        int c = i >= a.n ? 1 : j >= b.n ? -1 : strcmp(a.c[i].key, b.c[j].key);
        if (c < 0) {
            cJSON_AddItemToArray(only_base, only_json(&a.c[i++]));
        } else if (c > 0) {
            cJSON_AddItemToArray(only_head, only_json(&b.c[j++]));
        } else {
            pairs[np].a = &a.c[i++];
            pairs[np].b = &b.c[j++];
            pairs[np].change = rel(pairs[np].a->ops, pairs[np].b->ops);
            np++;
        }
    }
    qsort(pairs, np, sizeof *pairs, pair_cmp);
    cJSON *rows = cJSON_AddArrayToObject(data, "rows");
    for (size_t k = 0; k < np; k++) cJSON_AddItemToArray(rows, pair_json(&pairs[k]));
    free(pairs);
    cmp_run_cleanup(&a);
    cmp_run_cleanup(&b);
    cJSON_AddBoolToObject(data, "has_rows", np > 0);
    cJSON_AddBoolToObject(data, "has_only_base", cJSON_GetArraySize(only_base) > 0);
    cJSON_AddBoolToObject(data, "has_only_head", cJSON_GetArraySize(only_head) > 0);
    cJSON_AddBoolToObject(data, "comparing", 1);
    char title[96];
    snprintf(title, sizeof title, "Compare %.8s with %.8s", base, head);
    cJSON_AddStringToObject(data, "title", title);
    return page_render(r, 200, "compare", data);
}
