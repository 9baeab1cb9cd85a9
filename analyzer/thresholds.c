/* thresholds.c -- parsing and resolving `redbench.thresholds` lines: per
 * scenario/operation/metric settings and static SLO limits. */
#include "thresholds.h"

#include <ctype.h>
#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze.h"
#include "util.h"

#define TH_FILE_MAX (1u << 20)
#define TH_TOKENS 32
#define TH_VALUE_LEN 512

enum sel { SEL_SCENARIO, SEL_OP, SEL_METRIC, SEL_SERIES, SEL__MAX };
static const char *const sel_name[SEL__MAX] = {"scenario", "op", "metric", "series"};

typedef struct line {
    char *sel[SEL__MAX];        /* fnmatch patterns; NULL = any */
    int spec;                   /* number of selector terms */
    unsigned set;               /* bit per enum th_field */
    th_settings v;
    int is_slo;
    th_slo slo;
    char where[96];
} line;

struct thresholds {
    line *l;
    size_t n;
};

thresholds *thresholds_new(void)
{
    return xcalloc(1, sizeof(thresholds));
}

static void line_free(line *l)
{
    for (int s = 0; s < SEL__MAX; s++) free(l->sel[s]);
}

void thresholds_free(thresholds *t)
{
    if (!t) return;
    for (size_t i = 0; i < t->n; i++) line_free(&t->l[i]);
    free(t->l);
    free(t);
}

size_t thresholds_count(const thresholds *t)
{
    return t ? t->n : 0;
}

static void push(thresholds *t, const line *l)
{
    t->l = xrealloc(t->l, (t->n + 1) * sizeof *t->l);
    t->l[t->n] = *l;
    for (int s = 0; s < SEL__MAX; s++) t->l[t->n].sel[s] = l->sel[s] ? xstrdup(l->sel[s]) : NULL;
    t->n++;
}

void thresholds_append(thresholds *t, const thresholds *src)
{
    if (!src) return;
    for (size_t i = 0; i < src->n; i++) push(t, &src->l[i]);
}

/* ---- metric names ---- */

static const struct {
    const char *alias, *name;
} metric_alias[] = {
    {"ops", "ops_per_sec"}, {"ops/s", "ops_per_sec"}, {"throughput", "ops_per_sec"},
    {"p50", "p50_us"},      {"p99", "p99_us"},        {"error", "errors"},
};

/* The metric named s (or an alias); -1 if none. */
static int metric_lookup(const char *s)
{
    for (size_t i = 0; i < sizeof metric_alias / sizeof metric_alias[0]; i++)
        if (strcmp(s, metric_alias[i].alias) == 0) s = metric_alias[i].name;
    for (int m = 0; m < MET__MAX; m++)
        if (strcmp(s, metric_info[m].name) == 0) return m;
    return -1;
}

/* ---- parsing one line ---- */

typedef struct tok {
    char key[32];               /* "" for a bare word */
    char val[TH_VALUE_LEN];
} tok;

/* Splits s into tokens: bare words and key=value pairs, a value may be
 * "double-quoted" (no escapes). A '#' outside quotes starts a comment.
 * Returns the count, or -1 with err. */
static int tokenize(const char *s, tok *out, int max, char *err)
{
    int n = 0;
    for (;;) {
        while (*s == ' ' || *s == '\t' || *s == '\r') s++;
        if (!*s || *s == '#') return n;
        if (n == max) return rb_err(err, "more than %d words", max);
        tok *t = &out[n++];
        t->key[0] = t->val[0] = '\0';
        size_t k = 0;
        while (isalnum((unsigned char)s[k]) || s[k] == '_') k++;
        if (k > 0 && s[k] == '=') {
            if (k == 0 || k >= sizeof t->key) return rb_err(err, "bad key at '%.20s'", s);
            memcpy(t->key, s, k);
            t->key[k] = '\0';
            s += k + 1;
        }
        size_t v;
        if (*s == '"') {
            const char *q = strchr(s + 1, '"');
            if (!q) return rb_err(err, "unterminated quote");
            v = (size_t)(q - s - 1);
            if (v >= sizeof t->val) return rb_err(err, "value too long");
            memcpy(t->val, s + 1, v);
            t->val[v] = '\0';
            s = q + 1;
            if (*s && *s != ' ' && *s != '\t' && *s != '\r' && *s != '#')
                return rb_err(err, "text after a closing quote");
        } else {
            v = strcspn(s, " \t\r#");
            if (v >= sizeof t->val) return rb_err(err, "value too long");
            memcpy(t->val, s, v);
            t->val[v] = '\0';
            s += v;
        }
        if (t->key[0] && !t->val[0]) return rb_err(err, "%s= without a value", t->key);
    }
}

static int parse_double(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || !isfinite(v)) return -1;
    *out = v;
    return (int)(end - s);
}

