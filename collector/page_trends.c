/* page_trends.c -- GET /trends (the series trend page: chart, baseline band, markers, table)
 * and GET /api/v1/series (the same data as JSON); docs/dashboard.md, docs/api.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chart.h"
#include "collector.h"
#include "util.h"

#define TREND_WINDOW 30          /* baseline band: this many previous baseline runs */
#define TREND_MIN_WINDOW 2       /* fewer previous baseline runs: no band (the analyzer's minimum) */
#define TREND_MAX_POINTS 5000    /* last=all is capped here */
#define TREND_DEFAULT_LAST 100
#define TREND_MAX_CANDIDATES 200 /* series listed when filters match several */
#define TREND_MAX_SCAN 5000      /* distinct series keys examined for filters */

enum tmetric { TM_OPS, TM_P50, TM_P99, TM_COST, TM__MAX };

static const struct {
    const char *name;    /* the metric= value */
    const char *label;   /* link text */
    const char *axis;    /* y axis title with unit */
    const char *fmt;     /* table cell format */
    const char *verdict; /* verdicts.metric and change_points.metric; NULL: none */
} tm[TM__MAX] = {
    [TM_OPS] = {"ops_per_sec", "Throughput", "Throughput (ops/s)", "%.0f", "ops_per_sec"},
    [TM_P50] = {"p50_us", "p50 latency", "p50 latency (µs)", "%.1f", "p50_us"},
    [TM_P99] = {"p99_us", "p99 latency", "p99 latency (µs)", "%.1f", "p99_us"},
    [TM_COST] = {"cost", "Cost", "Cost (USD per million ops)", "$%.4f", NULL},
};

/* The filters that pick a series from its key's fields. */
enum tfilter { TF_SCENARIO, TF_OP, TF_MODE, TF_CREG, TF_SREG, TF_CONC, TF_PIPE, TF_VSIZE, TF_PRESET, TF__MAX };
static const char *const tf_name[TF__MAX] = {"scenario", "op", "mode", "client_region", "server_region",
                                            "concurrency", "pipeline", "value_size", "preset"};
static const char *const tf_label[TF__MAX] = {"Scenario", "Operation", "Mode", "Client region",
                                             "Server region", "Concurrency", "Pipeline", "Value size (bytes)",
                                             "Machine preset"};

/* The request's parameters, validated. Strings point into MHD's storage or literals. */
struct tquery {
    const char *key, *project, *branch, *since, *until;
    const char *f[TF__MAX];
    enum tmetric metric;
    int x_commit, log;
    long last;            /* 0: all (capped at TREND_MAX_POINTS) */
    char bad[RB_ERR_LEN]; /* the first invalid parameter, "" if none */
};

/* One result of the series. */
struct tpoint {
    long long result_id;
    char *run_id, *commit, *started_at, *branch;
    double v[TM__MAX];    /* cost NaN when unknown */
    int reg[TM__MAX];     /* 1: a regression verdict on that metric (not a false positive) */
    int untriaged[TM__MAX]; /* 1: an untriaged regression: left out of baselines */
    double band_lo, band_hi;
    cJSON *verdicts;      /* stored verdicts, as JSON */
    char worst[32];       /* worst verdict status of the result ("" none) */
};

struct tdata {
    struct tpoint *pts;   /* fetched rows, oldest first */
    size_t n;
    size_t first;         /* displayed: pts[first..n) */
    struct tpoint *base;  /* baseline rows when the branch is not the baseline branch */
    size_t nbase;
    cJSON *cps;           /* change points of the displayed metric inside the range */
    cJSON *candidates;    /* matching series keys when no single one is chosen */
    int scanned_all;      /* 1: every distinct key was examined */
    char key[RB_SERIES_KEY_LEN];
};

static int digits(const char *s)
{
    if (!s || !*s || strlen(s) > 12) return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9') return 0;
    return 1;
}

static const char *arg(const struct request *r, const char *name)
{
    const char *v = query_arg(r, name);
    return v && *v ? v : NULL;
}

static void tquery_parse(const struct request *r, struct tquery *q)
{
    memset(q, 0, sizeof *q);
    q->key = arg(r, "key");
    if (!q->key) q->key = arg(r, "series"); /* an alias some links use */
    q->project = arg(r, "project");
    q->branch = arg(r, "branch");
    if (!q->project) q->project = "default";
    if (!q->branch) q->branch = "main";
    for (int i = 0; i < TF__MAX; i++) q->f[i] = arg(r, tf_name[i]);
    for (int i = TF_CONC; i <= TF_VSIZE; i++)
        if (q->f[i] && !digits(q->f[i])) {
            rb_err(q->bad, "%s: want a whole number", tf_name[i]);
            q->f[i] = NULL;
        }
    const char *m = arg(r, "metric");
    q->metric = TM_OPS;
    if (m) {
        int found = 0;
        for (int i = 0; i < TM__MAX; i++)
            if (strcmp(m, tm[i].name) == 0) q->metric = (enum tmetric)i, found = 1;
        if (!found) rb_err(q->bad, "metric: want ops_per_sec, p50_us, p99_us or cost");
    }
    const char *x = arg(r, "x");
    if (x && strcmp(x, "commit") == 0) q->x_commit = 1;
    else if (x && strcmp(x, "time") != 0) rb_err(q->bad, "x: want time or commit");
    const char *s = arg(r, "scale");
    if (s && strcmp(s, "log") == 0) q->log = 1;
    else if (s && strcmp(s, "linear") != 0) rb_err(q->bad, "scale: want linear or log");
    const char *l = arg(r, "last");
    q->last = TREND_DEFAULT_LAST;
    if (l && strcmp(l, "all") == 0) {
        q->last = 0;
    } else if (l) {
        char *end;
        long v = strtol(l, &end, 10);
        if (*end || v < 1 || v > TREND_MAX_POINTS)
            rb_err(q->bad, "last: want 1..%d or all", TREND_MAX_POINTS);
        else
            q->last = v;
    }
    q->since = arg(r, "since");
    q->until = arg(r, "until");
    if (q->since && !price_date_ok(q->since)) rb_err(q->bad, "since: want a date YYYY-MM-DD"), q->since = NULL;
    if (q->until && !price_date_ok(q->until)) rb_err(q->bad, "until: want a date YYYY-MM-DD"), q->until = NULL;
}

