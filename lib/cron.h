/* cron.h -- five-field cron expressions (minute hour day-of-month month
 * day-of-week), evaluated in UTC, and the next time one comes due. */
#ifndef RB_CRON_H
#define RB_CRON_H

#include <stdint.h>
#include <time.h>

/* A parsed expression: one bit per allowed value of each field. */
typedef struct cron_expr {
    uint64_t minute;        /* bits 0..59 */
    uint32_t hour;          /* bits 0..23 */
    uint32_t dom;           /* bits 1..31 */
    uint16_t month;         /* bits 1..12 */
    uint8_t dow;            /* bits 0..6, Sunday = 0 (7 is read as 0) */
    int dom_any, dow_any;   /* the field was '*' (Vixie rule below) */
} cron_expr;

/* Parses "M H DOM MON DOW": each field is '*', a number, a range "a-b", a
 * list "a,b-c", each optionally with a step "/n" ("*\/5", "1-30/10", "5/15"
 * = 5 to the field's maximum every 15). Months and days of the week also take
 * English three-letter names (jan..dec, sun..sat), case-insensitive.
 * When both day fields are restricted, a day matches if either does (as in
 * Vixie cron). 0, or -1 with err (RB_ERR_LEN bytes) naming the field. */
int cron_parse(const char *s, cron_expr *out, char *err);

/* The first minute strictly after t (seconds since the epoch, UTC) that the
 * expression matches, in seconds since the epoch; -1 when none comes within
 * eight years (e.g. "0 0 30 2 *"). */
int64_t cron_next(const cron_expr *e, int64_t t);

#endif
