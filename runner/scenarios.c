/* scenarios.c -- scenarios from the field with their own loops and metrics:
 * pubsub-fanout, stream-rpc and capacity-fill (what each measures: scenarios.h).
 * Blocking hiredis contexts, one thread per client. */
#include "scenarios.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "hist.h"
#include "util.h"

#define NS_PER_S 1000000000ull

/* ---- commands, counted under the names INFO commandstats uses ---- */

enum sc_cmd { C_PUBLISH, C_SUBSCRIBE, C_XADD, C_XREAD, C_XREADGROUP, C_XACK, C_XGROUP_CREATE,
              C_XPENDING, C_SET, C_GET, C_UNLINK, C_DEL, C_INFO, C_CONFIG_GET, C__MAX };
static const char *const sc_cmd_name[C__MAX] = {
    [C_PUBLISH] = "publish",       [C_SUBSCRIBE] = "subscribe", [C_XADD] = "xadd",
    [C_XREAD] = "xread",           [C_XREADGROUP] = "xreadgroup", [C_XACK] = "xack",
    [C_XGROUP_CREATE] = "xgroup|create", [C_XPENDING] = "xpending", [C_SET] = "set",
    [C_GET] = "get",               [C_UNLINK] = "unlink",       [C_DEL] = "del",
    [C_INFO] = "info",             [C_CONFIG_GET] = "config|get",
};

/* Replies received per command: each thread keeps its own, merged after join. */
typedef struct counts {
    uint64_t n[C__MAX];
} counts;

static void counts_merge(counts *dst, const counts *src)
{
    for (int i = 0; i < C__MAX; i++) dst->n[i] += src->n[i];
}

static void counts_flush(const counts *c, rb_kv **cmds, size_t *n_cmds)
{
    for (int i = 0; i < C__MAX; i++)
        if (c->n[i]) kv_add(cmds, n_cmds, sc_cmd_name[i], c->n[i]);
}

/* ---- shared helpers ---- */

static int stop_requested(const scenario_params *p)
{
    return p->stop && *p->stop;
}

/* Sleeps until the monotonic time due (ns), in slices of at most 50 ms so that
 * a stop request is seen. -1 if stopped, or if due is at or past deadline
 * (0: none). */
static int sleep_until(uint64_t due, uint64_t deadline, const scenario_params *p)
{
    if (deadline && due >= deadline) return -1;
    for (;;) {
        if (stop_requested(p)) return -1;
        uint64_t now = now_ns();
        if (now >= due) return 0;
        uint64_t until = due - now > 50000000ull ? now + 50000000ull : due;
        struct timespec ts = {(time_t)(until / NS_PER_S), (long)(until % NS_PER_S)};
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
    }
}

/* Share i (0-based) of total split over n as evenly as possible. */
static uint64_t share(uint64_t total, long n, long i)
{
    return total / (uint64_t)n + ((uint64_t)i < total % (uint64_t)n);
}

/* Due time of message k of client `id` among `n` clients sharing `rate`
 * msg/s: the clients interleave evenly. */
static uint64_t due_time(uint64_t start, uint64_t k, long n, long id, double rate)
{
    return start + (uint64_t)(((double)k * (double)n + (double)id) * 1e9 / rate);
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t seed_random(void)
{
    uint64_t s;
    if (rand_bytes(&s, sizeof s) < 0) s = now_ns() ^ wall_ns();
    return s;
}

/* INFO on c into snap, counted when the server answered. */
static int info_counted(redisContext *c, rb_server_delta *snap, counts *cnt)
{
    if (bench_info(c, snap) < 0) return -1;
    cnt->n[C_INFO]++;
    return 0;
}

/* Fills the identity of res and allocates its histogram and samples. */
static void result_begin(rb_result *res, const char *scenario, const char *op, const char *type,
                         long concurrency, long pipeline, long value_size, long dataset_size,
                         int iterations)
{
    snprintf(res->scenario, sizeof res->scenario, "%s", scenario);
    snprintf(res->op, sizeof res->op, "%s", op);
    snprintf(res->data_type, sizeof res->data_type, "%s", type);
    snprintf(res->status, sizeof res->status, "ok");
    res->concurrency = concurrency;
    res->pipeline = pipeline;
    res->value_size = value_size;
    res->dataset_size = dataset_size;
    if (!res->latency) res->latency = hist_new();
    size_t n = (size_t)(iterations > 0 ? iterations : 1);
    res->samples = xrealloc(res->samples, n * sizeof *res->samples);
    res->n_samples = 0;
}

static void param_long(rb_result *res, const char *name, long v)
{
    char s[32];
    snprintf(s, sizeof s, "%ld", v);
    kv_set(&res->params, &res->n_params, name, s);
}

static void param_double(rb_result *res, const char *name, double v)
{
    char s[32];
    snprintf(s, sizeof s, "%g", v);
    kv_set(&res->params, &res->n_params, name, s);
}

/* Appends one iteration's sample; h holds the iteration's latencies (ns). */
static void add_sample(rb_result *res, const hist *h, uint64_t requests, uint64_t errors,
                       double seconds)
{
    rb_sample *s = &res->samples[res->n_samples++];
    s->requests = requests;
    s->errors = errors;
    s->seconds = seconds;
    s->ops_per_sec = seconds > 0 ? (double)requests / seconds : 0;
    s->p50_us = (double)hist_percentile(h, 50) / 1e3;
    s->p99_us = (double)hist_percentile(h, 99) / 1e3;
    hist_merge(res->latency, h);
    res->requests += requests;
    res->errors += errors;
}

/* Marks res partial with the first cause. */
static void mark_partial(rb_result *res, const char *why)
{
    if (strcmp(res->status, "ok") == 0 || !res->status[0])
        snprintf(res->status, sizeof res->status, "partial");
    if (!res->error[0]) snprintf(res->error, sizeof res->error, "%s", why);
}

static void mark_failed(rb_result *res, const char *err)
{
    snprintf(res->status, sizeof res->status, "failed");
    snprintf(res->error, sizeof res->error, "%s", err);
}

static void conn_error(char *out, const bench_target *t, const char *what, const redisContext *c)
{
    rb_err(out, "%s on %s:%d: %s", what, t->host, t->port,
           c && c->errstr[0] ? c->errstr : "connection lost");
}

/* After an error (a timeout, a closed connection) a hiredis context is dead:
 * replaces *c with a fresh connection, one attempt. 0 if *c is usable. */
static int ctl_usable(redisContext **c, const bench_target *t)
{
    char e[RB_ERR_LEN];
    if (*c && !(*c)->err) return 0;
    if (*c) redisFree(*c);
    *c = bench_connect(t, e);
    return *c ? 0 : -1;
}

#define CLEANUP_ATTEMPTS 3

/* A clean-up command: up to CLEANUP_ATTEMPTS tries, reconnecting after a
 * failure and pausing 100 ms in between, so that a server back from a stall
 * still gets its keys deleted. The reply (caller frees), or NULL. */
static redisReply *cleanup_command(redisContext **c, const bench_target *t, int argc,
                                   const char **argv, const size_t *argl)
{
    for (int i = 0; i < CLEANUP_ATTEMPTS; i++) {
        if (i) {
            struct timespec ms100 = {0, 100000000};
            nanosleep(&ms100, NULL);
        }
        if (ctl_usable(c, t) < 0) continue;
        redisReply *r = redisCommandArgv(*c, argc, argv, argl);
        if (r) return r;
    }
    return NULL;
}

static int is_unknown_command(const char *msg)
{
    return strstr(msg, "unknown command") || strstr(msg, "unknown subcommand") ||
           strstr(msg, "not supported");
}

/* ================================================================
 * pubsub-fanout
 * ================================================================ */

#define PS_CHANNEL "rb:pubsub:fanout"
#define PS_TAG "rbps|"
#define PS_DRAIN_NS (2 * NS_PER_S)   /* wait for in-flight messages after the last publish */
#define PS_MAX_SEQ (UINT64_C(1) << 32)

typedef struct ps_shared {
    const scenario_params *p;
    const char *inst;
    size_t inst_len;
    unsigned iter;              /* tag of the current iteration (0 = warm-up) */
    long npub, nsub, batch, value_size;
    double rate;
    uint64_t start_ns;          /* due times count from here */
    uint64_t deadline_ns;       /* 0: bounded by count */
    atomic_int stop;            /* subscribers: finish what was read, then return */
    atomic_uint_fast64_t unique;/* distinct deliveries so far, all subscribers */
} ps_shared;

typedef struct ps_pub {
    ps_shared *sh;
    long id;
    redisContext *c;
    pthread_t tid;
    uint64_t budget;            /* messages; UINT64_MAX when timed */
    uint64_t acked, errors, end_ns;
    counts cnt;
    int failed;
    char err[RB_ERR_LEN];
} ps_pub;

typedef struct ps_sub {
    ps_shared *sh;
    long id;
    redisContext *c;
    pthread_t tid;
    hist *h;
    uint8_t **seen;             /* per publisher: bitmap of the sequence numbers received */
    size_t *seen_len;           /* bytes of each bitmap */
    uint64_t unique, dups, foreign, malformed, last_ns;
    int failed;
    char err[RB_ERR_LEN];
} ps_sub;

/* One iteration's figures. */
typedef struct ps_iter {
    uint64_t published, pub_errors, unique, dups, foreign, malformed;
    double sub_min, sub_max;    /* per-subscriber delivery rate */
    double seconds;             /* first publish to last delivery */
    double pub_seconds;         /* first publish to last publisher done */
    int failed;
    char err[RB_ERR_LEN];
} ps_iter;

static size_t ps_format(const ps_shared *sh, long pub, uint64_t seq, uint64_t ts, char *out,
                        size_t cap)
{
    int n = snprintf(out, cap, PS_TAG "%s|%u|%ld|%llu|%llu|", sh->inst, sh->iter, pub,
                     (unsigned long long)seq, (unsigned long long)ts);
    size_t len = (size_t)n;
    if (sh->value_size > 0 && len < (size_t)sh->value_size) {
        memset(out + len, 'x', (size_t)sh->value_size - len);
        len = (size_t)sh->value_size;
    }
    return len;
}

static void *ps_pub_loop(void *arg)
{
    ps_pub *pb = arg;
    ps_shared *sh = pb->sh;
    size_t cap = (size_t)(sh->value_size > 0 ? sh->value_size : 0) + sh->inst_len + 128;
    char *msg = xmalloc(cap);
    const char *argv[3] = {"PUBLISH", PS_CHANNEL, msg};
    size_t argl[3] = {7, sizeof PS_CHANNEL - 1, 0};
    uint64_t k = 0;

    while (k < pb->budget) {
        if (stop_requested(sh->p)) break;
        if (sh->deadline_ns && now_ns() >= sh->deadline_ns) break;
        uint64_t n = pb->budget - k < (uint64_t)sh->batch ? pb->budget - k : (uint64_t)sh->batch;
        if (sh->rate > 0) {
            /* Open loop: wait for the next message's due time, then send it
             * with those already due too (at most `pipeline` in flight); each
             * message's latency counts from when it was due. */
            if (sleep_until(due_time(sh->start_ns, k, sh->npub, pb->id, sh->rate), sh->deadline_ns,
                            sh->p) < 0)
                break;
            uint64_t now = now_ns(), due = 1;
            while (due < n && due_time(sh->start_ns, k + due, sh->npub, pb->id, sh->rate) <= now)
                due++;
            n = due;
        }
        for (uint64_t j = 0; j < n; j++) {
            uint64_t ts = sh->rate > 0 ? due_time(sh->start_ns, k + j, sh->npub, pb->id, sh->rate)
                                       : now_ns();
            argl[2] = ps_format(sh, pb->id, k + j, ts, msg, cap);
            redisAppendCommandArgv(pb->c, 3, argv, argl);
        }
        for (uint64_t j = 0; j < n; j++) {
            redisReply *r = NULL;
            if (redisGetReply(pb->c, (void **)&r) != REDIS_OK || !r) {
                pb->failed = 1;
                snprintf(pb->err, sizeof pb->err, "publisher %ld: %s", pb->id,
                         pb->c->errstr[0] ? pb->c->errstr : "connection lost");
                goto done;
            }
            pb->cnt.n[C_PUBLISH]++;
            if (r->type == REDIS_REPLY_INTEGER) pb->acked++;
            else pb->errors++;
            freeReplyObject(r);
        }
        k += n;
    }
done:
    pb->end_ns = now_ns();
    free(msg);
    return NULL;
}

/* Reads an unsigned decimal ended by '|' at *q (before end); -1 if malformed. */
static int parse_field(const char **q, const char *end, uint64_t *out)
{
    const char *s = *q;
    uint64_t v = 0;
    if (s >= end || *s < '0' || *s > '9') return -1;
    while (s < end && *s >= '0' && *s <= '9') {
        if (v > (UINT64_MAX - 9) / 10) return -1;
        v = v * 10 + (uint64_t)(*s++ - '0');
    }
    if (s >= end || *s != '|') return -1;
    *q = s + 1;
    *out = v;
    return 0;
}

static void ps_handle(ps_sub *s, const redisReply *r, uint64_t now)
{
    ps_shared *sh = s->sh;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
        r->element[0]->type != REDIS_REPLY_STRING || strcmp(r->element[0]->str, "message") != 0 ||
        r->element[2]->type != REDIS_REPLY_STRING) {
        s->malformed++;
        return;
    }
    const redisReply *m = r->element[2];
    const char *q = m->str, *end = m->str + m->len;
    size_t tl = sizeof PS_TAG - 1;
    /* Self-filtering: only this instance's messages of this iteration count. */
    if (m->len < tl || memcmp(q, PS_TAG, tl) != 0) {
        s->foreign++;
        return;
    }
    q += tl;
    if ((size_t)(end - q) <= sh->inst_len || memcmp(q, sh->inst, sh->inst_len) != 0 ||
        q[sh->inst_len] != '|') {
        s->foreign++;
        return;
    }
    q += sh->inst_len + 1;
    uint64_t iter, pub, seq, ts;
    if (parse_field(&q, end, &iter) < 0 || parse_field(&q, end, &pub) < 0 ||
        parse_field(&q, end, &seq) < 0 || parse_field(&q, end, &ts) < 0) {
        s->malformed++;
        return;
    }
    if (iter != sh->iter) {
        s->foreign++;
        return;
    }
    if (pub >= (uint64_t)sh->npub || seq >= PS_MAX_SEQ) {
        s->malformed++;
        return;
    }
    size_t byte = (size_t)(seq >> 3);
    if (byte >= s->seen_len[pub]) {
        size_t nl = s->seen_len[pub] ? s->seen_len[pub] * 2 : 1024;
        while (nl <= byte) nl *= 2;
        s->seen[pub] = xrealloc(s->seen[pub], nl);
        memset(s->seen[pub] + s->seen_len[pub], 0, nl - s->seen_len[pub]);
        s->seen_len[pub] = nl;
    }
    uint8_t bit = (uint8_t)(1u << (seq & 7));
    if (s->seen[pub][byte] & bit) {
        s->dups++;
        return;
    }
    s->seen[pub][byte] |= bit;
    s->unique++;
    atomic_fetch_add(&sh->unique, 1);
    hist_record(s->h, now > ts ? now - ts : 0);
    s->last_ns = now;
}

