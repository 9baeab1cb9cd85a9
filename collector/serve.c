/* serve.c -- `redbench serve`: the libmicrohttpd daemon, routing, auth, body
 * limits and the response helpers every handler uses. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "auth.h"
#include "collector.h"
#include "pagecache.h"
#include "commands.h"
#include "util.h"

#ifndef RB_WEBDIR
#define RB_WEBDIR "web"
#endif

typedef enum MHD_Result (*handler_fn)(const struct request *);

enum route { R_HEALTH, R_METRICS, R_PAGE_INDEX, R_PAGE_RUN, R_RUNS_POST, R_RUNS_LIST,
             R_RUN_ANALYSIS, R_RUN_GET, R_PRICES_GET, R_PRICES_POST, R_QUERY, R_VERDICT_TRIAGE,
             R_SERIES_NOISY, R_BENCH_START, R_BENCH_STATUS, R_BENCH_RESULTS, R_TASK_LEASE,
             R_TASK_HEARTBEAT, R_TASK_RESULT, R_SCHED_POST, R_SCHED_LIST, R_SCHED_DELETE,
             R_STATIC, R_PAGE_TRENDS, R_API_SERIES,
             R_API_REPORT,
             R_PAGE_MODES, R_PAGE_COST, R_PAGE_BENCHES, R_PAGE_BENCH,
             R_PAGE_SQL, R_PAGE_SQL_CSV, R_PAGE_SQL_POST,
             R_PAGE_COMPARE, R_PAGE_TRIAGE, R_PAGE_LOGIN, R_PAGE_LOGIN_POST, R_PAGE_LOGOUT, R__MAX };

#define OPEN (-1) /* no token ever: health checks and Prometheus scrapes */

/* Patterns: '*' matches one non-empty path segment, captured as the param.
 * role: what the bearer token must grant (collector/auth.h); ROLE_READ routes
 * are open to everyone under --public-read. */
