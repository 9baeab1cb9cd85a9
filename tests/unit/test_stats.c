/* test_stats.c -- unit tests for lib/stats: descriptive statistics, the t and
 * normal distributions, Welch's t-test and the Mann-Whitney U test.
 *
 * Reference values not derivable by hand were computed with mpmath at 40
 * digits: t CDFs by direct quadrature of the t density (independent of any
 * incomplete-beta code), t quantiles by root-finding on that quadrature,
 * betai with mpmath.betainc (cross-checked by quadrature of the beta
 * integrand). R equivalents are given where they exist. */
#include <math.h>
#include <stdlib.h>

#include "stats.h"
#include "testhelp.h"

#define N(arr) (sizeof(arr) / sizeof((arr)[0]))

static const double PI = 3.14159265358979323846;

static void test_mean_variance(void)
{
    /* mean 5, sum of squared deviations 32, sample variance 32/7. */
    const double x[] = {2, 4, 4, 4, 5, 5, 7, 9};
    /* Large offset: a one-pass sum-of-squares formula would lose the answer. */
    const double big[] = {1e9 + 1, 1e9 + 2, 1e9 + 3};
    const double same[] = {3.5, 3.5, 3.5};
    const double one[] = {42};

    CHECK_NEAR(stats_mean(x, N(x)), 5.0, 1e-15);
    CHECK_NEAR(stats_variance(x, N(x)), 32.0 / 7.0, 1e-14);
    CHECK_NEAR(stats_stddev(x, N(x)), sqrt(32.0 / 7.0), 1e-14);
    CHECK_NEAR(stats_mean(big, N(big)), 1e9 + 2, 1e-6);
    CHECK_NEAR(stats_variance(big, N(big)), 1.0, 1e-9);

    CHECK(stats_variance(same, N(same)) == 0);
    CHECK(stats_stddev(same, N(same)) == 0);
    CHECK(stats_mean(same, N(same)) == 3.5);

    /* Edge cases: n = 1 and n = 0. */
    CHECK(stats_mean(one, 1) == 42);
    CHECK(stats_variance(one, 1) == 0);
    CHECK(stats_stddev(one, 1) == 0);
    CHECK(isnan(stats_mean(NULL, 0)));
    CHECK(stats_variance(NULL, 0) == 0);
}

static void test_median_quantile(void)
{
    const double even[] = {9, 2, 5, 4, 4, 7, 4, 5}; /* sorted: 2 4 4 4 5 5 7 9 */
    const double odd[] = {3, 1, 2};
    const double four[] = {4, 1, 3, 2};
    const double one[] = {6.25};
    double copy[N(even)];

    memcpy(copy, even, sizeof copy);
    CHECK_NEAR(stats_median(even, N(even)), 4.5, 0);
    CHECK(memcmp(copy, even, sizeof copy) == 0); /* input not reordered */
    CHECK(stats_median(odd, N(odd)) == 2);
    CHECK(odd[0] == 3 && odd[1] == 1 && odd[2] == 2);

    /* Type 7 by hand (R's quantile(x, c(.25, .9)) uses the same rule):
     * h = 7q; q=.25 -> h=1.75 -> 4 + .75*(4-4); q=.9 -> h=6.3 -> 7 + .3*(9-7). */
    CHECK_NEAR(stats_quantile(even, N(even), 0.25), 4.0, 1e-15);
    CHECK_NEAR(stats_quantile(even, N(even), 0.9), 7.6, 1e-14);
    CHECK(stats_quantile(even, N(even), 0) == 2);
    CHECK(stats_quantile(even, N(even), 1) == 9);
    /* {1,2,3,4}: h = 3q; q=.1 -> 1.3, q=.5 -> 2.5, q=.75 -> 3.25. */
    CHECK_NEAR(stats_quantile(four, N(four), 0.1), 1.3, 1e-15);
    CHECK_NEAR(stats_quantile(four, N(four), 0.5), 2.5, 1e-15);
    CHECK_NEAR(stats_quantile(four, N(four), 0.75), 3.25, 1e-15);

    CHECK(stats_median(one, 1) == 6.25);
    CHECK(stats_quantile(one, 1, 0.3) == 6.25);
    CHECK(isnan(stats_median(NULL, 0)));
    CHECK(isnan(stats_quantile(NULL, 0, 0.5)));
    CHECK(isnan(stats_quantile(four, N(four), -0.1)));
    CHECK(isnan(stats_quantile(four, N(four), 1.1)));
    CHECK(isnan(stats_quantile(four, N(four), NAN)));
}

