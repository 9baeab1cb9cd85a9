/* changepoint.c -- E-Divisive-means change points: the energy statistic in
 * O(n log n) with Fenwick trees, bisection tested by Student's t or by
 * permutations, Hunter's merge step, series parsing, and the change_points
 * table of the warehouse. docs/changepoints.md has the why. */
#include "changepoint.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "analyze.h"
#include "model.h"
#include "stats.h"
#include "store.h"
#include "util.h"

void cp_opts_default(cp_opts *o)
{
    memset(o, 0, sizeof *o);
    o->alpha = CP_DEFAULT_ALPHA;
    o->min_segment = CP_DEFAULT_MIN_SEGMENT;
    o->seed = CP_DEFAULT_SEED;
}

/* ---- The energy statistic ----
 *
 * For a segment v[0..L-1] and a split t (left v[0..t-1], right v[t..L-1]):
 *   wpre[t] = sum over pairs i < k < t of |v_i - v_k|   (within the left part)
 *   wsuf[t] = sum over pairs t <= i < k of |v_i - v_k|  (within the right part)
 *   cross   = wpre[L] - wpre[t] - wsuf[t]               (left-right pairs)
 *   Q(t) = 2 cross / L - 2 (L-t) wpre[t] / (L (t-1)) - 2 t wsuf[t] / (L (L-t-1))
 * which is Matteson & James's (|X||Y|/(|X|+|Y|)) * E-hat with alpha = 1.
 * Adding v_k to a set changes its within-sum by v_k * (#smaller) - (sum of the
 * smaller) + (sum of the larger) - v_k * (#larger): a Fenwick tree over the
 * ranks of the values gives those counts and sums in O(log L), so all of wpre
 * and wsuf cost O(L log L) instead of the O(L^2) distance matrix. */

typedef struct ranked {
    double v;
    size_t i;
} ranked;

typedef struct energy_ws {
    size_t cap;
    double *v, *pv;       /* values; a shuffled copy for permutations */
    size_t *rank, *pr;    /* distinct 0-based ranks of v; of pv */
    size_t *bit_n;        /* Fenwick trees (1-based) of counts and sums by rank */
    double *bit_s;
    double *wpre, *wsuf;  /* L + 1 each */
    ranked *sort;
} energy_ws;

static void ws_init(energy_ws *w, size_t cap)
{
    w->cap = cap;
    size_t c = cap + 1;
    w->v = xmalloc(c * sizeof *w->v);
    w->pv = xmalloc(c * sizeof *w->pv);
    w->rank = xmalloc(c * sizeof *w->rank);
    w->pr = xmalloc(c * sizeof *w->pr);
    w->bit_n = xmalloc(c * sizeof *w->bit_n);
    w->bit_s = xmalloc(c * sizeof *w->bit_s);
    w->wpre = xmalloc(c * sizeof *w->wpre);
    w->wsuf = xmalloc(c * sizeof *w->wsuf);
    w->sort = xmalloc(c * sizeof *w->sort);
}

static void ws_cleanup(energy_ws *w)
{
    free(w->v);
    free(w->pv);
    free(w->rank);
    free(w->pr);
    free(w->bit_n);
    free(w->bit_s);
    free(w->wpre);
    free(w->wsuf);
    free(w->sort);
}

static int cmp_ranked(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->v != y->v) return x->v < y->v ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* Ranks w->v[0..L-1] into w->rank (ties broken by position: a tie adds 0 to
 * any within-sum whichever side it is counted on). */
static void set_ranks(energy_ws *w, size_t L)
{
    for (size_t i = 0; i < L; i++) w->sort[i] = (ranked){w->v[i], i};
    qsort(w->sort, L, sizeof *w->sort, cmp_ranked);
    for (size_t k = 0; k < L; k++) w->rank[w->sort[k].i] = k;
}

/* Adds value v_k (rank r) to the set in the Fenwick trees and returns the sum
 * of |v_k - v_j| over the `have` values already there, whose sum is total. */
static double bit_add(energy_ws *w, size_t L, size_t r, double vk, size_t have, double total)
{
    size_t cl = 0;
    double sl = 0;
    for (size_t p = r; p > 0; p -= p & -p) { /* ranks 0..r-1 live at 1..r */
        cl += w->bit_n[p];
        sl += w->bit_s[p];
    }
    for (size_t p = r + 1; p <= L; p += p & -p) {
        w->bit_n[p]++;
        w->bit_s[p] += vk;
    }
    return (vk * (double)cl - sl) + ((total - sl) - vk * (double)(have - cl));
}

