/* static.c -- GET /static/NAME: the dashboard's few static assets (web/static), read per
 * request, with fixed MIME types, a day of caching and ETag revalidation. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collector.h"
#include "util.h"

#define STATIC_MAX (2u << 20) /* largest asset served, bytes */

static const struct {
    const char *ext;
    const char *mime;
} mime_types[] = {
    {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".txt", "text/plain; charset=utf-8"},
    {".woff2", "font/woff2"},
};

const char *static_mime(const char *name)
{
    if (!static_name_ok(name)) return NULL;
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof mime_types / sizeof mime_types[0]; i++) {
        size_t e = strlen(mime_types[i].ext);
        if (n > e && strcmp(name + n - e, mime_types[i].ext) == 0) return mime_types[i].mime;
    }
    return NULL;
}

int static_name_ok(const char *name)
{
    if (!name || !*name || name[0] == '.' || strlen(name) > 100 || strstr(name, "..")) return 0;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '-' || *p == '_'))
            return 0;
    return 1;
}

/* 1 if the If-None-Match header value h lists etag (or is "*"). */
static int etag_matches(const char *h, const char *etag)
{
    size_t el = strlen(etag);
    while (h && *h) {
        h += strspn(h, " \t,");
        if (!*h) break;
        size_t n = strcspn(h, ",");
        size_t m = n;
        while (m && (h[m - 1] == ' ' || h[m - 1] == '\t')) m--;
        const char *t = h;
        if (m > 2 && t[0] == 'W' && t[1] == '/') t += 2, m -= 2; /* weak comparison */
        if ((m == 1 && *t == '*') || (m == el && memcmp(t, etag, el) == 0)) return 1;
        h += n;
    }
    return 0;
}

static enum MHD_Result not_found(struct MHD_Connection *c, const char *name)
{
    return respond_error(c, 404, "no such static file: %.100s", name ? name : "");
}

enum MHD_Result page_static(const struct request *r)
{
    const char *name = r->param, *mime = static_mime(name);
    if (!mime) return not_found(r->conn, name);
    char path[4200];
    snprintf(path, sizeof path, "%s/static/%s", r->col->web_dir ? r->col->web_dir : "web", name);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return not_found(r->conn, name);
    struct stat sb;
    char *data = NULL;
    enum MHD_Result ret;
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size > (off_t)STATIC_MAX) {
        close(fd);
        return not_found(r->conn, name);
    }
    /* The ETag names this version of the file: its size and modification time (ns). */
    char etag[96];
    snprintf(etag, sizeof etag, "\"%llx-%llx%09ld\"", (unsigned long long)sb.st_size,
             (unsigned long long)sb.st_mtim.tv_sec, (long)sb.st_mtim.tv_nsec);
    struct MHD_Response *resp;
    unsigned status = 200;
    const char *inm = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
    if (inm && etag_matches(inm, etag)) {
        close(fd);
        status = 304;
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    } else {
        size_t len = (size_t)sb.st_size, got = 0;
        data = xmalloc(len + 1);
        while (got < len) {
            ssize_t n = read(fd, data + got, len - got);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            got += (size_t)n;
        }
        close(fd);
        if (got != len) {
            free(data);
            return respond_error(r->conn, 500, "could not read static file %s", name);
        }
        resp = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
        MHD_add_response_header(resp, "Content-Type", mime);
        MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    }
    MHD_add_response_header(resp, "Cache-Control", "public, max-age=86400");
    MHD_add_response_header(resp, "ETag", etag);
    ret = MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}
