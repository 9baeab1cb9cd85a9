/* test_sqlq.c -- the read-only query engine on a temporary warehouse file:
 * allowed queries and their output, refusals, limits, nothing written; the
 * pool: a connection stays right after a stopped, refused or failed query,
 * concurrent queries, a bounded wait when every connection is busy; the
 * per-connection answer cache and its invalidation by a commit. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sqlq.h"
#include "store.h"
#include "testhelp.h"
#include "util.h"
#include "testdb.h"

static char db_path[64];

/* Runs sql with the default limits (or lim) and returns the status; out holds the output. */
static enum sqlq_status run(const char *sql, enum sqlq_format f, const sqlq_limits *lim, buf *out,
                            sqlq_info *info, char *err)
{
    buf_reset(out);
    err[0] = '\0';
    return sqlq_run(db_path, sql, f, lim, out, info, err);
}

static long long count_rows(const char *table)
{
    char err[RB_ERR_LEN], sql[128];
    sqlite3 *db = store_open_readonly(db_path, err);
    sqlite3_stmt *st;
    long long n = -1;
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    if (db && sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return n;
}

static void setup(void)
{
    char err[RB_ERR_LEN];
    snprintf(db_path, sizeof db_path, "/tmp/test_sqlq.XXXXXX");
    int fd = mkstemp(db_path);
    if (fd >= 0) close(fd);
    unlink(db_path);
    store *s = store_open(db_path, err);
    if (!s) {
        fprintf(stderr, "store_open: %s\n", err);
        exit(1);
    }
    sqlite3 *db = store_writer_lock(s);
    const char *seed =
        "INSERT INTO runs(id, project, branch, commit_sha, mode, started_at, ended_at, document, ingested_at)"
        " VALUES ('r1','p','main','c1','single','2026-01-01T00:00:00Z','2026-01-01T00:01:00Z','{}','x'),"
        "        ('r2','p','feature','c2','single','2026-01-02T00:00:00Z','2026-01-02T00:01:00Z','{}','x');"
        "INSERT INTO results(run_id, series_key, scenario, op, data_type, concurrency, pipeline, value_size,"
        " dataset_size, requests, errors, ops_per_sec, p50_us, p90_us, p95_us, p99_us, p999_us, max_us, mean_us,"
        " latency_hist, server_cpu_user_s, server_cpu_sys_s)"
        " VALUES ('r1','k/set','set','set','string',4,1,64,500,1000,0,1000.5,10,20,30,40,50,60,15,'h1:',0.5,0.5),"
        "        ('r2','k/set','set','set','string',4,1,64,500,1000,2,900,11,21,31,45,55,65,16,'h1:',0.6,0.4);";
    if (store_exec(db, seed, err) < 0) {
        fprintf(stderr, "seed: %s\n", err);
        exit(1);
    }
    store_writer_unlock(s);
    store_close(s);
}

static void test_select_json(void)
{
    buf out;
    buf_init(&out, 1 << 20);
    char err[RB_ERR_LEN];
    sqlq_info info;
    CHECK(run("SELECT id, branch, 1.5 AS x, NULL AS n, 'a\"b\n' AS s FROM runs ORDER BY id", SQLQ_JSON,
              NULL, &out, &info, err) == SQLQ_OK);
    CHECK(strncmp(out.data, "{\"columns\":[\"id\",\"branch\",\"x\",\"n\",\"s\"],\"rows\":"
                            "[[\"r1\",\"main\",1.5,null,\"a\\\"b\\n\"],[\"r2\",\"feature\",1.5,null,\"a\\\"b\\n\"]],"
                            "\"truncated\":false,\"elapsed_ms\":",
                  strlen("{\"columns\":[\"id\",\"branch\",\"x\",\"n\",\"s\"],\"rows\":"
                         "[[\"r1\",\"main\",1.5,null,\"a\\\"b\\n\"],[\"r2\",\"feature\",1.5,null,\"a\\\"b\\n\"]],"
                         "\"truncated\":false,\"elapsed_ms\":")) == 0);
    CHECK(info.rows == 2 && !info.truncated);
    buf_cleanup(&out);
}

static void test_select_csv(void)
{
    buf out;
    buf_init(&out, 1 << 20);
    char err[RB_ERR_LEN];
    CHECK(run("SELECT 'a,b' AS \"x,y\", 2 AS n, NULL AS z, x'00ff' AS b; -- trailing comment", SQLQ_CSV,
              NULL, &out, NULL, err) == SQLQ_OK);
    CHECK_STREQ(out.data, "\"x,y\",n,z,b\r\n\"a,b\",2,,00ff\r\n");
    buf_cleanup(&out);
}

static void test_views(void)
{
    buf out;
    buf_init(&out, 1 << 20);
    char err[RB_ERR_LEN];
    sqlq_info info;
    CHECK(run("SELECT series_key, runs, last_run_id, last_ops_per_sec FROM series", SQLQ_CSV, NULL, &out,
              &info, err) == SQLQ_OK);
    CHECK_STREQ(out.data, "series_key,runs,last_run_id,last_ops_per_sec\r\nk/set,2,r2,900\r\n");
    CHECK(run("SELECT id, results, errors, verdict FROM run_summary ORDER BY id", SQLQ_CSV, NULL, &out, &info,
              err) == SQLQ_OK);
    CHECK_STREQ(out.data, "id,results,errors,verdict\r\nr1,1,0,pass\r\nr2,1,2,pass\r\n");
    CHECK(run("SELECT branch, ops_per_sec FROM result_latest ORDER BY branch", SQLQ_CSV, NULL, &out, &info,
              err) == SQLQ_OK);
    CHECK_STREQ(out.data, "branch,ops_per_sec\r\nfeature,900\r\nmain,1000.5\r\n");
    CHECK(run("SELECT server_cpu_us_per_op FROM results_full WHERE run_id = 'r1'", SQLQ_CSV, NULL, &out, &info,
              err) == SQLQ_OK);
    CHECK_STREQ(out.data, "server_cpu_us_per_op\r\n1000\r\n");
    CHECK(run("SELECT count(*) FROM verdicts_open", SQLQ_JSON, NULL, &out, &info, err) == SQLQ_OK);
    CHECK(run("WITH x AS (SELECT 1 AS a) SELECT a FROM x", SQLQ_CSV, NULL, &out, &info, err) == SQLQ_OK);
    CHECK(run("VALUES (1), (2)", SQLQ_CSV, NULL, &out, &info, err) == SQLQ_OK);
    CHECK(run("EXPLAIN QUERY PLAN SELECT * FROM runs", SQLQ_CSV, NULL, &out, &info, err) == SQLQ_OK);
    buf_cleanup(&out);
}

static void test_refusals(void)
{
    static const struct {
        const char *sql;
        const char *why;
    } bad[] = {
        {"INSERT INTO runs(id) VALUES ('x')", "refused: INSERT runs"},
        {"UPDATE runs SET branch = 'x'", "refused: UPDATE runs"},
        {"DELETE FROM runs", "refused: DELETE runs"},
        {"DROP TABLE samples", "refused: a schema change"},
        {"CREATE TABLE t(x)", "refused"},
        {"CREATE TEMP TABLE t(x)", "refused"},
        {"CREATE TEMP VIEW v AS SELECT 1", "refused"},
        {"ATTACH DATABASE '/tmp/test_sqlq_attach.db' AS x", "refused: ATTACH"},
        {"DETACH DATABASE main", "refused"},
        {"PRAGMA writable_schema = ON", "refused: PRAGMA writable_schema"},
        {"PRAGMA journal_mode = DELETE", "refused: PRAGMA journal_mode"},
        {"PRAGMA table_info(runs)", "refused: PRAGMA table_info"},
        {"SELECT * FROM pragma_table_info('runs')", "refused"},
        {"SELECT load_extension('/tmp/nothing.so')", "refused: function load_extension()"},
        {"BEGIN", "refused: a transaction statement"},
        {"BEGIN IMMEDIATE", "refused"},
        {"COMMIT", "refused"},
        {"SAVEPOINT a", "refused"},
        {"VACUUM", "refused"},
        {"VACUUM INTO '/tmp/test_sqlq_copy.db'", "refused"},
        {"ANALYZE", "refused"},
        {"REINDEX", "refused"},
        {"SELECT 1; SELECT 2", "refused: only one SQL statement"},
        {"SELECT 1; DROP TABLE runs", "refused: only one SQL statement"},
        {"SELECT 1; garbage", "refused: only one SQL statement"},
        {"WITH x AS (SELECT 1) DELETE FROM runs", "refused: DELETE runs"},
        {"", "no SQL statement"},
        {"-- nothing", "no SQL statement"},
    };
    buf out;
    buf_init(&out, 1 << 20);
    char err[RB_ERR_LEN];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        enum sqlq_status st = run(bad[i].sql, SQLQ_JSON, NULL, &out, NULL, err);
        if (st != SQLQ_REFUSED || !strstr(err, bad[i].why)) {
            fprintf(stderr, "  %s: status %d, err '%s', want '%s'\n", bad[i].sql, st, err, bad[i].why);
            th_cur_fail++;
        }
    }
    CHECK(run("SELECT * FROM no_such_table", SQLQ_JSON, NULL, &out, NULL, err) == SQLQ_SQL);
    CHECK(strstr(err, "no such table") != NULL);
    CHECK(run("SELEC 1", SQLQ_JSON, NULL, &out, NULL, err) == SQLQ_SQL);
    CHECK(access("/tmp/test_sqlq_copy.db", F_OK) != 0);
    CHECK(count_rows("runs") == 2 && count_rows("results") == 2);
    buf_cleanup(&out);
}

