/* lab_chaos.c -- `redbench lab chaos`: a steady load through `redbench proxy
 * --faults SPEC` to a redis-server the lab starts; per fault, the error rate,
 * the latency before, during and after it, and the time to recover.
 * Documented in docs/lab.md. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <hiredis/hiredis.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "lab.h"
#include "labrec.h"
#include "model.h"
#include "sha256.h"
#include "util.h"

#define CHAOS_MAX_FAULTS 16
#define CHAOS_MAX_CONNS 64
#define CHAOS_MAX_RECORDS (8u * 1000u * 1000u)    /* requests recorded, all connections together */
#define DEFAULT_FAULTS "3s+2s:latency=50,7s+1s:stall,10s+500ms:reset"

static const char CHAOS_USAGE[] =
    "usage: redbench lab chaos [LAB-OPTIONS] [-- OPTIONS]\n"
    "\n"
    "Starts its own redis-server (or uses --server) and `redbench proxy --faults SPEC`\n"
    "in front of it, and drives a steady load through the proxy for the schedule's\n"
    "length. Per fault the result's metrics give the error rate, p50/p99 before,\n"
    "during and after the fault, and the time to recover (docs/lab.md).\n"
    "\n"
    "  --faults SPEC          the proxy's schedule: comma list of AT+DUR:KIND[=ARG],\n"
    "                         KIND latency=MS | stall | reset, AT from the proxy's start\n"
    "                         (default " DEFAULT_FAULTS ")\n"
    "  --duration SECONDS     length of the load (default: the last fault's end + 3 s)\n"
    "  --op get|set           the request (default get)\n"
    "  --connections N        client connections, one thread each (default 4)\n"
    "  --rate N               requests/s over all connections (default 2000; 0 = as fast\n"
    "                         as each connection can)\n"
    "  --value-size N         bytes per value (default 64)\n"
    "  --dataset-size N       keys rb:chaos:0..N-1 (default 1000)\n"
    "  --interval MS          sample width and recovery step (default 100)\n"
    "  --timeout MS           a request without a reply by then is an error (default 2000)\n"
    "  --baseline MS          steady state: the MS before a fault (default 1000)\n"
    "  --recover-factor X     recovered: p99 <= max(X * p99 before, p99 before +\n"
    "  --recover-slack-us US  US) and no error in an interval (defaults 1.5 and 200)\n"
    "  --server HOST:PORT     use this server instead of starting one\n"
    LABREC_USAGE
    "The run is delivered as the lab's modes are (--collector, --out DIR).\n";

enum fault_kind { K_LATENCY = 1, K_STALL = 2, K_RESET = 3 };

struct fault {
    int kind;                   /* enum fault_kind; 0 unknown */
    double arg;                 /* latency: the added round trip, ms */
    double at_ms, dur_ms;       /* as scheduled, from the proxy's start */
    uint64_t start_ns, end_ns;  /* as the proxy applied it (monotonic); 0 if it never started */
    double connections;         /* connections the proxy affected at the start */
};

struct rec {                    /* one request */
    uint64_t sent, done;        /* monotonic ns; for a failed connect both are the attempt's */
    int ok;
};

struct ccfg {
    const char *faults, *op;
    double duration_s, rate, factor, slack_us;
    long conns, value_size, dataset_size, interval_ms, timeout_ms, baseline_ms;
    bench_target proxy;         /* where the load goes */
};

struct worker {
    const struct ccfg *cfg;
    int idx;
    uint64_t start, end;        /* monotonic ns */
    struct rec *recs;
    size_t n, cap, max;
    uint64_t reconnects;
    char *value;
    pthread_t th;
};

/* "5s", "1500ms", "0.5s" to ms; -1 if malformed. */
static double span_ms(const char *s, size_t n)
{
    char tmp[32], *end;
    if (n == 0 || n >= sizeof tmp) return -1;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    double v = strtod(tmp, &end);
    if (end == tmp || v < 0) return -1;
    if (!strcmp(end, "ms")) return v;
    if (!strcmp(end, "s")) return v * 1000;
    return -1;
}