static void within_sums(energy_ws *w, const double *v, const size_t *rank, size_t L)
{
    double total = 0;
    memset(w->bit_n, 0, (L + 1) * sizeof *w->bit_n);
    memset(w->bit_s, 0, (L + 1) * sizeof *w->bit_s);
    w->wpre[0] = 0;
    for (size_t k = 0; k < L; k++) {
        w->wpre[k + 1] = w->wpre[k] + bit_add(w, L, rank[k], v[k], k, total);
        total += v[k];
    }
    total = 0;
    memset(w->bit_n, 0, (L + 1) * sizeof *w->bit_n);
    memset(w->bit_s, 0, (L + 1) * sizeof *w->bit_s);
    w->wsuf[L] = 0;
    for (size_t k = L; k-- > 0;) {
        w->wsuf[k] = w->wsuf[k + 1] + bit_add(w, L, rank[k], v[k], L - 1 - k, total);
        total += v[k];
    }
}

static double q_at(const energy_ws *w, size_t L, size_t t)
{
    double n = (double)t, m = (double)(L - t), len = (double)L;
    double cross = w->wpre[L] - w->wpre[t] - w->wsuf[t];
    double q = 2 * cross / len;
    if (t > 1) q -= 2 * m * w->wpre[t] / (len * (n - 1));
    if (L - t > 1) q -= 2 * n * w->wsuf[t] / (len * (m - 1));
    return q;
}

/* The split t in [minseg, L - minseg] with the largest Q (the first of equals);
 * returns that Q, -INFINITY if there is no such t. */
static double best_split(energy_ws *w, const double *v, const size_t *rank, size_t L,
                         size_t minseg, size_t *t_out)
{
    double best = -INFINITY;
    *t_out = 0;
    if (L < 2 * minseg) return best;
    within_sums(w, v, rank, L);
    for (size_t t = minseg; t <= L - minseg; t++) {
        double q = q_at(w, L, t);
        if (q > best) {
            best = q;
            *t_out = t;
        }
    }
    return best;
}

void cp_energy(const double *x, size_t n, double *q)
{
    if (n == 0) {
        q[0] = 0;
        return;
    }
    energy_ws w;
    ws_init(&w, n);
    memcpy(w.v, x, n * sizeof *x);
    set_ranks(&w, n);
    within_sums(&w, w.v, w.rank, n);
    q[0] = q[n] = 0;
    for (size_t t = 1; t < n; t++) q[t] = q_at(&w, n, t);
    ws_cleanup(&w);
}

/* ---- Detection ---- */

typedef struct cpctx {
    const cp_opts *o;
    const double *x;      /* the values without the missing ones */
    size_t m;
    energy_ws ws;
    cp_point *cp;         /* found so far; index = position in x */
    size_t n_cp, cap_cp;
} cpctx;

/* Mean and sample standard deviation of x[a..b-1], computed relative to x[a] so
 * that a constant stretch has exactly its value as mean and 0 as deviation. */
static void seg_stats(const double *x, size_t a, size_t b, double *mean, double *sd)
{
    double ref = x[a], s = 0, ss = 0;
    size_t n = b - a;
    for (size_t i = a; i < b; i++) s += x[i] - ref;
    double d = s / (double)n;
    for (size_t i = a; i < b; i++) ss += (x[i] - ref - d) * (x[i] - ref - d);
    *mean = ref + d;
    *sd = n > 1 ? sqrt(ss / (double)(n - 1)) : 0;
}

/* Student's two-sample t-test with pooled variance (as Hunter and Otava do;
 * scipy's ttest_ind): the two-sided p-value from two samples' means, sample
 * standard deviations and sizes. Both sides constant: 0 if they differ, else 1. */
static double ttest_p(double m1, double s1, size_t n1, double m2, double s2, size_t n2)
{
    if (n1 + n2 <= 2) return 1;
    double df = (double)(n1 + n2 - 2);
    double sp2 = ((double)(n1 - 1) * s1 * s1 + (double)(n2 - 1) * s2 * s2) / df;
    double se = sqrt(sp2 * (1.0 / (double)n1 + 1.0 / (double)n2));
    if (!(se > 0)) return m1 == m2 ? 1 : 0;
    double t = (m2 - m1) / se;
    double p = 2 * stats_t_cdf(-fabs(t), df);
    return p > 1 ? 1 : p;
}