/* Reads messages until told to stop: poll() with a short timeout keeps the
 * loop responsive without a socket timeout killing the context; once stopped,
 * what was already read is handled and nothing more is read. */
static void *ps_sub_loop(void *arg)
{
    ps_sub *s = arg;
    redisContext *c = s->c;
    int draining = 0;
    for (;;) {
        void *rv = NULL;
        if (redisReaderGetReply(c->reader, &rv) != REDIS_OK) {
            s->failed = 1;
            snprintf(s->err, sizeof s->err, "subscriber %ld: protocol error", s->id);
            return NULL;
        }
        if (rv) {
            ps_handle(s, rv, now_ns());
            freeReplyObject(rv);
            continue;
        }
        if (draining || atomic_load(&s->sh->stop)) {
            if (draining) return NULL;
            draining = 1;   /* one more pass over what the reader holds */
            continue;
        }
        struct pollfd pf = {.fd = c->fd, .events = POLLIN};
        int n = poll(&pf, 1, 20);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            s->failed = 1;
            snprintf(s->err, sizeof s->err, "subscriber %ld: poll: %s", s->id, strerror(errno));
            return NULL;
        }
        if (n == 0) continue;
        if (redisBufferRead(c) != REDIS_OK) {
            s->failed = 1;
            snprintf(s->err, sizeof s->err, "subscriber %ld: %s", s->id,
                     c->errstr[0] ? c->errstr : "connection lost");
            return NULL;
        }
    }
}

/* One iteration (measured, or warm-up when h is NULL) with fresh connections:
 * subscribe everyone, publish msgs messages (or for dur seconds), wait up to
 * PS_DRAIN_NS for in-flight messages, stop. -1 with err when it could not
 * start (connect, SUBSCRIBE, threads); failures mid-way are in out. */