/* Reads the schedule (the proxy validates it again): count, or -1 with err. */
static int parse_spec(const char *spec, struct fault *f, char *err)
{
    int n = 0;
    for (const char *p = spec; *p;) {
        size_t len = strcspn(p, ",");
        char item[128];
        if (!len || len >= sizeof item) return rb_err(err, "--faults: bad item '%.*s'", (int)len, p);
        memcpy(item, p, len);
        item[len] = '\0';
        p += len + (p[len] == ',');
        if (n == CHAOS_MAX_FAULTS) return rb_err(err, "--faults: at most %d faults", CHAOS_MAX_FAULTS);
        char *plus = strchr(item, '+'), *colon = strchr(item, ':');
        struct fault *x = &f[n];
        memset(x, 0, sizeof *x);
        if (!plus || !colon || colon < plus || (x->at_ms = span_ms(item, (size_t)(plus - item))) < 0 ||
            (x->dur_ms = span_ms(plus + 1, (size_t)(colon - plus - 1))) <= 0)
            return rb_err(err, "--faults: bad item '%s': want AT+DUR:KIND[=ARG], DUR > 0", item);
        const char *kind = colon + 1;
        if (!strncmp(kind, "latency=", 8)) {
            x->kind = K_LATENCY;
            x->arg = strtod(kind + 8, NULL);
        } else if (!strcmp(kind, "stall")) {
            x->kind = K_STALL;
        } else if (!strcmp(kind, "reset")) {
            x->kind = K_RESET;
        } else {
            return rb_err(err, "--faults: '%s': unknown kind (latency=MS, stall, reset)", item);
        }
        n++;
    }
    if (!n) return rb_err(err, "--faults: empty schedule");
    return n;
}

static void sleep_until(uint64_t t)
{
    uint64_t now = now_ns();
    if (t <= now) return;
    uint64_t d = t - now;
    struct timespec ts = {(time_t)(d / 1000000000ull), (long)(d % 1000000000ull)};
    nanosleep(&ts, NULL);
}

static void add_rec(struct worker *w, uint64_t sent, uint64_t done, int ok)
{
    if (w->n == w->max) return;
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 4096;
        if (w->cap > w->max) w->cap = w->max;
        w->recs = xrealloc(w->recs, w->cap * sizeof *w->recs);
    }
    w->recs[w->n++] = (struct rec){sent, done, ok};
}

/* One connection: paced requests until the end, reconnecting after an error. */
static void *worker_main(void *arg)
{
    struct worker *w = arg;
    const struct ccfg *c = w->cfg;
    uint64_t period = c->rate > 0 ? (uint64_t)(1e9 * (double)c->conns / c->rate) : 0;
    uint64_t due = w->start + (period * (uint64_t)w->idx) / (uint64_t)c->conns;
    uint64_t key = (uint64_t)w->idx * 7919u;
    int set = !strcmp(c->op, "set");
    redisContext *ctx = NULL;
    char err[RB_ERR_LEN];
    while (now_ns() < w->end && !lab_interrupted()) {
        if (period) {
            sleep_until(due);
            if (now_ns() >= w->end) break;
            /* Slots missed while a request was slow are skipped, not sent in a burst. */
            due += period;
            uint64_t now = now_ns();
            if (due < now) due = now;
        }
        if (!ctx) {
            uint64_t t = now_ns();
            if (!(ctx = bench_connect(&c->proxy, err))) {
                add_rec(w, t, now_ns(), 0);
                sleep_until(now_ns() + 10000000ull);
                continue;
            }
        }
        key = (key + 1) % (uint64_t)c->dataset_size;
        char k[48];
        snprintf(k, sizeof k, "rb:chaos:%llu", (unsigned long long)key);
        uint64_t t = now_ns();
        redisReply *r = set ? redisCommand(ctx, "SET %s %b", k, w->value, (size_t)c->value_size)
                            : redisCommand(ctx, "GET %s", k);
        uint64_t d = now_ns();
        int ok = r && (set ? r->type == REDIS_REPLY_STATUS : r->type == REDIS_REPLY_STRING);
        add_rec(w, t, d, ok);
        if (r) freeReplyObject(r);
        if (!r || ctx->err) {
            redisFree(ctx);
            ctx = NULL;
            w->reconnects++;
        }
    }
    if (ctx) redisFree(ctx);
    return NULL;
}

