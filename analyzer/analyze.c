/* analyze.c -- verdicts for a run against its baseline in the warehouse:
 * baseline selection, per-metric settings (thresholds), the decision rules
 * (rules.c), SLO limits, environment differences, storage and presentation. */
#include "analyze.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "changepoint.h"
#include "rules.h"
#include "stats.h"
#include "store.h"
#include "thresholds.h"
#include "util.h"

const struct metric_info metric_info[MET__MAX] = {
    [MET_OPS] = {"ops_per_sec", "ops/s", 1, 0.05},
    [MET_P50] = {"p50_us", "p50 µs", 0, 0.10},
    [MET_P99] = {"p99_us", "p99 µs", 0, 0.15},
    [MET_ERRORS] = {"errors", "errors", 0, 1.00},
};

const char *const verdict_status_name[V__MAX] = {
    [V_PASS] = "pass",
    [V_REGRESSION] = "regression",
    [V_IMPROVEMENT] = "improvement",
    [V_INSUFFICIENT] = "insufficient_baseline",
};

double metric_sample_value(enum metric m, const rb_sample *s)
{
    switch (m) {
    case MET_OPS: return s->ops_per_sec;
    case MET_P50: return s->p50_us;
    case MET_P99: return s->p99_us;
    case MET_ERRORS: return (double)s->errors;
    default: return NAN;
    }
}

void analyze_opts_default(analyze_opts *o)
{
    memset(o, 0, sizeof *o);
    snprintf(o->baseline_branch, sizeof o->baseline_branch, "main");
    o->max_baseline_runs = ANALYZE_DEFAULT_MAX_RUNS;
    o->min_baseline_runs = ANALYZE_DEFAULT_MIN_RUNS;
    o->alpha = ANALYZE_DEFAULT_ALPHA;
    o->rule = RULE_DEFAULT;
    for (int m = 0; m < MET__MAX; m++) o->threshold[m] = metric_info[m].default_threshold;
}

int analyze_since_valid(const char *s)
{
    static const char pat[] = "dddd-dd-dd";
    size_t n = strlen(s);
    if (n < 10 || n >= sizeof ((analyze_opts *)0)->since) return 0;
    for (size_t i = 0; i < 10; i++)
        if (pat[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != pat[i]) return 0;
    return strspn(s + 10, "0123456789T:.Z") == n - 10 && (n == 10 || s[10] == 'T');
}

void analyze_opts_threshold_all(analyze_opts *o, double t)
{
    for (int m = 0; m < MET__MAX; m++) o->threshold[m] = t;
    o->user_set |= ANALYZE_SET_THRESHOLD;
}

void verdict_list_init(verdict_list *vl)
{
    memset(vl, 0, sizeof *vl);
}

void verdict_list_cleanup(verdict_list *vl)
{
    free(vl->v);
    free(vl->env);
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
    v->p_value = v->change = v->ci_low = v->ci_high = NAN;
    v->baseline_mean = v->candidate_mean = v->slo_limit = NAN;
    return v;
}

static verdict_env *add_env(verdict_list *vl)
{
    vl->env = xrealloc(vl->env, (vl->n_env + 1) * sizeof *vl->env);
    verdict_env *e = &vl->env[vl->n_env++];
    memset(e, 0, sizeof *e);
    return e;
}

/* ---- samples ---- */

/* Per-metric per-iteration values of one side, with the run each belongs to. */
typedef struct sampleset {
    double *x[MET__MAX];
    int *run;
    size_t n, cap;
    int runs;
} sampleset;

static void sampleset_add(sampleset *s, sqlite3_stmt *st, int first_col, int run)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        for (int m = 0; m < MET__MAX; m++) s->x[m] = xrealloc(s->x[m], s->cap * sizeof(double));
        s->run = xrealloc(s->run, s->cap * sizeof(int));
    }
    for (int m = 0; m < MET__MAX; m++) s->x[m][s->n] = sqlite3_column_double(st, first_col + m);
    s->run[s->n] = run;
    s->n++;
}

static void sampleset_reset(sampleset *s)
{
    s->n = 0;
    s->runs = 0;
}

static void sampleset_free(sampleset *s)
{
    for (int m = 0; m < MET__MAX; m++) free(s->x[m]);
    free(s->run);
    memset(s, 0, sizeof *s);
}

static int any_nonzero(const double *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (x[i] != 0) return 1;
    return 0;
}

/* ---- environment differences ---- */

/* The fields of a run's environment compared for a regression. */
typedef struct run_env {
    char *kind, *version, *preset, *runner;
    cJSON *config;              /* object, or NULL */
} run_env;

static void run_env_load(run_env *e, sqlite3_stmt *st, int col)
{
    e->kind = store_col_text(st, col);
    e->version = store_col_text(st, col + 1);
    e->preset = store_col_text(st, col + 2);
    e->runner = store_col_text(st, col + 3);
    const char *c = (const char *)sqlite3_column_text(st, col + 4);
    e->config = c ? cJSON_Parse(c) : NULL;
    if (e->config && !cJSON_IsObject(e->config)) {
        cJSON_Delete(e->config);
        e->config = NULL;
    }
}

static void run_env_free(run_env *e)
{
    free(e->kind);
    free(e->version);
    free(e->preset);
    free(e->runner);
    cJSON_Delete(e->config);
    memset(e, 0, sizeof *e);
}

static void config_value(const run_env *e, const char *key, char *out, size_t n)
{
    const cJSON *it = e->config ? cJSON_GetObjectItemCaseSensitive(e->config, key) : NULL;
    if (cJSON_IsString(it))
        snprintf(out, n, "%s", it->valuestring);
    else if (cJSON_IsNumber(it))
        snprintf(out, n, "%.15g", it->valuedouble);
    else if (it && !cJSON_IsNull(it)) {
        char *s = cJSON_PrintUnformatted(it);
        snprintf(out, n, "%s", s);
        cJSON_free(s);
    } else
        snprintf(out, n, "(unset)");
}

