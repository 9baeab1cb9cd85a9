/* ops_api.c -- operations endpoints: GET /metrics (Prometheus text format) with
 * the request counters serve.c feeds, and GET/POST /api/v1/prices. */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collector.h"
#include "pagecache.h"
#include "util.h"

#define MET_ROUTES 48   /* route slots; one more counts requests that matched none */
#define MET_CODE_MIN 100
#define MET_CODES 500   /* status codes 100..599 */

/* Request latency buckets, seconds (Prometheus `le`). */
static const double met_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                     0.05,   0.1,   0.25,   0.5,   1,    2.5, 5, 10};
#define MET_BUCKETS (sizeof met_buckets / sizeof met_buckets[0])

/* The process's request counters: lock-free, written by every HTTP thread,
 * read by GET /metrics. Counters only grow (Prometheus counters). */
static struct {
    _Atomic(const char *) method[MET_ROUTES + 1];    /* static strings of serve.c's routes[] */
    _Atomic(const char *) pattern[MET_ROUTES + 1];
    atomic_ulong requests[MET_ROUTES + 1][MET_CODES];
    atomic_ulong le[MET_ROUTES + 1][MET_BUCKETS];    /* non-cumulative; summed when printed */
    atomic_ulong count[MET_ROUTES + 1];
    atomic_ulong sum_ns[MET_ROUTES + 1];
    atomic_ulong runs_ingested;
} met;

void metrics_observe(struct MHD_Connection *c, int route, const char *method, const char *pattern,
                     uint64_t start_ns)
{
    uint64_t ns = now_ns() - start_ns;
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_HTTP_STATUS);
    unsigned status = ci ? ci->http_status : 0;
    if (status < MET_CODE_MIN || status >= MET_CODE_MIN + MET_CODES) return; /* no answer sent */
    int slot = route >= 0 && route < MET_ROUTES ? route : MET_ROUTES;
    if (slot < MET_ROUTES && method && pattern) {
        atomic_store(&met.method[slot], method);
        atomic_store(&met.pattern[slot], pattern);
    }
    atomic_fetch_add(&met.requests[slot][status - MET_CODE_MIN], 1);
    double s = (double)ns / 1e9;
    size_t b = 0;
    while (b < MET_BUCKETS && s > met_buckets[b]) b++;
    if (b < MET_BUCKETS) atomic_fetch_add(&met.le[slot][b], 1);
    atomic_fetch_add(&met.count[slot], 1);
    atomic_fetch_add(&met.sum_ns[slot], ns);
    /* A new run is exactly a 201 from POST /api/v1/runs. */
    if (status == 201 && method && pattern && !strcmp(method, "POST") && !strcmp(pattern, "/api/v1/runs"))
        atomic_fetch_add(&met.runs_ingested, 1);
}

/* Resident set size of this process, bytes; 0 if unknown. */
static unsigned long long rss_bytes(void)
{
    unsigned long long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return 0;
    if (fscanf(f, "%llu %llu", &size, &resident) != 2) resident = 0;
    fclose(f);
    return resident * (unsigned long long)sysconf(_SC_PAGESIZE);
}

static long long one_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    long long v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return -1;
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* The one integer sql yields with ?1 bound to v; -1 on error. */
static long long one_int_at(sqlite3 *db, const char *sql, long long v)
{
    sqlite3_stmt *st;
    long long out = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return -1;
    sqlite3_bind_int64(st, 1, v);
    if (sqlite3_step(st) == SQLITE_ROW) out = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return out;
}

static void labels(buf *b, int slot)
{
    const char *m = atomic_load(&met.method[slot]), *p = atomic_load(&met.pattern[slot]);
    /* Route patterns are fixed strings of serve.c without quotes or backslashes. */
    buf_printf(b, "method=\"%s\",route=\"%s\"", m ? m : "", p ? p : "(unmatched)");
}

enum MHD_Result api_metrics(const struct request *r)
{
    sqlite3 *db = store_reader(r->col->st);
    long long page_count = one_int(db, "PRAGMA page_count");
    long long page_size = one_int(db, "PRAGMA page_size");
    long long runs = one_int(db, "SELECT count(*) FROM runs");
    long long results = one_int(db, "SELECT count(*) FROM results");
    /* Leases live until lease_expires_ms (orch_expire hands back those below now). */
    long long now_ms = (long long)(wall_ns() / 1000000u);
    long long leases = one_int_at(db, "SELECT count(*) FROM tasks WHERE status = 'leased' "
                                      "AND lease_expires_ms >= ?1", now_ms);
    long long lag_ms = one_int_at(db, "SELECT coalesce(max(?1 - next_due_ms), 0) FROM schedules "
                                      "WHERE enabled = 1 AND next_due_ms IS NOT NULL AND next_due_ms < ?1",
                                  now_ms);
    long long wal = -1;
    const char *fn = sqlite3_db_filename(db, "main");
    if (fn && *fn) {
        char wp[4096];
        struct stat sb;
        snprintf(wp, sizeof wp, "%s-wal", fn);
        wal = stat(wp, &sb) == 0 ? (long long)sb.st_size : 0;
    }
    store_reader_release(r->col->st, db);