static void test_limits(void)
{
    buf out;
    buf_init(&out, 1 << 20);
    char err[RB_ERR_LEN];
    sqlq_info info;
    sqlq_limits lim;

    /* Runaway recursion: stopped by the time limit, promptly. */
    sqlq_limits_default(&lim);
    lim.timeout_ms = 300;
    uint64_t t0 = now_ns();
    CHECK(run("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c",
              SQLQ_JSON, &lim, &out, NULL, err) == SQLQ_TIMEOUT);
    double ms = (double)(now_ns() - t0) / 1e6;
    CHECK(ms >= 250 && ms < 5000); /* unlimited, it would run for ever; 5 s: a loaded machine */
    CHECK(strstr(err, "time limit of 300 ms") != NULL);

    /* Row cap: truncated, still valid output. */
    sqlq_limits_default(&lim);
    lim.max_rows = 5;
    CHECK(run("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c LIMIT 100) SELECT x FROM c",
              SQLQ_CSV, &lim, &out, &info, err) == SQLQ_OK);
    CHECK(info.rows == 5 && info.truncated);
    CHECK_STREQ(out.data, "x\r\n1\r\n2\r\n3\r\n4\r\n5\r\n");
    CHECK(run("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c LIMIT 5) SELECT x FROM c",
              SQLQ_JSON, &lim, &out, &info, err) == SQLQ_OK);
    CHECK(info.rows == 5 && !info.truncated);
    CHECK(strstr(out.data, "\"truncated\":false") != NULL);
    CHECK(run("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c LIMIT 6) SELECT x FROM c",
              SQLQ_JSON, &lim, &out, &info, err) == SQLQ_OK);
    CHECK(info.truncated && strstr(out.data, "[5]],\"truncated\":true") != NULL);

    /* Output cap: rows that do not fit are dropped, the JSON stays whole. */
    sqlq_limits_default(&lim);
    lim.max_output = 1000;
    CHECK(run("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c LIMIT 1000) SELECT x FROM c",
              SQLQ_JSON, &lim, &out, &info, err) == SQLQ_OK);
    CHECK(info.truncated && out.len <= 1000 && info.rows > 10);
    CHECK(strstr(out.data, "],\"truncated\":true,\"elapsed_ms\":") != NULL);

    /* Value size, SQL length, program size. */
    CHECK(run("SELECT randomblob(2000000)", SQLQ_JSON, NULL, &out, NULL, err) == SQLQ_SQL);
    CHECK(strstr(err, "too big") != NULL);
    sqlq_limits_default(&lim);
    lim.max_sql_len = 100;
    char longsql[300];
    snprintf(longsql, sizeof longsql, "SELECT '%0200d'", 0);
    CHECK(run(longsql, SQLQ_JSON, &lim, &out, NULL, err) == SQLQ_REFUSED);
    buf big;
    buf_init(&big, 1 << 20);
    buf_puts(&big, "SELECT 0");
    for (int i = 0; i < 8000; i++) buf_puts(&big, "+1");
    CHECK(run(big.data, SQLQ_JSON, NULL, &out, NULL, err) == SQLQ_SQL);
    buf_cleanup(&big);
    CHECK(run("SELECT 1", SQLQ_JSON, NULL, &out, NULL, err) == SQLQ_OK);
    buf_cleanup(&out);
}

