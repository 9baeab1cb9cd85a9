/* stats.c -- descriptive statistics, t/normal distributions and two-sample tests. */
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define BETA_EPS 1e-15       /* relative convergence of the continued fraction */
#define BETA_TINY 1e-300     /* keeps Lentz's C and D away from zero */
#define BETA_MAX_ITER 100000 /* safety cap; t-test calls need well under 100 */
#define BETA_SERIES_ITER 3000
#define SQRT2 1.41421356237309504880
#define HL2PI 0.91893853320467274178 /* log(2 pi) / 2 */
#define STIRLING_MIN 15.0

/* ---- descriptive statistics ---- */

double stats_mean(const double *x, size_t n)
{
    double s = 0, c = 0, m;
    size_t i;

    if (n == 0) return NAN;
    for (i = 0; i < n; i++) s += x[i];
    m = s / (double)n;
    /* Second pass corrects the rounding error of the first sum. */
    for (i = 0; i < n; i++) c += x[i] - m;
    return m + c / (double)n;
}

double stats_variance(const double *x, size_t n)
{
    double m, ss = 0, c = 0, v;
    size_t i;

    if (n < 2) return 0;
    m = stats_mean(x, n);
    for (i = 0; i < n; i++) {
        double d = x[i] - m;
        ss += d * d;
        c += d;
    }
    /* Corrected two-pass formula (Chan, Golub & LeVeque): c is ~0 in exact
     * arithmetic and removes the residual error of m. */
    v = (ss - c * c / (double)n) / (double)(n - 1);
    return v > 0 ? v : 0;
}

double stats_stddev(const double *x, size_t n)
{
    return sqrt(stats_variance(x, n));
}

