/* sqlq.c -- untrusted read-only SQL on a locked-down connection of its own:
 * defensive mode, lowered limits, a read-only authorizer, one statement, a
 * time limit and a row cap; CSV or JSON out. */
#include "sqlq.h"

#include <ctype.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PROGRESS_OPS 1000   /* VDBE ops between time checks */
#define JSON_TAIL 96        /* room kept for the JSON closing part, bytes */

static const char *const format_name[SQLQ_FORMAT__MAX] = {[SQLQ_JSON] = "json", [SQLQ_CSV] = "csv"};

int sqlq_format_parse(const char *s)
{
    for (int i = 0; i < SQLQ_FORMAT__MAX; i++)
        if (s && strcmp(s, format_name[i]) == 0) return i;
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
    case SQLITE_FUNCTION:
        for (int i = 0; denied_functions[i]; i++)
            if (a2 && strcasecmp(a2, denied_functions[i]) == 0) {
                if (!g->why[0]) snprintf(g->why, sizeof g->why, "function %s()", a2);
                return SQLITE_DENY;
            }
        return SQLITE_OK;
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
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_NULL:
        if (fmt == SQLQ_JSON) buf_puts(row, "null");
        break;
    case SQLITE_INTEGER:
        buf_printf(row, "%lld", (long long)sqlite3_column_int64(st, i));
        break;
    case SQLITE_FLOAT: {
        double v = sqlite3_column_double(st, i);
        if (!isfinite(v)) {
            buf_puts(row, fmt == SQLQ_JSON ? "null" : isnan(v) ? "NaN" : v > 0 ? "Inf" : "-Inf");
            break;
        }
        fmt_real(num, sizeof num, v);
        buf_puts(row, num);
        break;
    }
    case SQLITE_BLOB: {
        const unsigned char *p = sqlite3_column_blob(st, i);
        int n = sqlite3_column_bytes(st, i);
        if (fmt == SQLQ_JSON) buf_puts(row, "\"");
        for (int k = 0; k < n; k++) buf_printf(row, "%02x", p[k]);
        if (fmt == SQLQ_JSON) buf_puts(row, "\"");
        break;
    }
    default: {
        const unsigned char *t = sqlite3_column_text(st, i);
        size_t n = (size_t)sqlite3_column_bytes(st, i);
        if (!t) t = (const unsigned char *)"";
        if (fmt == SQLQ_JSON)
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
    buf_puts(out, fmt == SQLQ_JSON ? "{\"columns\":[" : "");
    for (int i = 0; i < ncol; i++) {
        const char *name = sqlite3_column_name(st, i);
        if (!name) name = "";
        if (i) buf_puts(out, ",");
        if (fmt == SQLQ_JSON)
            json_str(out, (const unsigned char *)name, strlen(name));
        else
            csv_field(out, name, strlen(name));
    }
    buf_puts(out, fmt == SQLQ_JSON ? "],\"rows\":[" : "\r\n");
}

/* Opens db_path read-only with every safety setting sqlq_run promises. */
static sqlite3 *open_locked(const char *db_path, const sqlq_limits *lim, struct guard *g, char *err)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        rb_err(err, "open %s: %s", db_path, db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return NULL;
    }
    int off = 0, on = 1;
    if (sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, &on) != SQLITE_OK || !on ||
        sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, &off) != SQLITE_OK || off ||
        sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, &off) != SQLITE_OK || off ||
        sqlite3_enable_load_extension(db, 0) != SQLITE_OK) {
        rb_err(err, "could not lock the query connection down: %s", sqlite3_errmsg(db));
        goto fail;
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, lim->timeout_ms < 1000 ? (int)lim->timeout_ms : 1000);
    /* Settings made before the authorizer exists: it refuses every PRAGMA. */
    char *msg = NULL;
    if (sqlite3_exec(db, "PRAGMA trusted_schema=OFF; PRAGMA query_only=ON;", NULL, NULL, &msg) != SQLITE_OK) {
        rb_err(err, "open %s: %s", db_path, msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        goto fail;
    }
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
    sqlite3_set_authorizer(db, on_authorize, g);
    sqlite3_progress_handler(db, PROGRESS_OPS, on_progress, g);
    return db;
fail:
    sqlite3_close(db);
    return NULL;
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
    struct guard g = {.deadline_ns = t0 + (uint64_t)lim.timeout_ms * 1000000u};
    enum sqlq_status rc = SQLQ_SQL;
    sqlite3_stmt *st = NULL, *tail_st = NULL;
    buf row;
    buf_init(&row, lim.max_output);
    long rows = 0;
    int truncated = 0;
    if (info) *info = (sqlq_info){0};
    if ((int)fmt < 0 || fmt >= SQLQ_FORMAT__MAX) {
        rb_err(err, "unknown output format");
        return SQLQ_SQL;
    }

    size_t sql_len = strlen(sql);
    if (sql_len > (size_t)lim.max_sql_len) {
        rb_err(err, "SQL longer than %d bytes", lim.max_sql_len);
        return SQLQ_REFUSED;
    }
    sqlite3 *db = open_locked(db_path, &lim, &g, err);
    if (!db) return SQLQ_OPEN;

    const char *tail = NULL;
    int prc = sqlite3_prepare_v2(db, sql, (int)sql_len, &st, &tail);
    if (prc != SQLITE_OK) {
        if (g.why[0]) {
            rb_err(err, "refused: %s (queries may only read)", g.why);
            rc = SQLQ_REFUSED;
        } else if (g.timed_out) {
            rb_err(err, "time limit of %ld ms reached", lim.timeout_ms);
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

    size_t cap = out->max < lim.max_output ? out->max : lim.max_output;
    size_t reserve = fmt == SQLQ_JSON ? JSON_TAIL : 0;
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
            if (g.timed_out) {
                rb_err(err, "time limit of %ld ms reached: query stopped", lim.timeout_ms);
                rc = SQLQ_TIMEOUT;
            } else {
                rb_err(err, "sqlite: %s", sqlite3_errmsg(db));
            }
            goto out;
        }
        if (rows >= lim.max_rows) {
            truncated = 1;
            break;
        }
        if (now_ns() >= g.deadline_ns) {
            rb_err(err, "time limit of %ld ms reached: query stopped", lim.timeout_ms);
            rc = SQLQ_TIMEOUT;
            goto out;
        }
        buf_reset(&row);
        if (fmt == SQLQ_JSON) buf_puts(&row, rows ? ",[" : "[");
        for (int i = 0; i < ncol; i++) {
            if (i) buf_puts(&row, ",");
            put_value(&row, st, i, fmt);
        }
        buf_puts(&row, fmt == SQLQ_JSON ? "]" : "\r\n");
        if (row.toobig || out->len + row.len + reserve > cap) {
            truncated = 1;
            break;
        }
        buf_append(out, row.data, row.len);
        rows++;
    }
    double ms = (double)(now_ns() - t0) / 1e6;
    if (fmt == SQLQ_JSON)
        buf_printf(out, "],\"truncated\":%s,\"elapsed_ms\":%.3f}", truncated ? "true" : "false", ms);
    if (info) *info = (sqlq_info){.rows = rows, .truncated = truncated, .elapsed_ms = ms};
    rc = SQLQ_OK;
out:
    buf_cleanup(&row);
    sqlite3_finalize(tail_st);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}
