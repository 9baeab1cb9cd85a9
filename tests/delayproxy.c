/* delayproxy.c -- a loopback TCP proxy that delivers every chunk DELAY_US late in each
 * direction, so end-to-end tests can make a server measurably slower for a real reason.
 *
 * Usage: delayproxy LISTEN_PORT TARGET_HOST:TARGET_PORT DELAY_US [--max-seconds N]
 *
 * Listens on 127.0.0.1:LISTEN_PORT (0 picks a free port), prints "port N" on stdout,
 * and forwards each connection to the target. Every chunk read from either side is
 * queued with a due time (read time + DELAY_US) and written to the other side when
 * due: a one-way delay that does not limit throughput. A close is passed on the same
 * way (after the bytes before it); a connection pair is freed once both directions
 * have ended, or at once when either side fails. Queued bytes are capped per direction
 * (the source is not read while over the cap) and in total. Exits after --max-seconds
 * (default 600) or on SIGTERM/SIGINT. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "util.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PAIRS 512
#define READ_SIZE 65536
#define DIR_QUEUE_MAX ((size_t)4 << 20)     /* bytes queued in one direction */
#define TOTAL_QUEUE_MAX ((size_t)256 << 20) /* bytes queued in all */
#define ACCEPT_PAUSE_NS 100000000ull       /* after EMFILE and the like */

typedef struct chunk {
    struct chunk *next;
    uint64_t due; /* now_ns() at which it may be written */
    size_t len, off;
    char data[];
} chunk;

/* The bytes flowing from one side to the other. */
typedef struct dir {
    chunk *head, *tail;
    size_t queued;
    int eof;  /* the source closed: read no more */
    int shut; /* that close has been passed on with shutdown(SHUT_WR) */
} dir;

typedef struct pair {
    int fd[2];            /* 0: client, 1: target */
    int pi[2];            /* index in the poll array, -1 when not polled this round */
    int connecting;       /* the target connect is in progress */
    struct addrinfo *ai;  /* the target address being tried */
    int dead;
    dir d[2];             /* d[s]: read from side s, written to side 1-s */
} pair;

typedef struct proxy {
    int lfd;
    uint64_t delay_ns;
    const char *target_name;
    struct addrinfo *target;
    pair *pairs[MAX_PAIRS];
    int npairs;
    size_t total_queued;
    uint64_t accept_pause_until;
    struct pollfd pfd[1 + 2 * MAX_PAIRS];
    char rbuf[READ_SIZE];
} proxy;

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
    (void)sig;
    got_signal = 1;
}

static void usage(void)
{
    fprintf(stderr, "usage: delayproxy LISTEN_PORT TARGET_HOST:TARGET_PORT DELAY_US "
                    "[--max-seconds N]\n");
    exit(2);
}

static long parse_num(const char *s, long lo, long hi, const char *what)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < lo || v > hi) {
        fprintf(stderr, "delayproxy: bad %s '%s' (want %ld-%ld)\n", what, s, lo, hi);
        exit(2);
    }
    return v;
}

static void set_nodelay(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void pair_free(proxy *px, pair *p)
{
    for (int s = 0; s < 2; s++) {
        if (p->fd[s] >= 0) close(p->fd[s]);
        for (chunk *c = p->d[s].head, *next; c; c = next) {
            next = c->next;
            free(c);
        }
        px->total_queued -= p->d[s].queued;
    }
    free(p);
}

/* Starts a non-blocking connect to p->ai or the addresses after it. 0 ok, -1 none left. */
static int target_connect(proxy *px, pair *p)
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
            p->connecting = 1; /* completion (or failure) shows as POLLOUT */
            return 0;
        }
        saved = errno;
        close(fd);
    }
    fprintf(stderr, "delayproxy: connect %s: %s\n", px->target_name, strerror(saved));
    return -1;
}