    buf b;
    buf_init(&b, 4u << 20);
    buf_printf(&b, "# HELP redbench_build_info The running redbench version.\n"
                   "# TYPE redbench_build_info gauge\nredbench_build_info{version=\"%s\"} 1\n",
               RB_VERSION);
    if (r->col->pcache) {
        uint64_t hits, misses;
        pagecache_counts(r->col->pcache, &hits, &misses);
        buf_printf(&b, "# HELP redbench_page_cache_hits_total GET answers served from the page cache.\n"
                       "# TYPE redbench_page_cache_hits_total counter\nredbench_page_cache_hits_total %llu\n"
                       "# HELP redbench_page_cache_misses_total Cacheable GET answers that were made anew.\n"
                       "# TYPE redbench_page_cache_misses_total counter\nredbench_page_cache_misses_total %llu\n",
                   (unsigned long long)hits, (unsigned long long)misses);
    }
    buf_printf(&b, "# HELP redbench_runs_ingested_total Runs stored through POST /api/v1/runs since start.\n"
                   "# TYPE redbench_runs_ingested_total counter\nredbench_runs_ingested_total %lu\n",
               atomic_load(&met.runs_ingested));
    buf_puts(&b, "# HELP redbench_http_requests_total HTTP requests answered, by route and status code.\n"
                 "# TYPE redbench_http_requests_total counter\n");
    for (int s = 0; s <= MET_ROUTES; s++)
        for (int k = 0; k < MET_CODES; k++) {
            unsigned long n = atomic_load(&met.requests[s][k]);
            if (!n) continue;
            buf_puts(&b, "redbench_http_requests_total{");
            labels(&b, s);
            buf_printf(&b, ",code=\"%d\"} %lu\n", k + MET_CODE_MIN, n);
        }
    buf_puts(&b, "# HELP redbench_http_request_duration_seconds Time from request headers to the end "
                 "of the response, by route.\n"
                 "# TYPE redbench_http_request_duration_seconds histogram\n");
    for (int s = 0; s <= MET_ROUTES; s++) {
        unsigned long count = atomic_load(&met.count[s]), cum = 0;
        if (!count) continue;
        for (size_t k = 0; k < MET_BUCKETS; k++) {
            cum += atomic_load(&met.le[s][k]);
            buf_puts(&b, "redbench_http_request_duration_seconds_bucket{");
            labels(&b, s);
            buf_printf(&b, ",le=\"%g\"} %lu\n", met_buckets[k], cum);
        }
        buf_puts(&b, "redbench_http_request_duration_seconds_bucket{");
        labels(&b, s);
        buf_printf(&b, ",le=\"+Inf\"} %lu\n", count);
        buf_puts(&b, "redbench_http_request_duration_seconds_sum{");
        labels(&b, s);
        buf_printf(&b, "} %.9f\n", (double)atomic_load(&met.sum_ns[s]) / 1e9);
        buf_puts(&b, "redbench_http_request_duration_seconds_count{");
        labels(&b, s);
        buf_printf(&b, "} %lu\n", count);
    }
    if (page_count >= 0 && page_size > 0)
        buf_printf(&b, "# HELP redbench_db_size_bytes Warehouse main file size (page_count * page_size).\n"
                       "# TYPE redbench_db_size_bytes gauge\nredbench_db_size_bytes %lld\n",
                   page_count * page_size);
    if (wal >= 0)
        buf_printf(&b, "# HELP redbench_db_wal_bytes Size of the warehouse's write-ahead log file.\n"
                       "# TYPE redbench_db_wal_bytes gauge\nredbench_db_wal_bytes %lld\n", wal);
    if (runs >= 0)
        buf_printf(&b, "# HELP redbench_runs_total Runs stored in the warehouse.\n"
                       "# TYPE redbench_runs_total gauge\nredbench_runs_total %lld\n", runs);
    if (results >= 0)
        buf_printf(&b, "# HELP redbench_results_total Results stored in the warehouse.\n"
                       "# TYPE redbench_results_total gauge\nredbench_results_total %lld\n", results);
    if (leases >= 0)
        buf_printf(&b, "# HELP redbench_active_leases Orchestrator tasks leased to a worker whose lease "
                       "has not expired.\n"
                       "# TYPE redbench_active_leases gauge\nredbench_active_leases %lld\n", leases);
    if (lag_ms >= 0)
        buf_printf(&b, "# HELP redbench_schedule_lag_seconds How far the most overdue enabled schedule "
                       "is past its next due time (0: none overdue).\n"
                       "# TYPE redbench_schedule_lag_seconds gauge\nredbench_schedule_lag_seconds %.3f\n",
                   (double)lag_ms / 1000);
    {
        long long aq;
        double alag;
        unsigned long long adone;
        analysis_gauges(r->col, &aq, &alag, &adone);
        if (aq >= 0)
            buf_printf(&b, "# HELP redbench_analysis_queue_runs Runs committed and not analysed yet "
                           "(verdict_status 'pending').\n"
                           "# TYPE redbench_analysis_queue_runs gauge\nredbench_analysis_queue_runs %lld\n"
                           "# HELP redbench_analysis_lag_seconds Age of the oldest pending run's commit "
                           "(0: none pending).\n"
                           "# TYPE redbench_analysis_lag_seconds gauge\nredbench_analysis_lag_seconds %.3f\n",
                       aq, alag);
        buf_printf(&b, "# HELP redbench_analysis_runs_total Runs analysed since start.\n"
                       "# TYPE redbench_analysis_runs_total counter\nredbench_analysis_runs_total %llu\n",
                   adone);
    }
    buf_printf(&b, "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
                   "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes %llu\n",
               rss_bytes());
    if (b.toobig) {
        buf_cleanup(&b);
        return respond_error(r->conn, 500, "metrics output too large");
    }
    size_t len = b.len;
    char *text = buf_take(&b);
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    enum MHD_Result ret = MHD_queue_response(r->conn, 200, resp);
    MHD_destroy_response(resp);
    return ret;
}