/* Loads the data set straight into the server (not through the proxy). */
static int prepare(const bench_target *t, const struct ccfg *c, rb_run *run, char *value, char *err)
{
    redisContext *ctx = bench_connect(t, err);
    if (!ctx) return -1;
    int rc = -1;
    for (long from = 0; from < c->dataset_size; from += 500) {
        long n = c->dataset_size - from < 500 ? c->dataset_size - from : 500;
        for (long i = 0; i < n; i++)
            redisAppendCommand(ctx, "SET rb:chaos:%ld %b", from + i, value, (size_t)c->value_size);
        for (long i = 0; i < n; i++) {
            redisReply *r = NULL;
            if (redisGetReply(ctx, (void **)&r) != REDIS_OK || !r) {
                rb_err(err, "prepare on %s:%d: %s", t->host, t->port, ctx->errstr);
                goto out;
            }
            kv_add(&run->commands, &run->n_commands, "set", 1);
            freeReplyObject(r);
        }
    }
    rc = 0;
out:
    redisFree(ctx);
    return rc;
}

/* Deletes the data set again (best effort). */
static void cleanup_keys(const bench_target *t, const struct ccfg *c, rb_run *run)
{
    char err[RB_ERR_LEN];
    redisContext *ctx = bench_connect(t, err);
    if (!ctx) return;
    for (long from = 0; from < c->dataset_size; from += 500) {
        long n = c->dataset_size - from < 500 ? c->dataset_size - from : 500;
        const char **argv = xmalloc((size_t)(n + 1) * sizeof *argv);
        char (*keys)[32] = xmalloc((size_t)n * sizeof *keys);
        argv[0] = "DEL";
        for (long i = 0; i < n; i++) {
            snprintf(keys[i], sizeof keys[i], "rb:chaos:%ld", from + i);
            argv[i + 1] = keys[i];
        }
        redisReply *r = redisCommandArgv(ctx, (int)n + 1, argv, NULL);
        free(argv);
        free(keys);
        if (!r) break;
        kv_add(&run->commands, &run->n_commands, "del", 1);
        freeReplyObject(r);
    }
    redisFree(ctx);
}

/* Reads the proxy's event lines into the faults' real windows. */
static void read_events(const char *path, struct fault *f, int nf, uint64_t mono0, uint64_t wall0)
{
    char e[RB_ERR_LEN];
    size_t len = 0;
    char *text = read_file(path, 1 << 20, &len, e);
    if (!text) return;
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        cJSON *j = cJSON_Parse(line);
        if (!j) continue;
        const cJSON *ix = cJSON_GetObjectItemCaseSensitive(j, "index");
        const cJSON *ev = cJSON_GetObjectItemCaseSensitive(j, "event");
        const cJSON *ms = cJSON_GetObjectItemCaseSensitive(j, "unix_ms");
        const cJSON *cn = cJSON_GetObjectItemCaseSensitive(j, "connections");
        if (cJSON_IsNumber(ix) && cJSON_IsString(ev) && cJSON_IsNumber(ms) && ix->valuedouble >= 0 &&
            ix->valuedouble < nf) {
            struct fault *x = &f[(int)ix->valuedouble];
            double w = ms->valuedouble * 1e6;
            uint64_t t = w > (double)wall0 ? mono0 + (uint64_t)(w - (double)wall0)
                                           : mono0 - (uint64_t)((double)wall0 - w);
            if (!strcmp(ev->valuestring, "start")) {
                x->start_ns = t;
                if (cJSON_IsNumber(cn)) x->connections = cn->valuedouble;
            } else if (!strcmp(ev->valuestring, "end")) {
                x->end_ns = t;
            }
        }
        cJSON_Delete(j);
    }
    free(text);
}

