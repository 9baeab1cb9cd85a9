/* cmd_query.c -- `redbench query "SQL"`: one read-only SQL query on a warehouse
 * file (lib/sqlq) or through a collector's POST /api/v1/query; table, CSV or JSON. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "httpc.h"
#include "sqlq.h"
#include "util.h"

#define QUERY_MAX_OUTPUT (16u << 20) /* bytes */
#define CELL_MAX 80                  /* characters shown per table cell */

static const char QUERY_USAGE[] =
    "usage: redbench query \"SQL\" (--db PATH | --collector URL [--token T]) [options]\n"
    "\n"
    "Runs one read-only SQL statement (SELECT, WITH, VALUES or EXPLAIN) on the\n"
    "warehouse. Views such as series, run_summary, result_latest, verdicts_open\n"
    "and results_full are described in docs/queries.md. SQL '-' reads stdin.\n"
    "\n"
    "  --db PATH          the warehouse file, opened read-only\n"
    "  --collector URL    ask a collector (POST /api/v1/query) instead\n"
    "  --token T          bearer token for the collector (default $REDBENCH_TOKEN)\n"
    "  --format F         table, csv or json (default table)\n"
    "  --max-rows N       at most N rows (default and maximum 10000)\n"
    "  --timeout-ms N     time limit (default and maximum 2000)\n"
    "\n"
    "Writes, ATTACH, PRAGMA, load_extension and multiple statements are refused.\n"
    "exit status: 0 ok (also when the row cap truncated the result), 2 error.\n";

enum qfmt { QF_TABLE, QF_CSV, QF_JSON };

/* Display width of UTF-8 text: code points, not bytes. */
static size_t u8_width(const char *s, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xc0) != 0x80) w++;
    return w;
}

/* The text of one JSON cell for the table ("" for null), malloc'd; sets *num
 * for numbers (right-aligned). Newlines and tabs become spaces. */
static char *cell_text(const cJSON *c, int *num)
{
    char tmp[64];
    *num = 0;
    if (cJSON_IsNumber(c)) {
        *num = 1;
        snprintf(tmp, sizeof tmp, "%.15g", c->valuedouble);
        return xstrdup(tmp);
    }
    char *s = xstrdup(cJSON_IsString(c) ? c->valuestring : "");
    for (char *p = s; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t') *p = ' ';
    /* Cut long cells at CELL_MAX code points, on a character boundary. */
    size_t w = 0, i = 0;
    for (; s[i]; i++) {
        if (((unsigned char)s[i] & 0xc0) != 0x80 && ++w > CELL_MAX - 3) break;
    }
    if (s[i] && u8_width(s, strlen(s)) > CELL_MAX) strcpy(s + i, "...");
    return s;
}

/* Prints the JSON result as aligned columns and "(N rows)". */
static int print_table(const char *json, FILE *f, char *err)
{
    cJSON *j = cJSON_Parse(json);
    const cJSON *cols = j ? cJSON_GetObjectItemCaseSensitive(j, "columns") : NULL;
    const cJSON *rows = j ? cJSON_GetObjectItemCaseSensitive(j, "rows") : NULL;
    if (!cJSON_IsArray(cols) || !cJSON_IsArray(rows)) {
        cJSON_Delete(j);
        return rb_err(err, "malformed query result");
    }
    int ncol = cJSON_GetArraySize(cols), nrow = cJSON_GetArraySize(rows);
    size_t *width = xcalloc((size_t)ncol + 1, sizeof *width);
    char **cell = xcalloc(((size_t)nrow + 1) * ((size_t)ncol + 1), sizeof *cell);
    int *isnum = xcalloc(((size_t)nrow + 1) * ((size_t)ncol + 1), sizeof *isnum);
    for (int c = 0; c < ncol; c++) {
        int dummy;
        cell[c] = cell_text(cJSON_GetArrayItem(cols, c), &dummy);
    }
    int r = 1;
    for (const cJSON *row = rows->child; row; row = row->next, r++)
        for (int c = 0; c < ncol; c++)
            cell[(size_t)r * ncol + c] = cell_text(cJSON_GetArrayItem(row, c), &isnum[(size_t)r * ncol + c]);
    for (int k = 0; k <= nrow; k++)
        for (int c = 0; c < ncol; c++) {
            size_t w = u8_width(cell[(size_t)k * ncol + c], strlen(cell[(size_t)k * ncol + c]));
            if (w > width[c]) width[c] = w;
        }
    for (int k = 0; k <= nrow; k++) {
        for (int c = 0; c < ncol; c++) {
            const char *s = cell[(size_t)k * ncol + c];
            size_t pad = width[c] - u8_width(s, strlen(s));
            int right = isnum[(size_t)k * ncol + c];
            if (c) fputs("  ", f);
            if (right) fprintf(f, "%*s", (int)pad, "");
            fputs(s, f);
            if (!right && c < ncol - 1) fprintf(f, "%*s", (int)pad, "");
        }
        fputc('\n', f);
        if (k == 0) {
            for (int c = 0; c < ncol; c++) {
                if (c) fputs("  ", f);
                for (size_t i = 0; i < width[c]; i++) fputc('-', f);
            }
            fputc('\n', f);
        }
    }
    const cJSON *tr = cJSON_GetObjectItemCaseSensitive(j, "truncated");
    fprintf(f, "(%d row%s%s)\n", nrow, nrow == 1 ? "" : "s",
            cJSON_IsTrue(tr) ? "; truncated by the row or size cap" : "");
    for (size_t k = 0; k < ((size_t)nrow + 1) * ncol; k++) free(cell[k]);
    free(cell);
    free(isnum);
    free(width);
    cJSON_Delete(j);
    return 0;
}

/* POSTs the query to collector; on 200 leaves the body in out. */
static int query_remote(const char *collector, const char *token, const char *sql, int csv,
                        long max_rows, long timeout_ms, buf *out, int *truncated, char *err)
{
    cJSON *req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "sql", sql);
    cJSON_AddStringToObject(req, "format", csv ? "csv" : "json");
    cJSON_AddNumberToObject(req, "max_rows", (double)max_rows);
    cJSON_AddNumberToObject(req, "timeout_ms", (double)timeout_ms);
    char *body = cJSON_PrintUnformatted(req);
    cJSON_Delete(req);
    if (!body) abort();
    buf url;
    buf_init(&url, 4096);
    size_t cl = strlen(collector);
    while (cl > 0 && collector[cl - 1] == '/') cl--;
    buf_printf(&url, "%.*s/api/v1/query", (int)cl, collector);
    httpc_resp r;
    int rc = -1;
    if (url.toobig) {
        rb_err(err, "collector URL too long");
        goto out;
    }
    if (httpc_request("POST", url.data, token, "application/json", body, strlen(body), 30000,
                      QUERY_MAX_OUTPUT + 4096, &r, err) < 0)
        goto out;
    if (r.status != 200) {
        cJSON *j = cJSON_Parse(r.body);
        const cJSON *e = j ? cJSON_GetObjectItemCaseSensitive(j, "error") : NULL;
        rb_err(err, "collector answered %d: %s", r.status, cJSON_IsString(e) ? e->valuestring : "(no message)");
        cJSON_Delete(j);
    } else if (buf_append(out, r.body, r.body_len) < 0) {
        rb_err(err, "result larger than %zu bytes", out->max);
    } else {
        rc = 0;
        if (csv) {
            *truncated = 0; /* the header is not visible through httpc: the JSON says it */
        } else {
            cJSON *j = cJSON_Parse(r.body);
            *truncated = j && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "truncated"));
            cJSON_Delete(j);
        }
    }
    httpc_resp_cleanup(&r);
