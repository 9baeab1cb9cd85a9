/* modes.h -- the same operations across deployment modes: the latest results of
 * each deployment (mode, client region, server region) of a branch, side by
 * side, with the overhead each mode adds over "single" and the cost per
 * operation. Shared by the /modes page and `redbench report`. */
#ifndef RB_MODES_H
#define RB_MODES_H

#include <cjson/cJSON.h>
#include <sqlite3.h>

/* How many of a branch's latest runs are searched for deployments: a mode
 * not measured in that many runs of the branch is left out (bounds the work
 * on a large warehouse). */
#define MODES_MAX_RUNS 1000

/* The latest run of one deployment (modes_latest_runs); strings owned by the array. */
struct modes_run {
    char *mode, *client_region, *server_region, *preset, *run_id, *started_at;
};

/* Finds, among the branch's latest MODES_MAX_RUNS runs (by started_at), the
 * latest run (greatest started_at, then id) of every deployment that holds
 * results: a deployment is (mode, client_region, server_region), and also
 * target_preset when by_preset; skip_lab: results of lab scenarios
 * (persistence-recovery, chaos) do not count. One seek per deployment in the
 * index runs_by_deployment (migrations/0011_page_indexes.sql). Returns 0 and
 * *out (n_out entries, in no particular order; free with modes_runs_free;
 * NULL when none), or -1 with err filled (RB_ERR_LEN bytes). */
int modes_latest_runs(sqlite3 *db, const char *project, const char *branch, int by_preset, int skip_lab,
                      struct modes_run **out, size_t *n_out, char *err);

/* Frees n entries of runs and the array (NULL is fine). */
void modes_runs_free(struct modes_run *runs, size_t n);

/* Builds the modes summary of project/branch from the warehouse db (any
 * connection; read only). For every deployment — a distinct (mode,
 * client_region, server_region) among the branch's latest MODES_MAX_RUNS runs
 * that hold results —
 * its latest run (greatest started_at, then id) is taken; its results are
 * grouped by operation and parameters. Returns a cJSON object the caller owns
 * (cJSON_Delete), or NULL with err filled (RB_ERR_LEN bytes). An empty branch
 * gives empty arrays, not an error.
 *
 * Shape (numbers are JSON numbers; "null" where unknown):
 * {
 *   "project": "p", "branch": "main",
 *   "deployments": [            // ordered by mode (rb_modes order), client, server region
 *     {"mode": "client-server", "client_region": "fra", "server_region": "iad",
 *      "run_id": "...", "started_at": "RFC 3339", "commit": "sha", "preset": "performance-1x",
 *      "results": 12}
 *   ],
 *   "ops": [                    // ordered by scenario, op, concurrency, pipeline, value_size
 *     {"scenario": "get", "op": "get", "data_type": "string", "concurrency": 50,
 *      "pipeline": 1, "value_size": 64, "dataset_size": 10000,
 *      "params": "{}",          // extra series parameters, JSON text as stored
 *      "cells": [               // one per deployment that measured it, in deployments order
 *        {"mode": "...", "client_region": "...", "server_region": "...", "preset": "...",
 *         "run_id": "...", "result_id": 17, "series_key": "...", "status": "ok",
 *         "ops_per_sec": 81234.5, "p50_us": 310.2, "p99_us": 720.0,
 *         "errors": 0, "requests": 400000,
 *         "usd_per_mop": 0.0123 | null,      // cost_per_op view (docs/cost.md)
 *         "overhead": null | {               // null for mode single, or without a single cell
 *           "single_run_id": "...",
 *           "throughput_ratio": 0.42,        // ops_per_sec / single's ops_per_sec (null if single's is 0)
 *           "added_p50_us": 250.1,           // p50_us - single's p50_us (the network cost)
 *           "added_p99_us": 400.3},
 *         "metrics": {"replication_lag_us": 812.0, ...}}   // result_metrics; {} if none
 *      ]}
 *   ]
 * }
 * Operations match when scenario, op, data_type, concurrency, pipeline,
 * value_size, dataset_size and params are all equal. The single cell an
 * overhead is measured against is the one with the same server region if
 * there is one, else the most recently started single deployment's. */
cJSON *modes_summary(sqlite3 *db, const char *project, const char *branch, char *err);

/* modes_summary restricted to the results of operation op (NULL: all); the
 * deployments and their "results" counts are the same as unrestricted. */
cJSON *modes_summary_op(sqlite3 *db, const char *project, const char *branch, const char *op, char *err);

#endif