/* A time window and which requests belong to it. */
struct window {
    uint64_t lo, hi;            /* [lo, hi) */
    int by;                     /* 0: sent and done inside; 1: overlapping; 2: done inside */
};

static int in_window(const struct rec *r, const struct window *w)
{
    switch (w->by) {
    case 0: return r->sent >= w->lo && r->done < w->hi;
    case 1: return r->sent < w->hi && r->done >= w->lo;
    default: return r->done >= w->lo && r->done < w->hi;
    }
}

/* Latencies (ns) of the window's successful requests into h (reset first),
 * their count into *oks; returns the window's failed requests. */
static uint64_t collect(struct worker *ws, long nw, const struct window *win, hist *h,
                        uint64_t *oks)
{
    uint64_t errors = 0, ok = 0;
    hist_reset(h);
    for (long i = 0; i < nw; i++)
        for (size_t k = 0; k < ws[i].n; k++) {
            const struct rec *r = &ws[i].recs[k];
            if (!in_window(r, win)) continue;
            if (r->ok) {
                hist_record(h, r->done - r->sent);
                ok++;
            } else {
                errors++;
            }
        }
    if (oks) *oks = ok;
    return errors;
}

static double pct_us(const hist *h, double p)
{
    return (double)hist_percentile(h, p) / 1000.0;
}

static void fault_metric(rb_result *res, int i, const char *name, double v)
{
    char n[RB_NAME_LEN];
    snprintf(n, sizeof n, "fault%d_%s", i + 1, name);
    result_set_metric(res, n, v);
}