/* The t-test's p-value for a split chosen among the L - 2 min_segment + 1
 * admissible ones of a segment of L values, times that count (Bonferroni: the
 * chance that any of them looks this different by luck), capped at 1. */
static double corrected(const cp_opts *o, double p, size_t L)
{
    if (o->no_correction || L < 2 * o->min_segment) return p;
    p *= (double)(L - 2 * o->min_segment + 1);
    return p < 1 ? p : 1;
}

static double split_p(const cp_opts *o, const double *x, size_t a, size_t t, size_t b)
{
    double m1, s1, m2, s2;
    seg_stats(x, a, t, &m1, &s1);
    seg_stats(x, t, b, &m2, &s2);
    return corrected(o, ttest_p(m1, s1, t - a, m2, s2, b - t), b - a);
}

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Permutation p-value of the segment's best Q (ws.v/ws.rank hold it): the share
 * of shuffles, counting the observed order, whose best Q is at least as large.
 * Stops as soon as the answer is known to exceed alpha. The shuffles depend on
 * the seed and the segment's bounds only, not on the order segments are seen. */
static double perm_p(cpctx *c, size_t a, size_t b, double observed)
{
    energy_ws *w = &c->ws;
    size_t L = b - a, t;
    unsigned n = c->o->permutations;
    uint64_t rng = c->o->seed ^ ((uint64_t)a * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)b << 32);
    double limit = c->o->alpha * (n + 1.0), tol = 1e-9 * fabs(observed);
    unsigned hits = 0, done;
    memcpy(w->pv, w->v, L * sizeof *w->pv);
    memcpy(w->pr, w->rank, L * sizeof *w->pr);
    for (done = 0; done < n; done++) {
        for (size_t i = L - 1; i > 0; i--) {
            size_t j = (size_t)(splitmix64(&rng) % (i + 1));
            double tv = w->pv[i];
            size_t tr = w->pr[i];
            w->pv[i] = w->pv[j];
            w->pr[i] = w->pr[j];
            w->pv[j] = tv;
            w->pr[j] = tr;
        }
        if (best_split(w, w->pv, w->pr, L, c->o->min_segment, &t) >= observed - tol &&
            ++hits + 1.0 > limit)
            return (hits + 1.0) / (n + 1.0); /* already above alpha */
    }
    return (hits + 1.0) / (n + 1.0);
}

static void add_cp(cpctx *c, size_t idx, double q, double p)
{
    if (c->n_cp == c->cap_cp) {
        c->cap_cp = c->cap_cp ? 2 * c->cap_cp : 16;
        c->cp = xrealloc(c->cp, c->cap_cp * sizeof *c->cp);
    }
    cp_point *pt = &c->cp[c->n_cp++];
    memset(pt, 0, sizeof *pt);
    pt->index = idx;
    pt->qhat = q;
    pt->p_value = p;
}

/* Binary segmentation of x[a..b-1]: split each segment at its best Q while the
 * split is significant at alpha, then both halves again. */
static void bisect(cpctx *c, size_t a, size_t b, double alpha)
{
    size_t minseg = c->o->min_segment, *stack = xmalloc(2 * 16 * sizeof *stack), top = 0,
           cap = 16;
    stack[top++] = a;
    stack[top++] = b;
    while (top) {
        b = stack[--top];
        a = stack[--top];
        size_t L = b - a, t;
        if (L < 2 * minseg) continue;
        double mean, sd;
        seg_stats(c->x, a, b, &mean, &sd);
        if (!(sd > 0)) continue; /* constant: nothing to split */
        /* Q scales with the data: standardized values keep the sums small and
         * the split the same. */
        for (size_t i = 0; i < L; i++) c->ws.v[i] = (c->x[a + i] - mean) / sd;
        set_ranks(&c->ws, L);
        double q = best_split(&c->ws, c->ws.v, c->ws.rank, L, minseg, &t);
        if (!(q > 0)) continue;
        double p = c->o->permutations ? perm_p(c, a, b, q) : split_p(c->o, c->x, a, a + t, b);
        if (p > alpha) continue;
        add_cp(c, a + t, q * sd, p);
        if (top + 4 > 2 * cap) {
            cap *= 2;
            stack = xrealloc(stack, 2 * cap * sizeof *stack);
        }
        stack[top++] = a;
        stack[top++] = a + t;
        stack[top++] = a + t;
        stack[top++] = b;
    }
    free(stack);
}

