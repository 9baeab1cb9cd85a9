/* httpc.c -- a minimal HTTP/1.1 client over POSIX sockets: one request per connection. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "httpc.h"

#include "util.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define LINE_MAX_BYTES 8192     /* one status, header, chunk-size or trailer line */
#define HEAD_MAX_BYTES 65536    /* all header (or trailer) lines of one response */
#define REQ_HEAD_MAX (64 * 1024) /* our own request line + headers */
#define MAX_INTERIM 8           /* 1xx responses skipped before the final one */

typedef struct url_parts {
    char *host;     /* without brackets */
    int port;
    char *target;   /* "/path?query", never empty */
    char hostport[300]; /* "host:port" or "[v6]:port", for messages */
    char hosthdr[300];  /* Host header value: port only when not 80 */
} url_parts;

typedef struct conn {
    int fd;
    uint64_t deadline; /* now_ns() value at which the request gives up */
    int timeout_ms;
    const char *addr;  /* "host:port" for messages */
    char rb[16384];    /* received, not yet consumed: rb[rs..re) */
    size_t rs, re;
} conn;

void httpc_resp_cleanup(httpc_resp *r)
{
    free(r->body);
    free(r->content_type);
    memset(r, 0, sizeof *r);
}

static void url_cleanup(url_parts *u)
{
    free(u->host);
    free(u->target);
}

static int host_char_ok(char c, int v6)
{
    if (v6) return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
                   c == ':' || c == '.';
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           c == '-' || c == '.' || c == '_';
}

static int url_parse(const char *url, url_parts *u, char *err)
{
    char perr[RB_ERR_LEN];
    char *auth = NULL;
    int v6 = 0;
    memset(u, 0, sizeof *u);
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return rb_err(err, "bad URL: contains a space or control character");
    if (strncasecmp(url, "https://", 8) == 0)
        return rb_err(err, "https is not supported (redbench has no TLS): use an http:// URL");
    if (strncasecmp(url, "http://", 7) != 0)
        return rb_err(err, "bad URL '%.100s': must start with http://", url);

    const char *a = url + 7;
    size_t alen = strcspn(a, "/?#");
    const char *rest = a + alen;
    if (alen == 0) return rb_err(err, "bad URL '%.100s': no host", url);
    if (memchr(a, '@', alen)) return rb_err(err, "bad URL '%.100s': user info is not supported", url);
    auth = xstrndup(a, alen);

    if (auth[0] == '[') {
        char *close = strchr(auth, ']');
        if (!close) {
            rb_err(err, "bad URL '%.100s': unterminated [IPv6] address", url);
            goto fail;
        }
        v6 = 1;
        if (close[1] == '\0') {
            u->host = xstrndup(auth + 1, (size_t)(close - auth - 1));
            u->port = 80;
        } else if (close[1] != ':') {
            rb_err(err, "bad URL '%.100s': junk after the [IPv6] address", url);
            goto fail;
        }
    } else if (!strchr(auth, ':')) {
        u->host = xstrdup(auth);
        u->port = 80;
    }
    if (!u->host && parse_hostport(auth, &u->host, &u->port, perr) < 0) {
        rb_err(err, "bad URL '%.100s': %s", url, perr);
        goto fail;
    }
    if (u->host[0] == '\0') {
        rb_err(err, "bad URL '%.100s': no host", url);
        goto fail;
    }
    for (const char *p = u->host; *p; p++) {
        if (!host_char_ok(*p, v6)) {
            rb_err(err, "bad URL '%.100s': bad character in host", url);
            goto fail;
        }
    }

    size_t tlen = strcspn(rest, "#");
    if (rest[0] == '/') u->target = xstrndup(rest, tlen);
    else {
        u->target = xmalloc(tlen + 2);
        u->target[0] = '/';
        memcpy(u->target + 1, rest, tlen);
        u->target[tlen + 1] = '\0';
    }
    snprintf(u->hostport, sizeof u->hostport, v6 ? "[%s]:%d" : "%s:%d", u->host, u->port);
    if (u->port == 80) snprintf(u->hosthdr, sizeof u->hosthdr, v6 ? "[%s]" : "%s", u->host);
    else snprintf(u->hosthdr, sizeof u->hosthdr, "%s", u->hostport);
    free(auth);
    return 0;
fail:
    free(auth);
    url_cleanup(u);
    memset(u, 0, sizeof *u);
    return -1;
}

