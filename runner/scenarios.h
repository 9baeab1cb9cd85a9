/* scenarios.h -- scenarios from the field that run their own loops instead of
 * the request engine: pubsub-fanout, stream-rpc, capacity-fill. Each fills one
 * result with samples, a latency histogram and its own metrics. */
#ifndef RB_SCENARIOS_H
#define RB_SCENARIOS_H

#include <stdint.h>

#include "bench.h"
#include "model.h"

typedef struct scenario_params {
    long concurrency;       /* clients (stream-rpc: requesters; capacity-fill: loaders) */
    long pipeline;          /* batch size where it applies */
    long value_size;        /* payload bytes (capacity-fill: the mean event size) */
    long dataset_size;      /* keys/streams where it applies */
    int iterations;         /* measured iterations */
    uint64_t requests;      /* per iteration (messages, requests, events); 0 when timed */
    double duration_s;      /* per iteration when requests is 0 */
    uint64_t warmup;        /* unmeasured requests first */
    double rate;            /* target rate, ops/s over all clients; 0 = as fast as possible */
    long publishers, subscribers;  /* pubsub-fanout */
    uint64_t max_events;    /* capacity-fill: stop after this many events (or at maxmemory) */
    const char *instance_id;/* distinguishes this runner's messages from other instances' */
} scenario_params;

struct scenario_def {
    const char *name;       /* "pubsub-fanout" */
    const char *summary;    /* one line for --list */
    /* Runs the scenario against t and fills res (scenario, op, data_type,
     * parameters, params, samples, latency, metrics, server deltas, status);
     * adds every command sent to *cmds. 0, or -1 with err. Cleans up after itself. */
    int (*run)(const bench_target *t, const scenario_params *p, rb_result *res, rb_kv **cmds,
               size_t *n_cmds, char *err);
};

extern const struct scenario_def scenario_defs[];
extern const size_t scenario_count;

/* Looks a scenario up by name; NULL if unknown. */
const struct scenario_def *scenario_find(const char *name);

#endif
