/* engine.h -- the request engine: worker threads, each an epoll loop over its
 * own non-blocking connections, closed loop (pipelined batches) or open loop
 * (a fixed request rate, latency measured from each request's due time). */
#ifndef RB_ENGINE_H
#define RB_ENGINE_H

#include <signal.h>
#include <stdint.h>

#include "bench.h"
#include "hist.h"
#include "ops.h"

#define ENGINE_MAX_CMDS OP_MAX_COMMANDS

typedef struct engine_cfg {
    const bench_target *target;
    const struct op_def *op;
    const op_env *env;
    long connections;
    long pipeline;              /* closed loop: requests per batch; open loop: cap on in-flight */
    int threads;                /* worker threads (>= 1; at most connections) */
    double rate;                /* open loop: requests/s over all connections; 0 = closed loop */
    volatile sig_atomic_t *stop;/* when it becomes non-zero, the phase ends early */
} engine_cfg;

typedef struct engine_stats {
    uint64_t requests;          /* requests completed (all their replies received) */
    uint64_t errors;            /* wrong replies, timeouts and requests lost to a broken connection */
    uint64_t timeouts;          /* requests that got no reply within the target's timeout */
    uint64_t reconnects;
    uint64_t replies[ENGINE_MAX_CMDS]; /* replies received per command (index within op->commands) */
    uint64_t late;              /* open loop: requests sent later than due by > 1 ms */
    double seconds;             /* wall time of the phase */
    int interrupted;            /* ended by *stop */
    char first_error[RB_ERR_LEN]; /* the first wrong reply, for the report */
} engine_stats;

typedef struct engine engine;

/* Connects cfg->connections connections (spread over cfg->threads) to the
 * target. Returns the engine, or NULL with err (naming address and cause). */
engine *engine_new(const engine_cfg *cfg, char *err);

/* Runs one phase: until `requests` requests completed (requests > 0) or for
 * duration_s seconds, or until *stop. Latency of every completed request goes
 * into h (ns; not reset here). Fills out. 0, or -1 with err when the target
 * could not be reached again after a broken connection. */
int engine_phase(engine *e, uint64_t requests, double duration_s, hist *h, engine_stats *out,
                 char *err);

void engine_free(engine *e);

#endif
