/* triage.c -- verdict triage in the warehouse and `redbench triage`: accept an
 * intended change, mark a false positive, list a run's flagged verdicts, and
 * show which series are noisy. */
#include "triage.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "httpc.h"
#include "store.h"
#include "tmpl.h"
#include "util.h"

const char *const triage_name[TRIAGE__MAX] = {
    [TRIAGE_NONE] = "none",
    [TRIAGE_ACCEPTED] = "accepted",
    [TRIAGE_FALSE_POSITIVE] = "false_positive",
};

int triage_parse(const char *s)
{
    for (int i = 0; i < TRIAGE__MAX; i++)
        if (s && strcmp(s, triage_name[i]) == 0) return i;
    return -1;
}

static void add_text_or_null(cJSON *o, const char *k, sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    if (t)
        cJSON_AddStringToObject(o, k, (const char *)t);
    else
        cJSON_AddNullToObject(o, k);
}

static const char *NOISY_SQL =
    "SELECT series_key, flagged, false_positives, accepted, last_false_positive_at "
    "FROM noisy_series WHERE (?1 IS NULL OR series_key = ?1) AND (?2 = 0 OR false_positives > 0) "
    "ORDER BY false_positives DESC, flagged DESC, series_key LIMIT ?3";

/* Rows of NOISY_SQL as a JSON array; NULL with err. */
static cJSON *noisy_query(sqlite3 *db, const char *key, int noisy_only, long limit, char *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, NOISY_SQL, -1, &st, NULL) != SQLITE_OK) {
        rb_err(err, "sqlite: %s", sqlite3_errmsg(db));
        return NULL;
    }
    if (key) sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, noisy_only);
    sqlite3_bind_int64(st, 3, limit);
    cJSON *arr = cJSON_CreateArray();
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "series_key", (const char *)sqlite3_column_text(st, 0));
        cJSON_AddNumberToObject(o, "flagged", (double)sqlite3_column_int64(st, 1));
        cJSON_AddNumberToObject(o, "false_positives", (double)sqlite3_column_int64(st, 2));
        cJSON_AddNumberToObject(o, "accepted", (double)sqlite3_column_int64(st, 3));
        add_text_or_null(o, "last_false_positive_at", st, 4);
        cJSON_AddItemToArray(arr, o);
    }
    if (src != SQLITE_DONE) {
        rb_err(err, "sqlite: %s", sqlite3_errmsg(db));
        cJSON_Delete(arr);
        arr = NULL;
    }
    sqlite3_finalize(st);
    return arr;
}

cJSON *triage_noisy_json(sqlite3 *db, int noisy_only, long limit, char *err)
{
    return noisy_query(db, NULL, noisy_only, limit, err);
}

