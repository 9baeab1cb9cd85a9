/* query_api.c -- POST /api/v1/query: ad-hoc read-only SQL on the warehouse
 * through lib/sqlq's pool of locked-down read-only connections (time limit,
 * row cap); 503 with Retry-After when every connection stays busy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "collector.h"
#include "sqlq.h"
#include "util.h"

#define QUERY_MAX_OUTPUT (16u << 20) /* bytes of one answer */

static const char *const content_types[SQLQ_FORMAT__MAX] = {
    [SQLQ_JSON] = "application/json", [SQLQ_CSV] = "text/csv; charset=utf-8"};

/* Reads an optional positive limit from the JSON body; it may only lower the
 * default. 0 ok, -1 with err. */
static int lower_limit(const cJSON *j, const char *name, long *v, char *err)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(j, name);
    if (!x) return 0;
    if (!cJSON_IsNumber(x) || !(x->valuedouble >= 1 && x->valuedouble <= 1e9) ||
        x->valuedouble != (double)(long)x->valuedouble)
        return rb_err(err, "%s: must be a positive integer", name);
    if (x->valuedouble < (double)*v) *v = (long)x->valuedouble;
    return 0;
}

enum MHD_Result query_respond(struct MHD_Connection *c, buf *res, const sqlq_info *info, const char *ctype,
                              const char *disposition)
{
    size_t len = res->len;
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, buf_take(res), MHD_RESPMEM_MUST_FREE);
    char n[32];
    snprintf(n, sizeof n, "%ld", info->rows);
    MHD_add_response_header(resp, "Content-Type", ctype);
    if (disposition) MHD_add_response_header(resp, "Content-Disposition", disposition);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Redbench-Rows", n);
    MHD_add_response_header(resp, "X-Redbench-Truncated", info->truncated ? "true" : "false");
    MHD_add_response_header(resp, "X-Redbench-Cached", info->cached ? "true" : "false");
    enum MHD_Result ret = MHD_queue_response(c, 200, resp);
    MHD_destroy_response(resp);
    return ret;
}

enum MHD_Result query_failed(struct MHD_Connection *c, enum sqlq_status st, const char *err)
{
    if (st != SQLQ_BUSY) {
        unsigned code = st == SQLQ_TIMEOUT ? 408 : st == SQLQ_OPEN ? 503 : 400;
        return respond_error(c, code, "%s", err);
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "error", err);
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!s) abort();
    struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_COPY);
    cJSON_free(s);
    MHD_add_response_header(resp, "Content-Type", "application/json");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "Retry-After", "1");
    enum MHD_Result ret = MHD_queue_response(c, 503, resp);
    MHD_destroy_response(resp);
    return ret;
}

enum MHD_Result api_query(const struct request *r)
{
    char err[RB_ERR_LEN];
    sqlq_limits lim;
    sqlq_limits_default(&lim);
    cJSON *j = NULL;
    char *sql = NULL;
    enum MHD_Result ret;
    int fmt = SQLQ_JSON;
    const char *qf = query_arg(r, "format");
    if (qf && (fmt = sqlq_format_parse(qf)) < 0)
        return respond_error(r->conn, 400, "format: want json or csv");

    /* A JSON body {"sql": ..., "format": ...}, or the SQL itself as text. */
    const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    const char *p = r->body;
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
    int is_json = ct ? strncasecmp(ct, "application/json", 16) == 0
                           || (strncasecmp(ct, "text/plain", 10) != 0 && *p == '{')
                     : *p == '{';
    if (strlen(r->body) != r->body_len) return respond_error(r->conn, 400, "the body contains a NUL byte");
    if (is_json) {
        if (!(j = cJSON_ParseWithLength(r->body, r->body_len)) || !cJSON_IsObject(j)) {
            ret = respond_error(r->conn, 400, "malformed JSON: want {\"sql\": \"SELECT ...\", \"format\": \"json\"}");
            goto out;
        }
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "sql");
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(j, "format");
        if (!cJSON_IsString(s)) {
            ret = respond_error(r->conn, 400, "sql: required, a string");
            goto out;
        }
        if (f && (!cJSON_IsString(f) || (fmt = sqlq_format_parse(f->valuestring)) < 0)) {
            ret = respond_error(r->conn, 400, "format: want json or csv");
            goto out;
        }
        if (lower_limit(j, "max_rows", &lim.max_rows, err) < 0 ||
            lower_limit(j, "timeout_ms", &lim.timeout_ms, err) < 0) {
            ret = respond_error(r->conn, 400, "%s", err);
            goto out;
        }
        sql = xstrdup(s->valuestring);
    } else {
        sql = xstrndup(r->body, r->body_len);
    }

    buf res;
    buf_init(&res, QUERY_MAX_OUTPUT);
    sqlq_info info;
    enum sqlq_status st = sqlq_pool_run(r->col->qpool, sql, (enum sqlq_format)fmt, &lim, &res, &info, err);
    if (st != SQLQ_OK) {
        buf_cleanup(&res);
        ret = query_failed(r->conn, st, err);
        goto out;
    }
    ret = query_respond(r->conn, &res, &info, content_types[fmt], NULL);
out:
    free(sql);
    cJSON_Delete(j);
    return ret;
}
