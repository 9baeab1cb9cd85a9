/* lab_persist.c -- `redbench lab persistence-recovery`: per persistence
 * setting, write a known data set with acknowledged writes counted, kill -9
 * the server mid-stream, restart it on the same directory, and measure the
 * time until it answers and the share of acknowledged writes that survived.
 * Documented in docs/lab.md. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <hiredis/hiredis.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "lab.h"
#include "labrec.h"
#include "model.h"
#include "util.h"

static const char PERSIST_USAGE[] =
    "usage: redbench lab persistence-recovery [LAB-OPTIONS] [-- OPTIONS]\n"
    "\n"
    "For each variant, starts its own redis-server (lab dir, 127.0.0.1, a free\n"
    "port), writes --keys keys with pipelined SETs counting the acknowledged ones,\n"
    "kills the server with SIGKILL while a batch is in flight, restarts it on the\n"
    "same directory, measures the time until it answers PING (and until INFO\n"
    "persistence says loading:0), and reads every acknowledged key back.\n"
    "One result per variant: scenario persistence-recovery, op = the variant,\n"
    "metrics recovery_ms, acked_writes, survived_writes, survived_ratio ... (docs/lab.md).\n"
    "\n"
    "  --variants LIST        aof-always, aof-everysec, aof-no, rdb (default: all four)\n"
    "                         rdb: no AOF; BGSAVE after half the keys, then the rest\n"
    "  --keys N               acknowledged writes before the kill (default 50000)\n"
    "  --value-size N         bytes per value (default 64)\n"
    "  --pipeline N           SETs per batch (default 100)\n"
    "  --timeout MS           reply timeout; also bounds the BGSAVE and the restart\n"
    "                         (default 30000)\n"
    LABREC_USAGE
    "The run is delivered as the lab's modes are (--collector, --out DIR), also when\n"
    "a variant failed (that result is \"failed\"; the lab then exits 2).\n";

struct variant {
    const char *name;
    const char *appendonly, *appendfsync;
    int bgsave_half;            /* RDB: BGSAVE once half the keys are acknowledged */
};

static const struct variant variants[] = {
    {"aof-always", "yes", "always", 0},
    {"aof-everysec", "yes", "everysec", 0},
    {"aof-no", "yes", "no", 0},
    {"rdb", "no", "everysec", 1},
};
#define N_VARIANTS (sizeof variants / sizeof variants[0])

struct pcfg {
    long keys, value_size, pipeline, timeout_ms;
    int quiet;
    char nonce[16];
};