static void accept_all(proxy *px, uint64_t now)
{
    for (int i = 0; i < 64 && px->npairs < MAX_PAIRS; i++) {
        int fd = accept4(px->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                fprintf(stderr, "delayproxy: accept: %s\n", strerror(errno));
                px->accept_pause_until = now + ACCEPT_PAUSE_NS;
            }
            return;
        }
        set_nodelay(fd);
        pair *p = xcalloc(1, sizeof *p);
        p->fd[0] = fd;
        p->fd[1] = -1;
        p->pi[0] = p->pi[1] = -1;
        p->ai = px->target;
        if (target_connect(px, p) < 0) {
            pair_free(px, p);
            continue;
        }
        px->pairs[px->npairs++] = p;
    }
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
    close(p->fd[1]);
    p->fd[1] = -1;
    p->ai = p->ai->ai_next;
    if (!p->ai) {
        fprintf(stderr, "delayproxy: connect %s: %s\n", px->target_name, strerror(soerr));
        p->dead = 1;
    } else if (target_connect(px, p) < 0) {
        p->dead = 1;
    }
}

/* One read from side s into the queue toward the other side. */
static void pair_read(proxy *px, pair *p, int s)
{
    dir *d = &p->d[s];
    ssize_t n = recv(p->fd[s], px->rbuf, sizeof px->rbuf, 0);
    if (n > 0) {
        chunk *c = xmalloc(sizeof *c + (size_t)n);
        c->next = NULL;
        c->due = now_ns() + px->delay_ns;
        c->len = (size_t)n;
        c->off = 0;
        memcpy(c->data, px->rbuf, (size_t)n);
        if (d->tail) d->tail->next = c;
        else d->head = c;
        d->tail = c;
        d->queued += (size_t)n;
        px->total_queued += (size_t)n;
    } else if (n == 0) {
        d->eof = 1;
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        p->dead = 1;
    }
}

/* Writes the chunks now due toward side s; passes on a close once they are all out. */
static void pair_write(proxy *px, pair *p, int s, uint64_t now)
{
    dir *d = &p->d[1 - s];
    while (d->head && d->head->due <= now) {
        chunk *c = d->head;
        ssize_t w = send(p->fd[s], c->data + c->off, c->len - c->off, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) p->dead = 1;
            return;
        }
        c->off += (size_t)w;
        d->queued -= (size_t)w;
        px->total_queued -= (size_t)w;
        if (c->off == c->len) {
            d->head = c->next;
            if (!d->head) d->tail = NULL;
            free(c);
        }
    }
    if (!d->head && d->eof && !d->shut) {
        shutdown(p->fd[s], SHUT_WR);
        d->shut = 1;
    }
    if (p->d[0].shut && p->d[1].shut) p->dead = 1;
}

/* Fills the poll array; returns its size and lowers *wake to the next due chunk. */
static int build_poll(proxy *px, uint64_t now, uint64_t *wake)
{
    int n = 0;
    if (px->npairs < MAX_PAIRS && now >= px->accept_pause_until) {
        px->pfd[n++] = (struct pollfd){.fd = px->lfd, .events = POLLIN};
    } else if (px->accept_pause_until > now && px->accept_pause_until < *wake) {
        *wake = px->accept_pause_until;
    }
    for (int i = 0; i < px->npairs; i++) {
        pair *p = px->pairs[i];
        for (int s = 0; s < 2; s++) {
            short ev = 0;
            dir *in = &p->d[s], *out = &p->d[1 - s];
            if (s == 1 && p->connecting) {
                ev = POLLOUT;
            } else {
                if (!in->eof && in->queued < DIR_QUEUE_MAX && px->total_queued < TOTAL_QUEUE_MAX)
                    ev |= POLLIN;
                if (out->head && out->head->due <= now) ev |= POLLOUT;
                else if (out->head && out->head->due < *wake) *wake = out->head->due;
            }
            p->pi[s] = n;
            px->pfd[n++] = (struct pollfd){.fd = p->fd[s], .events = ev};
        }
    }
    return n;
}

