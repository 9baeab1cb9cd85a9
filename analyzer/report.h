/* report.h -- BENCHMARK_RESULTS.md from a warehouse: the one generator behind
 * `redbench report --db` and the collector's GET /api/v1/report (docs/report.md). */
#ifndef RB_REPORT_H
#define RB_REPORT_H

#include <sqlite3.h>

#include "util.h"

#define REPORT_MAX (64u << 20) /* bytes of Markdown at most */

enum report_rc { REPORT_OK = 0, REPORT_ERROR = -1, REPORT_TOOBIG = -2 };

/* Appends the Markdown report of project/branch, read through db (any
 * connection that can read the warehouse: a read-only CLI connection or a
 * collector's reader; only SELECTs are run, in one read transaction, a
 * savepoint that is released before returning), to out, stamped "Generated ...
 * at" the wall clock of the call. out is the caller's (init it with the cap
 * REPORT_MAX; buf_cleanup it). Returns REPORT_OK; REPORT_ERROR with err on
 * a database failure; REPORT_TOOBIG with err when out's cap was passed (out
 * then holds a truncated report: do not publish it). */
enum report_rc report_render(sqlite3 *db, const char *project, const char *branch, buf *out, char *err);

#endif