static int cmp_cp(const void *a, const void *b)
{
    const cp_point *x = a, *y = b;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Means, deviations and (t-test mode) the p-value of change point i against
 * its neighbours. */
static void cp_restat(cpctx *c, size_t i)
{
    cp_point *p = &c->cp[i];
    size_t a = i ? c->cp[i - 1].index : 0, b = i + 1 < c->n_cp ? c->cp[i + 1].index : c->m;
    seg_stats(c->x, a, p->index, &p->mean_before, &p->sd_before);
    seg_stats(c->x, p->index, b, &p->mean_after, &p->sd_after);
    p->n_before = p->index - a;
    p->n_after = b - p->index;
    p->change = p->mean_before != 0 ? p->mean_after / p->mean_before - 1 : NAN;
    if (!c->o->permutations)
        p->p_value = corrected(c->o, ttest_p(p->mean_before, p->sd_before, p->n_before,
                                             p->mean_after, p->sd_after, p->n_after),
                               b - a);
}

static double magnitude(const cp_point *p)
{
    return isnan(p->change) ? INFINITY : fabs(p->change);
}

/* Hunter's merge step: while the weakest change point (largest p-value) is not
 * significant, or the smallest change is below min_change, remove it and
 * re-test its two neighbours, whose segments just grew. */
static void merge(cpctx *c)
{
    for (size_t i = 0; i < c->n_cp; i++) cp_restat(c, i);
    while (c->n_cp) {
        size_t w = 0;
        for (size_t i = 1; i < c->n_cp; i++)
            if (c->cp[i].p_value > c->cp[w].p_value) w = i;
        if (c->cp[w].p_value <= c->o->alpha) {
            if (!(c->o->min_change > 0)) break;
            w = 0;
            for (size_t i = 1; i < c->n_cp; i++)
                if (magnitude(&c->cp[i]) < magnitude(&c->cp[w])) w = i;
            if (magnitude(&c->cp[w]) >= c->o->min_change) break;
        }
        memmove(&c->cp[w], &c->cp[w + 1], (c->n_cp - w - 1) * sizeof *c->cp);
        c->n_cp--;
        if (w > 0) cp_restat(c, w - 1);
        if (w < c->n_cp) cp_restat(c, w);
    }
}

static int check_opts(const cp_opts *o, char *err)
{
    if (!(o->alpha > 0 && o->alpha < 1)) return rb_err(err, "alpha must be in (0, 1)");
    if (o->min_segment < 1) return rb_err(err, "min_segment must be at least 1");
    if (o->permutations > CP_MAX_PERMUTATIONS)
        return rb_err(err, "permutations must be at most %d", CP_MAX_PERMUTATIONS);
    if (o->permutations && o->alpha * (o->permutations + 1.0) < 1)
        return rb_err(err, "with %u permutations the smallest p-value is 1/%u: alpha %g can never be reached",
                      o->permutations, o->permutations + 1, o->alpha);
    if (o->window && o->window < 2 * o->min_segment)
        return rb_err(err, "window must be at least 2 * min_segment (%zu)", 2 * o->min_segment);
    if (!(o->min_change >= 0)) return rb_err(err, "min_change must be >= 0");
    return 0;
}

int cp_detect(const double *x, size_t n, const cp_opts *o, cp_point *out, size_t max_out,
              char *err)
{
    if (check_opts(o, err) < 0) return -1;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) m += isfinite(x[i]) != 0;
    if (m < 2 * o->min_segment) return 0;

    double *v = xmalloc(m * sizeof *v);
    size_t *pos = xmalloc(m * sizeof *pos);
    for (size_t i = 0, k = 0; i < n; i++)
        if (isfinite(x[i])) {
            v[k] = x[i];
            pos[k++] = i;
        }
    cpctx c = {.o = o, .x = v, .m = m};
    ws_init(&c.ws, m);

    /* Hunter splits at a relaxed level, then merges at alpha: a change point
     * tested inside a long segment that still holds another shift may look
     * weaker than it is once its neighbours are known. */
    double a1 = o->permutations ? o->alpha
              : o->alpha < 0.05 ? o->alpha * 10
              : o->alpha < 0.5  ? o->alpha * 2
                                : o->alpha;
    if (!o->window) {
        bisect(&c, 0, m, a1);
    } else {
        size_t start = 0, step = o->window / 2;
        while (start < m) {
            size_t end = start + o->window < m ? start + o->window : m, before = c.n_cp, last = 0;
            bisect(&c, start, end, a1);
            for (size_t i = before; i < c.n_cp; i++)
                if (c.cp[i].index > last) last = c.cp[i].index;
            start = last > start + step ? last : start + step;
        }
    }
    if (c.n_cp) qsort(c.cp, c.n_cp, sizeof *c.cp, cmp_cp);
    /* Overlapping windows may find a point twice, or two closer than
     * min_segment: keep the first. */
    size_t k = 0;
    for (size_t i = 0; i < c.n_cp; i++)
        if (k == 0 || c.cp[i].index >= c.cp[k - 1].index + o->min_segment) c.cp[k++] = c.cp[i];
    c.n_cp = k;
    merge(&c);

    for (size_t i = 0; i < c.n_cp && i < max_out; i++) {
        out[i] = c.cp[i];
        out[i].index = pos[c.cp[i].index];
    }
    int found = (int)c.n_cp;
    ws_cleanup(&c.ws);
    free(c.cp);
    free(v);
    free(pos);
    return found;
}

