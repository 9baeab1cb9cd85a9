/* bench.h -- load generation against a RESP server: one cell of the matrix,
 * measured over iterations, plus the server's INFO and config audit. */
#ifndef RB_BENCH_H
#define RB_BENCH_H

#include <signal.h>
#include <stdint.h>

#include "model.h"
#include "ops.h"

typedef struct bench_target {
    char *host;             /* owned */
    int port;
    const char *password;   /* NULL: no AUTH */
    int timeout_ms;         /* connect and per-command timeout */
} bench_target;

typedef struct bench_cell {
    const struct op_def *op;
    long concurrency, pipeline, value_size, dataset_size;
    double rate;            /* open loop: requests/s over all connections; 0 = closed loop */
} bench_cell;

typedef struct bench_limits {
    int iterations;
    uint64_t requests;      /* per iteration; 0 when duration bounds it */
    double duration_s;      /* per iteration; 0 when requests bound it */
    uint64_t warmup;        /* requests before the measured iterations */
    int threads;            /* engine worker threads */
    double read_ratio;      /* mixed operation: share of reads */
    enum key_dist dist;
    double zipf_theta;
    volatile sig_atomic_t *stop; /* Ctrl-C: end the current iteration, keep what finished */
    const char *key_tag;    /* when set, keys are "rb:<tag>:<op>:N": runners sharing a
                             * server (orchestrated workers) keep out of each other's keys */
} bench_limits;

/* Progress callback: called after each iteration (it is 0-based). */
typedef void (*bench_progress)(const bench_cell *cell, int it, int iterations, double ops_per_sec,
                               void *ud);

/* Prepares the cell's data set, warms up, measures `iterations` iterations
 * and cleans its keys up; fills res (status, scenario, op, params, samples,
 * merged latency histogram, server deltas, summary) and adds every command
 * sent to *cmds. An operation the server lacks gives status "unsupported"
 * and returns 0; an interrupted cell keeps its finished iterations as
 * "partial". -1 with err (naming the address and the cause) when the cell
 * failed; res is then marked "failed". */
int bench_run_cell(const bench_target *t, const bench_cell *cell, const bench_limits *lim,
                   rb_result *res, rb_kv **cmds, size_t *n_cmds, bench_progress progress,
                   void *ud, char *err);

/* Connects (with AUTH when a password is set) and sets the command timeout.
 * Returns a context the caller frees with redisFree, or NULL with err
 * ("connect 127.0.0.1:6390: Connection refused", "AUTH on ...: WRONGPASS ..."). */
struct redisContext *bench_connect(const bench_target *t, char *err);

/* Takes an INFO snapshot of the server-side figures into snap (present = 1);
 * -1 when the server gives no INFO (snap->present = 0). */
int bench_info(struct redisContext *c, rb_server_delta *snap);
/* out = after - before, present only when both are. */
void bench_delta(rb_server_delta *out, const rb_server_delta *before, const rb_server_delta *after);

/* Connects to the target once and records its kind, version and config audit
 * (maxmemory, maxmemory-policy, appendonly, appendfsync, save) in run.
 * 0, or -1 with err ("connect 127.0.0.1:6390: Connection refused"). */
int bench_probe(const bench_target *t, rb_run *run, char *err);

#endif