/* Every fault's figures, then the per-interval samples. */
static void analyze(const struct ccfg *c, struct worker *ws, struct fault *f, int nf,
                    uint64_t start, uint64_t end, rb_result *res)
{
    hist *h = hist_new();
    uint64_t iv = (uint64_t)c->interval_ms * 1000000ull;
    for (int i = 0; i < nf; i++) {
        struct fault *x = &f[i];
        fault_metric(res, i, "kind", x->kind);
        fault_metric(res, i, "arg", x->arg);
        fault_metric(res, i, "at_ms", x->at_ms);
        fault_metric(res, i, "started", x->start_ns != 0);
        if (!x->start_ns) continue;
        uint64_t fs = x->start_ns > start ? x->start_ns : start, fe = x->end_ns ? x->end_ns : end;
        if (fe < fs) fe = fs;
        /* The neighbours in time, whatever the order of the schedule. */
        uint64_t prev_end = 0, next = end;
        for (int j = 0; j < nf; j++) {
            if (j == i || !f[j].start_ns) continue;
            if (f[j].end_ns && f[j].end_ns <= fs && f[j].end_ns > prev_end) prev_end = f[j].end_ns;
            if (f[j].start_ns > fe && f[j].start_ns < next) next = f[j].start_ns;
        }
        fault_metric(res, i, "start_ms", (double)(fs - start) / 1e6);
        fault_metric(res, i, "duration_ms", (double)(fe - fs) / 1e6);
        fault_metric(res, i, "connections", x->connections);
        /* Steady state: the --baseline before the fault, after the previous one. */
        uint64_t lo = fs > start + (uint64_t)c->baseline_ms * 1000000ull
                          ? fs - (uint64_t)c->baseline_ms * 1000000ull : start;
        if (prev_end > lo) lo = prev_end;
        uint64_t ok = 0, errs;
        struct window w = {lo, fs, 0};
        errs = collect(ws, c->conns, &w, h, &ok);
        double p99_before = pct_us(h, 99);
        fault_metric(res, i, "p50_before_us", pct_us(h, 50));
        fault_metric(res, i, "p99_before_us", p99_before);
        fault_metric(res, i, "errors_before", (double)errs);
        /* During: every request in flight at some time inside the window. */
        w = (struct window){fs, fe > fs ? fe : fs + 1, 1};
        errs = collect(ws, c->conns, &w, h, &ok);
        fault_metric(res, i, "requests_during", (double)(ok + errs));
        fault_metric(res, i, "errors_during", (double)errs);
        fault_metric(res, i, "error_rate", ok + errs ? (double)errs / (double)(ok + errs) : 0);
        fault_metric(res, i, "p50_during_us", pct_us(h, 50));
        fault_metric(res, i, "p99_during_us", pct_us(h, 99));
        /* After: sent after the end, done before the next fault (or the --baseline). */
        uint64_t ahi = fe + (uint64_t)c->baseline_ms * 1000000ull;
        if (ahi > next) ahi = next;
        w = (struct window){fe, ahi, 0};
        errs = collect(ws, c->conns, &w, h, &ok);
        fault_metric(res, i, "p50_after_us", pct_us(h, 50));
        fault_metric(res, i, "p99_after_us", pct_us(h, 99));
        fault_metric(res, i, "errors_after", (double)errs);
        /* Recovery: the first interval from the end on that is clean again. */
        double limit = p99_before * c->factor;
        if (limit < p99_before + c->slack_us) limit = p99_before + c->slack_us;
        double rec_ms = -1;
        for (uint64_t k = 0; fe + (k + 1) * iv <= next && k < 100000; k++) {
            w = (struct window){fe + k * iv, fe + (k + 1) * iv, 2};
            errs = collect(ws, c->conns, &w, h, &ok);
            if (ok > 0 && errs == 0 && pct_us(h, 99) <= limit) {
                rec_ms = (double)((k + 1) * iv) / 1e6;
                break;
            }
        }
        fault_metric(res, i, "recovered", rec_ms >= 0);
        fault_metric(res, i, "recovery_ms", rec_ms);
    }
    /* One sample per interval of the load, by completion time. */
    size_t ns = (size_t)((end - start + iv - 1) / iv);
    if (!ns) ns = 1;
    res->samples = xcalloc(ns, sizeof *res->samples);
    res->n_samples = ns;
    uint64_t total_err = 0;
    for (size_t k = 0; k < ns; k++) {
        uint64_t ok = 0;
        struct window w = {start + k * iv, start + (k + 1) * iv, 2};
        if (k == ns - 1) w.hi = UINT64_MAX;
        uint64_t errs = collect(ws, c->conns, &w, h, &ok);
        rb_sample *s = &res->samples[k];
        uint64_t hi = start + (k + 1) * iv < end ? start + (k + 1) * iv : end;
        s->seconds = (double)(hi - w.lo) / 1e9;
        s->requests = ok;
        s->errors = errs;
        s->ops_per_sec = s->seconds > 0 ? (double)ok / s->seconds : 0;
        s->p50_us = pct_us(h, 50);
        s->p99_us = pct_us(h, 99);
        hist_merge(res->latency, h);
        res->requests += ok;
        res->errors += errs;
        total_err += errs;
    }
    result_set_metric(res, "faults", nf);
    result_set_metric(res, "errors_total", (double)total_err);
    uint64_t rc = 0;
    for (long i = 0; i < c->conns; i++) rc += ws[i].reconnects;
    result_set_metric(res, "reconnects", (double)rc);
    hist_free(h);
}

