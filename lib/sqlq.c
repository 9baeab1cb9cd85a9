/* sqlq.c -- untrusted read-only SQL on a locked-down connection (its own, or
 * one of a pool): defensive mode, lowered limits, a read-only authorizer, one
 * statement, a time limit and a row cap; CSV or JSON out. */
#include "sqlq.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define PROGRESS_OPS 1000   /* VDBE ops between time checks */
#define JSON_TAIL 96        /* room kept for the JSON closing part, bytes */
/* Page cache of a query connection, KiB (SQLite's default is 2,000): a pooled
 * connection keeps its pages between queries, and the series query of
 * bench/collector_bench.sh touches ~9.4 MB with 1,000,000 results stored. An
 * upper bound: pages are allocated as they are read. */
#define QUERY_CACHE_KIB 16384

/* SQLQ_CELLS has no name: only the dashboard asks for it. */
static const char *const format_name[SQLQ_FORMAT__MAX] = {[SQLQ_JSON] = "json", [SQLQ_CSV] = "csv"};

int sqlq_format_parse(const char *s)
{
    for (int i = 0; i < SQLQ_FORMAT__MAX; i++)
        if (s && format_name[i] && strcmp(s, format_name[i]) == 0) return i;
    return -1;
}

void sqlq_limits_default(sqlq_limits *lim)
{
    lim->timeout_ms = 2000;
    lim->max_rows = 10000;
    lim->max_output = 16u << 20;
    lim->max_vdbe_ops = 25000;
    lim->max_sql_len = 100000;
    lim->max_length = 1000000;
}

/* State the authorizer and progress handler share with sqlq_run. */
struct guard {
    uint64_t deadline_ns;
    int timed_out;
    int volatile_fn;        /* calls a function off the deterministic list: never cached */
    char why[160];          /* the first thing the authorizer refused */
};

static int on_progress(void *p)
{
    struct guard *g = p;
    if (now_ns() < g->deadline_ns) return 0;
    g->timed_out = 1;
    return 1;               /* interrupts the statement: SQLITE_INTERRUPT */
}

static const char *action_name(int code)
{
    switch (code) {
    case SQLITE_INSERT: return "INSERT";
    case SQLITE_UPDATE: return "UPDATE";
    case SQLITE_DELETE: return "DELETE";
    case SQLITE_PRAGMA: return "PRAGMA";
    case SQLITE_ATTACH: return "ATTACH";
    case SQLITE_DETACH: return "DETACH";
    case SQLITE_TRANSACTION: return "a transaction statement";
    case SQLITE_SAVEPOINT: return "SAVEPOINT";
    case SQLITE_ALTER_TABLE: return "ALTER TABLE";
    case SQLITE_ANALYZE: return "ANALYZE";
    case SQLITE_REINDEX: return "REINDEX";
    case SQLITE_CREATE_VTABLE: return "CREATE VIRTUAL TABLE";
    case SQLITE_DROP_VTABLE: return "DROP VIRTUAL TABLE";
    case SQLITE_FUNCTION: return "function";
    case SQLITE_CREATE_INDEX: case SQLITE_CREATE_TABLE: case SQLITE_CREATE_TEMP_INDEX:
    case SQLITE_CREATE_TEMP_TABLE: case SQLITE_CREATE_TEMP_TRIGGER: case SQLITE_CREATE_TEMP_VIEW:
    case SQLITE_CREATE_TRIGGER: case SQLITE_CREATE_VIEW: return "CREATE";
    case SQLITE_DROP_INDEX: case SQLITE_DROP_TABLE: case SQLITE_DROP_TEMP_INDEX:
    case SQLITE_DROP_TEMP_TABLE: case SQLITE_DROP_TEMP_TRIGGER: case SQLITE_DROP_TEMP_VIEW:
    case SQLITE_DROP_TRIGGER: case SQLITE_DROP_VIEW: return "DROP";
    default: return "this statement";
    }
}

/* Functions refused even though SQLITE_FUNCTION is allowed: they reach
 * outside the database (load_extension is also disabled on the connection). */