static void test_betai(void)
{
    static const double xs[] = {0.01, 0.2, 0.37, 0.5, 0.81, 0.999};
    size_t i;

    /* Closed forms: I_x(a,1) = x^a, I_x(1,b) = 1-(1-x)^b,
     * I_x(1/2,1/2) = (2/pi) asin(sqrt x), symmetry I_x(a,b) = 1 - I_{1-x}(b,a)
     * and I_{1/2}(a,a) = 1/2. */
    for (i = 0; i < N(xs); i++) {
        double x = xs[i];
        CHECK_NEAR(stats_betai(3.5, 1, x), pow(x, 3.5), 1e-14);
        CHECK_NEAR(stats_betai(1, 4.25, x), 1 - pow(1 - x, 4.25), 1e-14);
        CHECK_NEAR(stats_betai(0.5, 0.5, x), 2 / PI * asin(sqrt(x)), 1e-14);
        CHECK_NEAR(stats_betai(2.5, 7, x) + stats_betai(7, 2.5, 1 - x), 1, 1e-14);
        CHECK_NEAR(stats_betai(40, 0.5, x) + stats_betai(0.5, 40, 1 - x), 1, 1e-14);
    }
    CHECK_NEAR(stats_betai(7.3, 7.3, 0.5), 0.5, 1e-14);
    CHECK_NEAR(stats_betai(1000, 1000, 0.5), 0.5, 1e-12);

    /* I_0.4(2,3) = P(Bin(4, 0.4) >= 2) = 6*.4^2*.6^2 + 4*.4^3*.6 + .4^4 = 0.5248. */
    CHECK_NEAR(stats_betai(2, 3, 0.4), 0.5248, 1e-14);
    /* mpmath betainc (R equivalent: pbeta(x, a, b)). */
    CHECK_NEAR(stats_betai(0.5, 5.5, 0.2), 0.874533103589281316553, 1e-13);
    CHECK_NEAR(stats_betai(30, 40, 0.45), 0.644748008558568112811, 1e-12);
    CHECK_NEAR(stats_betai(2.5, 0.5, 0.999), 0.946342345308186431193, 1e-13);

    CHECK(stats_betai(2, 3, 0) == 0);
    CHECK(stats_betai(2, 3, -1) == 0);
    CHECK(stats_betai(2, 3, 1) == 1);
    CHECK(isnan(stats_betai(0, 3, 0.5)));
    CHECK(isnan(stats_betai(2, -1, 0.5)));
    CHECK(isnan(stats_betai(2, 3, NAN)));
}

static void test_normal_cdf(void)
{
    /* mpmath erfc at 40 digits (R equivalent: pnorm(1.96), pnorm(-3)). */
    CHECK_NEAR(stats_normal_cdf(1.96), 0.97500210485177957, 1e-15);
    CHECK_NEAR(stats_normal_cdf(-3), 0.00134989803163009453, 1e-17);
    CHECK(stats_normal_cdf(0) == 0.5);
    CHECK(stats_normal_cdf(INFINITY) == 1);
    CHECK(stats_normal_cdf(-INFINITY) == 0);
}

static void test_t_cdf(void)
{
    static const double ts[] = {-30, -2.5, -0.7, 0, 0.3, 1.9, 12};
    size_t i;

    /* mpmath quadrature of the t density (R equivalent: pt(t, df)). */
    CHECK_NEAR(stats_t_cdf(2.0, 10), 0.963305982614629817, 1e-13);
    CHECK_NEAR(stats_t_cdf(-1.5, 5), 0.0969518401212367161, 1e-13);
    CHECK_NEAR(stats_t_cdf(1.5, 5), 1 - 0.0969518401212367161, 1e-13);
    CHECK_NEAR(stats_t_cdf(1, 3.5), 0.809331373218277231, 1e-13);   /* fractional df */
    CHECK_NEAR(stats_t_cdf(-3, 24.5), 0.00305998782246794319, 1e-15);

    /* Closed forms: df=1 is Cauchy, 1/2 + atan(t)/pi; df=2 is
     * 1/2 + t / (2 sqrt(2 + t^2)). */
    for (i = 0; i < N(ts); i++) {
        double t = ts[i];
        CHECK_NEAR(stats_t_cdf(t, 1), 0.5 + atan(t) / PI, 1e-14);
        CHECK_NEAR(stats_t_cdf(t, 2), 0.5 + t / (2 * sqrt(2 + t * t)), 1e-14);
    }

    /* Large df approaches the normal (Phi(2.5) = 0.99379033467422386), and
     * must still be exact, not just close: a naive lgamma-based betai is off
     * by 1e-8 at df = 1e9 and 1e-6 at df = 1e12. References by mpmath
     * (betainc at 50 digits, and quadrature for the far tail). */
    CHECK_NEAR(stats_t_cdf(2.5, 1e6), 0.993790255248918377, 1e-13);
    CHECK_NEAR(stats_t_cdf(1.96, 1e9), 0.9750021047131352, 1e-14);
    CHECK_NEAR(stats_t_cdf(1.96, 1e12), 0.975002104851641, 1e-13);
    CHECK_NEAR(stats_t_cdf(-1.2, 1e12), 0.11506967022185041, 1e-14);
    CHECK_NEAR(stats_t_cdf(-5, 1e8) / 2.866520550633643e-07, 1, 1e-7); /* relative */
    CHECK_NEAR(stats_t_cdf(1.96, 1e15), stats_normal_cdf(1.96), 1e-12);
    CHECK(stats_t_cdf(1.96, INFINITY) == stats_normal_cdf(1.96));

    CHECK(stats_t_cdf(0, 7) == 0.5);
    CHECK(stats_t_cdf(INFINITY, 3) == 1);
    CHECK(stats_t_cdf(-INFINITY, 3) == 0);
    CHECK(isnan(stats_t_cdf(1, 0)));
    CHECK(isnan(stats_t_cdf(1, -2)));
    CHECK(isnan(stats_t_cdf(NAN, 2)));
}

