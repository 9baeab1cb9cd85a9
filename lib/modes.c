/* modes.c -- the same operations across deployment modes, with the overhead
 * each mode adds over "single" and the cost per operation (lib/modes.h). */
#include "modes.h"

#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "util.h"

#define RB_STR_(x) #x
#define RB_STR(x) RB_STR_(x)

struct deploy {
    char *mode, *client_region, *server_region, *run_id, *started_at, *commit, *preset;
    int rank;                   /* index of mode in rb_modes */
    int n_results;
};

struct cell {
    size_t dep;                 /* index into the sorted deployments */
    long long result_id;
    char *scenario, *op, *data_type, *params, *status, *series_key;
    long long concurrency, pipeline, value_size, dataset_size, errors, requests;
    double ops, p50, p99, usd;
    int has_usd;
    cJSON *metrics;             /* result_metrics as {"name": value}; owned */
};

/* The window: the (started_at, rowid) of the branch's MODES_MAX_RUNS-th latest
 * run (runs_by_branch walked backwards, as ORDER BY started_at DESC LIMIT
 * MODES_MAX_RUNS reads it); no row when the branch has fewer runs. */
static const char CUTOFF_SQL[] =
    "SELECT started_at, rowid FROM runs WHERE project = ?1 AND branch = ?2 "
    "ORDER BY started_at DESC LIMIT 1 OFFSET " RB_STR(MODES_MAX_RUNS) " - 1";

/* The next (mode, client region, server region, preset) of the branch after
 * ?3..?6 in runs_by_deployment: one seek (?7 is a blob, greater than any
 * started_at, so the seek lands after every run of ?3..?6). No INDEXED BY: a
 * warehouse opened read-only before migration 0011 (redbench report --db) still
 * answers, through runs_by_branch. */
static const char NEXT_DEPLOY_SQL[] =
    "SELECT mode, client_region, server_region, target_preset FROM runs "
    "WHERE project = ?1 AND branch = ?2 "
    "  AND (mode, client_region, server_region, target_preset, started_at) > (?3, ?4, ?5, ?6, ?7) "
    "ORDER BY mode, client_region, server_region, target_preset LIMIT 1";

/* The latest run of one (mode, client region, server region, preset) inside the
 * window (started_at, rowid) >= (?7, ?8) that holds results; ?9 = 1: results
 * other than lab scenarios (persistence-recovery, chaos: docs/lab.md). */
static const char LATEST_SQL[] =
    "SELECT id, started_at FROM runs u "
    "WHERE project = ?1 AND branch = ?2 AND mode = ?3 AND client_region = ?4 AND server_region = ?5 "
    "  AND target_preset = ?6 AND started_at >= ?7 AND (started_at > ?7 OR rowid >= ?8) "
    "  AND EXISTS (SELECT 1 FROM results x WHERE x.run_id = u.id "
    "              AND (?9 = 0 OR x.scenario NOT IN ('persistence-recovery', 'chaos'))) "
    "ORDER BY started_at DESC, id DESC LIMIT 1";

static const char DEPLOY_SQL[] =
    "SELECT commit_sha, (SELECT count(*) FROM results y WHERE y.run_id = ?1) FROM runs WHERE id = ?1";

static const char CELLS_SQL[] =
    "SELECT x.id, x.scenario, x.op, x.data_type, x.params, x.status, x.concurrency, x.pipeline, "
    "       x.value_size, x.dataset_size, x.errors, x.requests, x.ops_per_sec, x.p50_us, x.p99_us, "
    "       (SELECT c.usd_per_mop FROM cost_per_op c WHERE c.result_id = x.id), x.series_key "
    "FROM results x WHERE x.run_id = ?1 AND (?2 IS NULL OR x.op = ?2)";

static const char METRICS_SQL[] =
    "SELECT name, value FROM result_metrics WHERE result_id = ?1 ORDER BY name";

static char *col(sqlite3_stmt *st, int i);

static void bind_key(sqlite3_stmt *st, const struct modes_run *k)
{
    sqlite3_bind_text(st, 3, k->mode, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, k->client_region, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, k->server_region, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, k->preset, -1, SQLITE_STATIC);
}

