/* rules.h -- the decision rules of the analyzer: given a baseline and a
 * candidate for one metric, is it a regression, an improvement, a pass, or
 * not enough to say? Pure functions over numbers, shared by `analyze`
 * (warehouse), `compare` (files) and the quality benchmark. */
#ifndef RB_RULES_H
#define RB_RULES_H

#include <stddef.h>

/* The rules on offer; RULE_DEFAULT is the one verdicts use unless the
 * thresholds configuration says otherwise (docs/analysis.md). Every rule but
 * RULE_THRESHOLD also needs the relative change beyond the threshold, in the
 * same direction (threshold 0: any change). Every rule treats a baseline of
 * zeros alike (test "from-zero"): any move away from 0 is the change. */
enum rule {
    RULE_DEFAULT,       /* candidate median outside the (log-scale) prediction interval of the
                         * trimmed baseline run medians + Mann-Whitney gate + threshold */
    RULE_THRESHOLD,     /* relative change of the mean beyond the threshold */
    RULE_ZSCORE,        /* candidate mean vs baseline run means, |z| beyond a limit */
    RULE_WELCH,         /* one-sided Welch's t-test on per-iteration samples + threshold */
    RULE_PI,            /* candidate run mean outside the prediction interval of baseline run means */
    RULE_MWU,           /* one-sided Mann-Whitney U on per-iteration samples + threshold */
    RULE_IQR,           /* candidate median outside Q1 - k*IQR .. Q3 + k*IQR of baseline run medians */
    RULE__MAX
};
extern const char *const rule_name[RULE__MAX];   /* "default", "threshold", "zscore", ... */
/* Looks a rule up by name; -1 if unknown. */
int rule_find(const char *name);

enum judge_status { J_PASS, J_REGRESSION, J_IMPROVEMENT, J_INSUFFICIENT };

typedef struct judge_input {
    /* Per-iteration samples of the baseline runs, pooled, and the run each
     * belongs to (0..n_runs-1), so rules can use run means or medians. */
    const double *base;
    const int *base_run;
    size_t n_base;
    int n_base_runs;
    const double *cand;         /* the candidate run's per-iteration samples */
    size_t n_cand;
    int higher_is_better;       /* throughput 1; latency, cost, errors 0 */
    double threshold;           /* practical threshold, relative (0.05 = 5%) */
    double alpha;               /* significance level, one-sided */
    double limit;               /* rule parameter: z limit (RULE_ZSCORE, default 3), IQR k
                                 * (RULE_IQR, default 1.5); 0 = the default */
    int min_baseline_runs;      /* below: J_INSUFFICIENT */
} judge_input;

typedef struct judgement {
    enum judge_status status;
    char test[48];              /* what was applied, e.g. "mann-whitney+threshold" */
    double p_value;             /* NAN when the rule has none */
    double change;              /* relative change of the central value (candidate vs baseline) */
    double ci_low, ci_high;     /* confidence interval of the change, relative; NAN if none */
    double baseline_center, candidate_center; /* the values compared (mean or median) */
    double statistic;           /* t, z, U... whatever the rule computed; NAN if none */
} judgement;

/* Applies rule r to in and fills out. J_INSUFFICIENT when fewer than
 * max(1, min_baseline_runs) baseline runs have samples, or fewer than 2
 * baseline or candidate samples (p_value, change and CI NAN; the centers are
 * then the medians). Pure and thread-safe. 0, or -1 for an unusable input (no
 * candidate samples, r out of range); out->status is then J_INSUFFICIENT. */
int rule_judge(enum rule r, const judge_input *in, judgement *out);

#endif