/* The fields of a series key "SCEN/OP mode=M region=C>S preset=P c=N p=N v=N d=N ..."
 * (lib/model.c result_series_key) into f (each field malloc'd, caller frees); 0, or -1
 * when it does not look like one. */
static int skey_fields(const char *key, char *f[TF__MAX])
{
    memset(f, 0, TF__MAX * sizeof *f);
    const char *sl = strchr(key, '/'), *sp = strchr(key, ' ');
    if (!sl || !sp || sl > sp) return -1;
    f[TF_SCENARIO] = xstrndup(key, (size_t)(sl - key));
    f[TF_OP] = xstrndup(sl + 1, (size_t)(sp - sl - 1));
    for (const char *p = sp; *p;) {
        p += strspn(p, " ");
        size_t n = strcspn(p, " ");
        const char *eq = memchr(p, '=', n);
        if (eq) {
            size_t kl = (size_t)(eq - p), vl = n - kl - 1;
            const char *v = eq + 1;
            int idx = -1;
            if (kl == 4 && !memcmp(p, "mode", 4)) idx = TF_MODE;
            else if (kl == 1 && *p == 'c') idx = TF_CONC;
            else if (kl == 1 && *p == 'p') idx = TF_PIPE;
            else if (kl == 1 && *p == 'v') idx = TF_VSIZE;
            else if (kl == 6 && !memcmp(p, "preset", 6)) idx = TF_PRESET;
            if (idx >= 0 && !f[idx]) f[idx] = xstrndup(v, vl);
            if (kl == 6 && !memcmp(p, "region", 6) && !f[TF_CREG]) {
                const char *gt = memchr(v, '>', vl);
                if (gt) {
                    f[TF_CREG] = xstrndup(v, (size_t)(gt - v));
                    f[TF_SREG] = xstrndup(gt + 1, vl - (size_t)(gt - v) - 1);
                }
            }
        }
        p += n;
    }
    return 0;
}

static void fields_free(char *f[TF__MAX])
{
    for (int i = 0; i < TF__MAX; i++) free(f[i]);
}

static int any_filter(const struct tquery *q)
{
    for (int i = 0; i < TF__MAX; i++)
        if (q->f[i]) return 1;
    return 0;
}

/* Lists series keys matching the filters into d->candidates (at most
 * TREND_MAX_CANDIDATES), walking the distinct keys of results_by_series one index
 * seek at a time (never a scan of the results); with scenario (and op) given, only
 * that key prefix is walked. */
static void find_candidates(sqlite3 *db, const struct tquery *q, struct tdata *d)
{
    d->candidates = cJSON_CreateArray();
    char lo[300] = "", hi[300];
    if (q->f[TF_SCENARIO] && q->f[TF_OP])
        snprintf(lo, sizeof lo, "%.120s/%.120s ", q->f[TF_SCENARIO], q->f[TF_OP]);
    else if (q->f[TF_SCENARIO])
        snprintf(lo, sizeof lo, "%.120s/", q->f[TF_SCENARIO]);
    size_t ll = strlen(lo);
    memcpy(hi, lo, ll + 1);
    if (ll) hi[ll - 1]++; /* ' ' -> '!', '/' -> '0': just past every key with the prefix */
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT series_key FROM results WHERE series_key > ?1 AND series_key < ?2 "
                               "ORDER BY series_key LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK)
        return;
    char *cur = xstrdup(lo);
    int scanned = 0;
    d->scanned_all = 1;
    for (;;) {
        if (scanned++ >= TREND_MAX_SCAN) {
            d->scanned_all = 0;
            break;
        }
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, cur, -1, SQLITE_TRANSIENT);
        if (ll) sqlite3_bind_text(st, 2, hi, -1, SQLITE_STATIC);
        else sqlite3_bind_blob(st, 2, "\xff", 1, SQLITE_STATIC); /* any text sorts below a blob */
        if (sqlite3_step(st) != SQLITE_ROW) break;
        const char *k = (const char *)sqlite3_column_text(st, 0);
        free(cur);
        cur = xstrdup(k ? k : "");
        char *f[TF__MAX];
        if (skey_fields(cur, f) < 0) continue;
        int match = 1;
        for (int i = 0; i < TF__MAX && match; i++)
            if (q->f[i] && (!f[i] || strcmp(q->f[i], f[i]) != 0)) match = 0;
        fields_free(f);
        if (!match) continue;
        if (cJSON_GetArraySize(d->candidates) >= TREND_MAX_CANDIDATES) {
            d->scanned_all = 0;
            break;
        }
        cJSON_AddItemToArray(d->candidates, cJSON_CreateString(cur));
    }
    free(cur);
    sqlite3_finalize(st);
}