static const char *const denied_functions[] = {"load_extension", "fts3_tokenizer", "readfile",
                                               "writefile", "edit", NULL};

/* Built-in functions whose result depends on their arguments alone: a query
 * calling only these (or none) gives the same answer until the data changes,
 * so a pooled connection may keep it (see struct qcache). Anything else
 * (random(), date('now'), changes(), ...) makes the query uncacheable. */
static const char *const deterministic_functions[] = {
    "->", "->>", "abs", "acos", "acosh", "asin", "asinh", "atan", "atan2", "atanh", "avg", "ceil",
    "ceiling", "char", "coalesce", "cos", "cosh", "count", "cume_dist", "degrees", "dense_rank", "exp",
    "first_value", "floor", "format", "glob", "group_concat", "hex", "ifnull", "iif", "instr", "json",
    "json_array", "json_array_length", "json_extract", "json_group_array", "json_group_object",
    "json_insert", "json_object", "json_patch", "json_quote", "json_remove", "json_replace", "json_set",
    "json_type", "json_valid", "json_each", "json_tree", "lag", "last_value", "lead", "length", "like",
    "likelihood", "likely", "ln", "log", "log10", "log2", "lower", "ltrim", "max", "min", "mod",
    "nth_value", "ntile", "nullif", "percent_rank", "pi", "pow", "power", "printf", "quote", "radians",
    "rank", "replace", "round", "row_number", "rtrim", "sign", "sin", "sinh", "sqrt", "substr",
    "substring", "sum", "tan", "tanh", "total", "trim", "trunc", "typeof", "unicode", "unlikely", "upper",
    "zeroblob", NULL};

/* Runs at prepare time only: allows reading, SELECT, functions and recursive
 * CTEs; everything else (writes, DDL, PRAGMA, ATTACH, transactions) is denied. */
static int on_authorize(void *p, int code, const char *a1, const char *a2, const char *db,
                        const char *trigger)
{
    (void)db;
    (void)trigger;
    struct guard *g = p;
    switch (code) {
    case SQLITE_READ:
        /* Token hashes are nobody's business, not even a query token's. */
        if (a1 && strcasecmp(a1, "tokens") == 0) {
            if (!g->why[0]) snprintf(g->why, sizeof g->why, "the tokens table");
            return SQLITE_DENY;
        }
        return SQLITE_OK;
    case SQLITE_SELECT:
    case SQLITE_RECURSIVE:
        return SQLITE_OK;
    case SQLITE_FUNCTION: {
        for (int i = 0; denied_functions[i]; i++)
            if (a2 && strcasecmp(a2, denied_functions[i]) == 0) {
                if (!g->why[0]) snprintf(g->why, sizeof g->why, "function %s()", a2);
                return SQLITE_DENY;
            }
        int known = 0;
        for (int i = 0; a2 && !known && deterministic_functions[i]; i++)
            known = strcasecmp(a2, deterministic_functions[i]) == 0;
        if (!known) g->volatile_fn = 1;
        return SQLITE_OK;
    }
    case SQLITE_PRAGMA:
        if (!g->why[0]) snprintf(g->why, sizeof g->why, "PRAGMA %s", a1 ? a1 : "");
        return SQLITE_DENY;
    default:
        if (!g->why[0]) {
            const char *obj = (code == SQLITE_INSERT || code == SQLITE_UPDATE || code == SQLITE_DELETE ||
                               code == SQLITE_DROP_TABLE || code == SQLITE_CREATE_TABLE ||
                               code == SQLITE_DROP_VIEW || code == SQLITE_DROP_INDEX)
                                  ? a1 : NULL;
            if (obj && strncmp(obj, "sqlite_", 7) == 0)
                snprintf(g->why, sizeof g->why, "a schema change");
            else
                snprintf(g->why, sizeof g->why, "%s%s%s", action_name(code), obj ? " " : "", obj ? obj : "");
        }
        return SQLITE_DENY;
    }
}

