/* changepoint.h -- E-Divisive-means change point detection over a series of
 * numbers (Matteson & James 2014; Student's t-test significance and merge step
 * as Hunter / Apache Otava do), and the warehouse's change_points table.
 * docs/changepoints.md explains the algorithm, its parameters and defaults. */
#ifndef RB_CHANGEPOINT_H
#define RB_CHANGEPOINT_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

#define CP_DEFAULT_ALPHA 0.005      /* t-test, two-sided, corrected for the choice of split */
#define CP_DEFAULT_PERM_ALPHA 0.05  /* permutation test (as R's ecp) */
#define CP_DEFAULT_MIN_SEGMENT 3
#define CP_DEFAULT_SEED 20140101u
#define CP_MAX_PERMUTATIONS 100000
/* cp_refresh_series looks at most this many runs back. */
#define CP_HISTORY_RUNS 500

typedef struct cp_opts {
    double alpha;          /* a change point needs p <= alpha; default CP_DEFAULT_ALPHA */
    size_t min_segment;    /* fewest points on either side of a change point (>= 1);
                              default CP_DEFAULT_MIN_SEGMENT */
    unsigned permutations; /* 0 (default): Student's t-test between the two segments,
                              Hunter's split-then-merge; N: permutation test of the
                              E-Divisive statistic with N shuffles (<= CP_MAX_PERMUTATIONS),
                              then alpha must be >= 1/(N+1) */
    uint64_t seed;         /* the shuffles' seed: the same input gives the same answer */
    size_t window;         /* 0 (default): bisect the whole series; W: Hunter's sliding
                              windows of W points, step W/2 (W >= 2 * min_segment) */
    double min_change;     /* also drop change points whose |relative change of the
                              mean| is below this (0.05 = 5%); default 0 */
    int no_correction;     /* t-test: 1 = raw p-values as Hunter/Otava report them;
                              default 0 = multiplied by the number of admissible splits
                              of the segment tested (Bonferroni), capped at 1 */
} cp_opts;

/* Fills o with the defaults above (t-test). */
void cp_opts_default(cp_opts *o);

typedef struct cp_point {
    size_t index;          /* 0-based position in the input of the first value of the
                              new segment; NaN positions count (see cp_detect) */
    double mean_before;    /* mean of the segment ending here (from the previous change point) */
    double mean_after;     /* mean of the segment starting here (up to the next one) */
    double sd_before, sd_after; /* sample standard deviations (n-1); 0 for one value */
    size_t n_before, n_after;   /* values in those segments (NaN not counted) */
    double change;         /* mean_after / mean_before - 1; NAN if mean_before is 0 */
    double p_value;        /* two-sided Student's t-test of the two segments (corrected
                              unless opts.no_correction), or the permutation p-value */
    double qhat;           /* the E-Divisive statistic of the split that found it */
} cp_point;

/* Finds the change points of x[0..n-1]: positions where the distribution's mean
 * shifted. NaN and infinite values are missing data: left out of every
 * computation, but indices are positions in x, so a change point's index is the
 * position of the first non-missing value of its segment. Writes the first
 * max_out change points, in increasing index order, to out (which may be NULL
 * if max_out is 0); there are never more than n / min_segment of them.
 * Returns how many were found (possibly more than max_out), or -1 with err if
 * the options are invalid. Fewer than 2 * min_segment values, or a constant
 * series, give 0. Deterministic, thread-safe, allocation failure aborts. */
int cp_detect(const double *x, size_t n, const cp_opts *o, cp_point *out, size_t max_out,
              char *err);

/* The E-Divisive statistic for every split of x[0..n-1] (no NaN):
 * q[t] = Q(x[0..t-1], x[t..n-1]) for 1 <= t <= n-1, with
 * Q(X, Y) = (|X||Y| / (|X|+|Y|)) * (2 mean|X_i - Y_j| - mean|X_i - X_k| - mean|Y_j - Y_k|),
 * the within-sample means over pairs i < k (a term is 0 for one value).
 * q[0] and q[n] (if n > 0) are set to 0; q has n + 1 elements. O(n log n).
 * Exposed for tests and for comparison with other implementations. */
void cp_energy(const double *x, size_t n, double *q);

/* Parses a series: a JSON array of numbers and nulls (null = NaN), or text with
 * one number per line (an optional header line first, empty lines skipped,
 * "NaN"/"null"/"NA" = NaN, one column only, values may be in double quotes,
 * trailing CR ignored). On success *out is a malloc'd array the caller frees
 * and *n its length; returns 0. Returns -1 with err naming the line (or JSON
 * element) of the first problem. */
int cp_parse_series(const char *text, size_t len, double **out, size_t *n, char *err);

/* ---- The warehouse (table change_points, migrations/0003_change_points.sql) ---- */

/* Recomputes the change points of one series on one branch of a project, for
 * every metric (ops_per_sec, p50_us, p99_us: per run, the result's own summary
 * columns), over the last CP_HISTORY_RUNS runs ordered by
 * started_at (results with status ok or partial), with cp_opts_default(), and
 * replaces that series' rows in change_points from the oldest of those runs on
 * (older rows stay; detected_at of change points found before is kept). A
 * series with no such runs is left alone. Writes through db inside a
 * transaction the caller owns. 0, or -1 with err. */
int cp_refresh_series(sqlite3 *db, const char *project, const char *branch,
                      const char *series_key, char *err);

/* cp_refresh_series for every series of run run_id, on that run's project and
 * branch (what the collector calls on ingest). 0, or -1 with err. */
int cp_refresh_run(sqlite3 *db, const char *run_id, char *err);

/* The latest change point (by its run's started_at) of a series and metric:
 * copies its run id, commit and started_at into the three buffers (each
 * RB_NAME_LEN bytes, any may be NULL). Returns 1 if found, 0 if the series has
 * none, -1 with err on an SQL error. */
int cp_since(sqlite3 *db, const char *project, const char *branch, const char *series_key,
             const char *metric, char *run_id_out, char *commit_out, char *started_out,
             char *err);

#endif