enum triage_rc triage_apply(sqlite3 *db, long long id, enum triage_value v, const char *note,
                            const char *by, cJSON **out, char *err)
{
    sqlite3_stmt *sel = NULL, *targets = NULL, *upd = NULL;
    enum triage_rc rc = TRIAGE_ERROR;
    char *run_id = NULL, *key = NULL, *metric = NULL, *status = NULL, *cur = NULL;
    cJSON *ids = NULL;
    char now[40];
    fmt_time_utc(wall_ns(), now, sizeof now);
    if (out) *out = NULL;
    if (!note) note = "";
    if (!by) by = "";

    if (store_exec(db, "BEGIN IMMEDIATE", err) < 0) return TRIAGE_ERROR;
    if (sqlite3_prepare_v2(db,
                           "SELECT run_id, result_id, series_key, metric, status, triage "
                           "FROM verdicts WHERE id = ?",
                           -1, &sel, NULL) ||
        /* The verdict and its untriaged (or, clearing, same-triaged) siblings. */
        sqlite3_prepare_v2(db,
                           "SELECT id FROM verdicts WHERE id = ?1 OR (result_id = ?2 AND "
                           "status = ?3 AND triage IS ?4) ORDER BY id",
                           -1, &targets, NULL) ||
        sqlite3_prepare_v2(db,
                           "UPDATE verdicts SET triage = ?2, triaged_at = ?3, triaged_by = ?4, "
                           "triage_note = ?5 WHERE id = ?1",
                           -1, &upd, NULL)) {
        rb_err(err, "sqlite: %s", sqlite3_errmsg(db));
        goto out;
    }
    sqlite3_bind_int64(sel, 1, id);
    int src = sqlite3_step(sel);
    if (src == SQLITE_DONE) {
        rb_err(err, "verdict %lld not found", id);
        rc = TRIAGE_NOT_FOUND;
        goto out;
    }
    if (src != SQLITE_ROW) {
        rb_err(err, "sqlite: %s", sqlite3_errmsg(db));
        goto out;
    }
    run_id = store_col_text(sel, 0);
    long long result_id = sqlite3_column_int64(sel, 1);
    key = store_col_text(sel, 2);
    metric = store_col_text(sel, 3);
    status = store_col_text(sel, 4);
    cur = sqlite3_column_type(sel, 5) == SQLITE_NULL ? NULL : store_col_text(sel, 5);
    if (strcmp(status, "regression") != 0 && strcmp(status, "improvement") != 0) {
        rb_err(err, "verdict %lld is %s: only regression and improvement verdicts are triaged", id,
               status);
        rc = TRIAGE_NOT_FLAGGED;
        goto out;
    }

    sqlite3_bind_int64(targets, 1, id);
    sqlite3_bind_int64(targets, 2, result_id);
    sqlite3_bind_text(targets, 3, status, -1, SQLITE_STATIC);
    if (v == TRIAGE_NONE && cur)
        sqlite3_bind_text(targets, 4, cur, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(targets, 4);
    ids = cJSON_CreateArray();
    while ((src = sqlite3_step(targets)) == SQLITE_ROW) {
        long long tid = sqlite3_column_int64(targets, 0);
        cJSON_AddItemToArray(ids, cJSON_CreateNumber((double)tid));
        sqlite3_reset(upd);
        sqlite3_bind_int64(upd, 1, tid);
        if (v == TRIAGE_NONE)
            sqlite3_bind_null(upd, 2);
        else
            sqlite3_bind_text(upd, 2, triage_name[v], -1, SQLITE_STATIC);
        sqlite3_bind_text(upd, 3, now, -1, SQLITE_STATIC);
        sqlite3_bind_text(upd, 4, by, -1, SQLITE_STATIC);
        sqlite3_bind_text(upd, 5, note, -1, SQLITE_STATIC);
        if (sqlite3_step(upd) != SQLITE_DONE) {
            rb_err(err, "sqlite: %s", sqlite3_errmsg(db));
            goto out;
        }
    }
    if (src != SQLITE_DONE) {
        rb_err(err, "sqlite: %s", sqlite3_errmsg(db));
        goto out;
    }
    if (store_exec(db, "COMMIT", err) < 0) goto out;
    rc = TRIAGE_OK;

    if (out) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "verdict_id", (double)id);
        cJSON_AddStringToObject(o, "run_id", run_id);
        cJSON_AddNumberToObject(o, "result_id", (double)result_id);
        cJSON_AddStringToObject(o, "series_key", key);
        cJSON_AddStringToObject(o, "metric", metric);
        cJSON_AddStringToObject(o, "status", status);
        if (v == TRIAGE_NONE)
            cJSON_AddNullToObject(o, "triage");
        else
            cJSON_AddStringToObject(o, "triage", triage_name[v]);
        cJSON_AddStringToObject(o, "note", note);
        cJSON_AddStringToObject(o, "by", by);
        cJSON_AddStringToObject(o, "triaged_at", now);
        cJSON_AddItemToObject(o, "updated", ids);
        ids = NULL;
        /* The series' counts after this decision; a failure here loses only
         * the counts, the triage is committed. */
        char qerr[RB_ERR_LEN];
        cJSON *s = noisy_query(db, key, 0, 1, qerr);
        cJSON *row = s ? cJSON_DetachItemFromArray(s, 0) : NULL;
        cJSON_AddItemToObject(o, "series", row ? row : cJSON_CreateNull());
        cJSON_Delete(s);
        *out = o;
    }
