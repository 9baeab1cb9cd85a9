/* proxy.c -- `redbench proxy`: a TCP proxy that adds a round-trip delay and
 * applies a schedule of faults (extra latency, stalls, connection resets), so
 * the lab can stand in for distance and the chaos scenario for a bad network
 * (docs/lab.md#redbench-proxy). One epoll loop, non-blocking sockets, bounded
 * per-direction queues of timestamped chunks. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "util.h"

#define PROXY_MAX_PAIRS 1024
#define PROXY_READ_SIZE 65536
#define PROXY_DIR_MAX ((size_t)4 << 20)     /* bytes queued in one direction */
#define PROXY_TOTAL_MAX ((size_t)256 << 20) /* bytes queued in all */
#define PROXY_MAX_FAULTS 64
#define PROXY_MAX_DELAY_MS 600000.0

static const char PROXY_USAGE[] =
    "usage: redbench proxy --listen HOST:PORT --upstream HOST:PORT [options]\n"
    "\n"
    "Forwards every TCP connection accepted on --listen to --upstream, keeping the\n"
    "bytes of each direction in order, adding a delay and applying faults.\n"
    "\n"
    "  --listen HOST:PORT   where to listen (port 0 = any free port)\n"
    "  --upstream HOST:PORT where to connect for each accepted connection\n"
    "  --delay MS           added ROUND TRIP in ms (decimals allowed): half of it\n"
    "                       delays each direction (default 0)\n"
    "  --faults SPEC        comma list of AT+DUR:KIND[=ARG], AT and DUR like 5s,\n"
    "                       1500ms or 0.5s, AT counted from the proxy's start:\n"
    "                         latency=MS  an extra round trip of MS during the window\n"
    "                         stall       forward nothing during the window (connections\n"
    "                                     and data are held, then released in order)\n"
    "                         reset       RST every connection open at the start of the\n"
    "                                     window and every new one during it\n"
    "                       e.g. 2s+3s:latency=50,6s+1s:stall,9s+500ms:reset\n"
    "  --ready-file F       once listening, write \"HOST:PORT\\n\" (the real port) to F\n"
    "  --events F           append one JSON line per fault start and end to F:\n"
    "                       {\"unix_ms\",\"event\":\"start\"|\"end\",\"index\",\"kind\",\"arg\",\n"
    "                        \"at_ms\",\"dur_ms\",\"connections\"}\n"
    "\n"
    "Queues are bounded (4 MiB per direction, 256 MiB in all: a side is not read\n"
    "while over the cap), at most 1024 connection pairs. SIGTERM or SIGINT ends it\n"
    "cleanly. exit status: 0 stopped by a signal, 2 error (bad option, cannot listen).\n";

enum fault_kind { FAULT_LATENCY, FAULT_STALL, FAULT_RESET, FAULT__MAX };
static const char *const fault_name[FAULT__MAX] = {"latency", "stall", "reset"};

typedef struct fault {
    enum fault_kind kind;
    double arg_ms;          /* latency: the extra round trip */
    uint64_t at_ns, dur_ns; /* relative to the proxy's start */
    int state;              /* 0 pending, 1 active, 2 over */
} fault;

typedef struct chunk {
    struct chunk *next;
    uint64_t due;           /* monotonic ns at which it may be written */
    size_t len, off;
    char data[];
} chunk;

/* The bytes flowing from one side to the other. */
typedef struct dir {
    chunk *head, *tail;
    size_t queued;
    int eof;                /* the source closed: read no more */
    int shut;               /* that close was passed on with shutdown(SHUT_WR) */
} dir;

struct pair;
/* What an epoll event points at. */
typedef struct ep_ref {
    int kind;               /* 0 listener, 1 signalfd, 2 timerfd, 3 a pair's side */
    struct pair *p;
    int side;
} ep_ref;