static int ps_iteration(const bench_target *t, ps_shared *sh, uint64_t msgs, double dur, hist *h,
                        counts *cnt, ps_iter *out, char *err)
{
    int rc = -1;
    long npub = sh->npub, nsub = sh->nsub;
    ps_pub *pubs = xcalloc((size_t)npub, sizeof *pubs);
    ps_sub *subs = xcalloc((size_t)nsub, sizeof *subs);
    long started_subs = 0, started_pubs = 0;

    memset(out, 0, sizeof *out);
    atomic_store(&sh->stop, 0);
    atomic_store(&sh->unique, 0);
    sh->start_ns = now_ns();
    for (long i = 0; i < nsub; i++) {
        ps_sub *s = &subs[i];
        s->sh = sh;
        s->id = i;
        s->h = hist_new();
        s->seen = xcalloc((size_t)npub, sizeof *s->seen);
        s->seen_len = xcalloc((size_t)npub, sizeof *s->seen_len);
    }
    for (long i = 0; i < nsub; i++) {
        ps_sub *s = &subs[i];
        if (!(s->c = bench_connect(t, err))) goto out;
        redisReply *r = redisCommand(s->c, "SUBSCRIBE %s", PS_CHANNEL);
        if (!r) {
            conn_error(err, t, "SUBSCRIBE", s->c);
            goto out;
        }
        cnt->n[C_SUBSCRIBE]++;
        int ok = r->type == REDIS_REPLY_ARRAY && r->elements == 3;
        if (!ok) rb_err(err, "SUBSCRIBE on %s:%d: %s", t->host, t->port,
                        r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        freeReplyObject(r);
        if (!ok) goto out;
    }
    for (long i = 0; i < npub; i++) {
        ps_pub *pb = &pubs[i];
        pb->sh = sh;
        pb->id = i;
        pb->budget = msgs ? share(msgs, npub, i) : UINT64_MAX;
        if (!(pb->c = bench_connect(t, err))) goto out;
    }
    for (; started_subs < nsub; started_subs++) {
        if (pthread_create(&subs[started_subs].tid, NULL, ps_sub_loop, &subs[started_subs]) != 0) {
            rb_err(err, "pthread_create: %s", strerror(errno));
            goto out;
        }
    }
    sh->start_ns = now_ns();
    sh->deadline_ns = msgs ? 0 : sh->start_ns + (uint64_t)(dur * 1e9);
    for (; started_pubs < npub; started_pubs++) {
        if (pthread_create(&pubs[started_pubs].tid, NULL, ps_pub_loop, &pubs[started_pubs]) != 0) {
            rb_err(err, "pthread_create: %s", strerror(errno));
            goto out;
        }
    }
    rc = 0;
out:
    /* Publishers first (each bounded by its budget, deadline or the command
     * timeout), then a bounded wait for the deliveries still in flight. */
    for (long i = 0; i < started_pubs; i++) pthread_join(pubs[i].tid, NULL);
    uint64_t pub_end = sh->start_ns;
    for (long i = 0; i < npub; i++) {
        out->published += pubs[i].acked;
        out->pub_errors += pubs[i].errors;
        if (pubs[i].end_ns > pub_end) pub_end = pubs[i].end_ns;
        if (pubs[i].failed && !out->failed) {
            out->failed = 1;
            snprintf(out->err, sizeof out->err, "%s", pubs[i].err);
        }
        counts_merge(cnt, &pubs[i].cnt);
    }
    if (rc == 0) {
        uint64_t expected = out->published * (uint64_t)nsub;
        uint64_t until = now_ns() + PS_DRAIN_NS;
        struct timespec ms = {0, 1000000};
        while (atomic_load(&sh->unique) < expected && now_ns() < until) nanosleep(&ms, NULL);
    }
    atomic_store(&sh->stop, 1);
    for (long i = 0; i < started_subs; i++) pthread_join(subs[i].tid, NULL);

    uint64_t last = pub_end;
    out->sub_min = nsub ? 1e300 : 0;
    out->sub_max = 0;
    for (long i = 0; i < nsub; i++) {
        ps_sub *s = &subs[i];
        /* Delivered = messages whose PUBLISH was answered (sequence numbers
         * below the publisher's count of replies: replies come in order); one
         * that reached subscribers while its reply was lost to a timeout is not
         * counted as published, so it is not counted as delivered either. */
        uint64_t confirmed = 0;
        for (long j = 0; j < npub; j++) {
            uint64_t acked = pubs[j].acked + pubs[j].errors;
            for (uint64_t b = 0; b < s->seen_len[j] && b * 8 < acked; b++) {
                uint8_t m = s->seen[j][b];
                if (acked - b * 8 < 8) m &= (uint8_t)((1u << (acked - b * 8)) - 1);
                confirmed += (uint64_t)__builtin_popcount(m);
            }
        }
        s->unique = confirmed;
        out->unique += s->unique;
        out->dups += s->dups;
        out->foreign += s->foreign;
        out->malformed += s->malformed;
        if (s->last_ns > last) last = s->last_ns;
        double rate = out->published ? (double)s->unique / (double)out->published : 0;
        if (rate < out->sub_min) out->sub_min = rate;
        if (rate > out->sub_max) out->sub_max = rate;
        if (h) hist_merge(h, s->h);
        if (s->failed && !out->failed) {
            out->failed = 1;
            snprintf(out->err, sizeof out->err, "%s", s->err);
        }
        if (s->c) redisFree(s->c);
        hist_free(s->h);
        for (long j = 0; j < npub; j++) free(s->seen[j]);
        free(s->seen);
        free(s->seen_len);
    }
    out->seconds = (double)(last - sh->start_ns) / 1e9;
    out->pub_seconds = (double)(pub_end - sh->start_ns) / 1e9;
    for (long i = 0; i < npub; i++)
        if (pubs[i].c) redisFree(pubs[i].c);
    free(pubs);
    free(subs);
    return rc;
}

static int run_pubsub(const bench_target *t, const scenario_params *p, rb_result *res, rb_kv **cmds,
                      size_t *n_cmds, char *err)
{
    long npub = p->publishers > 0 ? p->publishers : 1;
    long nsub = p->subscribers > 0 ? p->subscribers : 4;
    int iters = p->iterations > 0 ? p->iterations : 1;
    int rc = -1;
    counts cnt = {{0}};
    redisContext *ctl = NULL;
    hist *h = hist_new();
    rb_server_delta before = {0}, after = {0};
    char inst[RB_NAME_LEN];
    uint64_t published = 0, pub_errors = 0, unique = 0, dups = 0, foreign = 0, malformed = 0;
    double sub_min = 1e300, sub_max = 0, pub_seconds = 0;

    if (p->instance_id && p->instance_id[0]) {
        snprintf(inst, sizeof inst, "%s", p->instance_id);
    } else {
        uint64_t r = seed_random();
        snprintf(inst, sizeof inst, "%016llx", (unsigned long long)r);
    }
    ps_shared sh = {.p = p, .inst = inst, .inst_len = strlen(inst), .npub = npub, .nsub = nsub,
                    .batch = p->pipeline > 0 ? p->pipeline : 1, .value_size = p->value_size,
                    .rate = p->rate};
    result_begin(res, "pubsub-fanout", "publish", "pubsub", npub + nsub,
                 p->pipeline > 0 ? p->pipeline : 1, p->value_size > 0 ? p->value_size : 0, 1, iters);
    param_long(res, "publishers", npub);
    param_long(res, "subscribers", nsub);
    param_double(res, "rate", p->rate);
    if (!p->requests && p->duration_s <= 0) {
        rb_err(err, "pubsub-fanout: needs requests or a duration per iteration");
        goto out;
    }

    if (!(ctl = bench_connect(t, err))) goto out;
    if (p->warmup) {
        ps_iter w;
        sh.iter = 0;
        if (ps_iteration(t, &sh, p->warmup, 0, NULL, &cnt, &w, err) < 0) goto out;
        if (w.failed) {
            rb_err(err, "warm-up on %s:%d: %s", t->host, t->port, w.err);
            goto out;
        }
    }
    info_counted(ctl, &before, &cnt);
    for (int it = 0; it < iters; it++) {
        if (stop_requested(p)) {
            mark_partial(res, "interrupted");
            break;
        }
        ps_iter st;
        sh.iter = (unsigned)it + 1;
        hist_reset(h);
        if (ps_iteration(t, &sh, p->requests, p->duration_s, h, &cnt, &st, err) < 0) {
            if (res->n_samples == 0) goto out;
            mark_partial(res, err);
            break;
        }
        uint64_t expected = st.published * (uint64_t)nsub;
        uint64_t lost = expected > st.unique ? expected - st.unique : 0;
        add_sample(res, h, st.unique, st.pub_errors + lost, st.seconds);
        published += st.published;
        pub_errors += st.pub_errors;
        unique += st.unique;
        dups += st.dups;
        foreign += st.foreign;
        malformed += st.malformed;
        pub_seconds += st.pub_seconds;
        if (st.sub_min < sub_min) sub_min = st.sub_min;
        if (st.sub_max > sub_max) sub_max = st.sub_max;
        if (st.failed) {
            char why[RB_ERR_LEN];
            rb_err(why, "%s:%d: %s", t->host, t->port, st.err);
            mark_partial(res, why);
            break;
        }
        if (stop_requested(p)) mark_partial(res, "interrupted");
    }
    if (ctl_usable(&ctl, t) == 0 && info_counted(ctl, &after, &cnt) == 0)
        bench_delta(&res->server, &before, &after);

    uint64_t expected = published * (uint64_t)nsub;
    result_set_metric(res, "published", (double)published);
    result_set_metric(res, "publish_errors", (double)pub_errors);
    result_set_metric(res, "expected", (double)expected);
    result_set_metric(res, "delivered", (double)unique);
    result_set_metric(res, "delivery_rate", expected ? (double)unique / (double)expected : 0);
    result_set_metric(res, "lost", (double)(expected > unique ? expected - unique : 0));
    result_set_metric(res, "duplicates", (double)dups);
    result_set_metric(res, "foreign_filtered", (double)foreign);
    result_set_metric(res, "malformed", (double)malformed);
    result_set_metric(res, "sub_min_delivery_rate", sub_min > 1e299 ? 0 : sub_min);
    result_set_metric(res, "sub_max_delivery_rate", sub_max);
    result_set_metric(res, "publish_rate", pub_seconds > 0 ? (double)published / pub_seconds : 0);
    result_summarize(res);
    rc = 0;
out:
    if (rc < 0) mark_failed(res, err);
    counts_flush(&cnt, cmds, n_cmds);
    if (ctl) redisFree(ctl);
    hist_free(h);
    return rc;
}

/* ================================================================
 * stream-rpc
 * ================================================================ */

#define RPC_REQ "rb:rpc:req"
#define RPC_GROUP "g"
#define RPC_REPLY_PREFIX "rb:rpc:rep:"
#define RPC_REPLY_MAXLEN "1000"     /* a requester waits for one reply at a time */
#define RPC_GIVE_UP 3               /* consecutive timeouts before a requester gives up */

typedef struct rpc_shared {
    const scenario_params *p;
    const char *value;
    long value_size, nreq, block_ms;
    char count[24];             /* XREADGROUP COUNT */
    char req_maxlen[24];        /* XADD MAXLEN ~ of the request stream */
    uint64_t req_timeout_ns;
    double rate;
    uint64_t start_ns, deadline_ns;
    atomic_int stop_workers;
    atomic_long workers_alive;
} rpc_shared;

typedef struct rpc_requester {
    rpc_shared *sh;
    long id;
    redisContext *c;
    pthread_t tid;
    char key[48];               /* its reply stream */
    char last_id[48];           /* last reply entry read */
    uint64_t seq;               /* next request's number, over the whole scenario */
    uint64_t budget;            /* this phase; UINT64_MAX when timed */
    hist *h;
    uint64_t completed, timeouts, late, errors;
    counts cnt;
    int failed;
    char err[RB_ERR_LEN];
} rpc_requester;

typedef struct rpc_worker {
    rpc_shared *sh;
    long id;
    redisContext *c;
    pthread_t tid;
    int started;
    uint64_t handled, errors, malformed;
    counts cnt;
    int failed;
    char err[RB_ERR_LEN];
} rpc_worker;

/* The value of field name in a stream entry's field list; NULL if absent. */
static const redisReply *entry_field(const redisReply *fields, const char *name)
{
    if (!fields || fields->type != REDIS_REPLY_ARRAY) return NULL;
    for (size_t i = 0; i + 1 < fields->elements; i += 2) {
        const redisReply *k = fields->element[i];
        if (k->type == REDIS_REPLY_STRING && strcmp(k->str, name) == 0)
            return fields->element[i + 1];
    }
    return NULL;
}

/* The entries of the first stream of an XREAD/XREADGROUP reply; NULL if none. */
static const redisReply *stream_entries(const redisReply *r)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1) return NULL;
    const redisReply *s = r->element[0];
    if (s->type != REDIS_REPLY_ARRAY || s->elements != 2 ||
        s->element[1]->type != REDIS_REPLY_ARRAY)
        return NULL;
    return s->element[1];
}