/* The value of key i: "<nonce>:<i>:" padded with letters to value_size bytes. */
static void make_value(const struct pcfg *c, uint64_t i, char *out)
{
    char head[64];
    int h = snprintf(head, sizeof head, "%s:%llu:", c->nonce, (unsigned long long)i);
    for (long j = 0; j < c->value_size; j++)
        out[j] = j < h ? head[j] : (char)('a' + (int)((i + (uint64_t)j) % 26));
    out[c->value_size] = '\0';
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static double ms_since(uint64_t t0)
{
    return (double)(now_ns() - t0) / 1e6;
}

/* An INFO field's value as a number (-1 when absent). */
static double info_num(const char *info, const char *field)
{
    size_t fl = strlen(field);
    for (const char *p = info; (p = strstr(p, field)); p += fl)
        if ((p == info || p[-1] == '\n') && p[fl] == ':') return strtod(p + fl + 1, NULL);
    return -1;
}

/* INFO persistence as a string the caller frees, or NULL. */
static char *info_persistence(redisContext *c, rb_run *run)
{
    redisReply *r = redisCommand(c, "INFO persistence");
    if (!r) return NULL;
    kv_add(&run->commands, &run->n_commands, "info", 1);
    char *s = r->type == REDIS_REPLY_STRING ? xstrdup(r->str) : NULL;
    freeReplyObject(r);
    return s;
}

/* Waits until the BGSAVE in progress is done and succeeded. */
static int wait_bgsave(redisContext *c, const struct pcfg *cfg, rb_run *run, char *err)
{
    uint64_t deadline = now_ns() + (uint64_t)cfg->timeout_ms * 1000000ull;
    while (now_ns() < deadline) {
        char *info = info_persistence(c, run);
        if (!info) return rb_err(err, "INFO persistence: %s", c->err ? c->errstr : "no reply");
        double busy = info_num(info, "rdb_bgsave_in_progress");
        char status[16] = "";
        const char *p = strstr(info, "rdb_last_bgsave_status:");
        if (p) snprintf(status, sizeof status, "%.*s", (int)strcspn(p + 23, "\r\n"), p + 23);
        free(info);
        if (busy == 0) return strcmp(status, "ok") ? rb_err(err, "BGSAVE failed: %s", status) : 0;
        sleep_ms(5);
    }
    return rb_err(err, "BGSAVE not done within %ld ms", cfg->timeout_ms);
}

/* Appends one batch of SETs [from, from+n) to c's output buffer. */
static void append_batch(redisContext *c, const struct pcfg *cfg, uint64_t from, long n, char *val)
{
    for (long k = 0; k < n; k++) {
        char key[48];
        snprintf(key, sizeof key, "rb:persist:%llu", (unsigned long long)(from + (uint64_t)k));
        make_value(cfg, from + (uint64_t)k, val);
        redisAppendCommand(c, "SET %s %b", key, val, (size_t)cfg->value_size);
    }
}

/* Flushes c's output buffer to the socket; 0 or -1. */
static int flush_out(redisContext *c)
{
    int done = 0;
    for (int i = 0; i < 1000000 && !done; i++)
        if (redisBufferWrite(c, &done) == REDIS_ERR) return -1;
    return done ? 0 : -1;
}

struct outcome {
    uint64_t sent, acked, error_replies, acked_at_bgsave;
    uint8_t *ack;               /* per key sent: 1 acknowledged */
    double write_s;
    double first_reply_ms, recovery_ms, loading_done_ms;
    uint64_t survived, corrupt, unacked_survived;
    long long disk_bytes;
};

/* The variant's redis-server: started by the lab, restarted here on the same
 * directory and port. */
struct server {
    lab *l;
    const struct variant *v;
    pid_t pid;                  /* 0 when not running */
    int port;
    char dir[420];
    char log[48];
};

/* Bytes of the regular files under path (depth-bounded): the AOF or RDB. */
static long long dir_bytes(const char *path, int depth)
{
    DIR *d = opendir(path);
    if (!d) return 0;
    long long total = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char sub[PATH_MAX];
        struct stat st;
        if (snprintf(sub, sizeof sub, "%s/%s", path, e->d_name) >= (int)sizeof sub) continue;
        if (lstat(sub, &st) < 0) continue;
        if (S_ISREG(st.st_mode)) total += (long long)st.st_size;
        else if (S_ISDIR(st.st_mode) && depth > 0) total += dir_bytes(sub, depth - 1);
    }
    closedir(d);
    return total;
}

/* First start, through the lab (which picks the port and waits for PONG). */
static int server_start(struct server *s, char *err)
{
    snprintf(s->dir, sizeof s->dir, "%s/persist-%s", s->l->dir, s->v->name);
    if (mkdir(s->dir, 0700) < 0 && errno != EEXIST) return rb_err(err, "mkdir %s: %s", s->dir, strerror(errno));
    const char *extra[] = {"--appendonly", s->v->appendonly, "--appendfsync", s->v->appendfsync,
                           "--dir", s->dir, NULL};
    char addr[64];
    pid_t pid = lab_redis_start(s->l, NULL, extra, addr, err);
    if (pid < 0) return -1;
    s->pid = pid;
    const char *colon = strrchr(addr, ':');
    s->port = colon ? atoi(colon + 1) : 0;
    return s->port > 0 ? 0 : rb_err(err, "redis-server address '%s' has no port", addr);
}

/* The restart: the same arguments, directory and port, not waited for. */
static int server_respawn(struct server *s, char *err)
{
    char port[16];
    snprintf(port, sizeof port, "%d", s->port);
    snprintf(s->log, sizeof s->log, "persist-%s-restart", s->v->name);
    char *argv[] = {"redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "",
                    "--protected-mode", "no", "--daemonize", "no", "--dir", s->dir,
                    "--appendonly", (char *)s->v->appendonly, "--appendfsync",
                    (char *)s->v->appendfsync, NULL};
    pid_t pid = lab_spawn(s->l, NULL, argv, s->log, err);
    if (pid < 0) return -1;
    s->pid = pid;
    return 0;
}

/* 1 when the server process has ended (and was reaped). */
static int server_gone(struct server *s)
{
    char e[RB_ERR_LEN];
    if (!s->pid || lab_wait(s->l, s->pid, 0, e) < 0) return s->pid == 0;
    s->pid = 0;
    return 1;
}

/* Writes until cfg->keys are acknowledged, then sends one more batch and
 * kills the server while it is in flight. */