typedef struct pair {
    struct pair *prev, *next;
    int fd[2];              /* 0: the client, 1: the upstream */
    uint32_t mask[2];       /* events registered for fd[s] */
    ep_ref ref[2];
    int connecting;         /* the upstream connect is in progress */
    struct addrinfo *ai;    /* the upstream address being tried */
    int dead, reset;        /* free after this round; reset: close with RST */
    dir d[2];               /* d[s]: read from side s, written to side 1-s */
} pair;

typedef struct proxy {
    int ep, lfd, sfd, tfd;
    ep_ref lref, sref, tref;
    uint32_t lmask;
    struct addrinfo *up;
    const char *up_name;
    double delay_ms;
    fault faults[PROXY_MAX_FAULTS];
    int nfaults;
    FILE *events;
    uint64_t start;         /* monotonic ns when listening began */
    pair *pairs;
    int npairs;
    size_t total_queued;
    uint64_t conns, resets;
    int stop;
    char rbuf[PROXY_READ_SIZE];
} proxy;

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- the fault schedule ---- */

/* "5s", "1500ms", "0.5s" -> ns; -1 when malformed. */
static int parse_span(const char *s, size_t n, uint64_t *out)
{
    char tmp[32], *end;
    if (n == 0 || n >= sizeof tmp) return -1;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    errno = 0;
    double v = strtod(tmp, &end);
    if (end == tmp || errno || v < 0 || v > 7 * 86400.0 * 1000) return -1;
    double mul;
    if (!strcmp(end, "ms")) mul = 1e6;
    else if (!strcmp(end, "s")) mul = 1e9;
    else return -1;
    if (v * mul > 7 * 86400.0 * 1e9) return -1;
    *out = (uint64_t)(v * mul + 0.5);
    return 0;
}

/* Parses SPEC into px->faults; 0, or -1 with err naming the bad item. */
static int parse_faults(proxy *px, const char *spec, char *err)
{
    const char *p = spec;
    while (*p) {
        size_t n = strcspn(p, ",");
        char item[128];
        if (n == 0 || n >= sizeof item) return rb_err(err, "--faults: bad item '%.*s'", (int)n, p);
        memcpy(item, p, n);
        item[n] = '\0';
        p += n + (p[n] == ',');
        if (px->nfaults == PROXY_MAX_FAULTS) return rb_err(err, "--faults: more than %d items", PROXY_MAX_FAULTS);
        fault *f = &px->faults[px->nfaults];
        memset(f, 0, sizeof *f);
        char *plus = strchr(item, '+'), *colon = strchr(item, ':');
        if (!plus || !colon || colon < plus ||
            parse_span(item, (size_t)(plus - item), &f->at_ns) < 0 ||
            parse_span(plus + 1, (size_t)(colon - plus - 1), &f->dur_ns) < 0 || f->dur_ns == 0)
            return rb_err(err, "--faults: bad item '%s': want AT+DUR:KIND[=ARG] with AT and "
                               "DUR like 5s or 1500ms (DUR > 0)", item);
        char *kind = colon + 1, *eq = strchr(kind, '=');
        if (eq) *eq = '\0';
        int k = -1;
        for (int i = 0; i < FAULT__MAX; i++)
            if (!strcmp(kind, fault_name[i])) k = i;
        if (k < 0) return rb_err(err, "--faults: '%s': unknown kind '%s' (latency, stall, reset)", item, kind);
        f->kind = (enum fault_kind)k;
        if (f->kind == FAULT_LATENCY) {
            char *end;
            if (!eq) return rb_err(err, "--faults: '%s': latency needs =MS", item);
            errno = 0;
            f->arg_ms = strtod(eq + 1, &end);
            if (end == eq + 1 || *end || errno || f->arg_ms < 0 || f->arg_ms > PROXY_MAX_DELAY_MS)
                return rb_err(err, "--faults: '%s': latency wants 0-%.0f ms", item, PROXY_MAX_DELAY_MS);
        } else if (eq) {
            return rb_err(err, "--faults: '%s': %s takes no argument", item, kind);
        }
        px->nfaults++;
    }
    return 0;
}

