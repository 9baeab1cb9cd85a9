/* page_sql.c -- the /sql page: a read-only query box for query-role tokens
 * over the collector's pool of locked-down connections (lib/sqlq), the result
 * as an escaped table or a CSV download, and docs/queries.md's examples. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "collector.h"
#include "sqlq.h"
#include "util.h"

#define SQL_Q_MAX (100u * 1024)      /* bytes of the q parameter */
#define SQL_PAGE_OUTPUT (1u << 20)   /* bytes of cells a page shows: the HTML stays a few MB */
#define SQL_CSV_OUTPUT (16u << 20)   /* bytes of a CSV download, as the API */
#define QUERIES_MD_MAX (1u << 20)    /* bytes of the examples file */

/* Copies line [s, s+n) as a title: '`' and a trailing ':' dropped, blanks trimmed. */
static char *title_of(const char *s, size_t n)
{
    char *t = xmalloc(n + 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] != '`') t[k++] = s[i];
    while (k && (t[k - 1] == ' ' || t[k - 1] == '\t' || t[k - 1] == '\r' || t[k - 1] == ':')) k--;
    t[k] = '\0';
    char *p = t;
    while (*p == '#' || *p == ' ' || *p == '\t') p++;
    memmove(t, p, strlen(p) + 1);
    return t;
}

cJSON *sql_examples_load(const char *path, char *err)
{
    char *text = read_file(path, QUERIES_MD_MAX, NULL, err);
    if (!text) return NULL;
    cJSON *list = cJSON_CreateArray();
    const char *title = NULL, *p = text;
    size_t title_len = 0;
    buf sql;
    buf_init(&sql, QUERIES_MD_MAX);
    int in_sql = 0, in_other = 0;
    while (*p) {
        size_t n = strcspn(p, "\n");
        const char *line = p;
        p += n + (p[n] == '\n');
        int fence = n >= 3 && strncmp(line, "```", 3) == 0;
        if (in_sql) {
            if (!fence) {
                buf_append(&sql, line, n);
                buf_puts(&sql, "\n");
                continue;
            }
            while (sql.len && (sql.data[sql.len - 1] == '\n' || sql.data[sql.len - 1] == ' ')) sql.data[--sql.len] = '\0';
            cJSON *e = cJSON_CreateObject();
            char *t = title ? title_of(title, title_len) : NULL;
            if (!t || !*t) {
                free(t);
                t = xmalloc(32);
                snprintf(t, 32, "Example %d", cJSON_GetArraySize(list) + 1);
            }
            cJSON_AddStringToObject(e, "title", t);
            cJSON_AddStringToObject(e, "sql", sql.data ? sql.data : "");
            cJSON_AddItemToArray(list, e);
            free(t);
            in_sql = 0;
            title = NULL;
            continue;
        }
        if (in_other) {
            in_other = !fence;
            continue;
        }
        if (fence) {
            const char *lang = line + 3;
            size_t ln = n - 3;
            while (ln && (lang[ln - 1] == ' ' || lang[ln - 1] == '\t' || lang[ln - 1] == '\r')) ln--;
            in_sql = ln == 3 && strncmp(lang, "sql", 3) == 0;
            in_other = !in_sql;
            buf_reset(&sql);
            continue;
        }
        size_t k = 0;
        while (k < n && (line[k] == ' ' || line[k] == '\t' || line[k] == '\r')) k++;
        if (k < n) { /* the last line of text before a block names it */
            title = line;
            title_len = n;
        }
    }
    buf_cleanup(&sql);
    free(text);
    return list;
}

/* 0 when q is absent or short enough; 1 after queuing the 413 answer, whose
 * verdict is in *ret. */
static int q_too_long(const struct request *r, const char *q, enum MHD_Result *ret)
{
    if (!q || strlen(q) <= SQL_Q_MAX) return 0;
    *ret = respond_error(r->conn, 413, "q: longer than %u bytes", SQL_Q_MAX);
    return 1;
}

/* The value of field name in an application/x-www-form-urlencoded body,
 * decoded ('+' as a space, %XX), malloc'd; NULL if it is absent. */
static char *form_value(const char *body, size_t len, const char *name)
{
    size_t nl = strlen(name);
    const char *p = body, *end = body + len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *fe = amp ? amp : end;
        if ((size_t)(fe - p) > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
            char *v = xstrndup(p + nl + 1, (size_t)(fe - p) - nl - 1);
            for (char *c = v; *c; c++)
                if (*c == '+') *c = ' ';
            MHD_http_unescape(v);
            return v;
        }
        p = fe + 1;
    }
    return NULL;
}

/* The CSV answer of q (caller checked the role). */
static enum MHD_Result sql_csv(const struct request *r, const char *q)
{
    enum MHD_Result ret;
    char err[RB_ERR_LEN];
    if (!q || !*q) return respond_error(r->conn, 400, "q: required, one read-only SQL statement");
    if (q_too_long(r, q, &ret)) return ret;
    buf out;
    buf_init(&out, SQL_CSV_OUTPUT);
    sqlq_info info;
    enum sqlq_status st = sqlq_pool_run(r->col->qpool, q, SQLQ_CSV, NULL, &out, &info, err);
    if (st != SQLQ_OK) {
        buf_cleanup(&out);
        return query_failed(r->conn, st, err);
    }
    return query_respond(r->conn, &out, &info, "text/csv; charset=utf-8",
                         "attachment; filename=\"redbench-query.csv\"");
}