static void test_t_quantile(void)
{
    static const double ps[] = {0.001, 0.025, 0.3, 0.5, 0.8, 0.975, 0.9999};
    static const double dfs[] = {1, 2, 3.7, 10, 24.98852929, 300, 1e6, 1e10};
    size_t i, j;

    /* Critical values (R equivalent: qt(p, df)) by root-finding on the
     * mpmath quadrature; qnorm(0.975) = 1.95996398454005424. */
    CHECK_NEAR(stats_t_quantile(0.975, 10), 2.22813885198627422, 1e-12);
    CHECK_NEAR(stats_t_quantile(0.975, 7), 2.36462425159278534, 1e-12);
    CHECK_NEAR(stats_t_quantile(0.025, 7), -2.36462425159278534, 1e-12);
    CHECK_NEAR(stats_t_quantile(0.9, 2.5), 1.73025092880717659, 1e-12);
    CHECK_NEAR(stats_t_quantile(0.999, 1.5), 52.1844300089926167, 1e-9);
    CHECK_NEAR(stats_t_quantile(0.975, INFINITY), 1.95996398454005424, 1e-12);

    /* Closed forms: df=1 tan(pi(p-1/2)); df=2 (2p-1)/sqrt(2p(1-p)). */
    for (i = 0; i < N(ps); i++) {
        double p = ps[i];
        CHECK_NEAR(stats_t_quantile(p, 1), tan(PI * (p - 0.5)),
                   1e-12 * fmax(1, fabs(tan(PI * (p - 0.5)))));
        CHECK_NEAR(stats_t_quantile(p, 2), (2 * p - 1) / sqrt(2 * p * (1 - p)), 1e-12);
    }
    /* Round trip through the CDF. */
    for (i = 0; i < N(ps); i++)
        for (j = 0; j < N(dfs); j++)
            CHECK_NEAR(stats_t_cdf(stats_t_quantile(ps[i], dfs[j]), dfs[j]), ps[i], 1e-13);

    CHECK(stats_t_quantile(0.5, 4) == 0);
    CHECK(stats_t_quantile(0, 4) == -INFINITY);
    CHECK(stats_t_quantile(1, 4) == INFINITY);
    CHECK(isnan(stats_t_quantile(1.5, 4)));
    CHECK(isnan(stats_t_quantile(-0.1, 4)));
    CHECK(isnan(stats_t_quantile(0.5, 0)));
}

/* Wikipedia "Welch's t-test", example 1 (A1, A2). Wikipedia reports
 * t = -2.46, df = 24.99, p = 0.021 for A1 - A2; our convention is b - a, so
 * t is positive. Exact values (mpmath, 40 digits, t CDF by quadrature):
 *   mean_a = 20.82, mean_b = 22.98666..., var_a = 7.867428571..., var_b = 3.812666...
 *   t = 2.45535639828600506, df = 24.9885292902314144,
 *   p_two = 0.0213780014628670325, p_greater = 0.0106890007314335162,
 *   t_0.975(df) = 2.05958649136562572, CI = [0.349237066192405229, 3.98409626714092810]
 * (R equivalent: t.test(b, a), Welch being its default.) */
static const double welch_a[] = {27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1,
                                 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4};