static void fault_event(proxy *px, int i, const char *what, uint64_t affected)
{
    if (!px->events) return;
    const fault *f = &px->faults[i];
    fprintf(px->events,
            "{\"unix_ms\":%llu,\"event\":\"%s\",\"index\":%d,\"kind\":\"%s\",\"arg\":%g,"
            "\"at_ms\":%llu,\"dur_ms\":%llu,\"connections\":%llu}\n",
            (unsigned long long)(wall_ns() / 1000000ull), what, i, fault_name[f->kind], f->arg_ms,
            (unsigned long long)(f->at_ns / 1000000ull), (unsigned long long)(f->dur_ns / 1000000ull),
            (unsigned long long)affected);
    fflush(px->events);
}

static int fault_active(const proxy *px, enum fault_kind k)
{
    for (int i = 0; i < px->nfaults; i++)
        if (px->faults[i].state == 1 && px->faults[i].kind == k) return 1;
    return 0;
}

/* The one-way delay of a chunk read now, ns. */
static uint64_t oneway_ns(const proxy *px)
{
    double ms = px->delay_ms;
    for (int i = 0; i < px->nfaults; i++)
        if (px->faults[i].state == 1 && px->faults[i].kind == FAULT_LATENCY) ms += px->faults[i].arg_ms;
    return (uint64_t)(ms * 1e6 / 2);
}

/* ---- connection pairs ---- */

