/* upload.h -- sending run documents to the collector, with a local spool for
 * runs that could not be delivered. */
#ifndef RB_UPLOAD_H
#define RB_UPLOAD_H

#include <stddef.h>
#include <stdio.h>

enum upload_status {
    UPLOAD_OK = 0,          /* stored now or already present with the same content */
    UPLOAD_REJECTED = 1,    /* the collector answered 4xx: resending will not help */
    UPLOAD_FAILED = 2,      /* transport error or 5xx: worth retrying later */
};

/* POSTs json to COLLECTOR/api/v1/runs with the bearer token. On UPLOAD_OK,
 * summary (RB_ERR_LEN bytes) gets a one-line verdict summary from the
 * collector's answer; on failure err gets the cause (never the token). */
enum upload_status upload_run(const char *collector, const char *token, const char *json,
                              size_t len, char *summary, char *err);

/* Delivers a run: uploads json, retrying transport errors and 5xx `retries`
 * times (waiting 1, 2, 4... s), and spools it when the collector stays
 * unreachable. Says what happened: "uploaded run ID: ..." on note; problems on
 * stderr as "redbench CMD: ...". Returns EXIT_OK, EXIT_SPOOLED, or
 * EXIT_ERROR (the collector rejected it, or it could not be spooled either). */
int upload_or_spool(const char *cmd, const char *collector, const char *token, const char *run_id,
                    const char *json, size_t len, int retries, FILE *note);

/* The spool directory: $REDBENCH_SPOOL, else $HOME/.cache/redbench/spool.
 * Returns a malloc'd path the caller frees. */
char *upload_spool_dir(void);

/* Saves json as SPOOL/RUN_ID.json (atomically); 0 or -1 with err. The path
 * written goes to path_out (PATH_MAX bytes) when non-NULL. */
int upload_spool(const char *run_id, const char *json, size_t len, char *path_out, char *err);

#endif