/* 1 when every byte of s is in [lo, 0x7e]. */
static int printable(const char *s, unsigned char lo)
{
    for (; *s; s++)
        if ((unsigned char)*s < lo || (unsigned char)*s > 0x7e) return 0;
    return 1;
}

/* Waits until fd is ready for events or the deadline passes. */
static int wait_fd(conn *c, short events, char *err)
{
    for (;;) {
        uint64_t now = now_ns();
        if (now >= c->deadline)
            return rb_err(err, "timeout after %d ms waiting for %s", c->timeout_ms, c->addr);
        int ms = (int)((c->deadline - now + 999999) / 1000000);
        struct pollfd p = {.fd = c->fd, .events = events};
        int n = poll(&p, 1, ms);
        if (n < 0 && errno != EINTR) return rb_err(err, "poll: %s", strerror(errno));
        if (n > 0) return 0; /* also on POLLERR/POLLHUP: the next call says what happened */
    }
}

static int conn_open(conn *c, const url_parts *u, char *err)
{
    struct addrinfo hints, *res = NULL;
    char port[8], numeric[NI_MAXHOST] = "";
    int saved = 0, rc;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    snprintf(port, sizeof port, "%d", u->port);
    rc = getaddrinfo(u->host, port, &hints, &res);
    if (rc != 0)
        return rb_err(err, "resolve %s: %s", u->host,
                      rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));

    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                        ai->ai_protocol);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        c->fd = fd;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) goto ok;
        if (errno == EINPROGRESS || errno == EINTR) {
            int soerr = 0;
            socklen_t sl = sizeof soerr;
            if (wait_fd(c, POLLOUT, err) < 0) goto fail; /* the deadline covers all addresses */
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0) soerr = errno;
            if (soerr == 0) goto ok;
            errno = soerr;
        }
        saved = errno;
        close(fd);
        c->fd = -1;
        if (getnameinfo(ai->ai_addr, ai->ai_addrlen, numeric, sizeof numeric, NULL, 0,
                        NI_NUMERICHOST) != 0)
            numeric[0] = '\0';
    }
    if (numeric[0] && strcmp(numeric, u->host) != 0)
        rb_err(err, "connect %s (%s): %s", c->addr, numeric, strerror(saved));
    else
        rb_err(err, "connect %s: %s", c->addr, strerror(saved));
fail:
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    freeaddrinfo(res);
    return -1;
ok:
    freeaddrinfo(res);
    return 0;
}

/* Sends head then body (one sendmsg when it fits, so no Nagle stall between them). */
static int send_all(conn *c, const char *head, size_t hlen, const char *body, size_t blen,
                    char *err)
{
    struct iovec iov[2] = {{(void *)head, hlen}, {(void *)body, blen}};
    struct iovec *v = iov;
    int n = 2;
    while (n > 0) {
        if (v->iov_len == 0) {
            v++;
            n--;
            continue;
        }
        struct msghdr m;
        memset(&m, 0, sizeof m);
        m.msg_iov = v;
        m.msg_iovlen = (size_t)n;
        ssize_t w = sendmsg(c->fd, &m, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (wait_fd(c, POLLOUT, err) < 0) return -1;
                continue;
            }
            return rb_err(err, "send to %s: %s", c->addr, strerror(errno));
        }
        size_t done = (size_t)w;
        while (n > 0 && done >= v->iov_len) {
            done -= v->iov_len;
            v++;
            n--;
        }
        if (n > 0) {
            v->iov_base = (char *)v->iov_base + done;
            v->iov_len -= done;
        }
    }
    return 0;
}