static int run(proxy *px, uint64_t end, const sigset_t *pollmask)
{
    while (!got_signal) {
        uint64_t now = now_ns(), wake = end;
        if (now >= end) break;
        int n = build_poll(px, now, &wake);
        uint64_t wait = wake > now ? wake - now : 0;
        if (wait > 1000000000ull) wait = 1000000000ull;
        struct timespec ts = {(time_t)(wait / 1000000000ull), (long)(wait % 1000000000ull)};
        if (ppoll(px->pfd, (nfds_t)n, &ts, pollmask) < 0) {
            if (errno == EINTR) continue;
            fprintf(stderr, "delayproxy: poll: %s\n", strerror(errno));
            return 1;
        }
        now = now_ns();
        int old = px->npairs;
        if (n > 0 && px->pfd[0].fd == px->lfd && (px->pfd[0].revents & POLLIN)) accept_all(px, now);

        for (int i = 0; i < old; i++) {
            pair *p = px->pairs[i];
            for (int s = 0; s < 2 && !p->dead; s++) {
                short rev = px->pfd[p->pi[s]].revents;
                if (s == 1 && p->connecting) {
                    if (rev) finish_connect(px, p);
                } else if ((rev & (POLLIN | POLLHUP | POLLERR)) &&
                           (px->pfd[p->pi[s]].events & POLLIN)) {
                    pair_read(px, p, s);
                } else if (rev & POLLERR) {
                    p->dead = 1;
                }
            }
            for (int s = 0; s < 2 && !p->dead; s++)
                if (!(s == 1 && p->connecting)) pair_write(px, p, s, now);
        }
        /* Drop finished pairs, keeping the array dense. */
        for (int i = 0; i < px->npairs;) {
            if (px->pairs[i]->dead) {
                pair_free(px, px->pairs[i]);
                px->pairs[i] = px->pairs[--px->npairs];
            } else {
                i++;
            }
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *pos[3];
    int npos = 0;
    long max_seconds = 600;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--max-seconds")) {
            if (++i == argc) usage();
            max_seconds = parse_num(argv[i], 1, 7 * 86400, "--max-seconds");
        } else if (npos < 3) {
            pos[npos++] = argv[i];
        } else {
            usage();
        }
    }
    if (npos != 3) usage();

    static proxy px;
    char err[RB_ERR_LEN], *host = NULL, port[8];
    int tport, listen_port = (int)parse_num(pos[0], 0, 65535, "LISTEN_PORT");
    px.delay_ns = (uint64_t)parse_num(pos[2], 0, 60000000, "DELAY_US") * 1000ull;
    px.target_name = pos[1];
    if (parse_hostport(pos[1], &host, &tport, err) < 0) {
        fprintf(stderr, "delayproxy: %s\n", err);
        return 2;
    }
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    snprintf(port, sizeof port, "%d", tport);
    int rc = getaddrinfo(host, port, &hints, &px.target);
    if (rc != 0) {
        fprintf(stderr, "delayproxy: resolve %s: %s\n", host, gai_strerror(rc));
        free(host);
        return 1;
    }
    free(host);

    struct sockaddr_in a;
    socklen_t sl = sizeof a;
    int one = 1;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)listen_port);
    px.lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (px.lfd < 0 || setsockopt(px.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(px.lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(px.lfd, 512) < 0 ||
        getsockname(px.lfd, (struct sockaddr *)&a, &sl) < 0) {
        fprintf(stderr, "delayproxy: listen 127.0.0.1:%d: %s\n", listen_port, strerror(errno));
        return 1;
    }

    /* SIGTERM/SIGINT stay blocked except inside ppoll, so none is missed. */
    sigset_t block, pollmask;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, &pollmask);
    sigdelset(&pollmask, SIGTERM);
    sigdelset(&pollmask, SIGINT);

    printf("port %d\n", ntohs(a.sin_port));
    fflush(stdout);

    rc = run(&px, now_ns() + (uint64_t)max_seconds * 1000000000ull, &pollmask);
    for (int i = 0; i < px.npairs; i++) pair_free(&px, px.pairs[i]);
    close(px.lfd);
    freeaddrinfo(px.target);
    return rc;
}