static void field_value(const run_env *e, int f, const char *key, char *out, size_t n)
{
    switch (f) {
    case 0: snprintf(out, n, "%s", *e->kind ? e->kind : "(unset)"); break;
    case 1: snprintf(out, n, "%s", *e->version ? e->version : "(unset)"); break;
    case 2: snprintf(out, n, "%s", *e->preset ? e->preset : "(unset)"); break;
    case 3: snprintf(out, n, "%s", *e->runner ? e->runner : "(unset)"); break;
    default: config_value(e, key, out, n); break;
    }
}

static const char *const env_field_name[] = {"server kind", "server version", "machine preset",
                                             "runner version"};
#define ENV_FIXED 4

/* Appends to vl one entry per field whose candidate value differs from any
 * baseline run's, and returns how many. */
static size_t env_compare(const run_env *cand, const run_env *base, int nb, verdict_list *vl)
{
    /* The config keys: the candidate's, then those only some baseline has. */
    const char **keys = NULL;
    size_t nk = 0;
    for (int r = -1; r < nb; r++) {
        const cJSON *cfg = r < 0 ? cand->config : base[r].config, *it;
        if (!cfg) continue;
        cJSON_ArrayForEach(it, cfg) {
            size_t k = 0;
            while (k < nk && strcmp(keys[k], it->string) != 0) k++;
            if (k < nk) continue;
            keys = xrealloc(keys, (nk + 1) * sizeof *keys);
            keys[nk++] = it->string;
        }
    }
    size_t added = 0;
    for (size_t f = 0; f < ENV_FIXED + nk; f++) {
        const char *key = f >= ENV_FIXED ? keys[f - ENV_FIXED] : NULL;
        char cv[96], vals[32][96];
        int cnt[32], nv = 0, differs = 0;
        field_value(cand, (int)f, key, cv, sizeof cv);
        for (int r = 0; r < nb; r++) {
            char bv[96];
            field_value(&base[r], (int)f, key, bv, sizeof bv);
            if (strcmp(bv, cv) != 0) differs = 1;
            int k = 0;
            while (k < nv && strcmp(vals[k], bv) != 0) k++;
            if (k == nv) {
                if (nv == 32) continue;
                snprintf(vals[nv], sizeof vals[nv], "%s", bv);
                cnt[nv++] = 0;
            }
            cnt[k]++;
        }
        if (!differs) continue;
        /* Most frequent first. */
        for (int i = 1; i < nv; i++)
            for (int j = i; j > 0 && cnt[j] > cnt[j - 1]; j--) {
                char t[96];
                int c = cnt[j];
                memcpy(t, vals[j], sizeof t);
                memcpy(vals[j], vals[j - 1], sizeof t);
                memcpy(vals[j - 1], t, sizeof t);
                cnt[j] = cnt[j - 1];
                cnt[j - 1] = c;
            }
        verdict_env *d = add_env(vl);
        if (f < ENV_FIXED)
            snprintf(d->field, sizeof d->field, "%s", env_field_name[f]);
        else
            snprintf(d->field, sizeof d->field, "config %s", key);
        snprintf(d->candidate, sizeof d->candidate, "%s", cv);
        if (nv == 1) {
            snprintf(d->baseline, sizeof d->baseline, "%.95s", vals[0]);
        } else {
            size_t len = 0;
            for (int i = 0; i < nv && len < sizeof d->baseline; i++)
                len += (size_t)snprintf(d->baseline + len, sizeof d->baseline - len, "%s%.95s (%d)",
                                        i ? ", " : "", vals[i], cnt[i]);
        }
        added++;
    }
    free(keys);
    return added;
}

/* ---- the run ---- */

/* The baseline of a run is found by walking the eligible runs newest first
 * (a run's results and samples are two sequential reads), filling each
 * candidate result's series until it holds max_baseline_runs runs. Series
 * still short after SCAN_FACTOR * max_baseline_runs runs are completed one by
 * one with BASELINE_SQL, which walks that series alone; both give the same
 * baseline: the newest eligible results of the series. */
#define SCAN_FACTOR 2

static const char *RUN_SQL =
    "SELECT project, started_at, target_kind, target_version, target_preset, runner_version, "
    "target_config FROM runs WHERE id=?";

static const char *RESULTS_SQL =
    "SELECT id, series_key, op, scenario, ops_per_sec, p50_us, p99_us, errors FROM results "
    "WHERE run_id=? AND status IN ('ok', 'partial') ORDER BY id";

/* Per-iteration samples of every result of a run: one range of the samples
 * primary key when the run's result ids are contiguous (they are when the run
 * was ingested in one transaction); rows of other runs are skipped by id. */
static const char *RUN_SAMPLES_SQL =
    "SELECT result_id, ops_per_sec, p50_us, p99_us, errors FROM samples "
    "WHERE result_id BETWEEN (SELECT min(id) FROM results WHERE run_id=?1) "
    "AND (SELECT max(id) FROM results WHERE run_id=?1) ORDER BY result_id, iteration";

/* The eligible baseline runs, newest first. */
static const char *RUNS_SQL =
    "SELECT id FROM runs WHERE project=?1 AND branch=?2 AND id<>?3 AND started_at<?4"
    " AND (?5 IS NULL OR started_at >= ?5)"
    " AND (?6 IS NULL OR started_at >= strftime('%Y-%m-%dT%H:%M:%fZ', ?4, ?6))"
    " ORDER BY started_at DESC, id DESC LIMIT ?7";

/* A baseline run's usable results. */
static const char *BASE_RESULTS_SQL =
    "SELECT id, series_key FROM results WHERE run_id=? AND status IN ('ok', 'partial')";

/* Of results ?1..?2, those with an untriaged regression verdict: they stay
 * out of baselines (an SLO violation is not a change and does not count).
 * A range of the small partial index verdicts_untriaged_regressions. */