/* Skips whitespace, ';' (if semis) and SQL comments. */
static const char *skip_blank(const char *s, int semis)
{
    for (;;) {
        while (isspace((unsigned char)*s) || (semis && *s == ';')) s++;
        if (s[0] == '-' && s[1] == '-') {
            s += strcspn(s, "\n");
        } else if (s[0] == '/' && s[1] == '*') {
            const char *e = strstr(s + 2, "*/");
            s = e ? e + 2 : s + strlen(s);
        } else {
            return s;
        }
    }
}

/* 1 if sql starts (after comments) with a keyword of a query statement. */
static int starts_as_query(const char *sql)
{
    static const char *const kw[] = {"SELECT", "WITH", "VALUES", "EXPLAIN", NULL};
    const char *s = skip_blank(sql, 0);
    size_t n = 0;
    while (isalpha((unsigned char)s[n])) n++;
    for (int i = 0; kw[i]; i++)
        if (n == strlen(kw[i]) && strncasecmp(s, kw[i], n) == 0) return 1;
    return 0;
}

/* Appends s as a JSON string; invalid UTF-8 bytes become U+FFFD. */
static void json_str(buf *b, const unsigned char *s, size_t n)
{
    buf_puts(b, "\"");
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            buf_append(b, e, 2);
            i++;
        } else if (c < 0x20) {
            switch (c) {
            case '\n': buf_puts(b, "\\n"); break;
            case '\r': buf_puts(b, "\\r"); break;
            case '\t': buf_puts(b, "\\t"); break;
            default: buf_printf(b, "\\u%04x", c); break;
            }
            i++;
        } else if (c < 0x80) {
            size_t j = i;
            while (j < n && s[j] >= 0x20 && s[j] < 0x80 && s[j] != '"' && s[j] != '\\') j++;
            buf_append(b, s + i, j - i);
            i = j;
        } else {
            size_t len = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
            int valid = len && i + len <= n;
            for (size_t k = 1; valid && k < len; k++) valid = (s[i + k] & 0xc0) == 0x80;
            if (valid && len == 3) { /* no overlongs, no surrogates */
                valid = !(c == 0xe0 && s[i + 1] < 0xa0) && !(c == 0xed && s[i + 1] >= 0xa0);
            } else if (valid && len == 4) {
                valid = !(c == 0xf0 && s[i + 1] < 0x90) && !(c == 0xf4 && s[i + 1] >= 0x90);
            }
            if (valid) {
                buf_append(b, s + i, len);
                i += len;
            } else {
                buf_puts(b, "\\ufffd");
                i++;
            }
        }
    }
    buf_puts(b, "\"");
}

static void csv_field(buf *b, const char *s, size_t n)
{
    if (strcspn(s, ",\"\r\n") >= n) {
        buf_append(b, s, n);
        return;
    }
    buf_puts(b, "\"");
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') buf_puts(b, "\"");
        buf_append(b, s + i, 1);
    }
    buf_puts(b, "\"");
}

static void fmt_real(char *out, size_t n, double v)
{
    snprintf(out, n, "%.15g", v);
    if (strtod(out, NULL) != v) snprintf(out, n, "%.17g", v);
}

/* Appends column i of the current row of st to row in format fmt. */
static void put_value(buf *row, sqlite3_stmt *st, int i, enum sqlq_format fmt)
{
    char num[40];
    const char *q = fmt == SQLQ_CELLS ? "\"" : ""; /* numbers as strings in CELLS */
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_NULL:
        if (fmt != SQLQ_CSV) buf_puts(row, "null");
        break;
    case SQLITE_INTEGER:
        buf_printf(row, "%s%lld%s", q, (long long)sqlite3_column_int64(st, i), q);
        break;
    case SQLITE_FLOAT: {
        double v = sqlite3_column_double(st, i);
        if (!isfinite(v)) {
            if (fmt == SQLQ_JSON)
                buf_puts(row, "null");
            else
                buf_printf(row, "%s%s%s", q, isnan(v) ? "NaN" : v > 0 ? "Inf" : "-Inf", q);
            break;
        }
        fmt_real(num, sizeof num, v);
        buf_printf(row, "%s%s%s", q, num, q);
        break;
    }
    case SQLITE_BLOB: {
        const unsigned char *p = sqlite3_column_blob(st, i);
        int n = sqlite3_column_bytes(st, i);
        if (fmt != SQLQ_CSV) buf_puts(row, "\"");
        for (int k = 0; k < n; k++) buf_printf(row, "%02x", p[k]);
        if (fmt != SQLQ_CSV) buf_puts(row, "\"");
        break;
    }
    default: {
        const unsigned char *t = sqlite3_column_text(st, i);
        size_t n = (size_t)sqlite3_column_bytes(st, i);
        if (!t) t = (const unsigned char *)"";
        if (fmt != SQLQ_CSV)
            json_str(row, t, n);
        else
            csv_field(row, (const char *)t, n);
        break;
    }
    }
}

