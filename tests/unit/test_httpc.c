/* test_httpc.c -- httpc against a canned HTTP server running in a thread on loopback. */
#include "httpc.h"
#include "testhelp.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SRV_MAX_HEAD 65536
#define SRV_MAX_BODY (1 << 20)
#define BIG_LEN 200000
#define TIMEOUT_MS 2000 /* for requests that should succeed */

/* What the server saw in the last request, and how to reach it. */
typedef struct srv {
    int lfd, port, family;
    pthread_t th;
    atomic_int stop;
    pthread_mutex_t mu;
    int nreq;
    char method[16], path[1024], auth[256], host[300], ua[64], conn[32], ctype[128], clen[32];
    char *body;
    size_t body_len;
} srv;

static srv s4, s6;
static int have_v6;

static void msleep(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void send_str(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return; /* client gone: fine for the oversize tests */
        p += w;
        n -= (size_t)w;
    }
}

static void send_s(int fd, const char *s)
{
    send_str(fd, s, strlen(s));
}

/* Waits (at most 3 s) for the client to close its end. */
static void wait_close(int fd)
{
    char tmp[4096];
    uint64_t end = now_ns() + 3000000000ull;
    while (now_ns() < end) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0) continue;
        if (recv(fd, tmp, sizeof tmp, 0) <= 0) return;
    }
}

/* Copies the value of header name (case-insensitive) from a request head. */
static void get_header(const char *head, const char *name, char *out, size_t outlen)
{
    size_t nlen = strlen(name);
    out[0] = '\0';
    for (const char *l = strstr(head, "\r\n"); l && l[2]; l = strstr(l + 2, "\r\n")) {
        const char *p = l + 2;
        if (strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
            p += nlen + 1;
            while (*p == ' ') p++;
            size_t n = strcspn(p, "\r");
            if (n >= outlen) n = outlen - 1;
            memcpy(out, p, n);
            out[n] = '\0';
            return;
        }
    }
}