static double res_metric(const rb_result *r, const char *name)
{
    for (size_t m = 0; m < r->n_metrics; m++)
        if (!strcmp(r->metrics[m].name, name)) return r->metrics[m].value;
    return 0;
}

static void print_result(const rb_run *run, const rb_result *res, const struct ccfg *c,
                         const struct fault *faults, int nf)
{
    static const char *kinds[] = {"?", "latency", "stall", "reset"};
    static const char *names[] = {"errors_during", "error_rate", "p99_before_us", "p99_during_us",
                                  "p99_after_us", "p50_during_us", "recovery_ms"};
    printf("run %s  chaos  %s x%ld at %.0f/s through the proxy, faults %s\n", run->id, c->op,
           c->conns, c->rate, c->faults);
    printf("%-6s %-8s %9s %9s %11s %11s %11s %11s %12s\n", "FAULT", "KIND", "ERRORS", "ERR RATE",
           "P99 BEFORE", "P99 DURING", "P99 AFTER", "P50 DURING", "RECOVERY ms");
    for (int i = 0; i < nf; i++) {
        double v[7];
        for (int k = 0; k < 7; k++) {
            char n[RB_NAME_LEN];
            snprintf(n, sizeof n, "fault%d_%s", i + 1, names[k]);
            v[k] = res_metric(res, n);
        }
        printf("%-6d %-8s %9.0f %9.4f %11.1f %11.1f %11.1f %11.1f %12.0f\n", i + 1,
               kinds[faults[i].kind], v[0], v[1], v[2], v[3], v[4], v[5], v[6]);
    }
    printf("total: %llu requests, %llu errors, %.0f ops/s mean, p99 %.1f us\n",
           (unsigned long long)res->requests, (unsigned long long)res->errors, res->ops_per_sec,
           res->p99_us);
    if (res->error[0]) printf("  %s: %s\n", res->status, res->error);
    fflush(stdout);
}