enum MHD_Result api_prices_get(const struct request *r)
{
    char err[RB_ERR_LEN];
    sqlite3 *db = store_reader(r->col->st);
    cJSON *j = prices_json(db, err);
    store_reader_release(r->col->st, db);
    if (!j) return respond_error(r->conn, 500, "%s", err);
    return respond_json(r->conn, 200, j);
}

enum MHD_Result api_prices_post(const struct request *r)
{
    cJSON *body = cJSON_ParseWithLength(r->body, r->body_len);
    cJSON *errors = cJSON_CreateObject();
    struct machine_price p;
    char err[RB_ERR_LEN];
    if (!body) {
        cJSON_Delete(errors);
        return respond_error(r->conn, 400, "malformed JSON");
    }
    if (price_from_json(body, &p, errors) < 0) {
        /* The first field named in "error"; all of them under "fields". */
        cJSON *ans = cJSON_CreateObject();
        char msg[RB_ERR_LEN];
        snprintf(msg, sizeof msg, "%s: %s", errors->child->string, errors->child->valuestring);
        cJSON_AddStringToObject(ans, "error", msg);
        cJSON_AddItemToObject(ans, "fields", errors);
        cJSON_Delete(body);
        return respond_json(r->conn, 400, ans);
    }
    cJSON_Delete(errors);
    cJSON_Delete(body);
    sqlite3 *db = store_writer_lock(r->col->st);
    enum price_put put = price_put(db, &p, err);
    store_writer_unlock(r->col->st);
    if (put == PRICE_BAD_GROUP) return respond_error(r->conn, 400, "%s", err);
    if (put == PRICE_ERROR) {
        fprintf(stderr, "redbench serve: price update failed: %s\n", err);
        return respond_error(r->conn, 500, "%s", err);
    }
    fprintf(stderr, "redbench serve: price %s %s/%lld MB (%s) from %s: %.10g USD/s %s\n", p.provider,
            p.preset, p.memory_mb, p.region_group, p.effective_date, p.usd_per_second,
            put == PRICE_CREATED ? "added" : "updated");
    cJSON *ans = cJSON_CreateObject();
    cJSON_AddStringToObject(ans, "status", put == PRICE_CREATED ? "created" : "updated");
    cJSON_AddStringToObject(ans, "provider", p.provider);
    cJSON_AddStringToObject(ans, "preset", p.preset);
    cJSON_AddStringToObject(ans, "region_group", p.region_group);
    cJSON_AddNumberToObject(ans, "memory_mb", (double)p.memory_mb);
    cJSON_AddNumberToObject(ans, "usd_per_second", p.usd_per_second);
    cJSON_AddStringToObject(ans, "effective_date", p.effective_date);
    cJSON_AddStringToObject(ans, "source", p.source);
    return respond_json(r->conn, put == PRICE_CREATED ? 201 : 200, ans);
}