/* 1 if e is a stream entry: [id, fields]. */
static int is_entry(const redisReply *e)
{
    return e->type == REDIS_REPLY_ARRAY && e->elements == 2 &&
           e->element[0]->type == REDIS_REPLY_STRING;
}

static int is_str(const redisReply *r)
{
    return r && r->type == REDIS_REPLY_STRING;
}

static void *rpc_worker_loop(void *arg)
{
    rpc_worker *w = arg;
    rpc_shared *sh = w->sh;
    char consumer[32], block[24];
    snprintf(consumer, sizeof consumer, "w%ld", w->id);
    snprintf(block, sizeof block, "%ld", sh->block_ms);
    const char *rd[] = {"XREADGROUP", "GROUP", RPC_GROUP, consumer, "COUNT", sh->count,
                        "BLOCK", block, "STREAMS", RPC_REQ, ">"};

    while (!atomic_load(&sh->stop_workers)) {
        redisReply *r = redisCommandArgv(w->c, (int)(sizeof rd / sizeof rd[0]), rd, NULL);
        if (!r) {
            w->failed = 1;
            snprintf(w->err, sizeof w->err, "worker %ld: %s", w->id,
                     w->c->errstr[0] ? w->c->errstr : "connection lost");
            break;
        }
        w->cnt.n[C_XREADGROUP]++;
        if (r->type == REDIS_REPLY_NIL) {
            freeReplyObject(r);
            continue;
        }
        const redisReply *es = stream_entries(r);
        if (!es) {
            w->failed = 1;
            snprintf(w->err, sizeof w->err, "worker %ld: XREADGROUP: %s", w->id,
                     r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
            freeReplyObject(r);
            break;
        }
        size_t n = es->elements, nxadd = 0;
        const char **ack = xmalloc((n + 3) * sizeof *ack);
        size_t *ackl = xmalloc((n + 3) * sizeof *ackl);
        ack[0] = "XACK", ack[1] = RPC_REQ, ack[2] = RPC_GROUP;
        ackl[0] = 4, ackl[1] = sizeof RPC_REQ - 1, ackl[2] = sizeof RPC_GROUP - 1;
        size_t nack = 3;
        for (size_t i = 0; i < n; i++) {
            const redisReply *e = es->element[i];
            if (!is_entry(e)) {
                w->malformed++;
                continue;
            }
            ack[nack] = e->element[0]->str;
            ackl[nack++] = e->element[0]->len;
            const redisReply *to = entry_field(e->element[1], "reply");
            const redisReply *seq = entry_field(e->element[1], "seq");
            const redisReply *pl = entry_field(e->element[1], "payload");
            if (!is_str(to) || !is_str(seq) || !is_str(pl) ||
                strncmp(to->str, RPC_REPLY_PREFIX, sizeof RPC_REPLY_PREFIX - 1) != 0) {
                w->malformed++;
                continue;
            }
            const char *xa[] = {"XADD", to->str, "MAXLEN", "~", RPC_REPLY_MAXLEN, "*", "seq", seq->str,
                                "payload", pl->str};
            size_t xl[] = {4, to->len, 6, 1, sizeof RPC_REPLY_MAXLEN - 1, 1, 3, seq->len, 7, pl->len};
            redisAppendCommandArgv(w->c, 10, xa, xl);
            nxadd++;
        }
        if (nack > 3) redisAppendCommandArgv(w->c, (int)nack, ack, ackl);
        size_t replies = nxadd + (nack > 3);
        free(ack);
        free(ackl);
        freeReplyObject(r);
        for (size_t i = 0; i < replies; i++) {
            redisReply *x = NULL;
            if (redisGetReply(w->c, (void **)&x) != REDIS_OK || !x) {
                w->failed = 1;
                snprintf(w->err, sizeof w->err, "worker %ld: %s", w->id,
                         w->c->errstr[0] ? w->c->errstr : "connection lost");
                goto out;
            }
            w->cnt.n[i < nxadd ? C_XADD : C_XACK]++;
            if (x->type == REDIS_REPLY_ERROR) w->errors++;
            freeReplyObject(x);
        }
        w->handled += n;
    }
out:
    if (w->failed) atomic_fetch_sub(&sh->workers_alive, 1);
    return NULL;
}

/* Waits for the reply to request seq: XREAD BLOCK in short slices until it
 * comes or the request times out. 1 got it (latency recorded), 0 timed out or
 * error reply, -1 connection failed. */
static int rpc_await(rpc_requester *q, uint64_t seq, uint64_t t0)
{
    rpc_shared *sh = q->sh;
    char block[24];
    snprintf(block, sizeof block, "%ld", sh->block_ms);
    uint64_t give_up = now_ns() + sh->req_timeout_ns;
    for (;;) {
        const char *rd[] = {"XREAD", "COUNT", "16", "BLOCK", block, "STREAMS", q->key, q->last_id};
        redisReply *r = redisCommandArgv(q->c, 8, rd, NULL);
        if (!r) return -1;
        uint64_t now = now_ns();
        q->cnt.n[C_XREAD]++;
        if (r->type == REDIS_REPLY_ERROR) {
            q->errors++;
            freeReplyObject(r);
            return 0;
        }
        int got = 0;
        const redisReply *es = r->type == REDIS_REPLY_ARRAY ? stream_entries(r) : NULL;
        for (size_t i = 0; es && i < es->elements; i++) {
            const redisReply *e = es->element[i];
            if (!is_entry(e)) continue;
            snprintf(q->last_id, sizeof q->last_id, "%s", e->element[0]->str);
            const redisReply *s = entry_field(e->element[1], "seq");
            if (is_str(s) && strtoull(s->str, NULL, 10) == seq) got = 1;
            else q->late++;
        }
        freeReplyObject(r);
        if (got) {
            hist_record(q->h, now > t0 ? now - t0 : 0);
            q->completed++;
            return 1;
        }
        if (now >= give_up || stop_requested(sh->p) || atomic_load(&sh->workers_alive) == 0) {
            q->timeouts++;
            return 0;
        }
    }
}

static void *rpc_req_loop(void *arg)
{
    rpc_requester *q = arg;
    rpc_shared *sh = q->sh;
    char seqs[24], ts[24];
    int missed = 0;
    for (uint64_t k = 0; k < q->budget; k++) {
        if (stop_requested(sh->p)) break;
        if (atomic_load(&sh->workers_alive) == 0) {
            q->failed = 1;
            snprintf(q->err, sizeof q->err, "requester %ld: no worker left", q->id);
            break;
        }
        uint64_t t0;
        if (sh->rate > 0) {
            t0 = due_time(sh->start_ns, k, sh->nreq, q->id, sh->rate);
            if (sleep_until(t0, sh->deadline_ns, sh->p) < 0) break;
        } else {
            if (sh->deadline_ns && now_ns() >= sh->deadline_ns) break;
            t0 = now_ns();
        }
        uint64_t seq = q->seq++;
        size_t sl = (size_t)snprintf(seqs, sizeof seqs, "%llu", (unsigned long long)seq);
        size_t tl = (size_t)snprintf(ts, sizeof ts, "%llu", (unsigned long long)t0);
        const char *xa[] = {"XADD", RPC_REQ, "MAXLEN", "~", sh->req_maxlen, "*", "reply", q->key,
                            "seq", seqs, "ts", ts, "payload", sh->value};
        size_t xl[] = {4, sizeof RPC_REQ - 1, 6, 1, strlen(sh->req_maxlen), 1, 5, strlen(q->key),
                       3, sl, 2, tl, 7, (size_t)sh->value_size};
        redisReply *r = redisCommandArgv(q->c, 14, xa, xl);
        if (!r) goto conn_failed;
        q->cnt.n[C_XADD]++;
        int ok = r->type == REDIS_REPLY_STRING;
        freeReplyObject(r);
        if (!ok) {
            q->errors++;
            continue;
        }
        int got = rpc_await(q, seq, t0);
        if (got < 0) goto conn_failed;
        missed = got ? 0 : missed + 1;
        if (missed >= RPC_GIVE_UP) {
            q->failed = 1;
            snprintf(q->err, sizeof q->err, "requester %ld: no reply to %d requests in a row",
                     q->id, RPC_GIVE_UP);
            break;
        }
    }
    return NULL;
conn_failed:
    q->failed = 1;
    snprintf(q->err, sizeof q->err, "requester %ld: %s", q->id,
             q->c->errstr[0] ? q->c->errstr : "connection lost");
    return NULL;
}

/* One phase over all requesters: total requests (or dur seconds). Returns the
 * elapsed seconds, or -1 with err when threads could not start. */
static double rpc_phase(rpc_requester *qs, rpc_shared *sh, uint64_t total, double dur, char *err)
{
    long n = sh->nreq, started = 0;
    sh->start_ns = now_ns();
    sh->deadline_ns = total ? 0 : sh->start_ns + (uint64_t)(dur * 1e9);
    for (long i = 0; i < n; i++) {
        qs[i].budget = total ? share(total, n, i) : UINT64_MAX;
        qs[i].completed = qs[i].timeouts = qs[i].late = qs[i].errors = 0;
        hist_reset(qs[i].h);
    }
    for (; started < n; started++)
        if (pthread_create(&qs[started].tid, NULL, rpc_req_loop, &qs[started]) != 0) break;
    for (long i = 0; i < started; i++) pthread_join(qs[i].tid, NULL);
    if (started < n) return rb_err(err, "pthread_create: %s", strerror(errno));
    return (double)(now_ns() - sh->start_ns) / 1e9;
}

/* DEL of the request stream and every reply stream, in one command. */
static int rpc_delete_keys(redisContext **c, const bench_target *t, long nreq, counts *cnt)
{
    const char **argv = xmalloc((size_t)(nreq + 2) * sizeof *argv);
    char **keys = xcalloc((size_t)nreq, sizeof *keys);
    argv[0] = "DEL";
    argv[1] = RPC_REQ;
    for (long i = 0; i < nreq; i++) {
        char k[48];
        snprintf(k, sizeof k, RPC_REPLY_PREFIX "%ld", i);
        argv[i + 2] = keys[i] = xstrdup(k);
    }
    redisReply *r = cleanup_command(c, t, (int)nreq + 2, argv, NULL);
    int rc = r && r->type == REDIS_REPLY_INTEGER ? 0 : -1;
    if (r) cnt->n[C_DEL]++;
    if (r) freeReplyObject(r);
    for (long i = 0; i < nreq; i++) free(keys[i]);
    free(keys);
    free(argv);
    return rc;
}

static int run_rpc(const bench_target *t, const scenario_params *p, rb_result *res, rb_kv **cmds,
                   size_t *n_cmds, char *err)
{
    long nreq = p->concurrency > 0 ? p->concurrency : 1;
    long nwork = p->workers > 0 ? p->workers : (nreq / 2 > 1 ? nreq / 2 : 1);
    long count = p->pipeline > 0 ? p->pipeline : 1;
    long vsize = p->value_size > 0 ? p->value_size : 0;
    int iters = p->iterations > 0 ? p->iterations : 1;
    int rc = -1, keys_made = 0;
    counts cnt = {{0}};
    redisContext *ctl = NULL;
    rpc_requester *qs = xcalloc((size_t)nreq, sizeof *qs);
    rpc_worker *ws = xcalloc((size_t)nwork, sizeof *ws);
    char *value = xmalloc((size_t)vsize + 1);
    hist *h = hist_new();
    rb_server_delta before = {0}, after = {0};
    uint64_t completed = 0, timeouts = 0, late = 0, req_errors = 0;
    double pending_after = -1;

    memset(value, 'v', (size_t)vsize);
    value[vsize] = '\0';
    result_begin(res, "stream-rpc", "xadd", "stream", nreq, count, vsize, nreq + 1, iters);
    param_long(res, "workers", nwork);
    param_double(res, "rate", p->rate);
    rpc_shared sh = {.p = p, .value = value, .value_size = vsize, .nreq = nreq, .rate = p->rate};
    long tmo = t->timeout_ms > 0 ? t->timeout_ms : 5000;
    /* BLOCK must end well within the socket timeout, or the context dies. */
    sh.block_ms = tmo / 4 < 100 ? (tmo / 4 > 0 ? tmo / 4 : 1) : 100;
    sh.req_timeout_ns = (uint64_t)tmo * 1000000ull;
    snprintf(sh.count, sizeof sh.count, "%ld", count);
    snprintf(sh.req_maxlen, sizeof sh.req_maxlen, "%ld", nreq * 10 > 10000 ? nreq * 10 : 10000);
    atomic_store(&sh.stop_workers, 0);
    atomic_store(&sh.workers_alive, nwork);

    if (!p->requests && p->duration_s <= 0) {
        rb_err(err, "stream-rpc: needs requests or a duration per iteration");
        goto out;
    }
    if (!(ctl = bench_connect(t, err))) goto out;
    /* Fresh streams: leftovers of an interrupted run would make the group exist. */
    if (rpc_delete_keys(&ctl, t, nreq, &cnt) < 0) {
        conn_error(err, t, "DEL", ctl);
        goto out;
    }
    keys_made = 1;
    redisReply *r = redisCommand(ctl, "XGROUP CREATE %s %s $ MKSTREAM", RPC_REQ, RPC_GROUP);
    if (!r) {
        conn_error(err, t, "XGROUP CREATE", ctl);
        goto out;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        int unsupported = is_unknown_command(r->str);
        rb_err(err, "XGROUP CREATE on %s:%d: %s", t->host, t->port, r->str);
        if (!unsupported) cnt.n[C_XGROUP_CREATE]++;
        freeReplyObject(r);
        if (unsupported) {
            snprintf(res->status, sizeof res->status, "unsupported");
            snprintf(res->error, sizeof res->error, "%s", err);
            rc = 0;
        }
        goto out;
    }
    cnt.n[C_XGROUP_CREATE]++;
    freeReplyObject(r);

    for (long i = 0; i < nreq; i++) {
        rpc_requester *q = &qs[i];
        q->sh = &sh;
        q->id = i;
        q->h = hist_new();
        snprintf(q->key, sizeof q->key, RPC_REPLY_PREFIX "%ld", i);
        snprintf(q->last_id, sizeof q->last_id, "0-0");
        if (!(q->c = bench_connect(t, err))) goto out;
    }
    for (long i = 0; i < nwork; i++) {
        ws[i].sh = &sh;
        ws[i].id = i;
        if (!(ws[i].c = bench_connect(t, err))) goto out;
    }
    for (long i = 0; i < nwork; i++) {
        if (pthread_create(&ws[i].tid, NULL, rpc_worker_loop, &ws[i]) != 0) {
            rb_err(err, "pthread_create: %s", strerror(errno));
            goto out;
        }
        ws[i].started = 1;
    }

    if (p->warmup && rpc_phase(qs, &sh, p->warmup, 0, err) < 0) goto out;
    for (long i = 0; i < nreq; i++) {
        if (qs[i].failed) {
            rb_err(err, "warm-up on %s:%d: %s", t->host, t->port, qs[i].err);
            goto out;
        }
    }
    info_counted(ctl, &before, &cnt);
    for (int it = 0; it < iters; it++) {
        if (stop_requested(p)) {
            mark_partial(res, "interrupted");
            break;
        }
        double secs = rpc_phase(qs, &sh, p->requests, p->duration_s, err);
        if (secs < 0) {
            if (res->n_samples == 0) goto out;
            mark_partial(res, err);
            break;
        }
        uint64_t done = 0, errs = 0;
        const char *why = NULL;
        hist_reset(h);
        for (long i = 0; i < nreq; i++) {
            rpc_requester *q = &qs[i];
            done += q->completed;
            errs += q->timeouts + q->errors;
            timeouts += q->timeouts;
            late += q->late;
            req_errors += q->errors;
            hist_merge(h, q->h);
            if (q->failed && !why) why = q->err;
        }
        completed += done;
        add_sample(res, h, done, errs, secs);
        if (why) {
            char w[RB_ERR_LEN];
            rb_err(w, "%s:%d: %s", t->host, t->port, why);
            mark_partial(res, w);
            break;
        }
        if (stop_requested(p)) mark_partial(res, "interrupted");
    }
    rc = 0;
out:
    /* Workers return within one BLOCK (or the command timeout). */
    atomic_store(&sh.stop_workers, 1);
    uint64_t handled = 0, w_errors = 0, malformed = 0;
    for (long i = 0; i < nwork; i++) {
        if (ws[i].started) pthread_join(ws[i].tid, NULL);
        handled += ws[i].handled;
        w_errors += ws[i].errors;
        malformed += ws[i].malformed;
        counts_merge(&cnt, &ws[i].cnt);
        if (ws[i].failed && rc == 0 && strcmp(res->status, "unsupported") != 0) {
            char w[RB_ERR_LEN];
            rb_err(w, "%s:%d: %s", t->host, t->port, ws[i].err);
            mark_partial(res, w);
        }
        if (ws[i].c) redisFree(ws[i].c);
    }
    for (long i = 0; i < nreq; i++) {
        counts_merge(&cnt, &qs[i].cnt);
        if (qs[i].c) redisFree(qs[i].c);
        hist_free(qs[i].h);
    }
    if (keys_made) {
        if (rc == 0 && strcmp(res->status, "unsupported") != 0 && ctl_usable(&ctl, t) == 0) {
            if (info_counted(ctl, &after, &cnt) == 0) bench_delta(&res->server, &before, &after);
            redisReply *x = redisCommand(ctl, "XPENDING %s %s", RPC_REQ, RPC_GROUP);
            if (x) {
                cnt.n[C_XPENDING]++;
                if (x->type == REDIS_REPLY_ARRAY && x->elements >= 1 &&
                    x->element[0]->type == REDIS_REPLY_INTEGER)
                    pending_after = (double)x->element[0]->integer;
                freeReplyObject(x);
            }
        }
        if (rpc_delete_keys(&ctl, t, nreq, &cnt) < 0 && rc == 0 &&
            strcmp(res->status, "unsupported") != 0) {
            char w[RB_ERR_LEN];
            rb_err(w, "clean-up DEL on %s:%d: %s", t->host, t->port,
                   ctl && ctl->errstr[0] ? ctl->errstr : "failed");
            mark_partial(res, w);
        }
    }
    if (rc == 0 && strcmp(res->status, "unsupported") != 0) {
        result_set_metric(res, "completed", (double)completed);
        result_set_metric(res, "timeouts", (double)timeouts);
        result_set_metric(res, "late_replies", (double)late);
        result_set_metric(res, "request_errors", (double)req_errors);
        result_set_metric(res, "worker_errors", (double)w_errors);
        result_set_metric(res, "malformed", (double)malformed);
        result_set_metric(res, "handled", (double)handled);
        if (pending_after >= 0) result_set_metric(res, "pending_after", pending_after);
        result_set_metric(res, "workers", (double)nwork);
        result_summarize(res);
    }
    if (rc < 0) mark_failed(res, err);
    counts_flush(&cnt, cmds, n_cmds);
    if (ctl) redisFree(ctl);
    free(qs);
    free(ws);
    free(value);
    hist_free(h);
    return rc;
}

/* ================================================================
 * capacity-fill
 * ================================================================ */

#define CAP_PREFIX "rb:cap:"
#define CAP_MEM_POINTS 100      /* used_memory samples over the target */
#define CAP_CHECK_MIN 10
#define CAP_CHECK_MAX 1000
#define CAP_READ_BATCH 100
#define CAP_DEL_BATCH 500

typedef struct mem_point {
    uint64_t events;
    double used;
} mem_point;

typedef struct cap_shared {
    const scenario_params *p;
    uint64_t seed, base_ts;
    long value_size, batch;
    atomic_uint_fast64_t next; /* events claimed so far (event numbers are 1-based) */
    uint64_t it_end;            /* claims stop past this event number; UINT64_MAX when timed */
    uint64_t deadline_ns;       /* 0: bounded by count */
    atomic_int full;            /* maxmemory reached: stop loading */
    atomic_uint_fast64_t loaded;/* events stored, all loaders */
    uint64_t sample_every;      /* events between used_memory samples */
    double maxmemory, evictions0;
    pthread_mutex_t mu;         /* guards bits and series */
    uint8_t *bits;              /* bit n: event n stored */
    size_t bits_len;
    mem_point *series;
    size_t n_series, cap_series;
} cap_shared;

typedef struct cap_loader {
    cap_shared *sh;
    long id;
    redisContext *c;
    pthread_t tid;
    hist *h;
    uint64_t loaded, bytes, oom, errors, hi;   /* hi: highest event number sent */
    counts cnt;
    int failed;
    char err[RB_ERR_LEN];
} cap_loader;

static size_t cap_value_max(long value_size)
{
    return (size_t)(3 * (value_size > 0 ? value_size : 0) / 2) + 256;
}

/* Writes event n's value into out (cap_value_max bytes): a JSON object whose
 * size and content follow from (seed, n) alone, so it can be regenerated for
 * the integrity check. Returns its length. */
static size_t cap_event(const cap_shared *sh, uint64_t n, char *out)
{
    static const char *const types[] = {"view",     "click",  "add_to_cart",
                                        "purchase", "signup", "logout"};
    static const char alnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    uint64_t s = sh->seed ^ (n * 0xD1B54A32D192ED03ull);
    long v = sh->value_size > 0 ? sh->value_size : 0;
    size_t lo = (size_t)(v / 2), hi = (size_t)(3 * v / 2);
    size_t size = lo + (size_t)(splitmix(&s) % (hi - lo + 1));
    uint64_t user = splitmix(&s) % 100000;
    const char *type = types[splitmix(&s) % (sizeof types / sizeof types[0])];
    int len = snprintf(out, cap_value_max(sh->value_size),
                       "{\"id\":%llu,\"ts\":%llu,\"user\":\"u%05llu\",\"type\":\"%s\",\"payload\":\"",
                       (unsigned long long)n, (unsigned long long)(sh->base_ts + n * 7),
                       (unsigned long long)user, type);
    size_t l = (size_t)len;
    uint64_t x = 0;
    for (int k = 0; l + 2 < size; l++, k = (k + 1) % 10) {
        if (k == 0) x = splitmix(&s);   /* 10 characters per 64 random bits */
        out[l] = alnum[x % 62];
        x /= 62;
    }
    out[l++] = '"';
    out[l++] = '}';
    return l;
}

static int cap_key(char *out, size_t n, uint64_t ev)
{
    return snprintf(out, n, CAP_PREFIX "%llu", (unsigned long long)ev);
}

static int bit_get(const cap_shared *sh, uint64_t ev)
{
    size_t b = (size_t)(ev >> 3);
    return b < sh->bits_len && (sh->bits[b] >> (ev & 7) & 1);
}

/* Under sh->mu. */
static void bit_set(cap_shared *sh, uint64_t ev)
{
    size_t b = (size_t)(ev >> 3);
    if (b >= sh->bits_len) {
        size_t nl = sh->bits_len ? sh->bits_len * 2 : 4096;
        while (nl <= b) nl *= 2;
        sh->bits = xrealloc(sh->bits, nl);
        memset(sh->bits + sh->bits_len, 0, nl - sh->bits_len);
        sh->bits_len = nl;
    }
    sh->bits[b] |= (uint8_t)(1u << (ev & 7));
}

/* Under sh->mu. */
static void series_add(cap_shared *sh, uint64_t events, double used)
{
    if (sh->n_series == sh->cap_series) {
        sh->cap_series = sh->cap_series ? sh->cap_series * 2 : 128;
        sh->series = xrealloc(sh->series, sh->cap_series * sizeof *sh->series);
    }
    sh->series[sh->n_series++] = (mem_point){events, used};
}

/* Takes a used_memory sample on the loader's connection; stops the fill when
 * maxmemory is reached or the server started evicting. */
static void cap_sample_memory(cap_loader *l)
{
    cap_shared *sh = l->sh;
    rb_server_delta snap;
    if (info_counted(l->c, &snap, &l->cnt) < 0) return;
    uint64_t events = atomic_load(&sh->loaded);
    pthread_mutex_lock(&sh->mu);
    series_add(sh, events, snap.v[SRV_USED_MEMORY]);
    pthread_mutex_unlock(&sh->mu);
    if ((sh->maxmemory > 0 && snap.v[SRV_USED_MEMORY] >= sh->maxmemory) ||
        snap.v[SRV_EVICTIONS] > sh->evictions0)
        atomic_store(&sh->full, 1);
}

static void *cap_loader_loop(void *arg)
{
    cap_loader *l = arg;
    cap_shared *sh = l->sh;
    size_t batch = (size_t)sh->batch;
    char *vals = xmalloc(cap_value_max(sh->value_size));
    size_t *lens = xmalloc(batch * sizeof *lens);
    uint8_t *ok = xmalloc(batch);
    char key[48];

    for (;;) {
        if (atomic_load(&sh->full) || stop_requested(sh->p)) break;
        if (sh->deadline_ns && now_ns() >= sh->deadline_ns) break;
        uint64_t base = atomic_fetch_add(&sh->next, batch);
        if (base >= sh->it_end) break;
        size_t n = sh->it_end - base < batch ? (size_t)(sh->it_end - base) : batch;
        for (size_t j = 0; j < n; j++) {
            uint64_t ev = base + 1 + j;
            lens[j] = cap_event(sh, ev, vals);
            int kl = cap_key(key, sizeof key, ev);
            const char *argv[3] = {"SET", key, vals};
            size_t argl[3] = {3, (size_t)kl, lens[j]};
            redisAppendCommandArgv(l->c, 3, argv, argl);
        }
        l->hi = base + n;
        /* Latency of each SET runs from the batch's send to its own reply. */
        uint64_t t0 = now_ns();
        size_t got = 0, stored = 0;
        for (; got < n; got++) {
            redisReply *r = NULL;
            if (redisGetReply(l->c, (void **)&r) != REDIS_OK || !r) {
                l->failed = 1;
                snprintf(l->err, sizeof l->err, "loader %ld: %s", l->id,
                         l->c->errstr[0] ? l->c->errstr : "connection lost");
                break;
            }
            hist_record(l->h, now_ns() - t0);
            l->cnt.n[C_SET]++;
            ok[got] = r->type == REDIS_REPLY_STATUS;
            if (ok[got]) {
                stored++;
                l->bytes += lens[got];
            } else if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "OOM", 3) == 0) {
                l->oom++;
                atomic_store(&sh->full, 1);
            } else {
                l->errors++;
            }
            freeReplyObject(r);
        }
        if (stored) {
            pthread_mutex_lock(&sh->mu);
            for (size_t j = 0; j < got; j++)
                if (ok[j]) bit_set(sh, base + 1 + j);
            pthread_mutex_unlock(&sh->mu);
            l->loaded += stored;
            uint64_t before = atomic_fetch_add(&sh->loaded, stored);
            if (before / sh->sample_every != (before + stored) / sh->sample_every)
                cap_sample_memory(l);
        }
        if (l->failed) break;
    }
    free(vals);
    free(lens);
    free(ok);
    return NULL;
}

