/* triage.h -- people's decisions on verdicts (accepted: the change is
 * intended; false_positive: it was noise), stored in the warehouse, and the
 * false-positive counts per series that show which series are noisy. */
#ifndef RB_TRIAGE_H
#define RB_TRIAGE_H

#include <cjson/cJSON.h>
#include <sqlite3.h>

/* TRIAGE_NONE is SQL NULL: not triaged (or cleared). */
enum triage_value { TRIAGE_NONE, TRIAGE_ACCEPTED, TRIAGE_FALSE_POSITIVE, TRIAGE__MAX };
/* "none", "accepted", "false_positive" (the values of verdicts.triage). */
extern const char *const triage_name[TRIAGE__MAX];

/* Looks a value up by name ("accepted", "false_positive", "none"); -1 if unknown. */
int triage_parse(const char *s);

#define TRIAGE_NOTE_MAX 1000   /* bytes */
#define TRIAGE_BY_MAX 63       /* bytes */

enum triage_rc {
    TRIAGE_OK = 0,
    TRIAGE_NOT_FOUND = 1,       /* no verdict with this id */
    TRIAGE_NOT_FLAGGED = 2,     /* a pass or insufficient_baseline verdict: nothing to triage */
    TRIAGE_ERROR = -1
};

/* Sets verdict id's triage to v (with note and by, either may be NULL) and
 * gives the same triage to the other verdicts of the same result (the same
 * run and cell) with the same status that are not triaged yet -- so accepting
 * a cell's ops/s regression also accepts its p99 regression and the result
 * enters later baselines (the baseline leaves out results with an untriaged
 * regression verdict). TRIAGE_NONE clears the verdict and those siblings that
 * carry its current triage. db must be the store's writer connection (held by
 * the caller); the update is one transaction of its own.
 * On TRIAGE_OK *out (if out) gets {"verdict_id", "run_id", "series_key",
 * "metric", "status", "triage", "note", "by", "triaged_at", "updated": [ids],
 * "series": counts as in triage_noisy_json}, owned by the caller. Other
 * outcomes fill err. */
enum triage_rc triage_apply(sqlite3 *db, long long id, enum triage_value v, const char *note,
                            const char *by, cJSON **out, char *err);

/* The triage counts of flagged series (those with a regression or improvement
 * verdict), most false positives first, at most limit (only series with at
 * least one false positive when noisy_only): a JSON array of {"series_key",
 * "flagged" (results with a regression or improvement verdict),
 * "false_positives" and "accepted" (results so triaged),
 * "last_false_positive_at"}; the view noisy_series. NULL with err
 * on an SQL error; the caller owns the array. */
cJSON *triage_noisy_json(sqlite3 *db, int noisy_only, long limit, char *err);

#endif
