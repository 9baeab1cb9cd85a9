/* collector.h -- what the collector's HTTP layer, API handlers and pages share. */
#ifndef RB_COLLECTOR_H
#define RB_COLLECTOR_H

#include <cjson/cJSON.h>
#include <stdint.h>
#include <microhttpd.h>

#include "analyze.h"
#include "store.h"
#include "tmpl.h"

/* The collector's one configuration, set up by `redbench serve`. */
struct collector {
    store *st;
    tmpl_set *pages;
    char *token;            /* bootstrap admin token (--token-file / REDBENCH_TOKEN); may be NULL */
    int public_read;        /* --public-read: pages and GET API need no token */
    analyze_opts aopts;     /* verdicts on ingest */
    size_t max_body;        /* bytes */
    const char *db_path;    /* the warehouse file, for POST /api/v1/query */
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

/* 1 if the request carries a valid token (Authorization: Bearer or the
 * redbench_token cookie) whose role grants need (an enum role of auth.h),
 * else 0. --public-read does not count: it opens reading, not a role. */
int request_has_role(const struct request *r, int need);

/* API handlers (collector/api.c). */
enum MHD_Result api_health(const struct request *r);
enum MHD_Result api_runs_post(const struct request *r);
enum MHD_Result api_runs_list(const struct request *r);
enum MHD_Result api_run_get(const struct request *r);
enum MHD_Result api_run_analysis(const struct request *r);
/* Triage endpoints (collector/triage_api.c). */
enum MHD_Result api_verdict_triage(const struct request *r);
enum MHD_Result api_series_noisy(const struct request *r);
/* Ad-hoc read-only SQL (collector/query_api.c). */ enum MHD_Result api_query(const struct request *r);

/* Operations endpoints (collector/ops_api.c). */
enum MHD_Result api_metrics(const struct request *r);
enum MHD_Result api_prices_get(const struct request *r);
enum MHD_Result api_prices_post(const struct request *r);
/* Counts one finished request for GET /metrics: route is the routes[] index
 * (-1: none matched), method/pattern its static strings (NULL if none),
 * start_ns its now_ns() at arrival; the status is read from c. Thread-safe. */
void metrics_observe(struct MHD_Connection *c, int route, const char *method, const char *pattern,
                     uint64_t start_ns);

/* Machine prices (collector/cost.c), shared by the API and `redbench prices`. */
struct machine_price {
    char provider[64], preset[64], region_group[64];
    long long memory_mb;
    double usd_per_second;
    char effective_date[16];    /* YYYY-MM-DD */
    char source[501];
};
/* 1 if s is a valid calendar date YYYY-MM-DD (1970 or later). */
int price_date_ok(const char *s);
/* Validates the JSON object j into p. Returns 0, or -1 after adding one
 * "field": "message" pair per bad or unknown field to the object errors. */
int price_from_json(const cJSON *j, struct machine_price *p, cJSON *errors);
enum price_put { PRICE_CREATED = 0, PRICE_UPDATED = 1, PRICE_BAD_GROUP = 2, PRICE_ERROR = -1 };
/* Adds p, or replaces the price and source of the row with the same provider,
 * preset, region group, memory and date, in its own transaction on the writer
 * db (the caller holds the writer). PRICE_BAD_GROUP/PRICE_ERROR fill err. */
enum price_put price_put(sqlite3 *db, const struct machine_price *p, char *err);
/* {"machine_prices": [...], "egress_prices": [...]}; caller owns it; NULL with err. */
cJSON *prices_json(sqlite3 *db, char *err);

/* Orchestrated mode (collector/orchestrator.c): benchmarks, tasks, leases,
 * the merge of the workers' runs (docs/orchestrated.md). */
enum MHD_Result api_benchmark_start(const struct request *r);
enum MHD_Result api_benchmark_status(const struct request *r);
enum MHD_Result api_benchmark_results(const struct request *r);
enum MHD_Result api_task_lease(const struct request *r);
enum MHD_Result api_task_heartbeat(const struct request *r);
enum MHD_Result api_task_result(const struct request *r);
/* Validates a plan and returns it with every default filled in (caller
 * owns it), or NULL with err naming the field ("plan.share: ..."). */
cJSON *orch_plan_normalize(const cJSON *plan, char *err);
/* Creates a queued benchmark of a normalized plan and its tasks (one per
 * worker) through db, inside the caller's transaction; schedule_id 0 = none.
 * Writes the new id (33 bytes) to id_out. 0, or -1 with err. */
int orch_create(sqlite3 *db, const cJSON *plan, long long schedule_id, char *id_out, char *err);
/* Hands back leases that lapsed before now_ms (Unix ms), failing tasks out
 * of attempts and their benchmarks; inside the caller's transaction. */
int orch_expire(sqlite3 *db, int64_t now_ms, char *err);

/* Schedules (collector/schedule.c). */
enum MHD_Result api_schedules_post(const struct request *r);
enum MHD_Result api_schedules_list(const struct request *r);
enum MHD_Result api_schedule_delete(const struct request *r);
/* Starts the scheduler thread (due schedules, lapsed leases; a tick a
 * second); 0 or -1. sched_stop() wakes and joins it (no-op if not started). */
int sched_start(struct collector *col);
void sched_stop(void);

/* HTML pages (collector/pages.c). */
enum MHD_Result page_index(const struct request *r);
enum MHD_Result page_run(const struct request *r);

/* Renders template name of web/templates with data (taken: freed here) as
 * the answer with status. Every page gets these keys added to its data:
 * version, can_query and can_admin (the requester's token grants the role:
 * show the SQL box, the triage buttons). A render error answers 500. */
enum MHD_Result page_render(const struct request *r, unsigned status, const char *name, cJSON *data);
/* o[k] = x printed with fmt (e.g. "%.1f"), or "–" when x is not finite. */
void page_add_fmt(cJSON *o, const char *k, const char *fmt, double x);
/* o[k] = column i of st as text ("" for NULL). */
void page_add_col(cJSON *o, const char *k, sqlite3_stmt *st, int i);

/* The latest runs (newest first, at most limit, of branch if non-NULL) as a
 * JSON array with verdict status per run; caller owns it. */
cJSON *runs_list_json(sqlite3 *db, const char *branch, long limit);

/* Stored verdict rows of run_id as a JSON array; caller owns it. */
cJSON *stored_verdicts_json(sqlite3 *db, const char *run_id);

/* Stores run (canonical JSON doc) through db, inside the caller's write
 * transaction, and when it is new judges it and refreshes its series' change
 * points: the one ingest path of uploads and merged orchestrated runs.
 * STORE_ERROR with err on failure (the caller rolls back). */
enum store_put collector_store_run(sqlite3 *db, const struct collector *col, const rb_run *run,
                                   const char *doc, char *err);

/* Stored verdict counts of run_id as {"status": ..., "regression": n, ...};
 * caller owns the result. */
cJSON *verdict_summary(sqlite3 *db, const char *run_id);

#endif