void modes_runs_free(struct modes_run *runs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(runs[i].mode);
        free(runs[i].client_region);
        free(runs[i].server_region);
        free(runs[i].preset);
        free(runs[i].run_id);
        free(runs[i].started_at);
    }
    free(runs);
}

int modes_latest_runs(sqlite3 *db, const char *project, const char *branch, int by_preset, int skip_lab,
                      struct modes_run **out, size_t *n_out, char *err)
{
    sqlite3_stmt *cut = NULL, *next = NULL, *latest = NULL;
    struct modes_run *runs = NULL, key = {.mode = "", .client_region = "", .server_region = "", .preset = ""};
    char *kbuf[4] = {NULL, NULL, NULL, NULL};
    size_t n = 0, cap = 0;
    int rc = -1, src;
    if (sqlite3_prepare_v2(db, CUTOFF_SQL, -1, &cut, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, NEXT_DEPLOY_SQL, -1, &next, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, LATEST_SQL, -1, &latest, NULL) != SQLITE_OK) {
        rb_err(err, "modes: %s", sqlite3_errmsg(db));
        goto out;
    }
    sqlite3_bind_text(cut, 1, project, -1, SQLITE_STATIC);
    sqlite3_bind_text(cut, 2, branch, -1, SQLITE_STATIC);
    sqlite3_bind_text(latest, 1, project, -1, SQLITE_STATIC);
    sqlite3_bind_text(latest, 2, branch, -1, SQLITE_STATIC);
    sqlite3_bind_int(latest, 9, skip_lab != 0);
    src = sqlite3_step(cut);
    if (src == SQLITE_ROW) {
        sqlite3_bind_value(latest, 7, sqlite3_column_value(cut, 0));
        sqlite3_bind_int64(latest, 8, sqlite3_column_int64(cut, 1));
    } else if (src == SQLITE_DONE) {
        sqlite3_bind_text(latest, 7, "", 0, SQLITE_STATIC); /* fewer runs: all of them */
        sqlite3_bind_int64(latest, 8, 0);
    } else {
        rb_err(err, "modes: %s", sqlite3_errmsg(db));
        goto out;
    }
    sqlite3_bind_text(next, 1, project, -1, SQLITE_STATIC);
    sqlite3_bind_text(next, 2, branch, -1, SQLITE_STATIC);
    /* The first key: after ("", "", "", "", ""), i.e. every run (started_at is never empty). */
    bind_key(next, &key);
    sqlite3_bind_text(next, 7, "", 0, SQLITE_STATIC);
    while ((src = sqlite3_step(next)) == SQLITE_ROW) {
        for (int i = 0; i < 4; i++) {
            free(kbuf[i]);
            kbuf[i] = col(next, i);
        }
        key.mode = kbuf[0];
        key.client_region = kbuf[1];
        key.server_region = kbuf[2];
        key.preset = kbuf[3];
        sqlite3_reset(next);
        bind_key(next, &key);
        sqlite3_bind_zeroblob(next, 7, 0);

        sqlite3_reset(latest);
        bind_key(latest, &key);
        src = sqlite3_step(latest);
        if (src == SQLITE_DONE) continue;
        if (src != SQLITE_ROW) break;
        const char *id = (const char *)sqlite3_column_text(latest, 0);
        const char *at = (const char *)sqlite3_column_text(latest, 1);
        if (!id || !at) continue;
        /* Without presets apart, keep the later run of the same mode and regions. */
        struct modes_run *same = NULL;
        if (!by_preset)
            for (size_t i = 0; i < n && !same; i++)
                if (!strcmp(runs[i].mode, key.mode) && !strcmp(runs[i].client_region, key.client_region) &&
                    !strcmp(runs[i].server_region, key.server_region))
                    same = &runs[i];
        if (same) {
            int c = strcmp(at, same->started_at);
            if (c < 0 || (c == 0 && strcmp(id, same->run_id) <= 0)) continue;
            free(same->preset);
            free(same->run_id);
            free(same->started_at);
        } else {
            if (n == cap) {
                cap = cap ? cap * 2 : 8;
                runs = xrealloc(runs, cap * sizeof *runs);
            }
            same = &runs[n++];
            same->mode = xstrdup(key.mode);
            same->client_region = xstrdup(key.client_region);
            same->server_region = xstrdup(key.server_region);
        }
        same->preset = xstrdup(key.preset);
        same->run_id = xstrdup(id);
        same->started_at = xstrdup(at);
    }
    if (src != SQLITE_DONE) {
        rb_err(err, "modes: %s", sqlite3_errmsg(db));
        goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(cut);
    sqlite3_finalize(next);
    sqlite3_finalize(latest);
    for (int i = 0; i < 4; i++) free(kbuf[i]);
    if (rc < 0) {
        modes_runs_free(runs, n);
        runs = NULL;
        n = 0;
    }
    *out = runs;
    *n_out = n;
    return rc;
}

static int mode_rank(const char *m)
{
    int i = 0;
    for (; rb_modes[i]; i++)
        if (!strcmp(rb_modes[i], m)) return i;
    return i;
}

static char *col(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return xstrdup(t ? (const char *)t : "");
}

static int deploy_cmp(const void *a, const void *b)
{
    const struct deploy *x = a, *y = b;
    if (x->rank != y->rank) return x->rank < y->rank ? -1 : 1;
    int c = strcmp(x->mode, y->mode);
    if (!c) c = strcmp(x->client_region, y->client_region);
    if (!c) c = strcmp(x->server_region, y->server_region);
    return c;
}

static int cmp_ll(long long a, long long b)
{
    return a < b ? -1 : a > b;
}

/* Order of operations; 0 means "the same operation and parameters". */
static int op_cmp(const struct cell *x, const struct cell *y)
{
    int c = strcmp(x->scenario, y->scenario);
    if (!c) c = strcmp(x->op, y->op);
    if (!c) c = strcmp(x->data_type, y->data_type);
    if (!c) c = cmp_ll(x->concurrency, y->concurrency);
    if (!c) c = cmp_ll(x->pipeline, y->pipeline);
    if (!c) c = cmp_ll(x->value_size, y->value_size);
    if (!c) c = cmp_ll(x->dataset_size, y->dataset_size);
    if (!c) c = strcmp(x->params, y->params);
    return c;
}

static int cell_cmp(const void *a, const void *b)
{
    const struct cell *x = a, *y = b;
    int c = op_cmp(x, y);
    if (!c) c = x->dep < y->dep ? -1 : x->dep > y->dep;
    if (!c) c = cmp_ll(x->result_id, y->result_id);
    return c;
}

static void deploy_free(struct deploy *d)
{
    free(d->mode);
    free(d->client_region);
    free(d->server_region);
    free(d->run_id);
    free(d->started_at);
    free(d->commit);
    free(d->preset);
}

static void cell_free(struct cell *c)
{
    free(c->scenario);
    free(c->op);
    free(c->data_type);
    free(c->params);
    free(c->status);
    free(c->series_key);
    cJSON_Delete(c->metrics);
}

/* The single cell among g[0..n) an overhead of cell c is measured against,
 * or NULL: same server region first, else the latest started single. */
static const struct cell *pick_single(const struct cell *g, size_t n, const struct cell *c,
                                      const struct deploy *deps)
{
    const struct cell *best = NULL;
    for (size_t i = 0; i < n; i++) {
        const struct deploy *d = &deps[g[i].dep];
        if (strcmp(d->mode, "single")) continue;
        if (!strcmp(d->server_region, deps[c->dep].server_region)) return &g[i];
        if (!best || strcmp(d->started_at, deps[best->dep].started_at) > 0) best = &g[i];
    }
    return best;
}

/* The JSON of cell c; takes its metrics. */
static cJSON *cell_json(struct cell *c, const struct cell *single, const struct deploy *deps)
{
    const struct deploy *d = &deps[c->dep];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "mode", d->mode);
    cJSON_AddStringToObject(o, "client_region", d->client_region);
    cJSON_AddStringToObject(o, "server_region", d->server_region);
    cJSON_AddStringToObject(o, "preset", d->preset);
    cJSON_AddStringToObject(o, "run_id", d->run_id);
    cJSON_AddNumberToObject(o, "result_id", (double)c->result_id);
    cJSON_AddStringToObject(o, "series_key", c->series_key);
    cJSON_AddStringToObject(o, "status", c->status);
    cJSON_AddNumberToObject(o, "ops_per_sec", c->ops);
    cJSON_AddNumberToObject(o, "p50_us", c->p50);
    cJSON_AddNumberToObject(o, "p99_us", c->p99);
    cJSON_AddNumberToObject(o, "errors", (double)c->errors);
    cJSON_AddNumberToObject(o, "requests", (double)c->requests);
    if (c->has_usd)
        cJSON_AddNumberToObject(o, "usd_per_mop", c->usd);
    else
        cJSON_AddNullToObject(o, "usd_per_mop");
    if (single && strcmp(d->mode, "single")) {
        cJSON *ov = cJSON_AddObjectToObject(o, "overhead");
        cJSON_AddStringToObject(ov, "single_run_id", deps[single->dep].run_id);
        if (single->ops > 0)
            cJSON_AddNumberToObject(ov, "throughput_ratio", c->ops / single->ops);
        else
            cJSON_AddNullToObject(ov, "throughput_ratio");
        cJSON_AddNumberToObject(ov, "added_p50_us", c->p50 - single->p50);
        cJSON_AddNumberToObject(ov, "added_p99_us", c->p99 - single->p99);
    } else {
        cJSON_AddNullToObject(o, "overhead");
    }
    cJSON_AddItemToObject(o, "metrics", c->metrics ? c->metrics : cJSON_CreateObject());
    c->metrics = NULL;
    return o;
}

