/* collector.h -- what the collector's HTTP layer, API handlers and pages share. */
#ifndef RB_COLLECTOR_H
#define RB_COLLECTOR_H

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "analyze.h"
#include "store.h"
#include "tmpl.h"

/* The collector's one configuration, set up by `redbench serve`. */
struct collector {
    store *st;
    tmpl_set *pages;
    char *token;            /* NULL: writes are refused */
    analyze_opts aopts;     /* verdicts on ingest */
    size_t max_body;        /* bytes */
};

/* A request as the handlers see it: the route's captured path segment and
 * the complete body. */
struct request {
    struct MHD_Connection *conn;
    const struct collector *col;
    const char *param;      /* e.g. the run id of /runs/{id}; NULL if none */
    const char *body;
    size_t body_len;
};

/* Responses: each queues one answer and returns MHD's verdict. */
enum MHD_Result respond_json(struct MHD_Connection *c, unsigned status, cJSON *j); /* takes j */
enum MHD_Result respond_error(struct MHD_Connection *c, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
enum MHD_Result respond_html(struct MHD_Connection *c, unsigned status, char *html, size_t len); /* takes html */

/* The query parameter name of the request, or NULL. */
const char *query_arg(const struct request *r, const char *name);

/* API handlers (collector/api.c). */
enum MHD_Result api_health(const struct request *r);
enum MHD_Result api_runs_post(const struct request *r);
enum MHD_Result api_runs_list(const struct request *r);
enum MHD_Result api_run_get(const struct request *r);
enum MHD_Result api_run_analysis(const struct request *r);

/* HTML pages (collector/pages.c). */
enum MHD_Result page_index(const struct request *r);
enum MHD_Result page_run(const struct request *r);

/* The latest runs (newest first, at most limit, of branch if non-NULL) as a
 * JSON array with verdict status per run; caller owns it. */
cJSON *runs_list_json(sqlite3 *db, const char *branch, long limit);

/* Stored verdict rows of run_id as a JSON array; caller owns it. */
cJSON *stored_verdicts_json(sqlite3 *db, const char *run_id);

/* Stored verdict counts of run_id as {"status": ..., "regression": n, ...};
 * caller owns the result. */
cJSON *verdict_summary(sqlite3 *db, const char *run_id);

#endif