static void put_header(buf *out, sqlite3_stmt *st, enum sqlq_format fmt)
{
    int ncol = sqlite3_column_count(st);
    buf_puts(out, fmt != SQLQ_CSV ? "{\"columns\":[" : "");
    for (int i = 0; i < ncol; i++) {
        const char *name = sqlite3_column_name(st, i);
        if (!name) name = "";
        if (i) buf_puts(out, ",");
        if (fmt != SQLQ_CSV)
            json_str(out, (const unsigned char *)name, strlen(name));
        else
            csv_field(out, name, strlen(name));
    }
    buf_puts(out, fmt != SQLQ_CSV ? "],\"rows\":[" : "\r\n");
}

/* A pooled connection's recent answers. A query that succeeded, called only
 * deterministic functions and produced at most CACHE_ENTRY_MAX bytes is kept
 * with the connection's PRAGMA data_version at its start; the same query
 * (same SQL, format and output limits) is answered from here while
 * data_version is unchanged, i.e. while no other connection (the collector's
 * writer, another process) committed anything. */
#define CACHE_ENTRIES 8
#define CACHE_ENTRY_MAX (256u << 10) /* bytes */
struct qcache_entry {
    char *sql;              /* NULL: empty slot */
    enum sqlq_format fmt;
    long max_rows;
    size_t cap;             /* the output cap in effect */
    long long version;      /* data_version when the query started */
    char *body;             /* output without the JSON tail */
    size_t len;
    long rows;
    int truncated;
    uint64_t used;          /* now_ns() of the last use, for eviction */
};

/* One locked-down connection and the state its callbacks share (the guard's
 * address is registered with SQLite, so a qconn never moves). */
struct qconn {
    sqlite3 *db;
    struct guard g;
    struct qcache_entry cache[CACHE_ENTRIES];
};

static void cache_drop(struct qcache_entry *e)
{
    free(e->sql);
    free(e->body);
    *e = (struct qcache_entry){0};
}

/* Finalizes whatever statement is left on c and closes it. NULL: no-op. */
static void qconn_close(struct qconn *c)
{
    if (!c) return;
    sqlite3_stmt *st;
    while ((st = sqlite3_next_stmt(c->db, NULL))) sqlite3_finalize(st);
    sqlite3_close(c->db);
    for (int i = 0; i < CACHE_ENTRIES; i++) cache_drop(&c->cache[i]);
    free(c);
}

/* PRAGMA data_version of c, run between queries without the authorizer
 * (which refuses PRAGMA) and the last query's progress handler (whose
 * deadline passed); qconn_arm sets both again. -1 if it cannot be read. */
