/* upload.c -- POST runs to the collector; spool what could not be delivered. */
#include "upload.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "httpc.h"
#include "util.h"

#define UPLOAD_TIMEOUT_MS 30000
#define UPLOAD_MAX_REPLY (1 << 20)

enum upload_status upload_run(const char *collector, const char *token, const char *json,
                              size_t len, char *summary, char *err)
{
    char url[1024];
    size_t cl = strlen(collector);
    while (cl > 0 && collector[cl - 1] == '/') cl--;
    snprintf(url, sizeof url, "%.*s/api/v1/runs", (int)cl, collector);
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
        const cJSON *vs = v ? cJSON_GetObjectItemCaseSensitive(v, "status") : NULL;
        const cJSON *reg = v ? cJSON_GetObjectItemCaseSensitive(v, "regression") : NULL;
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