static const struct {
    const char *method;
    const char *pattern;
    int role;
    handler_fn fn;
} routes[R__MAX] = {
    [R_HEALTH] = {"GET", "/healthz", OPEN, api_health},
    [R_METRICS] = {"GET", "/metrics", OPEN, api_metrics},
    [R_PAGE_INDEX] = {"GET", "/", ROLE_READ, page_index},
    [R_PAGE_RUN] = {"GET", "/runs/*", ROLE_READ, page_run},
    [R_RUNS_POST] = {"POST", "/api/v1/runs", ROLE_INGEST, api_runs_post},
    [R_RUNS_LIST] = {"GET", "/api/v1/runs", ROLE_READ, api_runs_list},
    [R_RUN_ANALYSIS] = {"GET", "/api/v1/runs/*/analysis", ROLE_READ, api_run_analysis},
    [R_RUN_GET] = {"GET", "/api/v1/runs/*", ROLE_READ, api_run_get},
    [R_PRICES_GET] = {"GET", "/api/v1/prices", ROLE_READ, api_prices_get},
    [R_PRICES_POST] = {"POST", "/api/v1/prices", ROLE_ADMIN, api_prices_post},
    [R_QUERY] = {"POST", "/api/v1/query", ROLE_QUERY, api_query},
    [R_VERDICT_TRIAGE] = {"POST", "/api/v1/verdicts/*/triage", ROLE_ADMIN, api_verdict_triage},
    [R_SERIES_NOISY] = {"GET", "/api/v1/series/noisy", ROLE_READ, api_series_noisy},
    [R_BENCH_START] = {"POST", "/benchmark/start", ROLE_INGEST, api_benchmark_start},
    [R_BENCH_STATUS] = {"GET", "/benchmark/status/*", ROLE_READ, api_benchmark_status},
    [R_BENCH_RESULTS] = {"GET", "/benchmark/results/*", ROLE_READ, api_benchmark_results},
    [R_TASK_LEASE] = {"POST", "/api/v1/tasks/lease", ROLE_INGEST, api_task_lease},
    [R_TASK_HEARTBEAT] = {"POST", "/api/v1/tasks/*/heartbeat", ROLE_INGEST, api_task_heartbeat},
    [R_TASK_RESULT] = {"POST", "/api/v1/tasks/*/result", ROLE_INGEST, api_task_result},
    [R_SCHED_POST] = {"POST", "/api/v1/schedules", ROLE_ADMIN, api_schedules_post},
    [R_SCHED_LIST] = {"GET", "/api/v1/schedules", ROLE_READ, api_schedules_list},
    [R_SCHED_DELETE] = {"DELETE", "/api/v1/schedules/*", ROLE_ADMIN, api_schedule_delete},
    [R_STATIC] = {"GET", "/static/*", OPEN, page_static}, /* no secrets; the open /login page uses them */
    [R_PAGE_TRENDS] = {"GET", "/trends", ROLE_READ, page_trends},
    [R_API_SERIES] = {"GET", "/api/v1/series", ROLE_READ, api_series},
    [R_API_REPORT] = {"GET", "/api/v1/report", ROLE_READ, api_report}, /* text/markdown */
    [R_PAGE_MODES] = {"GET", "/modes", ROLE_READ, page_modes},
    [R_PAGE_COST] = {"GET", "/cost", ROLE_READ, page_cost},
    [R_PAGE_BENCHES] = {"GET", "/benchmarks", ROLE_READ, page_benchmarks},
    [R_PAGE_BENCH] = {"GET", "/benchmarks/*", ROLE_READ, page_benchmark},
    [R_PAGE_SQL] = {"GET", "/sql", ROLE_READ, page_sql}, /* runs queries only for the query role */
    [R_PAGE_SQL_CSV] = {"GET", "/sql.csv", ROLE_QUERY, page_sql_csv},
    [R_PAGE_SQL_POST] = {"POST", "/sql", ROLE_READ, page_sql_post}, /* long SQL as a form body */
    [R_PAGE_COMPARE] = {"GET", "/compare", ROLE_READ, page_compare},
    /* Form posts: the handlers also refuse cross-site requests (page_same_origin). */
    [R_PAGE_TRIAGE] = {"POST", "/verdicts/*/triage", ROLE_ADMIN, page_triage_post},
    [R_PAGE_LOGIN] = {"GET", "/login", OPEN, page_login},
    [R_PAGE_LOGIN_POST] = {"POST", "/login", OPEN, page_login_post},
    [R_PAGE_LOGOUT] = {"POST", "/logout", OPEN, page_logout_post},
};

/* Per-connection state across the access handler's calls. */
struct conn_state {
    int route;              /* -1: answered early (401/404/405/413) */
    int mroute;             /* the matched route for metrics, -1 none (ops_api.c) */
    uint64_t t0;            /* now_ns() at arrival, for metrics */
    buf body;
    int toobig;             /* the body passed the cap: answer 413 at its end */
    size_t discarded;       /* body bytes dropped after the cap, bytes */
    char param[128];
    char method[16];        /* for the access log */
    char path[256];         /* the URL path, escaped for the access log (no query string) */
    int role;               /* the token's role once looked up (-1 none), -2 not yet */
};

/* The answer of the request this thread is handling, to keep in the page
 * cache when it is 200: set around a cacheable route's handler (dispatch). */
static _Thread_local struct {
    pagecache *pc;
    const char *key;
    uint64_t gen;
} capture;

/* Queues body (len bytes, kind's headers) as the answer; MHD copies it. */
static enum MHD_Result queue_body(struct MHD_Connection *c, unsigned status, enum pagecache_kind kind,
                                  const char *body, size_t len, const char *cache_state)
{
    if (capture.pc && status == 200) pagecache_put(capture.pc, capture.key, capture.gen, body, len, kind);
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (kind == PC_JSON) {
        MHD_add_response_header(r, "Content-Type", "application/json");
        MHD_add_response_header(r, "Cache-Control", "no-store");
    } else {
        MHD_add_response_header(r, "Content-Type", "text/html; charset=utf-8");
        MHD_add_response_header(r, "Content-Security-Policy",
                                "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:");
        MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    }
    if (cache_state) MHD_add_response_header(r, "X-Redbench-Cache", cache_state);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

enum MHD_Result respond_json(struct MHD_Connection *c, unsigned status, cJSON *j)
{
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!s) abort();
    enum MHD_Result ret = queue_body(c, status, PC_JSON, s, strlen(s), capture.pc ? "miss" : NULL);
    cJSON_free(s);
    return ret;
}