static const char *FLAGGED_SQL =
    "SELECT DISTINCT result_id FROM verdicts WHERE status = 'regression' AND triage IS NULL"
    " AND test <> 'slo' AND result_id BETWEEN ?1 AND ?2";

/* Samples of results ?1..?2 (one run's, when ingested in one transaction). */
static const char *RANGE_SAMPLES_SQL =
    "SELECT result_id, ops_per_sec, p50_us, p99_us, errors FROM samples "
    "WHERE result_id BETWEEN ?1 AND ?2 ORDER BY result_id, iteration";

/* One series' baseline samples, newest run first (the fallback). */
static const char *BASELINE_SQL =
    "WITH base AS ("
    "  SELECT res.id AS rid, r.started_at AS t, r.id AS run FROM results res JOIN runs r ON r.id = res.run_id"
    "  WHERE res.series_key = ?1 AND r.project = ?2 AND r.branch = ?3 AND r.id <> ?4"
    "    AND r.started_at < ?5 AND res.status IN ('ok', 'partial')"
    "    AND (?7 IS NULL OR r.started_at >= ?7)"
    "    AND (?8 IS NULL OR r.started_at >= strftime('%Y-%m-%dT%H:%M:%fZ', ?5, ?8))"
    "    AND NOT EXISTS (SELECT 1 FROM verdicts v WHERE v.result_id = res.id"
    "                    AND v.status = 'regression' AND v.triage IS NULL AND v.test <> 'slo')"
    "    AND EXISTS (SELECT 1 FROM samples s WHERE s.result_id = res.id)"
    "  ORDER BY r.started_at DESC, r.id DESC LIMIT ?6)"
    " SELECT base.rid, s.ops_per_sec, s.p50_us, s.p99_us, s.errors"
    " FROM base JOIN samples s ON s.result_id = base.rid ORDER BY base.t DESC, base.run DESC, s.iteration";

static const char *ENV_SQL =
    "SELECT r.target_kind, r.target_version, r.target_preset, r.runner_version, r.target_config "
    "FROM results res JOIN runs r ON r.id = res.run_id WHERE res.id = ?";

/* A result of the candidate run with its samples and its baseline. */
typedef struct cand_result {
    long long id;
    char *key, *op, *scenario;
    double summary[MET__MAX];   /* the result's own figures, for SLOs */
    sampleset cand, base;
    long long *rids;            /* the baseline results, newest first (base.runs of them) */
} cand_result;

typedef struct run_scan {
    sqlite3 *db;
    const analyze_opts *o;
    const char *run_id, *project, *started;
    char days[32];
    cand_result *c;
    size_t n;
    struct key_idx *by_key;     /* the results' keys, sorted */
} run_scan;

static void bind_window(sqlite3_stmt *st, const run_scan *sc, int since_col, int days_col)
{
    if (sc->o->since[0]) sqlite3_bind_text(st, since_col, sc->o->since, -1, SQLITE_STATIC);
    if (sc->o->days > 0) sqlite3_bind_text(st, days_col, sc->days, -1, SQLITE_STATIC);
}

typedef struct key_idx {
    const char *key;
    size_t idx;
} key_idx;

static int cmp_key_idx(const void *a, const void *b)
{
    return strcmp(((const key_idx *)a)->key, ((const key_idx *)b)->key);
}