static long long data_version(struct qconn *c)
{
    sqlite3_stmt *st = NULL;
    long long v = -1;
    sqlite3_set_authorizer(c->db, NULL, NULL);
    sqlite3_progress_handler(c->db, 0, NULL, NULL);
    if (sqlite3_prepare_v2(c->db, "PRAGMA data_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static struct qcache_entry *cache_find(struct qconn *c, const char *sql, enum sqlq_format fmt,
                                       const sqlq_limits *lim, size_t cap, long long version)
{
    for (int i = 0; i < CACHE_ENTRIES; i++) {
        struct qcache_entry *e = &c->cache[i];
        if (!e->sql || e->fmt != fmt || e->max_rows != lim->max_rows || e->cap != cap || strcmp(e->sql, sql))
            continue;
        if (e->version != version) {
            cache_drop(e);
            return NULL;
        }
        return e;
    }
    return NULL;
}

static void cache_put(struct qconn *c, const char *sql, enum sqlq_format fmt, const sqlq_limits *lim,
                      size_t cap, long long version, const char *body, size_t len, const sqlq_info *info)
{
    struct qcache_entry *e = &c->cache[0];
    for (int i = 0; i < CACHE_ENTRIES; i++) {
        if (!c->cache[i].sql) {
            e = &c->cache[i];
            break;
        }
        if (c->cache[i].used < e->used) e = &c->cache[i];
    }
    cache_drop(e);
    *e = (struct qcache_entry){.sql = xstrdup(sql), .fmt = fmt, .max_rows = lim->max_rows, .cap = cap,
                               .version = version, .body = xstrndup(body, len), .len = len,
                               .rows = info->rows, .truncated = info->truncated, .used = now_ns()};
}

/* Sets the connection-wide safety settings; 0, or -1 with err. Cheap: done at
 * open and again before every query. */
static int lock_down(sqlite3 *db, char *err)
{
    int off = 0, on = 1;
    if (sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, &on) != SQLITE_OK || !on ||
        sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, &off) != SQLITE_OK || off ||
        sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, &off) != SQLITE_OK || off ||
        sqlite3_enable_load_extension(db, 0) != SQLITE_OK)
        return rb_err(err, "could not lock the query connection down: %s", sqlite3_errmsg(db));
    return 0;
}

/* Opens db_path read-only and locked down, its schema parsed; the guards are
 * armed per query by qconn_arm. NULL with err. */
static struct qconn *qconn_open(const char *db_path, char *err)
{
    struct qconn *c = xcalloc(1, sizeof *c);
    if (sqlite3_open_v2(db_path, &c->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        rb_err(err, "open %s: %s", db_path, c->db ? sqlite3_errmsg(c->db) : "out of memory");
        goto fail;
    }
    sqlite3_extended_result_codes(c->db, 1);
    if (lock_down(c->db, err) < 0) goto fail;
    sqlite3_busy_timeout(c->db, 1000);
    /* Settings made before the authorizer exists: it refuses every PRAGMA.
     * Reading sqlite_schema parses the schema now, once for the connection. */
    char *msg = NULL;
    char pragmas[160];
    snprintf(pragmas, sizeof pragmas,
             "PRAGMA trusted_schema=OFF; PRAGMA query_only=ON; PRAGMA cache_size=-%d; "
             "SELECT count(*) FROM sqlite_schema;", QUERY_CACHE_KIB);
    if (sqlite3_exec(c->db, pragmas, NULL, NULL, &msg) != SQLITE_OK) {
        rb_err(err, "open %s: %s", db_path, msg ? msg : sqlite3_errmsg(c->db));
        sqlite3_free(msg);
        goto fail;
    }
    return c;
fail:
    qconn_close(c);
    return NULL;
}

/* Arms c for one query under lim, ending at deadline_ns (now_ns() clock):
 * the guard cleared, the safety settings, limits, authorizer and progress
 * handler set again. 0, or -1 with err. */
static int qconn_arm(struct qconn *c, const sqlq_limits *lim, uint64_t deadline_ns, char *err)
{
    sqlite3 *db = c->db;
    c->g = (struct guard){.deadline_ns = deadline_ns};
    if (lock_down(db, err) < 0) return -1;
    sqlite3_busy_timeout(db, lim->timeout_ms < 1000 ? (int)lim->timeout_ms : 1000);
    sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, 0);
    sqlite3_limit(db, SQLITE_LIMIT_VDBE_OP, lim->max_vdbe_ops);
    sqlite3_limit(db, SQLITE_LIMIT_SQL_LENGTH, lim->max_sql_len);
    sqlite3_limit(db, SQLITE_LIMIT_LENGTH, lim->max_length);
    sqlite3_limit(db, SQLITE_LIMIT_EXPR_DEPTH, 100);
    sqlite3_limit(db, SQLITE_LIMIT_COMPOUND_SELECT, 50);
    sqlite3_limit(db, SQLITE_LIMIT_LIKE_PATTERN_LENGTH, 1000);
    sqlite3_limit(db, SQLITE_LIMIT_FUNCTION_ARG, 32);
    sqlite3_limit(db, SQLITE_LIMIT_TRIGGER_DEPTH, 1);
    sqlite3_limit(db, SQLITE_LIMIT_WORKER_THREADS, 0);
    sqlite3_set_authorizer(db, on_authorize, &c->g);
    sqlite3_progress_handler(db, PROGRESS_OPS, on_progress, &c->g);
    return 0;
}