enum MHD_Result respond_error(struct MHD_Connection *c, unsigned status, const char *fmt, ...)
{
    char msg[RB_ERR_LEN + 128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "error", msg);
    return respond_json(c, status, j);
}

enum MHD_Result respond_html(struct MHD_Connection *c, unsigned status, char *html, size_t len)
{
    enum MHD_Result ret = queue_body(c, status, PC_HTML, html, len, capture.pc ? "miss" : NULL);
    free(html);
    return ret;
}

const char *query_arg(const struct request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

/* Matches path against pattern; on a match copies the '*' segment to param. */
static int route_match(const char *pattern, const char *path, char *param, size_t plen)
{
    param[0] = '\0';
    while (*pattern && *path) {
        if (*pattern == '*') {
            size_t n = strcspn(path, "/");
            if (n == 0 || n >= plen) return 0;
            memcpy(param, path, n);
            param[n] = '\0';
            path += n;
            pattern++;
        } else if (*pattern++ != *path++) {
            return 0;
        }
    }
    return *pattern == '\0' && *path == '\0';
}

/* The role of the connection's token, -1 if it has none or an invalid one.
 * The token comes from "Authorization: Bearer T" or, for browsers, the cookie
 * redbench_token. *cache (-2: not looked up yet) keeps the answer for the
 * rest of the request: pages ask several times. */
static int token_role(struct MHD_Connection *c, const struct collector *col, int *cache)
{
    if (*cache != -2) return *cache;
    const char *tok = NULL;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (h && strncasecmp(h, "Bearer ", 7) == 0) tok = h + 7;
    if (!tok) tok = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, "redbench_token");
    if (!tok || !*tok) return -1;
    sqlite3 *db = store_reader(col->st);
    int have = auth_token_role(db, col->token, tok);
    store_reader_release(col->st, db);
    return *cache = have;
}

/* Whether the request may use a route needing `need`: 0 yes, 401 without a
 * valid token, 403 with a token that lacks the role. */
static unsigned access_denied(struct MHD_Connection *c, const struct collector *col, int need, int *cache)
{
    if (need == OPEN || (need == ROLE_READ && col->public_read)) return 0;
    int have = token_role(c, col, cache);
    if (have < 0) return 401;
    return role_grants(have, (enum role)need) ? 0 : 403;
}

/* 1 if a GET of an HTML page (not the API, not the orchestrator's paths) asks
 * for HTML: a browser, which a login form helps more than a 401. */
static int browser_page(struct MHD_Connection *c, const char *method, const char *pattern)
{
    if (strcmp(method, "GET") || !strncmp(pattern, "/api/", 5) || !strncmp(pattern, "/benchmark/", 11) ||
        !strcmp(pattern, "/sql.csv"))
        return 0;
    const char *accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
    return accept && strstr(accept, "text/html") != NULL;
}

/* Routes whose GET answers depend only on the warehouse, the URL and the
 * requester's role: the page cache may keep them. Not the live pages
 * (benchmarks: heartbeat ages), the SQL page, login, health or metrics. */
static int cacheable(int route)
{
    static const int ok[] = {R_PAGE_INDEX, R_PAGE_RUN, R_RUNS_LIST, R_RUN_GET, R_PRICES_GET,
                             R_SERIES_NOISY, R_PAGE_TRENDS, R_API_SERIES, R_PAGE_MODES, R_PAGE_COST,
                             R_PAGE_COMPARE};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (ok[i] == route) return 1;
    return 0;
}

