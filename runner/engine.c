/* engine.c -- epoll request engine: per-thread event loops over non-blocking
 * connections, hiredis's reply parser, closed or open loop, timeouts and
 * bounded reconnects. */
#include "engine.h"

#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "util.h"

#define READ_CHUNK 65536
#define MAX_RECONNECTS 3        /* per connection and phase */
#define CHECK_EVERY_NS 10000000ull
#define OPEN_LOOP_MIN_INFLIGHT 64

typedef struct pending {
    uint64_t t0;                /* closed loop: send time; open loop: due time (ns) */
    int next;                   /* index of the next reply within the request */
    int kind;                   /* one_of operations: which command the request sent */
} pending;

struct worker;

typedef struct conn {
    redisContext *ctx;          /* owns the fd; used only to connect and AUTH */
    int fd;
    redisReader *rd;
    buf out;
    size_t out_off;
    int want_write;
    pending *q;                 /* ring of requests in flight */
    size_t q_cap, q_head, q_len;
    uint64_t progress_at;       /* last reply, or the send into an empty queue */
    uint64_t next_due;          /* open loop */
    uint64_t rng;
    int reconnects;
    struct worker *w;
} conn;

typedef struct worker {
    struct engine *e;
    conn **conns;
    int n;
    int epfd, tfd;
    hist *h;
    engine_stats st;
    int failed;
    char err[RB_ERR_LEN];
    pthread_t tid;
} worker;

struct engine {
    engine_cfg cfg;
    int ncmds;                  /* replies per request */
    conn *conns;
    worker *workers;
    int nworkers;
    /* the current phase */
    uint64_t budget;            /* UINT64_MAX when timed */
    atomic_uint_fast64_t claimed;
    uint64_t deadline;          /* 0 when counted */
    uint64_t interval_ns;       /* open loop: time between requests on one connection */
    uint64_t start;
};

static void conn_close(conn *c)
{
    if (c->rd) redisReaderFree(c->rd);
    if (c->ctx) redisFree(c->ctx);
    c->rd = NULL;
    c->ctx = NULL;
    c->fd = -1;
}

static int conn_open(conn *c, const bench_target *t, char *err)
{
    c->ctx = bench_connect(t, err);
    if (!c->ctx) return -1;
    c->fd = c->ctx->fd;
    int fl = fcntl(c->fd, F_GETFL);
    fcntl(c->fd, F_SETFL, fl | O_NONBLOCK);
    c->rd = redisReaderCreate();
    c->out_off = 0;
    buf_reset(&c->out);
    c->want_write = 0;
    c->q_head = c->q_len = 0;
    return 0;
}

static int watch(worker *w, conn *c, int op)
{
    struct epoll_event ev = {.events = EPOLLIN | (c->want_write ? EPOLLOUT : 0), .data.ptr = c};
    return epoll_ctl(w->epfd, op, c->fd, &ev);
}

engine *engine_new(const engine_cfg *cfg, char *err)
{
    engine *e = xcalloc(1, sizeof *e);
    e->cfg = *cfg;
    e->ncmds = op_replies(cfg->op);
    if (e->ncmds < 1 || e->ncmds > ENGINE_MAX_CMDS) {
        rb_err(err, "operation %s: %d commands per request (1..%d supported)", cfg->op->name,
               e->ncmds, ENGINE_MAX_CMDS);
        free(e);
        return NULL;
    }
    long nc = cfg->connections;
    int nt = cfg->threads < 1 ? 1 : cfg->threads;
    if (nt > nc) nt = (int)nc;
    e->nworkers = nt;
    e->conns = xcalloc((size_t)nc, sizeof *e->conns);
    e->workers = xcalloc((size_t)nt, sizeof *e->workers);
    size_t qcap = (size_t)(cfg->rate > 0 && cfg->pipeline < OPEN_LOOP_MIN_INFLIGHT
                               ? OPEN_LOOP_MIN_INFLIGHT
                               : cfg->pipeline);
    for (int i = 0; i < nt; i++) {
        worker *w = &e->workers[i];
        w->e = e;
        w->conns = xcalloc((size_t)(nc / nt + 1), sizeof *w->conns);
        w->epfd = epoll_create1(EPOLL_CLOEXEC);
        w->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        w->h = hist_new();
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
        epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->tfd, &ev);
    }
    for (long i = 0; i < nc; i++) {
        conn *c = &e->conns[i];
        worker *w = &e->workers[i % nt];
        c->w = w;
        c->fd = -1;
        buf_init(&c->out, (size_t)1 << 30);
        c->q_cap = qcap;
        c->q = xcalloc(qcap, sizeof *c->q);
        c->rng = 0x9E3779B97F4A7C15ull ^ ((uint64_t)(i + 1) * 0xBF58476D1CE4E5B9ull);
        w->conns[w->n++] = c;
        if (conn_open(c, cfg->target, err) < 0 || watch(w, c, EPOLL_CTL_ADD) < 0) {
            if (c->fd >= 0 && !err[0]) rb_err(err, "epoll: %s", strerror(errno));
            engine_free(e);
            return NULL;
        }
    }
    return e;
}

