/* rules.c -- the decision rules of the analyzer (docs/analysis.md, "Rules"):
 * pure functions from a baseline and a candidate to a judgement. */
#include "rules.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"
#include "util.h"

const char *const rule_name[RULE__MAX] = {
    [RULE_DEFAULT] = "default", [RULE_THRESHOLD] = "threshold", [RULE_ZSCORE] = "zscore",
    [RULE_WELCH] = "welch",     [RULE_PI] = "pi",               [RULE_MWU] = "mwu",
    [RULE_IQR] = "iqr",
};

int rule_find(const char *name)
{
    for (int r = 0; r < RULE__MAX; r++)
        if (strcmp(rule_name[r], name) == 0) return r;
    return -1;
}

#define ZSCORE_LIMIT 3.0    /* RULE_ZSCORE: |z| beyond this */
#define IQR_K 1.5           /* RULE_IQR: Tukey's fences */
#define TRIM_MADS 5.0     /* RULE_DEFAULT: run medians further than this many
                             * robust SDs from their median leave the spread */
#define MWU_GATE 0.05       /* RULE_DEFAULT: the iterations' U test must reach this
                             * (or alpha, if larger) */
#define MAD_SCALE 1.482602218505602 /* 1 / Phi^-1(3/4): MAD to SD under normality */
#define HL_MAX_PAIRS 250000 /* Hodges-Lehmann interval only below this many pairs */

/* ---- per-run summaries ---- */