static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    buf *b = cls;
    buf_puts(b, "\x1f");
    buf_puts(b, key);
    buf_puts(b, "\x1e");
    if (value) buf_puts(b, value);
    return MHD_YES;
}

/* Answers a cacheable route from the page cache, or runs its handler with the
 * answer captured for the cache. The key: route, the requester's role, path
 * and query arguments in their order. */
static enum MHD_Result dispatch_cached(const struct request *r, int route, const char *url)
{
    const struct collector *col = r->col;
    buf key;
    buf_init(&key, 16384);
    char head[48];
    snprintf(head, sizeof head, "%d\x1f%d\x1f", route, token_role(r->conn, col, r->role));
    buf_puts(&key, head);
    buf_puts(&key, url);
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, add_arg, &key);
    enum MHD_Result ret;
    if (key.toobig || !key.data) {
        buf_cleanup(&key);
        return routes[route].fn(r);
    }
    uint64_t gen = store_generation(col->st);
    char *body;
    size_t len;
    enum pagecache_kind kind;
    if (pagecache_get(col->pcache, key.data, gen, &body, &len, &kind)) {
        ret = queue_body(r->conn, 200, kind, body, len, "hit");
        free(body);
    } else {
        capture.pc = col->pcache, capture.key = key.data, capture.gen = gen;
        ret = routes[route].fn(r);
        capture.pc = NULL, capture.key = NULL;
    }
    buf_cleanup(&key);
    return ret;
}

int request_has_role(const struct request *r, int need)
{
    int have = token_role(r->conn, r->col, r->role);
    return have >= 0 && role_grants(have, (enum role)need);
}

/* Copies s to out (outlen bytes) with spaces, quotes, '%', '=' and control or
 * non-ASCII bytes as %XX, so that a log line stays one line of key=value. */
static void log_escape(const char *s, char *out, size_t outlen)
{
    size_t o = 0;
    for (; *s && o + 4 < outlen; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch <= ' ' || ch >= 0x7f || ch == '"' || ch == '%' || ch == '=' || ch == '\\')
            o += (size_t)snprintf(out + o, outlen - o, "%%%02X", ch);
        else
            out[o++] = (char)ch;
    }
    out[o] = '\0';
}

/* The run_id of an uploaded run body for the access log, into out (>= 65
 * bytes): the first "run_id" string, kept only if it is a valid run id, else "".
 * A scan, not a parse: the handler has validated the document already. */
static void body_run_id(const buf *body, char *out)
{
    out[0] = '\0';
    if (!body->data) return;
    const char *p = memmem(body->data, body->len, "\"run_id\"", 8), *end = body->data + body->len;
    if (!p) return;
    for (p += 8; p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == ':'); p++) {}
    if (p >= end || *p++ != '"') return;
    size_t n = 0;
    while (p + n < end && n < 64 && p[n] != '"') n++;
    if (p + n >= end || p[n] != '"') return;
    memcpy(out, p, n);
    out[n] = '\0';
    if (!run_id_valid(out)) out[0] = '\0';
}

/* One line per request on stderr: ts method path status ms bytes (request body
 * received) [run]. Never a header, a cookie or a query string: no token can
 * appear. */
