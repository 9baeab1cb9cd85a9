/* thresholds.h -- analysis settings per scenario, operation and metric, and
 * static SLO limits: the `redbench.thresholds` line format, also stored per
 * project in the warehouse's `thresholds` table (docs/analysis.md,
 * "Thresholds file"). */
#ifndef RB_THRESHOLDS_H
#define RB_THRESHOLDS_H

#include <sqlite3.h>
#include <stddef.h>

#include "rules.h"

/* An ordered list of parsed lines; opaque. */
typedef struct thresholds thresholds;

/* An empty list; free with thresholds_free() (NULL is fine there). */
thresholds *thresholds_new(void);
void thresholds_free(thresholds *t);

/* Parses text in the file format and appends its lines, in order, after
 * those already held. source names the text in messages ("redbench.thresholds").
 * 0, or -1 with err "SOURCE:LINE: cause"; on error t is left as it was. */
int thresholds_parse(thresholds *t, const char *text, const char *source, char *err);

/* Reads the file at path (at most 1 MiB) and parses it; 0 or -1 with err. */
int thresholds_load_file(thresholds *t, const char *path, char *err);

/* Appends the warehouse's lines for project: the rows of table `thresholds`
 * whose project is '*' (by id), then those of project (by id); each row is
 * the line "SELECTOR SETTINGS". A warehouse without the table (older than
 * migration 4) has none. 0, or -1 with err naming the row. */
int thresholds_load_db(thresholds *t, sqlite3 *db, const char *project, char *err);

/* Appends copies of src's lines to t. */
void thresholds_append(thresholds *t, const thresholds *src);

/* Number of lines held (settings and SLO lines). */
size_t thresholds_count(const thresholds *t);

/* What a line's selector is matched against: a result and one metric. */
typedef struct th_subject {
    const char *scenario, *op, *series_key;
    const char *metric;     /* a metric name (analyze.h metric_info), or NULL for SLOs */
} th_subject;

/* The settings a line may set. */
enum th_field { TH_RULE, TH_THRESHOLD, TH_ALPHA, TH_LIMIT, TH_MIN_RUNS, TH__MAX };

typedef struct th_settings {
    int rule;               /* an enum rule, or TH_RULE_OFF: the metric is not judged */
    double threshold;       /* relative: 0.1 = 10% */
    double alpha;
    double limit;           /* the rule's parameter (rules.h); 0 = its default */
    int min_baseline_runs;
    /* Per field, the specificity of the line that set it (the number of
     * selector terms, 0 for a catch-all line), or -1 if no line did. */
    int spec[TH__MAX];
} th_settings;
#define TH_RULE_OFF (-1)

/* For each field, if some line matching subj sets it, copies the value of
 * the most specific such line into *s (equal specificity: the later line
 * wins) and records that line's specificity in s->spec; fields no line sets
 * keep the caller's value with spec -1. */
void thresholds_resolve(const thresholds *t, const th_subject *subj, th_settings *s);

enum slo_cmp { SLO_LT, SLO_LE, SLO_GT, SLO_GE };

typedef struct th_slo {
    char metric[32];        /* metric name */
    enum slo_cmp cmp;
    double limit;           /* in the metric's unit: µs, ops/s, errors */
    char text[96];          /* normalized, e.g. "p99_us < 5000" */
    char where[96];         /* "SOURCE:LINE" */
} th_slo;

/* The SLO lines whose selector matches subj (its metric is ignored), one per
 * call: start with *iter = 0; NULL after the last. */
const th_slo *thresholds_next_slo(const thresholds *t, const th_subject *subj, size_t *iter);

/* 1 if value meets the SLO. */
int th_slo_met(const th_slo *s, double value);

#endif