out:
    buf_cleanup(&url);
    cJSON_free(body);
    return rc;
}

int cmd_query(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", 1, 0, 'd'}, {"collector", 1, 0, 'c'}, {"token", 1, 0, 't'}, {"format", 1, 0, 'f'},
        {"max-rows", 1, 0, 'r'}, {"timeout-ms", 1, 0, 'T'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    const char *dbpath = NULL, *collector = NULL, *token = getenv("REDBENCH_TOKEN");
    enum qfmt fmt = QF_TABLE;
    sqlq_limits lim;
    sqlq_limits_default(&lim);
    char err[RB_ERR_LEN];
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 'd': dbpath = optarg; break;
        case 'c': collector = optarg; break;
        case 't': token = optarg; break;
        case 'f':
            if (!strcmp(optarg, "table")) fmt = QF_TABLE;
            else if (!strcmp(optarg, "csv")) fmt = QF_CSV;
            else if (!strcmp(optarg, "json")) fmt = QF_JSON;
            else {
                fprintf(stderr, "redbench query: --format: want table, csv or json\n");
                return EXIT_ERROR;
            }
            break;
        case 'r':
            if (cli_long("query", "--max-rows", optarg, 1, lim.max_rows, &lim.max_rows) < 0) return EXIT_ERROR;
            break;
        case 'T':
            if (cli_long("query", "--timeout-ms", optarg, 1, lim.timeout_ms, &lim.timeout_ms) < 0)
                return EXIT_ERROR;
            break;
        case 'h': fputs(QUERY_USAGE, stdout); return EXIT_OK;
        default: fputs(QUERY_USAGE, stderr); return EXIT_ERROR;
        }
    }
    if (optind != argc - 1 || !dbpath == !collector) {
        fprintf(stderr, "redbench query: need one SQL argument and exactly one of --db or --collector\n");
        fputs(QUERY_USAGE, stderr);
        return EXIT_ERROR;
    }
    char *sql = NULL;
    if (!strcmp(argv[optind], "-")) {
        buf in;
        buf_init(&in, (size_t)lim.max_sql_len);
        char chunk[4096];
        size_t n;
        while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0 && buf_append(&in, chunk, n) == 0) {}
        if (in.toobig) {
            buf_cleanup(&in);
            fprintf(stderr, "redbench query: SQL longer than %d bytes\n", lim.max_sql_len);
            return EXIT_ERROR;
        }
        sql = buf_take(&in);
    } else {
        sql = xstrdup(argv[optind]);
    }

    buf out;
    buf_init(&out, QUERY_MAX_OUTPUT);
    int truncated = 0, rc = EXIT_ERROR;
    enum sqlq_format efmt = fmt == QF_CSV ? SQLQ_CSV : SQLQ_JSON;
    if (dbpath) {
        sqlq_info info;
        if (sqlq_run(dbpath, sql, efmt, &lim, &out, &info, err) != SQLQ_OK) goto fail;
        truncated = info.truncated;
    } else if (query_remote(collector, token, sql, efmt == SQLQ_CSV,
                            lim.max_rows, lim.timeout_ms, &out, &truncated, err) < 0) {
        goto fail;
    }
    if (fmt == QF_TABLE) {
        if (print_table(out.data, stdout, err) < 0) goto fail;
    } else {
        fwrite(out.data, 1, out.len, stdout);
        if (fmt == QF_JSON) fputc('\n', stdout);
        if (truncated) fprintf(stderr, "redbench query: result truncated by the row or size cap\n");
    }
    rc = EXIT_OK;
    goto out;
fail:
    fprintf(stderr, "redbench query: %s\n", err);
out:
    buf_cleanup(&out);
    free(sql);
    return rc;
}