static int cmp_double(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

/* Type 7 quantile of an already sorted sample s[0..n-1], n >= 1, q in [0,1]. */
static double quantile_sorted(const double *s, size_t n, double q)
{
    double h = (double)(n - 1) * q;
    size_t lo = (size_t)floor(h);
    double frac;

    if (lo >= n - 1) return s[n - 1];
    frac = h - (double)lo;
    if (frac == 0) return s[lo];
    return s[lo] + frac * (s[lo + 1] - s[lo]);
}

double stats_quantile(const double *x, size_t n, double q)
{
    double *s, r;

    if (n == 0 || !(q >= 0 && q <= 1)) return NAN;
    s = xmalloc(n * sizeof *s);
    memcpy(s, x, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_double);
    r = quantile_sorted(s, n, q);
    free(s);
    return r;
}

double stats_median(const double *x, size_t n)
{
    return stats_quantile(x, n, 0.5);
}

/* ---- distributions ---- */

/* Continued fraction for the incomplete beta (the standard one, e.g. Abramowitz
 * & Stegun 26.5.8):
 *   I_x(a,b) = x^a (1-x)^b / (a B(a,b)) * 1 / (1 + d1 / (1 + d2 / (1 + ...)))
 *   d(2k+1) = -(a+k)(a+b+k) x / ((a+2k)(a+2k+1)),
 *   d(2k)   = k(b-k) x / ((a+2k-1)(a+2k)).
 * Returns the value of the fraction 1/(1 + d1/(1 + ...)), evaluated with the
 * modified Lentz method. Converges quickly for x < (a+1)/(a+b+2). */
static double beta_cf(double a, double b, double x)
{
    double f = 1, c = 1, d = 0;
    int m;

    for (m = 1; m <= BETA_MAX_ITER; m++) {
        double k, num, delta;

        if (m & 1) {
            k = (double)(m - 1) / 2;
            num = -(a + k) * (a + b + k) * x / ((a + 2 * k) * (a + 2 * k + 1));
        } else {
            k = (double)m / 2;
            num = k * (b - k) * x / ((a + 2 * k - 1) * (a + 2 * k));
        }
        d = 1 + num * d;
        if (fabs(d) < BETA_TINY) d = BETA_TINY;
        d = 1 / d;
        c = 1 + num / c;
        if (fabs(c) < BETA_TINY) c = BETA_TINY;
        delta = c * d;
        f *= delta;
        if (fabs(delta - 1) < BETA_EPS) break;
    }
    return 1 / f;
}

/* Stirling remainder lgamma(x) - ((x-0.5) log x - x + log(2 pi)/2) for
 * x >= STIRLING_MIN; the first omitted term is below 3e-16 there. */
static double stirling_rem(double x)
{
    double r = 1 / x, r2 = r * r;
    return r * (1.0 / 12 - r2 * (1.0 / 360 - r2 * (1.0 / 1260 - r2 * (1.0 / 1680 - r2 / 1188))));
}

/* x^a y^b / (a B(a,b)) with y = 1 - x, in logs to avoid under/overflow.
 * Plain lgamma(a+b) - lgamma(a) - lgamma(b) cancels catastrophically once a
 * or b is large (df/2 of a big t-test: lgamma(5e8) ~ 1e10, so 1e-6 absolute
 * error), and log(x) loses x's precision near 1; so large arguments go
 * through Stirling's series with the big terms cancelled analytically. */
static double beta_front(double a, double b, double x, double y)
{
    double lx = x > 0.5 ? log1p(-y) : log(x);
    double ly = y > 0.5 ? log1p(-x) : log(y);
    double e;

    if (a >= STIRLING_MIN && b >= STIRLING_MIN) {
        /* log B(a,b) = HL2PI + (a-1/2) log(a/(a+b)) + b log(b/(a+b)) - log(b)/2
         *              + rem(a) + rem(b) - rem(a+b); the a, b multiples of
         * logs combine with a log x + b log y into log1p terms near the peak
         * x = a/(a+b): x(a+b)/a = 1 + (xb - ya)/a, y(a+b)/b = 1 + (ya - xb)/b. */
        double rem = stirling_rem(a) + stirling_rem(b) - stirling_rem(a + b);
        e = a * log1p((x * b - y * a) / a) + b * log1p((y * a - x * b) / b) +
            0.5 * (log(b) - log(a) - log(a + b)) - HL2PI - rem;
    } else if (a >= STIRLING_MIN || b >= STIRLING_MIN) {
        /* One large (big), one small (sm): lgamma(big+sm) - lgamma(big) =
         * (big-1/2) log1p(sm/big) + sm log(big+sm) - sm + rem(big+sm) - rem(big). */
        double big = a > b ? a : b, sm = a > b ? b : a;
        double dl = (big - 0.5) * log1p(sm / big) + sm * log(big + sm) - sm +
                    stirling_rem(big + sm) - stirling_rem(big);
        e = a * lx + b * ly + dl - lgamma(sm) - log(a);
    } else {
        e = a * lx + b * ly + lgamma(a + b) - lgamma(a) - lgamma(b) - log(a);
    }
    return exp(e);
}

/* The positive-term series I_x(a,b) = x^a y^b / (a B(a,b)) * F(a+b, 1; a+1; x)
 * (DLMF 8.17.8), F = sum over n of (a+b)_n / (a+1)_n x^n. Returns the sum,
 * or -1 if it has not converged within BETA_SERIES_ITER terms (or
 * overflowed). No cancellation, so it is accurate wherever it converges in
 * time: for x < 1/2 that takes about x(a+b) + 40 terms. */
static double beta_series(double a, double b, double x)
{
    double term = 1, sum = 1;
    int n;

    for (n = 0; n < BETA_SERIES_ITER; n++) {
        term *= x * (a + b + n) / (a + 1 + n);
        sum += term;
        if (isinf(sum)) return -1;
        if (term < BETA_EPS * sum && x * (a + b + n) < (a + 1 + n)) return sum;
    }
    return -1;
}

/* I_x(a,b) by the fraction in x, which converges fast for
 * x < (a+1)/(a+b+2). Its weakness is x close to 1 (possible when a >> b):
 * the fraction then cancels like 1 - x(a+b)/(a+1) ~ y, so its relative error
 * grows to ~eps/y. The mirrored evaluation 1 - I_y(b,a) by the positive
 * series has an absolute error of a few eps instead, which is better whenever
 * (1 - I) y < I; it is used then if the series converges in time. Case in
 * point: the t distribution with df in the millions, where this keeps tail
 * probabilities to ~1e-9 relative instead of ~1e-5. */
static double betai_lower(double a, double b, double x, double y)
{
    double i = beta_front(a, b, x, y) * beta_cf(a, b, x);

    if (x > 0.5 && (1 - i) * y < i) {
        double f = beta_series(b, a, y);
        if (f > 0) return 1 - beta_front(b, a, y, x) * f;
    }
    return i;
}

/* I_x(a,b) where the caller supplies y = 1 - x separately, so that a y close
 * to 0 (x close to 1) keeps its full precision. */
static double betai_xy(double a, double b, double x, double y)
{
    if (x <= 0) return 0;
    if (y <= 0) return 1;
    if (x < (a + 1) / (a + b + 2)) return betai_lower(a, b, x, y);
    /* I_x(a,b) = 1 - I_{1-x}(b,a): the fraction converges fast on that side. */
    return 1 - betai_lower(b, a, y, x);
}

double stats_betai(double a, double b, double x)
{
    if (isnan(a) || isnan(b) || isnan(x) || a <= 0 || b <= 0) return NAN;
    if (x <= 0) return 0;
    if (x >= 1) return 1;
    return betai_xy(a, b, x, 1 - x);
}

double stats_normal_cdf(double z)
{
    return 0.5 * erfc(-z / SQRT2);
}

/* Upper tail P(T > t) for t >= 0: with x = df/(df+t^2),
 * P(|T| > t) = I_x(df/2, 1/2), and the tail is half of that. */
static double t_upper(double t, double df)
{
    double t2 = t * t;

    if (isinf(df)) return 0.5 * erfc(t / SQRT2);
    if (isinf(t2)) return 0;
    return 0.5 * betai_xy(df / 2, 0.5, df / (df + t2), t2 / (df + t2));
}

/* Survival function P(T > t) for any t; the small side is computed directly. */
static double t_sf(double t, double df)
{
    return t >= 0 ? t_upper(t, df) : 1 - t_upper(-t, df);
}

double stats_t_cdf(double t, double df)
{
    if (isnan(t) || isnan(df) || df <= 0) return NAN;
    return t_sf(-t, df);
}

double stats_t_quantile(double p, double df)
{
    double target, lo = 0, hi = 1, r;
    int i;

    if (isnan(p) || isnan(df) || p < 0 || p > 1 || df <= 0) return NAN;
    if (p == 0) return -INFINITY;
    if (p == 1) return INFINITY;
    if (p == 0.5) return 0;
    /* Solve t_upper(t) = target for t > 0 (1 - p is exact for p >= 0.5),
     * then mirror for the lower half. */
    target = p < 0.5 ? p : 1 - p;
    while (t_upper(hi, df) > target) {
        lo = hi;
        hi *= 2;
        if (hi > 1e300) return p < 0.5 ? -INFINITY : INFINITY;
    }
    /* Invariant: t_upper(lo) > target >= t_upper(hi). t_upper is monotone
     * and cheap, so plain bisection to full precision is simple and robust. */
    for (i = 0; i < 2000; i++) {
        double mid = lo + (hi - lo) / 2;
        if (mid <= lo || mid >= hi) break;
        if (t_upper(mid, df) > target)
            lo = mid;
        else
            hi = mid;
    }
    r = lo + (hi - lo) / 2;
    return p < 0.5 ? -r : r;
}

/* ---- two-sample tests ---- */

/* stats_welch; with_ci 0 leaves the interval NAN (its t quantile is a root search). */
static int welch(const double *a, size_t na, const double *b, size_t nb, stats_ttest *out,
                 int with_ci)
{
    double va, vb, sa, sb, se2, se, q;
    stats_ttest r;

    if (na < 2 || nb < 2) return -1;
    memset(&r, 0, sizeof r);
    r.mean_a = stats_mean(a, na);
    r.mean_b = stats_mean(b, nb);
    r.diff = r.mean_b - r.mean_a;
    va = stats_variance(a, na);
    vb = stats_variance(b, nb);
    sa = va / (double)na; /* squared standard errors of each mean */
    sb = vb / (double)nb;
    se2 = sa + sb;

    if (se2 == 0) {
        r.df = (double)(na + nb - 2);
        r.ci_low = r.ci_high = with_ci ? r.diff : NAN;
        if (r.diff == 0) {
            r.t = 0;
            r.p_two_sided = r.p_less = r.p_greater = 1;
        } else {
            r.t = r.diff > 0 ? INFINITY : -INFINITY;
            r.p_two_sided = 0;
            r.p_greater = r.diff > 0 ? 0 : 1;
            r.p_less = r.diff > 0 ? 1 : 0;
        }
        *out = r;
        return 0;
    }

    se = sqrt(se2);
    r.t = r.diff / se;
    /* Welch-Satterthwaite; a zero-variance side contributes 0 to both sums. */
    r.df = se2 * se2 / (sa * sa / (double)(na - 1) + sb * sb / (double)(nb - 1));
    r.p_greater = t_sf(r.t, r.df);
    r.p_less = t_sf(-r.t, r.df);
    r.p_two_sided = 2 * t_upper(fabs(r.t), r.df);
    if (r.p_two_sided > 1) r.p_two_sided = 1;
    if (with_ci) {
        q = stats_t_quantile(0.975, r.df);
        r.ci_low = r.diff - q * se;
        r.ci_high = r.diff + q * se;
    } else {
        r.ci_low = r.ci_high = NAN;
    }
    *out = r;
    return 0;
}

int stats_welch(const double *a, size_t na, const double *b, size_t nb, stats_ttest *out)
{
    return welch(a, na, b, nb, out, 1);
}

int stats_welch_test(const double *a, size_t na, const double *b, size_t nb, stats_ttest *out)
{
    return welch(a, na, b, nb, out, 0);
}

typedef struct obs {
    double v;
    int from_b;
} obs;

static int cmp_obs(const void *pa, const void *pb)
{
    double a = ((const obs *)pa)->v, b = ((const obs *)pb)->v;
    return (a > b) - (a < b);
}

int stats_mannwhitney(const double *a, size_t na, const double *b, size_t nb,
                      double *u, double *p_two_sided, double *p_less,
                      double *p_greater)
{
    size_t n = na + nb, i, j, k;
    double rank_b = 0, ties = 0, dn = (double)n, mu, var, ub, pt, pl, pg;
    obs *all;

    if (na == 0 || nb == 0) return -1;
    all = xmalloc(n * sizeof *all);
    for (i = 0; i < na; i++) all[i] = (obs){a[i], 0};
    for (i = 0; i < nb; i++) all[na + i] = (obs){b[i], 1};
    qsort(all, n, sizeof *all, cmp_obs);

    /* Walk runs of equal values; a run at 0-based positions i..j-1 shares the
     * average 1-based rank (i+1 + j)/2. */
    for (i = 0; i < n; i = j) {
        double t, cnt_b = 0;
        for (j = i + 1; j < n && all[j].v == all[i].v; j++)
            ;
        for (k = i; k < j; k++) cnt_b += all[k].from_b;
        rank_b += cnt_b * ((double)(i + 1) + (double)j) / 2;
        t = (double)(j - i);
        ties += t * t * t - t;
    }
    free(all);

    ub = rank_b - (double)nb * ((double)nb + 1) / 2;
    mu = (double)na * (double)nb / 2;
    /* Null variance with the tie correction: na nb / 12 * ((n+1) - sum(t^3-t)/(n(n-1))). */
    var = (double)na * (double)nb / 12 * ((dn + 1) - ties / (dn * (dn - 1)));

    if (var <= 0) {
        pt = pl = pg = 1;
    } else {
        double sd = sqrt(var), dev = fabs(ub - mu) - 0.5;
        pl = stats_normal_cdf((ub - mu + 0.5) / sd);
        pg = stats_normal_cdf(-(ub - mu - 0.5) / sd);
        pt = 2 * stats_normal_cdf(-(dev > 0 ? dev : 0) / sd);
        if (pt > 1) pt = 1;
    }
    if (u) *u = ub;
    if (p_two_sided) *p_two_sided = pt;
    if (p_less) *p_less = pl;
    if (p_greater) *p_greater = pg;
    return 0;
}