static int write_and_kill(struct server *srv, const struct pcfg *cfg, const struct variant *v,
                          rb_run *run, rb_result *res, struct outcome *o, char *err)
{
    bench_target t = {.host = "127.0.0.1", .port = srv->port, .timeout_ms = (int)cfg->timeout_ms};
    redisContext *c = bench_connect(&t, err);
    if (!c) return -1;
    int rc = -1;
    /* Sent at most: the keys, the error replies tolerated, a batch over, the last batch. */
    size_t cap = (size_t)cfg->keys + (size_t)cfg->keys / 10 + 10 + 3 * (size_t)cfg->pipeline;
    o->ack = xcalloc(cap, 1);
    char *val = xmalloc((size_t)cfg->value_size + 1);
    hist *h = res->latency;
    int saved = !v->bgsave_half;
    uint64_t t0 = now_ns();
    while (o->acked < (uint64_t)cfg->keys) {
        long n = cfg->pipeline;
        append_batch(c, cfg, o->sent, n, val);
        uint64_t sent_at = now_ns();
        for (long k = 0; k < n; k++) {
            redisReply *r = NULL;
            if (redisGetReply(c, (void **)&r) != REDIS_OK || !r) {
                rb_err(err, "SET on 127.0.0.1:%d: %s", srv->port, c->errstr);
                goto out;
            }
            hist_record(h, now_ns() - sent_at);
            kv_add(&run->commands, &run->n_commands, "set", 1);
            if (r->type == REDIS_REPLY_STATUS && !strcmp(r->str, "OK")) {
                o->ack[o->sent + (uint64_t)k] = 1;
                o->acked++;
            } else {
                o->error_replies++;
                if (!res->error[0])
                    snprintf(res->error, sizeof res->error, "set: unexpected reply: %s",
                             r->type == REDIS_REPLY_ERROR ? r->str : "not OK");
            }
            freeReplyObject(r);
        }
        o->sent += (uint64_t)n;
        if (o->error_replies > (uint64_t)cfg->keys / 10 + 10) {
            rb_err(err, "set: too many error replies (%s)", res->error);
            goto out;
        }
        if (!saved && o->acked >= (uint64_t)cfg->keys / 2) {
            redisReply *r = redisCommand(c, "BGSAVE");
            if (!r) {
                rb_err(err, "BGSAVE: %s", c->errstr);
                goto out;
            }
            kv_add(&run->commands, &run->n_commands, "bgsave", 1);
            int bad = r->type == REDIS_REPLY_ERROR;
            if (bad) rb_err(err, "BGSAVE: %s", r->str);
            freeReplyObject(r);
            if (bad || wait_bgsave(c, cfg, run, err) < 0) goto out;
            o->acked_at_bgsave = o->acked;
            saved = 1;
        }
    }
    o->write_s = (double)(now_ns() - t0) / 1e9;
    /* Mid-stream: one more batch goes out, and the server dies under it. */
    append_batch(c, cfg, o->sent, cfg->pipeline, val);
    if (flush_out(c) < 0) {
        rb_err(err, "write to 127.0.0.1:%d: %s", srv->port, c->errstr);
        goto out;
    }
    uint64_t sent_at = now_ns();
    /* The whole process group: a fork child (an AOF rewrite) dies with it. */
    kill(-srv->pid, SIGKILL);
    kill(srv->pid, SIGKILL);
    for (long k = 0; k < cfg->pipeline; k++) {
        redisReply *r = NULL;
        if (redisGetReply(c, (void **)&r) != REDIS_OK || !r) break;
        hist_record(h, now_ns() - sent_at);
        kv_add(&run->commands, &run->n_commands, "set", 1);
        if (r->type == REDIS_REPLY_STATUS && !strcmp(r->str, "OK")) {
            o->ack[o->sent + (uint64_t)k] = 1;
            o->acked++;
        } else {
            o->error_replies++;
        }
        freeReplyObject(r);
    }
    o->sent += (uint64_t)cfg->pipeline;
    char e[RB_ERR_LEN];
    if (lab_wait(srv->l, srv->pid, 5000, e) >= 0) srv->pid = 0;
    rc = 0;
out:
    free(val);
    redisFree(c);
    return rc;
}

/* Restarts the server on its directory and times it: first reply of any
 * kind to PING, PONG, then INFO persistence loading:0. */
