/* scenarios.h -- scenarios from the field that run their own loops instead of
 * the request engine: pubsub-fanout, stream-rpc, capacity-fill. Each fills one
 * result with samples, a latency histogram and its own metrics.
 *
 * What each measures (metric names as in results[].metrics):
 *
 * pubsub-fanout (op "publish", data_type "pubsub"): publishers PUBLISH to the
 *   channel "rb:pubsub:fanout" at `rate` msg/s in total (open loop: latency
 *   from each message's due time; messages already due go out together) or as
 *   fast as they can, in batches of at most `pipeline`; every subscriber
 *   receives every message. A message is
 *   "rbps|<instance>|<iteration>|<publisher>|<seq>|<ts_ns>|" padded with 'x'
 *   to value_size bytes; ts_ns is CLOCK_MONOTONIC, so latency is only
 *   meaningful with publishers and subscribers on one host. Messages of other
 *   instances (or not ours at all) are counted and ignored.
 *   Samples: requests = distinct deliveries, ops_per_sec = deliveries/s from
 *   the first publish to the last delivery, errors = failed publishes + lost.
 *   Metrics: published, publish_errors, expected (published x subscribers),
 *   delivered (distinct deliveries), delivery_rate (delivered/expected), lost,
 *   duplicates, foreign_filtered, malformed, sub_min_delivery_rate,
 *   sub_max_delivery_rate (per subscriber and iteration), publish_rate
 *   (messages/s achieved). concurrency = publishers + subscribers, dataset_size
 *   = 1 (one channel); params publishers, subscribers, rate.
 *
 * stream-rpc (op "xadd", data_type "stream"): `concurrency` requesters XADD a
 *   request to "rb:rpc:req" naming their reply stream "rb:rpc:rep:<i>" and
 *   wait for the answer with XREAD BLOCK; `workers` consumers of group "g"
 *   XREADGROUP (COUNT `pipeline`, BLOCK <= 100 ms), XADD the reply (echoing the
 *   payload) and XACK. Round-trip latency from the XADD (or its due time under
 *   `rate`) to the reply. Samples: requests = completed round trips, errors =
 *   timeouts + failed requests. Metrics: completed, timeouts, late_replies
 *   (replies that came after their request timed out), request_errors,
 *   worker_errors, malformed, pending_after (XPENDING count once the workers
 *   stopped: should be 0), workers. dataset_size = concurrency + 1 streams;
 *   params workers, rate. All its keys are deleted at the start and the end.
 *
 * capacity-fill (op "set", data_type "string"): `concurrency` loaders SET
 *   JSON-like events (id, ts, user, type, payload; sizes uniform in
 *   [value_size/2, 3*value_size/2], derived from the event number and a seed)
 *   as "rb:cap:<n>" in batches of `pipeline`, until max_events (or requests x
 *   iterations when max_events is 0; or for duration_s per iteration) or until
 *   maxmemory (an OOM reply, used_memory >= maxmemory, or an eviction). The
 *   iterations split the fill into equal stages: one sample per stage with
 *   ops_per_sec = events stored per second. Then a sampled integrity check
 *   (1% of the events, at least 10, at most 1000, read back with GET and
 *   compared byte for byte) and a clean-up (UNLINK in batches, DEL when the
 *   server has no UNLINK). Metrics: events_target, events_loaded,
 *   bytes_loaded, oom_rejected, stopped_by (0 count/duration, 1 maxmemory),
 *   maxmemory, mem_before, mem_at_25pct/50pct/75pct/100pct (used_memory when
 *   that share of the loaded events was in, interpolated between samples taken
 *   every 1% of the target), mem_per_event, memory_samples, evictions (INFO
 *   delta over the load), load_seconds, integrity_checked,
 *   integrity_failures, integrity_evicted (keys gone, not corrupt),
 *   cleanup_seconds. dataset_size = the target event count (1 when timed).
 *   warmup does not apply.
 *
 * Commands are counted under the names INFO commandstats uses ("publish",
 * "subscribe", "xadd", "xread", "xreadgroup", "xack", "xgroup|create",
 * "xpending", "set", "get", "unlink", "del", "info", "config|get"), one per
 * reply received (error replies included: an OOM-rejected SET shows in
 * commandstats as rejected_calls, not calls). */
#ifndef RB_SCENARIOS_H
#define RB_SCENARIOS_H

#include <signal.h>
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
    long publishers, subscribers;  /* pubsub-fanout; 0 = 1 publisher, 4 subscribers */
    uint64_t max_events;    /* capacity-fill: stop after this many events (or at maxmemory) */
    const char *instance_id;/* distinguishes this runner's messages from other instances'
                             * (NULL or "": a random one) */
    long workers;           /* stream-rpc: consumers in the group; 0 = max(1, concurrency/2) */
    uint64_t corrupt_event; /* testing: capacity-fill overwrites this event's value after
                             * loading (1-based; 0 = none) and always includes it in the
                             * integrity sample, which must then report exactly 1 failure */
    volatile sig_atomic_t *stop; /* Ctrl-C: when non-zero the scenario ends early, keeps the
                                  * finished iterations, marks the result "partial" (NULL: never) */
} scenario_params;

struct scenario_def {
    const char *name;       /* "pubsub-fanout" */
    const char *summary;    /* one line for --list */
    /* Runs the scenario against t and fills res (scenario, op, data_type,
     * parameters, params, samples, latency, metrics, server deltas, status);
     * adds every command sent to *cmds. Cleans up after itself. Returns 0 when
     * res holds a measurement: status "ok"; "partial" (stopped, or a connection
     * failed or timed out mid-way: res->error says why, finished iterations
     * kept); or "unsupported" (the server lacks a command, no samples). Returns
     * -1 with err (naming the address and the cause) when nothing could be
     * measured; res is then marked "failed" with the same error. Every loop is
     * bounded by a count, a deadline or the target's timeout. */
    int (*run)(const bench_target *t, const scenario_params *p, rb_result *res, rb_kv **cmds,
               size_t *n_cmds, char *err);
};

extern const struct scenario_def scenario_defs[];
extern const size_t scenario_count;

/* Looks a scenario up by name; NULL if unknown. */
const struct scenario_def *scenario_find(const char *name);

#endif
