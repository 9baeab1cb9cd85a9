/* bench.c -- closed-loop load generation with hiredis: one thread per connection,
 * pipelined batches, per-request latency into HDR histograms. */
#include "bench.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hist.h"
#include "util.h"

const struct op_info op_info[OP__MAX] = {
    [OP_SET] = {"set", "set", "string", 0},
    [OP_GET] = {"get", "get", "string", 1},
};

#define PREP_BATCH 500  /* keys per pipelined batch (prep) and per DEL (cleanup) */

int op_find(const char *name)
{
    for (int i = 0; i < OP__MAX; i++)
        if (strcasecmp(op_info[i].name, name) == 0) return i;
    return -1;
}

redisContext *bench_connect(const bench_target *t, char *err)
{
    struct timeval tv = {t->timeout_ms / 1000, (t->timeout_ms % 1000) * 1000};
    redisContext *c = redisConnectWithTimeout(t->host, t->port, tv);
    if (!c) {
        rb_err(err, "connect %s:%d: out of memory", t->host, t->port);
        return NULL;
    }
    if (c->err) {
        rb_err(err, "connect %s:%d: %s", t->host, t->port, c->errstr);
        redisFree(c);
        return NULL;
    }
    /* redisConnectWithTimeout bounds only the connect. */
    redisSetTimeout(c, tv);
    if (t->password) {
        redisReply *r = redisCommand(c, "AUTH %s", t->password);
        int ok = r && r->type == REDIS_REPLY_STATUS;
        if (!ok) {
            rb_err(err, "AUTH on %s:%d failed: %s", t->host, t->port,
                   r && r->type == REDIS_REPLY_ERROR ? r->str : c->errstr);
            if (r) freeReplyObject(r);
            redisFree(c);
            return NULL;
        }
        freeReplyObject(r);
    }
    return c;
}

/* ---- INFO ---- */

static double info_double(const char *info, const char *field)
{
    size_t fl = strlen(field);
    for (const char *p = info; (p = strstr(p, field)); p += fl) {
        if ((p == info || p[-1] == '\n') && p[fl] == ':') return strtod(p + fl + 1, NULL);
    }
    return 0;
}

/* Copies the value of an INFO field into out; 0 if present. */
static int info_str(const char *info, const char *field, char *out, size_t n)
{
    size_t fl = strlen(field);
    for (const char *p = info; (p = strstr(p, field)); p += fl) {
        if ((p == info || p[-1] == '\n') && p[fl] == ':') {
            const char *v = p + fl + 1;
            size_t l = strcspn(v, "\r\n");
            snprintf(out, n, "%.*s", (int)l, v);
            return 0;
        }
    }
    return -1;
}

int bench_info(redisContext *c, rb_server_delta *s)
{
    memset(s, 0, sizeof *s);
    redisReply *r = redisCommand(c, "INFO");
    if (!r || r->type != REDIS_REPLY_STRING) {
        if (r) freeReplyObject(r);
        return -1;
    }
    const char *in = r->str;
    for (int m = 0; m < SRV__MAX; m++)
        if (srv_metric_info[m].info_field[0]) s->v[m] = info_double(in, srv_metric_info[m].info_field);
    /* Keyspace lines: "db0:keys=12,expires=0,avg_ttl=0" */
    for (const char *p = in; (p = strstr(p, "\ndb")); p++) {
        const char *k = strstr(p, ":keys=");
        const char *eol = strchr(p + 1, '\n');
        if (k && (!eol || k < eol)) s->v[SRV_KEYS] += strtod(k + 6, NULL);
    }
    freeReplyObject(r);
    s->present = 1;
    return 0;
}

void bench_delta(rb_server_delta *out, const rb_server_delta *before, const rb_server_delta *after)
{
    memset(out, 0, sizeof *out);
    if (!before->present || !after->present) return;
    out->present = 1;
    for (int m = 0; m < SRV__MAX; m++) out->v[m] = after->v[m] - before->v[m];
}