static char *col_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return xstrdup(t ? (const char *)t : "");
}

static void points_free(struct tpoint *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(p[i].run_id);
        free(p[i].commit);
        free(p[i].started_at);
        free(p[i].branch);
        cJSON_Delete(p[i].verdicts);
    }
    free(p);
}

/* Start time, then result id: the order of the chart and the table. */
static int point_cmp(const void *a, const void *b)
{
    const struct tpoint *x = a, *y = b;
    int c = strcmp(x->started_at, y->started_at);
    return c ? c : (x->result_id > y->result_id) - (x->result_id < y->result_id);
}

static int status_rank(const char *s)
{
    if (!strcmp(s, "regression")) return 4;
    if (!strcmp(s, "insufficient_baseline")) return 3;
    if (!strcmp(s, "improvement")) return 2;
    if (!strcmp(s, "pass")) return 1;
    return 0;
}

/* The `limit` most recently stored (highest results.id) usable results of series
 * key on project/branch with since <= started_at < until_excl (each NULL:
 * unbounded), sorted by start time, with their verdicts (cost: fill_costs). 0, or
 * -1 with err. */
static int fetch_points(sqlite3 *db, const char *key, const char *project, const char *branch,
                        const char *since, const char *until_excl, long limit, struct tpoint **out,
                        size_t *nout, char *err)
{
    sqlite3_stmt *st = NULL, *vs = NULL;
    struct tpoint *p = NULL;
    size_t n = 0, cap = 0;
    int rc = -1;
    /* Forced order: the series' results walked backwards through results_by_series
     * (whose entries for one key are in rowid order: newest ingested first), each run by
     * its key, stopping after `limit` matches: only the rows shown are read, never every
     * result of the series nor the branch's runs (which a planner without statistics
     * would pick through runs_by_branch). The rows are sorted by start time below. */
    if (sqlite3_prepare_v2(db,
                           "SELECT x.id, x.run_id, u.commit_sha, u.started_at, u.branch, x.ops_per_sec, "
                           "x.p50_us, x.p99_us FROM results x INDEXED BY results_by_series CROSS JOIN runs u ON u.id = x.run_id "
                           "WHERE x.series_key = ?1 AND u.project = ?2 AND u.branch = ?3 "
                           "AND x.status IN ('ok', 'partial') "
                           "AND (?4 IS NULL OR u.started_at >= ?4) AND (?5 IS NULL OR u.started_at < ?5) "
                           "ORDER BY x.id DESC LIMIT ?6",
                           -1, &st, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "SELECT id, metric, status, test, change, p_value, baseline_runs, triage "
                           "FROM verdicts WHERE result_id = ?1 ORDER BY id",
                           -1, &vs, NULL) != SQLITE_OK) {
        rb_err(err, "series query: %s", sqlite3_errmsg(db));
        goto out;
    }
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, project, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, branch, -1, SQLITE_STATIC);
    if (since) sqlite3_bind_text(st, 4, since, -1, SQLITE_STATIC);
    if (until_excl) sqlite3_bind_text(st, 5, until_excl, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, limit);
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            p = xrealloc(p, cap * sizeof *p);
        }
        struct tpoint *t = &p[n++];
        memset(t, 0, sizeof *t);
        t->result_id = sqlite3_column_int64(st, 0);
        t->run_id = col_dup(st, 1);
        t->commit = col_dup(st, 2);
        t->started_at = col_dup(st, 3);
        t->branch = col_dup(st, 4);
        t->v[TM_OPS] = sqlite3_column_double(st, 5);
        t->v[TM_P50] = sqlite3_column_double(st, 6);
        t->v[TM_P99] = sqlite3_column_double(st, 7);
        t->v[TM_COST] = NAN;
        t->band_lo = t->band_hi = NAN;
        t->verdicts = cJSON_CreateArray();
        sqlite3_reset(vs);
        sqlite3_bind_int64(vs, 1, t->result_id);
        while (sqlite3_step(vs) == SQLITE_ROW) {
            const char *metric = (const char *)sqlite3_column_text(vs, 1);
            const char *status = (const char *)sqlite3_column_text(vs, 2);
            const char *triage = (const char *)sqlite3_column_text(vs, 7);
            cJSON *v = cJSON_CreateObject();
            cJSON_AddNumberToObject(v, "id", (double)sqlite3_column_int64(vs, 0));
            page_add_col(v, "metric", vs, 1);
            page_add_col(v, "status", vs, 2);
            page_add_col(v, "test", vs, 3);
            if (sqlite3_column_type(vs, 4) == SQLITE_NULL) cJSON_AddNullToObject(v, "change");
            else cJSON_AddNumberToObject(v, "change", sqlite3_column_double(vs, 4));
            if (sqlite3_column_type(vs, 5) == SQLITE_NULL) cJSON_AddNullToObject(v, "p_value");
            else cJSON_AddNumberToObject(v, "p_value", sqlite3_column_double(vs, 5));
            cJSON_AddNumberToObject(v, "baseline_runs", sqlite3_column_int(vs, 6));
            if (triage) cJSON_AddStringToObject(v, "triage", triage);
            else cJSON_AddNullToObject(v, "triage");
            cJSON_AddItemToArray(t->verdicts, v);
            if (!metric || !status) continue;
            if (status_rank(status) > status_rank(t->worst)) snprintf(t->worst, sizeof t->worst, "%s", status);
            int is_reg = !strcmp(status, "regression");
            for (int m = 0; m < TM__MAX; m++) {
                /* Cost has no verdict of its own: it follows throughput's. */
                const char *vm = tm[m].verdict ? tm[m].verdict : tm[TM_OPS].verdict;
                if (strcmp(metric, vm) != 0 || !is_reg) continue;
                if (!triage) t->untriaged[m] = 1;
                if (!triage || strcmp(triage, "false_positive") != 0) t->reg[m] = 1;
            }
        }
    }
    if (s != SQLITE_DONE) {
        rb_err(err, "series query: %s", sqlite3_errmsg(db));
        goto out;
    }
    if (n) qsort(p, n, sizeof *p, point_cmp); /* oldest first */
    rc = 0;