/* Reads more into rb. Returns the byte count, 0 at end of stream, -1 on error. */
static ssize_t conn_fill(conn *c, char *err)
{
    if (c->rs == c->re) c->rs = c->re = 0;
    if (c->re == sizeof c->rb) {
        memmove(c->rb, c->rb + c->rs, c->re - c->rs);
        c->re -= c->rs;
        c->rs = 0;
    }
    for (;;) {
        ssize_t n = recv(c->fd, c->rb + c->re, sizeof c->rb - c->re, 0);
        if (n >= 0) {
            c->re += (size_t)n;
            return n;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (wait_fd(c, POLLIN, err) < 0) return -1;
            continue;
        }
        return rb_err(err, "receive from %s: %s", c->addr, strerror(errno));
    }
}

static int closed_early(conn *c, char *err)
{
    return rb_err(err, "connection closed by %s before the response was complete", c->addr);
}

/* Reads one line ending in LF (CRLF or bare LF) into line, without the ending. */
static int read_line(conn *c, buf *line, char *err)
{
    buf_reset(line);
    for (;;) {
        char *s = c->rb + c->rs;
        size_t avail = c->re - c->rs;
        char *nl = memchr(s, '\n', avail);
        size_t take = nl ? (size_t)(nl - s) + 1 : avail;
        if (buf_append(line, s, take) < 0)
            return rb_err(err, "response line from %s longer than %d bytes", c->addr,
                          LINE_MAX_BYTES);
        c->rs += take;
        if (nl) {
            line->len--;
            if (line->len && line->data[line->len - 1] == '\r') line->len--;
            line->data[line->len] = '\0';
            return 0;
        }
        ssize_t n = conn_fill(c, err);
        if (n < 0) return -1;
        if (n == 0) return closed_early(c, err);
    }
}

/* Moves exactly n bytes into body (whose cap the caller has checked). */
static int read_exact(conn *c, size_t n, buf *body, char *err)
{
    while (n > 0) {
        if (c->rs == c->re) {
            ssize_t got = conn_fill(c, err);
            if (got < 0) return -1;
            if (got == 0) return closed_early(c, err);
        }
        size_t take = c->re - c->rs < n ? c->re - c->rs : n;
        if (buf_append(body, c->rb + c->rs, take) < 0)
            return rb_err(err, "response larger than %zu bytes", body->max);
        c->rs += take;
        n -= take;
    }
    return 0;
}

static int read_to_close(conn *c, buf *body, char *err)
{
    for (;;) {
        if (buf_append(body, c->rb + c->rs, c->re - c->rs) < 0)
            return rb_err(err, "response larger than %zu bytes", body->max);
        c->rs = c->re;
        ssize_t got = conn_fill(c, err);
        if (got < 0) return -1;
        if (got == 0) return 0;
    }
}

/* Copies s into out with anything unprintable as '?', for quoting server text. */
static void sanitize(const char *s, char *out, size_t outlen)
{
    size_t i = 0;
    for (; s[i] && i + 1 < outlen; i++)
        out[i] = ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e) ? '?' : s[i];
    out[i] = '\0';
}

/* "HTTP/1.x SSS[ reason]" -> status, or -1. */
static int parse_status_line(const char *l)
{
    if (strncmp(l, "HTTP/1.", 7) != 0 || l[7] < '0' || l[7] > '9' || l[8] != ' ') return -1;
    const char *p = l + 8;
    while (*p == ' ') p++;
    for (int i = 0; i < 3; i++)
        if (p[i] < '0' || p[i] > '9') return -1;
    if (p[3] != '\0' && p[3] != ' ' && p[3] != '\t') return -1;
    int status = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
    return status >= 100 && status <= 599 ? status : -1;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) s[--n] = '\0';
    return s;
}

typedef struct head_info {
    int status;
    int chunked;      /* Transfer-Encoding ends in chunked */
    int other_te;     /* another transfer coding: body runs to close */
    int have_len;
    uint64_t len;     /* Content-Length */
    char *ctype;      /* malloc'd or NULL */
} head_info;