static void set_nodelay(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* Closing with SO_LINGER {1, 0} sends an RST instead of a FIN. */
static void close_rst(int fd)
{
    struct linger l = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close(fd);
}

static void pair_free(proxy *px, pair *p)
{
    for (int s = 0; s < 2; s++) {
        if (p->fd[s] >= 0) {
            epoll_ctl(px->ep, EPOLL_CTL_DEL, p->fd[s], NULL);
            if (p->reset) close_rst(p->fd[s]);
            else close(p->fd[s]);
        }
        for (chunk *c = p->d[s].head, *next; c; c = next) {
            next = c->next;
            free(c);
        }
        px->total_queued -= p->d[s].queued;
    }
    if (p->prev) p->prev->next = p->next;
    else px->pairs = p->next;
    if (p->next) p->next->prev = p->prev;
    px->npairs--;
    free(p);
}

/* Registers (or changes) the events wanted on side s. */
static void pair_watch(proxy *px, pair *p, int s, uint32_t want)
{
    if (p->fd[s] < 0 || p->mask[s] == want) return;
    struct epoll_event ev = {.events = want, .data.ptr = &p->ref[s]};
    if (epoll_ctl(px->ep, EPOLL_CTL_MOD, p->fd[s], &ev) < 0 && errno == ENOENT)
        epoll_ctl(px->ep, EPOLL_CTL_ADD, p->fd[s], &ev);
    p->mask[s] = want;
}

/* Starts a non-blocking connect to p->ai or the addresses after it; 0, or -1 when none is left. */
static int upstream_connect(proxy *px, pair *p)
{
    int saved = 0;
    for (; p->ai; p->ai = p->ai->ai_next) {
        int fd = socket(p->ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        if (connect(fd, p->ai->ai_addr, p->ai->ai_addrlen) == 0 || errno == EINPROGRESS) {
            set_nodelay(fd);
            p->fd[1] = fd;
            p->mask[1] = 0;
            p->connecting = 1;
            struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = &p->ref[1]};
            epoll_ctl(px->ep, EPOLL_CTL_ADD, fd, &ev);
            p->mask[1] = EPOLLOUT;
            return 0;
        }
        saved = errno;
        close(fd);
    }
    fprintf(stderr, "redbench proxy: connect %s: %s\n", px->up_name, strerror(saved));
    return -1;
}

static void finish_connect(proxy *px, pair *p)
{
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (getsockopt(p->fd[1], SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0) soerr = errno;
    if (soerr == 0) {
        p->connecting = 0;
        return;
    }
    if (soerr == EINPROGRESS || soerr == EALREADY) return;
    epoll_ctl(px->ep, EPOLL_CTL_DEL, p->fd[1], NULL);
    close(p->fd[1]);
    p->fd[1] = -1;
    p->ai = p->ai->ai_next;
    if (!p->ai) {
        fprintf(stderr, "redbench proxy: connect %s: %s\n", px->up_name, strerror(soerr));
        p->dead = p->reset = 1;
    } else if (upstream_connect(px, p) < 0) {
        p->dead = p->reset = 1;
    }
}

static void accept_all(proxy *px)
{
    for (int i = 0; i < 64 && px->npairs < PROXY_MAX_PAIRS; i++) {
        int fd = accept4(px->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
                fprintf(stderr, "redbench proxy: accept: %s\n", strerror(errno));
            return;
        }
        px->conns++;
        if (fault_active(px, FAULT_RESET)) {
            close_rst(fd);
            px->resets++;
            continue;
        }
        set_nodelay(fd);
        pair *p = xcalloc(1, sizeof *p);
        p->fd[0] = fd;
        p->fd[1] = -1;
        for (int s = 0; s < 2; s++) p->ref[s] = (ep_ref){3, p, s};
        p->ai = px->up;
        p->next = px->pairs;
        if (px->pairs) px->pairs->prev = p;
        px->pairs = p;
        px->npairs++;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &p->ref[0]};
        epoll_ctl(px->ep, EPOLL_CTL_ADD, fd, &ev);
        p->mask[0] = EPOLLIN;
        if (upstream_connect(px, p) < 0) p->dead = p->reset = 1;
    }
}

/* Reads from side s into the queue toward the other side, until EAGAIN or the cap. */
static void pair_read(proxy *px, pair *p, int s, uint64_t now)
{
    dir *d = &p->d[s];
    while (!d->eof && !p->dead && d->queued < PROXY_DIR_MAX && px->total_queued < PROXY_TOTAL_MAX) {
        ssize_t n = recv(p->fd[s], px->rbuf, sizeof px->rbuf, 0);
        if (n > 0) {
            chunk *c = xmalloc(sizeof *c + (size_t)n);
            c->next = NULL;
            c->due = now + oneway_ns(px);
            c->len = (size_t)n;
            c->off = 0;
            memcpy(c->data, px->rbuf, (size_t)n);
            if (d->tail) d->tail->next = c;
            else d->head = c;
            d->tail = c;
            d->queued += (size_t)n;
            px->total_queued += (size_t)n;
            if ((size_t)n < sizeof px->rbuf) return;
        } else if (n == 0) {
            d->eof = 1;
        } else {
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) p->dead = p->reset = 1;
            return;
        }
    }
}

/* Writes the chunks due toward side s (none while a stall is active); passes
 * a close on once the queue is empty. */
static void pair_write(proxy *px, pair *p, int s, uint64_t now)
{
    dir *d = &p->d[1 - s];
    if (p->fd[s] < 0 || (s == 1 && p->connecting) || fault_active(px, FAULT_STALL)) return;
    while (d->head && d->head->due <= now) {
        chunk *c = d->head;
        ssize_t w = send(p->fd[s], c->data + c->off, c->len - c->off, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) p->dead = p->reset = 1;
            return;
        }
        c->off += (size_t)w;
        d->queued -= (size_t)w;
        px->total_queued -= (size_t)w;
        if (c->off < c->len) return; /* the socket buffer is full */
        d->head = c->next;
        if (!d->head) d->tail = NULL;
        free(c);
    }
    if (!d->head && d->eof && !d->shut) {
        shutdown(p->fd[s], SHUT_WR);
        d->shut = 1;
    }
    if (p->d[0].shut && p->d[1].shut) p->dead = 1;
}

/* Sets every pair's epoll interest from its state and lowers *wake to the
 * next due chunk. */