out:
    sqlite3_finalize(st);
    sqlite3_finalize(vs);
    if (rc < 0) {
        points_free(p, n);
        p = NULL, n = 0;
    }
    *out = p;
    *nout = n;
    return rc;
}

struct cost_slot {
    long long result_id;
    size_t i;             /* index into the points */
};

static int slot_cmp(const void *a, const void *b)
{
    const struct cost_slot *x = a, *y = b;
    return x->result_id < y->result_id ? -1 : x->result_id > y->result_id;
}

/* Fills v[TM_COST] of p[0..n) from the cost_per_op view (USD per million operations;
 * NaN without a price): one query for all the points (their result ids as a JSON
 * array), each row a primary-key search. 0, or -1 with err. */
static int fill_costs(sqlite3 *db, struct tpoint *p, size_t n, char *err)
{
    sqlite3_stmt *cs = NULL;
    if (n == 0) return 0;
    struct cost_slot *slots = xmalloc(n * sizeof *slots);
    buf ids;
    buf_init(&ids, n * 24 + 16); /* a result id has at most 20 digits */
    buf_puts(&ids, "[");
    for (size_t i = 0; i < n; i++) {
        slots[i].result_id = p[i].result_id;
        slots[i].i = i;
        buf_printf(&ids, "%s%lld", i ? "," : "", p[i].result_id);
    }
    buf_puts(&ids, "]");
    qsort(slots, n, sizeof *slots, slot_cmp);
    int rc = 0;
    if (sqlite3_prepare_v2(db,
                           "SELECT c.result_id, c.usd_per_mop FROM cost_per_op c "
                           "WHERE c.result_id IN (SELECT value FROM json_each(?1))",
                           -1, &cs, NULL) != SQLITE_OK) {
        rc = rb_err(err, "cost query: %s", sqlite3_errmsg(db));
        goto out;
    }
    sqlite3_bind_text(cs, 1, ids.data, (int)ids.len, SQLITE_STATIC);
    while (sqlite3_step(cs) == SQLITE_ROW) {
        if (sqlite3_column_type(cs, 1) == SQLITE_NULL) continue;
        struct cost_slot key = {sqlite3_column_int64(cs, 0), 0};
        const struct cost_slot *hit = bsearch(&key, slots, n, sizeof *slots, slot_cmp);
        if (hit) p[hit->i].v[TM_COST] = sqlite3_column_double(cs, 1);
    }
out:
    sqlite3_finalize(cs);
    buf_cleanup(&ids);
    free(slots);
    return rc;
}