static int point_cmp(const void *a, const void *b)
{
    uint64_t x = ((const mem_point *)a)->events, y = ((const mem_point *)b)->events;
    return x < y ? -1 : x > y;
}

/* used_memory when `events` events were in, interpolated over the series. */
static double mem_at(const mem_point *s, size_t n, double events)
{
    if (n == 0) return 0;
    if (events <= (double)s[0].events) return s[0].used;
    for (size_t i = 1; i < n; i++) {
        if ((double)s[i].events >= events) {
            double span = (double)(s[i].events - s[i - 1].events);
            double f = span > 0 ? (events - (double)s[i - 1].events) / span : 1;
            return s[i - 1].used + f * (s[i].used - s[i - 1].used);
        }
    }
    return s[n - 1].used;
}

/* Reads back a sample of the stored events and compares each with its
 * regenerated value. -1 with err when the connection failed. */
static int cap_verify(redisContext *c, const bench_target *t, cap_shared *sh, uint64_t hi,
                      uint64_t loaded, uint64_t corrupt, counts *cnt, uint64_t *checked,
                      uint64_t *failures, uint64_t *evicted, char *err)
{
    uint64_t k = loaded / 100;
    if (k < CAP_CHECK_MIN) k = CAP_CHECK_MIN;
    if (k > CAP_CHECK_MAX) k = CAP_CHECK_MAX;
    if (k > loaded) k = loaded;
    uint64_t *pick = xmalloc((size_t)(k + 1) * sizeof *pick);
    size_t np = 0;
    uint8_t *picked = xcalloc((size_t)(hi / 8 + 1), 1);
    int rc = -1;
    if (corrupt) {
        pick[np++] = corrupt;
        picked[corrupt >> 3] |= (uint8_t)(1u << (corrupt & 7));
    }
    if (loaded <= k) {
        for (uint64_t ev = 1; ev <= hi && np < k + 1; ev++)
            if (bit_get(sh, ev) && ev != corrupt) pick[np++] = ev;
    } else {
        uint64_t rng = sh->seed ^ 0x5851F42D4C957F2Dull;
        for (uint64_t tries = 0; np < k && tries < 64 * k; tries++) {
            uint64_t ev = 1 + splitmix(&rng) % hi;
            if (!bit_get(sh, ev) || (picked[ev >> 3] >> (ev & 7) & 1)) continue;
            picked[ev >> 3] |= (uint8_t)(1u << (ev & 7));
            pick[np++] = ev;
        }
    }
    free(picked);

    char *want = xmalloc(cap_value_max(sh->value_size));
    char key[48];
    *checked = *failures = *evicted = 0;
    for (size_t base = 0; base < np; base += CAP_READ_BATCH) {
        size_t n = np - base < CAP_READ_BATCH ? np - base : CAP_READ_BATCH;
        for (size_t j = 0; j < n; j++) {
            int kl = cap_key(key, sizeof key, pick[base + j]);
            const char *argv[2] = {"GET", key};
            size_t argl[2] = {3, (size_t)kl};
            redisAppendCommandArgv(c, 2, argv, argl);
        }
        for (size_t j = 0; j < n; j++) {
            redisReply *r = NULL;
            if (redisGetReply(c, (void **)&r) != REDIS_OK || !r) {
                conn_error(err, t, "integrity check", c);
                goto out;
            }
            cnt->n[C_GET]++;
            (*checked)++;
            if (r->type == REDIS_REPLY_NIL) {
                (*evicted)++;
            } else {
                size_t wl = cap_event(sh, pick[base + j], want);
                if (r->type != REDIS_REPLY_STRING || r->len != wl || memcmp(r->str, want, wl) != 0)
                    (*failures)++;
            }
            freeReplyObject(r);
        }
    }
    rc = 0;
out:
    free(want);
    free(pick);
    return rc;
}

