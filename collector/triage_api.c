/* triage_api.c -- the collector's triage endpoints: POST /api/v1/verdicts/{id}/triage
 * (through the single writer) and GET /api/v1/series/noisy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "triage.h"
#include "util.h"

enum MHD_Result api_verdict_triage(const struct request *r)
{
    char *end;
    long long id = r->param ? strtoll(r->param, &end, 10) : 0;
    if (!r->param || *end || end == r->param || id < 1)
        return respond_error(r->conn, 404, "verdict %s not found", r->param ? r->param : "");

    cJSON *body = cJSON_ParseWithLength(r->body, r->body_len);
    if (!cJSON_IsObject(body)) {
        cJSON_Delete(body);
        return respond_error(r->conn, 400, "body: want a JSON object such as {\"triage\":\"accepted\"}");
    }
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(body, "triage");
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(body, "note");
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(body, "by");
    int v = cJSON_IsNull(t) ? TRIAGE_NONE : cJSON_IsString(t) ? triage_parse(t->valuestring) : -1;
    const char *msg = NULL;
    if (v < 0 || (cJSON_IsString(t) && v == TRIAGE_NONE))
        msg = "triage: want \"accepted\", \"false_positive\" or null (clear)";
    else if (n && !cJSON_IsNull(n) && (!cJSON_IsString(n) || strlen(n->valuestring) > TRIAGE_NOTE_MAX))
        msg = "note: want a string of at most 1000 bytes";
    else if (b && !cJSON_IsNull(b) && (!cJSON_IsString(b) || strlen(b->valuestring) > TRIAGE_BY_MAX))
        msg = "by: want a string of at most 63 bytes";
    if (msg) {
        cJSON_Delete(body);
        return respond_error(r->conn, 400, "%s", msg);
    }

    char err[RB_ERR_LEN];
    cJSON *out = NULL;
    sqlite3 *db = store_writer_lock(r->col->st);
    enum triage_rc rc = triage_apply(db, id, (enum triage_value)v,
                                     cJSON_IsString(n) ? n->valuestring : NULL,
                                     cJSON_IsString(b) ? b->valuestring : NULL, &out, err);
    store_writer_unlock(r->col->st);
    cJSON_Delete(body);
    switch (rc) {
    case TRIAGE_OK:
        fprintf(stderr, "redbench serve: verdict %lld triaged: %s\n", id, triage_name[v]);
        return respond_json(r->conn, 200, out);
    case TRIAGE_NOT_FOUND: return respond_error(r->conn, 404, "%s", err);
    case TRIAGE_NOT_FLAGGED: return respond_error(r->conn, 409, "%s", err);
    default:
        fprintf(stderr, "redbench serve: triage of verdict %lld failed: %s\n", id, err);
        return respond_error(r->conn, 500, "%s", err);
    }
}

enum MHD_Result api_series_noisy(const struct request *r)
{
    const char *ls = query_arg(r, "limit"), *all = query_arg(r, "all");
    long limit = 50;
    if (ls) {
        char *end;
        limit = strtol(ls, &end, 10);
        if (*end || limit < 1 || limit > 10000) return respond_error(r->conn, 400, "limit: want 1..10000");
    }
    char err[RB_ERR_LEN];
    sqlite3 *db = store_reader(r->col->st);
    cJSON *arr = triage_noisy_json(db, !(all && strcmp(all, "1") == 0), limit, err);
    store_reader_release(r->col->st, db);
    if (!arr) return respond_error(r->conn, 500, "%s", err);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddItemToObject(j, "series", arr);
    return respond_json(r->conn, 200, j);
}