/* ---- Parsing a series ---- */

static size_t line_of(const char *text, size_t off)
{
    size_t line = 1;
    for (size_t i = 0; i < off; i++) line += text[i] == '\n';
    return line;
}

/* text[start..len-1] holds the JSON; line numbers count from text. */
static int parse_json(const char *text, size_t start, size_t len, double **out, size_t *n,
                      char *err)
{
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(text + start, len - start, &end, 0);
    if (!j) {
        size_t off = end && end >= text && end <= text + len ? (size_t)(end - text) : start;
        return rb_err(err, "line %zu: malformed JSON", line_of(text, off));
    }
    size_t off = (size_t)(end - text);
    while (off < len && isspace((unsigned char)text[off])) off++;
    if (off < len) {
        cJSON_Delete(j);
        return rb_err(err, "line %zu: unexpected text after the JSON array", line_of(text, off));
    }
    if (!cJSON_IsArray(j)) {
        cJSON_Delete(j);
        return rb_err(err, "line %zu: JSON input must be an array of numbers and nulls",
                      line_of(text, start));
    }
    size_t cnt = (size_t)cJSON_GetArraySize(j), i = 0;
    double *v = xmalloc((cnt ? cnt : 1) * sizeof *v);
    const cJSON *e;
    cJSON_ArrayForEach(e, j) {
        if (cJSON_IsNull(e)) {
            v[i++] = NAN;
        } else if (cJSON_IsNumber(e) && isfinite(e->valuedouble)) {
            v[i++] = e->valuedouble;
        } else {
            rb_err(err, "element %zu (0-based) of the JSON array: want a finite number or null", i);
            free(v);
            cJSON_Delete(j);
            return -1;
        }
    }
    cJSON_Delete(j);
    *out = v;
    *n = i;
    return 0;
}

static int is_missing_word(const char *s)
{
    return !*s || !strcasecmp(s, "nan") || !strcasecmp(s, "null") || !strcasecmp(s, "na") ||
           !strcasecmp(s, "-nan");
}

static int parse_lines(const char *text, size_t len, double **out, size_t *n, char *err)
{
    size_t cap = 1024, cnt = 0, line = 0, content_lines = 0;
    double *v = xmalloc(cap * sizeof *v);
    char tok[128];
    for (size_t off = 0; off < len;) {
        const char *s = text + off, *nl = memchr(s, '\n', len - off);
        size_t l = nl ? (size_t)(nl - s) : len - off;
        off += l + 1;
        line++;
        while (l && isspace((unsigned char)s[l - 1])) l--;
        while (l && isspace((unsigned char)*s)) s++, l--;
        if (line == 1 && l >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3)) s += 3, l -= 3; /* BOM */
        if (!l) continue;
        content_lines++;
        if (memchr(s, ',', l) || memchr(s, '\t', l) || memchr(s, ';', l)) {
            rb_err(err, "line %zu: want one column, found several", line);
            goto fail;
        }
        if (l >= 2 && s[0] == '"' && s[l - 1] == '"') s++, l -= 2;
        if (l >= sizeof tok) {
            if (content_lines == 1) continue; /* a long header */
            rb_err(err, "line %zu: not a number: \"%.40s...\"", line, s);
            goto fail;
        }
        memcpy(tok, s, l);
        tok[l] = 0;
        double x;
        if (is_missing_word(tok)) {
            x = NAN;
        } else {
            char *e;
            x = strtod(tok, &e);
            if (e == tok && content_lines == 1) continue; /* header */
            if (e == tok || *e) {
                rb_err(err, "line %zu: not a number: \"%s\"", line, tok);
                goto fail;
            }
            if (isinf(x)) {
                rb_err(err, "line %zu: not a finite number: \"%s\"", line, tok);
                goto fail;
            }
        }
        if (cnt == cap) v = xrealloc(v, (cap *= 2) * sizeof *v);
        v[cnt++] = x;
    }
    *out = v;
    *n = cnt;
    return 0;
