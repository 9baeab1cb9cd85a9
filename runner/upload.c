/* upload.c -- POST runs to the collector; spool what could not be delivered. */
#include "upload.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "httpc.h"
#include "util.h"

/* Above the collector's 30 s wait for the verdicts (?wait=analysis). */
#define UPLOAD_TIMEOUT_MS 60000
#define UPLOAD_MAX_REPLY (1 << 20)

enum upload_status upload_run(const char *collector, const char *token, const char *json,
                              size_t len, char *summary, char *err)
{
    char url[1024];
    size_t cl = strlen(collector);
    while (cl > 0 && collector[cl - 1] == '/') cl--;
    /* wait=analysis: the answer carries the verdicts, as before the collector
     * judged runs after their commit (docs/api.md). */
    snprintf(url, sizeof url, "%.*s/api/v1/runs?wait=analysis", (int)cl, collector);
    httpc_resp r;
    char herr[RB_ERR_LEN];
    if (httpc_request("POST", url, token, "application/json", json, len, UPLOAD_TIMEOUT_MS,
                      UPLOAD_MAX_REPLY, &r, herr) < 0) {
        rb_err(err, "upload to %s: %s", url, herr);
        return UPLOAD_FAILED;
    }
    enum upload_status st;
    cJSON *j = cJSON_Parse(r.body ? r.body : "");
    const cJSON *e = j ? cJSON_GetObjectItemCaseSensitive(j, "error") : NULL;
    if (r.status == 200 || r.status == 201) {
        const cJSON *ss = cJSON_GetObjectItemCaseSensitive(j, "status");
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "verdict");
        const cJSON *an = cJSON_GetObjectItemCaseSensitive(j, "analysis");
        const cJSON *vs = v ? cJSON_GetObjectItemCaseSensitive(v, "status") : NULL;
        const cJSON *reg = v ? cJSON_GetObjectItemCaseSensitive(v, "regression") : NULL;
        if (cJSON_IsString(an) && !strcmp(an->valuestring, "pending"))
            snprintf(summary, RB_ERR_LEN, "%s; verdict: pending (the collector is still analysing it)",
                     cJSON_IsString(ss) ? ss->valuestring : "stored");
        else
            snprintf(summary, RB_ERR_LEN, "%s; verdict: %s (%d regression(s))",
                     cJSON_IsString(ss) ? ss->valuestring : "stored",
                     cJSON_IsString(vs) ? vs->valuestring : "unknown",
                     cJSON_IsNumber(reg) ? reg->valueint : 0);
        st = UPLOAD_OK;
    } else {
        rb_err(err, "collector answered %d: %s", r.status,
               cJSON_IsString(e) ? e->valuestring : "(no error message)");
        st = r.status >= 400 && r.status < 500 ? UPLOAD_REJECTED : UPLOAD_FAILED;
    }
    cJSON_Delete(j);
    httpc_resp_cleanup(&r);
    return st;
}

int upload_or_spool(const char *cmd, const char *collector, const char *token, const char *run_id,
                    const char *json, size_t len, int retries, FILE *note)
{
    char summary[RB_ERR_LEN], err[RB_ERR_LEN];
    enum upload_status us = UPLOAD_FAILED;
    for (int attempt = 0; attempt <= retries; attempt++) {
        if (attempt) {
            fprintf(stderr, "redbench %s: %s; retrying in %d s\n", cmd, err, 1 << (attempt - 1));
            sleep(1u << (attempt - 1));
        }
        us = upload_run(collector, token, json, len, summary, err);
        if (us != UPLOAD_FAILED) break;
    }
    if (us == UPLOAD_OK) {
        fprintf(note, "uploaded run %s: %s\n", run_id, summary);
        return EXIT_OK;
    }
    if (us == UPLOAD_REJECTED) {
        /* Resending cannot help: no spool; an --out file still has the run. */
        fprintf(stderr, "redbench %s: the collector rejected the run: %s\n", cmd, err);
        return EXIT_ERROR;
    }
    char path[PATH_MAX], serr[RB_ERR_LEN];
    fprintf(stderr, "redbench %s: %s\n", cmd, err);
    if (upload_spool(run_id, json, len, path, serr) < 0) {
        fprintf(stderr, "redbench %s: could not spool the run either: %s\n", cmd, serr);
        return EXIT_ERROR;
    }
    fprintf(stderr, "redbench %s: run saved to %s; retry with `redbench upload %s`\n", cmd, path, path);
    return EXIT_SPOOLED;
}

char *upload_spool_dir(void)
{
    const char *s = getenv("REDBENCH_SPOOL");
    if (s && *s) return xstrdup(s);
    const char *home = getenv("HOME");
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/.cache/redbench/spool", home && *home ? home : "/tmp");
    return xstrdup(p);
}

/* mkdir -p */
static int mkdirs(const char *dir, char *err)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s", dir);
    for (char *q = p + 1; *q; q++) {
        if (*q != '/') continue;
        *q = '\0';
        if (mkdir(p, 0700) < 0 && errno != EEXIST) return rb_err(err, "mkdir %s: %s", p, strerror(errno));
        *q = '/';
    }
    if (mkdir(p, 0700) < 0 && errno != EEXIST) return rb_err(err, "mkdir %s: %s", p, strerror(errno));
    return 0;
}

int upload_spool(const char *run_id, const char *json, size_t len, char *path_out, char *err)
{
    char *dir = upload_spool_dir();
    char path[PATH_MAX];
    int rc = -1;
    if (mkdirs(dir, err) < 0) goto out;
    snprintf(path, sizeof path, "%s/%s.json", dir, run_id);
    if (write_file_atomic(path, json, len, err) < 0) goto out;
    if (path_out) snprintf(path_out, PATH_MAX, "%s", path);
    rc = 0;
out:
    free(dir);
    return rc;
}