cJSON *modes_summary(sqlite3 *db, const char *project, const char *branch, char *err)
{
    return modes_summary_op(db, project, branch, NULL, err);
}

cJSON *modes_summary_op(sqlite3 *db, const char *project, const char *branch, const char *op, char *err)
{
    sqlite3_stmt *st = NULL, *ms = NULL;
    struct deploy *deps = NULL;
    struct cell *cells = NULL;
    size_t nd = 0, nc = 0, capc = 0;
    cJSON *out = NULL;
    int rc;

    struct modes_run *latest = NULL;
    size_t nl = 0;
    if (modes_latest_runs(db, project, branch, 0, 1, &latest, &nl, err) < 0) goto out;
    if (nl) deps = xcalloc(nl, sizeof *deps);
    if (sqlite3_prepare_v2(db, DEPLOY_SQL, -1, &st, NULL) != SQLITE_OK) {
        rb_err(err, "modes: %s", sqlite3_errmsg(db));
        modes_runs_free(latest, nl);
        goto out;
    }
    for (size_t i = 0; i < nl; i++) {
        struct deploy *d = &deps[nd++];
        d->mode = latest[i].mode;
        d->client_region = latest[i].client_region;
        d->server_region = latest[i].server_region;
        d->run_id = latest[i].run_id;
        d->started_at = latest[i].started_at;
        d->preset = latest[i].preset;
        latest[i] = (struct modes_run){0};
        d->rank = mode_rank(d->mode);
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, d->run_id, -1, SQLITE_STATIC);
        if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            d->commit = col(st, 0);
            d->n_results = sqlite3_column_int(st, 1);
        } else {
            d->commit = xstrdup("");
            if (rc != SQLITE_DONE) {
                rb_err(err, "modes: %s", sqlite3_errmsg(db));
                nd = i + 1;
                modes_runs_free(latest, nl);
                goto out;
            }
        }
    }
    modes_runs_free(latest, nl);
    sqlite3_finalize(st);
    st = NULL;
    if (nd) qsort(deps, nd, sizeof *deps, deploy_cmp);

    if (sqlite3_prepare_v2(db, CELLS_SQL, -1, &st, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, METRICS_SQL, -1, &ms, NULL) != SQLITE_OK) {
        rb_err(err, "modes: %s", sqlite3_errmsg(db));
        goto out;
    }
    for (size_t i = 0; i < nd; i++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, deps[i].run_id, -1, SQLITE_STATIC);
        if (op) sqlite3_bind_text(st, 2, op, -1, SQLITE_STATIC);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            if (nc == capc) {
                capc = capc ? capc * 2 : 64;
                cells = xrealloc(cells, capc * sizeof *cells);
            }
            struct cell *c = &cells[nc++];
            c->dep = i;
            c->result_id = sqlite3_column_int64(st, 0);
            c->scenario = col(st, 1);
            c->op = col(st, 2);
            c->data_type = col(st, 3);
            c->params = col(st, 4);
            c->status = col(st, 5);
            c->concurrency = sqlite3_column_int64(st, 6);
            c->pipeline = sqlite3_column_int64(st, 7);
            c->value_size = sqlite3_column_int64(st, 8);
            c->dataset_size = sqlite3_column_int64(st, 9);
            c->errors = sqlite3_column_int64(st, 10);
            c->requests = sqlite3_column_int64(st, 11);
            c->ops = sqlite3_column_double(st, 12);
            c->p50 = sqlite3_column_double(st, 13);
            c->p99 = sqlite3_column_double(st, 14);
            c->has_usd = sqlite3_column_type(st, 15) != SQLITE_NULL;
            c->usd = c->has_usd ? sqlite3_column_double(st, 15) : 0;
            c->series_key = col(st, 16);
            /* Read while st is still stepping: one read transaction for them all. */
            c->metrics = cJSON_CreateObject();
            sqlite3_reset(ms);
            sqlite3_bind_int64(ms, 1, c->result_id);
            int mrc;
            while ((mrc = sqlite3_step(ms)) == SQLITE_ROW) {
                const unsigned char *name = sqlite3_column_text(ms, 0);
                if (name) cJSON_AddNumberToObject(c->metrics, (const char *)name, sqlite3_column_double(ms, 1));
            }
            if (mrc != SQLITE_DONE) {
                rb_err(err, "modes: metrics: %s", sqlite3_errmsg(db));
                goto out;
            }
        }
        if (rc != SQLITE_DONE) {
            rb_err(err, "modes: results of %s: %s", deps[i].run_id, sqlite3_errmsg(db));
            goto out;
        }
    }
    if (nc) qsort(cells, nc, sizeof *cells, cell_cmp);

    out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "project", project);
    cJSON_AddStringToObject(out, "branch", branch);
    cJSON *da = cJSON_AddArrayToObject(out, "deployments");
    for (size_t i = 0; i < nd; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "mode", deps[i].mode);
        cJSON_AddStringToObject(o, "client_region", deps[i].client_region);
        cJSON_AddStringToObject(o, "server_region", deps[i].server_region);
        cJSON_AddStringToObject(o, "run_id", deps[i].run_id);
        cJSON_AddStringToObject(o, "started_at", deps[i].started_at);
        cJSON_AddStringToObject(o, "commit", deps[i].commit);
        cJSON_AddStringToObject(o, "preset", deps[i].preset);
        cJSON_AddNumberToObject(o, "results", deps[i].n_results);
        cJSON_AddItemToArray(da, o);
    }
    cJSON *oa = cJSON_AddArrayToObject(out, "ops");
    for (size_t i = 0; i < nc;) {
        size_t j = i + 1;
        while (j < nc && !op_cmp(&cells[i], &cells[j])) j++;
        const struct cell *c = &cells[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "scenario", c->scenario);
        cJSON_AddStringToObject(o, "op", c->op);
        cJSON_AddStringToObject(o, "data_type", c->data_type);
        cJSON_AddNumberToObject(o, "concurrency", (double)c->concurrency);
        cJSON_AddNumberToObject(o, "pipeline", (double)c->pipeline);
        cJSON_AddNumberToObject(o, "value_size", (double)c->value_size);
        cJSON_AddNumberToObject(o, "dataset_size", (double)c->dataset_size);
        cJSON_AddStringToObject(o, "params", c->params);
        cJSON *ca = cJSON_AddArrayToObject(o, "cells");
        for (size_t k = i; k < j; k++) {
            const struct cell *s = pick_single(&cells[i], j - i, &cells[k], deps);
            cJSON_AddItemToArray(ca, cell_json(&cells[k], s, deps));
        }
        cJSON_AddItemToArray(oa, o);
        i = j;
    }

out:
    sqlite3_finalize(st);
    sqlite3_finalize(ms);
    for (size_t i = 0; i < nd; i++) deploy_free(&deps[i]);
    for (size_t i = 0; i < nc; i++) cell_free(&cells[i]);
    free(deps);
    free(cells);
    return out;
}