/* "20%" or "0.2". */
static int parse_threshold(const char *s, double *out, char *err)
{
    double v;
    int n = parse_double(s, &v);
    if (n < 0) return rb_err(err, "threshold=%s: want a number such as 0.1 or 10%%", s);
    if (s[n] == '%' && !s[n + 1])
        v /= 100;
    else if (s[n])
        return rb_err(err, "threshold=%s: want a number such as 0.1 or 10%%", s);
    if (!(v >= 0 && v < 100)) return rb_err(err, "threshold=%s: out of range", s);
    *out = v;
    return 0;
}

static int parse_setting(line *l, const tok *t, char *err)
{
    double v;
    int n;
    if (strcmp(t->key, "threshold") == 0) {
        if (parse_threshold(t->val, &l->v.threshold, err) < 0) return -1;
        l->set |= 1u << TH_THRESHOLD;
    } else if (strcmp(t->key, "rule") == 0) {
        int r = strcmp(t->val, "off") == 0 ? TH_RULE_OFF : rule_find(t->val);
        if (r == -1 && strcmp(t->val, "off") != 0) {
            char names[160] = "";
            for (int i = 0; i < RULE__MAX; i++)
                snprintf(names + strlen(names), sizeof names - strlen(names), "%s, ", rule_name[i]);
            return rb_err(err, "rule=%s: unknown rule (%soff)", t->val, names);
        }
        l->v.rule = r;
        l->set |= 1u << TH_RULE;
    } else if (strcmp(t->key, "alpha") == 0) {
        n = parse_double(t->val, &v);
        if (n < 0 || t->val[n] || !(v > 0 && v < 1))
            return rb_err(err, "alpha=%s: want a number in (0, 1)", t->val);
        l->v.alpha = v;
        l->set |= 1u << TH_ALPHA;
    } else if (strcmp(t->key, "limit") == 0) {
        n = parse_double(t->val, &v);
        if (n < 0 || t->val[n] || !(v > 0)) return rb_err(err, "limit=%s: want a positive number", t->val);
        l->v.limit = v;
        l->set |= 1u << TH_LIMIT;
    } else if (strcmp(t->key, "min_runs") == 0) {
        n = parse_double(t->val, &v);
        if (n < 0 || t->val[n] || v != floor(v) || v < 1 || v > 1000)
            return rb_err(err, "min_runs=%s: want a whole number 1..1000", t->val);
        l->v.min_baseline_runs = (int)v;
        l->set |= 1u << TH_MIN_RUNS;
    } else {
        return rb_err(err, "unknown setting '%s' (threshold, rule, alpha, limit, min_runs)", t->key);
    }
    return 0;
}

/* "METRIC CMP VALUE[UNIT]", spaces optional: fills l->slo. */
static int parse_slo(line *l, const char *expr, char *err)
{
    const char *p = expr;
    while (*p == ' ') p++;
    size_t mlen = strcspn(p, " <>=");
    char mname[32];
    if (mlen == 0 || mlen >= sizeof mname) return rb_err(err, "slo: want METRIC < VALUE, e.g. p99_us < 5ms");
    memcpy(mname, p, mlen);
    mname[mlen] = '\0';
    int m = metric_lookup(mname);
    if (m < 0) return rb_err(err, "slo: unknown metric '%s'", mname);
    p += mlen;
    while (*p == ' ') p++;
    enum slo_cmp c;
    if (p[0] == '<' && p[1] == '=') c = SLO_LE, p += 2;
    else if (p[0] == '>' && p[1] == '=') c = SLO_GE, p += 2;
    else if (p[0] == '<') c = SLO_LT, p += 1;
    else if (p[0] == '>') c = SLO_GT, p += 1;
    else return rb_err(err, "slo: want <, <=, > or >= after %s", mname);
    while (*p == ' ') p++;
    double v;
    int n = parse_double(p, &v);
    if (n < 0) return rb_err(err, "slo: want a number after the comparison");
    const char *unit = p + n;
    while (*unit == ' ') unit++;
    size_t ul = strlen(unit);
    while (ul && unit[ul - 1] == ' ') ul--;
    const char *name = metric_info[m].name;
    int is_us = strlen(name) > 3 && strcmp(name + strlen(name) - 3, "_us") == 0;
    double mult = -1;
    if (ul == 0) mult = 1;
    else if (is_us && ul == 2 && !strncmp(unit, "us", 2)) mult = 1;
    else if (is_us && ul == 3 && !strncmp(unit, "µs", 3)) mult = 1;
    else if (is_us && ul == 2 && !strncmp(unit, "ms", 2)) mult = 1e3;
    else if (is_us && ul == 1 && unit[0] == 's') mult = 1e6;
    else if (m == MET_OPS && ul == 1 && unit[0] == 'k') mult = 1e3;
    else if (m == MET_OPS && ul == 1 && unit[0] == 'M') mult = 1e6;
    if (mult < 0)
        return rb_err(err, "slo: unit '%.*s' does not fit %s (%s)", (int)ul, unit, name,
                      is_us ? "us, ms or s" : m == MET_OPS ? "k or M" : "a plain number");
    snprintf(l->slo.metric, sizeof l->slo.metric, "%s", name);
    l->slo.cmp = c;
    l->slo.limit = v * mult;
    static const char *const cs[] = {"<", "<=", ">", ">="};
    snprintf(l->slo.text, sizeof l->slo.text, "%s %s %.15g", name, cs[c], l->slo.limit);
    l->is_slo = 1;
    return 0;
}