/* The CELLS format: every value a string but NULL, exact integers. */
static void test_cells(void)
{
    buf out;
    buf_init(&out, 1 << 20);
    char err[RB_ERR_LEN];
    CHECK(run("SELECT 9007199254740993 AS big, 1.5 AS r, NULL AS n, 'a<b' AS s, x'0aff' AS b", SQLQ_CELLS, NULL,
              &out, NULL, err) == SQLQ_OK);
    CHECK(strncmp(out.data, "{\"columns\":[\"big\",\"r\",\"n\",\"s\",\"b\"],\"rows\":"
                            "[[\"9007199254740993\",\"1.5\",null,\"a<b\",\"0aff\"]],\"truncated\":false,",
                  strlen("{\"columns\":[\"big\",\"r\",\"n\",\"s\",\"b\"],\"rows\":"
                         "[[\"9007199254740993\",\"1.5\",null,\"a<b\",\"0aff\"]],\"truncated\":false,")) == 0);
    CHECK(sqlq_format_parse("cells") == -1);
    buf_cleanup(&out);
}

#define RUNAWAY "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c"

/* One pooled connection: after a stopped, a refused and a failing query it
 * still answers a good query right, and refusals stay refusals. */
static void test_pool_reuse(void)
{
    char err[RB_ERR_LEN];
    buf out;
    buf_init(&out, 1 << 20);
    sqlq_info info;
    sqlq_limits lim;
    sqlq_limits_default(&lim);
    lim.timeout_ms = 200;
    sqlq_pool *p = sqlq_pool_new(db_path, 1, 1000, err);
    CHECK(p != NULL);
    if (!p) return;
    CHECK(sqlq_pool_size(p) == 1 && sqlq_pool_wait_ms(p) == 1000);
    static const char good[] = "SELECT id, branch FROM runs ORDER BY id";
    static const char want[] = "id,branch\r\nr1,main\r\nr2,feature\r\n";
    for (int round = 0; round < 3; round++) {
        buf_reset(&out);
        CHECK(sqlq_pool_run(p, RUNAWAY, SQLQ_JSON, &lim, &out, NULL, err) == SQLQ_TIMEOUT);
        buf_reset(&out);
        CHECK(sqlq_pool_run(p, good, SQLQ_CSV, &lim, &out, &info, err) == SQLQ_OK);
        CHECK_STREQ(out.data, want);
        buf_reset(&out);
        CHECK(sqlq_pool_run(p, "DELETE FROM runs", SQLQ_CSV, NULL, &out, NULL, err) == SQLQ_REFUSED);
        CHECK(strstr(err, "refused: DELETE runs") != NULL);
        buf_reset(&out);
        CHECK(sqlq_pool_run(p, good, SQLQ_CSV, NULL, &out, &info, err) == SQLQ_OK);
        CHECK_STREQ(out.data, want);
        buf_reset(&out);
        CHECK(sqlq_pool_run(p, "BEGIN", SQLQ_CSV, NULL, &out, NULL, err) == SQLQ_REFUSED);
        CHECK(sqlq_pool_run(p, "SELECT * FROM no_such_table", SQLQ_CSV, NULL, &out, NULL, err) == SQLQ_SQL);
        CHECK(sqlq_pool_run(p, "SELECT randomblob(2000000)", SQLQ_CSV, NULL, &out, NULL, err) == SQLQ_SQL);
        CHECK(sqlq_pool_run(p, "PRAGMA query_only = OFF", SQLQ_CSV, NULL, &out, NULL, err) == SQLQ_REFUSED);
        CHECK(sqlq_pool_run(p, "ATTACH DATABASE '/tmp/test_sqlq_pool.db' AS x", SQLQ_CSV, NULL, &out, NULL, err) ==
              SQLQ_REFUSED);
        /* A lowered limit of one query does not stay for the next. */
        sqlq_limits few;
        sqlq_limits_default(&few);
        few.max_rows = 1;
        buf_reset(&out);
        CHECK(sqlq_pool_run(p, good, SQLQ_CSV, &few, &out, &info, err) == SQLQ_OK);
        CHECK(info.rows == 1 && info.truncated);
        buf_reset(&out);
        CHECK(sqlq_pool_run(p, good, SQLQ_CSV, NULL, &out, &info, err) == SQLQ_OK);
        CHECK(info.rows == 2 && !info.truncated);
        CHECK_STREQ(out.data, want);
        /* Many rows stopped by the row cap mid-statement, then a good query. */
        buf_reset(&out);
        CHECK(sqlq_pool_run(p, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c LIMIT 50) SELECT x FROM c",
                            SQLQ_CSV, &few, &out, &info, err) == SQLQ_OK);
        CHECK(info.truncated);
        buf_reset(&out);
        CHECK(sqlq_pool_run(p, good, SQLQ_CSV, NULL, &out, &info, err) == SQLQ_OK);
        CHECK_STREQ(out.data, want);
    }
    CHECK(access("/tmp/test_sqlq_pool.db", F_OK) != 0);
    CHECK(count_rows("runs") == 2);
    sqlq_pool_free(p);
    buf_cleanup(&out);
}