fail:
    free(v);
    return -1;
}

int cp_parse_series(const char *text, size_t len, double **out, size_t *n, char *err)
{
    size_t i = 0;
    if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) i = 3;
    while (i < len && isspace((unsigned char)text[i])) i++;
    if (i < len && (text[i] == '[' || text[i] == '{')) return parse_json(text, i, len, out, n, err);
    return parse_lines(text, len, out, n, err);
}

/* ---- The warehouse ---- */

/* Per run of the series on the branch, newest first: the means of the
 * result's per-iteration samples (NULL, so NaN, if it has none). */
/* Per run of the series: the result's own summary (ops/s is the mean of its
 * iterations; p50/p99 come from its merged histogram), so that no sample rows
 * are read: this runs for every series of every ingested run. */
static const char HISTORY_SQL[] =
    "SELECT r.id, r.commit_sha, r.started_at, res.ops_per_sec, res.p50_us, res.p99_us"
    " FROM results res JOIN runs r ON r.id = res.run_id"
    " WHERE res.series_key = ?1 AND r.project = ?2 AND r.branch = ?3"
    "   AND res.status IN ('ok', 'partial')"
    " ORDER BY r.started_at DESC, r.id DESC LIMIT ?4";

typedef struct hist_run {
    char *id, *commit, *started;
} hist_run;

typedef struct kept {
    char *metric, *run_id, *detected_at;
} kept;