static void plan_round(proxy *px, uint64_t now, uint64_t *wake)
{
    int stalled = fault_active(px, FAULT_STALL);
    for (pair *p = px->pairs; p; p = p->next) {
        if (p->dead) continue;
        for (int s = 0; s < 2; s++) {
            if (p->fd[s] < 0) continue;
            uint32_t want = 0;
            dir *in = &p->d[s], *out = &p->d[1 - s];
            if (s == 1 && p->connecting) {
                want = EPOLLOUT;
            } else {
                if (!in->eof && in->queued < PROXY_DIR_MAX && px->total_queued < PROXY_TOTAL_MAX)
                    want |= EPOLLIN;
                if (out->head && !stalled) {
                    if (out->head->due <= now) want |= EPOLLOUT; /* the last write hit EAGAIN */
                    else if (out->head->due < *wake) *wake = out->head->due;
                }
            }
            pair_watch(px, p, s, want);
        }
    }
    uint32_t lwant = px->npairs < PROXY_MAX_PAIRS ? EPOLLIN : 0;
    if (lwant != px->lmask) {
        struct epoll_event ev = {.events = lwant, .data.ptr = &px->lref};
        epoll_ctl(px->ep, EPOLL_CTL_MOD, px->lfd, &ev);
        px->lmask = lwant;
    }
}

/* Starts and ends fault windows due by now; lowers *wake to the next boundary. */
static void faults_step(proxy *px, uint64_t now, uint64_t *wake)
{
    uint64_t rel = now - px->start;
    for (int i = 0; i < px->nfaults; i++) {
        fault *f = &px->faults[i];
        if (f->state == 0 && rel >= f->at_ns) {
            f->state = 1;
            uint64_t n = 0;
            if (f->kind == FAULT_RESET) {
                for (pair *p = px->pairs; p; p = p->next)
                    if (!p->dead) {
                        p->dead = p->reset = 1;
                        n++;
                    }
                px->resets += n;
            } else {
                n = (uint64_t)px->npairs;
            }
            fault_event(px, i, "start", n);
        }
        if (f->state == 1 && rel >= f->at_ns + f->dur_ns) {
            f->state = 2;
            fault_event(px, i, "end", (uint64_t)px->npairs);
        }
        uint64_t next = f->state == 0 ? f->at_ns : f->state == 1 ? f->at_ns + f->dur_ns : UINT64_MAX;
        if (next != UINT64_MAX && px->start + next < *wake) *wake = px->start + next;
    }
}

static void reap(proxy *px)
{
    for (pair *p = px->pairs, *next; p; p = next) {
        next = p->next;
        if (p->dead) pair_free(px, p);
    }
}