static int restart_and_time(struct server *srv, const struct pcfg *cfg, rb_run *run, struct outcome *o,
                            char *err)
{
    o->first_reply_ms = o->recovery_ms = o->loading_done_ms = -1;
    uint64_t t0 = now_ns();
    if (server_respawn(srv, err) < 0) return -1;
    uint64_t deadline = t0 + (uint64_t)cfg->timeout_ms * 1000000ull;
    redisContext *c = NULL;
    int rc = -1;
    struct timeval tv = {0, 500000};
    while (now_ns() < deadline) {
        if (!c) {
            c = redisConnectWithTimeout("127.0.0.1", srv->port, tv);
            if (!c || c->err) {
                if (c) redisFree(c);
                c = NULL;
                if (server_gone(srv))
                    return rb_err(err, "the restarted redis-server exited (see %s/%s.log)",
                                  srv->l->dir, srv->log);
                if (lab_interrupted()) return rb_err(err, "interrupted");
                sleep_ms(1);
                continue;
            }
            redisSetTimeout(c, tv);
        }
        redisReply *r = redisCommand(c, "PING");
        if (!r) {
            redisFree(c);
            c = NULL;
            continue;
        }
        kv_add(&run->commands, &run->n_commands, "ping", 1);
        if (o->first_reply_ms < 0) o->first_reply_ms = ms_since(t0);
        int pong = r->type == REDIS_REPLY_STATUS && !strcmp(r->str, "PONG");
        freeReplyObject(r);
        if (pong) {
            o->recovery_ms = ms_since(t0);
            break;
        }
        sleep_ms(1);
    }
    if (o->recovery_ms < 0) {
        rb_err(err, "the restarted server gave no PONG within %ld ms", cfg->timeout_ms);
        goto out;
    }
    while (now_ns() < deadline) {
        char *info = info_persistence(c, run);
        if (!info) {
            rb_err(err, "INFO persistence after the restart: %s", c->errstr);
            goto out;
        }
        double loading = info_num(info, "loading");
        free(info);
        if (loading == 0) {
            o->loading_done_ms = ms_since(t0);
            rc = 0;
            goto out;
        }
        sleep_ms(1);
    }
    rb_err(err, "still loading after %ld ms", cfg->timeout_ms);
out:
    if (c) redisFree(c);
    return rc;
}

/* Reads every key sent back: acknowledged ones must hold their value. */
static int verify(struct server *srv, const struct pcfg *cfg, rb_run *run, struct outcome *o, char *err)
{
    bench_target t = {.host = "127.0.0.1", .port = srv->port, .timeout_ms = (int)cfg->timeout_ms};
    redisContext *c = bench_connect(&t, err);
    if (!c) return -1;
    int rc = -1;
    char *val = xmalloc((size_t)cfg->value_size + 1);
    for (uint64_t from = 0; from < o->sent; from += 1000) {
        uint64_t n = o->sent - from < 1000 ? o->sent - from : 1000;
        for (uint64_t k = 0; k < n; k++)
            redisAppendCommand(c, "GET rb:persist:%llu", (unsigned long long)(from + k));
        for (uint64_t k = 0; k < n; k++) {
            redisReply *r = NULL;
            if (redisGetReply(c, (void **)&r) != REDIS_OK || !r) {
                rb_err(err, "GET after the restart: %s", c->errstr);
                goto out;
            }
            kv_add(&run->commands, &run->n_commands, "get", 1);
            uint64_t i = from + k;
            make_value(cfg, i, val);
            int same = r->type == REDIS_REPLY_STRING && r->len == (size_t)cfg->value_size &&
                       !memcmp(r->str, val, r->len);
            int present = r->type == REDIS_REPLY_STRING;
            freeReplyObject(r);
            if (o->ack[i]) {
                if (same) o->survived++;
                else if (present) o->corrupt++;
            } else if (same) {
                o->unacked_survived++;
            }
        }
    }
    rc = 0;
out:
    free(val);
    redisFree(c);
    return rc;
}

