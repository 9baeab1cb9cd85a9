/* model.h -- the result model (run, result, per-iteration sample) and its JSON
 * codec, documented in docs/result-format.md. */
#ifndef RB_MODEL_H
#define RB_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "hist.h"
#include "util.h"

#define RB_SCHEMA_VERSION 1
#define RB_NAME_LEN 64
/* Room for a series key: six names, four numbers and RB_MAX_PARAMS params. */
#define RB_SERIES_KEY_LEN 2048
#define RB_MAX_PARAMS 8
/* Results one run may hold (each carries a histogram of a few hundred KB in memory). */
#define RB_MAX_RESULTS 2000

/* A key/value pair of the target's config audit or of the command counts. */
typedef struct rb_kv {
    char key[RB_NAME_LEN];
    char value[RB_NAME_LEN];
} rb_kv;

/* Percentiles and latency summaries are kept in microseconds. */
typedef struct rb_sample {
    double ops_per_sec;
    uint64_t requests;
    uint64_t errors;
    double seconds;
    double p50_us;
    double p99_us;
} rb_sample;

/* Server-side deltas over a cell, from INFO; the table drives the JSON codec,
 * the warehouse columns (server_<name>) and the runner. */
enum srv_metric { SRV_CPU_USER_S, SRV_CPU_SYS_S, SRV_NET_IN_BYTES, SRV_NET_OUT_BYTES,
                  SRV_USED_MEMORY, SRV_USED_MEMORY_PEAK, SRV_EVICTIONS, SRV_KEYS,
                  SRV_KEYSPACE_HITS, SRV_KEYSPACE_MISSES, SRV__MAX };
struct srv_metric_info {
    const char *name;           /* JSON key and column suffix */
    const char *info_field;     /* INFO field it is the delta of ("" = computed) */
    int integral;
};
extern const struct srv_metric_info srv_metric_info[SRV__MAX];

typedef struct rb_server_delta {
    int present;                /* 0 when the server gave no INFO */
    double v[SRV__MAX];         /* gauges such as memory may go down: deltas can be negative */
} rb_server_delta;

/* A named number: scenario-specific metrics (delivery rate, lost messages...). */
typedef struct rb_metric {
    char name[RB_NAME_LEN];
    double value;
} rb_metric;

/* A result's status: ok; partial (interrupted, some iterations kept);
 * failed (error, see error); unsupported (the server lacks the command). */
extern const char *const rb_result_statuses[];

typedef struct rb_result {
    char status[16];            /* one of rb_result_statuses; "" reads as "ok" */
    char error[RB_ERR_LEN];     /* why it failed or is unsupported; "" if none */
    char scenario[RB_NAME_LEN];
    char op[RB_NAME_LEN];
    char data_type[RB_NAME_LEN];
    long concurrency, pipeline, value_size, dataset_size;
    uint64_t requests, errors;
    double ops_per_sec;         /* mean over samples */
    double p50_us, p90_us, p95_us, p99_us, p999_us, max_us, mean_us;
    hist *latency;              /* owned; merged over iterations, ns */
    char *latency_text;         /* owned; run_decode(RUN_DECODE_HIST_TEXT) only: the canonical
                                 * "h1:" encoding, latency then NULL; NULL otherwise */
    rb_sample *samples;         /* owned array of n_samples */
    size_t n_samples;
    rb_server_delta server;
    rb_kv *params; size_t n_params;        /* owned: extra series parameters (rate, ratio...) */
    rb_metric *metrics; size_t n_metrics;  /* owned: scenario-specific figures */
} rb_result;

typedef struct rb_run {
    char id[RB_NAME_LEN];
    char status[16];            /* complete, partial (interrupted) or failed; "" reads as complete */
    char project[RB_NAME_LEN], branch[RB_NAME_LEN], commit[RB_NAME_LEN];
    char mode[RB_NAME_LEN], client_region[RB_NAME_LEN], server_region[RB_NAME_LEN];
    char started_at[RB_NAME_LEN], ended_at[RB_NAME_LEN];   /* RFC 3339 UTC */
    char target_kind[RB_NAME_LEN], target_version[RB_NAME_LEN];
    char target_address[RB_NAME_LEN], target_preset[RB_NAME_LEN];
    rb_kv *config; size_t n_config;        /* owned */
    rb_kv *commands; size_t n_commands;    /* owned: commands sent, by name */
    char runner_version[RB_NAME_LEN], runner_host[RB_NAME_LEN];
    rb_result *results; size_t n_results;  /* owned */
} rb_run;

/* Modes a run may record; the table is the single source of truth. */
extern const char *const rb_modes[];

/* 1 if id is a usable run id: 1-63 letters, digits, '-' or '_'. */
int run_id_valid(const char *id);

void run_init(rb_run *r);
/* run_init, then what a runner records unless told otherwise: project
 * "default", branch $REDBENCH_BRANCH or "main", commit $REDBENCH_COMMIT or
 * $GITHUB_SHA or "", mode "single", regions and preset "local". */
void run_init_defaults(rb_run *r);
void run_cleanup(rb_run *r);
/* Appends a zeroed result to r and returns it (owned by r). */
rb_result *run_add_result(rb_run *r);
/* Adds or sets key in a kv array (owned by the caller's run). */
void kv_set(rb_kv **arr, size_t *n, const char *key, const char *value);
/* Adds delta to the integer value of key (creating it at 0). */
void kv_add(rb_kv **arr, size_t *n, const char *key, uint64_t delta);

/* The kv array as a JSON object text (numbers if numeric, else strings): malloc'd, caller frees. */
char *kv_json(const rb_kv *kv, size_t n, int numeric);

/* Sets metric name of res to value (adding it if new). */
void result_set_metric(rb_result *res, const char *name, double value);

/* Recomputes the result's summary (ops_per_sec from its samples; percentiles,
 * mean and max from its latency histogram when that holds values — an empty
 * histogram, as imported results have, leaves the given percentiles alone). */
void result_summarize(rb_result *res);

/* Writes the series key of res within run into out (RB_SERIES_KEY_LEN bytes):
 * the fields that make a series, extra params sorted by name
 * (docs/result-format.md). */
void result_series_key(const rb_run *run, const rb_result *res, char *out, size_t len);

/* A number as the run document writes it (out: 40 bytes): the fewest
 * digits, 15 to 17 ("%.15g" .. "%.17g"), that read back to v exactly, so a
 * decoded and re-encoded document is unchanged; "null" if not finite. */
void run_fmt_num(char *out, double v);

/* Encodes the run as JSON: a malloc'd string the caller frees. */
char *run_to_json(const rb_run *r, int pretty);

/* Decodes and validates a run document. On success fills r (which the caller
 * later run_cleanup()s) and returns 0; on failure returns -1 with err naming
 * the field ("results[2].concurrency: must be a positive integer") and leaves
 * r initialized but empty. */
int run_from_json(const char *json, size_t len, rb_run *r, char *err);

/* run_decode flags. RUN_DECODE_HIST_TEXT: for a run that is only passed
 * through (the collector's ingest): each result's histogram is validated and
 * summarized without being built; latency stays NULL and latency_text holds
 * its canonical encoding, which run_to_json and store_insert_run use as is.
 * The decoded figures equal run_from_json's. */
enum { RUN_DECODE_HIST_TEXT = 1 };
/* run_from_json with flags (0: the same as run_from_json). */
int run_decode(const char *json, size_t len, rb_run *r, unsigned flags, char *err);

#endif