out:
    if (rc != TRIAGE_OK) store_exec(db, "ROLLBACK", NULL);
    sqlite3_finalize(sel);
    sqlite3_finalize(targets);
    sqlite3_finalize(upd);
    cJSON_Delete(ids);
    free(run_id);
    free(key);
    free(metric);
    free(status);
    free(cur);
    return rc;
}

/* ---- `redbench triage` ---- */

static const char TRIAGE_USAGE[] =
    "usage: redbench triage VERDICT_ID (--accept | --false-positive | --clear)\n"
    "                       [--note TEXT] [--by NAME] (--db PATH | --collector URL [--token T])\n"
    "       redbench triage --run RUN_ID (--db PATH | --collector URL [--token T])\n"
    "                       [--format table|json]\n"
    "       redbench triage --noisy [--all] [--limit N] (--db PATH | --collector URL [--token T])\n"
    "                       [--format table|json]\n"
    "\n"
    "Records a person's decision on a regression (or improvement) verdict in the\n"
    "warehouse, shared by everyone who reads it:\n"
    "  --accept           the change is intended: the run enters later baselines\n"
    "  --false-positive   it was noise: not a regression; counted per series\n"
    "  --clear            undo: the verdict is untriaged again\n"
    "The decision also applies to the other verdicts of the same run and cell\n"
    "with the same status that are not triaged yet (its p50 and p99 regressions\n"
    "when you accept its ops/s regression).\n"
    "\n"
    "  --note TEXT        why (at most 1000 bytes)\n"
    "  --by NAME          who (default $GITHUB_ACTOR, else $USER)\n"
    "  --db PATH          write the warehouse file directly (an existing one)\n"
    "  --collector URL    ask a collector: POST /api/v1/verdicts/{id}/triage\n"
    "  --token T          bearer token for --collector (default $REDBENCH_TOKEN)\n"
    "  --run RUN_ID       list the run's regression and improvement verdicts with their ids\n"
    "  --noisy            series by false positives (--all: every flagged series)\n"
    "\n"
    "exit status: 0 done, 2 error (unknown verdict, a pass verdict, bad option...).\n";

static const char *default_by(void)
{
    const char *s = getenv("GITHUB_ACTOR");
    if (!s || !*s) s = getenv("USER");
    return s ? s : "";
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(it) ? it->valuestring : NULL;
}

static double jnum(const cJSON *o, const char *k)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(it) ? it->valuedouble : -1;
}

static void print_triaged(const cJSON *o)
{
    const char *t = jstr(o, "triage");
    printf("verdict %.0f (run %s, %s %s, %s): %s", jnum(o, "verdict_id"), jstr(o, "run_id"),
           jstr(o, "series_key"), jstr(o, "metric"), jstr(o, "status"), t ? t : "cleared");
    const char *by = jstr(o, "by");
    if (by && *by) printf(" by %s", by);
    printf("\n");
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(o, "updated"), *it;
    int others = 0;
    cJSON_ArrayForEach(it, ids) {
        if (it->valuedouble == jnum(o, "verdict_id")) continue;
        printf("%s%.0f", others++ ? ", " : "  also verdict(s) of the same result: ", it->valuedouble);
    }
    if (others) printf("\n");
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, "series");
    if (cJSON_IsObject(s))
        printf("  series: flagged %.0f time(s), %.0f false positive(s), %.0f accepted\n",
               jnum(s, "flagged"), jnum(s, "false_positives"), jnum(s, "accepted"));
}