/* One variant, start to clean-up, into res. */
static int run_variant(lab *l, const struct pcfg *cfg, const struct variant *v, rb_run *run,
                       rb_result *res, char *err)
{
    snprintf(res->status, sizeof res->status, "ok");
    snprintf(res->scenario, sizeof res->scenario, "persistence-recovery");
    snprintf(res->op, sizeof res->op, "%s", v->name);
    snprintf(res->data_type, sizeof res->data_type, "string");
    res->concurrency = 1;
    res->pipeline = cfg->pipeline;
    res->value_size = cfg->value_size;
    res->dataset_size = cfg->keys;
    res->latency = hist_new();
    kv_set(&res->params, &res->n_params, "appendonly", v->appendonly);
    if (!strcmp(v->appendonly, "yes")) kv_set(&res->params, &res->n_params, "appendfsync", v->appendfsync);
    else kv_set(&res->params, &res->n_params, "save", "bgsave-at-half");

    struct server srv = {.l = l, .v = v};
    struct outcome o = {0};
    int rc = -1;
    if (server_start(&srv, err) < 0) goto out;
    if (!run->target_kind[0]) {
        bench_target t = {.host = "127.0.0.1", .port = srv.port, .timeout_ms = (int)cfg->timeout_ms};
        if (bench_probe(&t, run, err) < 0) goto out;
        /* The config differs per variant: each result's params say which. */
        free(run->config);
        run->config = NULL;
        run->n_config = 0;
    }
    if (!cfg->quiet) fprintf(stderr, "%s: writing %ld keys to 127.0.0.1:%d\n", v->name, cfg->keys, srv.port);
    if (write_and_kill(&srv, cfg, v, run, res, &o, err) < 0) goto out;
    o.disk_bytes = dir_bytes(srv.dir, 2);
    if (!cfg->quiet) fprintf(stderr, "%s: killed after %llu acknowledged writes; restarting\n", v->name,
                             (unsigned long long)o.acked);
    if (restart_and_time(&srv, cfg, run, &o, err) < 0) goto out;
    if (verify(&srv, cfg, run, &o, err) < 0) goto out;

    rb_sample s = {0};
    s.requests = o.acked;
    s.errors = o.sent - o.acked;
    s.seconds = o.write_s;
    s.ops_per_sec = o.write_s > 0 ? (double)o.acked / o.write_s : 0;
    s.p50_us = (double)hist_percentile(res->latency, 50) / 1000.0;
    s.p99_us = (double)hist_percentile(res->latency, 99) / 1000.0;
    res->samples = xmalloc(sizeof *res->samples);
    res->samples[0] = s;
    res->n_samples = 1;
    res->requests = s.requests;
    res->errors = s.errors;
    result_set_metric(res, "recovery_ms", o.recovery_ms);
    result_set_metric(res, "first_reply_ms", o.first_reply_ms);
    result_set_metric(res, "loading_done_ms", o.loading_done_ms);
    result_set_metric(res, "acked_writes", (double)o.acked);
    result_set_metric(res, "sent_writes", (double)o.sent);
    result_set_metric(res, "survived_writes", (double)o.survived);
    result_set_metric(res, "lost_writes", (double)(o.acked - o.survived));
    result_set_metric(res, "corrupt_values", (double)o.corrupt);
    result_set_metric(res, "survived_ratio", o.acked ? (double)o.survived / (double)o.acked : 0);
    result_set_metric(res, "unacked_survived", (double)o.unacked_survived);
    result_set_metric(res, "error_replies", (double)o.error_replies);
    result_set_metric(res, "disk_bytes", (double)o.disk_bytes);
    if (v->bgsave_half) result_set_metric(res, "acked_at_bgsave", (double)o.acked_at_bgsave);
    result_summarize(res);
    rc = 0;
out:
    free(o.ack);
    if (srv.pid) lab_stop(l, srv.pid);
    return rc;
}

static double metric(const rb_result *r, const char *name)
{
    for (size_t i = 0; i < r->n_metrics; i++)
        if (!strcmp(r->metrics[i].name, name)) return r->metrics[i].value;
    return 0;
}