struct worker {
    sqlq_pool *p;
    int id;
    int ok;         /* answers that were right */
    int busy;       /* SQLQ_BUSY answers */
    int other;      /* anything else */
};

/* 20 queries whose right answer depends on the worker's id. */
static void *pool_worker(void *arg)
{
    struct worker *w = arg;
    char err[RB_ERR_LEN], sql[160], want[96];
    buf out;
    buf_init(&out, 1 << 16);
    for (int i = 0; i < 20; i++) {
        int k = w->id * 100 + i;
        snprintf(sql, sizeof sql, "SELECT %d AS k, (SELECT count(*) FROM runs) AS n, (SELECT branch FROM runs WHERE id = 'r%d') AS b",
                 k, 1 + k % 2);
        snprintf(want, sizeof want, "k,n,b\r\n%d,2,%s\r\n", k, k % 2 ? "feature" : "main");
        buf_reset(&out);
        enum sqlq_status st = sqlq_pool_run(w->p, sql, SQLQ_CSV, NULL, &out, NULL, err);
        if (st == SQLQ_OK && strcmp(out.data, want) == 0)
            w->ok++;
        else if (st == SQLQ_BUSY)
            w->busy++;
        else
            w->other++;
    }
    buf_cleanup(&out);
    return NULL;
}

