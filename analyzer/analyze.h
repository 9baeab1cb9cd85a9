/* analyze.h -- regression verdicts for a run against its baseline in the warehouse;
 * used by `redbench analyze` and by the collector on ingest. */
#ifndef RB_ANALYZE_H
#define RB_ANALYZE_H

#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdio.h>

#include "model.h"

/* The metrics a verdict is given on; the table below drives everything. */
enum metric { MET_OPS, MET_P50, MET_P99, MET_ERRORS, MET__MAX };

struct metric_info {
    const char *name;          /* column in samples/results and verdicts.metric */
    const char *label;         /* for people */
    int higher_is_better;
    double default_threshold;  /* relative, 0.10 = 10% */
};
extern const struct metric_info metric_info[MET__MAX];

/* The per-iteration value of metric m in sample s (errors: the count). */
double metric_sample_value(enum metric m, const rb_sample *s);

enum verdict_status { V_PASS, V_REGRESSION, V_IMPROVEMENT, V_INSUFFICIENT, V__MAX };
extern const char *const verdict_status_name[V__MAX];

/* Defaults; the quality benchmark (bench/analyzer_quality.c) tuned them. */
#define ANALYZE_DEFAULT_ALPHA 0.005
#define ANALYZE_DEFAULT_MIN_RUNS 2
#define ANALYZE_DEFAULT_MAX_RUNS 30

/* Which analyze_opts fields a person set (command line, query string): those
 * beat the catch-all lines ('*') of thresholds configurations but not the
 * lines that name a scenario, operation, series or metric. */
enum { ANALYZE_SET_THRESHOLD = 1, ANALYZE_SET_ALPHA = 2, ANALYZE_SET_MIN_RUNS = 4,
       ANALYZE_SET_RULE = 8 };

struct thresholds;

typedef struct analyze_opts {
    char baseline_branch[64];   /* default "main" */
    int max_baseline_runs;      /* default 30 */
    int min_baseline_runs;      /* below: insufficient_baseline; default 2 */
    double alpha;               /* one-sided significance level; default ANALYZE_DEFAULT_ALPHA */
    double threshold[MET__MAX]; /* practical threshold per metric, relative */
    int rule;                   /* enum rule (rules.h); default RULE_DEFAULT */
    unsigned user_set;          /* ANALYZE_SET_* bits */
    char since[40];             /* "" or: baseline runs started at or after this (RFC 3339
                                 * or a prefix such as 2026-10-01) */
    int days;                   /* 0 or: baseline runs started at most this many days before
                                 * the candidate */
    const struct thresholds *th;/* borrowed; lines applied after the warehouse's own (a
                                 * redbench.thresholds file); NULL for none */
} analyze_opts;

void analyze_opts_default(analyze_opts *o);
/* 1 if s is usable as analyze_opts.since: "2026-10-01", "2026-10-01T12:00",
 * "2026-10-01T12:00:00.000Z" (a prefix of the stored RFC 3339 UTC form). */
int analyze_since_valid(const char *s);
/* Sets every metric's threshold to t (relative) and marks it set by a person. */
void analyze_opts_threshold_all(analyze_opts *o, double t);

/* One way the candidate's environment differs from its baseline's. */
typedef struct verdict_env {
    char field[80];             /* "server version", "config maxmemory-policy" ... */
    char baseline[192];         /* the baseline runs' values, "a" or "a (28), b (2)" */
    char candidate[96];
} verdict_env;

typedef struct verdict {
    long long result_id;
    char series_key[RB_SERIES_KEY_LEN];
    char op[64];
    enum metric metric;
    enum verdict_status status;
    char test[48];              /* the rule applied, e.g. "run-spread+mann-whitney+threshold"; "slo" */
    double p_value;             /* one-sided, in the worse direction (or better, for improvements) */
    double change;              /* relative change of the compared values, candidate vs baseline;
                                 * for an SLO: (value - limit) / limit */
    double ci_low, ci_high;     /* 95% CI of the relative change */
    double baseline_mean, candidate_mean; /* the values compared (mean or median, see test) */
    int baseline_runs, baseline_samples, candidate_samples;
    int min_baseline_runs;      /* what "insufficient" was measured against */
    double threshold, alpha;
    char slo[96];               /* test "slo": the limit, e.g. "p99_us < 5000"; else "" */
    double slo_limit;
    size_t env_first, env_n;    /* regressions: vl->env[env_first .. +env_n] */
    /* regressions: the latest change point of the series on the baseline
     * branch ("slower since run X / commit Y"); "" when there is none */
    char since_run[64], since_commit[64], since_at[64];
} verdict;

typedef struct verdict_list {
    char run_id[64];
    char baseline_branch[64];
    verdict *v;
    size_t n;
    verdict_env *env;           /* shared by the verdicts of a result */
    size_t n_env;
} verdict_list;

void verdict_list_init(verdict_list *vl);
void verdict_list_cleanup(verdict_list *vl);
/* Counts verdicts with status st. */
size_t verdict_list_count(const verdict_list *vl, enum verdict_status st);

/* Computes verdicts for every result of run_id (status ok or partial)
 * against its baseline: earlier runs of the same series and project on
 * o->baseline_branch, newest first, at most max_baseline_runs, within the
 * time window (since, days), leaving out results with an untriaged regression
 * verdict (SLO verdicts aside). Settings per result and metric come from the
 * warehouse's thresholds table for the run's project, then o->th, then o
 * (docs/analysis.md). One verdict per judged metric (errors only when the
 * candidate or its baseline has errors), plus one per matching SLO.
 * Regressions list how the environment differed. Reads only. 0, or -1 with
 * err (unknown run, SQL error, a bad thresholds row). */
int analyze_run(sqlite3 *db, const char *run_id, const analyze_opts *o, verdict_list *out,
                char *err);

/* Replaces the stored verdicts of vl->run_id with vl, through db inside the
 * caller's transaction. 0 or -1 with err. */
int analyze_save(sqlite3 *db, const verdict_list *vl, char *err);

/* JSON form: {"run_id", "baseline_branch", "summary": {...}, "verdicts": [...]}.
 * The caller owns the returned tree (cJSON_Delete). */
cJSON *verdicts_to_json(const verdict_list *vl);
/* Parses the JSON form back; 0 or -1 with err. */
int verdicts_from_json(const cJSON *j, verdict_list *vl, char *err);

enum out_format { FMT_TABLE, FMT_JSON, FMT_MARKDOWN, FMT_GITHUB };
/* Parses "table", "json", "markdown", "github"; -1 if unknown. */
int out_format_parse(const char *s);
/* Prints vl: a table, JSON, Markdown (for $GITHUB_STEP_SUMMARY) or GitHub
 * workflow commands (::error per regression, ::notice per improvement,
 * ::warning per result with an insufficient baseline) after the table. */
/* Table cells shared by analyze and compare: a relative change as "+12.3%",
 * a p-value as "0.0123" or "<0.0001"; "-" for NaN. */
void verdict_fmt_pct(char *out, size_t n, double x);
void verdict_fmt_p(char *out, size_t n, double p);
void verdicts_print(const verdict_list *vl, enum out_format f, FILE *out);

#endif