static void access_log(struct MHD_Connection *c, const struct conn_state *cs)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_HTTP_STATUS);
    unsigned status = ci ? ci->http_status : 0; /* 0: the client left before an answer */
    char ts[40], run[sizeof cs->param + 8] = "", line[600];
    fmt_time_utc(wall_ns(), ts, sizeof ts);
    if (cs->mroute == R_RUNS_POST) {
        char id[72];
        body_run_id(&cs->body, id);
        if (id[0]) snprintf(run, sizeof run, " run=%s", id);
    } else if ((cs->mroute == R_RUN_GET || cs->mroute == R_RUN_ANALYSIS || cs->mroute == R_PAGE_RUN) &&
               run_id_valid(cs->param)) {
        snprintf(run, sizeof run, " run=%s", cs->param);
    }
    char method[sizeof cs->method * 3];
    log_escape(cs->method, method, sizeof method);
    int n = snprintf(line, sizeof line, "ts=%s method=%s path=%s status=%u ms=%.1f bytes=%zu%s\n", ts,
                     method, cs->path, status, (double)(now_ns() - cs->t0) / 1e6,
                     cs->body.len + cs->discarded, run);
    if (n > 0) fwrite(line, 1, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1, stderr);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    const struct collector *col = cls;
    struct conn_state *cs = *con_cls;

    if (!cs) {
        cs = xcalloc(1, sizeof *cs);
        buf_init(&cs->body, col->max_body);
        *con_cls = cs;
        cs->route = -1;
        cs->mroute = -1, cs->t0 = now_ns();
        cs->role = -2;
        snprintf(cs->method, sizeof cs->method, "%s", method);
        log_escape(url, cs->path, sizeof cs->path);
        int path_known = 0;
        for (int i = 0; i < R__MAX; i++) {
            if (!route_match(routes[i].pattern, url, cs->param, sizeof cs->param)) continue;
            path_known = 1;
            if (strcmp(routes[i].method, method) == 0) {
                cs->mroute = i;
                cs->route = i;
                break;
            }
        }
        if (cs->route < 0)
            return path_known ? respond_error(c, 405, "method %s not allowed on %s", method, url)
                              : respond_error(c, 404, "no such path: %s", url);
        unsigned denied = access_denied(c, col, routes[cs->route].role, &cs->role);
        if (denied == 401 && browser_page(c, method, routes[cs->route].pattern)) {
            /* A person at a private dashboard: to the login form, then back here. */
            cs->route = -1;
            buf loc;
            buf_init(&loc, 4096);
            buf_puts(&loc, "/login?next=");
            tmpl_escape_url(&loc, url);
            struct request r = {c, col, NULL, "", 0, &cs->role};
            enum MHD_Result ret = page_redirect(&r, loc.len < 4000 ? loc.data : "/login", NULL);
            buf_cleanup(&loc);
            return ret;
        }
        if (denied) {
            int need = routes[cs->route].role;
            cs->route = -1;
            if (denied == 403)
                return respond_error(c, 403, "this token lacks the %s role", role_name[need]);
            return respond_error(c, 401, "missing or unknown bearer token (role %s needed)", role_name[need]);
        }
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > col->max_body) {
            cs->route = -1;
            return respond_error(c, 413, "request body larger than %zu bytes", col->max_body);
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (cs->route < 0) return MHD_YES; /* an early answer was queued: drop the rest */
        if (!cs->toobig && buf_append(&cs->body, upload_data, n) == 0) return MHD_YES;
        /* Over the cap (a chunked body has no Content-Length to refuse up
         * front): keep reading and dropping, so the client is still listening
         * when the 413 comes; past 8 times the cap, answer and close at once. */
        cs->toobig = 1;
        buf_cleanup(&cs->body);
        cs->discarded += n;
        if (cs->discarded <= 8 * col->max_body) return MHD_YES;
        cs->route = -1;
        return respond_error(c, 413, "request body larger than %zu bytes", col->max_body);
    }
    if (cs->toobig) {
        cs->route = -1;
        return respond_error(c, 413, "request body larger than %zu bytes", col->max_body);
    }
    if (cs->route < 0) return MHD_YES; /* answered already */
    struct request r = {c, col, cs->param[0] ? cs->param : NULL, cs->body.data ? cs->body.data : "",
                        cs->body.len, &cs->role};
    if (!col->pcache || !cacheable(cs->route)) return routes[cs->route].fn(&r);
    return dispatch_cached(&r, cs->route, url);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    struct conn_state *cs = *con_cls;
    if (!cs) return;
    metrics_observe(c, cs->mroute, cs->mroute >= 0 ? routes[cs->mroute].method : NULL,
                    cs->mroute >= 0 ? routes[cs->mroute].pattern : NULL, cs->t0);
    access_log(c, cs);
    buf_cleanup(&cs->body);
    free(cs);
    *con_cls = NULL;
}