/* 8 threads share 3 connections with a generous wait: every answer right. */
static void test_pool_concurrent(void)
{
    char err[RB_ERR_LEN];
    sqlq_pool *p = sqlq_pool_new(db_path, 3, 30000, err);
    CHECK(p != NULL);
    if (!p) return;
    pthread_t th[8];
    struct worker w[8];
    for (int i = 0; i < 8; i++) {
        w[i] = (struct worker){.p = p, .id = i};
        CHECK(pthread_create(&th[i], NULL, pool_worker, &w[i]) == 0);
    }
    int ok = 0, bad = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        ok += w[i].ok;
        bad += w[i].busy + w[i].other;
    }
    CHECK(ok == 160 && bad == 0);
    sqlq_pool_free(p);
}

struct slow {
    sqlq_pool *p;
    enum sqlq_status st;
};

static void *slow_query(void *arg)
{
    struct slow *s = arg;
    char err[RB_ERR_LEN];
    buf out;
    buf_init(&out, 1 << 16);
    sqlq_limits lim;
    sqlq_limits_default(&lim);
    lim.timeout_ms = 1500;
    s->st = sqlq_pool_run(s->p, RUNAWAY, SQLQ_CSV, &lim, &out, NULL, err);
    buf_cleanup(&out);
    return NULL;
}

