/* page_login.c -- browser sessions: the login form that stores a token in the
 * redbench_token cookie, logout, and what every form post shares (form field
 * decoding, the cross-site check, 303 redirects). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "collector.h"
#include "util.h"

#define TOKEN_FIELD_MAX 512 /* bytes: longer than any token we make */

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes n bytes of s ('+' as space, %XX) into out (outlen bytes); -1 if it
 * does not fit, has a bad escape or decodes to a NUL byte. */
static int form_decode(const char *s, size_t n, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int ch = (unsigned char)s[i];
        if (ch == '+') {
            ch = ' ';
        } else if (ch == '%') {
            int hi = i + 2 < n ? hexval((unsigned char)s[i + 1]) : -1;
            int lo = i + 2 < n ? hexval((unsigned char)s[i + 2]) : -1;
            if (hi < 0 || lo < 0) return -1;
            ch = hi * 16 + lo;
            i += 2;
        }
        if (ch == 0 || o + 1 >= outlen) return -1;
        out[o++] = (char)ch;
    }
    out[o] = '\0';
    return 0;
}

int form_field(const struct request *r, const char *name, char *out, size_t outlen)
{
    const char *p = r->body, *end = r->body + r->body_len;
    size_t nl = strlen(name);
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *fe = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(fe - p));
        const char *ke = eq ? eq : fe;
        char key[64];
        if ((size_t)(ke - p) < sizeof key && form_decode(p, (size_t)(ke - p), key, sizeof key) == 0 &&
            strlen(key) == nl && memcmp(key, name, nl) == 0) {
            const char *v = eq ? eq + 1 : fe;
            return form_decode(v, (size_t)(fe - v), out, outlen) == 0 ? 1 : -1;
        }
        p = fe + (fe < end);
    }
    return 0;
}

/* The host[:port] of an absolute URL "scheme://host[:port][/...]" into out;
 * 0, or -1 if u has no such form. */
static int url_host(const char *u, char *out, size_t outlen)
{
    const char *s = strstr(u, "://");
    if (!s) return -1;
    s += 3;
    size_t n = strcspn(s, "/?#");
    if (n == 0 || n >= outlen) return -1;
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}

int page_same_origin(const struct request *r)
{
    struct MHD_Connection *c = r->conn;
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (auth && strncasecmp(auth, "Bearer ", 7) == 0) return 1; /* no ambient credential */
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    const char *ref = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_REFERER);
    const char *from = origin ? origin : ref;
    char h[256];
    if (!host || !*host || !from || url_host(from, h, sizeof h) < 0) return 0;
    return strcasecmp(h, host) == 0;
}

/* 1 if the request came over https: directly, or through a proxy saying so. */
static int request_https(const struct request *r)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_PROTOCOL);
    const char *xfp = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Forwarded-Proto");
    return (ci && ci->protocol) || (xfp && strcasecmp(xfp, "https") == 0);
}

/* 1 if s is a local path to send a browser back to: "/..." but not "//..."
 * or "/\..." (another host), printable ASCII only (nothing to split a header). */
static int local_path(const char *s)
{
    if (!s || s[0] != '/' || s[1] == '/' || s[1] == '\\' || strlen(s) > 1024) return 0;
    for (; *s; s++)
        if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f) return 0;
    return 1;
}

const char *page_back(const struct request *r, const char *field, char *out, size_t outlen,
                      const char *fallback)
{
    if (form_field(r, field, out, outlen) == 1 && local_path(out)) return out;
    return fallback;
}

enum MHD_Result page_redirect(const struct request *r, const char *location, const char *cookie)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(resp, "Location", local_path(location) ? location : "/");
    if (cookie) MHD_add_response_header(resp, "Set-Cookie", cookie);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    enum MHD_Result ret = MHD_queue_response(r->conn, 303, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* 1 if every byte of t may stand in a cookie value (RFC 6265 cookie-octet). */
static int cookie_safe(const char *t)
{
    for (; *t; t++) {
        unsigned char ch = (unsigned char)*t;
        if (ch < 0x21 || ch > 0x7e || ch == '"' || ch == ',' || ch == ';' || ch == '\\') return 0;
    }
    return 1;
}

static enum MHD_Result login_form(const struct request *r, unsigned status, const char *error,
                                  const char *next)
{
    cJSON *data = cJSON_CreateObject();
    cJSON_AddStringToObject(data, "title", "Log in");
    if (error) cJSON_AddStringToObject(data, "error", error);
    cJSON_AddStringToObject(data, "next", next);
    cJSON_AddBoolToObject(data, "logged_in", request_has_role(r, ROLE_READ));
    cJSON_AddBoolToObject(data, "nav_login", 1);
    return page_render(r, status, "login", data);
}

enum MHD_Result page_login(const struct request *r)
{
    const char *next = query_arg(r, "next");
    return login_form(r, 200, NULL, local_path(next) ? next : "/");
}

enum MHD_Result page_login_post(const struct request *r)
{
    char next[1100], token[TOKEN_FIELD_MAX];
    const char *to = page_back(r, "next", next, sizeof next, "/");
    if (!page_same_origin(r)) return login_form(r, 403, "Refused: the form was not sent from this site.", to);
    int got = form_field(r, "token", token, sizeof token);
    if (got != 1 || !token[0]) return login_form(r, 400, "Paste a token into the field.", to);
    sqlite3 *db = store_reader(r->col->st);
    int role = auth_token_role(db, r->col->token, token);
    store_reader_release(r->col->st, db);
    if (role < 0 || !cookie_safe(token)) {
        memset(token, 0, sizeof token);
        return login_form(r, 401,
                          role < 0 ? "Unknown or revoked token."
                                   : "This token holds characters a cookie cannot carry (space, quote, comma, "
                                     "semicolon, backslash or non-ASCII): log in with a token made by "
                                     "`redbench token create`.",
                          to);
    }
    char cookie[TOKEN_FIELD_MAX + 128];
    snprintf(cookie, sizeof cookie, "redbench_token=%s; HttpOnly; SameSite=Strict; Path=/%s", token,
             request_https(r) ? "; Secure" : "");
    enum MHD_Result ret = page_redirect(r, to, cookie);
    memset(token, 0, sizeof token);
    memset(cookie, 0, sizeof cookie);
    return ret;
}

enum MHD_Result page_logout_post(const struct request *r)
{
    if (!page_same_origin(r)) return login_form(r, 403, "Refused: the form was not sent from this site.", "/");
    char cookie[160];
    snprintf(cookie, sizeof cookie, "redbench_token=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0%s",
             request_https(r) ? "; Secure" : "");
    return page_redirect(r, "/", cookie);
}