static int dcmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median_of(double *v, size_t n)
{
    qsort(v, n, sizeof *v, dcmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The baseline band of each displayed point for metric m: over the (up to)
 * TREND_WINDOW newest baseline rows started strictly before it, leaving out
 * untriaged regressions and unknown values: median ± 2 × 1.4826 × MAD (a robust
 * two-sigma spread), not below 0. Fewer than TREND_MIN_WINDOW such rows: no band there. */
static void compute_band(struct tdata *d, enum tmetric m)
{
    const struct tpoint *b = d->base ? d->base : d->pts;
    size_t nb = d->base ? d->nbase : d->n;
    double win[TREND_WINDOW], dev[TREND_WINDOW];
    for (size_t i = d->first; i < d->n; i++) {
        struct tpoint *p = &d->pts[i];
        size_t k = 0;
        /* Newest first, walking back from the last baseline row older than p. */
        for (size_t j = nb; j > 0 && k < TREND_WINDOW; j--) {
            const struct tpoint *q = &b[j - 1];
            if (strcmp(q->started_at, p->started_at) >= 0) continue;
            if (q->untriaged[m] || !isfinite(q->v[m])) continue;
            win[k++] = q->v[m];
        }
        if (k < TREND_MIN_WINDOW) continue;
        double med = median_of(win, k);
        for (size_t j = 0; j < k; j++) dev[j] = fabs(win[j] - med);
        double spread = 2 * 1.4826 * median_of(dev, k);
        p->band_lo = fmax(0, med - spread); /* every metric is non-negative */
        p->band_hi = med + spread;
    }
}

/* The until date as an exclusive bound on RFC 3339 started_at: "YYYY-MM-DD~"
 * sorts after every time of that day ('~' > 'T') and before the next day. */
static void until_bound(const char *until, char *out, size_t n)
{
    if (until) snprintf(out, n, "%.10s~", until);
    else out[0] = '\0';
}

/* Fills d for q: the series (q->key, or the one series the filters match), its
 * displayed points with bands, and change points; or the candidate keys. 0, or -1
 * with err on a database error. */
static int trends_load(sqlite3 *db, const struct tquery *q, const char *baseline_branch, struct tdata *d,
                       char *err)
{
    memset(d, 0, sizeof *d);
    if (q->key) {
        snprintf(d->key, sizeof d->key, "%s", q->key);
    } else if (any_filter(q)) {
        find_candidates(db, q, d);
        if (cJSON_GetArraySize(d->candidates) != 1) return 0;
        snprintf(d->key, sizeof d->key, "%s", cJSON_GetArrayItem(d->candidates, 0)->valuestring);
    } else {
        find_candidates(db, q, d); /* no filter: every series, for the list */
        return 0;
    }
    long want = q->last ? q->last : TREND_MAX_POINTS;
    char ub[16];
    until_bound(q->until, ub, sizeof ub);
    int same = strcmp(q->branch, baseline_branch) == 0;
    /* On the baseline branch the rows before the range are the band's window:
     * fetch TREND_WINDOW more, without the since bound, and cut after. */
    if (fetch_points(db, d->key, q->project, q->branch, same ? NULL : q->since, ub[0] ? ub : NULL,
                     want + (same ? TREND_WINDOW : 0), &d->pts, &d->n, err) < 0)
        return -1;
    size_t first = 0;
    if (q->since)
        while (first < d->n && strcmp(d->pts[first].started_at, q->since) < 0) first++;
    if (d->n - first > (size_t)want) first = d->n - (size_t)want;
    d->first = first;
    if (!same && d->n > first &&
        fetch_points(db, d->key, q->project, baseline_branch, NULL, d->pts[d->n - 1].started_at,
                     (long)(d->n - first) + TREND_WINDOW, &d->base, &d->nbase, err) < 0)
        return -1;
    /* Cost for the rows shown; for the band's window too when cost is the metric. */
    if (fill_costs(db, d->pts + (q->metric == TM_COST ? 0 : first), d->n - (q->metric == TM_COST ? 0 : first),
                   err) < 0 ||
        (q->metric == TM_COST && fill_costs(db, d->base, d->nbase, err) < 0))
        return -1;
    compute_band(d, q->metric);

    d->cps = cJSON_CreateArray();
    const char *vm = tm[q->metric].verdict;
    if (!vm || d->n == first) return 0;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT run_id, commit_sha, started_at, change, p_value, mean_before, mean_after, "
                           "runs_before, runs_after FROM change_points "
                           "WHERE project = ?1 AND branch = ?2 AND series_key = ?3 AND metric = ?4 "
                           "AND started_at >= ?5 AND started_at <= ?6 ORDER BY started_at",
                           -1, &st, NULL) != SQLITE_OK)
        return rb_err(err, "change points: %s", sqlite3_errmsg(db));
    sqlite3_bind_text(st, 1, q->project, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, q->branch, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, d->key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, vm, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, d->pts[first].started_at, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, d->pts[d->n - 1].started_at, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
        cJSON *c = cJSON_CreateObject();
        page_add_col(c, "run_id", st, 0);
        page_add_col(c, "commit", st, 1);
        page_add_col(c, "started_at", st, 2);
        cJSON_AddStringToObject(c, "metric", vm);
        const char *names[] = {"change", "p_value", "mean_before", "mean_after"};
        for (int i = 0; i < 4; i++) {
            if (sqlite3_column_type(st, 3 + i) == SQLITE_NULL) cJSON_AddNullToObject(c, names[i]);
            else cJSON_AddNumberToObject(c, names[i], sqlite3_column_double(st, 3 + i));
        }
        cJSON_AddNumberToObject(c, "runs_before", sqlite3_column_int(st, 7));
        cJSON_AddNumberToObject(c, "runs_after", sqlite3_column_int(st, 8));
        cJSON_AddItemToArray(d->cps, c);
    }
    sqlite3_finalize(st);
    return 0;
}

static void tdata_free(struct tdata *d)
{
    points_free(d->pts, d->n);
    points_free(d->base, d->nbase);
    cJSON_Delete(d->cps);
    cJSON_Delete(d->candidates);
}

/* Appends "&name=value" (URL-encoded; "?" first) to b. */
static void url_param(buf *b, const char *name, const char *value)
{
    if (!value) return;
    buf_puts(b, strchr(b->data ? b->data : "", '?') ? "&" : "?");
    buf_puts(b, name);
    buf_puts(b, "=");
    tmpl_escape_url(b, value);
}

/* The canonical URL of path for q with overrides (metric -1, x/log -1, last NULL:
 * keep q's); key: the series key, or NULL to keep q's filters. Caller frees. */
static char *trends_url(const char *path, const struct tquery *q, const char *key, int metric, int x_commit,
                        int log, const char *last)
{
    buf b;
    buf_init(&b, 16384);
    buf_puts(&b, path);
    if (key) {
        url_param(&b, "key", key);
    } else {
        for (int i = 0; i < TF__MAX; i++) url_param(&b, tf_name[i], q->f[i]);
    }
    if (strcmp(q->project, "default") != 0) url_param(&b, "project", q->project);
    if (strcmp(q->branch, "main") != 0) url_param(&b, "branch", q->branch);
    url_param(&b, "metric", tm[metric >= 0 ? metric : (int)q->metric].name);
    url_param(&b, "x", (x_commit >= 0 ? x_commit : q->x_commit) ? "commit" : "time");
    url_param(&b, "scale", (log >= 0 ? log : q->log) ? "log" : "linear");
    char lb[24];
    if (!last) snprintf(lb, sizeof lb, "%ld", q->last), last = q->last ? lb : "all";
    url_param(&b, "last", last);
    url_param(&b, "since", q->since);
    url_param(&b, "until", q->until);
    return buf_take(&b);
}