static int parse_line(const char *s, line *l, char *err)
{
    tok t[TH_TOKENS];
    int n = tokenize(s, t, TH_TOKENS, err);
    if (n <= 0) return n;
    memset(&l->v, 0, sizeof l->v);
    int i = 0, star = 0;
    for (; i < n; i++) {
        int sel = -1;
        for (int k = 0; k < SEL__MAX; k++)
            if (strcmp(t[i].key, sel_name[k]) == 0) sel = k;
        if (sel < 0) {
            if (!t[i].key[0] && strcmp(t[i].val, "*") == 0) {
                star = 1;
                continue;
            }
            break;
        }
        if (l->sel[sel]) return rb_err(err, "%s= given twice", sel_name[sel]);
        if (sel == SEL_METRIC) {
            int m = metric_lookup(t[i].val);
            int any = m >= 0;
            for (int k = 0; k < MET__MAX && !any; k++)
                any = fnmatch(t[i].val, metric_info[k].name, 0) == 0;
            if (!any) return rb_err(err, "metric=%s: no such metric", t[i].val);
            l->sel[sel] = xstrdup(m >= 0 ? metric_info[m].name : t[i].val);
        } else {
            l->sel[sel] = xstrdup(t[i].val);
        }
        l->spec++;
    }
    if (star && l->spec) return rb_err(err, "'*' together with selectors");
    if (i == n) return rb_err(err, "a selector without settings");
    if (!t[i].key[0] && strcmp(t[i].val, "slo") == 0) {
        if (l->sel[SEL_METRIC]) return rb_err(err, "slo: the metric goes in the limit, not in metric=");
        i++;
        /* Selectors may follow "slo" too: "slo op=set ops_per_sec > 50k". */
        for (; i < n && t[i].key[0]; i++) {
            int sel = -1;
            for (int k = 0; k < SEL__MAX; k++)
                if (strcmp(t[i].key, sel_name[k]) == 0) sel = k;
            if (sel < 0) return rb_err(err, "slo: unexpected %s=%s", t[i].key, t[i].val);
            if (sel == SEL_METRIC) return rb_err(err, "slo: the metric goes in the limit, not in metric=");
            if (l->sel[sel]) return rb_err(err, "%s= given twice", sel_name[sel]);
            if (star) return rb_err(err, "'*' together with selectors");
            l->sel[sel] = xstrdup(t[i].val);
            l->spec++;
        }
        /* An optional bare operation name first: "slo get p99_us < 5ms". */
        if (i + 1 < n && !t[i].key[0] && strcspn(t[i].val, "<>=") == strlen(t[i].val) &&
            t[i + 1].val[0] != '<' && t[i + 1].val[0] != '>' && t[i + 1].val[0] != '=') {
            if (l->sel[SEL_OP]) return rb_err(err, "slo: operation given twice");
            l->sel[SEL_OP] = xstrdup(t[i].val);
            l->spec++;
            i++;
        }
        char expr[TH_VALUE_LEN] = "";
        for (; i < n; i++) {
            if (t[i].key[0]) return rb_err(err, "slo: unexpected %s=%s", t[i].key, t[i].val);
            snprintf(expr + strlen(expr), sizeof expr - strlen(expr), "%s%s", expr[0] ? " " : "",
                     t[i].val);
        }
        return parse_slo(l, expr, err) < 0 ? -1 : 1;
    }
    for (; i < n; i++) {
        if (!t[i].key[0]) {
            if (strcmp(t[i].val, "slo") == 0) return rb_err(err, "slo must come right after the selector");
            return rb_err(err, "'%s': want KEY=VALUE", t[i].val);
        }
        for (int k = 0; k < SEL__MAX; k++)
            if (strcmp(t[i].key, sel_name[k]) == 0)
                return rb_err(err, "%s= after a setting: selectors come first", t[i].key);
        if (parse_setting(l, &t[i], err) < 0) return -1;
    }
    return 1;
}