/* Every connection busy with a runaway query: another query gives up after
 * the wait with SQLQ_BUSY, before the runaways end; afterwards it runs. */
static void test_pool_busy(void)
{
    char err[RB_ERR_LEN];
    sqlq_pool *p = sqlq_pool_new(db_path, 2, 100, err);
    CHECK(p != NULL);
    if (!p) return;
    struct slow s[2] = {{p, SQLQ_OK}, {p, SQLQ_OK}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++) CHECK(pthread_create(&th[i], NULL, slow_query, &s[i]) == 0);
    buf out;
    buf_init(&out, 1 << 16);
    /* Bounded: until both runaways hold their connection (a BUSY answer). */
    enum sqlq_status st = SQLQ_OK;
    int tries = 0;
    for (; tries < 1000 && st != SQLQ_BUSY; tries++) { /* >= 5 s: threads may start late */
        buf_reset(&out);
        st = sqlq_pool_run(p, "SELECT 1", SQLQ_CSV, NULL, &out, NULL, err);
        if (st != SQLQ_BUSY) usleep(5000);
    }
    CHECK(st == SQLQ_BUSY);
    CHECK(strstr(err, "all 2 query connections stayed busy for 100 ms") != NULL);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    CHECK(s[0].st == SQLQ_TIMEOUT && s[1].st == SQLQ_TIMEOUT);
    buf_reset(&out);
    CHECK(sqlq_pool_run(p, "SELECT count(*) AS n FROM runs", SQLQ_CSV, NULL, &out, NULL, err) == SQLQ_OK);
    CHECK_STREQ(out.data, "n\r\n2\r\n");
    buf_cleanup(&out);
    sqlq_pool_free(p);
    CHECK(sqlq_pool_new(db_path, 0, 100, err) == NULL);
    CHECK(sqlq_pool_new("/nonexistent/dir/wh.db", 2, 100, err) == NULL);
}

/* Writes through a store writer of its own, as the collector's ingest does. */
static void write_sql(const char *sql)
{
    char err[RB_ERR_LEN];
    store *s = store_open(db_path, err);
    CHECK(s != NULL);
    if (!s) return;
    sqlite3 *db = store_writer_lock(s);
    CHECK(store_exec(db, sql, err) == 0);
    store_writer_unlock(s);
    store_close(s);
}