static const double welch_b[] = {27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0,
                                 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4};

static void test_welch_example(void)
{
    stats_ttest r, s;

    CHECK(stats_welch(welch_a, N(welch_a), welch_b, N(welch_b), &r) == 0);
    CHECK_NEAR(r.mean_a, 20.82, 1e-12);
    CHECK_NEAR(r.mean_b, 22.9866666666666667, 1e-12);
    CHECK_NEAR(r.diff, 2.1666666666666667, 1e-12);
    CHECK_NEAR(r.t, 2.45535639828600506, 1e-10);
    CHECK_NEAR(r.df, 24.9885292902314144, 1e-9);
    CHECK_NEAR(r.p_two_sided, 0.0213780014628670325, 1e-11);
    CHECK_NEAR(r.p_greater, 0.0106890007314335162, 1e-11);
    CHECK_NEAR(r.p_less, 1 - 0.0106890007314335162, 1e-11);
    CHECK_NEAR(r.ci_low, 0.349237066192405229, 1e-9);
    CHECK_NEAR(r.ci_high, 3.98409626714092810, 1e-9);
    /* The precision the Wikipedia page itself gives. */
    CHECK_NEAR(r.t, 2.46, 0.005);
    CHECK_NEAR(r.df, 24.99, 0.005);
    CHECK_NEAR(r.p_two_sided, 0.021, 0.0005);

    /* Without the interval: every other field equal to the last bit. */
    stats_ttest w;
    CHECK(stats_welch_test(welch_a, N(welch_a), welch_b, N(welch_b), &w) == 0);
    CHECK(w.t == r.t && w.df == r.df && w.diff == r.diff && w.mean_a == r.mean_a);
    CHECK(w.p_two_sided == r.p_two_sided && w.p_less == r.p_less && w.p_greater == r.p_greater);
    CHECK(isnan(w.ci_low) && isnan(w.ci_high));
    CHECK(stats_welch_test(welch_a, 1, welch_b, N(welch_b), &w) == -1);

    /* Swapping the samples mirrors everything. */
    CHECK(stats_welch(welch_b, N(welch_b), welch_a, N(welch_a), &s) == 0);
    CHECK_NEAR(s.t, -r.t, 1e-12);
    CHECK_NEAR(s.df, r.df, 1e-12);
    CHECK_NEAR(s.p_two_sided, r.p_two_sided, 1e-15);
    CHECK_NEAR(s.p_less, r.p_greater, 1e-15);
    CHECK_NEAR(s.p_greater, r.p_less, 1e-15);
    CHECK_NEAR(s.ci_low, -r.ci_high, 1e-12);
    CHECK_NEAR(s.ci_high, -r.ci_low, 1e-12);
}

static void test_welch_edge(void)
{
    const double c1[] = {5, 5, 5}, c2[] = {5, 5, 5, 5}, c3[] = {7, 7};
    const double v[] = {1, 2, 3, 4};
    stats_ttest r;

    /* Too few values: -1, out untouched. */
    memset(&r, 0x5a, sizeof r);
    CHECK(stats_welch(c1, 1, v, 4, &r) == -1);
    CHECK(stats_welch(v, 4, c1, 1, &r) == -1);
    CHECK(stats_welch(v, 0, v, 4, &r) == -1);
    {
        stats_ttest poison;
        memset(&poison, 0x5a, sizeof poison);
        CHECK(memcmp(&r, &poison, sizeof r) == 0);
    }

    /* Both variances 0, equal means: t = 0, p = 1. */
    CHECK(stats_welch(c1, N(c1), c2, N(c2), &r) == 0);
    CHECK(r.t == 0 && r.diff == 0);
    CHECK(r.p_two_sided == 1 && r.p_less == 1 && r.p_greater == 1);
    CHECK(r.ci_low == 0 && r.ci_high == 0);
    CHECK(r.df == 5);

    /* Both variances 0, b larger: t = +inf, p_greater = 0. */
    CHECK(stats_welch(c1, N(c1), c3, N(c3), &r) == 0);
    CHECK(isinf(r.t) && r.t > 0);
    CHECK(r.diff == 2 && r.ci_low == 2 && r.ci_high == 2);
    CHECK(r.p_two_sided == 0 && r.p_greater == 0 && r.p_less == 1);

    /* b smaller: t = -inf, p_less = 0. */
    CHECK(stats_welch(c3, N(c3), c1, N(c1), &r) == 0);
    CHECK(isinf(r.t) && r.t < 0);
    CHECK(r.p_two_sided == 0 && r.p_less == 0 && r.p_greater == 1);

    /* One variance 0: df reduces to n-1 of the other sample. v: mean 2.5,
     * var 5/3, se^2 = 5/12; c1 mean 5: t = 2.5/sqrt(5/12), df = 3. */
    CHECK(stats_welch(v, N(v), c1, N(c1), &r) == 0);
    CHECK_NEAR(r.df, 3, 1e-12);
    CHECK_NEAR(r.t, 2.5 / sqrt(5.0 / 12), 1e-12);
    CHECK_NEAR(r.p_greater, 1 - stats_t_cdf(r.t, 3), 1e-15);
    CHECK_NEAR(r.p_two_sided, 2 * r.p_greater, 1e-15);
}