static void add_link(cJSON *arr, const char *label, char *href, int current)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "label", label);
    cJSON_AddStringToObject(o, "href", href);
    cJSON_AddBoolToObject(o, "current", current);
    cJSON_AddItemToArray(arr, o);
    free(href);
}

static void short_commit(const char *c, char *out, size_t n)
{
    snprintf(out, n, "%.10s", c && *c ? c : "–");
}

/* The hover text of point p. */
static void point_title(const struct tpoint *p, char *out, size_t n)
{
    char cost[32] = "–";
    if (isfinite(p->v[TM_COST])) snprintf(cost, sizeof cost, "$%.4f", p->v[TM_COST]);
    snprintf(out, n, "%.0f ops/s · p50 %.1f µs · p99 %.1f µs · %s per Mops\ncommit %.40s · %s · run %.8s%s%s",
             p->v[TM_OPS], p->v[TM_P50], p->v[TM_P99], cost, p->commit, p->started_at, p->run_id,
             p->worst[0] ? " · " : "", p->worst);
}

/* Renders the chart of the displayed points into data.html_chart. */
static int add_chart(cJSON *data, const struct tquery *q, const struct tdata *d, char *err)
{
    size_t n = d->n - d->first;
    chart_point *cp = xcalloc(n ? n : 1, sizeof *cp);
    char (*titles)[400] = xcalloc(n ? n : 1, sizeof *titles);
    char (*hrefs)[96] = xcalloc(n ? n : 1, sizeof *hrefs);
    char (*labels)[16] = xcalloc(n ? n : 1, sizeof *labels);
    size_t ncps = (size_t)cJSON_GetArraySize(d->cps);
    chart_cp *cps = xcalloc(ncps ? ncps : 1, sizeof *cps);
    char (*cpl)[16] = xcalloc(ncps ? ncps : 1, sizeof *cpl);
    size_t k = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, d->cps) {
        const char *rid = cJSON_GetObjectItemCaseSensitive(c, "run_id")->valuestring;
        for (size_t i = d->first; i < d->n; i++)
            if (strcmp(d->pts[i].run_id, rid) == 0) {
                cps[k].index = i - d->first;
                short_commit(cJSON_GetObjectItemCaseSensitive(c, "commit")->valuestring, cpl[k], sizeof cpl[k]);
                cps[k].label = cpl[k];
                k++;
                break;
            }
    }
    for (size_t i = 0; i < n; i++) {
        const struct tpoint *p = &d->pts[d->first + i];
        point_title(p, titles[i], sizeof titles[i]);
        snprintf(hrefs[i], sizeof hrefs[i], "/runs/%s", p->run_id);
        short_commit(p->commit, labels[i], sizeof labels[i]);
        cp[i] = (chart_point){.time = p->started_at, .label = labels[i], .y = p->v[q->metric],
                              .band_lo = p->band_lo, .band_hi = p->band_hi, .run_id = p->run_id,
                              .title = titles[i], .href = hrefs[i], .regression = p->reg[q->metric]};
    }
    char aria[RB_SERIES_KEY_LEN + 200];
    snprintf(aria, sizeof aria, "%s of %s on branch %s, %zu runs", tm[q->metric].axis, d->key, q->branch, n);
    chart_spec spec = {.x = q->x_commit ? CHART_X_ORDINAL : CHART_X_TIME, .log_y = q->log, .aria_label = aria,
                       .y_label = tm[q->metric].axis, .x_label = q->x_commit ? "Commit" : "Run start (UTC)",
                       .pts = cp, .npts = n, .band_lo = NAN, .band_hi = NAN, .cps = cps, .ncps = k};
    buf b;
    buf_init(&b, 6u << 20);
    chart_info info;
    int rc = chart_render(&spec, &b, &info, err);
    if (rc == 0) {
        cJSON_AddStringToObject(data, "html_chart", b.data);
        cJSON_AddBoolToObject(data, "log_refused", info.log_refused);
        cJSON_AddBoolToObject(data, "chart_empty", info.drawn == 0);
        cJSON_AddBoolToObject(data, "is_cost", q->metric == TM_COST);
    }
    buf_cleanup(&b);
    free(cp);
    free(titles);
    free(hrefs);
    free(labels);
    free(cps);
    free(cpl);
    return rc;
}