void engine_free(engine *e)
{
    if (!e) return;
    for (long i = 0; i < e->cfg.connections; i++) {
        conn *c = &e->conns[i];
        if (!c->q) continue; /* never set up */
        conn_close(c);
        buf_cleanup(&c->out);
        free(c->q);
    }
    for (int i = 0; i < e->nworkers; i++) {
        worker *w = &e->workers[i];
        if (w->epfd > 0) close(w->epfd);
        if (w->tfd > 0) close(w->tfd);
        hist_free(w->h);
        free(w->conns);
    }
    free(e->conns);
    free(e->workers);
    free(e);
}

/* ---- one connection ---- */

static int stopping(const engine *e, uint64_t now)
{
    if (e->cfg.stop && *e->cfg.stop) return 1;
    return e->deadline && now >= e->deadline;
}

/* Claims up to n requests of the phase budget; returns how many. */
static size_t claim(engine *e, size_t n)
{
    if (e->budget == UINT64_MAX) return n;
    uint64_t got = atomic_fetch_add(&e->claimed, n);
    if (got >= e->budget) return 0;
    return e->budget - got < n ? (size_t)(e->budget - got) : n;
}

static void push_request(engine *e, conn *c, uint64_t t0)
{
    resp_out o = {&c->out};
    int kind = e->cfg.op->request(&o, e->cfg.env, &c->rng);
    pending *p = &c->q[(c->q_head + c->q_len) % c->q_cap];
    p->t0 = t0;
    p->next = 0;
    p->kind = e->cfg.op->one_of ? kind : 0;
    c->q_len++;
}

/* Writes what is buffered; arms EPOLLOUT when the socket is full. */
static int flush_out(worker *w, conn *c)
{
    while (c->out_off < c->out.len) {
        ssize_t n = write(c->fd, c->out.data + c->out_off, c->out.len - c->out_off);
        if (n > 0) {
            c->out_off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!c->want_write) {
                c->want_write = 1;
                watch(w, c, EPOLL_CTL_MOD);
            }
            return 0;
        }
        return -1;
    }
    c->out_off = 0;
    buf_reset(&c->out);
    if (c->want_write) {
        c->want_write = 0;
        watch(w, c, EPOLL_CTL_MOD);
    }
    return 0;
}

/* Closed loop: sends the next batch once the previous one is answered. */
static int fill_closed(worker *w, conn *c, uint64_t now)
{
    engine *e = w->e;
    if (c->q_len || stopping(e, now)) return 0;
    size_t n = claim(e, (size_t)e->cfg.pipeline);
    if (!n) return 0;
    for (size_t i = 0; i < n; i++) push_request(e, c, 0);
    /* Latency of each request runs from the batch's send to its own reply. */
    uint64_t t0 = now_ns();
    for (size_t i = 0; i < n; i++) c->q[(c->q_head + i) % c->q_cap].t0 = t0;
    c->progress_at = t0;
    return flush_out(w, c);
}

/* Open loop: sends every request that is due, stamped with its due time. */
static int fill_open(worker *w, conn *c, uint64_t now)
{
    engine *e = w->e;
    int sent = 0;
    while (c->next_due <= now && c->q_len < c->q_cap && !stopping(e, now)) {
        if (!claim(e, 1)) break;
        if (c->q_len == 0) c->progress_at = now;
        if (now - c->next_due > 1000000) w->st.late++;
        push_request(e, c, c->next_due);
        c->next_due += e->interval_ns;
        sent = 1;
    }
    return sent ? flush_out(w, c) : 0;
}

static void note_error(worker *w, const redisReply *r, int k)
{
    w->st.errors++;
    if (w->st.first_error[0]) return;
    const char *what = r->type == REDIS_REPLY_ERROR    ? r->str
                       : r->type == REDIS_REPLY_NIL    ? "(nil)"
                       : r->type == REDIS_REPLY_STRING ? "a string"
                       : r->type == REDIS_REPLY_ARRAY  ? "an array"
                       : r->type == REDIS_REPLY_INTEGER ? "an integer"
                                                        : "a status";
    snprintf(w->st.first_error, sizeof w->st.first_error, "%s: unexpected reply %d: %s",
             w->e->cfg.op->name, k, what);
}