/* 1 if c may serve another query: no statement left, no transaction open. */
static int qconn_clean(const struct qconn *c)
{
    return sqlite3_next_stmt(c->db, NULL) == NULL && sqlite3_get_autocommit(c->db);
}

/* The checks and limits of a query before any connection is involved. */
static enum sqlq_status query_precheck(const char *sql, enum sqlq_format fmt, const sqlq_limits *lim,
                                       sqlq_info *info, char *err)
{
    if (info) *info = (sqlq_info){0};
    if ((int)fmt < 0 || fmt >= SQLQ_FORMAT__MAX) {
        rb_err(err, "unknown output format");
        return SQLQ_SQL;
    }
    if (strlen(sql) > (size_t)lim->max_sql_len) {
        rb_err(err, "SQL longer than %d bytes", lim->max_sql_len);
        return SQLQ_REFUSED;
    }
    return SQLQ_OK;
}

/* Runs sql on the armed connection c (t0: now_ns() when the query arrived);
 * every statement it prepares is finalized before it returns. */
static enum sqlq_status qconn_run(struct qconn *c, const char *sql, enum sqlq_format fmt,
                                  const sqlq_limits *lim, uint64_t t0, long long version, buf *out,
                                  sqlq_info *info, char *err)
{
    sqlite3 *db = c->db;
    struct guard *g = &c->g;
    enum sqlq_status rc = SQLQ_SQL;
    sqlite3_stmt *st = NULL, *tail_st = NULL;
    buf row;
    buf_init(&row, lim->max_output);
    long rows = 0;
    int truncated = 0;
    size_t start = out->len, cap = out->max < lim->max_output ? out->max : lim->max_output;

    struct qcache_entry *hit = version >= 0 ? cache_find(c, sql, fmt, lim, cap, version) : NULL;
    if (hit && out->len + hit->len + JSON_TAIL <= cap) {
        buf_append(out, hit->body, hit->len);
        hit->used = now_ns();
        rows = hit->rows;
        truncated = hit->truncated;
        rc = SQLQ_OK;
        goto done;
    }
    hit = NULL; /* too big for out: run it */

    const char *tail = NULL;
    int prc = sqlite3_prepare_v2(db, sql, (int)strlen(sql), &st, &tail);
    if (prc != SQLITE_OK) {
        if (g->why[0]) {
            rb_err(err, "refused: %s (queries may only read)", g->why);
            rc = SQLQ_REFUSED;
        } else if (g->timed_out) {
            rb_err(err, "time limit of %ld ms reached", lim->timeout_ms);
            rc = SQLQ_TIMEOUT;
        } else {
            rb_err(err, "sqlite: %s", sqlite3_errmsg(db));
        }
        goto out;
    }
    if (!st) {
        rb_err(err, "no SQL statement given");
        rc = SQLQ_REFUSED;
        goto out;
    }
    /* Anything after the statement but blanks, ';' and comments is a second
     * statement: refused whether or not it would compile. */
    tail = skip_blank(tail, 1);
    if (*tail) {
        int trc = sqlite3_prepare_v2(db, tail, -1, &tail_st, NULL);
        if (trc != SQLITE_OK || tail_st) {
            rb_err(err, "refused: only one SQL statement is allowed");
            rc = SQLQ_REFUSED;
            goto out;
        }
    }
    /* sqlite3_stmt_readonly() is true for BEGIN and ATTACH: check the
     * keyword too (the authorizer refuses both already). */
    if (!sqlite3_stmt_readonly(st) || !starts_as_query(sql)) {
        rb_err(err, "refused: only SELECT, WITH, VALUES and EXPLAIN statements are allowed");
        rc = SQLQ_REFUSED;
        goto out;
    }

    size_t reserve = fmt != SQLQ_CSV ? JSON_TAIL : 0;
    put_header(out, st, fmt);
    if (out->toobig || out->len + reserve > cap) {
        rb_err(err, "result larger than %zu bytes", cap);
        rc = SQLQ_SQL;
        goto out;
    }
    int ncol = sqlite3_column_count(st);
    for (;;) {
        int s = sqlite3_step(st);
        if (s == SQLITE_DONE) break;
        if (s != SQLITE_ROW) {
            if (g->timed_out) {
                rb_err(err, "time limit of %ld ms reached: query stopped", lim->timeout_ms);
                rc = SQLQ_TIMEOUT;
            } else {
                rb_err(err, "sqlite: %s", sqlite3_errmsg(db));
            }
            goto out;
        }
        if (rows >= lim->max_rows) {
            truncated = 1;
            break;
        }
        if (now_ns() >= g->deadline_ns) {
            rb_err(err, "time limit of %ld ms reached: query stopped", lim->timeout_ms);
            rc = SQLQ_TIMEOUT;
            goto out;
        }
        buf_reset(&row);
        if (fmt != SQLQ_CSV) buf_puts(&row, rows ? ",[" : "[");
        for (int i = 0; i < ncol; i++) {
            if (i) buf_puts(&row, ",");
            put_value(&row, st, i, fmt);
        }
        buf_puts(&row, fmt != SQLQ_CSV ? "]" : "\r\n");
        if (row.toobig || out->len + row.len + reserve > cap) {
            truncated = 1;
            break;
        }
        buf_append(out, row.data, row.len);
        rows++;
    }
    rc = SQLQ_OK;
    if (version >= 0 && !g->volatile_fn && out->len - start <= CACHE_ENTRY_MAX) {
        sqlq_info ci = {.rows = rows, .truncated = truncated};
        cache_put(c, sql, fmt, lim, cap, version, out->data + start, out->len - start, &ci);
    }
done:;
    double ms = (double)(now_ns() - t0) / 1e6;
    if (fmt != SQLQ_CSV)
        buf_printf(out, "],\"truncated\":%s,\"elapsed_ms\":%.3f}", truncated ? "true" : "false", ms);
    if (info) *info = (sqlq_info){.rows = rows, .truncated = truncated, .elapsed_ms = ms, .cached = hit != NULL};
out:
    buf_cleanup(&row);
    sqlite3_finalize(tail_st);
    sqlite3_finalize(st);
    return rc;
}