enum MHD_Result page_trends(const struct request *r)
{
    struct tquery q;
    tquery_parse(r, &q);
    struct tdata d;
    char err[RB_ERR_LEN];
    sqlite3 *db = store_reader(r->col->st);
    const char *bb = r->col->aopts.baseline_branch[0] ? r->col->aopts.baseline_branch : "main";
    int rc = trends_load(db, &q, bb, &d, err);
    int any_results = 1;
    if (rc == 0 && !d.key[0] && cJSON_GetArraySize(d.candidates) == 0) {
        sqlite3_stmt *st = NULL;
        any_results = 0;
        if (sqlite3_prepare_v2(db, "SELECT 1 FROM results LIMIT 1", -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            any_results = 1;
        sqlite3_finalize(st);
    }
    store_reader_release(r->col->st, db);
    if (rc < 0) {
        tdata_free(&d);
        fprintf(stderr, "redbench serve: /trends: %s\n", err);
        return respond_error(r->conn, 500, "could not load the series");
    }

    cJSON *data = cJSON_CreateObject();
    cJSON_AddBoolToObject(data, "nav_trends", 1);
    if (q.bad[0]) cJSON_AddStringToObject(data, "bad_param", q.bad);
    /* The filter form, filled from the query or from the chosen key's fields. */
    char *kf[TF__MAX] = {0};
    if (d.key[0]) skey_fields(d.key, kf);
    cJSON *fields = cJSON_AddArrayToObject(data, "filters");
    for (int i = 0; i < TF__MAX; i++) {
        cJSON *f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "name", tf_name[i]);
        cJSON_AddStringToObject(f, "label", tf_label[i]);
        cJSON_AddStringToObject(f, "value", q.f[i] ? q.f[i] : kf[i] ? kf[i] : "");
        cJSON_AddItemToArray(fields, f);
    }
    fields_free(kf);
    cJSON_AddStringToObject(data, "project", q.project);
    cJSON_AddStringToObject(data, "branch", q.branch);
    cJSON_AddStringToObject(data, "metric", tm[q.metric].name);
    cJSON_AddStringToObject(data, "x", q.x_commit ? "commit" : "time");
    cJSON_AddStringToObject(data, "scale", q.log ? "log" : "linear");
    char lb[24];
    snprintf(lb, sizeof lb, "%ld", q.last);
    cJSON_AddStringToObject(data, "last", q.last ? lb : "all");
    cJSON_AddStringToObject(data, "since", q.since ? q.since : "");
    cJSON_AddStringToObject(data, "until", q.until ? q.until : "");
    cJSON_AddStringToObject(data, "baseline_branch", bb);
    cJSON_AddNumberToObject(data, "window", TREND_WINDOW);

    if (!d.key[0]) {
        cJSON *list = cJSON_AddArrayToObject(data, "candidates");
        const cJSON *k;
        cJSON_ArrayForEach(k, d.candidates) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "key", k->valuestring);
            char *h = trends_url("/trends", &q, k->valuestring, -1, -1, -1, NULL);
            cJSON_AddStringToObject(o, "href", h);
            free(h);
            cJSON_AddItemToArray(list, o);
        }
        cJSON_AddBoolToObject(data, "has_candidates", cJSON_GetArraySize(d.candidates) > 0);
        cJSON_AddBoolToObject(data, "filtered", any_filter(&q));
        cJSON_AddBoolToObject(data, "more_candidates", !d.scanned_all);
        cJSON_AddBoolToObject(data, "empty_warehouse", !any_results);
        cJSON_AddStringToObject(data, "title", any_filter(&q) ? "Series trend: choose a series" : "Series trend");
        tdata_free(&d);
        return page_render(r, 200, "trends", data);
    }

    cJSON_AddStringToObject(data, "series_key", d.key);
    char title[RB_SERIES_KEY_LEN + 32];
    snprintf(title, sizeof title, "Trend: %s", d.key);
    cJSON_AddStringToObject(data, "title", title);
    cJSON *ml = cJSON_AddArrayToObject(data, "metric_links");
    for (int m = 0; m < TM__MAX; m++)
        add_link(ml, tm[m].label, trends_url("/trends", &q, d.key, m, -1, -1, NULL), m == (int)q.metric);
    cJSON *xl = cJSON_AddArrayToObject(data, "x_links");
    add_link(xl, "Time", trends_url("/trends", &q, d.key, -1, 0, -1, NULL), !q.x_commit);
    add_link(xl, "Commit", trends_url("/trends", &q, d.key, -1, 1, -1, NULL), q.x_commit);
    cJSON *sl = cJSON_AddArrayToObject(data, "scale_links");
    add_link(sl, "Linear", trends_url("/trends", &q, d.key, -1, -1, 0, NULL), !q.log);
    add_link(sl, "Log", trends_url("/trends", &q, d.key, -1, -1, 1, NULL), q.log);
    cJSON *rl = cJSON_AddArrayToObject(data, "range_links");
    static const char *const ranges[] = {"30", "100", "500", "all"};
    for (int i = 0; i < 4; i++)
        add_link(rl, i < 3 ? ranges[i] : "All", trends_url("/trends", &q, d.key, -1, -1, -1, ranges[i]),
                 strcmp(ranges[i], q.last ? lb : "all") == 0);
    char *api = trends_url("/api/v1/series", &q, d.key, -1, -1, -1, NULL);
    cJSON_AddStringToObject(data, "api_href", api);
    free(api);

    size_t n = d.n - d.first;
    cJSON_AddNumberToObject(data, "n_points", (double)n);
    cJSON_AddBoolToObject(data, "has_points", n > 0);
    if (n > 0 && add_chart(data, &q, &d, err) < 0) {
        tdata_free(&d);
        cJSON_Delete(data);
        fprintf(stderr, "redbench serve: /trends: %s\n", err);
        return respond_error(r->conn, 500, "could not draw the chart");
    }
    cJSON *rows = cJSON_AddArrayToObject(data, "points");
    for (size_t i = d.n; i > d.first; i--) { /* newest first */
        const struct tpoint *p = &d.pts[i - 1];
        cJSON *o = cJSON_CreateObject();
        char sh[16];
        cJSON_AddStringToObject(o, "run_id", p->run_id);
        snprintf(sh, sizeof sh, "%.8s", p->run_id);
        cJSON_AddStringToObject(o, "short_id", sh);
        cJSON_AddStringToObject(o, "commit", p->commit);
        short_commit(p->commit, sh, sizeof sh);
        cJSON_AddStringToObject(o, "short_commit", sh);
        cJSON_AddStringToObject(o, "started_at", p->started_at);
        page_add_fmt(o, "ops_per_sec", tm[TM_OPS].fmt, p->v[TM_OPS]);
        page_add_fmt(o, "p50_us", tm[TM_P50].fmt, p->v[TM_P50]);
        page_add_fmt(o, "p99_us", tm[TM_P99].fmt, p->v[TM_P99]);
        page_add_fmt(o, "cost", tm[TM_COST].fmt, p->v[TM_COST]);
        page_add_fmt(o, "band_lo", tm[q.metric].fmt, p->band_lo);
        page_add_fmt(o, "band_hi", tm[q.metric].fmt, p->band_hi);
        cJSON_AddBoolToObject(o, "has_band", isfinite(p->band_lo));
        /* The verdict of the shown metric (cost: the worst of the result). */
        const char *vs = "";
        const cJSON *v;
        cJSON_ArrayForEach(v, p->verdicts) {
            const char *vm = cJSON_GetObjectItemCaseSensitive(v, "metric")->valuestring;
            if (tm[q.metric].verdict && strcmp(vm, tm[q.metric].verdict) == 0)
                vs = cJSON_GetObjectItemCaseSensitive(v, "status")->valuestring;
        }
        if (!tm[q.metric].verdict) vs = p->worst;
        cJSON_AddStringToObject(o, "verdict", vs);
        cJSON_AddBoolToObject(o, "regression", p->reg[q.metric]);
        cJSON_AddItemToArray(rows, o);
    }
    cJSON *cpl = cJSON_AddArrayToObject(data, "change_points");
    const cJSON *c;
    cJSON_ArrayForEach(c, d.cps) {
        cJSON *o = cJSON_CreateObject();
        char sh[16];
        cJSON_AddStringToObject(o, "run_id", cJSON_GetObjectItemCaseSensitive(c, "run_id")->valuestring);
        short_commit(cJSON_GetObjectItemCaseSensitive(c, "commit")->valuestring, sh, sizeof sh);
        cJSON_AddStringToObject(o, "short_commit", sh);
        cJSON_AddStringToObject(o, "started_at", cJSON_GetObjectItemCaseSensitive(c, "started_at")->valuestring);
        const cJSON *ch = cJSON_GetObjectItemCaseSensitive(c, "change");
        page_add_fmt(o, "change", "%+.1f%%", cJSON_IsNumber(ch) ? ch->valuedouble * 100 : NAN);
        cJSON_AddItemToArray(cpl, o);
    }
    cJSON_AddBoolToObject(data, "has_change_points", cJSON_GetArraySize(d.cps) > 0);
    tdata_free(&d);
    return page_render(r, 200, "trends", data);
}

