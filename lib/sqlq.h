/* sqlq.h -- run one untrusted, read-only SQL query against the warehouse on a
 * separate, locked-down connection, with time, row and size limits; CSV or
 * JSON out. Used by `redbench query --db` and POST /api/v1/query. */
#ifndef RB_SQLQ_H
#define RB_SQLQ_H

#include <stddef.h>

#include "util.h"

enum sqlq_format { SQLQ_JSON, SQLQ_CSV, SQLQ_FORMAT__MAX };

/* Parses "json" or "csv"; -1 otherwise. */
int sqlq_format_parse(const char *s);

enum sqlq_status {
    SQLQ_OK = 0,
    SQLQ_REFUSED = 1,  /* not a single read-only SELECT, or touches what it may not */
    SQLQ_SQL = 2,      /* SQLite refused it: syntax, no such table, too big, ... */
    SQLQ_TIMEOUT = 3,  /* stopped by the time limit */
    SQLQ_OPEN = 4      /* the warehouse could not be opened */
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
} sqlq_info;

/* Runs sql against the SQLite file db_path, opened read-only on a connection of
 * its own (SQLITE_OPEN_READONLY, DEFENSIVE, no extensions, trusted_schema off,
 * ATTACH limit 0, an authorizer allowing only reads, selects, functions and
 * recursive CTEs). sql must be exactly one SELECT / WITH / VALUES / EXPLAIN
 * statement (trailing whitespace, semicolons and comments allowed).
 *
 * On SQLQ_OK, out (a buf the caller initialised, whose own cap also applies)
 * holds the result and info (may be NULL) is filled:
 *   JSON: {"columns":[...],"rows":[[...],...],"truncated":bool,"elapsed_ms":n}
 *         (integers and reals as numbers, NaN/inf and NULL as null, blobs as
 *         hex strings);
 *   CSV:  RFC 4180, a header row, CRLF line ends, NULL as an empty field.
 * Otherwise out's content is unspecified and err (RB_ERR_LEN) says why, e.g.
 * "refused: PRAGMA journal_mode (queries may only read)" or
 * "time limit of 2000 ms reached". lim NULL means the defaults. */
enum sqlq_status sqlq_run(const char *db_path, const char *sql, enum sqlq_format fmt,
                          const sqlq_limits *lim, buf *out, sqlq_info *info, char *err);

#endif