/* Binds and listens on "ADDR:PORT" (port 0 picks a free one); returns the fd
 * and writes the bound address for printing. */
static int listen_on(const char *spec, char *bound, size_t blen, char *err)
{
    char *host = NULL;
    int port, fd = -1;
    if (parse_hostport(spec, &host, &port, err) < 0) {
        /* Accept ADDR:0 too, which parse_hostport refuses. */
        size_t l = strlen(spec);
        if (l < 2 || strcmp(spec + l - 2, ":0") != 0) return -1;
        host = xstrndup(spec[0] == '[' ? spec + 1 : spec, l - 2 - (spec[0] == '[' ? 2 : 0));
        port = 0;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    int gai = getaddrinfo(host, ps, &hints, &ai);
    if (gai != 0) {
        rb_err(err, "listen %s: %s", spec, gai_strerror(gai));
        goto out;
    }
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0) {
        rb_err(err, "listen %s: %s", spec, strerror(errno));
        if (fd >= 0) close(fd);
        fd = -1;
        goto out;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    char h[INET6_ADDRSTRLEN] = "?";
    int p = 0;
    if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &s6->sin6_addr, h, sizeof h);
        p = ntohs(s6->sin6_port);
        snprintf(bound, blen, "[%s]:%d", h, p);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &s4->sin_addr, h, sizeof h);
        p = ntohs(s4->sin_port);
        snprintf(bound, blen, "%s:%d", h, p);
    }
out:
    if (ai) freeaddrinfo(ai);
    free(host);
    return fd;
}

static const char SERVE_USAGE[] =
    "usage: redbench serve [options]\n"
    "\n"
    "Runs the collector: ingests runs over HTTP into the SQLite warehouse, judges\n"
    "each against its baseline, and serves the API and the dashboard.\n"
    "\n"
    "  --db PATH            warehouse file (default ./redbench.db; created if missing)\n"
    "  --listen ADDR:PORT   address to listen on (default 127.0.0.1:8080; port 0 = any free)\n"
    "  --token-file FILE    file holding the bootstrap admin token (default $REDBENCH_TOKEN);\n"
    "                       more tokens with roles: redbench token create --role R --db PATH\n"
    "  --public-read        pages and GET endpoints need no token (writes always do)\n"
    "  --web DIR            templates and static files (default $REDBENCH_WEB, else the build's web/)\n"
    "  --threads N          HTTP worker threads (default 16; an upload waiting for its group\n"
    "                       commit or ?wait=analysis holds one)\n"
    "  --max-body BYTES     largest accepted request body (default 16777216)\n"
    "  --baseline-branch B  baseline for verdicts on ingest (default main)\n"
    "  --query-conns N      read-only connections for /api/v1/query and /sql (default 4, 1..64)\n"
    "  --query-wait-ms MS   how long a query waits for a free one before 503 (default 1000)\n"
    "  --no-query-cache     run every query, even one whose answer is kept (docs/queries.md)\n"
    "  --queries FILE       example queries for /sql (default WEB/../docs/queries.md)\n"
    "  --page-cache-ms MS   keep page and GET API answers until the next write, at most\n"
    "                       MS (default 5000; 0: off; docs/dashboard.md)\n"
    "\n"
    "Endpoints (docs/api.md): /api/v1/runs, /api/v1/runs/{id}[/analysis], /api/v1/query,\n"
    "/api/v1/prices, /api/v1/verdicts/{id}/triage, /api/v1/series/noisy, /benchmark/start,\n"
    "/benchmark/status/{id}, /benchmark/results/{id}, /api/v1/tasks/..., /api/v1/schedules,\n"
    "/healthz, /metrics; pages: /, /runs/{id}. Roles: read, ingest, query, admin.\n"
    "Dashboard (docs/dashboard.md): /trends (+ GET /api/v1/series), assets /static/NAME.\n"
    "Pages /modes, /cost, /benchmarks, /benchmarks/{id} (docs/dashboard.md).\n"
    "BENCHMARK_RESULTS.md: GET /api/v1/report[?project=P&branch=B] (text/markdown; docs/report.md).\n"
    "SQL page /sql (query box, role query) and /sql.csv (docs/dashboard.md, docs/queries.md).\n"
    "Compare /compare[?base=ID&head=ID]; browsers log in at /login (token cookie), log out\n"
    "with POST /logout, triage with POST /verdicts/{id}/triage (admin; docs/dashboard.md).\n"
    "POST /api/v1/runs answers after the run's commit; an analysis thread judges\n"
    "committed runs afterwards (?wait=analysis waits for the verdict, at most 30 s).\n"
    "Stops cleanly on SIGINT or SIGTERM. exit status: 0 stopped, 2 error.\n";