int bench_probe(const bench_target *t, rb_run *run, char *err)
{
    redisContext *c = bench_connect(t, err);
    if (!c) return -1;
    snprintf(run->target_address, sizeof run->target_address, "%s:%d", t->host, t->port);
    snprintf(run->target_kind, sizeof run->target_kind, "resp");
    redisReply *r = redisCommand(c, "INFO server");
    if (!r) {
        rb_err(err, "INFO on %s:%d: %s", t->host, t->port, c->errstr);
        redisFree(c);
        return -1;
    }
    if (r->type == REDIS_REPLY_STRING) {
        char v[RB_NAME_LEN];
        if (info_str(r->str, "valkey_version", v, sizeof v) == 0) {
            snprintf(run->target_kind, sizeof run->target_kind, "valkey");
            snprintf(run->target_version, sizeof run->target_version, "%s", v);
        } else if (info_str(r->str, "redis_version", v, sizeof v) == 0) {
            snprintf(run->target_kind, sizeof run->target_kind, "redis");
            snprintf(run->target_version, sizeof run->target_version, "%s", v);
        }
    }
    freeReplyObject(r);
    static const char *audit[] = {"maxmemory", "maxmemory-policy", "appendonly", "appendfsync",
                                  "save"};
    for (size_t i = 0; i < sizeof audit / sizeof audit[0]; i++) {
        r = redisCommand(c, "CONFIG GET %s", audit[i]);
        if (!r) break; /* connection died: the audit is best effort */
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
            r->element[1]->type == REDIS_REPLY_STRING)
            kv_set(&run->config, &run->n_config, audit[i], r->element[1]->str);
        freeReplyObject(r);
    }
    redisFree(c);
    return 0;
}

/* ---- the cell ---- */

typedef struct cell_ctx {
    const bench_cell *cell;
    const char *value;
    uint64_t budget;            /* requests for this phase; UINT64_MAX when timed */
    atomic_uint_fast64_t claimed;
    uint64_t deadline;          /* now_ns() bound; 0 when counted */
} cell_ctx;

typedef struct conn {
    redisContext *c;
    hist *h;
    uint64_t done, errors, replies;
    uint64_t rng;
    int failed;
    char err[RB_ERR_LEN];
    cell_ctx *cx;
    pthread_t tid;
} conn;

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static int reply_ok(const bench_cell *cell, const redisReply *r)
{
    switch (cell->op) {
    case OP_SET:
        return r->type == REDIS_REPLY_STATUS && strcmp(r->str, "OK") == 0;
    case OP_GET:
        return r->type == REDIS_REPLY_STRING && (long)r->len == cell->value_size;
    default:
        return 0;
    }
}

static void *conn_loop(void *arg)
{
    conn *k = arg;
    cell_ctx *cx = k->cx;
    const bench_cell *cell = cx->cell;
    const char *cmd = op_info[cell->op].command;
    size_t batch = (size_t)cell->pipeline;
    char keybuf[64];

    for (;;) {
        size_t n = batch;
        if (cx->deadline) {
            if (now_ns() >= cx->deadline) break;
        } else {
            uint64_t got = atomic_fetch_add(&cx->claimed, n);
            if (got >= cx->budget) break;
            if (cx->budget - got < n) n = (size_t)(cx->budget - got);
        }
        for (size_t i = 0; i < n; i++) {
            long idx = (long)(xorshift(&k->rng) % (uint64_t)cell->dataset_size);
            int kl = snprintf(keybuf, sizeof keybuf, "rb:%s:%ld", op_info[cell->op].name, idx);
            const char *argv[3] = {cmd, keybuf, cx->value};
            size_t argl[3] = {strlen(cmd), (size_t)kl, (size_t)cell->value_size};
            redisAppendCommandArgv(k->c, cell->op == OP_SET ? 3 : 2, argv, argl);
        }
        /* Latency of each request runs from the batch's send (the first
         * redisGetReply flushes it) to the arrival of its own reply. */
        uint64_t t0 = now_ns();
        for (size_t i = 0; i < n; i++) {
            redisReply *r = NULL;
            if (redisGetReply(k->c, (void **)&r) != REDIS_OK || !r) {
                k->failed = 1;
                snprintf(k->err, sizeof k->err, "%s", k->c->errstr[0] ? k->c->errstr : "connection lost");
                return NULL;
            }
            hist_record(k->h, now_ns() - t0);
            k->replies++;
            k->done++;
            if (!reply_ok(cell, r)) k->errors++;
            freeReplyObject(r);
        }
    }
    return NULL;
}