/* Reads and handles every reply available. -1 when the connection broke. */
static int on_readable(worker *w, conn *c)
{
    engine *e = w->e;
    char chunk[READ_CHUNK];
    for (;;) {
        ssize_t n = read(c->fd, chunk, sizeof chunk);
        if (n > 0) {
            if (redisReaderFeed(c->rd, chunk, (size_t)n) != REDIS_OK) return -1;
            if ((size_t)n < sizeof chunk) break;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        return -1; /* EOF or error */
    }
    /* Every reply in what was just read had arrived by now: one clock read
     * serves them all. */
    uint64_t t = now_ns();
    for (;;) {
        void *rv = NULL;
        if (redisReaderGetReply(c->rd, &rv) != REDIS_OK) return -1;
        if (!rv) break;
        redisReply *r = rv;
        if (c->q_len == 0) { /* a reply nobody asked for */
            freeReplyObject(r);
            return -1;
        }
        pending *p = &c->q[c->q_head];
        int k = e->cfg.op->one_of ? p->kind : p->next;
        p->next++;
        if (k >= 0 && k < ENGINE_MAX_CMDS) w->st.replies[k]++;
        if (!e->cfg.op->check(e->cfg.env, r, k)) note_error(w, r, k);
        freeReplyObject(r);
        if (p->next == e->ncmds) {
            hist_record(w->h, t > p->t0 ? t - p->t0 : 0);
            w->st.requests++;
            c->progress_at = t;
            c->q_head = (c->q_head + 1) % c->q_cap;
            c->q_len--;
        }
    }
    return 0;
}

/* A broken or stalled connection: its requests in flight count as errors;
 * reconnect a bounded number of times. */
static int recover(worker *w, conn *c, int timed_out)
{
    engine *e = w->e;
    w->st.errors += c->q_len;
    if (timed_out) w->st.timeouts += c->q_len;
    epoll_ctl(w->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    conn_close(c);
    if (++c->reconnects > MAX_RECONNECTS) {
        rb_err(w->err, "%s:%d: connection %s %d times; giving up", e->cfg.target->host,
               e->cfg.target->port, timed_out ? "stalled" : "lost", MAX_RECONNECTS + 1);
        return -1;
    }
    char err[RB_ERR_LEN] = "";
    if (conn_open(c, e->cfg.target, err) < 0 || watch(w, c, EPOLL_CTL_ADD) < 0) {
        rb_err(w->err, "reconnect: %s", err[0] ? err : strerror(errno));
        return -1;
    }
    w->st.reconnects++;
    return 0;
}

/* recover(), then in closed loop start the next batch on the new connection
 * (a failed send there counts as another broken connection). */
static int restart(worker *w, conn *c, int timed_out, uint64_t now)
{
    for (int i = 0; i <= MAX_RECONNECTS; i++) {
        if (recover(w, c, timed_out) < 0) return -1;
        if (w->e->cfg.rate > 0 || fill_closed(w, c, now) == 0) return 0;
        timed_out = 0;
    }
    return -1;
}

static void arm_timer(worker *w, uint64_t due)
{
    struct itimerspec its = {0};
    its.it_value.tv_sec = (time_t)(due / 1000000000ull);
    its.it_value.tv_nsec = (long)(due % 1000000000ull);
    if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0) its.it_value.tv_nsec = 1;
    timerfd_settime(w->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void *worker_loop(void *arg)
{
    worker *w = arg;
    engine *e = w->e;
    int open_loop = e->cfg.rate > 0;
    uint64_t timeout_ns = (uint64_t)e->cfg.target->timeout_ms * 1000000ull;
    struct epoll_event evs[256];
    uint64_t next_check = now_ns() + CHECK_EVERY_NS;

    for (int i = 0; i < w->n; i++) {
        conn *c = w->conns[i];
        c->reconnects = 0;
        c->progress_at = e->start;
        if (open_loop) c->next_due = e->start + (uint64_t)i * e->interval_ns / (uint64_t)w->n;
        if ((open_loop ? fill_open(w, c, e->start) : fill_closed(w, c, e->start)) < 0 &&
            restart(w, c, 0, e->start) < 0)
            goto fail;
    }
    for (;;) {
        uint64_t now = now_ns();
        int busy = 0;
        uint64_t next_due = UINT64_MAX;
        for (int i = 0; i < w->n; i++) {
            busy |= w->conns[i]->q_len > 0;
            if (open_loop && w->conns[i]->next_due < next_due) next_due = w->conns[i]->next_due;
        }
        int stop = stopping(e, now);
        int budget_left = e->budget == UINT64_MAX || atomic_load(&e->claimed) < e->budget;
        if (!busy && (stop || !budget_left)) break;
        if (stop && busy && now > (e->deadline ? e->deadline : now) + timeout_ns) {
            /* Draining after the end took longer than the timeout. */
            for (int i = 0; i < w->n; i++) {
                w->st.errors += w->conns[i]->q_len;
                w->st.timeouts += w->conns[i]->q_len;
                w->conns[i]->q_len = 0;
            }
            break;
        }
        int wait_ms = 10;
        if (open_loop && !stop && budget_left) {
            if (next_due <= now) wait_ms = 0;
            else arm_timer(w, next_due);
        }
        int n = epoll_wait(w->epfd, evs, 256, wait_ms);
        if (n < 0 && errno != EINTR) {
            rb_err(w->err, "epoll_wait: %s", strerror(errno));
            goto fail;
        }
        now = now_ns();
        for (int i = 0; i < n; i++) {
            conn *c = evs[i].data.ptr;
            if (!c) { /* the pacing timer */
                uint64_t ticks;
                while (read(w->tfd, &ticks, sizeof ticks) > 0) {
                }
                continue;
            }
            int bad = 0;
            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) bad = on_readable(w, c) < 0;
            if (!bad && (evs[i].events & EPOLLOUT)) bad = flush_out(w, c) < 0;
            if (!bad && !open_loop) bad = fill_closed(w, c, now) < 0;
            if (bad && restart(w, c, 0, now) < 0) goto fail;
        }
        if (open_loop) {
            for (int i = 0; i < w->n; i++)
                if (fill_open(w, w->conns[i], now) < 0 && restart(w, w->conns[i], 0, now) < 0) goto fail;
        }
        if (now >= next_check) {
            next_check = now + CHECK_EVERY_NS;
            for (int i = 0; i < w->n; i++) {
                conn *c = w->conns[i];
                /* progress_at may be a little after `now`: compare without wrapping. */
                if (c->q_len && now > c->progress_at + timeout_ns && restart(w, c, 1, now) < 0)
                    goto fail;
            }
        }
    }
    return NULL;
fail:
    w->failed = 1;
    return NULL;
}

int engine_phase(engine *e, uint64_t requests, double duration_s, hist *h, engine_stats *out,
                 char *err)
{
    memset(out, 0, sizeof *out);
    e->budget = requests ? requests : UINT64_MAX;
    atomic_store(&e->claimed, 0);
    e->interval_ns = e->cfg.rate > 0
                         ? (uint64_t)((double)e->cfg.connections * 1e9 / e->cfg.rate)
                         : 0;
    if (e->cfg.rate > 0 && e->interval_ns == 0) e->interval_ns = 1;
    e->start = now_ns();
    e->deadline = requests ? 0 : e->start + (uint64_t)(duration_s * 1e9);
    for (int i = 0; i < e->nworkers; i++) {
        worker *w = &e->workers[i];
        memset(&w->st, 0, sizeof w->st);
        w->failed = 0;
        w->err[0] = '\0';
        hist_reset(w->h);
    }
    /* The calling thread runs the first worker itself. */
    for (int i = 1; i < e->nworkers; i++) {
        if (pthread_create(&e->workers[i].tid, NULL, worker_loop, &e->workers[i]) != 0) {
            for (int j = 1; j < i; j++) pthread_join(e->workers[j].tid, NULL);
            return rb_err(err, "pthread_create: %s", strerror(errno));
        }
    }
    worker_loop(&e->workers[0]);
    for (int i = 1; i < e->nworkers; i++) pthread_join(e->workers[i].tid, NULL);
    out->seconds = (double)(now_ns() - e->start) / 1e9;
    out->interrupted = e->cfg.stop && *e->cfg.stop;
    int rc = 0;
    for (int i = 0; i < e->nworkers; i++) {
        worker *w = &e->workers[i];
        out->requests += w->st.requests;
        out->errors += w->st.errors;
        out->timeouts += w->st.timeouts;
        out->reconnects += w->st.reconnects;
        out->late += w->st.late;
        for (int k = 0; k < ENGINE_MAX_CMDS; k++) out->replies[k] += w->st.replies[k];
        if (!out->first_error[0] && w->st.first_error[0])
            snprintf(out->first_error, sizeof out->first_error, "%s", w->st.first_error);
        hist_merge(h, w->h);
        if (w->failed && rc == 0) {
            rc = rb_err(err, "%s", w->err);
        }
    }
    return rc;
}