/* Deletes rb:cap:1..hi: UNLINK in batches, DEL when the server has no UNLINK. */
static int cap_cleanup(redisContext **c, const bench_target *t, uint64_t hi, counts *cnt, char *err)
{
    const char **argv = xmalloc((CAP_DEL_BATCH + 1) * sizeof *argv);
    size_t *argl = xmalloc((CAP_DEL_BATCH + 1) * sizeof *argl);
    char(*keys)[32] = xmalloc(CAP_DEL_BATCH * sizeof *keys);
    int use_del = 0, rc = -1;
    for (uint64_t base = 0; base < hi;) {
        size_t n = hi - base < CAP_DEL_BATCH ? (size_t)(hi - base) : CAP_DEL_BATCH;
        argv[0] = use_del ? "DEL" : "UNLINK";
        argl[0] = strlen(argv[0]);
        for (size_t j = 0; j < n; j++) {
            argl[j + 1] = (size_t)cap_key(keys[j], sizeof keys[j], base + 1 + j);
            argv[j + 1] = keys[j];
        }
        redisReply *r = cleanup_command(c, t, (int)n + 1, argv, argl);
        if (!r) {
            rb_err(err, "clean-up on %s:%d: %s", t->host, t->port,
                   *c && (*c)->errstr[0] ? (*c)->errstr : "cannot reconnect");
            goto out;
        }
        if (r->type == REDIS_REPLY_ERROR && !use_del && is_unknown_command(r->str)) {
            freeReplyObject(r);
            use_del = 1;   /* same batch again with DEL */
            continue;
        }
        cnt->n[use_del ? C_DEL : C_UNLINK]++;
        if (r->type == REDIS_REPLY_ERROR) {
            rb_err(err, "clean-up on %s:%d: %s", t->host, t->port, r->str);
            freeReplyObject(r);
            goto out;
        }
        freeReplyObject(r);
        base += n;
    }
    rc = 0;
out:
    free(argv);
    free(argl);
    free(keys);
    return rc;
}