/* Runs one phase (warm-up or iteration) over all connections. Returns the
 * elapsed seconds, or -1 with err when a connection failed. */
static double run_phase(conn *cs, long nconn, const bench_target *t, char *err)
{
    uint64_t start = now_ns();
    for (long i = 0; i < nconn; i++) {
        cs[i].done = cs[i].errors = 0;
        hist_reset(cs[i].h);
        if (pthread_create(&cs[i].tid, NULL, conn_loop, &cs[i]) != 0) {
            for (long j = 0; j < i; j++) pthread_join(cs[j].tid, NULL);
            rb_err(err, "pthread_create: %s", strerror(errno));
            return -1;
        }
    }
    for (long i = 0; i < nconn; i++) pthread_join(cs[i].tid, NULL);
    double secs = (double)(now_ns() - start) / 1e9;
    for (long i = 0; i < nconn; i++) {
        if (cs[i].failed) {
            rb_err(err, "%s:%d: %s", t->host, t->port, cs[i].err);
            return -1;
        }
    }
    return secs;
}

/* Sends argv-built commands in pipelined batches on c: SET of every dataset
 * key (prepare) or DEL of them (cleanup). Counts the commands in *sent. */
static int for_dataset(redisContext *c, const bench_cell *cell, const char *value, int del,
                       uint64_t *sent, char *err)
{
    long n = cell->dataset_size;
    const char *name = op_info[cell->op].name;
    char **keys = xcalloc(PREP_BATCH + 1, sizeof *keys);
    size_t *lens = xcalloc(PREP_BATCH + 1, sizeof *lens);
    int rc = -1;
    for (long base = 0; base < n; base += PREP_BATCH) {
        long m = n - base < PREP_BATCH ? n - base : PREP_BATCH;
        size_t pending = 0;
        if (del) {
            keys[0] = xstrdup("DEL");
            lens[0] = 3;
            for (long i = 0; i < m; i++) {
                char kb[64];
                lens[i + 1] = (size_t)snprintf(kb, sizeof kb, "rb:%s:%ld", name, base + i);
                keys[i + 1] = xstrdup(kb);
            }
            redisAppendCommandArgv(c, (int)m + 1, (const char **)keys, lens);
            for (long i = 0; i <= m; i++) free(keys[i]);
            pending = 1;
        } else {
            for (long i = 0; i < m; i++) {
                char kb[64];
                int kl = snprintf(kb, sizeof kb, "rb:%s:%ld", name, base + i);
                const char *argv[3] = {"set", kb, value};
                size_t argl[3] = {3, (size_t)kl, (size_t)cell->value_size};
                redisAppendCommandArgv(c, 3, argv, argl);
            }
            pending = (size_t)m;
        }
        for (size_t i = 0; i < pending; i++) {
            redisReply *r = NULL;
            if (redisGetReply(c, (void **)&r) != REDIS_OK || !r) {
                rb_err(err, "%s %s: %s", del ? "cleanup" : "prepare", name, c->errstr);
                goto out;
            }
            if (r->type == REDIS_REPLY_ERROR) {
                rb_err(err, "%s %s: server replied %s", del ? "cleanup" : "prepare", name, r->str);
                freeReplyObject(r);
                goto out;
            }
            freeReplyObject(r);
            (*sent)++;
        }
    }
    rc = 0;
out:
    free(keys);
    free(lens);
    return rc;
}