static double col_num(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

static void bind_num(sqlite3_stmt *st, int i, double x)
{
    if (isfinite(x))
        sqlite3_bind_double(st, i, x);
    else
        sqlite3_bind_null(st, i);
}

int cp_refresh_series(sqlite3 *db, const char *project, const char *branch,
                      const char *series_key, char *err)
{
    sqlite3_stmt *hs = NULL, *ks = NULL, *del = NULL, *ins = NULL;
    hist_run *runs = xmalloc(CP_HISTORY_RUNS * sizeof *runs);
    double *val[MET__MAX], *x = xmalloc(CP_HISTORY_RUNS * sizeof *x);
    cp_point *cps = xmalloc(CP_HISTORY_RUNS * sizeof *cps);
    kept *keep = NULL;
    size_t n = 0, n_keep = 0, cap_keep = 0;
    int rc = -1, src;
    for (int m = 0; m < MET__MAX; m++) val[m] = xmalloc(CP_HISTORY_RUNS * sizeof **val);

    if (sqlite3_prepare_v2(db, HISTORY_SQL, -1, &hs, NULL) ||
        sqlite3_prepare_v2(db,
                           "SELECT metric, run_id, detected_at FROM change_points"
                           " WHERE project = ?1 AND branch = ?2 AND series_key = ?3",
                           -1, &ks, NULL) ||
        sqlite3_prepare_v2(db,
                           "DELETE FROM change_points WHERE project = ?1 AND branch = ?2"
                           " AND series_key = ?3 AND started_at >= ?4",
                           -1, &del, NULL) ||
        sqlite3_prepare_v2(db,
                           "INSERT INTO change_points(project, branch, series_key, metric, run_id,"
                           " commit_sha, started_at, mean_before, mean_after, change, p_value,"
                           " runs_before, runs_after, detected_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,"
                           " coalesce(?, strftime('%Y-%m-%dT%H:%M:%fZ','now')))",
                           -1, &ins, NULL)) {
        rb_err(err, "sqlite: %s", sqlite3_errmsg(db));
        goto out;
    }
    sqlite3_bind_text(hs, 1, series_key, -1, SQLITE_STATIC);
    sqlite3_bind_text(hs, 2, project, -1, SQLITE_STATIC);
    sqlite3_bind_text(hs, 3, branch, -1, SQLITE_STATIC);
    sqlite3_bind_int(hs, 4, CP_HISTORY_RUNS);
    while (n < CP_HISTORY_RUNS && (src = sqlite3_step(hs)) == SQLITE_ROW) {
        runs[n] = (hist_run){store_col_text(hs, 0), store_col_text(hs, 1), store_col_text(hs, 2)};
        for (int m = 0; m < MET__MAX; m++) val[m][n] = col_num(hs, 3 + m);
        n++;
    }
    if (n < CP_HISTORY_RUNS && src != SQLITE_DONE) {
        rb_err(err, "sqlite: %s", sqlite3_errmsg(db));
        goto out;
    }
    if (n == 0) {
        rc = 0;
        goto out;
    }

    /* detected_at of the change points about to be replaced */
    sqlite3_bind_text(ks, 1, project, -1, SQLITE_STATIC);
    sqlite3_bind_text(ks, 2, branch, -1, SQLITE_STATIC);
    sqlite3_bind_text(ks, 3, series_key, -1, SQLITE_STATIC);
    while ((src = sqlite3_step(ks)) == SQLITE_ROW) {
        if (n_keep == cap_keep) {
            cap_keep = cap_keep ? 2 * cap_keep : 16;
            keep = xrealloc(keep, cap_keep * sizeof *keep);
        }
        keep[n_keep++] = (kept){store_col_text(ks, 0), store_col_text(ks, 1), store_col_text(ks, 2)};
    }
    if (src != SQLITE_DONE) {
        rb_err(err, "sqlite: %s", sqlite3_errmsg(db));
        goto out;
    }

    /* Rows older than the history looked at stay as they were last computed. */
    sqlite3_bind_text(del, 1, project, -1, SQLITE_STATIC);
    sqlite3_bind_text(del, 2, branch, -1, SQLITE_STATIC);
    sqlite3_bind_text(del, 3, series_key, -1, SQLITE_STATIC);
    sqlite3_bind_text(del, 4, runs[n - 1].started, -1, SQLITE_STATIC);
    if (sqlite3_step(del) != SQLITE_DONE) {
        rb_err(err, "sqlite: %s", sqlite3_errmsg(db));
        goto out;
    }

    cp_opts o;
    cp_opts_default(&o);
    for (int m = 0; m < MET__MAX; m++) {
        for (size_t i = 0; i < n; i++) x[i] = val[m][n - 1 - i]; /* oldest first */
        int found = cp_detect(x, n, &o, cps, CP_HISTORY_RUNS, err);
        if (found < 0) goto out;
        for (int k = 0; k < found; k++) {
            const cp_point *p = &cps[k];
            const hist_run *r = &runs[n - 1 - p->index];
            const char *since = NULL;
            for (size_t j = 0; j < n_keep && !since; j++)
                if (!strcmp(keep[j].metric, metric_info[m].name) && !strcmp(keep[j].run_id, r->id))
                    since = keep[j].detected_at;
            sqlite3_reset(ins);
            sqlite3_bind_text(ins, 1, project, -1, SQLITE_STATIC);
            sqlite3_bind_text(ins, 2, branch, -1, SQLITE_STATIC);
            sqlite3_bind_text(ins, 3, series_key, -1, SQLITE_STATIC);
            sqlite3_bind_text(ins, 4, metric_info[m].name, -1, SQLITE_STATIC);
            sqlite3_bind_text(ins, 5, r->id, -1, SQLITE_STATIC);
            sqlite3_bind_text(ins, 6, r->commit, -1, SQLITE_STATIC);
            sqlite3_bind_text(ins, 7, r->started, -1, SQLITE_STATIC);
            bind_num(ins, 8, p->mean_before);
            bind_num(ins, 9, p->mean_after);
            bind_num(ins, 10, p->change);
            bind_num(ins, 11, p->p_value);
            sqlite3_bind_int64(ins, 12, (sqlite3_int64)p->n_before);
            sqlite3_bind_int64(ins, 13, (sqlite3_int64)p->n_after);
            if (since)
                sqlite3_bind_text(ins, 14, since, -1, SQLITE_STATIC);
            else
                sqlite3_bind_null(ins, 14);
            if (sqlite3_step(ins) != SQLITE_DONE) {
                rb_err(err, "sqlite: %s", sqlite3_errmsg(db));
                goto out;
            }
        }
    }
    rc = 0;
out:
    sqlite3_finalize(hs);
    sqlite3_finalize(ks);
    sqlite3_finalize(del);
    sqlite3_finalize(ins);
    for (size_t i = 0; i < n; i++) {
        free(runs[i].id);
        free(runs[i].commit);
        free(runs[i].started);
    }
    for (size_t i = 0; i < n_keep; i++) {
        free(keep[i].metric);
        free(keep[i].run_id);
        free(keep[i].detected_at);
    }
    for (int m = 0; m < MET__MAX; m++) free(val[m]);
    free(keep);
    free(runs);
    free(x);
    free(cps);
    return rc;
}

int cp_refresh_run(sqlite3 *db, const char *run_id, char *err)
{
    sqlite3_stmt *rs = NULL, *ks = NULL;
    char *project = NULL, *branch = NULL, **keys = NULL;
    size_t n = 0, cap = 0;
    int rc = -1, src;
    if (sqlite3_prepare_v2(db, "SELECT project, branch FROM runs WHERE id = ?", -1, &rs, NULL) ||
        sqlite3_prepare_v2(db,
                           "SELECT DISTINCT series_key FROM results WHERE run_id = ?"
                           " AND status IN ('ok', 'partial') ORDER BY series_key",
                           -1, &ks, NULL)) {
        rb_err(err, "sqlite: %s", sqlite3_errmsg(db));
        goto out;
    }
    sqlite3_bind_text(rs, 1, run_id, -1, SQLITE_STATIC);
    if ((src = sqlite3_step(rs)) != SQLITE_ROW) {
        if (src == SQLITE_DONE)
            rb_err(err, "run %s not found", run_id);
        else
            rb_err(err, "sqlite: %s", sqlite3_errmsg(db));
        goto out;
    }
    project = store_col_text(rs, 0);
    branch = store_col_text(rs, 1);
    /* Keys first: the refresh writes while this read would still be open. */
    sqlite3_bind_text(ks, 1, run_id, -1, SQLITE_STATIC);
    while ((src = sqlite3_step(ks)) == SQLITE_ROW) {
        if (n == cap) keys = xrealloc(keys, (cap = cap ? 2 * cap : 16) * sizeof *keys);
        keys[n++] = store_col_text(ks, 0);
    }
    if (src != SQLITE_DONE) {
        rb_err(err, "sqlite: %s", sqlite3_errmsg(db));
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        if (cp_refresh_series(db, project, branch, keys[i], err) < 0) goto out;
    rc = 0;
out:
    sqlite3_finalize(rs);
    sqlite3_finalize(ks);
    for (size_t i = 0; i < n; i++) free(keys[i]);
    free(keys);
    free(project);
    free(branch);
    return rc;
}

static void copy_col(sqlite3_stmt *st, int i, char *out)
{
    const unsigned char *s = sqlite3_column_text(st, i);
    if (out) snprintf(out, RB_NAME_LEN, "%s", s ? (const char *)s : "");
}

int cp_since(sqlite3 *db, const char *project, const char *branch, const char *series_key,
             const char *metric, char *run_id_out, char *commit_out, char *started_out,
             char *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT run_id, commit_sha, started_at FROM change_points"
                           " WHERE project = ?1 AND branch = ?2 AND series_key = ?3 AND metric = ?4"
                           " ORDER BY started_at DESC, run_id DESC LIMIT 1",
                           -1, &st, NULL))
        return rb_err(err, "sqlite: %s", sqlite3_errmsg(db));
    sqlite3_bind_text(st, 1, project, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, branch, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, series_key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, metric, -1, SQLITE_STATIC);
    int src = sqlite3_step(st), rc;
    if (src == SQLITE_ROW) {
        copy_col(st, 0, run_id_out);
        copy_col(st, 1, commit_out);
        copy_col(st, 2, started_out);
        rc = 1;
    } else if (src == SQLITE_DONE) {
        rc = 0;
    } else {
        rc = rb_err(err, "sqlite: %s", sqlite3_errmsg(db));
    }
    sqlite3_finalize(st);
    return rc;
}