/* Reads the status line and header block of one response. */
static int read_head(conn *c, buf *line, head_info *h, char *err)
{
    char quoted[64];
    size_t total = 0;
    if (read_line(c, line, err) < 0) return -1;
    h->status = parse_status_line(line->data);
    if (h->status < 0) {
        sanitize(line->data, quoted, sizeof quoted);
        return rb_err(err, "bad HTTP status line from %s: '%s'", c->addr, quoted);
    }
    for (;;) {
        if (read_line(c, line, err) < 0) return -1;
        total += line->len + 2;
        if (total > HEAD_MAX_BYTES)
            return rb_err(err, "response headers from %s larger than %d bytes", c->addr,
                          HEAD_MAX_BYTES);
        if (line->len == 0) return 0;
        char *colon = strchr(line->data, ':');
        /* Folded continuation lines and lines without a colon carry nothing we use. */
        if (line->data[0] == ' ' || line->data[0] == '\t' || !colon) continue;
        *colon = '\0';
        char *name = trim(line->data), *value = trim(colon + 1);
        if (strcasecmp(name, "Content-Length") == 0) {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(value, &end, 10);
            if (value[0] < '0' || value[0] > '9' || *end || errno ||
                (h->have_len && h->len != v)) {
                sanitize(value, quoted, sizeof quoted);
                return rb_err(err, "bad Content-Length from %s: '%s'", c->addr, quoted);
            }
            h->have_len = 1;
            h->len = v;
        } else if (strcasecmp(name, "Transfer-Encoding") == 0) {
            char *last = strrchr(value, ',');
            last = trim(last ? last + 1 : value);
            if (strcasecmp(last, "chunked") == 0) h->chunked = 1;
            else if (strcasecmp(last, "identity") != 0) h->other_te = 1;
        } else if (strcasecmp(name, "Content-Type") == 0) {
            free(h->ctype);
            h->ctype = xstrdup(value);
        }
    }
}

static int read_chunked(conn *c, buf *line, buf *body, char *err)
{
    for (;;) {
        if (read_line(c, line, err) < 0) return -1;
        const char *p = line->data;
        uint64_t size = 0;
        int digits = 0;
        for (;; p++, digits++) {
            int d;
            if (*p >= '0' && *p <= '9') d = *p - '0';
            else if (*p >= 'a' && *p <= 'f') d = *p - 'a' + 10;
            else if (*p >= 'A' && *p <= 'F') d = *p - 'A' + 10;
            else break;
            if (size > (UINT64_MAX >> 4)) return rb_err(err, "response larger than %zu bytes", body->max);
            size = size * 16 + (uint64_t)d;
        }
        while (*p == ' ' || *p == '\t') p++;
        if (!digits || (*p && *p != ';'))
            return rb_err(err, "bad chunk size line from %s", c->addr);
        if (size == 0) break;
        if (size > body->max - body->len) return rb_err(err, "response larger than %zu bytes", body->max);
        if (read_exact(c, (size_t)size, body, err) < 0) return -1;
        if (read_line(c, line, err) < 0) return -1;
        if (line->len != 0) return rb_err(err, "bad chunk ending from %s", c->addr);
    }
    /* Trailer fields, ignored, up to the empty line. */
    for (size_t total = 0;;) {
        if (read_line(c, line, err) < 0) return -1;
        if (line->len == 0) return 0;
        total += line->len + 2;
        if (total > HEAD_MAX_BYTES)
            return rb_err(err, "response trailers from %s larger than %d bytes", c->addr,
                          HEAD_MAX_BYTES);
    }
}