static void reply_big(int fd, const char *path)
{
    char *big = xmalloc(BIG_LEN);
    memset(big, 'x', BIG_LEN);
    if (!strcmp(path, "/big")) {
        send_s(fd, "HTTP/1.1 200 OK\r\nContent-Length: 200000\r\n\r\n");
        send_str(fd, big, BIG_LEN);
    } else if (!strcmp(path, "/bigchunked")) {
        send_s(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        for (int i = 0; i < BIG_LEN / 10000; i++) {
            send_s(fd, "2710\r\n");
            send_str(fd, big, 10000);
            send_s(fd, "\r\n");
        }
        send_s(fd, "0\r\n\r\n");
    } else {
        send_s(fd, "HTTP/1.1 200 OK\r\n\r\n");
        send_str(fd, big, BIG_LEN);
    }
    free(big);
}

static void handle(srv *s, int fd)
{
    char *head = xmalloc(SRV_MAX_HEAD + 1);
    size_t hlen = 0;
    char *end = NULL;
    while (!end && hlen < SRV_MAX_HEAD) {
        ssize_t n = recv(fd, head + hlen, SRV_MAX_HEAD - hlen, 0);
        if (n <= 0) goto out;
        hlen += (size_t)n;
        head[hlen] = '\0';
        end = strstr(head, "\r\n\r\n");
    }
    if (!end) goto out;
    end += 4;

    char method[16] = "", path[1024] = "", clen[32];
    sscanf(head, "%15s %1023s", method, path);
    get_header(head, "Content-Length", clen, sizeof clen);
    size_t want = clen[0] ? strtoul(clen, NULL, 10) : 0;
    if (want > SRV_MAX_BODY) goto out;
    char *body = xmalloc(want + 1);
    size_t have = hlen - (size_t)(end - head);
    if (have > want) have = want;
    memcpy(body, end, have);
    while (have < want) {
        ssize_t n = recv(fd, body + have, want - have, 0);
        if (n <= 0) break;
        have += (size_t)n;
    }

    pthread_mutex_lock(&s->mu);
    s->nreq++;
    snprintf(s->method, sizeof s->method, "%s", method);
    snprintf(s->path, sizeof s->path, "%s", path);
    snprintf(s->clen, sizeof s->clen, "%s", clen);
    get_header(head, "Authorization", s->auth, sizeof s->auth);
    get_header(head, "Host", s->host, sizeof s->host);
    get_header(head, "User-Agent", s->ua, sizeof s->ua);
    get_header(head, "Connection", s->conn, sizeof s->conn);
    get_header(head, "Content-Type", s->ctype, sizeof s->ctype);
    free(s->body);
    s->body = body;
    s->body_len = have;
    pthread_mutex_unlock(&s->mu);

    int is_head = !strcmp(method, "HEAD");
    if (!strcmp(path, "/cl")) {
        send_s(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n");
        if (is_head) wait_close(fd);
        else send_s(fd, "hello");
    } else if (!strcmp(path, "/chunked")) {
        /* Pieces with pauses so the client sees split chunk lines and data. */
        static const char *pieces[] = {
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\nContent-Type: text/plain\r\n\r\n",
            "5;ext=1\r\nhel", "lo\r\n", "7\r\n, world\r\n", "1a\r\nabcdefghijklmnopqrstuvwxyz\r\n",
            "0\r\nX-Trailer: y\r\n\r\n"};
        for (size_t i = 0; i < sizeof pieces / sizeof pieces[0]; i++) {
            send_s(fd, pieces[i]);
            msleep(2);
        }
    } else if (!strcmp(path, "/close")) {
        send_s(fd, "HTTP/1.0 200 OK\r\ncontent-type: application/json\r\n\r\n{\"a\":1}");
    } else if (!strcmp(path, "/slowhead")) {
        wait_close(fd);
    } else if (!strcmp(path, "/slowbody")) {
        send_s(fd, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhe");
        wait_close(fd);
    } else if (!strncmp(path, "/big", 4)) {
        reply_big(fd, path);
    } else if (!strcmp(path, "/404")) {
        send_s(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found");
    } else if (!strcmp(path, "/echo")) {
        char h[128];
        snprintf(h, sizeof h,
                 "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                 "Content-Length: %zu\r\n\r\n", have);
        send_s(fd, h);
        send_str(fd, body, have);
    } else if (!strcmp(path, "/interim")) {
        send_s(fd, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok");
    } else if (!strcmp(path, "/garbage")) {
        send_s(fd, "SSH-2.0-OpenSSH_9.2\r\n\r\n");
    } else if (!strcmp(path, "/short")) {
        send_s(fd, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    } else if (!strcmp(path, "/shortchunk")) {
        send_s(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc");
    } else if (!strcmp(path, "/lf")) {
        send_s(fd, "HTTP/1.1 200 OK\ncontent-LENGTH:  2 \nX-Folded: a\n  b\n\nok");
    } else if (!strcmp(path, "/204")) {
        send_s(fd, "HTTP/1.1 204 No Content\r\nContent-Type: text/plain\r\n\r\n");
        wait_close(fd);
    } else if (!strcmp(path, "/badlen")) {
        send_s(fd, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!");
    } else {
        char h[1200];
        snprintf(h, sizeof h, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n%s", strlen(path),
                 path);
        send_s(fd, h);
    }
out:
    free(head);
}

static void *srv_main(void *arg)
{
    srv *s = arg;
    uint64_t end = now_ns() + 120000000000ull; /* 2 min: the whole test takes seconds */
    for (int n = 0; n < 1000 && !atomic_load(&s->stop) && now_ns() < end;) {
        struct pollfd p = {.fd = s->lfd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0) continue;
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0) continue;
        n++;
        struct timeval tv = {3, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        handle(s, fd);
        close(fd);
    }
    return NULL;
}

/* Listens on 127.0.0.1:0 or [::1]:0; -1 when the family is unavailable. */
static int srv_start(srv *s, int family)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(s, 0, sizeof *s);
    memset(&ss, 0, sizeof ss);
    s->family = family;
    pthread_mutex_init(&s->mu, NULL);
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sl = sizeof *a;
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        sl = sizeof *a;
    }
    s->lfd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->lfd < 0) return -1;
    if (bind(s->lfd, (struct sockaddr *)&ss, sl) < 0 || listen(s->lfd, 16) < 0 ||
        getsockname(s->lfd, (struct sockaddr *)&ss, &sl) < 0) {
        close(s->lfd);
        s->lfd = -1;
        return -1;
    }
    s->port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                      : ((struct sockaddr_in6 *)&ss)->sin6_port);
    atomic_init(&s->stop, 0);
    if (pthread_create(&s->th, NULL, srv_main, s) != 0) {
        close(s->lfd);
        s->lfd = -1;
        return -1;
    }
    return 0;
}

static void srv_stop(srv *s)
{
    if (s->lfd < 0) return;
    atomic_store(&s->stop, 1);
    pthread_join(s->th, NULL);
    close(s->lfd);
    s->lfd = -1;
    free(s->body);
    s->body = NULL;
    pthread_mutex_destroy(&s->mu);
}

static char *url4(const char *path)
{
    static char u[256];
    snprintf(u, sizeof u, "http://127.0.0.1:%d%s", s4.port, path);
    return u;
}

static int get(const char *path, size_t max_body, httpc_resp *r, char *err)
{
    return httpc_request("GET", url4(path), NULL, NULL, NULL, 0, TIMEOUT_MS, max_body, r, err);
}

static void test_content_length_and_headers(void)
{
    httpc_resp r;
    char err[RB_ERR_LEN] = "", host[64];
    int rc = httpc_request("GET", url4("/cl"), "tok-abc.123", NULL, NULL, 0, TIMEOUT_MS, 1024,
                           &r, err);
    CHECK(rc == 0);
    CHECK(r.status == 200);
    CHECK_STREQ(r.body, "hello");
    CHECK(r.body_len == 5);
    CHECK_STREQ(r.content_type, "text/plain");
    pthread_mutex_lock(&s4.mu);
    snprintf(host, sizeof host, "127.0.0.1:%d", s4.port);
    CHECK_STREQ(s4.method, "GET");
    CHECK_STREQ(s4.path, "/cl");
    CHECK_STREQ(s4.auth, "Bearer tok-abc.123");
    CHECK_STREQ(s4.host, host);
    CHECK_STREQ(s4.ua, "redbench/" RB_VERSION);
    CHECK_STREQ(s4.conn, "close");
    CHECK_STREQ(s4.clen, "");
    CHECK_STREQ(s4.ctype, "");
    pthread_mutex_unlock(&s4.mu);
    httpc_resp_cleanup(&r);
    CHECK(r.body == NULL && r.content_type == NULL);

    /* No token: no Authorization header at all. */
    rc = get("/cl", 1024, &r, err);
    CHECK(rc == 0);
    pthread_mutex_lock(&s4.mu);
    CHECK_STREQ(s4.auth, "");
    pthread_mutex_unlock(&s4.mu);
    httpc_resp_cleanup(&r);

    /* An empty token (an empty $REDBENCH_TOKEN) is no token either (after a
     * request with one, so that the header recorded last is really this one's). */
    rc = httpc_request("GET", url4("/cl"), "t1", NULL, NULL, 0, TIMEOUT_MS, 1024, &r, err);
    CHECK(rc == 0);
    httpc_resp_cleanup(&r);
    rc = httpc_request("GET", url4("/cl"), "", NULL, NULL, 0, TIMEOUT_MS, 1024, &r, err);
    CHECK(rc == 0);
    pthread_mutex_lock(&s4.mu);
    CHECK_STREQ(s4.auth, "");
    pthread_mutex_unlock(&s4.mu);
    httpc_resp_cleanup(&r);
}

static void test_chunked(void)
{
    httpc_resp r;
    char err[RB_ERR_LEN] = "";
    CHECK(get("/chunked", 1024, &r, err) == 0);
    CHECK(r.status == 200);
    CHECK_STREQ(r.body, "hello, worldabcdefghijklmnopqrstuvwxyz");
    CHECK(r.body_len == 38);
    CHECK_STREQ(r.content_type, "text/plain");
    httpc_resp_cleanup(&r);
    /* Exactly at the cap is fine, one byte less is not. */
    CHECK(get("/chunked", 38, &r, err) == 0);
    httpc_resp_cleanup(&r);
    CHECK(get("/chunked", 37, &r, err) == -1);
    CHECK_STREQ(err, "response larger than 37 bytes");
}

static void test_close_delimited(void)
{
    httpc_resp r;
    char err[RB_ERR_LEN] = "";
    CHECK(get("/close", 1024, &r, err) == 0);
    CHECK(r.status == 200);
    CHECK_STREQ(r.body, "{\"a\":1}");
    CHECK(r.body_len == 7);
    CHECK_STREQ(r.content_type, "application/json");
    httpc_resp_cleanup(&r);
}

static void test_404(void)
{
    httpc_resp r;
    char err[RB_ERR_LEN] = "";
    CHECK(get("/404", 1024, &r, err) == 0);
    CHECK(r.status == 404);
    CHECK_STREQ(r.body, "not found");
    CHECK_STREQ(r.content_type, "");
    httpc_resp_cleanup(&r);
}

static void test_post_100k(void)
{
    size_t n = 100 * 1024;
    char *body = xmalloc(n);
    for (size_t i = 0; i < n; i++) body[i] = (char)((i * 7) % 251); /* includes NULs */
    httpc_resp r;
    char err[RB_ERR_LEN] = "";
    int rc = httpc_request("POST", url4("/echo"), "t", NULL, body, n, TIMEOUT_MS, 1 << 20, &r, err);
    CHECK(rc == 0);
    if (rc == 0) {
        CHECK(r.status == 200);
        CHECK(r.body_len == n && memcmp(r.body, body, n) == 0);
        CHECK_STREQ(r.content_type, "application/octet-stream");
    }
    pthread_mutex_lock(&s4.mu);
    CHECK_STREQ(s4.method, "POST");
    CHECK_STREQ(s4.clen, "102400");
    CHECK_STREQ(s4.ctype, "application/json");
    CHECK(s4.body_len == n && memcmp(s4.body, body, n) == 0);
    pthread_mutex_unlock(&s4.mu);
    httpc_resp_cleanup(&r);
    free(body);

    /* Explicit content type; and a POST without a body says Content-Length: 0. */
    rc = httpc_request("PUT", url4("/echo"), NULL, "text/plain; charset=utf-8", "hi", 2,
                       TIMEOUT_MS, 1024, &r, err);
    CHECK(rc == 0);
    CHECK_STREQ(r.body, "hi");
    pthread_mutex_lock(&s4.mu);
    CHECK_STREQ(s4.method, "PUT");
    CHECK_STREQ(s4.ctype, "text/plain; charset=utf-8");
    pthread_mutex_unlock(&s4.mu);
    httpc_resp_cleanup(&r);
    rc = httpc_request("POST", url4("/echo"), NULL, NULL, NULL, 0, TIMEOUT_MS, 1024, &r, err);
    CHECK(rc == 0);
    CHECK(r.body_len == 0 && r.body && r.body[0] == '\0');
    pthread_mutex_lock(&s4.mu);
    CHECK_STREQ(s4.clen, "0");
    CHECK_STREQ(s4.ctype, "");
    pthread_mutex_unlock(&s4.mu);
    httpc_resp_cleanup(&r);
}

static void test_timeout(void)
{
    httpc_resp r;
    char err[RB_ERR_LEN] = "", want[128];
    snprintf(want, sizeof want, "timeout after 300 ms waiting for 127.0.0.1:%d", s4.port);
    const char *paths[] = {"/slowhead", "/slowbody"};
    for (int i = 0; i < 2; i++) {
        uint64_t t0 = now_ns();
        int rc = httpc_request("GET", url4(paths[i]), "SECRET-TOKEN", NULL, NULL, 0, 300, 1024,
                               &r, err);
        double ms = (double)(now_ns() - t0) / 1e6;
        CHECK(rc == -1);
        CHECK_STREQ(err, want);
        /* Under 2.5 s: well before the server's own 3 s wait_close would end it. */
        CHECK(ms >= 295 && ms < 2500);
        CHECK(r.body == NULL && r.status == 0);
        CHECK(strstr(err, "SECRET") == NULL);
    }
}

static void test_oversized(void)
{
    httpc_resp r;
    char err[RB_ERR_LEN] = "";
    const char *paths[] = {"/big", "/bigchunked", "/bigclose"};
    for (int i = 0; i < 3; i++) {
        err[0] = '\0';
        CHECK(get(paths[i], 100000, &r, err) == -1);
        CHECK_STREQ(err, "response larger than 100000 bytes");
        CHECK(r.body == NULL);
        /* With room for it, the same reply arrives whole. */
        CHECK(get(paths[i], BIG_LEN, &r, err) == 0);
        CHECK(r.body_len == BIG_LEN && r.body[0] == 'x' && r.body[BIG_LEN - 1] == 'x');
        httpc_resp_cleanup(&r);
    }
    CHECK(get("/cl", 5, &r, err) == 0);
    httpc_resp_cleanup(&r);
    CHECK(get("/cl", 4, &r, err) == -1);
    CHECK_STREQ(err, "response larger than 4 bytes");
}

static void test_refused(void)
{
    struct sockaddr_in a;
    socklen_t sl = sizeof a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    CHECK(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
    CHECK(getsockname(fd, (struct sockaddr *)&a, &sl) == 0);
    int port = ntohs(a.sin_port);
    close(fd);

    char url[64], want[96], err[RB_ERR_LEN] = "";
    httpc_resp r;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/x", port);
    snprintf(want, sizeof want, "connect 127.0.0.1:%d: Connection refused", port);
    CHECK(httpc_request("GET", url, "SECRET-TOKEN", NULL, NULL, 0, 1000, 1024, &r, err) == -1);
    CHECK_STREQ(err, want);
    CHECK(strstr(err, "SECRET") == NULL);
}

static void test_bad_urls(void)
{
    static const char *bad[] = {
        "", "ftp://h/", "http://", "http:///x", "http://:80/", "http://h:0/",
        "http://h:99999/", "http://h:12ab/", "http://h:/", "http://[::1/", "http://[::1]x/",
        "http://[]:80/", "http://u:p@h/", "http://h o/", "http://h\r\nX: y/", "127.0.0.1:80/x",
        "http://a:b:80/", "http://h%41/", "http://[::1%25lo]:80/", "//h/",
    };
    httpc_resp r;
    char err[RB_ERR_LEN];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        int rc = httpc_request("GET", bad[i], NULL, NULL, NULL, 0, 200, 1024, &r, err);
        CHECK(rc == -1);
        if (strncmp(err, "bad URL", 7) != 0)
            fprintf(stderr, "  url #%zu '%s' gave: %s\n", i, bad[i], err);
        CHECK(strncmp(err, "bad URL", 7) == 0);
    }
    CHECK(httpc_request("GET", "https://example.com/", NULL, NULL, NULL, 0, 200, 1024, &r,
                        err) == -1);
    CHECK(strstr(err, "https is not supported") != NULL);
    CHECK(httpc_request("GET", "HTTPS://127.0.0.1:1/", NULL, NULL, NULL, 0, 200, 1024, &r,
                        err) == -1);
    CHECK(strstr(err, "https is not supported") != NULL);
}

static void test_bad_args(void)
{
    httpc_resp r;
    char err[RB_ERR_LEN];
    CHECK(httpc_request("GE T", url4("/cl"), NULL, NULL, NULL, 0, 200, 1024, &r, err) == -1);
    CHECK(strstr(err, "bad HTTP method") != NULL);
    CHECK(httpc_request("GET", url4("/cl"), "SECRET\r\nX-Evil: 1", NULL, NULL, 0, 200, 1024, &r,
                        err) == -1);
    CHECK(strstr(err, "token contains") != NULL);
    CHECK(strstr(err, "SECRET") == NULL);
    CHECK(httpc_request("POST", url4("/cl"), NULL, "a\nb", "x", 1, 200, 1024, &r, err) == -1);
    CHECK(strstr(err, "content type") != NULL);
    CHECK(httpc_request("GET", url4("/cl"), NULL, NULL, NULL, 0, 0, 1024, &r, err) == -1);
    CHECK(strstr(err, "bad timeout") != NULL);
}

static void test_url_forms(void)
{
    httpc_resp r;
    char err[RB_ERR_LEN] = "", url[128], host[64];
    struct { const char *suffix, *path; } cases[] = {
        {"", "/"}, {"?x=1", "/?x=1"}, {"/a/b?c=d#frag", "/a/b?c=d"}, {"#f", "/"}, {"/up", "/up"},
    };
    snprintf(host, sizeof host, "127.0.0.1:%d", s4.port);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(url, sizeof url, "%s://127.0.0.1:%d%s", i == 4 ? "HTTP" : "http", s4.port,
                 cases[i].suffix);
        int rc = httpc_request("GET", url, NULL, NULL, NULL, 0, TIMEOUT_MS, 1024, &r, err);
        CHECK(rc == 0);
        CHECK_STREQ(r.body, cases[i].path);
        pthread_mutex_lock(&s4.mu);
        CHECK_STREQ(s4.path, cases[i].path);
        CHECK_STREQ(s4.host, host);
        pthread_mutex_unlock(&s4.mu);
        httpc_resp_cleanup(&r);
    }
    /* A name that resolves (possibly to ::1 first, then 127.0.0.1). */
    snprintf(url, sizeof url, "http://localhost:%d/cl", s4.port);
    CHECK(httpc_request("GET", url, NULL, NULL, NULL, 0, TIMEOUT_MS, 1024, &r, err) == 0);
    CHECK_STREQ(r.body, "hello");
    httpc_resp_cleanup(&r);
    /* No port means 80 (whatever answers there on loopback). */
    if (httpc_request("GET", "http://127.0.0.1/x", NULL, NULL, NULL, 0, 500, 1024, &r, err) == 0)
        httpc_resp_cleanup(&r);
    else
        CHECK(strstr(err, "127.0.0.1:80") != NULL);
}

static void test_odd_responses(void)
{
    httpc_resp r;
    char err[RB_ERR_LEN] = "";
    CHECK(get("/interim", 1024, &r, err) == 0);
    CHECK(r.status == 201);
    CHECK_STREQ(r.body, "ok");
    httpc_resp_cleanup(&r);

    CHECK(get("/lf", 1024, &r, err) == 0);
    CHECK(r.status == 200);
    CHECK_STREQ(r.body, "ok");
    httpc_resp_cleanup(&r);

    /* No body after 204 or for HEAD, though the server keeps the connection open. */
    uint64_t t0 = now_ns();
    CHECK(get("/204", 1024, &r, err) == 0);
    CHECK(r.status == 204 && r.body_len == 0);
    CHECK_STREQ(r.content_type, "text/plain");
    httpc_resp_cleanup(&r);
    CHECK(httpc_request("HEAD", url4("/cl"), NULL, NULL, NULL, 0, TIMEOUT_MS, 1024, &r, err) == 0);
    CHECK(r.status == 200 && r.body_len == 0);
    httpc_resp_cleanup(&r);
    /* Not waiting for the close the server holds off for 3 s (a loaded machine
     * may take a while for the two requests themselves). */
    CHECK(now_ns() - t0 < 2500000000ull);

    char want[128];
    CHECK(get("/garbage", 1024, &r, err) == -1);
    snprintf(want, sizeof want, "bad HTTP status line from 127.0.0.1:%d: 'SSH-2.0-OpenSSH_9.2'",
             s4.port);
    CHECK_STREQ(err, want);
    snprintf(want, sizeof want,
             "connection closed by 127.0.0.1:%d before the response was complete", s4.port);
    CHECK(get("/short", 1024, &r, err) == -1);
    CHECK_STREQ(err, want);
    CHECK(get("/shortchunk", 1024, &r, err) == -1);
    CHECK_STREQ(err, want);
    CHECK(get("/badlen", 1024, &r, err) == -1);
    CHECK(strstr(err, "bad Content-Length") != NULL);
}

static void test_ipv6(void)
{
    if (!have_v6) {
        fprintf(stderr, "  # skipped: no IPv6 loopback here\n");
        return;
    }
    httpc_resp r;
    char err[RB_ERR_LEN] = "", url[64], host[64];
    snprintf(url, sizeof url, "http://[::1]:%d/cl", s6.port);
    snprintf(host, sizeof host, "[::1]:%d", s6.port);
    int rc = httpc_request("GET", url, "v6tok", NULL, NULL, 0, TIMEOUT_MS, 1024, &r, err);
    CHECK(rc == 0);
    if (rc) fprintf(stderr, "  err: %s\n", err);
    CHECK_STREQ(r.body, "hello");
    pthread_mutex_lock(&s6.mu);
    CHECK_STREQ(s6.host, host);
    CHECK_STREQ(s6.auth, "Bearer v6tok");
    pthread_mutex_unlock(&s6.mu);
    httpc_resp_cleanup(&r);
}

int main(void)
{
    if (srv_start(&s4, AF_INET) < 0) {
        fprintf(stderr, "cannot listen on 127.0.0.1\n");
        return 1;
    }
    have_v6 = srv_start(&s6, AF_INET6) == 0;
    RUN(test_content_length_and_headers);
    RUN(test_chunked);
    RUN(test_close_delimited);
    RUN(test_404);
    RUN(test_post_100k);
    RUN(test_timeout);
    RUN(test_oversized);
    RUN(test_refused);
    RUN(test_bad_urls);
    RUN(test_bad_args);
    RUN(test_url_forms);
    RUN(test_odd_responses);
    RUN(test_ipv6);
    srv_stop(&s4);
    if (have_v6) srv_stop(&s6);
    return TH_DONE();
}