static void print_noisy(const cJSON *arr)
{
    printf("%6s %6s %8s  %-24s  %s\n", "FLAGGED", "FALSE+", "ACCEPTED", "LAST FALSE+", "SERIES");
    const cJSON *o;
    cJSON_ArrayForEach(o, arr) {
        const char *last = jstr(o, "last_false_positive_at");
        printf("%7.0f %6.0f %8.0f  %-24s  %s\n", jnum(o, "flagged"), jnum(o, "false_positives"),
               jnum(o, "accepted"), last ? last : "-", jstr(o, "series_key"));
    }
}

static void print_run_verdicts(const cJSON *arr)
{
    printf("%8s  %-11s  %-11s %8s  %-14s  %s\n", "VERDICT", "METRIC", "STATUS", "CHANGE", "TRIAGE",
           "SERIES");
    const cJSON *o;
    int n = 0;
    cJSON_ArrayForEach(o, arr) {
        const char *st = jstr(o, "status"), *t = jstr(o, "triage");
        if (!st || (strcmp(st, "regression") && strcmp(st, "improvement"))) continue;
        const cJSON *ch = cJSON_GetObjectItemCaseSensitive(o, "change");
        char chs[32] = "-";
        if (cJSON_IsNumber(ch)) snprintf(chs, sizeof chs, "%+.1f%%", ch->valuedouble * 100);
        double id = jnum(o, "id");
        char ids[32] = "?";
        if (id >= 0) snprintf(ids, sizeof ids, "%.0f", id);
        printf("%8s  %-11s  %-11s %8s  %-14s  %s\n", ids, jstr(o, "metric"), st, chs,
               t ? t : "-", jstr(o, "series_key"));
        n++;
    }
    if (!n) printf("(no regression or improvement verdicts)\n");
}

/* The run's stored verdicts from the warehouse, as GET /api/v1/runs/{id} gives them. */
static cJSON *run_verdicts_db(sqlite3 *db, const char *run_id, char *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT id, series_key, metric, status, change, triage FROM verdicts "
                           "WHERE run_id = ? ORDER BY id",
                           -1, &st, NULL) != SQLITE_OK) {
        rb_err(err, "sqlite: %s", sqlite3_errmsg(db));
        return NULL;
    }
    sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
    cJSON *arr = cJSON_CreateArray();
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "id", (double)sqlite3_column_int64(st, 0));
        add_text_or_null(o, "series_key", st, 1);
        add_text_or_null(o, "metric", st, 2);
        add_text_or_null(o, "status", st, 3);
        if (sqlite3_column_type(st, 4) == SQLITE_NULL)
            cJSON_AddNullToObject(o, "change");
        else
            cJSON_AddNumberToObject(o, "change", sqlite3_column_double(st, 4));
        add_text_or_null(o, "triage", st, 5);
        cJSON_AddItemToArray(arr, o);
    }
    if (src != SQLITE_DONE) {
        rb_err(err, "sqlite: %s", sqlite3_errmsg(db));
        cJSON_Delete(arr);
        arr = NULL;
    }
    sqlite3_finalize(st);
    return arr;
}

/* GET or POST url; on a 2xx answer returns its parsed JSON (caller owns),
 * else NULL with err naming the collector's reason. */
static cJSON *collector_call(const char *method, const char *url, const char *token,
                             const char *body, char *err)
{
    httpc_resp r;
    char herr[RB_ERR_LEN];
    if (httpc_request(method, url, token, NULL, body, body ? strlen(body) : 0, 30000, 64u << 20, &r,
                      herr) < 0) {
        rb_err(err, "%s", herr);
        return NULL;
    }
    cJSON *j = cJSON_Parse(r.body);
    if (r.status / 100 != 2) {
        const cJSON *e = j ? cJSON_GetObjectItemCaseSensitive(j, "error") : NULL;
        rb_err(err, "collector answered %d: %s", r.status,
               cJSON_IsString(e) ? e->valuestring : "(no message)");
        cJSON_Delete(j);
        j = NULL;
    } else if (!j) {
        rb_err(err, "collector sent malformed JSON");
    }
    httpc_resp_cleanup(&r);
    return j;
}