int thresholds_parse(thresholds *t, const char *text, const char *source, char *err)
{
    size_t n0 = t->n;
    int lineno = 0;
    const char *p = text;
    while (*p) {
        lineno++;
        size_t len = strcspn(p, "\n");
        char *s = xstrndup(p, len);
        line l;
        memset(&l, 0, sizeof l);
        char lerr[RB_ERR_LEN];
        int rc = parse_line(s, &l, lerr);
        free(s);
        if (rc < 0) {
            line_free(&l);
            for (size_t i = n0; i < t->n; i++) line_free(&t->l[i]);
            t->n = n0;
            return rb_err(err, "%s:%d: %s", source, lineno, lerr);
        }
        if (rc > 0) {
            snprintf(l.where, sizeof l.where, "%s:%d", source, lineno);
            snprintf(l.slo.where, sizeof l.slo.where, "%s", l.where);
            push(t, &l);
        }
        line_free(&l);
        p += len;
        if (*p == '\n') p++;
    }
    return 0;
}

int thresholds_load_file(thresholds *t, const char *path, char *err)
{
    char *text = read_file(path, TH_FILE_MAX, NULL, err);
    if (!text) return -1;
    int rc = thresholds_parse(t, text, path, err);
    free(text);
    return rc;
}

int thresholds_load_db(thresholds *t, sqlite3 *db, const char *project, char *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db,
                                "SELECT id, selector, settings FROM thresholds "
                                "WHERE project = '*' OR project = ?1 "
                                "ORDER BY project <> '*', id",
                                -1, &st, NULL);
    if (rc != SQLITE_OK) {
        /* Not migrated yet (a read-only open of an older warehouse): no lines. */
        if (strstr(sqlite3_errmsg(db), "no such table")) return 0;
        return rb_err(err, "sqlite: %s", sqlite3_errmsg(db));
    }
    sqlite3_bind_text(st, 1, project, -1, SQLITE_TRANSIENT);
    int ret = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *sel = (const char *)sqlite3_column_text(st, 1);
        const char *set = (const char *)sqlite3_column_text(st, 2);
        char src[64];
        snprintf(src, sizeof src, "warehouse thresholds id %lld", (long long)sqlite3_column_int64(st, 0));
        buf b;
        buf_init(&b, 8192);
        buf_printf(&b, "%s %s", sel ? sel : "", set ? set : "");
        if (b.toobig || strchr(b.data, '\n')) {
            buf_cleanup(&b);
            ret = rb_err(err, "%s: too long or spans lines", src);
            break;
        }
        ret = thresholds_parse(t, b.data, src, err);
        buf_cleanup(&b);
        if (ret < 0) break;
    }
    if (ret == 0 && rc != SQLITE_DONE) ret = rb_err(err, "sqlite: %s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return ret;
}

/* ---- matching ---- */

static int sel_match(const char *pat, const char *s)
{
    return !pat || (s && fnmatch(pat, s, 0) == 0);
}

static int line_matches(const line *l, const th_subject *subj, int use_metric)
{
    return sel_match(l->sel[SEL_SCENARIO], subj->scenario) && sel_match(l->sel[SEL_OP], subj->op) &&
           sel_match(l->sel[SEL_SERIES], subj->series_key) &&
           (!use_metric || sel_match(l->sel[SEL_METRIC], subj->metric));
}

void thresholds_resolve(const thresholds *t, const th_subject *subj, th_settings *s)
{
    for (int f = 0; f < TH__MAX; f++) s->spec[f] = -1;
    if (!t) return;
    for (size_t i = 0; i < t->n; i++) {
        const line *l = &t->l[i];
        if (l->is_slo || !line_matches(l, subj, 1)) continue;
        for (int f = 0; f < TH__MAX; f++) {
            if (!(l->set & (1u << f)) || l->spec < s->spec[f]) continue;
            s->spec[f] = l->spec;
            switch (f) {
            case TH_RULE: s->rule = l->v.rule; break;
            case TH_THRESHOLD: s->threshold = l->v.threshold; break;
            case TH_ALPHA: s->alpha = l->v.alpha; break;
            case TH_LIMIT: s->limit = l->v.limit; break;
            case TH_MIN_RUNS: s->min_baseline_runs = l->v.min_baseline_runs; break;
            default: break;
            }
        }
    }
}

const th_slo *thresholds_next_slo(const thresholds *t, const th_subject *subj, size_t *iter)
{
    if (!t) return NULL;
    for (; *iter < t->n; (*iter)++) {
        const line *l = &t->l[*iter];
        if (l->is_slo && line_matches(l, subj, 0)) {
            (*iter)++;
            return &l->slo;
        }
    }
    return NULL;
}

int th_slo_met(const th_slo *s, double value)
{
    switch (s->cmp) {
    case SLO_LT: return value < s->limit;
    case SLO_LE: return value <= s->limit;
    case SLO_GT: return value > s->limit;
    case SLO_GE: return value >= s->limit;
    }
    return 0;
}