/* The candidate result with series key key, or NULL. */
static cand_result *find_key(const run_scan *sc, const char *key)
{
    size_t lo = 0, hi = sc->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(sc->by_key[mid].key, key);
        if (c == 0) return &sc->c[sc->by_key[mid].idx];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* The candidate result with id id (c is sorted by id), or NULL. */
static cand_result *find_id(const run_scan *sc, long long id)
{
    size_t lo = 0, hi = sc->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sc->c[mid].id == id) return &sc->c[mid];
        if (sc->c[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static int sql_fail(sqlite3 *db, char *err)
{
    return rb_err(err, "sqlite: %s", sqlite3_errmsg(db));
}

/* Loads the candidate's results and their samples. */
static int load_candidate(run_scan *sc, char *err)
{
    sqlite3_stmt *rs = NULL, *ss = NULL;
    int rc = -1, s;
    if (sqlite3_prepare_v2(sc->db, RESULTS_SQL, -1, &rs, NULL) ||
        sqlite3_prepare_v2(sc->db, RUN_SAMPLES_SQL, -1, &ss, NULL)) {
        sql_fail(sc->db, err);
        goto out;
    }
    sqlite3_bind_text(rs, 1, sc->run_id, -1, SQLITE_STATIC);
    size_t cap = 0;
    while ((s = sqlite3_step(rs)) == SQLITE_ROW) {
        if (sc->n == cap) {
            cap = cap ? 2 * cap : 64;
            sc->c = xrealloc(sc->c, cap * sizeof *sc->c);
        }
        cand_result *c = &sc->c[sc->n++];
        memset(c, 0, sizeof *c);
        c->id = sqlite3_column_int64(rs, 0);
        c->key = store_col_text(rs, 1);
        c->op = store_col_text(rs, 2);
        c->scenario = store_col_text(rs, 3);
        for (int m = 0; m < MET__MAX; m++) c->summary[m] = sqlite3_column_double(rs, 4 + m);
        c->cand.runs = 1;
        c->rids = xmalloc(((size_t)sc->o->max_baseline_runs + 1) * sizeof *c->rids);
    }
    if (s != SQLITE_DONE) {
        sql_fail(sc->db, err);
        goto out;
    }
    sc->by_key = xmalloc((sc->n ? sc->n : 1) * sizeof *sc->by_key);
    for (size_t i = 0; i < sc->n; i++) sc->by_key[i] = (key_idx){sc->c[i].key, i};
    qsort(sc->by_key, sc->n, sizeof *sc->by_key, cmp_key_idx);
    sqlite3_bind_text(ss, 1, sc->run_id, -1, SQLITE_STATIC);
    while ((s = sqlite3_step(ss)) == SQLITE_ROW) {
        cand_result *c = find_id(sc, sqlite3_column_int64(ss, 0));
        if (c) sampleset_add(&c->cand, ss, 1, 0);
    }
    if (s != SQLITE_DONE) {
        sql_fail(sc->db, err);
        goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(rs);
    sqlite3_finalize(ss);
    return rc;
}

static void sort_pairs(long long *ids, cand_result **slot, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        long long id = ids[i];
        cand_result *c = slot[i];
        size_t j = i;
        for (; j > 0 && ids[j - 1] > id; j--) {
            ids[j] = ids[j - 1];
            slot[j] = slot[j - 1];
        }
        ids[j] = id;
        slot[j] = c;
    }
}

/* Walks the newest eligible runs and fills the baselines. Returns the
 * number of runs walked, or -1 with err. *more is set when the walk stopped
 * at its limit while some series are still short (older runs may hold them). */
static int scan_runs(run_scan *sc, int *more, char *err)
{
    sqlite3_stmt *runs = NULL, *res = NULL, *flg = NULL, *smp = NULL;
    int limit = SCAN_FACTOR * sc->o->max_baseline_runs, walked = 0, s, rc = -1;
    size_t full = 0;
    /* The run's results that would fill a series, sorted by id. */
    long long *ids = NULL;
    cand_result **slot = NULL;
    size_t nids = 0, capids = 0;
    *more = 0;
    if (sqlite3_prepare_v2(sc->db, RUNS_SQL, -1, &runs, NULL) ||
        sqlite3_prepare_v2(sc->db, BASE_RESULTS_SQL, -1, &res, NULL) ||
        sqlite3_prepare_v2(sc->db, FLAGGED_SQL, -1, &flg, NULL) ||
        sqlite3_prepare_v2(sc->db, RANGE_SAMPLES_SQL, -1, &smp, NULL)) {
        sql_fail(sc->db, err);
        goto out;
    }
    sqlite3_bind_text(runs, 1, sc->project, -1, SQLITE_STATIC);
    sqlite3_bind_text(runs, 2, sc->o->baseline_branch, -1, SQLITE_STATIC);
    sqlite3_bind_text(runs, 3, sc->run_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(runs, 4, sc->started, -1, SQLITE_STATIC);
    bind_window(runs, sc, 5, 6);
    sqlite3_bind_int(runs, 7, limit);
    while (full < sc->n && (s = sqlite3_step(runs)) == SQLITE_ROW) {
        walked++;
        nids = 0;
        sqlite3_reset(res);
        sqlite3_bind_value(res, 1, sqlite3_column_value(runs, 0));
        while ((s = sqlite3_step(res)) == SQLITE_ROW) {
            cand_result *c = find_key(sc, (const char *)sqlite3_column_text(res, 1));
            if (!c || c->base.runs >= sc->o->max_baseline_runs) continue;
            if (nids == capids) {
                capids = capids ? 2 * capids : 256;
                ids = xrealloc(ids, capids * sizeof *ids);
                slot = xrealloc(slot, capids * sizeof *slot);
            }
            ids[nids] = sqlite3_column_int64(res, 0);
            slot[nids++] = c;
        }
        if (s != SQLITE_DONE) {
            sql_fail(sc->db, err);
            goto out;
        }
        if (!nids) continue;
        sort_pairs(ids, slot, nids);
        /* Drop the flagged ones. */
        sqlite3_reset(flg);
        sqlite3_bind_int64(flg, 1, ids[0]);
        sqlite3_bind_int64(flg, 2, ids[nids - 1]);
        while ((s = sqlite3_step(flg)) == SQLITE_ROW) {
            long long id = sqlite3_column_int64(flg, 0);
            size_t lo = 0, hi = nids;
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (ids[mid] < id)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            if (lo < nids && ids[lo] == id) slot[lo] = NULL;
        }
        if (s != SQLITE_DONE) {
            sql_fail(sc->db, err);
            goto out;
        }
        /* Their samples, merged by id. */
        sqlite3_reset(smp);
        sqlite3_bind_int64(smp, 1, ids[0]);
        sqlite3_bind_int64(smp, 2, ids[nids - 1]);
        size_t k = 0;
        long long last = -1;
        while ((s = sqlite3_step(smp)) == SQLITE_ROW) {
            long long id = sqlite3_column_int64(smp, 0);
            while (k < nids && ids[k] < id) k++;
            if (k == nids) break;
            cand_result *c = slot[k];
            if (ids[k] != id || !c) continue;
            if (id != last) {
                c->rids[c->base.runs++] = id;
                if (c->base.runs == sc->o->max_baseline_runs) full++;
                last = id;
            }
            sampleset_add(&c->base, smp, 1, c->base.runs - 1);
        }
        if (s != SQLITE_DONE && s != SQLITE_ROW) {
            sql_fail(sc->db, err);
            goto out;
        }
    }
    *more = walked == limit && full < sc->n;
    rc = walked;
out:
    free(ids);
    free(slot);
    sqlite3_finalize(runs);
    sqlite3_finalize(res);
    sqlite3_finalize(flg);
    sqlite3_finalize(smp);
    return rc;
}

/* Refills the baseline of one series from BASELINE_SQL. */
static int fill_series(run_scan *sc, sqlite3_stmt *bs, cand_result *c, char *err)
{
    sampleset_reset(&c->base);
    sqlite3_reset(bs);
    sqlite3_bind_text(bs, 1, c->key, -1, SQLITE_STATIC);
    long long last = -1;
    int s;
    while ((s = sqlite3_step(bs)) == SQLITE_ROW) {
        long long id = sqlite3_column_int64(bs, 0);
        if (id != last && c->base.runs < sc->o->max_baseline_runs) c->rids[c->base.runs++] = id;
        last = id;
        sampleset_add(&c->base, bs, 1, c->base.runs - 1);
    }
    return s == SQLITE_DONE ? 0 : sql_fail(sc->db, err);
}

/* The settings for one result and metric: o's, then the thresholds lines,
 * then what a person set on o where no specific line speaks. */
static void settings_for(const thresholds *th, const analyze_opts *o, const th_subject *subj,
                         enum metric m, th_settings *s)
{
    s->rule = o->rule;
    s->threshold = o->threshold[m];
    s->alpha = o->alpha;
    s->limit = 0;
    s->min_baseline_runs = o->min_baseline_runs;
    thresholds_resolve(th, subj, s);
    if ((o->user_set & ANALYZE_SET_RULE) && s->spec[TH_RULE] <= 0) s->rule = o->rule;
    if ((o->user_set & ANALYZE_SET_THRESHOLD) && s->spec[TH_THRESHOLD] <= 0) s->threshold = o->threshold[m];
    if ((o->user_set & ANALYZE_SET_ALPHA) && s->spec[TH_ALPHA] <= 0) s->alpha = o->alpha;
    if ((o->user_set & ANALYZE_SET_MIN_RUNS) && s->spec[TH_MIN_RUNS] <= 0)
        s->min_baseline_runs = o->min_baseline_runs;
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

static void judge_metric(verdict *v, enum metric m, const sampleset *base, const sampleset *cand,
                         const th_settings *s)
{
    v->metric = m;
    v->threshold = s->threshold;
    v->alpha = s->alpha;
    v->min_baseline_runs = s->min_baseline_runs;
    v->baseline_runs = base->runs;
    v->baseline_samples = (int)base->n;
    v->candidate_samples = (int)cand->n;
    judge_input in = {
        .base = base->x[m], .base_run = base->run, .n_base = base->n, .n_base_runs = base->runs,
        .cand = cand->x[m], .n_cand = cand->n,
        .higher_is_better = metric_info[m].higher_is_better,
        .threshold = s->threshold, .alpha = s->alpha, .limit = s->limit,
        .min_baseline_runs = s->min_baseline_runs,
    };
    judgement j;
    rule_judge((enum rule)s->rule, &in, &j);
    v->status = to_status(j.status);
    snprintf(v->test, sizeof v->test, "%s", j.test);
    v->baseline_mean = j.baseline_center;
    v->candidate_mean = j.candidate_center;
    if (j.status != J_INSUFFICIENT) {
        v->p_value = j.p_value;
        v->change = j.change;
        v->ci_low = j.ci_low;
        v->ci_high = j.ci_high;
    }
}

static void judge_slo(verdict *v, const th_slo *slo, const cand_result *c)
{
    int m = 0;
    while (m < MET__MAX && strcmp(metric_info[m].name, slo->metric) != 0) m++;
    if (m == MET__MAX) m = MET_P99; /* unreachable: the parser checks names */
    double x = c->summary[m];
    v->metric = (enum metric)m;
    v->status = th_slo_met(slo, x) ? V_PASS : V_REGRESSION;
    snprintf(v->test, sizeof v->test, "slo");
    snprintf(v->slo, sizeof v->slo, "%s", slo->text);
    v->slo_limit = slo->limit;
    v->candidate_mean = x;
    v->change = slo->limit != 0 ? (x - slo->limit) / fabs(slo->limit) : NAN;
    v->baseline_runs = c->base.runs;
    v->candidate_samples = 1;
    v->threshold = 0;
    v->alpha = 0;
}

static int env_for_result(sqlite3 *db, sqlite3_stmt *envq, const run_env *cand,
                          const long long *rids, int nb, verdict_list *vl, size_t first_verdict,
                          char *err)
{
    run_env *base = xcalloc(nb ? (size_t)nb : 1, sizeof *base);
    int got = 0, rc = 0;
    for (int r = 0; r < nb; r++) {
        sqlite3_reset(envq);
        sqlite3_bind_int64(envq, 1, rids[r]);
        int s = sqlite3_step(envq);
        if (s == SQLITE_ROW) {
            run_env_load(&base[got++], envq, 0);
        } else if (s != SQLITE_DONE) {
            rc = sql_fail(db, err);
            break;
        }
    }
    if (rc == 0) {
        size_t first = vl->n_env, n = env_compare(cand, base, got, vl);
        for (size_t i = first_verdict; i < vl->n; i++)
            if (vl->v[i].status == V_REGRESSION) {
                vl->v[i].env_first = first;
                vl->v[i].env_n = n;
            }
    }
    for (int r = 0; r < got; r++) run_env_free(&base[r]);
    free(base);
    return rc;
}

/* The verdicts of one candidate result. */
static int judge_result(run_scan *sc, const thresholds *th, cand_result *c, sqlite3_stmt *es,
                        const run_env *cand_env, verdict_list *out, char *err)
{
    const analyze_opts *o = sc->o;
    size_t first = out->n;
    int regressed = 0;
    th_subject subj = {c->scenario, c->op, c->key, NULL};
    for (int m = 0; m < MET__MAX; m++) {
        th_settings s;
        subj.metric = metric_info[m].name;
        settings_for(th, o, &subj, (enum metric)m, &s);
        if (s.rule == TH_RULE_OFF) continue;
        /* Errors are judged only where there are some. */
        if (m == MET_ERRORS && !any_nonzero(c->cand.x[m], c->cand.n) &&
            !any_nonzero(c->base.x[m], c->base.n))
            continue;
        verdict *v = add_verdict(out);
        v->result_id = c->id;
        snprintf(v->series_key, sizeof v->series_key, "%s", c->key);
        snprintf(v->op, sizeof v->op, "%s", c->op);
        judge_metric(v, (enum metric)m, &c->base, &c->cand, &s);
        regressed |= v->status == V_REGRESSION;
    }
    subj.metric = NULL;
    size_t it = 0;
    const th_slo *slo;
    while ((slo = thresholds_next_slo(th, &subj, &it))) {
        verdict *v = add_verdict(out);
        v->result_id = c->id;
        snprintf(v->series_key, sizeof v->series_key, "%s", c->key);
        snprintf(v->op, sizeof v->op, "%s", c->op);
        judge_slo(v, slo, c);
        regressed |= v->status == V_REGRESSION;
    }
    if (regressed && c->base.runs > 0)
        return env_for_result(sc->db, es, cand_env, c->rids, c->base.runs, out, first, err);
    return 0;
}

int analyze_run(sqlite3 *db, const char *run_id, const analyze_opts *o, verdict_list *out,
                char *err)
{
    sqlite3_stmt *rs = NULL, *bs = NULL, *es = NULL;
    char *project = NULL, *started = NULL;
    run_env cand_env = {0};
    thresholds *th = thresholds_new();
    run_scan sc = {.db = db, .o = o, .run_id = run_id};
    int rc = -1, more;

    verdict_list_init(out);
    snprintf(out->run_id, sizeof out->run_id, "%s", run_id);
    snprintf(out->baseline_branch, sizeof out->baseline_branch, "%s", o->baseline_branch);
    snprintf(sc.days, sizeof sc.days, "-%d days", o->days);

    if (sqlite3_prepare_v2(db, RUN_SQL, -1, &rs, NULL) ||
        sqlite3_prepare_v2(db, ENV_SQL, -1, &es, NULL)) {
        sql_fail(db, err);
        goto out;
    }
    sqlite3_bind_text(rs, 1, run_id, -1, SQLITE_STATIC);
    if (sqlite3_step(rs) != SQLITE_ROW) {
        rb_err(err, "run %s not found", run_id);
        goto out;
    }
    project = store_col_text(rs, 0);
    started = store_col_text(rs, 1);
    sc.project = project;
    sc.started = started;
    run_env_load(&cand_env, rs, 2);
    if (thresholds_load_db(th, db, project, err) < 0) goto out;
    thresholds_append(th, o->th);

    if (load_candidate(&sc, err) < 0 || scan_runs(&sc, &more, err) < 0) goto out;
    if (more) {
        if (sqlite3_prepare_v2(db, BASELINE_SQL, -1, &bs, NULL)) {
            sql_fail(db, err);
            goto out;
        }
        sqlite3_bind_text(bs, 2, project, -1, SQLITE_STATIC);
        sqlite3_bind_text(bs, 3, o->baseline_branch, -1, SQLITE_STATIC);
        sqlite3_bind_text(bs, 4, run_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(bs, 5, started, -1, SQLITE_STATIC);
        sqlite3_bind_int(bs, 6, o->max_baseline_runs);
        bind_window(bs, &sc, 7, 8);
        for (size_t i = 0; i < sc.n; i++)
            if (sc.c[i].base.runs < o->max_baseline_runs && fill_series(&sc, bs, &sc.c[i], err) < 0)
                goto out;
    }
    for (size_t i = 0; i < sc.n; i++)
        if (judge_result(&sc, th, &sc.c[i], es, &cand_env, out, err) < 0) goto out;
    /* Where the series last shifted on the baseline branch, so a regression
     * can say "slower since run X / commit Y" (change_points, kept on ingest). */
    for (size_t i = 0; i < out->n; i++) {
        verdict *v = &out->v[i];
        if (v->status != V_REGRESSION || v->slo[0]) continue;
        if (cp_since(db, project, o->baseline_branch, v->series_key, metric_info[v->metric].name,
                     v->since_run, v->since_commit, v->since_at, err) < 0)
            goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(rs);
    sqlite3_finalize(bs);
    sqlite3_finalize(es);
    for (size_t i = 0; i < sc.n; i++) {
        cand_result *c = &sc.c[i];
        free(c->key);
        free(c->op);
        free(c->scenario);
        free(c->rids);
        sampleset_free(&c->cand);
        sampleset_free(&c->base);
    }
    free(sc.c);
    free(sc.by_key);
    run_env_free(&cand_env);
    thresholds_free(th);
    free(project);
    free(started);
    if (rc < 0) verdict_list_cleanup(out);
    return rc;
}

/* ---- storage ---- */

static void bind_num(sqlite3_stmt *st, int i, double x)
{
    if (isfinite(x))
        sqlite3_bind_double(st, i, x);
    else
        sqlite3_bind_null(st, i);
}

static cJSON *env_json(const verdict_list *vl, const verdict *v)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t k = 0; k < v->env_n; k++) {
        const verdict_env *d = &vl->env[v->env_first + k];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "field", d->field);
        cJSON_AddStringToObject(o, "baseline", d->baseline);
        cJSON_AddStringToObject(o, "candidate", d->candidate);
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
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
                           "candidate_samples, env_diff, slo, created_at) "
                           "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,"
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
        sqlite3_clear_bindings(ins);
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
        sqlite3_bind_int(ins, 18, v->candidate_samples);
        if (v->env_n) {
            cJSON *e = env_json(vl, v);
            sqlite3_bind_text(ins, 19, cJSON_PrintUnformatted(e), -1, cJSON_free);
            cJSON_Delete(e);
        }
        if (v->slo[0]) sqlite3_bind_text(ins, 20, v->slo, -1, SQLITE_STATIC);
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
        cJSON_AddNumberToObject(o, "min_baseline_runs", v->min_baseline_runs);
        cJSON_AddNumberToObject(o, "threshold", v->threshold);
        cJSON_AddNumberToObject(o, "alpha", v->alpha);
        if (v->since_run[0]) {
            cJSON *since = cJSON_AddObjectToObject(o, "since");
            cJSON_AddStringToObject(since, "run_id", v->since_run);
            cJSON_AddStringToObject(since, "commit", v->since_commit);
            cJSON_AddStringToObject(since, "started_at", v->since_at);
        }
        if (v->slo[0]) {
            cJSON_AddStringToObject(o, "slo", v->slo);
            add_num(o, "slo_limit", v->slo_limit);
        }
        if (v->env_n) cJSON_AddItemToObject(o, "env_diff", env_json(vl, v));
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

static int jint(const cJSON *o, const char *k)
{
    double x = jnum(o, k);
    return isfinite(x) && fabs(x) < 1e9 ? (int)x : 0;
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
            size_t at = vl->n;
            verdict_list_cleanup(vl);
            return rb_err(err, "analysis: verdict %zu lacks a field", at);
        }
        int m = -1, s = -1;
        for (int i = 0; i < MET__MAX; i++)
            if (strcmp(metric_info[i].name, met) == 0) m = i;
        for (int i = 0; i < V__MAX; i++)
            if (strcmp(verdict_status_name[i], st) == 0) s = i;
        if (m < 0 || s < 0) {
            verdict_list_cleanup(vl);
            return rb_err(err, "analysis: unknown metric '%s' or status '%s'", met, st);
        }
        verdict *v = add_verdict(vl);
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
        v->baseline_runs = jint(o, "baseline_runs");
        v->baseline_samples = jint(o, "baseline_samples");
        v->candidate_samples = jint(o, "candidate_samples");
        v->min_baseline_runs = jint(o, "min_baseline_runs");
        v->threshold = jnum(o, "threshold");
        v->alpha = jnum(o, "alpha");
        const char *slo = jstr(o, "slo");
        if (slo) snprintf(v->slo, sizeof v->slo, "%s", slo);
        v->slo_limit = jnum(o, "slo_limit");
        const cJSON *env = cJSON_GetObjectItemCaseSensitive(o, "env_diff"), *e;
        if (cJSON_IsArray(env)) {
            size_t first = vl->n_env, n = 0;
            cJSON_ArrayForEach(e, env) {
                const char *f = jstr(e, "field"), *b = jstr(e, "baseline"), *c = jstr(e, "candidate");
                if (!f || !b || !c) continue;
                verdict_env *d = add_env(vl);
                snprintf(d->field, sizeof d->field, "%s", f);
                snprintf(d->baseline, sizeof d->baseline, "%s", b);
                snprintf(d->candidate, sizeof d->candidate, "%s", c);
                n++;
            }
            v = &vl->v[vl->n - 1];
            v->env_first = first;
            v->env_n = n;
        }
    }
    return 0;
}

/* ---- presentation ---- */

int out_format_parse(const char *s)
{
    if (strcmp(s, "table") == 0) return FMT_TABLE;
    if (strcmp(s, "json") == 0) return FMT_JSON;
    if (strcmp(s, "markdown") == 0) return FMT_MARKDOWN;
    if (strcmp(s, "github") == 0) return FMT_GITHUB;
    return -1;
}

void verdict_fmt_pct(char *out, size_t n, double x)
{
    if (isfinite(x))
        snprintf(out, n, "%+.1f%%", x * 100);
    else if (isinf(x))
        snprintf(out, n, "%s", x > 0 ? "+inf" : "-inf");
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

void verdict_fmt_p(char *out, size_t n, double p)
{
    if (!isfinite(p))
        snprintf(out, n, "-");
    else if (p < 0.0001)
        snprintf(out, n, "<0.0001");
    else
        snprintf(out, n, "%.4f", p);
}

/* The cells of one verdict's row, shared by the table and Markdown. */
typedef struct row {
    char base[112], cand[32], change[32], ci[72], thr[32], p[32];
} row;

static void make_row(const verdict *v, row *r)
{
    if (v->slo[0]) {
        /* The SLO text without spaces: "<5000" */
        const char *c = strchr(v->slo, ' ');
        snprintf(r->base, sizeof r->base, "limit%s", c ? c + 1 : v->slo);
        for (char *s = r->base; *s; s++)
            if (*s == ' ') memmove(s, s + 1, strlen(s));
        snprintf(r->thr, sizeof r->thr, "-");
    } else {
        fmt_val(r->base, sizeof r->base, v->baseline_mean);
        snprintf(r->thr, sizeof r->thr, "±%.4g%%", v->threshold * 100);
    }
    fmt_val(r->cand, sizeof r->cand, v->candidate_mean);
    verdict_fmt_pct(r->change, sizeof r->change, v->change);
    char lo[32], hi[32];
    verdict_fmt_pct(lo, sizeof lo, v->ci_low);
    verdict_fmt_pct(hi, sizeof hi, v->ci_high);
    if (isfinite(v->ci_low) || isfinite(v->ci_high))
        snprintf(r->ci, sizeof r->ci, "%s..%s", lo, hi);
    else
        snprintf(r->ci, sizeof r->ci, "-");
    verdict_fmt_p(r->p, sizeof r->p, v->p_value);
}

static const char *status_word(const verdict *v)
{
    if (v->status == V_REGRESSION) return v->slo[0] ? "SLO-VIOLATION" : "REGRESSION";
    return verdict_status_name[v->status];
}

/* GitHub workflow command data: %, CR and LF escaped. */
static void gh_puts(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '%')
            fputs("%25", out);
        else if (*s == '\r')
            fputs("%0D", out);
        else if (*s == '\n')
            fputs("%0A", out);
        else
            fputc(*s, out);
    }
}

static void print_github(const verdict_list *vl, FILE *out)
{
    char line[4096];
    for (size_t i = 0; i < vl->n; i++) {
        const verdict *v = &vl->v[i];
        row r;
        make_row(v, &r);
        const char *name = metric_info[v->metric].name;
        if (v->status == V_REGRESSION && v->slo[0]) {
            snprintf(line, sizeof line, "%s %s %s violates the SLO %s", v->series_key, name, r.cand,
                     v->slo);
            fputs("::error title=redbench SLO violation::", out);
        } else if (v->status == V_REGRESSION || v->status == V_IMPROVEMENT) {
            int n = snprintf(line, sizeof line,
                             "%s %s %s (baseline %s, candidate %s, 95%% CI %s; %s p=%s; threshold %s; "
                             "%d baseline runs)",
                             v->series_key, name, r.change, r.base, r.cand, r.ci, v->test, r.p, r.thr,
                             v->baseline_runs);
            for (size_t k = 0; k < v->env_n && n > 0 && (size_t)n < sizeof line; k++) {
                const verdict_env *d = &vl->env[v->env_first + k];
                n += snprintf(line + n, sizeof line - (size_t)n, "%s %s: %s → %s", k ? "," : "; differs:",
                              d->field, d->baseline, d->candidate);
            }
            if (v->since_run[0] && n > 0 && (size_t)n < sizeof line)
                n += snprintf(line + n, sizeof line - (size_t)n, "; since run %s (commit %s)",
                              v->since_run, v->since_commit[0] ? v->since_commit : "-");
            fputs(v->status == V_REGRESSION ? "::error title=redbench regression::"
                                            : "::notice title=redbench improvement::",
                  out);
        } else {
            continue;
        }
        gh_puts(out, line);
        fputc('\n', out);
    }
    /* Insufficient baselines: one warning per result. */
    for (size_t i = 0; i < vl->n; i++) {
        const verdict *v = &vl->v[i];
        if (v->status != V_INSUFFICIENT) continue;
        int seen = 0;
        for (size_t k = 0; k < i && !seen; k++)
            seen = vl->v[k].result_id == v->result_id && vl->v[k].status == V_INSUFFICIENT;
        if (seen) continue;
        int n = snprintf(line, sizeof line, "%s: %d baseline runs on %s (need %d), not judged:",
                         v->series_key, v->baseline_runs, vl->baseline_branch, v->min_baseline_runs);
        for (size_t k = i; k < vl->n && n > 0 && (size_t)n < sizeof line; k++)
            if (vl->v[k].result_id == v->result_id && vl->v[k].status == V_INSUFFICIENT)
                n += snprintf(line + n, sizeof line - (size_t)n, " %s", metric_info[vl->v[k].metric].name);
        fputs("::warning title=redbench insufficient baseline::", out);
        gh_puts(out, line);
        fputc('\n', out);
    }
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
    int md = f == FMT_MARKDOWN;
    if (md) {
        fprintf(out, "### redbench: run `%s` vs `%s` — %s\n\n", vl->run_id, vl->baseline_branch,
                overall_status(vl));
        fprintf(out, "| series | metric | baseline | candidate | change | 95%% CI | threshold | test | p | runs | verdict |\n");
        fprintf(out, "|---|---|---:|---:|---:|---|---:|---|---:|---:|---|\n");
    } else {
        fprintf(out, "run %s vs baseline branch %s\n", vl->run_id, vl->baseline_branch);
        fprintf(out, "%-*s  %-11s %12s %12s %8s %17s %7s %-33s %8s %4s  %s\n", w, "SERIES", "METRIC",
                "BASELINE", "CANDIDATE", "CHANGE", "95% CI", "THRESH", "TEST", "P", "RUNS", "VERDICT");
    }
    for (size_t i = 0; i < vl->n; i++) {
        const verdict *v = &vl->v[i];
        row r;
        make_row(v, &r);
        if (md) {
            const char *mark = v->status == V_REGRESSION ? "❌ " : v->status == V_IMPROVEMENT ? "✅ " : v->status == V_INSUFFICIENT ? "⚠️ " : "";
            fprintf(out, "| `%s` | %s | %s | %s | %s | %s | %s | %s | %s | %d | %s%s |\n",
                    v->series_key, metric_info[v->metric].label, r.base, r.cand, r.change, r.ci,
                    r.thr, v->test, r.p, v->baseline_runs, mark,
                    v->status == V_REGRESSION && v->slo[0] ? "regression (SLO)" : verdict_status_name[v->status]);
        } else {
            fprintf(out, "%-*s  %-11s %12s %12s %8s %17s %7s %-33s %8s %4d  %s\n", w, v->series_key,
                    metric_info[v->metric].name, r.base, r.cand, r.change, r.ci, r.thr, v->test, r.p,
                    v->baseline_runs, status_word(v));
            for (size_t k = 0; k < v->env_n; k++) {
                const verdict_env *d = &vl->env[v->env_first + k];
                fprintf(out, "    differs from the baseline: %s: %s → %s\n", d->field, d->baseline,
                        d->candidate);
            }
            if (v->since_run[0])
                fprintf(out, "    the series shifted since run %s (commit %s, %s)\n", v->since_run,
                        v->since_commit[0] ? v->since_commit : "-", v->since_at);
        }
    }
    if (md) {
        int head = 0;
        for (size_t i = 0; i < vl->n; i++) {
            const verdict *v = &vl->v[i];
            if (!v->env_n) continue;
            int dup = 0;
            for (size_t k = 0; k < i && !dup; k++)
                dup = vl->v[k].result_id == v->result_id && vl->v[k].env_n;
            if (dup) continue;
            if (!head++) fprintf(out, "\n**What differed from the baseline's environment**\n\n");
            fprintf(out, "- `%s`:", v->series_key);
            for (size_t k = 0; k < v->env_n; k++) {
                const verdict_env *d = &vl->env[v->env_first + k];
                fprintf(out, "%s %s: %s → %s", k ? ";" : "", d->field, d->baseline, d->candidate);
            }
            fprintf(out, "\n");
        }
    }
    double alpha = ANALYZE_DEFAULT_ALPHA;
    for (size_t i = vl->n; i-- > 0;)
        if (!vl->v[i].slo[0]) alpha = vl->v[i].alpha;
    fprintf(out, "%s%zu regression(s), %zu improvement(s), %zu pass, %zu insufficient baseline "
                 "(threshold and test per row; p one-sided, alpha %.3g)\n",
            md ? "\n" : "", verdict_list_count(vl, V_REGRESSION),
            verdict_list_count(vl, V_IMPROVEMENT), verdict_list_count(vl, V_PASS),
            verdict_list_count(vl, V_INSUFFICIENT), alpha);
    if (f == FMT_GITHUB) print_github(vl, out);
}
