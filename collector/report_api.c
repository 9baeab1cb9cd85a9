/* report_api.c -- GET /api/v1/report: BENCHMARK_RESULTS.md of the collector's
 * warehouse as text/markdown, made by the generator of `redbench report`
 * (analyzer/report.c) on a reader connection. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "model.h"
#include "report.h"
#include "util.h"

/* A project or branch argument: absent means def; longer than a stored name
 * can be (RB_NAME_LEN - 1 bytes) is NULL. */
static const char *name_arg(const struct request *r, const char *key, const char *def)
{
    const char *v = query_arg(r, key);
    if (!v) return def;
    return strlen(v) < RB_NAME_LEN ? v : NULL;
}

enum MHD_Result api_report(const struct request *r)
{
    const char *project = name_arg(r, "project", "default"), *branch = name_arg(r, "branch", "main");
    if (!project) return respond_error(r->conn, 400, "project: at most %d bytes", RB_NAME_LEN - 1);
    if (!branch) return respond_error(r->conn, 400, "branch: at most %d bytes", RB_NAME_LEN - 1);
    char err[RB_ERR_LEN];
    buf md;
    buf_init(&md, REPORT_MAX);
    sqlite3 *db = store_reader(r->col->st);
    enum report_rc rc = report_render(db, project, branch, &md, err);
    store_reader_release(r->col->st, db);
    if (rc != REPORT_OK) {
        buf_cleanup(&md);
        fprintf(stderr, "redbench serve: GET /api/v1/report failed: %s\n", err);
        return respond_error(r->conn, 500, "%s", err);
    }
    size_t len = md.len;
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, buf_take(&md), MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(resp, "Content-Type", "text/markdown; charset=utf-8");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    enum MHD_Result ret = MHD_queue_response(r->conn, 200, resp);
    MHD_destroy_response(resp);
    return ret;
}