int cmd_serve(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", 1, 0, 'd'}, {"listen", 1, 0, 'l'}, {"token-file", 1, 0, 't'}, {"web", 1, 0, 'w'},
        {"threads", 1, 0, 'n'}, {"max-body", 1, 0, 'm'}, {"baseline-branch", 1, 0, 'b'},
        {"query-conns", 1, 0, 'Q'}, {"query-wait-ms", 1, 0, 'W'}, {"queries", 1, 0, 'E'},
        {"no-query-cache", 0, 0, 'C'}, {"page-cache-ms", 1, 0, 'P'},
        {"public-read", 0, 0, 'p'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    const char *db = "./redbench.db", *listen_spec = "127.0.0.1:8080", *token_file = NULL;
    const char *web = getenv("REDBENCH_WEB");
    long threads = 16;
    long query_conns = 4, query_wait_ms = 1000;
    int query_cache = 1;
    long page_cache_ms = 5000;
    const char *queries_md = NULL;
    char err[RB_ERR_LEN];
    struct collector col = {0};
    col.max_body = 16u << 20;
    analyze_opts_default(&col.aopts);
    int o, rc = EXIT_ERROR, fd = -1;
    struct MHD_Daemon *d = NULL;
    optind = 1;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        char *end;
        switch (o) {
        case 'd': db = optarg; break;
        case 'l': listen_spec = optarg; break;
        case 't': token_file = optarg; break;
        case 'p': col.public_read = 1; break;
        case 'w': web = optarg; break;
        case 'n':
            threads = strtol(optarg, &end, 10);
            if (*end || threads < 1 || threads > 64) {
                fprintf(stderr, "redbench serve: --threads: want 1..64\n");
                return EXIT_ERROR;
            }
            break;
        case 'm': {
            unsigned long long v = strtoull(optarg, &end, 10);
            if (*end || v < 1024) {
                fprintf(stderr, "redbench serve: --max-body: want a byte count >= 1024\n");
                return EXIT_ERROR;
            }
            col.max_body = (size_t)v;
            break;
        }
        case 'b': snprintf(col.aopts.baseline_branch, sizeof col.aopts.baseline_branch, "%s", optarg); break;
        case 'Q':
            if (cli_long("serve", "--query-conns", optarg, 1, 64, &query_conns) < 0) return EXIT_ERROR;
            break;
        case 'W':
            if (cli_long("serve", "--query-wait-ms", optarg, 0, 60000, &query_wait_ms) < 0) return EXIT_ERROR;
            break;
        case 'E': queries_md = optarg; break;
        case 'C': query_cache = 0; break;
        case 'P':
            if (cli_long("serve", "--page-cache-ms", optarg, 0, 3600000, &page_cache_ms) < 0) return EXIT_ERROR;
            break;
        case 'h': fputs(SERVE_USAGE, stdout); return EXIT_OK;
        default: fputs(SERVE_USAGE, stderr); return EXIT_ERROR;
        }
    }
    col.web_dir = web && *web ? web : RB_WEBDIR;
    if (optind < argc) {
        fprintf(stderr, "redbench serve: unexpected argument '%s'\n", argv[optind]);
        return EXIT_ERROR;
    }
    if (token_file) {
        char *t = read_file(token_file, 4096, NULL, err);
        if (!t) {
            fprintf(stderr, "redbench serve: --token-file: %s\n", err);
            return EXIT_ERROR;
        }
        t[strcspn(t, "\r\n")] = '\0';
        col.token = t;
    } else if (getenv("REDBENCH_TOKEN") && *getenv("REDBENCH_TOKEN")) {
        col.token = xstrdup(getenv("REDBENCH_TOKEN"));
    }
    if (col.token && strlen(col.token) < 16) {
        fprintf(stderr, "redbench serve: the token is shorter than 16 characters\n");
        goto out;
    }
    if (!col.token)
        fprintf(stderr, "redbench serve: no bootstrap token (--token-file or REDBENCH_TOKEN): "
                        "only tokens made with `redbench token create` are accepted\n");

    char tdir[4096];
    snprintf(tdir, sizeof tdir, "%s/templates", web && *web ? web : RB_WEBDIR);
    if (!(col.pages = tmpl_set_load_dir(tdir, err))) {
        fprintf(stderr, "redbench serve: templates: %s\n", err);
        goto out;
    }
    if (!(col.st = store_open(db, err))) {
        fprintf(stderr, "redbench serve: %s\n", err);
        goto out;
    }
    if (!(col.qpool = sqlq_pool_new(db, (int)query_conns, query_wait_ms, err))) {
        fprintf(stderr, "redbench serve: query connections: %s\n", err);
        goto out;
    }
    sqlq_pool_set_cache(col.qpool, query_cache);
    /* 256 answers, 16 MB of bodies: the collector stays well under 64 MB. */
    if (page_cache_ms > 0) col.pcache = pagecache_new(256, 16u << 20, (unsigned)page_cache_ms);
    char qmd[4096];
    snprintf(qmd, sizeof qmd, "%s", queries_md ? queries_md : "");
    if (!queries_md) snprintf(qmd, sizeof qmd, "%s/../docs/queries.md", web && *web ? web : RB_WEBDIR);
    if (!(col.sql_examples = sql_examples_load(qmd, err))) {
        fprintf(stderr, "redbench serve: /sql shows no example queries: %s\n", err);
        col.sql_examples = cJSON_CreateArray();
    }
    if (analysis_start(&col, err) < 0) {
        fprintf(stderr, "redbench serve: %s\n", err);
        goto out;
    }
    ingest_start(&col);
    char bound[128];
    if ((fd = listen_on(listen_spec, bound, sizeof bound, err)) < 0) {
        fprintf(stderr, "redbench serve: %s\n", err);
        goto out;
    }

    /* Block the stop signals in every thread (the daemon's inherit the mask)
     * so that this thread alone takes them, in sigwait below. */
    sigset_t stopset;
    sigemptyset(&stopset);
    sigaddset(&stopset, SIGINT);
    sigaddset(&stopset, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stopset, NULL);
    d = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                         on_request, &col, MHD_OPTION_LISTEN_SOCKET, fd,
                         MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)threads,
                         MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
                         MHD_OPTION_CONNECTION_LIMIT, (unsigned int)512,
                         MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)256,
                         MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "redbench serve: could not start the HTTP daemon on %s\n", bound);
        goto out;
    }
    fd = -1; /* the daemon owns it now */
    if (sched_start(&col) < 0) goto out;
    printf("redbench serve: listening on http://%s (db %s)\n", bound, db);
    fflush(stdout);
    int sig = 0;
    sigwait(&stopset, &sig);
    fprintf(stderr, "redbench serve: stopping\n");
    rc = EXIT_OK;
out:
    sched_stop();
    analysis_stop(&col);
    if (d) MHD_stop_daemon(d);
    analysis_free(&col);
    ingest_free(&col);
    if (fd >= 0) close(fd);
    sqlq_pool_free(col.qpool);
    pagecache_free(col.pcache);
    cJSON_Delete(col.sql_examples);
    store_close(col.st);
    tmpl_set_free(col.pages);
    free(col.token);
    return rc;
}