static int run_capacity(const bench_target *t, const scenario_params *p, rb_result *res,
                        rb_kv **cmds, size_t *n_cmds, char *err)
{
    long nload = p->concurrency > 0 ? p->concurrency : 1;
    long batch = p->pipeline > 0 ? p->pipeline : 1;
    long vsize = p->value_size > 0 ? p->value_size : 0;
    int iters = p->iterations > 0 ? p->iterations : 1;
    uint64_t target = p->max_events ? p->max_events : p->requests * (uint64_t)iters;
    int rc = -1;
    counts cnt = {{0}};
    redisContext *ctl = NULL;
    cap_loader *ls = xcalloc((size_t)nload, sizeof *ls);
    hist *h = hist_new();
    rb_server_delta before = {0}, loaded_snap = {0}, after = {0};
    uint64_t hi = 0, loaded = 0, bytes = 0, oom = 0;
    double load_s = 0, cleanup_s = -1;
    cap_shared sh = {.p = p, .value_size = vsize, .batch = batch};

    pthread_mutex_init(&sh.mu, NULL);
    result_begin(res, "capacity-fill", "set", "string", nload, batch, vsize,
                 target > 0 && target < (uint64_t)LONG_MAX ? (long)target : 1, iters);
    if (!target && p->duration_s <= 0) {
        rb_err(err, "capacity-fill: needs max_events, requests or a duration per iteration");
        goto out;
    }
    sh.seed = seed_random();
    sh.base_ts = wall_ns() / 1000000;
    sh.sample_every = target ? (target / CAP_MEM_POINTS > 0 ? target / CAP_MEM_POINTS : 1) : 10000;
    atomic_store(&sh.next, 0);
    atomic_store(&sh.loaded, 0);
    atomic_store(&sh.full, 0);

    if (!(ctl = bench_connect(t, err))) goto out;
    redisReply *r = redisCommand(ctl, "CONFIG GET maxmemory");
    if (!r) {
        conn_error(err, t, "CONFIG GET", ctl);
        goto out;
    }
    if (r->type != REDIS_REPLY_ERROR || !is_unknown_command(r->str)) cnt.n[C_CONFIG_GET]++;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 && is_str(r->element[1]))
        sh.maxmemory = strtod(r->element[1]->str, NULL);
    freeReplyObject(r);
    /* Under a maxmemory, sample often enough to stop soon after it is reached. */
    if (sh.maxmemory > 0 && sh.sample_every > 1000) sh.sample_every = 1000;
    if (info_counted(ctl, &before, &cnt) == 0) {
        sh.evictions0 = before.v[SRV_EVICTIONS];
        series_add(&sh, 0, before.v[SRV_USED_MEMORY]);
        /* Already full: nothing fits. */
        if (sh.maxmemory > 0 && before.v[SRV_USED_MEMORY] >= sh.maxmemory)
            atomic_store(&sh.full, 1);
    }
    for (long i = 0; i < nload; i++) {
        ls[i].sh = &sh;
        ls[i].id = i;
        ls[i].h = hist_new();
        if (!(ls[i].c = bench_connect(t, err))) goto out;
    }

    for (int it = 0; it < iters; it++) {
        if (stop_requested(p)) {
            mark_partial(res, "interrupted");
            break;
        }
        if (atomic_load(&sh.full)) break;
        uint64_t seg = target ? share(target, iters, it) : 0;
        atomic_store(&sh.next, hi);
        sh.it_end = target ? hi + seg : UINT64_MAX;
        uint64_t start = now_ns();
        sh.deadline_ns = target ? 0 : start + (uint64_t)(p->duration_s * 1e9);
        uint64_t was[2] = {0, 0};   /* loaded and errors before the phase */
        long started = 0;
        for (long i = 0; i < nload; i++) {
            was[0] += ls[i].loaded;
            was[1] += ls[i].errors;
            hist_reset(ls[i].h);
        }
        for (; started < nload; started++)
            if (pthread_create(&ls[started].tid, NULL, cap_loader_loop, &ls[started]) != 0) break;
        for (long i = 0; i < started; i++) pthread_join(ls[i].tid, NULL);
        double secs = (double)(now_ns() - start) / 1e9;
        load_s += secs;
        uint64_t now_loaded = 0, now_errors = 0;
        const char *why = NULL;
        hist_reset(h);
        for (long i = 0; i < nload; i++) {
            now_loaded += ls[i].loaded;
            now_errors += ls[i].errors;
            if (ls[i].hi > hi) hi = ls[i].hi;
            hist_merge(h, ls[i].h);
            if (ls[i].failed && !why) why = ls[i].err;
        }
        if (started < nload) {
            rb_err(err, "pthread_create: %s", strerror(errno));
            if (res->n_samples == 0 && started == 0) goto out;
            mark_partial(res, err);
        }
        add_sample(res, h, now_loaded - was[0], now_errors - was[1], secs);
        if (why) {
            char w[RB_ERR_LEN];
            rb_err(w, "%s:%d: %s", t->host, t->port, why);
            mark_partial(res, w);
            break;
        }
        if (started < nload) break;
        if (stop_requested(p)) mark_partial(res, "interrupted");
    }
    for (long i = 0; i < nload; i++) {
        loaded += ls[i].loaded;
        bytes += ls[i].bytes;
        oom += ls[i].oom;
    }

    uint64_t checked = 0, failures = 0, evicted = 0;
    char verr[RB_ERR_LEN] = "";
    if (ctl_usable(&ctl, t) < 0)
        rb_err(verr, "integrity check on %s:%d: cannot reconnect", t->host, t->port);
    else if (info_counted(ctl, &loaded_snap, &cnt) == 0)
        series_add(&sh, loaded, loaded_snap.v[SRV_USED_MEMORY]);
    /* The test hook: a planted corruption the check below must catch. */
    uint64_t corrupt = p->corrupt_event && bit_get(&sh, p->corrupt_event) ? p->corrupt_event : 0;
    if (corrupt && !verr[0]) {
        char key[48];
        cap_key(key, sizeof key, corrupt);
        r = redisCommand(ctl, "SET %s %s", key, "{\"corrupted\":true}");
        if (r) {
            cnt.n[C_SET]++;
            freeReplyObject(r);
        } else {
            conn_error(verr, t, "SET", ctl);
            mark_partial(res, verr);
        }
    }
    if (!verr[0] &&
        cap_verify(ctl, t, &sh, hi, loaded, corrupt, &cnt, &checked, &failures, &evicted, verr) < 0)
        mark_partial(res, verr);
    if (!verr[0] && info_counted(ctl, &after, &cnt) == 0)
        bench_delta(&res->server, &before, &after);
    /* Clean up even after a failure, reconnecting if need be. */
    {
        char cerr[RB_ERR_LEN];
        uint64_t c0 = now_ns();
        if (cap_cleanup(&ctl, t, hi, &cnt, cerr) < 0) mark_partial(res, cerr);
        else cleanup_s = (double)(now_ns() - c0) / 1e9;
    }

    qsort(sh.series, sh.n_series, sizeof *sh.series, point_cmp);
    double mem0 = before.present ? before.v[SRV_USED_MEMORY] : 0;
    double mem100 = loaded_snap.present ? loaded_snap.v[SRV_USED_MEMORY] : 0;
    result_set_metric(res, "events_target", (double)target);
    result_set_metric(res, "events_loaded", (double)loaded);
    result_set_metric(res, "bytes_loaded", (double)bytes);
    result_set_metric(res, "oom_rejected", (double)oom);
    result_set_metric(res, "stopped_by", atomic_load(&sh.full) ? 1 : 0);
    result_set_metric(res, "maxmemory", sh.maxmemory);
    result_set_metric(res, "mem_before", mem0);
    result_set_metric(res, "mem_at_25pct", mem_at(sh.series, sh.n_series, 0.25 * (double)loaded));
    result_set_metric(res, "mem_at_50pct", mem_at(sh.series, sh.n_series, 0.50 * (double)loaded));
    result_set_metric(res, "mem_at_75pct", mem_at(sh.series, sh.n_series, 0.75 * (double)loaded));
    if (loaded_snap.present) {
        result_set_metric(res, "mem_at_100pct", mem100);
        result_set_metric(res, "mem_per_event", loaded ? (mem100 - mem0) / (double)loaded : 0);
    }
    result_set_metric(res, "memory_samples", (double)sh.n_series);
    if (loaded_snap.present && before.present)
        result_set_metric(res, "evictions", loaded_snap.v[SRV_EVICTIONS] - before.v[SRV_EVICTIONS]);
    result_set_metric(res, "load_seconds", load_s);
    if (!verr[0]) {
        result_set_metric(res, "integrity_checked", (double)checked);
        result_set_metric(res, "integrity_failures", (double)failures);
        result_set_metric(res, "integrity_evicted", (double)evicted);
    }
    if (cleanup_s >= 0) result_set_metric(res, "cleanup_seconds", cleanup_s);
    result_summarize(res);
    rc = 0;