enum sqlq_status sqlq_run(const char *db_path, const char *sql, enum sqlq_format fmt,
                          const sqlq_limits *lim_in, buf *out, sqlq_info *info, char *err)
{
    sqlq_limits lim;
    if (lim_in)
        lim = *lim_in;
    else
        sqlq_limits_default(&lim);
    uint64_t t0 = now_ns();
    enum sqlq_status rc = query_precheck(sql, fmt, &lim, info, err);
    if (rc != SQLQ_OK) return rc;
    struct qconn *c = qconn_open(db_path, err);
    if (!c) return SQLQ_OPEN;
    if (qconn_arm(c, &lim, t0 + (uint64_t)lim.timeout_ms * 1000000u, err) < 0)
        rc = SQLQ_OPEN;
    else
        rc = qconn_run(c, sql, fmt, &lim, t0, -1, out, info, err);
    qconn_close(c);
    return rc;
}

/* ---- the pool ---- */

struct sqlq_pool {
    char *path;
    int n;
    long wait_ms;
    int cache;              /* keep answers (struct qcache); on by default */
    struct qconn **conn;    /* NULL: reopened by its next taker */
    unsigned char *busy;
    pthread_mutex_t lock;
    pthread_cond_t freed;   /* on CLOCK_MONOTONIC */
};

