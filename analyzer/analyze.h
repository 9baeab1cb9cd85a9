/* analyze.h -- regression verdicts for a run against its baseline in the warehouse;
 * used by `redbench analyze` and by the collector on ingest. */
#ifndef RB_ANALYZE_H
#define RB_ANALYZE_H

#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdio.h>

#include "model.h"

/* The metrics a verdict is given on; the table below drives everything. */
enum metric { MET_OPS, MET_P50, MET_P99, MET__MAX };

struct metric_info {
    const char *name;          /* column in samples/results and verdicts.metric */
    const char *label;         /* for people */
    int higher_is_better;
    double default_threshold;  /* relative, 0.10 = 10% */
};
extern const struct metric_info metric_info[MET__MAX];

enum verdict_status { V_PASS, V_REGRESSION, V_IMPROVEMENT, V_INSUFFICIENT, V__MAX };
extern const char *const verdict_status_name[V__MAX];

typedef struct analyze_opts {
    char baseline_branch[64];   /* default "main" */
    int max_baseline_runs;      /* default 30 */
    int min_baseline_runs;      /* below: insufficient_baseline; default 2 */
    double alpha;               /* one-sided significance level; default 0.05 */
    double threshold[MET__MAX]; /* practical threshold per metric, relative */
} analyze_opts;

void analyze_opts_default(analyze_opts *o);
/* Sets every metric's threshold to t (relative). */
void analyze_opts_threshold_all(analyze_opts *o, double t);

typedef struct verdict {
    long long result_id;
    char series_key[RB_SERIES_KEY_LEN];
    char op[64];
    enum metric metric;
    enum verdict_status status;
    char test[32];
    double p_value;             /* one-sided, in the worse direction (or better, for improvements) */
    double change;              /* relative change of the mean, candidate vs baseline */
    double ci_low, ci_high;     /* 95% CI of the relative change */
    double baseline_mean, candidate_mean;
    int baseline_runs, baseline_samples, candidate_samples;
    double threshold, alpha;
} verdict;

typedef struct verdict_list {
    char run_id[64];
    char baseline_branch[64];
    verdict *v;
    size_t n;
} verdict_list;

void verdict_list_init(verdict_list *vl);
void verdict_list_cleanup(verdict_list *vl);
/* Counts verdicts with status st. */
size_t verdict_list_count(const verdict_list *vl, enum verdict_status st);

/* Computes verdicts for every result of run_id against its baseline (earlier
 * runs of the same series and project on o->baseline_branch, newest first, at
 * most max_baseline_runs, leaving out results with an untriaged regression
 * verdict). Reads only. 0, or -1 with err (unknown run, SQL error). */
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

enum out_format { FMT_TABLE, FMT_JSON, FMT_MARKDOWN };
/* Parses "table", "json", "markdown"; -1 if unknown. */
int out_format_parse(const char *s);
void verdicts_print(const verdict_list *vl, enum out_format f, FILE *out);

#endif