static cJSON *num_or_null(double v)
{
    return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

enum MHD_Result api_series(const struct request *r)
{
    struct tquery q;
    tquery_parse(r, &q);
    if (q.bad[0]) return respond_error(r->conn, 400, "%s", q.bad);
    struct tdata d;
    char err[RB_ERR_LEN];
    sqlite3 *db = store_reader(r->col->st);
    const char *bb = r->col->aopts.baseline_branch[0] ? r->col->aopts.baseline_branch : "main";
    int rc = trends_load(db, &q, bb, &d, err);
    store_reader_release(r->col->st, db);
    if (rc < 0) {
        tdata_free(&d);
        return respond_error(r->conn, 500, "%s", err);
    }
    cJSON *j = cJSON_CreateObject();
    if (d.key[0]) cJSON_AddStringToObject(j, "series_key", d.key);
    else cJSON_AddNullToObject(j, "series_key");
    cJSON_AddStringToObject(j, "project", q.project);
    cJSON_AddStringToObject(j, "branch", q.branch);
    cJSON_AddStringToObject(j, "metric", tm[q.metric].name);
    cJSON_AddStringToObject(j, "baseline_branch", bb);
    cJSON_AddNumberToObject(j, "window", TREND_WINDOW);
    cJSON *pts = cJSON_AddArrayToObject(j, "points");
    for (size_t i = d.first; i < d.n; i++) {
        struct tpoint *p = &d.pts[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "run_id", p->run_id);
        cJSON_AddNumberToObject(o, "result_id", (double)p->result_id);
        cJSON_AddStringToObject(o, "commit", p->commit);
        cJSON_AddStringToObject(o, "started_at", p->started_at);
        cJSON_AddNumberToObject(o, "ops_per_sec", p->v[TM_OPS]);
        cJSON_AddNumberToObject(o, "p50_us", p->v[TM_P50]);
        cJSON_AddNumberToObject(o, "p99_us", p->v[TM_P99]);
        cJSON_AddItemToObject(o, "usd_per_mop", num_or_null(p->v[TM_COST]));
        cJSON_AddItemToObject(o, "value", num_or_null(p->v[q.metric]));
        cJSON_AddItemToObject(o, "band_low", num_or_null(p->band_lo));
        cJSON_AddItemToObject(o, "band_high", num_or_null(p->band_hi));
        cJSON_AddBoolToObject(o, "regression", p->reg[q.metric]);
        cJSON_AddItemToObject(o, "verdicts", p->verdicts);
        p->verdicts = NULL;
        cJSON_AddItemToArray(pts, o);
    }
    cJSON_AddItemToObject(j, "change_points", d.cps ? d.cps : cJSON_CreateArray());
    d.cps = NULL;
    if (d.candidates && !d.key[0]) {
        cJSON_AddItemToObject(j, "candidates", d.candidates);
        d.candidates = NULL;
    }
    tdata_free(&d);
    return respond_json(r->conn, 200, j);
}