static int cmp_double(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

/* Ascending sort; insertion sort for the few values of a run or candidate. */
static void sort_doubles(double *x, size_t n)
{
    if (n > 64) {
        qsort(x, n, sizeof *x, cmp_double);
        return;
    }
    for (size_t i = 1; i < n; i++) {
        double v = x[i];
        size_t j = i;
        for (; j > 0 && x[j - 1] > v; j--) x[j] = x[j - 1];
        x[j] = v;
    }
}

/* Median of x[0..n-1], n >= 1, without touching x. */
static double median_of(const double *x, size_t n)
{
    double small[32], *s = n <= 32 ? small : xmalloc(n * sizeof *s);
    memcpy(s, x, n * sizeof *s);
    sort_doubles(s, n);
    double m = n & 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    if (s != small) free(s);
    return m;
}

/* Means and medians of the baseline runs that have samples; returns how many. */
typedef struct runsum {
    double *mean, *median;
    int n;
} runsum;

static void runsum_init(runsum *rs, const judge_input *in)
{
    int nr = in->n_base_runs > 0 ? in->n_base_runs : 0;
    size_t *cnt = xcalloc((size_t)nr + 1, sizeof *cnt), *off = xcalloc((size_t)nr + 2, sizeof *off);
    double *by_run = xmalloc((in->n_base ? in->n_base : 1) * sizeof *by_run);
    size_t *fill = xcalloc((size_t)nr + 1, sizeof *fill);

    rs->mean = xmalloc(((size_t)nr + 1) * sizeof(double));
    rs->median = xmalloc(((size_t)nr + 1) * sizeof(double));
    rs->n = 0;
    for (size_t i = 0; i < in->n_base; i++) {
        int r = in->base_run[i];
        if (r >= 0 && r < nr) cnt[r]++;
    }
    for (int r = 0; r < nr; r++) off[r + 1] = off[r] + cnt[r];
    for (size_t i = 0; i < in->n_base; i++) {
        int r = in->base_run[i];
        if (r >= 0 && r < nr) by_run[off[r] + fill[r]++] = in->base[i];
    }
    for (int r = 0; r < nr; r++) {
        if (!cnt[r]) continue;
        double *x = by_run + off[r];
        sort_doubles(x, cnt[r]);
        size_t k = cnt[r];
        rs->median[rs->n] = k & 1 ? x[k / 2] : (x[k / 2 - 1] + x[k / 2]) / 2;
        rs->mean[rs->n] = stats_mean(x, k);
        rs->n++;
    }
    free(cnt);
    free(off);
    free(fill);
    free(by_run);
}

static void runsum_free(runsum *rs)
{
    free(rs->mean);
    free(rs->median);
}

/* ---- helpers ---- */

static double rel(double x, double base)
{
    if (base == 0) return x == 0 ? 0 : (x > 0 ? INFINITY : -INFINITY);
    return x / fabs(base);
}

/* t(0.975, df) for df = 1..40 (mpmath, 30 digits): the common case, a
 * baseline of up to 41 runs, without any computation. */
static const double T975[40] = {
    12.706204736174705, 4.3026527297494639, 3.1824463052837096, 2.7764451051977944,
    2.5705818356363155, 2.44691185114497, 2.3646242515927853, 2.3060041352041667,
    2.2621571627982055, 2.2281388519862747, 2.2009851600916399, 2.1788128296672289,
    2.1603686564627925, 2.1447866879178038, 2.1314495455597757, 2.1199052992212547,
    2.1098155778333171, 2.1009220402410385, 2.0930240544083098, 2.0859634472658648,
    2.0796138447276804, 2.0738730679040262, 2.0686576104190487, 2.0638985616280258,
    2.0595385527532977, 2.0555294386428732, 2.0518305164802856, 2.0484071417952452,
    2.0452296421327043, 2.0422724563012383, 2.0395134463964085, 2.036933343460102,
    2.0345152974493387, 2.032244509317719, 2.0301079282503432, 2.0280940009804509,
    2.0261924630291098, 2.0243941639119696, 2.0226909200367611, 2.0210753903062734,
};

/* The 0.975 quantile of Student's t with df degrees of freedom, for
 * confidence intervals. Beyond the table: Newton's method on stats_t_cdf from
 * the Cornish-Fisher start, which lies below the root where the CDF is
 * concave, so the iteration climbs monotonically in a few steps (against the
 * ~60 bisection steps of stats_t_quantile; this runs for every verdict). */
static double t_q975(double df)
{
    if (df == floor(df) && df >= 1 && df <= 40) return T975[(int)df - 1];
    const double z = 1.959963984540054, p = 0.975;
    double t = z + (z * z * z + z) / (4 * df) +
               (5 * pow(z, 5) + 16 * z * z * z + 3 * z) / (96 * df * df);
    double lc = lgamma((df + 1) / 2) - lgamma(df / 2) - 0.5 * log(df * 3.141592653589793);
    for (int i = 0; i < 100; i++) {
        double f = exp(lc - (df + 1) / 2 * log1p(t * t / df));
        double step = (p - stats_t_cdf(t, df)) / f;
        t += step;
        if (fabs(step) <= 1e-12 * t) break;
    }
    return t;
}

/* Upper tail of Student's t: P(T > t). */
static double t_sf(double t, double df)
{
    if (isnan(t)) return NAN;
    if (t == INFINITY) return 0;
    if (t == -INFINITY) return 1;
    return stats_t_cdf(-t, df);
}

/* Is the relative change ch beyond the threshold in the worse (sign -1 for
 * higher-is-better) or better direction? A threshold of 0 needs any move. */
static int beyond(double ch, double threshold, int worse, int hib)
{
    if (isnan(ch)) return 0;
    double toward = (worse == hib) ? -ch : ch; /* positive when moving in the asked direction */
    return threshold > 0 ? toward > threshold : toward > 0;
}

/* Final status from p-values in both directions and the change. */
static void decide(judgement *out, const judge_input *in, double p_worse, double p_better)
{
    int hib = in->higher_is_better;
    if (beyond(out->change, in->threshold, 1, hib) && p_worse < in->alpha) {
        out->status = J_REGRESSION;
        out->p_value = p_worse;
    } else if (beyond(out->change, in->threshold, 0, hib) && p_better < in->alpha) {
        out->status = J_IMPROVEMENT;
        out->p_value = p_better;
    } else {
        out->status = J_PASS;
        out->p_value = p_worse;
    }
}

/* p-values of a one-sided test (p_low: candidate lower; p_high: higher),
 * mapped to worse/better by the metric's direction. */
static void orient(const judge_input *in, double p_low, double p_high, double *worse, double *better)
{
    *worse = in->higher_is_better ? p_low : p_high;
    *better = in->higher_is_better ? p_high : p_low;
}

/* Candidate vs a location/spread of n baseline values, t-based prediction
 * interval with n-1 df: fills p_low/p_high, the statistic and the 95% CI of
 * the difference (absolute). s == 0 gives 0/1 p-values. */
static void pi_test(double cand, double center, double s, int n, double *p_low, double *p_high,
                    double *stat, double *lo, double *hi)
{
    double d = cand - center;
    double se = s * sqrt(1 + 1.0 / n);
    double df = n - 1;
    if (se > 0) {
        double t = d / se;
        *stat = t;
        /* The smaller tail directly, the other as its complement. */
        if (t >= 0) {
            *p_high = t_sf(t, df);
            *p_low = 1 - *p_high;
        } else {
            *p_low = t_sf(-t, df);
            *p_high = 1 - *p_low;
        }
        double q = t_q975(df);
        *lo = d - q * se;
        *hi = d + q * se;
    } else {
        *stat = d == 0 ? 0 : (d > 0 ? INFINITY : -INFINITY);
        *p_low = d < 0 ? 0 : 1;
        *p_high = d > 0 ? 0 : 1;
        *lo = *hi = d;
    }
}

/* Hodges-Lehmann 95% interval of the shift cand - base (normal
 * approximation of U's quantile); NAN when the samples are too many. */
static void hl_interval(const judge_input *in, double *lo, double *hi)
{
    size_t na = in->n_base, nb = in->n_cand, n = na * nb;
    *lo = *hi = NAN;
    if (na == 0 || nb == 0 || n > HL_MAX_PAIRS) return;
    double *d = xmalloc(n * sizeof *d);
    for (size_t j = 0; j < nb; j++)
        for (size_t i = 0; i < na; i++) d[j * na + i] = in->cand[j] - in->base[i];
    qsort(d, n, sizeof *d, cmp_double);
    double ca = (double)na * (double)nb / 2 -
                1.959963984540054 * sqrt((double)na * (double)nb * (double)(na + nb + 1) / 12);
    long k = (long)floor(ca);
    if (k < 0) k = 0;
    if ((size_t)k >= n) k = (long)n - 1;
    *lo = d[k];
    *hi = d[n - 1 - (size_t)k];
    free(d);
}

/* ---- the rules ---- */

/* RULE_DEFAULT: the candidate's median iteration against the baseline runs'
 * medians (docs/analysis.md, "The default rule"), on a log scale when every
 * value is positive (noise and changes of benchmark figures are relative).
 * In the same direction:
 *  1. the relative change of the candidate median from the baseline center
 *     is beyond the threshold;
 *  2. the candidate median lies outside the one-sided (1 - alpha) prediction
 *     interval of the baseline run medians, center +- t(k-1) s sqrt(1+1/k),
 *     where center and s are the mean and SD of the k (log) run medians left
 *     after dropping those further than TRIM_MADS robust SDs (MAD) from their
 *     median. Run medians carry the between-run variance that pooled
 *     per-iteration tests leave out; the trimming keeps a few bad baseline
 *     runs from widening the interval;
 *  3. the one-sided Mann-Whitney U test of the candidate's iterations against
 *     the pooled baseline iterations reaches max(MWU_GATE, alpha): the
 *     iterations moved as a group, not one or two of them.
 * The p-value is the interval's; when 1 and 2 hold but 3 does not, it is
 * raised to the U test's, so that "p < alpha" is the whole statistical
 * condition. With a single usable baseline run there is no spread: the U test
 * decides alone at alpha. */
static void rule_default(const judge_input *in, const runsum *rs, judgement *out)
{
    snprintf(out->test, sizeof out->test, "run-spread+mann-whitney+threshold");
    int m = rs->n;
    double cmed = median_of(in->cand, in->n_cand);
    int logs = cmed > 0;
    for (int i = 0; i < m && logs; i++) logs = rs->median[i] > 0;
    double *med = xmalloc((size_t)m * sizeof *med);
    for (int i = 0; i < m; i++) med[i] = logs ? log(rs->median[i]) : rs->median[i];
    sort_doubles(med, (size_t)m);
    double mid = m & 1 ? med[m / 2] : (med[m / 2 - 1] + med[m / 2]) / 2;
    double *dev = xmalloc((size_t)m * sizeof *dev);
    for (int i = 0; i < m; i++) dev[i] = fabs(med[i] - mid);
    sort_doubles(dev, (size_t)m);
    double mad = MAD_SCALE * (m & 1 ? dev[m / 2] : (dev[m / 2 - 1] + dev[m / 2]) / 2);
    int k = 0;
    for (int i = 0; i < m; i++)
        if (mad == 0 || fabs(med[i] - mid) <= TRIM_MADS * mad) med[k++] = med[i];
    double lcenter = stats_mean(med, (size_t)k);
    double s = stats_stddev(med, (size_t)k);
    free(dev);
    free(med);
    double center = logs ? exp(lcenter) : lcenter;
    double lc = logs ? log(cmed) : cmed;

    out->baseline_center = center;
    out->candidate_center = cmed;
    out->change = rel(cmed - center, center);

    double u, mw_low, mw_high, pl, ph, pw, pb;
    if (k >= 2) {
        double lo, hi, gate = in->alpha > MWU_GATE ? in->alpha : MWU_GATE;
        pi_test(lc, lcenter, s, k, &pl, &ph, &out->statistic, &lo, &hi);
        out->ci_low = logs ? expm1(lo) : rel(lo, center);
        out->ci_high = logs ? expm1(hi) : rel(hi, center);
        /* The U test can only hold back a change that is significant and
         * beyond the threshold; most verdicts are passes without it. */
        orient(in, pl, ph, &pw, &pb);
        int hib = in->higher_is_better;
        if ((pw < in->alpha && beyond(out->change, in->threshold, 1, hib)) ||
            (pb < in->alpha && beyond(out->change, in->threshold, 0, hib))) {
            stats_mannwhitney(in->base, in->n_base, in->cand, in->n_cand, &u, NULL, &mw_low, &mw_high);
            if (mw_low >= gate) pl = fmax(pl, mw_low);
            if (mw_high >= gate) ph = fmax(ph, mw_high);
        }
    } else {
        stats_mannwhitney(in->base, in->n_base, in->cand, in->n_cand, &u, NULL, &mw_low, &mw_high);
        out->statistic = u;
        pl = mw_low;
        ph = mw_high;
    }
    orient(in, pl, ph, &pw, &pb);
    decide(out, in, pw, pb);
}

static void rule_threshold(const judge_input *in, judgement *out)
{
    snprintf(out->test, sizeof out->test, "threshold");
    double b = stats_mean(in->base, in->n_base), c = stats_mean(in->cand, in->n_cand);
    out->baseline_center = b;
    out->candidate_center = c;
    out->change = rel(c - b, b);
    int hib = in->higher_is_better;
    if (beyond(out->change, in->threshold, 1, hib))
        out->status = J_REGRESSION;
    else if (beyond(out->change, in->threshold, 0, hib))
        out->status = J_IMPROVEMENT;
    else
        out->status = J_PASS;
}

static void rule_zscore(const judge_input *in, const runsum *rs, judgement *out)
{
    snprintf(out->test, sizeof out->test, "z-score+threshold");
    double lim = in->limit > 0 ? in->limit : ZSCORE_LIMIT;
    double b = stats_mean(rs->mean, (size_t)rs->n), sd = stats_stddev(rs->mean, (size_t)rs->n);
    double c = stats_mean(in->cand, in->n_cand);
    out->baseline_center = b;
    out->candidate_center = c;
    out->change = rel(c - b, b);
    double z = sd > 0 ? (c - b) / sd : (c == b ? 0 : (c > b ? INFINITY : -INFINITY));
    out->statistic = z;
    /* The p-values stand for "beyond the limit": alpha plays no part here,
     * so they are 0 or 1 against the limit; the reported p is the normal tail. */
    double pl = z < -lim ? 0 : 1, ph = z > lim ? 0 : 1, pw, pb;
    orient(in, pl, ph, &pw, &pb);
    decide(out, in, pw, pb);
    double tail_low = stats_normal_cdf(z), tail_high = stats_normal_cdf(-z);
    double tw, tb;
    orient(in, tail_low, tail_high, &tw, &tb);
    out->p_value = out->status == J_IMPROVEMENT ? tb : tw;
}

static void rule_welch(const judge_input *in, judgement *out)
{
    snprintf(out->test, sizeof out->test, "welch+threshold");
    stats_ttest t;
    stats_welch(in->base, in->n_base, in->cand, in->n_cand, &t);
    out->baseline_center = t.mean_a;
    out->candidate_center = t.mean_b;
    out->change = rel(t.diff, t.mean_a);
    out->ci_low = rel(t.ci_low, t.mean_a);
    out->ci_high = rel(t.ci_high, t.mean_a);
    out->statistic = t.t;
    double pw, pb;
    orient(in, t.p_less, t.p_greater, &pw, &pb);
    decide(out, in, pw, pb);
}

/* RULE_PI: candidate run mean against the prediction interval of the
 * baseline run means, one-sided in each direction at level 1 - alpha. */
static void rule_pi(const judge_input *in, const runsum *rs, judgement *out)
{
    snprintf(out->test, sizeof out->test, "prediction-interval+threshold");
    double b = stats_mean(rs->mean, (size_t)rs->n), sd = stats_stddev(rs->mean, (size_t)rs->n);
    double c = stats_mean(in->cand, in->n_cand);
    out->baseline_center = b;
    out->candidate_center = c;
    out->change = rel(c - b, b);
    double pl = 1, ph = 1, lo, hi;
    if (rs->n >= 2) {
        pi_test(c, b, sd, rs->n, &pl, &ph, &out->statistic, &lo, &hi);
        out->ci_low = rel(lo, b);
        out->ci_high = rel(hi, b);
    }
    double pw, pb;
    orient(in, pl, ph, &pw, &pb);
    decide(out, in, pw, pb);
}

static void rule_mwu(const judge_input *in, judgement *out)
{
    snprintf(out->test, sizeof out->test, "mann-whitney+threshold");
    double b = stats_median(in->base, in->n_base), c = stats_median(in->cand, in->n_cand);
    out->baseline_center = b;
    out->candidate_center = c;
    out->change = rel(c - b, b);
    double pl, ph, lo, hi;
    stats_mannwhitney(in->base, in->n_base, in->cand, in->n_cand, &out->statistic, NULL, &pl, &ph);
    hl_interval(in, &lo, &hi);
    out->ci_low = rel(lo, b);
    out->ci_high = rel(hi, b);
    double pw, pb;
    orient(in, pl, ph, &pw, &pb);
    decide(out, in, pw, pb);
}

static void rule_iqr(const judge_input *in, const runsum *rs, judgement *out)
{
    snprintf(out->test, sizeof out->test, "iqr-fences+threshold");
    double k = in->limit > 0 ? in->limit : IQR_K;
    double q1 = stats_quantile(rs->median, (size_t)rs->n, 0.25);
    double q3 = stats_quantile(rs->median, (size_t)rs->n, 0.75);
    double mid = stats_median(rs->median, (size_t)rs->n);
    double c = stats_median(in->cand, in->n_cand);
    double iqr = q3 - q1;
    out->baseline_center = mid;
    out->candidate_center = c;
    out->change = rel(c - mid, mid);
    /* The statistic: how many IQRs beyond the nearer quartile (0 inside). */
    double dist = c < q1 ? c - q1 : c > q3 ? c - q3 : 0;
    out->statistic = iqr > 0 ? dist / iqr : (dist == 0 ? 0 : (dist > 0 ? INFINITY : -INFINITY));
    double pl = c < q1 - k * iqr ? 0 : 1, ph = c > q3 + k * iqr ? 0 : 1, pw, pb;
    orient(in, pl, ph, &pw, &pb);
    decide(out, in, pw, pb);
    out->p_value = NAN;
}

/* Every baseline value 0 (errors, typically): no relative scale and no
 * spread, so any move away from zero is the change. */
static int all_zero(const double *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (x[i] != 0) return 0;
    return 1;
}

static void rule_from_zero(const judge_input *in, judgement *out)
{
    snprintf(out->test, sizeof out->test, "from-zero");
    double c = stats_mean(in->cand, in->n_cand);
    out->baseline_center = 0;
    out->candidate_center = c;
    out->change = rel(c, 0);
    int up = c > 0, down = c < 0;
    if (!up && !down)
        out->status = J_PASS;
    else if (up != in->higher_is_better)
        out->status = J_REGRESSION;
    else
        out->status = J_IMPROVEMENT;
}

int rule_judge(enum rule r, const judge_input *in, judgement *out)
{
    memset(out, 0, sizeof *out);
    out->status = J_INSUFFICIENT;
    out->p_value = out->change = out->ci_low = out->ci_high = NAN;
    out->baseline_center = out->candidate_center = out->statistic = NAN;
    snprintf(out->test, sizeof out->test, "%s", (unsigned)r < RULE__MAX ? rule_name[r] : "?");
    if (in->n_cand == 0 || (unsigned)r >= RULE__MAX) return -1;
    runsum rs;
    runsum_init(&rs, in);
    int min_runs = in->min_baseline_runs > 1 ? in->min_baseline_runs : 1;
    if (rs.n < min_runs || in->n_base < 2 || in->n_cand < 2) {
        /* Not judged: the medians, for people to see. */
        out->candidate_center = median_of(in->cand, in->n_cand);
        if (in->n_base) out->baseline_center = median_of(in->base, in->n_base);
        goto out;
    }

    if (all_zero(in->base, in->n_base)) {
        rule_from_zero(in, out);
        goto out;
    }
    switch (r) {
    case RULE_DEFAULT: rule_default(in, &rs, out); break;
    case RULE_THRESHOLD: rule_threshold(in, out); break;
    case RULE_ZSCORE: rule_zscore(in, &rs, out); break;
    case RULE_WELCH: rule_welch(in, out); break;
    case RULE_PI: rule_pi(in, &rs, out); break;
    case RULE_MWU: rule_mwu(in, out); break;
    case RULE_IQR: rule_iqr(in, &rs, out); break;
    default: break;
    }
out:
    runsum_free(&rs);
    return 0;
}