enum MHD_Result page_sql_csv(const struct request *r)
{
    return sql_csv(r, query_arg(r, "q"));
}

/* Turns sqlq's CELLS output into the page's "columns" and "rows" ([{"cells":
 * [{"v", "null"}]}]) on data; 0, or -1 if it does not parse. */
static int add_table(cJSON *data, const buf *out)
{
    cJSON *j = cJSON_ParseWithLength(out->data, out->len);
    cJSON *cols = cJSON_GetObjectItemCaseSensitive(j, "columns");
    cJSON *rows = cJSON_GetObjectItemCaseSensitive(j, "rows");
    if (!cJSON_IsArray(cols) || !cJSON_IsArray(rows)) {
        cJSON_Delete(j);
        return -1;
    }
    cJSON_AddItemToObject(data, "columns", cJSON_DetachItemViaPointer(j, cols));
    cJSON *trs = cJSON_AddArrayToObject(data, "rows");
    const cJSON *row, *cell;
    cJSON_ArrayForEach(row, rows) {
        cJSON *tr = cJSON_CreateObject(), *cells = cJSON_AddArrayToObject(tr, "cells");
        cJSON_ArrayForEach(cell, row) {
            cJSON *c = cJSON_CreateObject();
            cJSON_AddStringToObject(c, "v", cJSON_IsString(cell) ? cell->valuestring : "NULL");
            cJSON_AddBoolToObject(c, "null", !cJSON_IsString(cell));
            cJSON_AddItemToArray(cells, c);
        }
        cJSON_AddItemToArray(trs, tr);
    }
    cJSON_Delete(j);
    return 0;
}

/* The page for q (NULL: none) in format (NULL, "html" or "csv"). */
static enum MHD_Result sql_page(const struct request *r, const char *q, const char *format)
{
    enum MHD_Result ret;
    char err[RB_ERR_LEN];
    if (q_too_long(r, q, &ret)) return ret;
    int can_query = request_has_role(r, ROLE_QUERY);
    if (format && strcmp(format, "csv") == 0) {
        if (!can_query) return respond_error(r->conn, 403, "running SQL needs a token with the query role");
        return sql_csv(r, q);
    }
    if (format && *format && strcmp(format, "html") != 0)
        return respond_error(r->conn, 400, "format: want html or csv");

    cJSON *data = cJSON_CreateObject();
    cJSON_AddStringToObject(data, "title", "SQL");
    cJSON_AddBoolToObject(data, "nav_sql", 1);
    cJSON_AddStringToObject(data, "q", q ? q : "");
    cJSON_AddItemToObject(data, "examples", cJSON_Duplicate(r->col->sql_examples, 1));
    cJSON_AddBoolToObject(data, "has_examples", cJSON_GetArraySize(r->col->sql_examples) > 0);
    sqlq_limits lim;
    sqlq_limits_default(&lim);
    lim.max_output = SQL_PAGE_OUTPUT;
    cJSON_AddNumberToObject(data, "max_rows", (double)lim.max_rows);
    unsigned status = 200;
    if (q && *q && !can_query) {
        cJSON_AddBoolToObject(data, "not_run", 1);
    } else if (q && *q) {
        buf out;
        buf_init(&out, SQL_PAGE_OUTPUT);
        sqlq_info info;
        enum sqlq_status st = sqlq_pool_run(r->col->qpool, q, SQLQ_CELLS, &lim, &out, &info, err);
        if (st == SQLQ_OK && add_table(data, &out) < 0) {
            st = SQLQ_SQL;
            snprintf(err, sizeof err, "the result could not be shown");
        }
        buf_cleanup(&out);
        if (st == SQLQ_OK) {
            cJSON_AddBoolToObject(data, "ran", 1);
            cJSON_AddNumberToObject(data, "nrows", (double)info.rows);
            page_add_fmt(data, "elapsed_ms", "%.1f", info.elapsed_ms);
            cJSON_AddBoolToObject(data, "truncated", info.truncated);
            cJSON_AddBoolToObject(data, "cached", info.cached);
        } else {
            /* The page answered; the query did not: the error is the content.
             * Only a busy pool is the server's condition (503). */
            cJSON_AddStringToObject(data, "error", err);
            if (st == SQLQ_BUSY || st == SQLQ_OPEN) status = 503;
        }
    }
    return page_render(r, status, "sql", data);
}

enum MHD_Result page_sql(const struct request *r)
{
    return sql_page(r, query_arg(r, "q"), query_arg(r, "format"));
}

enum MHD_Result page_sql_post(const struct request *r)
{
    char *q = form_value(r->body, r->body_len, "q"), *format = form_value(r->body, r->body_len, "format");
    enum MHD_Result ret = sql_page(r, q, format ? format : query_arg(r, "format"));
    free(q);
    free(format);
    return ret;
}