int bench_run_cell(const bench_target *t, const bench_cell *cell, const bench_limits *lim,
                   rb_result *res, rb_kv **cmds, size_t *n_cmds, bench_progress progress,
                   void *ud, char *err)
{
    const struct op_info *oi = &op_info[cell->op];
    long nconn = cell->concurrency;
    int rc = -1;
    conn *cs = xcalloc((size_t)nconn, sizeof *cs);
    char *value = xmalloc((size_t)cell->value_size + 1);
    memset(value, 'x', (size_t)cell->value_size);
    value[cell->value_size] = '\0';
    redisContext *ctl = NULL;
    uint64_t prep = 0, cleanup = 0, replies = 0;
    rb_server_delta before, after;
    cell_ctx cx = {.cell = cell, .value = value};

    snprintf(res->scenario, sizeof res->scenario, "%s", oi->name);
    snprintf(res->op, sizeof res->op, "%s", oi->name);
    snprintf(res->data_type, sizeof res->data_type, "%s", oi->data_type);
    res->concurrency = cell->concurrency;
    res->pipeline = cell->pipeline;
    res->value_size = cell->value_size;
    res->dataset_size = cell->dataset_size;
    res->latency = hist_new();
    res->samples = xcalloc((size_t)lim->iterations, sizeof *res->samples);

    if (!(ctl = bench_connect(t, err))) goto out;
    if (oi->needs_dataset && for_dataset(ctl, cell, value, 0, &prep, err) < 0) goto out;
    for (long i = 0; i < nconn; i++) {
        if (!(cs[i].c = bench_connect(t, err))) goto out;
        cs[i].h = hist_new();
        cs[i].cx = &cx;
        cs[i].rng = 0x9E3779B97F4A7C15ull ^ ((uint64_t)(i + 1) * 0xBF58476D1CE4E5B9ull);
    }

    if (lim->warmup) {
        cx.budget = lim->warmup;
        atomic_store(&cx.claimed, 0);
        cx.deadline = 0;
        if (run_phase(cs, nconn, t, err) < 0) goto out;
    }
    bench_info(ctl, &before);

    hist *it_h = hist_new();
    for (int it = 0; it < lim->iterations; it++) {
        cx.budget = lim->requests ? lim->requests : UINT64_MAX;
        atomic_store(&cx.claimed, 0);
        cx.deadline = lim->requests ? 0 : now_ns() + (uint64_t)(lim->duration_s * 1e9);
        double secs = run_phase(cs, nconn, t, err);
        if (secs < 0) {
            hist_free(it_h);
            goto out;
        }
        rb_sample *sm = &res->samples[res->n_samples++];
        hist_reset(it_h);
        for (long i = 0; i < nconn; i++) {
            sm->requests += cs[i].done;
            sm->errors += cs[i].errors;
            hist_merge(it_h, cs[i].h);
        }
        sm->seconds = secs;
        sm->ops_per_sec = secs > 0 ? (double)sm->requests / secs : 0;
        sm->p50_us = (double)hist_percentile(it_h, 50) / 1e3;
        sm->p99_us = (double)hist_percentile(it_h, 99) / 1e3;
        hist_merge(res->latency, it_h);
        res->requests += sm->requests;
        res->errors += sm->errors;
        if (progress) progress(cell, it, lim->iterations, sm->ops_per_sec, ud);
    }
    hist_free(it_h);

    bench_info(ctl, &after);
    bench_delta(&res->server, &before, &after);
    if (for_dataset(ctl, cell, value, 1, &cleanup, err) < 0) goto out;
    result_summarize(res);
    rc = 0;
out:
    for (long i = 0; i < nconn; i++) {
        replies += cs[i].replies;
        if (cs[i].c) redisFree(cs[i].c);
        hist_free(cs[i].h);
    }
    /* Count what reached the server even when the cell failed half-way. */
    if (prep) kv_add(cmds, n_cmds, "set", prep);
    if (replies) kv_add(cmds, n_cmds, oi->command, replies);
    if (cleanup) kv_add(cmds, n_cmds, "del", cleanup);
    if (ctl) redisFree(ctl);
    free(cs);
    free(value);
    return rc;
}
