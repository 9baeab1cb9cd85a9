/* sqlq.h -- run one untrusted, read-only SQL query against the warehouse on a
 * locked-down connection (one of its own, or one of a pool), with time, row and
 * size limits; CSV or JSON out. Used by `redbench query --db`, POST
 * /api/v1/query and the /sql page. */
#ifndef RB_SQLQ_H
#define RB_SQLQ_H

#include <stddef.h>

#include "util.h"

/* SQLQ_CELLS is the JSON shape with every non-NULL value as the string CSV
 * would show ("42", "1.5", hex for blobs): for the /sql page, which must show
 * integers beyond 2^53 exactly. It has no name: the API does not offer it. */
enum sqlq_format { SQLQ_JSON, SQLQ_CSV, SQLQ_CELLS, SQLQ_FORMAT__MAX };

/* Parses "json" or "csv"; -1 otherwise (SQLQ_CELLS has no name). */
int sqlq_format_parse(const char *s);

enum sqlq_status {
    SQLQ_OK = 0,
    SQLQ_REFUSED = 1,  /* not a single read-only SELECT, or touches what it may not */
    SQLQ_SQL = 2,      /* SQLite refused it: syntax, no such table, too big, ... */
    SQLQ_TIMEOUT = 3,  /* stopped by the time limit */
    SQLQ_OPEN = 4,     /* the warehouse could not be opened */
    SQLQ_BUSY = 5      /* sqlq_pool_run: every pooled connection stayed busy for the wait */
};

typedef struct sqlq_limits {
    long timeout_ms;   /* wall time for prepare + step + output (default 2000) */
    long max_rows;     /* rows returned; more sets truncated (default 10,000) */
    size_t max_output; /* bytes of output; a row that would pass it is dropped and
                          truncated set (default 16 MiB) */
    int max_vdbe_ops;  /* SQLITE_LIMIT_VDBE_OP: program size (default 25,000) */
    int max_sql_len;   /* SQLITE_LIMIT_SQL_LENGTH, bytes (default 100,000) */
    int max_length;    /* SQLITE_LIMIT_LENGTH: one string/blob/row, bytes (default 1,000,000) */
} sqlq_limits;

/* The defaults above. */
void sqlq_limits_default(sqlq_limits *lim);

/* What a successful run produced besides the output. */
typedef struct sqlq_info {
    long rows;          /* rows written to out */
    int truncated;      /* max_rows or max_output stopped it early */
    double elapsed_ms;
    int cached;         /* sqlq_pool_run answered from the connection's cache */
} sqlq_info;

/* Runs sql against the SQLite file db_path, opened read-only on a connection of
 * its own (closed before returning) (SQLITE_OPEN_READONLY, DEFENSIVE, no extensions, trusted_schema off,
 * ATTACH limit 0, an authorizer allowing only reads, selects, functions and
 * recursive CTEs). sql must be exactly one SELECT / WITH / VALUES / EXPLAIN
 * statement (trailing whitespace, semicolons and comments allowed).
 *
 * On SQLQ_OK, out (a buf the caller initialised, whose own cap also applies)
 * holds the result and info (may be NULL) is filled:
 *   JSON: {"columns":[...],"rows":[[...],...],"truncated":bool,"elapsed_ms":n}
 *         (integers and reals as numbers, NaN/inf and NULL as null, blobs as
 *         hex strings);
 *   CSV:  RFC 4180, a header row, CRLF line ends, NULL as an empty field;
 *   CELLS: as JSON, but values as strings (NULL stays null).
 * Otherwise out's content is unspecified and err (RB_ERR_LEN) says why, e.g.
 * "refused: PRAGMA journal_mode (queries may only read)" or
 * "time limit of 2000 ms reached". lim NULL means the defaults. */
enum sqlq_status sqlq_run(const char *db_path, const char *sql, enum sqlq_format fmt,
                          const sqlq_limits *lim, buf *out, sqlq_info *info, char *err);

/* A pool of locked-down read-only connections to one warehouse, for a
 * server: each connection is opened and locked down once (its schema parsed
 * once), and every query re-arms its guards (authorizer, progress handler,
 * limits, defensive settings) as sqlq_run does. A connection that is not
 * clean after a query (a statement left, a transaction open) is closed and
 * reopened before its next use. Each connection keeps its last 8 answers of
 * at most 256 KiB whose queries call only deterministic functions, and gives
 * one back for the same SQL, format and output limits while PRAGMA
 * data_version says nothing was committed since (info->cached). Thread-safe. */
typedef struct sqlq_pool sqlq_pool;

/* Opens n (1..256) connections to db_path. A query waits at most wait_ms
 * (0..60000) for a free one. Returns a pool the caller frees with
 * sqlq_pool_free(), or NULL with err (the file could not be opened). */
sqlq_pool *sqlq_pool_new(const char *db_path, int n, long wait_ms, char *err);

/* Closes every connection and frees p; no query may be running. NULL: no-op. */
void sqlq_pool_free(sqlq_pool *p);

/* The number of connections and the wait of p, as made. */
int sqlq_pool_size(const sqlq_pool *p);
long sqlq_pool_wait_ms(const sqlq_pool *p);
/* Turns the answer cache off (on = 0) or on (the default); call it before
 * the pool is shared. */
void sqlq_pool_set_cache(sqlq_pool *p, int on);

/* sqlq_run on a pooled connection: the same checks, limits, output and
 * errors; SQLQ_BUSY with err when no connection came free within the wait
 * (the query did not run). */
enum sqlq_status sqlq_pool_run(sqlq_pool *p, const char *sql, enum sqlq_format fmt,
                               const sqlq_limits *lim, buf *out, sqlq_info *info, char *err);

#endif