static void test_pool_cache(void)
{
    char err[RB_ERR_LEN];
    buf out;
    buf_init(&out, 1 << 20);
    sqlq_info info;
    sqlq_pool *p = sqlq_pool_new(db_path, 1, 1000, err);
    CHECK(p != NULL);
    if (!p) return;
    static const char q[] = "SELECT count(*) AS n, group_concat(id, '+') AS ids FROM (SELECT id FROM runs ORDER BY id)";
    CHECK(sqlq_pool_run(p, q, SQLQ_CSV, NULL, &out, &info, err) == SQLQ_OK && !info.cached);
    CHECK_STREQ(out.data, "n,ids\r\n2,r1+r2\r\n");
    buf_reset(&out);
    CHECK(sqlq_pool_run(p, q, SQLQ_CSV, NULL, &out, &info, err) == SQLQ_OK && info.cached && info.rows == 1);
    CHECK_STREQ(out.data, "n,ids\r\n2,r1+r2\r\n");
    /* Another format, other limits: answers of their own. */
    buf_reset(&out);
    CHECK(sqlq_pool_run(p, q, SQLQ_JSON, NULL, &out, &info, err) == SQLQ_OK && !info.cached);
    buf_reset(&out);
    CHECK(sqlq_pool_run(p, q, SQLQ_JSON, NULL, &out, &info, err) == SQLQ_OK && info.cached);
    CHECK(strncmp(out.data, "{\"columns\":[\"n\",\"ids\"],\"rows\":[[2,\"r1+r2\"]],\"truncated\":false,\"elapsed_ms\":",
                  strlen("{\"columns\":[\"n\",\"ids\"],\"rows\":[[2,\"r1+r2\"]],\"truncated\":false,\"elapsed_ms\":")) == 0);
    sqlq_limits lim;
    sqlq_limits_default(&lim);
    lim.max_rows = 1;
    buf_reset(&out);
    CHECK(sqlq_pool_run(p, q, SQLQ_CSV, &lim, &out, &info, err) == SQLQ_OK && !info.cached);
    /* A commit by another connection: the next answer is fresh. */
    write_sql("INSERT INTO runs(id, project, branch, commit_sha, mode, started_at, ended_at, document, ingested_at)"
              " VALUES ('r3','p','main','c3','single','2026-01-03T00:00:00Z','2026-01-03T00:01:00Z','{}','x')");
    buf_reset(&out);
    CHECK(sqlq_pool_run(p, q, SQLQ_CSV, NULL, &out, &info, err) == SQLQ_OK && !info.cached);
    CHECK_STREQ(out.data, "n,ids\r\n3,r1+r2+r3\r\n");
    buf_reset(&out);
    CHECK(sqlq_pool_run(p, q, SQLQ_CSV, NULL, &out, &info, err) == SQLQ_OK && info.cached);
    CHECK_STREQ(out.data, "n,ids\r\n3,r1+r2+r3\r\n");
    write_sql("DELETE FROM runs WHERE id = 'r3'");
    buf_reset(&out);
    CHECK(sqlq_pool_run(p, q, SQLQ_CSV, NULL, &out, &info, err) == SQLQ_OK && !info.cached);
    CHECK_STREQ(out.data, "n,ids\r\n2,r1+r2\r\n");
    /* Functions whose answer changes by itself are never kept. */
    static const char *const volatile_q[] = {"SELECT random() AS x", "SELECT date('now') AS d",
                                             "SELECT CURRENT_TIMESTAMP AS t", "SELECT changes() AS c",
                                             "SELECT hex(randomblob(4)) AS h", NULL};
    for (int i = 0; volatile_q[i]; i++) {
        for (int k = 0; k < 2; k++) {
            buf_reset(&out);
            CHECK(sqlq_pool_run(p, volatile_q[i], SQLQ_CSV, NULL, &out, &info, err) == SQLQ_OK && !info.cached);
        }
    }
    /* Refused and failing queries are not kept either. */
    for (int k = 0; k < 2; k++) {
        CHECK(sqlq_pool_run(p, "DELETE FROM runs", SQLQ_CSV, NULL, &out, &info, err) == SQLQ_REFUSED);
        CHECK(sqlq_pool_run(p, "SELECT * FROM tokens", SQLQ_CSV, NULL, &out, &info, err) == SQLQ_REFUSED);
    }
    /* More queries than entries: the least recently used goes, answers stay right. */
    char sql[64], want[64];
    for (int i = 0; i < 20; i++) {
        snprintf(sql, sizeof sql, "SELECT %d + count(*) AS v FROM runs", i % 10);
        snprintf(want, sizeof want, "v\r\n%d\r\n", i % 10 + 2);
        buf_reset(&out);
        CHECK(sqlq_pool_run(p, sql, SQLQ_CSV, NULL, &out, &info, err) == SQLQ_OK);
        CHECK_STREQ(out.data, want);
    }
    buf_cleanup(&out);
    sqlq_pool_free(p);
}

static void test_open_errors(void)
{
    buf out;
    buf_init(&out, 1024);
    char err[RB_ERR_LEN];
    CHECK(sqlq_run("/nonexistent/dir/wh.db", "SELECT 1", SQLQ_JSON, NULL, &out, NULL, err) == SQLQ_OPEN);
    CHECK(access("/nonexistent/dir/wh.db", F_OK) != 0);
    CHECK(sqlq_format_parse("csv") == SQLQ_CSV && sqlq_format_parse("json") == SQLQ_JSON &&
          sqlq_format_parse("xml") == -1);
    buf_cleanup(&out);
}

int main(void)
{
    setup();
    RUN(test_select_json);
    RUN(test_select_csv);
    RUN(test_views);
    RUN(test_refusals);
    RUN(test_limits);
    RUN(test_cells);
    RUN(test_pool_reuse);
    RUN(test_pool_concurrent);
    RUN(test_pool_busy);
    RUN(test_pool_cache);
    RUN(test_open_errors);
    rm_db(db_path);
    return TH_DONE();
}