static void arm_timer(proxy *px, uint64_t wake, uint64_t now)
{
    struct itimerspec its = {0};
    if (wake == UINT64_MAX) wake = now + 1000000000ull; /* a heartbeat; nothing is due */
    if (wake <= now) wake = now + 1;
    its.it_value.tv_sec = (time_t)(wake / 1000000000ull);
    its.it_value.tv_nsec = (long)(wake % 1000000000ull);
    timerfd_settime(px->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void proxy_loop(proxy *px)
{
    struct epoll_event evs[128];
    while (!px->stop) {
        uint64_t now = mono_ns(), wake = UINT64_MAX;
        faults_step(px, now, &wake);
        for (pair *p = px->pairs; p; p = p->next)
            for (int s = 0; s < 2 && !p->dead; s++) pair_write(px, p, s, now);
        reap(px);
        plan_round(px, now, &wake);
        arm_timer(px, wake, now);
        int n = epoll_wait(px->ep, evs, 128, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            fprintf(stderr, "redbench proxy: epoll_wait: %s\n", strerror(errno));
            return;
        }
        now = mono_ns();
        for (int i = 0; i < n; i++) {
            ep_ref *r = evs[i].data.ptr;
            if (r->kind == 0) {
                accept_all(px);
            } else if (r->kind == 1) {
                struct signalfd_siginfo si;
                while (read(px->sfd, &si, sizeof si) == (ssize_t)sizeof si) px->stop = 1;
            } else if (r->kind == 2) {
                uint64_t ticks;
                while (read(px->tfd, &ticks, sizeof ticks) == (ssize_t)sizeof ticks) {}
            } else {
                pair *p = r->p;
                int s = r->side;
                if (p->dead) continue;
                if (s == 1 && p->connecting) {
                    finish_connect(px, p);
                    continue;
                }
                if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                    /* A hang-up or error while not reading would be reported
                     * again and again: the peer is gone, so is the pair. */
                    if (p->mask[s] & EPOLLIN) pair_read(px, p, s, now);
                    else if (evs[i].events & (EPOLLERR | EPOLLHUP)) p->dead = p->reset = 1;
                }
            }
        }
        reap(px);
    }
}

/* Resolves HOST:PORT (port 0 allowed when passive) into a list the caller frees. */
static int resolve(const char *hp, int passive, struct addrinfo **out, char *err)
{
    char *host = NULL, tmp[300];
    int port;
    size_t l = strlen(hp);
    /* parse_hostport wants a port 1-65535: a listen port 0 is read as 1, then set. */
    int zero = passive && l >= 2 && !strcmp(hp + l - 2, ":0") && l < sizeof tmp;
    if (zero) {
        snprintf(tmp, sizeof tmp, "%.*s:1", (int)(l - 2), hp);
        hp = tmp;
    }
    if (parse_hostport(hp, &host, &port, err) < 0) return -1;
    if (zero) port = 0;
    struct addrinfo hints = {0};
    char ps[8];
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
    snprintf(ps, sizeof ps, "%d", port);
    int rc = getaddrinfo(host, ps, &hints, out);
    if (rc != 0) rb_err(err, "resolve %s: %s", host, gai_strerror(rc));
    free(host);
    return rc ? -1 : 0;
}

/* Binds and listens on addr; writes "HOST:PORT" of the bound socket into name. */
static int listen_on(proxy *px, const char *addr, char *name, size_t nlen, char *err)
{
    struct addrinfo *ai = NULL;
    if (resolve(addr, 1, &ai, err) < 0) return -1;
    int one = 1, rc = -1;
    px->lfd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (px->lfd < 0 || setsockopt(px->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(px->lfd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(px->lfd, 512) < 0) {
        rb_err(err, "listen %s: %s", addr, strerror(errno));
        goto out;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char h[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    getsockname(px->lfd, (struct sockaddr *)&ss, &sl);
    if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &a6->sin6_addr, h, sizeof h);
        port = ntohs(a6->sin6_port);
        snprintf(name, nlen, "[%s]:%d", h, port);
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &a4->sin_addr, h, sizeof h);
        port = ntohs(a4->sin_port);
        snprintf(name, nlen, "%s:%d", h, port);
    }
    rc = 0;
out:
    freeaddrinfo(ai);
    return rc;
}

int cmd_proxy(int argc, char **argv)
{
    static const struct option opts[] = {
        {"listen", 1, 0, 'l'}, {"upstream", 1, 0, 'u'}, {"delay", 1, 0, 'd'},
        {"faults", 1, 0, 'f'}, {"ready-file", 1, 0, 'r'}, {"events", 1, 0, 'e'},
        {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    const char *listen_addr = NULL, *upstream = NULL, *faults = NULL, *ready = NULL, *events = NULL;
    char err[RB_ERR_LEN], name[INET6_ADDRSTRLEN + 16];
    int rc = EXIT_ERROR, o, masked = 0;
    proxy *px = xcalloc(1, sizeof *px);
    px->ep = px->lfd = px->sfd = px->tfd = -1;
    sigset_t mask, old;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    optind = 1;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'l': listen_addr = optarg; break;
        case 'u': upstream = optarg; break;
        case 'd':
            if (cli_real("proxy", "--delay", optarg, 0, PROXY_MAX_DELAY_MS, &px->delay_ms) < 0) goto out;
            break;
        case 'f': faults = optarg; break;
        case 'r': ready = optarg; break;
        case 'e': events = optarg; break;
        case 'h': fputs(PROXY_USAGE, stdout); rc = EXIT_OK; goto out;
        default: fputs(PROXY_USAGE, stderr); goto out;
        }
    }
    if (optind < argc || !listen_addr || !upstream) {
        fprintf(stderr, "redbench proxy: --listen and --upstream are required\n%s", PROXY_USAGE);
        goto out;
    }
    if (faults && parse_faults(px, faults, err) < 0) {
        fprintf(stderr, "redbench proxy: %s\n", err);
        goto out;
    }
    px->up_name = upstream;
    if (resolve(upstream, 0, &px->up, err) < 0) {
        fprintf(stderr, "redbench proxy: --upstream: %s\n", err);
        goto out;
    }
    if (events && !(px->events = fopen(events, "a"))) {
        fprintf(stderr, "redbench proxy: --events %s: %s\n", events, strerror(errno));
        goto out;
    }
    /* Signals arrive through a signalfd in the epoll set: none is missed. */
    sigprocmask(SIG_BLOCK, &mask, &old);
    masked = 1;
    px->ep = epoll_create1(EPOLL_CLOEXEC);
    px->sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    px->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (px->ep < 0 || px->sfd < 0 || px->tfd < 0) {
        fprintf(stderr, "redbench proxy: epoll/signalfd/timerfd: %s\n", strerror(errno));
        goto out;
    }
    if (listen_on(px, listen_addr, name, sizeof name, err) < 0) {
        fprintf(stderr, "redbench proxy: %s\n", err);
        goto out;
    }
    px->lref = (ep_ref){0, NULL, 0};
    px->sref = (ep_ref){1, NULL, 0};
    px->tref = (ep_ref){2, NULL, 0};
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &px->lref};
    epoll_ctl(px->ep, EPOLL_CTL_ADD, px->lfd, &ev);
    px->lmask = EPOLLIN;
    ev.data.ptr = &px->sref;
    epoll_ctl(px->ep, EPOLL_CTL_ADD, px->sfd, &ev);
    ev.data.ptr = &px->tref;
    epoll_ctl(px->ep, EPOLL_CTL_ADD, px->tfd, &ev);

    px->start = mono_ns();
    if (ready) {
        char line[sizeof name + 2];
        int n = snprintf(line, sizeof line, "%s\n", name);
        if (write_file_atomic(ready, line, (size_t)n, err) < 0) {
            fprintf(stderr, "redbench proxy: --ready-file: %s\n", err);
            goto out;
        }
    }
    fprintf(stderr, "redbench proxy: %s -> %s, delay %g ms round trip, %d fault(s)\n", name,
            upstream, px->delay_ms, px->nfaults);
    proxy_loop(px);
    for (int i = 0; i < px->nfaults; i++)
        if (px->faults[i].state == 1) {
            px->faults[i].state = 2;
            fault_event(px, i, "end", (uint64_t)px->npairs);
        }
    fprintf(stderr, "redbench proxy: stopped after %llu connection(s), %llu reset\n",
            (unsigned long long)px->conns, (unsigned long long)px->resets);
    rc = px->stop ? EXIT_OK : EXIT_ERROR;
out:
    while (px->pairs) pair_free(px, px->pairs);
    if (masked) sigprocmask(SIG_SETMASK, &old, NULL);
    if (px->lfd >= 0) close(px->lfd);
    if (px->ep >= 0) close(px->ep);
    if (px->sfd >= 0) close(px->sfd);
    if (px->tfd >= 0) close(px->tfd);
    if (px->events) fclose(px->events);
    if (px->up) freeaddrinfo(px->up);
    free(px);
    return rc;
}