int httpc_request(const char *method, const char *url, const char *token,
                  const char *content_type, const char *body, size_t body_len,
                  int timeout_ms, size_t max_body, httpc_resp *r, char *err)
{
    url_parts u;
    conn *c = NULL;
    buf req, line, rbody;
    head_info h;
    char send_err[RB_ERR_LEN] = "";
    int send_failed, rc = -1;

    memset(r, 0, sizeof *r);
    memset(&h, 0, sizeof h);
    send_failed = 0;
    buf_init(&req, REQ_HEAD_MAX);
    buf_init(&line, LINE_MAX_BYTES);
    buf_init(&rbody, max_body);
    if (url_parse(url, &u, err) < 0) goto out;

    if (!content_type) content_type = "application/json";
    if (!method[0] || strlen(method) > 32 || strspn(method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(method)) {
        rb_err(err, "bad HTTP method '%.32s'", method);
        goto out;
    }
    if (token && !*token) token = NULL; /* empty: no Authorization header */
    if (token && !printable(token, 0x21)) {
        rb_err(err, "token contains characters not allowed in an HTTP header");
        goto out;
    }
    if (body && !printable(content_type, 0x20)) {
        rb_err(err, "content type contains characters not allowed in an HTTP header");
        goto out;
    }
    if (timeout_ms <= 0) {
        rb_err(err, "bad timeout %d ms", timeout_ms);
        goto out;
    }

    buf_printf(&req, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: redbench/" RB_VERSION
                     "\r\nAccept: */*\r\nConnection: close\r\n",
               method, u.target, u.hosthdr);
    if (token) buf_printf(&req, "Authorization: Bearer %s\r\n", token);
    if (body)
        buf_printf(&req, "Content-Type: %s\r\nContent-Length: %zu\r\n", content_type, body_len);
    else if (!strcmp(method, "POST") || !strcmp(method, "PUT") || !strcmp(method, "PATCH"))
        buf_puts(&req, "Content-Length: 0\r\n");
    if (buf_puts(&req, "\r\n") < 0) {
        rb_err(err, "request head for %s larger than %d bytes", u.hostport, REQ_HEAD_MAX);
        goto out;
    }

    c = xmalloc(sizeof *c);
    c->fd = -1;
    c->deadline = now_ns() + (uint64_t)timeout_ms * 1000000ull;
    c->timeout_ms = timeout_ms;
    c->addr = u.hostport;
    c->rs = c->re = 0;
    if (conn_open(c, &u, err) < 0) goto out;

    /* A server may answer (say 413) and close before taking the whole body:
     * then its response is still worth reading, and the send error is
     * reported only if there is none. */
    send_failed = send_all(c, req.data, req.len, body, body ? body_len : 0, send_err) < 0;
    if (send_failed && now_ns() >= c->deadline) {
        memcpy(err, send_err, RB_ERR_LEN);
        goto out;
    }

    for (int interim = 0;; interim++) {
        free(h.ctype);
        memset(&h, 0, sizeof h);
        if (read_head(c, &line, &h, err) < 0) goto recv_failed;
        if (h.status >= 200 || h.status == 101) break;
        if (interim == MAX_INTERIM) {
            rb_err(err, "more than %d interim responses from %s", MAX_INTERIM, u.hostport);
            goto out;
        }
    }

    if (!strcmp(method, "HEAD") || h.status < 200 || h.status == 204 || h.status == 304) {
        /* no body */
    } else if (h.chunked) {
        if (read_chunked(c, &line, &rbody, err) < 0) goto recv_failed;
    } else if (h.have_len && !h.other_te) {
        if (h.len > max_body) {
            rb_err(err, "response larger than %zu bytes", max_body);
            goto out;
        }
        if (read_exact(c, (size_t)h.len, &rbody, err) < 0) goto recv_failed;
    } else if (read_to_close(c, &rbody, err) < 0) {
        goto recv_failed;
    }

    r->status = h.status;
    r->body_len = rbody.len;
    r->body = buf_take(&rbody);
    r->content_type = h.ctype ? h.ctype : xstrdup("");
    h.ctype = NULL;
    rc = 0;
    goto out;

recv_failed:
    if (send_failed) memcpy(err, send_err, RB_ERR_LEN);
out:
    if (c) {
        if (c->fd >= 0) close(c->fd);
        free(c);
    }
    free(h.ctype);
    buf_cleanup(&req);
    buf_cleanup(&line);
    buf_cleanup(&rbody);
    url_cleanup(&u);
    return rc;
}