int lab_persist(lab *l, char *err)
{
    enum { O_VARIANTS = 1, O_KEYS, O_VSIZE, O_PIPE, O_TIMEOUT, O_HELP };
    static const struct option opts[] = {
        {"variants", 1, 0, O_VARIANTS}, {"keys", 1, 0, O_KEYS}, {"value-size", 1, 0, O_VSIZE},
        {"pipeline", 1, 0, O_PIPE}, {"timeout", 1, 0, O_TIMEOUT}, {"help", 0, 0, O_HELP},
        LABREC_OPTIONS, {0, 0, 0, 0}};
    const char *cmd = "persistence-recovery", *N = "lab persistence-recovery";
    const char *list = "aof-always,aof-everysec,aof-no,rdb";
    struct pcfg cfg = {.keys = 50000, .value_size = 64, .pipeline = 100, .timeout_ms = 30000};
    /* Loopback only: no namespaces are used, whatever the lab could do. */
    l->netns = 0;
    rb_run run;
    labrec_init(l, &run);
    int rc = -1, o, bad, argc;
    char **argv = labrec_argv(l, cmd, &argc);
    optind = 1;
    while ((o = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        bad = 0;
        switch (o) {
        case O_VARIANTS: list = optarg; break;
        case O_KEYS: bad = cli_long(N, "--keys", optarg, 2, 10000000, &cfg.keys); break;
        case O_VSIZE: bad = cli_long(N, "--value-size", optarg, 1, 1 << 20, &cfg.value_size); break;
        case O_PIPE: bad = cli_long(N, "--pipeline", optarg, 1, 10000, &cfg.pipeline); break;
        case O_TIMEOUT: bad = cli_long(N, "--timeout", optarg, 100, 3600000, &cfg.timeout_ms); break;
        case 'h':
        case O_HELP: fputs(PERSIST_USAGE, stdout); rc = 0; goto out;
        default: {
            int h = labrec_option(&run, cmd, o, optarg, &cfg.quiet);
            if (h == 0) {
                fputs(PERSIST_USAGE, stderr);
                rb_err(err, "bad option");
                goto out;
            }
            bad = h < 0;
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
    /* Values carry a per-run nonce: a stale file can never pass for this run's data. */
    snprintf(cfg.nonce, sizeof cfg.nonce, "%.8s", run.id);

    const struct variant *chosen[N_VARIANTS];
    size_t nchosen = 0;
    {
        char *copy = xstrdup(list), *save = NULL;
        for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            size_t i = 0;
            while (i < N_VARIANTS && strcmp(variants[i].name, tok)) i++;
            if (i == N_VARIANTS) {
                rb_err(err, "--variants: unknown variant '%s' (aof-always, aof-everysec, aof-no, rdb)", tok);
                free(copy);
                goto out;
            }
            int dup = 0;
            for (size_t k = 0; k < nchosen; k++) dup |= chosen[k] == &variants[i];
            if (!dup) chosen[nchosen++] = &variants[i];
        }
        free(copy);
        if (!nchosen) {
            rb_err(err, "--variants: empty list");
            goto out;
        }
    }

    fmt_time_utc(wall_ns(), run.started_at, sizeof run.started_at);
    char failed[RB_ERR_LEN] = "";
    for (size_t i = 0; i < nchosen && !lab_interrupted(); i++) {
        rb_result *res = run_add_result(&run);
        if (run_variant(l, &cfg, chosen[i], &run, res, err) < 0) {
            fprintf(stderr, "redbench lab %s: %s: %s\n", cmd, chosen[i]->name, err);
            labrec_fail_result(res, err);
            if (!failed[0]) snprintf(failed, sizeof failed, "%s: %s", chosen[i]->name, err);
        }
    }
    fmt_time_utc(wall_ns(), run.ended_at, sizeof run.ended_at);
    if (!run.target_kind[0]) snprintf(run.target_kind, sizeof run.target_kind, "redis");
    if (lab_interrupted()) snprintf(run.status, sizeof run.status, "partial");
    else if (failed[0]) snprintf(run.status, sizeof run.status, "failed");
    if (!run.n_results) {
        rb_err(err, "interrupted");
        goto out;
    }

    printf("run %s  persistence-recovery  keys=%ld value=%ldB pipeline=%ld\n", run.id, cfg.keys,
           cfg.value_size, cfg.pipeline);
    printf("%-13s %10s %10s %9s %12s %12s %12s  %s\n", "VARIANT", "ACKED", "SURVIVED", "RATIO",
           "RECOVERY ms", "LOADED ms", "WRITES/S", "STATUS");
    for (size_t i = 0; i < run.n_results; i++) {
        const rb_result *r = &run.results[i];
        printf("%-13s %10.0f %10.0f %9.4f %12.1f %12.1f %12.0f  %s\n", r->op,
               metric(r, "acked_writes"), metric(r, "survived_writes"), metric(r, "survived_ratio"),
               metric(r, "recovery_ms"), metric(r, "loading_done_ms"), r->ops_per_sec,
               r->status[0] ? r->status : "ok");
        if (r->error[0]) printf("  error: %s\n", r->error);
    }
    fflush(stdout);
    if (lab_deliver(l, &run, -1, err) < 0) goto out;
    if (failed[0]) {
        snprintf(err, RB_ERR_LEN, "%s", failed);
        goto out;
    }
    rc = 0;
out:
    free(argv);
    run_cleanup(&run);
    return rc;
}
