/* collector.h -- what the collector's HTTP layer, API handlers and pages share. */
#ifndef RB_COLLECTOR_H
#define RB_COLLECTOR_H

#include <cjson/cJSON.h>
#include <stdint.h>
#include <microhttpd.h>

#include "analyze.h"
#include "sqlq.h"
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
    struct analysis *an;    /* the analysis thread (collector/analysis.c); NULL before it starts */
    struct ingest *ing;     /* group commit of uploads (collector/ingest.c) */
    const char *web_dir;    /* templates/ and static/ live here (--web, $REDBENCH_WEB, RB_WEBDIR) */
    struct sqlq_pool *qpool; /* locked-down read-only connections of /api/v1/query and /sql (lib/sqlq.h) */
    cJSON *sql_examples;    /* [{"title", "sql"}] from docs/queries.md for /sql; read-only after start */
    struct pagecache *pcache; /* answers of read-only GET routes (collector/pagecache.h); NULL: off */
};

/* A request as the handlers see it: the route's captured path segment and
 * the complete body. */
struct request {
    struct MHD_Connection *conn;
    const struct collector *col;
    const char *param;      /* e.g. the run id of /runs/{id}; NULL if none */
    const char *body;
    size_t body_len;
    int *role;              /* the token's role, looked up once (request_has_role) */
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
/* The SQL page (collector/page_sql.c): GET /sql?q= (the box, a result table;
 * &format=csv the CSV) and GET /sql.csv?q= (the CSV download). */
enum MHD_Result page_sql(const struct request *r);
enum MHD_Result page_sql_csv(const struct request *r);
/* POST /sql: the same as GET /sql with q (and format) from a form body
 * (application/x-www-form-urlencoded), for SQL too long for a URL. */
enum MHD_Result page_sql_post(const struct request *r);
/* The example queries of a docs/queries.md-style file: every ```sql block with
 * the text line before it as its title, as [{"title", "sql"}, ...]; caller
 * owns it. NULL with err if the file cannot be read (none found: []). */
cJSON *sql_examples_load(const char *path, char *err);
/* Answers a failed sqlq run (collector/query_api.c) as {"error": err}: 400
 * refused or SQL error, 408 time limit, 503 open failure, and 503 with
 * "Retry-After: 1" when the query pool stayed busy (SQLQ_BUSY). */
enum MHD_Result query_failed(struct MHD_Connection *c, enum sqlq_status st, const char *err);
/* Answers 200 with a query's result (takes res's data): content type ctype,
 * Content-Disposition disposition when not NULL, and the X-Redbench-Rows,
 * -Truncated and -Cached headers of info. */
enum MHD_Result query_respond(struct MHD_Connection *c, buf *res, const sqlq_info *info, const char *ctype,
                              const char *disposition);

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

/* Static assets (collector/static.c): GET /static/NAME from web_dir/static,
 * fixed MIME types by extension, Cache-Control a day, ETag + If-None-Match
 * 304; 404 for an unsafe name, an unknown extension or a missing file. */
enum MHD_Result page_static(const struct request *r);
/* 1 if name is a safe asset file name: [A-Za-z0-9._-], not starting with '.',
 * no "..", at most 100 bytes; else 0. */
int static_name_ok(const char *name);
/* The MIME type served for asset name (by extension), NULL if it is unsafe or
 * its extension is not served. A static string. */
const char *static_mime(const char *name);

/* Series trend page and its JSON (collector/page_trends.c, docs/dashboard.md, docs/api.md). */
enum MHD_Result page_trends(const struct request *r);
enum MHD_Result api_series(const struct request *r);
/* GET /api/v1/report?project=P&branch=B: BENCHMARK_RESULTS.md as text/markdown,
 * made by analyzer/report.c on a reader (collector/report_api.c, docs/report.md). */
enum MHD_Result api_report(const struct request *r);

/* Deployment modes, cost, orchestrated benchmarks pages (collector/page_modes.c,
 * page_cost.c, page_bench.c; docs/dashboard.md). */
enum MHD_Result page_modes(const struct request *r);
enum MHD_Result page_cost(const struct request *r);
enum MHD_Result page_benchmarks(const struct request *r);
enum MHD_Result page_benchmark(const struct request *r);
/* The status of benchmark id as GET /benchmark/status/{id} answers it
 * (docs/orchestrated.md), ages measured from now_ms (Unix ms); caller owns
 * it. NULL if there is no such benchmark or on a database error. */
cJSON *orch_status_json(sqlite3 *db, const char *id, int64_t now_ms);
/* The project and branch a dashboard page shows (collector/page_modes.c): the
 * query's project/branch, else the latest run's project and its branch "main" (or
 * its latest branch); written to project and branch (len bytes each) and added to
 * data with the choices "projects" and "branches" for the filter form. */
void page_scope(const struct request *r, sqlite3 *db, cJSON *data, char *project, char *branch, size_t len);
/* Appends {"name", "selected"} to names for each operation measured by the 20
 * latest runs of project/branch, sorted; selected when it equals sel (may be NULL). */
void op_choices(sqlite3 *db, const char *project, const char *branch, const char *sel, cJSON *names);

/* The analysis thread (collector/analysis.c): judges committed runs that are
 * still pending (runs.analyzed_at NULL) in commit order, outside the ingest
 * transaction; refreshes each touched series' change points once per batch
 * (docs/api.md). analysis_start: at start-up, before the HTTP daemon; it takes
 * the runs left pending by a previous process first. 0 or -1 with err.
 * Environment REDBENCH_ANALYSIS_PAUSE=1 (a test knob) keeps runs pending.
 * analysis_stop wakes every waiter and joins the thread; analysis_free (after
 * the HTTP daemon stopped) stops it if needed and frees it. */
int analysis_start(struct collector *col, char *err);
void analysis_stop(struct collector *col);
void analysis_free(struct collector *col);
/* Tells the thread that runs were committed (call after the COMMIT). */
void analysis_kick(const struct collector *col);
/* Waits at most timeout_ms until run_id is analysed: 1 analysed, 0 still
 * pending (time out, stop, or not stored). Blocks the calling thread. */
int analysis_wait(const struct collector *col, const char *run_id, long timeout_ms);
/* For GET /metrics: runs pending (-1 if unknown), the age in seconds of the
 * oldest pending run's commit (0 when none), runs analysed since start. */
void analysis_gauges(const struct collector *col, long long *queued, double *lag_s,
                     unsigned long long *analysed);

/* Group commit of uploads (collector/ingest.c). ingest_start before the HTTP
 * daemon starts, ingest_free after it stopped. ingest_commit stores run
 * (canonical JSON doc) through collector_store_run in one transaction with
 * the other runs waiting for the writer at that moment, each under its own
 * savepoint, and returns after that COMMIT (synchronous=FULL), then kicks the
 * analysis thread. STORE_ERROR with err (a failed COMMIT fails every run of
 * the group); blocks the calling thread. */
void ingest_start(struct collector *col);
void ingest_free(struct collector *col);
enum store_put ingest_commit(const struct collector *col, const rb_run *run, const char *doc, char *err);

/* HTML pages (collector/pages.c). */
enum MHD_Result page_index(const struct request *r);
enum MHD_Result page_run(const struct request *r);
/* Compare two runs (collector/page_compare.c), triage and login forms
 * (pages.c, page_login.c; docs/dashboard.md). */
enum MHD_Result page_compare(const struct request *r);
enum MHD_Result page_triage_post(const struct request *r);
enum MHD_Result page_login(const struct request *r);
enum MHD_Result page_login_post(const struct request *r);
enum MHD_Result page_logout_post(const struct request *r);
/* Answers 404 with the notfound template: "There is no WHAT with id ID". */
enum MHD_Result page_not_found(const struct request *r, const char *what, const char *id);
/* o[k] = the first n bytes of s ("" for NULL), e.g. a short run id. */
void page_add_short(cJSON *o, const char *k, const char *s, int n);
/* Column i of st as a double, NAN for NULL. */
double page_col_num(sqlite3_stmt *st, int i);
/* Form posts (application/x-www-form-urlencoded bodies; page_login.c).
 * form_field: decodes the first field name of r's body into out (outlen
 * bytes); 1 found, 0 absent, -1 too long or badly encoded. */
int form_field(const struct request *r, const char *name, char *out, size_t outlen);
/* The cross-site check of a form post: 1 if the request carries an
 * Authorization bearer token (no ambient credential) or its Origin (else
 * Referer) names the Host it was sent to; 0 otherwise (answer 403). */
int page_same_origin(const struct request *r);
/* The form field's value if it is a local path ("/..." not "//..."), else
 * fallback; out (outlen bytes) holds the value. */
const char *page_back(const struct request *r, const char *field, char *out, size_t outlen,
                      const char *fallback);
/* Answers 303 See Other to location (a local path, else "/"), with a
 * Set-Cookie header when cookie is not NULL. */
enum MHD_Result page_redirect(const struct request *r, const char *location, const char *cookie);

/* Renders template name of web/templates with data (taken: freed here) as
 * the answer with status. Every page gets these keys added to its data:
 * version, can_query and can_admin (the requester's token grants the role:
 * show the SQL box, the triage buttons), logged_in (a valid token: the header
 * offers "Log out" instead of "Log in"). A render error answers 500. */
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
 * transaction, pending analysis: the one ingest path of uploads and merged
 * orchestrated runs. After its COMMIT the caller calls analysis_kick(); the
 * analysis thread judges it and refreshes its series' change points.
 * STORE_ERROR with err on failure (the caller rolls back). */
enum store_put collector_store_run(sqlite3 *db, const struct collector *col, const rb_run *run,
                                   const char *doc, char *err);

/* Stored verdict counts of run_id as {"status": ..., "regression": n, ...};
 * status is "pending" until the run is analysed; caller owns the result. */
cJSON *verdict_summary(sqlite3 *db, const char *run_id);

#endif