/* collector URL without trailing slashes + path + escaped segment + suffix. */
static char *collector_url(const char *collector, const char *path, const char *seg,
                           const char *suffix)
{
    size_t cl = strlen(collector);
    while (cl > 0 && collector[cl - 1] == '/') cl--;
    buf q;
    buf_init(&q, 8192);
    buf_printf(&q, "%.*s%s", (int)cl, collector, path);
    if (seg) tmpl_escape_url(&q, seg);
    buf_puts(&q, suffix);
    if (q.toobig) {
        buf_cleanup(&q);
        return NULL;
    }
    return buf_take(&q);
}

int cmd_triage(int argc, char **argv)
{
    static const struct option opts[] = {
        {"accept", 0, 0, 'A'}, {"false-positive", 0, 0, 'F'}, {"clear", 0, 0, 'C'},
        {"note", 1, 0, 'n'}, {"by", 1, 0, 'b'}, {"db", 1, 0, 'd'}, {"collector", 1, 0, 'c'},
        {"token", 1, 0, 't'}, {"run", 1, 0, 'r'}, {"noisy", 0, 0, 'N'}, {"all", 0, 0, 'a'},
        {"limit", 1, 0, 'l'}, {"format", 1, 0, 'f'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    const char *dbpath = NULL, *collector = NULL, *token = getenv("REDBENCH_TOKEN");
    const char *note = NULL, *by = default_by(), *run = NULL;
    int value = -1, noisy = 0, all = 0, json = 0, opt, rc = EXIT_ERROR;
    long limit = 50;
    char err[RB_ERR_LEN] = "";
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        char *end;
        switch (opt) {
        case 'A':
        case 'F':
        case 'C': {
            int v = opt == 'A' ? TRIAGE_ACCEPTED : opt == 'F' ? TRIAGE_FALSE_POSITIVE : TRIAGE_NONE;
            if (value >= 0 && value != v) {
                fprintf(stderr, "redbench triage: --accept, --false-positive and --clear exclude each other\n");
                return EXIT_ERROR;
            }
            value = v;
            break;
        }
        case 'n': note = optarg; break;
        case 'b': by = optarg; break;
        case 'd': dbpath = optarg; break;
        case 'c': collector = optarg; break;
        case 't': token = optarg; break;
        case 'r': run = optarg; break;
        case 'N': noisy = 1; break;
        case 'a': all = 1; break;
        case 'l':
            limit = strtol(optarg, &end, 10);
            if (*end || limit < 1 || limit > 10000) {
                fprintf(stderr, "redbench triage: --limit: want 1..10000\n");
                return EXIT_ERROR;
            }
            break;
        case 'f':
            if (strcmp(optarg, "json") && strcmp(optarg, "table")) {
                fprintf(stderr, "redbench triage: --format: want table or json\n");
                return EXIT_ERROR;
            }
            json = strcmp(optarg, "json") == 0;
            break;
        case 'h': fputs(TRIAGE_USAGE, stdout); return EXIT_OK;
        default: fputs(TRIAGE_USAGE, stderr); return EXIT_ERROR;
        }
    }
    int modes = (noisy != 0) + (run != NULL) + (optind < argc);
    if (modes != 1 || argc - optind > 1 || !dbpath == !collector) {
        fprintf(stderr, "redbench triage: need one VERDICT_ID, --run or --noisy, and exactly one "
                        "of --db or --collector\n");
        fputs(TRIAGE_USAGE, stderr);
        return EXIT_ERROR;
    }
    long long id = 0;
    if (optind < argc) {
        char *end;
        id = strtoll(argv[optind], &end, 10);
        if (*end || end == argv[optind] || id < 1) {
            fprintf(stderr, "redbench triage: '%s' is not a verdict id (a positive integer)\n",
                    argv[optind]);
            return EXIT_ERROR;
        }
        if (value < 0) {
            fprintf(stderr, "redbench triage: say --accept, --false-positive or --clear\n");
            return EXIT_ERROR;
        }
        if (note && strlen(note) > TRIAGE_NOTE_MAX) {
            fprintf(stderr, "redbench triage: --note: longer than %d bytes\n", TRIAGE_NOTE_MAX);
            return EXIT_ERROR;
        }
        if (strlen(by) > TRIAGE_BY_MAX) {
            fprintf(stderr, "redbench triage: --by: longer than %d bytes\n", TRIAGE_BY_MAX);
            return EXIT_ERROR;
        }
    }

    cJSON *res = NULL;
    char *url = NULL;
    if (dbpath && id) {
        /* store_open would create a missing file: a triage needs an existing one. */
        if (access(dbpath, R_OK | W_OK) != 0) {
            rb_err(err, "%s: no such warehouse file (or not writable)", dbpath);
            goto out;
        }
        store *s = store_open(dbpath, err);
        if (!s) goto out;
        sqlite3 *db = store_writer_lock(s);
        triage_apply(db, id, (enum triage_value)value, note, by, &res, err);
        store_writer_unlock(s);
        store_close(s);
    } else if (dbpath) {
        sqlite3 *db = store_open_readonly(dbpath, err);
        if (!db) goto out;
        res = run ? run_verdicts_db(db, run, err) : triage_noisy_json(db, !all, limit, err);
        sqlite3_close(db);
    } else if (id) {
        char seg[32];
        snprintf(seg, sizeof seg, "%lld", id);
        url = collector_url(collector, "/api/v1/verdicts/", seg, "/triage");
        cJSON *body = cJSON_CreateObject();
        if (value == TRIAGE_NONE)
            cJSON_AddNullToObject(body, "triage");
        else
            cJSON_AddStringToObject(body, "triage", triage_name[value]);
        if (note) cJSON_AddStringToObject(body, "note", note);
        cJSON_AddStringToObject(body, "by", by);
        char *b = cJSON_PrintUnformatted(body);
        cJSON_Delete(body);
        if (url) res = collector_call("POST", url, token, b, err);
        cJSON_free(b);
    } else if (run) {
        url = collector_url(collector, "/api/v1/runs/", run, "");
        cJSON *j = url ? collector_call("GET", url, token, NULL, err) : NULL;
        if (j) res = cJSON_DetachItemFromObjectCaseSensitive(j, "verdicts");
        if (j && !res) rb_err(err, "collector's answer has no verdicts");
        cJSON_Delete(j);
    } else {
        char q[64];
        snprintf(q, sizeof q, "?limit=%ld%s", limit, all ? "&all=1" : "");
        url = collector_url(collector, "/api/v1/series/noisy", NULL, q);
        cJSON *j = url ? collector_call("GET", url, token, NULL, err) : NULL;
        if (j) res = cJSON_DetachItemFromObjectCaseSensitive(j, "series");
        if (j && !res) rb_err(err, "collector's answer has no series");
        cJSON_Delete(j);
    }
    if (!url && collector && !err[0]) rb_err(err, "collector URL too long");
    if (!res) goto out;
    if (json) {
        char *s = cJSON_Print(res);
        printf("%s\n", s);
        cJSON_free(s);
    } else if (id) {
        print_triaged(res);
    } else if (run) {
        print_run_verdicts(res);
    } else {
        print_noisy(res);
    }
    rc = EXIT_OK;
out:
    if (rc != EXIT_OK) fprintf(stderr, "redbench triage: %s\n", err[0] ? err : "failed");
    cJSON_Delete(res);
    free(url);
    return rc;
}
