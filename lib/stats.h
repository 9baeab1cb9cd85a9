/* stats.h -- descriptive statistics, t/normal distributions and the two-sample
 * tests (Welch's t, Mann-Whitney U) used to compare benchmark runs. */
#ifndef RB_STATS_H
#define RB_STATS_H

#include <stddef.h>

/* All functions are pure: they never modify or keep their inputs. Samples
 * must not contain NaN (ordering and sums are undefined with NaN). */

/* Arithmetic mean of x[0..n-1]; NAN if n == 0. */
double stats_mean(const double *x, size_t n);

/* Sample variance (divisor n-1, two-pass); 0 if n < 2. */
double stats_variance(const double *x, size_t n);

/* sqrt(stats_variance(x, n)); 0 if n < 2. */
double stats_stddev(const double *x, size_t n);

/* Median (the mean of the two middle values when n is even); NAN if n == 0.
 * Sorts a private copy, so x is left untouched. */
double stats_median(const double *x, size_t n);

/* Quantile q in [0,1] by linear interpolation between order statistics
 * (Hyndman-Fan type 7, R's default): h = (n-1)q, result
 * x(floor h) + (h - floor h)(x(floor h + 1) - x(floor h)) over the sorted
 * sample. NAN if n == 0 or q is outside [0,1] or NaN. x is left untouched. */
double stats_quantile(const double *x, size_t n, double q);

/* Regularized incomplete beta function I_x(a,b) for a, b > 0; 0 for x <= 0,
 * 1 for x >= 1, NAN if a or b is not positive or any argument is NaN.
 * Measured against mpmath: relative error below 3e-12 for a, b in
 * [0.01, 1e6] (about 1e-15 when a, b < 1000). */
double stats_betai(double a, double b, double x);

/* Student t cumulative distribution P(T <= t) with df > 0 degrees of freedom
 * (df may be fractional, as Welch's df is; df = INFINITY gives the normal).
 * NAN if df <= 0 or an argument is NaN. Absolute error ~1e-14; the smaller
 * tail is also accurate relatively (~1e-12 for df <= 1e5, ~1e-8 up to 1e9). */
double stats_t_cdf(double t, double df);

/* Inverse of stats_t_cdf: the t with P(T <= t) = p, found by bisection to
 * full double precision. -INFINITY for p == 0, INFINITY for p == 1, NAN if p
 * is outside [0,1] or df <= 0. */
double stats_t_quantile(double p, double df);

/* Standard normal cumulative distribution P(Z <= z), via erfc. */
double stats_normal_cdf(double z);

/* Result of Welch's unequal-variance t-test; see stats_welch. */
typedef struct stats_ttest {
    double t;           /* (mean_b - mean_a) / se: positive when b is larger */
    double df;          /* Welch-Satterthwaite degrees of freedom */
    double p_two_sided; /* H1: mean_b != mean_a */
    double p_less;      /* H1: mean_b < mean_a */
    double p_greater;   /* H1: mean_b > mean_a */
    double mean_a, mean_b;
    double diff;        /* mean_b - mean_a */
    double ci_low, ci_high; /* 95% confidence interval of diff (Welch df) */
} stats_ttest;

/* Welch's t-test comparing sample a (baseline) with b (candidate), filling
 * *out. The sign convention is b minus a: t > 0 and diff > 0 mean b has the
 * larger mean. Returns 0, or -1 (out untouched) if either sample has fewer
 * than 2 values.
 * Degenerate case, both variances 0: se = 0, df = na + nb - 2 by convention
 * and the CI is [diff, diff]. If the means are equal, t = 0 and all three
 * p-values are 1 (no evidence either way); otherwise t = +-INFINITY, the
 * two-sided and the matching one-sided p-value are 0 and the other
 * one-sided p-value is 1. */
int stats_welch(const double *a, size_t na, const double *b, size_t nb,
                stats_ttest *out);
/* stats_welch without the confidence interval (ci_low, ci_high NAN), about 10x
 * cheaper: for pages that show only the p-value. The rest of *out is identical. */
int stats_welch_test(const double *a, size_t na, const double *b, size_t nb, stats_ttest *out);

/* Mann-Whitney U test (Wilcoxon rank-sum) of a (baseline) against b
 * (candidate), normal approximation with tie-corrected variance and a 0.5
 * continuity correction of 0.5 toward the null mean (R's wilcox.test(b, a,
 * exact=FALSE, correct=TRUE) agrees whenever |u - na*nb/2| >= 0.5).
 * *u is U for b: the number of pairs (a_i, b_j) with b_j > a_i, ties
 * counting 1/2 (= rank sum of b - nb(nb+1)/2); its null mean is na*nb/2.
 * *p_less is for H1 "b tends to be smaller than a" (small u), *p_greater for
 * "b tends to be larger", *p_two_sided for either (min(1, twice the tail
 * beyond |u - na*nb/2| - 0.5)). If every value is tied the variance is 0 and
 * all p-values are 1. Any output pointer may be NULL. Returns 0, or -1 if na
 * or nb is 0 (outputs untouched). */
int stats_mannwhitney(const double *a, size_t na, const double *b, size_t nb,
                      double *u, double *p_two_sided, double *p_less,
                      double *p_greater);

#endif