/* a = {1,2,3,3,5}, b = {3,4,5,6}; derivation by hand:
 * combined sorted 1a 2a 3a 3a 3b 4b 5a 5b 6b, ranks 1 2 4 4 4 6 7.5 7.5 9.
 * Rank sum of b = 4 + 6 + 7.5 + 9 = 26.5, U_b = 26.5 - 4*5/2 = 16.5
 * (pairwise: b=3 beats 1,2 and ties 3,3 -> 3; b=4 -> 4; b=5 -> 4.5; b=6 -> 5).
 * Null mean 5*4/2 = 10; ties: one run of 3 and one of 2, sum(t^3-t) = 24+6 = 30;
 * var = 20/12 * (10 - 30/(9*8)) = 575/36, sd = sqrt(575)/6 = 3.99652626942727.
 * p_greater = 1 - Phi((16.5-10-0.5)/sd) = 1 - Phi(1.50130380) = 0.0666385037212468
 * p_less    = Phi((16.5-10+0.5)/sd)     = Phi(1.75152110)     = 0.960071903113242
 * p_two     = 2 * 0.0666385037212468 = 0.133277007442494
 * (R's wilcox.test(b, a, exact=FALSE) uses the same statistic, W = U_b, and
 * the same approximation.) The p-values were re-checked with mpmath. */
static void test_mannwhitney(void)
{
    const double a[] = {1, 2, 3, 3, 5}, b[] = {3, 4, 5, 6};
    const double same[] = {2, 2, 2};
    double u, pt, pl, pg, u2, pt2, pl2, pg2;

    CHECK(stats_mannwhitney(a, N(a), b, N(b), &u, &pt, &pl, &pg) == 0);
    CHECK_NEAR(u, 16.5, 0);
    CHECK_NEAR(pg, 0.0666385037212467604, 1e-14);
    CHECK_NEAR(pl, 0.960071903113241772, 1e-14);
    CHECK_NEAR(pt, 0.133277007442493521, 1e-14);

    /* Swapped: U_a = na*nb - U_b = 3.5, one-sided p-values swap. */
    CHECK(stats_mannwhitney(b, N(b), a, N(a), &u2, &pt2, &pl2, &pg2) == 0);
    CHECK_NEAR(u2, 3.5, 0);
    CHECK_NEAR(pl2, pg, 1e-15);
    CHECK_NEAR(pg2, pl, 1e-15);
    CHECK_NEAR(pt2, pt, 1e-15);

    /* NULL outputs are allowed. */
    CHECK(stats_mannwhitney(a, N(a), b, N(b), NULL, &pt2, NULL, NULL) == 0);
    CHECK(pt2 == pt);

    /* All tied: zero variance, p = 1; u = nb*na/2. */
    CHECK(stats_mannwhitney(same, N(same), same, 2, &u, &pt, &pl, &pg) == 0);
    CHECK(u == 3 && pt == 1 && pl == 1 && pg == 1);

    /* |u - mu| < 0.5 after correction clamps the two-sided p at 1:
     * a = {1,3}, b = {2}: u = 1 = mu. */
    {
        const double x[] = {1, 3}, y[] = {2};
        CHECK(stats_mannwhitney(x, 2, y, 1, &u, &pt, NULL, NULL) == 0);
        CHECK(u == 1 && pt == 1);
    }

    u = -1;
    CHECK(stats_mannwhitney(a, 0, b, N(b), &u, &pt, &pl, &pg) == -1);
    CHECK(stats_mannwhitney(a, N(a), b, 0, &u, &pt, &pl, &pg) == -1);
    CHECK(u == -1);
}

int main(void)
{
    RUN(test_mean_variance);
    RUN(test_median_quantile);
    RUN(test_betai);
    RUN(test_normal_cdf);
    RUN(test_t_cdf);
    RUN(test_t_quantile);
    RUN(test_welch_example);
    RUN(test_welch_edge);
    RUN(test_mannwhitney);
    return TH_DONE();
}