sqlq_pool *sqlq_pool_new(const char *db_path, int n, long wait_ms, char *err)
{
    if (n < 1 || n > 256 || wait_ms < 0 || wait_ms > 60000) {
        rb_err(err, "query pool: want 1..256 connections and a wait of 0..60000 ms");
        return NULL;
    }
    sqlq_pool *p = xcalloc(1, sizeof *p);
    p->path = xstrdup(db_path);
    p->n = n;
    p->wait_ms = wait_ms;
    p->cache = 1;
    p->conn = xcalloc((size_t)n, sizeof *p->conn);
    p->busy = xcalloc((size_t)n, 1);
    pthread_mutex_init(&p->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->freed, &ca);
    pthread_condattr_destroy(&ca);
    for (int i = 0; i < n; i++) {
        if (!(p->conn[i] = qconn_open(db_path, err))) {
            sqlq_pool_free(p);
            return NULL;
        }
    }
    return p;
}

void sqlq_pool_free(sqlq_pool *p)
{
    if (!p) return;
    for (int i = 0; i < p->n; i++) qconn_close(p->conn[i]);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->freed);
    free(p->conn);
    free(p->busy);
    free(p->path);
    free(p);
}

int sqlq_pool_size(const sqlq_pool *p)
{
    return p->n;
}

long sqlq_pool_wait_ms(const sqlq_pool *p)
{
    return p->wait_ms;
}

void sqlq_pool_set_cache(sqlq_pool *p, int on)
{
    p->cache = on != 0;
}

/* Takes a free slot, waiting at most the pool's wait: its index, or -1 when
 * none came free in time. */
static int pool_take(sqlq_pool *p)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += p->wait_ms / 1000;
    until.tv_nsec += (p->wait_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    int got = -1;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        for (int i = 0; i < p->n && got < 0; i++)
            if (!p->busy[i]) got = i;
        if (got >= 0) {
            p->busy[got] = 1;
            break;
        }
        if (pthread_cond_timedwait(&p->freed, &p->lock, &until) == ETIMEDOUT) break;
    }
    pthread_mutex_unlock(&p->lock);
    return got;
}

static void pool_give(sqlq_pool *p, int i)
{
    pthread_mutex_lock(&p->lock);
    p->busy[i] = 0;
    pthread_cond_signal(&p->freed);
    pthread_mutex_unlock(&p->lock);
}

enum sqlq_status sqlq_pool_run(sqlq_pool *p, const char *sql, enum sqlq_format fmt,
                               const sqlq_limits *lim_in, buf *out, sqlq_info *info, char *err)
{
    sqlq_limits lim;
    if (lim_in)
        lim = *lim_in;
    else
        sqlq_limits_default(&lim);
    uint64_t t0 = now_ns();
    enum sqlq_status rc = query_precheck(sql, fmt, &lim, info, err);
    if (rc != SQLQ_OK) return rc;
    int i = pool_take(p);
    if (i < 0) {
        rb_err(err, "all %d query connections stayed busy for %ld ms: try again shortly", p->n, p->wait_ms);
        return SQLQ_BUSY;
    }
    /* The slot is ours alone: (re)open and use it outside the lock. The time
     * limit counts from here, so waiting for a slot does not eat into it. */
    struct qconn *c = p->conn[i];
    if (!c && !(c = p->conn[i] = qconn_open(p->path, err))) {
        rc = SQLQ_OPEN;
        goto out;
    }
    /* data_version first: it runs before the authorizer is armed again. */
    long long version = p->cache ? data_version(c) : -1;
    if (qconn_arm(c, &lim, now_ns() + (uint64_t)lim.timeout_ms * 1000000u, err) < 0) {
        rc = SQLQ_OPEN;
    } else {
        rc = qconn_run(c, sql, fmt, &lim, t0, version, out, info, err);
    }
    /* Interrupted, refused or failed: whatever happened, the next query gets
     * a clean connection or a fresh one. */
    if (rc == SQLQ_OPEN || !qconn_clean(c)) {
        qconn_close(c);
        p->conn[i] = NULL;
    }
out:
    pool_give(p, i);
    return rc;
}