int lab_chaos(lab *l, char *err)
{
    enum { O_FAULTS = 1, O_DUR, O_OP, O_CONNS, O_RATE, O_VSIZE, O_DSIZE, O_INTERVAL, O_TIMEOUT,
           O_BASELINE, O_FACTOR, O_SLACK, O_SERVER, O_HELP };
    static const struct option opts[] = {
        {"faults", 1, 0, O_FAULTS}, {"duration", 1, 0, O_DUR}, {"op", 1, 0, O_OP},
        {"connections", 1, 0, O_CONNS}, {"rate", 1, 0, O_RATE}, {"value-size", 1, 0, O_VSIZE},
        {"dataset-size", 1, 0, O_DSIZE}, {"interval", 1, 0, O_INTERVAL},
        {"timeout", 1, 0, O_TIMEOUT}, {"baseline", 1, 0, O_BASELINE},
        {"recover-factor", 1, 0, O_FACTOR}, {"recover-slack-us", 1, 0, O_SLACK},
        {"server", 1, 0, O_SERVER}, {"help", 0, 0, O_HELP}, LABREC_OPTIONS, {0, 0, 0, 0}};
    const char *cmd = "chaos", *N = "lab chaos", *target = NULL;
    struct ccfg c = {.faults = DEFAULT_FAULTS, .op = "get", .rate = 2000, .factor = 1.5,
                     .slack_us = 200, .conns = 4, .value_size = 64, .dataset_size = 1000,
                     .interval_ms = 100, .timeout_ms = 2000, .baseline_ms = 1000};
    /* Loopback only: no namespaces are used, whatever the lab could do. */
    l->netns = 0;
    rb_run run;
    labrec_init(l, &run);
    struct fault faults[CHAOS_MAX_FAULTS];
    struct worker *ws = NULL;
    bench_target server = {0};
    pid_t proxy_pid = -1;
    char *value = NULL, addr[64], paddr[64], events[600];
    int rc = -1, o, bad, nf, quiet = 0, argc;
    long rate_l = 2000;
    char **argv = labrec_argv(l, cmd, &argc);
    optind = 1;
    while ((o = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        bad = 0;
        switch (o) {
        case O_FAULTS: c.faults = optarg; break;
        case O_DUR: bad = cli_real(N, "--duration", optarg, 0.1, 3600, &c.duration_s); break;
        case O_OP: c.op = optarg; break;
        case O_CONNS: bad = cli_long(N, "--connections", optarg, 1, CHAOS_MAX_CONNS, &c.conns); break;
        case O_RATE: bad = cli_long(N, "--rate", optarg, 0, 10000000, &rate_l); c.rate = (double)rate_l; break;
        case O_VSIZE: bad = cli_long(N, "--value-size", optarg, 1, 1 << 20, &c.value_size); break;
        case O_DSIZE: bad = cli_long(N, "--dataset-size", optarg, 1, 10000000, &c.dataset_size); break;
        case O_INTERVAL: bad = cli_long(N, "--interval", optarg, 10, 60000, &c.interval_ms); break;
        case O_TIMEOUT: bad = cli_long(N, "--timeout", optarg, 10, 600000, &c.timeout_ms); break;
        case O_BASELINE: bad = cli_long(N, "--baseline", optarg, 10, 600000, &c.baseline_ms); break;
        case O_FACTOR: bad = cli_real(N, "--recover-factor", optarg, 1, 1000, &c.factor); break;
        case O_SLACK: bad = cli_real(N, "--recover-slack-us", optarg, 0, 1e9, &c.slack_us); break;
        case O_SERVER: target = optarg; break;
        case 'h':
        case O_HELP: fputs(CHAOS_USAGE, stdout); rc = 0; goto out;
        default: {
            int h = labrec_option(&run, cmd, o, optarg, &quiet);
            if (h == 0) fputs(CHAOS_USAGE, stderr);
            bad = h <= 0;
        }
        }
        if (bad) {
            rb_err(err, "bad option");
            goto out;
        }
    }
    if (optind < argc) {
        rb_err(err, "unexpected argument '%s'", argv[optind]);
        goto out;
    }
    if (strcmp(c.op, "get") && strcmp(c.op, "set")) {
        rb_err(err, "--op: want get or set");
        goto out;
    }
    if ((nf = parse_spec(c.faults, faults, err)) < 0) goto out;
    double last_end = 0;
    for (int i = 0; i < nf; i++)
        if (faults[i].at_ms + faults[i].dur_ms > last_end) last_end = faults[i].at_ms + faults[i].dur_ms;
    if (c.duration_s <= 0) c.duration_s = last_end / 1000.0 + 3;

    /* The server: ours, or the one given. */
    if (target) {
        snprintf(addr, sizeof addr, "%s", target);
    } else if (lab_redis_start(l, NULL, NULL, addr, err) < 0) {
        goto out;
    }
    if (parse_hostport(addr, &server.host, &server.port, err) < 0) goto out;
    server.timeout_ms = (int)c.timeout_ms;
    if (bench_probe(&server, &run, err) < 0) goto out;
    value = xmalloc((size_t)c.value_size + 1);
    memset(value, 'x', (size_t)c.value_size);
    value[c.value_size] = '\0';
    if (prepare(&server, &c, &run, value, err) < 0) goto out;
    if (!quiet) fprintf(stderr, "chaos: proxy to %s with faults %s; load %.1f s\n", addr, c.faults, c.duration_s);
    snprintf(events, sizeof events, "%s/chaos-%d.events", l->dir, l->seq++);
    fmt_time_utc(wall_ns(), run.started_at, sizeof run.started_at);
    if ((proxy_pid = lab_proxy_start(l, NULL, "127.0.0.1:0", addr, 0, c.faults, events, paddr, err)) < 0)
        goto out;
    if (parse_hostport(paddr, &c.proxy.host, &c.proxy.port, err) < 0) goto out;
    c.proxy.timeout_ms = (int)c.timeout_ms;
    uint64_t wall0 = wall_ns(), mono0 = now_ns();
    uint64_t start = mono0, end = start + (uint64_t)(c.duration_s * 1e9);
    ws = xcalloc((size_t)c.conns, sizeof *ws);
    long started = 0;
    for (; started < c.conns; started++) {
        ws[started] = (struct worker){.cfg = &c, .idx = (int)started, .start = start, .end = end,
                                      .max = CHAOS_MAX_RECORDS / (size_t)c.conns, .value = value};
        if (pthread_create(&ws[started].th, NULL, worker_main, &ws[started]) != 0) break;
    }
    for (long i = 0; i < started; i++) pthread_join(ws[i].th, NULL);
    if (started < c.conns) {
        rb_err(err, "pthread_create failed");
        goto out;
    }
    uint64_t load_end = now_ns();
    lab_stop(l, proxy_pid);
    proxy_pid = -1;
    read_events(events, faults, nf, mono0, wall0);
    fmt_time_utc(wall_ns(), run.ended_at, sizeof run.ended_at);
    cleanup_keys(&server, &c, &run);
    uint64_t total = 0;
    for (long i = 0; i < c.conns; i++)
        for (size_t k = 0; k < ws[i].n; k++) total += (uint64_t)ws[i].recs[k].ok;
    kv_add(&run.commands, &run.n_commands, c.op, total);

    rb_result *res = run_add_result(&run);
    snprintf(res->status, sizeof res->status, "ok");
    snprintf(res->scenario, sizeof res->scenario, "chaos");
    snprintf(res->op, sizeof res->op, "%s", c.op);
    snprintf(res->data_type, sizeof res->data_type, "string");
    res->concurrency = c.conns;
    res->pipeline = 1;
    res->value_size = c.value_size;
    res->dataset_size = c.dataset_size;
    res->latency = hist_new();
    char pv[RB_NAME_LEN];
    snprintf(pv, sizeof pv, "%.0f", c.rate);
    kv_set(&res->params, &res->n_params, "rate", pv);
    if (strlen(c.faults) < RB_NAME_LEN) {
        kv_set(&res->params, &res->n_params, "faults", c.faults);
    } else {
        /* Too long for a param: its digest still keeps schedules apart. */
        char hex[65];
        sha256_hex(c.faults, hex);
        snprintf(pv, sizeof pv, "sha256:%.16s", hex);
        kv_set(&res->params, &res->n_params, "faults", pv);
    }
    analyze(&c, ws, faults, nf, start, load_end > end ? load_end : end, res);
    result_summarize(res);
    for (long i = 0; i < c.conns; i++)
        if (ws[i].n == ws[i].max) {
            snprintf(res->status, sizeof res->status, "partial");
            snprintf(res->error, sizeof res->error, "more than %u requests: the later ones were not recorded",
                     CHAOS_MAX_RECORDS);
        }
    for (int i = 0; i < nf; i++)
        if (!faults[i].start_ns) {
            snprintf(res->status, sizeof res->status, "partial");
            snprintf(res->error, sizeof res->error, "fault %d never started (the load ended first?)", i + 1);
        }
    if (lab_interrupted()) {
        snprintf(run.status, sizeof run.status, "partial");
        snprintf(res->status, sizeof res->status, "partial");
        snprintf(res->error, sizeof res->error, "interrupted");
    }
    print_result(&run, res, &c, faults, nf);
    if (lab_deliver(l, &run, -1, err) < 0) goto out;
    rc = 0;
out:
    if (proxy_pid > 0) lab_stop(l, proxy_pid);
    if (ws) {
        for (long i = 0; i < c.conns; i++) free(ws[i].recs);
        free(ws);
    }
    free(argv);
    free(value);
    free(server.host);
    free(c.proxy.host);
    run_cleanup(&run);
    return rc;
}