out:
    if (rc < 0) mark_failed(res, err);
    for (long i = 0; i < nload; i++) {
        counts_merge(&cnt, &ls[i].cnt);
        if (ls[i].c) redisFree(ls[i].c);
        hist_free(ls[i].h);
    }
    counts_flush(&cnt, cmds, n_cmds);
    if (ctl) redisFree(ctl);
    free(ls);
    free(sh.bits);
    free(sh.series);
    pthread_mutex_destroy(&sh.mu);
    hist_free(h);
    return rc;
}

/* ---- the table ---- */

const struct scenario_def scenario_defs[] = {
    {"pubsub-fanout",
     "N publishers, M subscribers: delivery rate, lost and duplicate messages, latency",
     run_pubsub},
    {"stream-rpc",
     "request/response over Streams and a consumer group: round-trip latency, throughput",
     run_rpc},
    {"capacity-fill",
     "JSON-like events until a count or maxmemory: memory over time, integrity, clean-up",
     run_capacity},
};
const size_t scenario_count = sizeof scenario_defs / sizeof scenario_defs[0];

const struct scenario_def *scenario_find(const char *name)
{
    for (size_t i = 0; i < scenario_count; i++)
        if (strcasecmp(scenario_defs[i].name, name) == 0) return &scenario_defs[i];
    return NULL;
}
