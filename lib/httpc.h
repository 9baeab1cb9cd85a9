/* httpc.h -- a minimal HTTP/1.1 client over POSIX sockets (no TLS): one request per connection. */
#ifndef RB_HTTPC_H
#define RB_HTTPC_H

#include <stddef.h>

/* A received response. body and content_type are malloc'd, NUL-terminated and
 * never NULL after a successful httpc_request (content_type is "" when the
 * server sent none); free them with httpc_resp_cleanup. */
typedef struct httpc_resp {
    int status;         /* 100-599 */
    char *body;         /* body_len bytes plus a NUL; may itself contain NULs */
    size_t body_len;
    char *content_type; /* the Content-Type value, trimmed */
} httpc_resp;

/* Frees body and content_type and zeroes r. Safe on a zeroed or failed r. */
void httpc_resp_cleanup(httpc_resp *r);

/* Performs one request: method ("GET", "POST", ...) to url
 * "http://HOST[:PORT][/path][?query]" (HOST a name, IPv4 or [IPv6]; port 80 by
 * default; any #fragment is dropped; https:// is refused: there is no TLS).
 *
 * Sends Host, User-Agent: redbench/RB_VERSION, Connection: close, and
 * "Authorization: Bearer <token>" when token is non-NULL and not empty (an
 * unset or empty $REDBENCH_TOKEN sends none; the token never appears in an
 * error message). body may be NULL (no body; POST/PUT/PATCH then
 * send Content-Length: 0); otherwise body_len bytes are sent with
 * Content-Length and Content-Type content_type (application/json when NULL).
 *
 * timeout_ms (> 0) bounds connect + send + receive, using non-blocking sockets
 * and poll; name resolution goes through getaddrinfo and is not bounded by it
 * (numeric addresses do not touch the resolver). The response body may be
 * Content-Length delimited, chunked, or read until close, and may hold at most
 * max_body bytes.
 *
 * Returns 0 when an HTTP response was received, whatever its status (the
 * caller checks r->status and owns r: call httpc_resp_cleanup). Returns -1 on
 * a transport failure with r zeroed and err (RB_ERR_LEN bytes) set, e.g.
 * "connect 127.0.0.1:8080: Connection refused",
 * "timeout after 5000 ms waiting for 127.0.0.1:8080", "bad URL '...': ...",
 * "response larger than N bytes". */
int httpc_request(const char *method, const char *url, const char *token,
                  const char *content_type, const char *body, size_t body_len,
                  int timeout_ms, size_t max_body, httpc_resp *r, char *err);

#endif
