/* cmd_analyze.c -- `redbench analyze` (verdicts for one run, the CI gate's exit
 * code; `analyze changepoints` is in cmd_changepoints.c) and `redbench migrate`. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyze.h"
#include "commands.h"
#include "httpc.h"
#include "rules.h"
#include "store.h"
#include "thresholds.h"
#include "tmpl.h"
#include "util.h"

#define EXIT_INSUFFICIENT 3
#define DEFAULT_THRESHOLDS_FILE "redbench.thresholds"
#define THRESHOLDS_FILE_MAX 16384  /* bytes; the file travels to a collector in the URL */

static const char ANALYZE_USAGE[] =
    "usage: redbench analyze --run ID (--db PATH | --collector URL [--token T]) [options]\n"
    "       redbench analyze changepoints --input FILE [options]\n"
    "\n"
    "Judges every result of a run against its baseline: earlier runs of the same\n"
    "series on the baseline branch. By default a metric regresses when its median\n"
    "iteration moved the wrong way by more than the threshold, beyond the\n"
    "prediction interval of the baseline runs' medians (p < alpha), and the\n"
    "iterations moved as a group (Mann-Whitney U); SLO limits are checked too.\n"
    "See docs/analysis.md.\n"
    "\n"
    "  --run ID               the run to judge ('latest' = the newest run; --db only)\n"
    "  --db PATH              read the warehouse file directly (read-only)\n"
    "  --collector URL        ask a collector instead\n"
    "  --token T              bearer token for --collector (read role; default\n"
    "                         $REDBENCH_TOKEN; none needed under --public-read)\n"
    "  --baseline-branch B    (default main)\n"
    "  --since DATE           baseline runs started at or after DATE (2026-10-01)\n"
    "  --days N               baseline runs started at most N days before the run\n"
    "  --threshold X          practical threshold for every metric, relative: 0.1 = 10%\n"
    "                         (default: ops/s 0.05, p50 0.10, p99 0.15, errors 1.0)\n"
    "  --alpha A              significance level, one-sided (default 0.005)\n"
    "  --rule NAME            default, threshold, zscore, welch, pi, mwu or iqr\n"
    "  --thresholds FILE      per scenario/operation/metric settings and SLOs\n"
    "                         (default ./redbench.thresholds if present; 'none': no file)\n"
    "  --max-baseline-runs N  (default 30)   --min-baseline-runs N (default 2)\n"
    "  --format F             table, json, markdown, or github (table + ::error,\n"
    "                         ::notice and ::warning annotations)   (default table)\n"
    "  --fail-on WHAT         regression (default), any-change (regressions and\n"
    "                         improvements), or never\n"
    "  --insufficient pass|fail  a result without enough baseline: fail exits 3\n"
    "                         (default), pass counts it as passing\n"
    "\n"
    "exit status: 0 pass, 1 regression (or SLO violation; with --fail-on any-change\n"
    "also an improvement), 2 error, 3 no failure but some result lacks a baseline.\n";

enum fail_on { FAIL_REGRESSION, FAIL_ANY_CHANGE, FAIL_NEVER };

static int latest_run(sqlite3 *db, char *out, size_t n, char *err)
{
    sqlite3_stmt *st;
    int rc = -1;
    if (sqlite3_prepare_v2(db, "SELECT id FROM runs ORDER BY started_at DESC LIMIT 1", -1, &st, NULL))
        return rb_err(err, "sqlite: %s", sqlite3_errmsg(db));
    if (sqlite3_step(st) == SQLITE_ROW) {
        snprintf(out, n, "%s", (const char *)sqlite3_column_text(st, 0));
        rc = 0;
    } else {
        rb_err(err, "the warehouse has no runs");
    }
    sqlite3_finalize(st);
    return rc;
}

/* GET /api/v1/runs/{id}/analysis with the options a person set. */
static int analyze_remote(const char *collector, const char *token, const char *run_id,
                          const analyze_opts *o, const char *th_text, verdict_list *vl, char *err)
{
    size_t cl = strlen(collector);
    while (cl > 0 && collector[cl - 1] == '/') cl--;
    buf q;
    buf_init(&q, 64 * 1024);
    buf_printf(&q, "%.*s/api/v1/runs/", (int)cl, collector);
    tmpl_escape_url(&q, run_id);
    buf_puts(&q, "/analysis?baseline_branch=");
    tmpl_escape_url(&q, o->baseline_branch);
    buf_printf(&q, "&max_baseline_runs=%d", o->max_baseline_runs);
    if (o->user_set & ANALYZE_SET_ALPHA) buf_printf(&q, "&alpha=%.17g", o->alpha);
    if (o->user_set & ANALYZE_SET_MIN_RUNS) buf_printf(&q, "&min_baseline_runs=%d", o->min_baseline_runs);
    if (o->user_set & ANALYZE_SET_THRESHOLD) buf_printf(&q, "&threshold=%.17g", o->threshold[0]);
    if (o->user_set & ANALYZE_SET_RULE) buf_printf(&q, "&rule=%s", rule_name[o->rule]);
    if (o->since[0]) {
        buf_puts(&q, "&since=");
        tmpl_escape_url(&q, o->since);
    }
    if (o->days > 0) buf_printf(&q, "&days=%d", o->days);
    if (th_text) {
        buf_puts(&q, "&thresholds=");
        tmpl_escape_url(&q, th_text);
    }
    if (q.toobig) {
        buf_cleanup(&q);
        return rb_err(err, "collector URL too long");
    }
    char *url = buf_take(&q);
    httpc_resp r;
    char herr[RB_ERR_LEN];
    int hrc = httpc_request("GET", url, token, NULL, NULL, 0, 30000, 64u << 20, &r, herr);
    free(url);
    if (hrc < 0) return rb_err(err, "%s", herr);
    int rc = -1;
    cJSON *j = cJSON_Parse(r.body);
    if (r.status != 200) {
        const cJSON *e = j ? cJSON_GetObjectItemCaseSensitive(j, "error") : NULL;
        rb_err(err, "collector answered %d: %s", r.status,
               cJSON_IsString(e) ? e->valuestring : "(no message)");
    } else if (!j) {
        rb_err(err, "collector sent malformed JSON");
    } else {
        rc = verdicts_from_json(j, vl, err);
    }
    cJSON_Delete(j);
    httpc_resp_cleanup(&r);
    return rc;
}

static int exit_status(const verdict_list *vl, enum fail_on fail_on, int insufficient_fails)
{
    if (fail_on == FAIL_NEVER) return EXIT_OK;
    size_t failing = verdict_list_count(vl, V_REGRESSION);
    if (fail_on == FAIL_ANY_CHANGE) failing += verdict_list_count(vl, V_IMPROVEMENT);
    if (failing) return EXIT_REGRESSION;
    if (insufficient_fails && verdict_list_count(vl, V_INSUFFICIENT)) return EXIT_INSUFFICIENT;
    return EXIT_OK;
}

static int bad_value(const char *opt, const char *want)
{
    fprintf(stderr, "redbench analyze: --%s: want %s\n", opt, want);
    return EXIT_ERROR;
}

int cmd_analyze(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "changepoints") == 0) return cmd_changepoints(argc - 1, argv + 1);
    static const struct option opts[] = {
        {"run", 1, 0, 'r'}, {"db", 1, 0, 'd'}, {"collector", 1, 0, 'c'},
        {"baseline-branch", 1, 0, 'b'}, {"threshold", 1, 0, 't'}, {"alpha", 1, 0, 'a'},
        {"max-baseline-runs", 1, 0, 'M'}, {"min-baseline-runs", 1, 0, 'm'},
        {"format", 1, 0, 'f'}, {"rule", 1, 0, 'R'}, {"thresholds", 1, 0, 'T'},
        {"since", 1, 0, 's'}, {"days", 1, 0, 'D'}, {"fail-on", 1, 0, 'F'},
        {"insufficient", 1, 0, 'I'}, {"token", 1, 0, 'k'}, {"help", 0, 0, 'h'},
        {0, 0, 0, 0}};
    const char *run = NULL, *dbpath = NULL, *collector = NULL, *th_path = NULL;
    const char *token = getenv("REDBENCH_TOKEN");
    analyze_opts o;
    analyze_opts_default(&o);
    int fmt = FMT_TABLE, insufficient_fails = 1, opt;
    enum fail_on fail_on = FAIL_REGRESSION;
    char err[RB_ERR_LEN];
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        char *end = NULL;
        switch (opt) {
        case 'r': run = optarg; break;
        case 'd': dbpath = optarg; break;
        case 'c': collector = optarg; break;
        case 'k': token = optarg; break;
        case 'b':
            if (strlen(optarg) >= sizeof o.baseline_branch) return bad_value("baseline-branch", "a shorter name");
            snprintf(o.baseline_branch, sizeof o.baseline_branch, "%s", optarg);
            break;
        case 't': {
            double t = strtod(optarg, &end);
            if (end == optarg || *end || !(t >= 0 && t < 100))
                return bad_value("threshold", "a relative change such as 0.1");
            analyze_opts_threshold_all(&o, t);
            break;
        }
        case 'a':
            o.alpha = strtod(optarg, &end);
            if (end == optarg || *end || !(o.alpha > 0 && o.alpha < 1)) return bad_value("alpha", "a number in (0, 1)");
            o.user_set |= ANALYZE_SET_ALPHA;
            break;
        case 'M':
        case 'm': {
            long v = strtol(optarg, &end, 10);
            if (end == optarg || *end || v < 1 || v > 1000)
                return bad_value(opt == 'M' ? "max-baseline-runs" : "min-baseline-runs", "1..1000");
            if (opt == 'M') {
                o.max_baseline_runs = (int)v;
            } else {
                o.min_baseline_runs = (int)v;
                o.user_set |= ANALYZE_SET_MIN_RUNS;
            }
            break;
        }
        case 'D': {
            long v = strtol(optarg, &end, 10);
            if (end == optarg || *end || v < 1 || v > 100000) return bad_value("days", "1..100000");
            o.days = (int)v;
            break;
        }
        case 's':
            if (!analyze_since_valid(optarg)) return bad_value("since", "a date such as 2026-10-01 (UTC)");
            snprintf(o.since, sizeof o.since, "%s", optarg);
            break;
        case 'R': {
            int r = rule_find(optarg);
            if (r < 0) return bad_value("rule", "default, threshold, zscore, welch, pi, mwu or iqr");
            o.rule = r;
            o.user_set |= ANALYZE_SET_RULE;
            break;
        }
        case 'T': th_path = optarg; break;
        case 'F':
            if (strcmp(optarg, "regression") == 0) fail_on = FAIL_REGRESSION;
            else if (strcmp(optarg, "any-change") == 0) fail_on = FAIL_ANY_CHANGE;
            else if (strcmp(optarg, "never") == 0) fail_on = FAIL_NEVER;
            else return bad_value("fail-on", "regression, any-change or never");
            break;
        case 'I':
            if (strcmp(optarg, "pass") == 0) insufficient_fails = 0;
            else if (strcmp(optarg, "fail") == 0) insufficient_fails = 1;
            else return bad_value("insufficient", "pass or fail");
            break;
        case 'f':
            if ((fmt = out_format_parse(optarg)) < 0) return bad_value("format", "table, json, markdown or github");
            break;
        case 'h': fputs(ANALYZE_USAGE, stdout); return EXIT_OK;
        default: fputs(ANALYZE_USAGE, stderr); return EXIT_ERROR;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "redbench analyze: unexpected argument '%s'\n", argv[optind]);
        return EXIT_ERROR;
    }
    if (!run || (!dbpath == !collector)) {
        fprintf(stderr, "redbench analyze: need --run and exactly one of --db or --collector\n");
        fputs(ANALYZE_USAGE, stderr);
        return EXIT_ERROR;
    }

    /* The thresholds file: named, or ./redbench.thresholds when present. */
    thresholds *th = NULL;
    char *th_text = NULL;
    if (!th_path && access(DEFAULT_THRESHOLDS_FILE, F_OK) == 0) th_path = DEFAULT_THRESHOLDS_FILE;
    if (th_path && strcmp(th_path, "none") != 0) {
        th_text = read_file(th_path, THRESHOLDS_FILE_MAX, NULL, err);
        th = thresholds_new();
        if (!th_text || thresholds_parse(th, th_text, th_path, err) < 0) {
            fprintf(stderr, "redbench analyze: %s\n", err);
            thresholds_free(th);
            free(th_text);
            return EXIT_ERROR;
        }
        o.th = th;
    }

    verdict_list vl;
    verdict_list_init(&vl);
    int rc;
    if (dbpath) {
        sqlite3 *db = store_open_readonly(dbpath, err);
        char id[64];
        snprintf(id, sizeof id, "%s", run);
        rc = db ? 0 : -1;
        if (rc == 0 && strcmp(run, "latest") == 0) rc = latest_run(db, id, sizeof id, err);
        if (rc == 0) rc = analyze_run(db, id, &o, &vl, err);
        sqlite3_close(db);
    } else {
        rc = analyze_remote(collector, token, run, &o, th_text, &vl, err);
    }
    thresholds_free(th);
    free(th_text);
    if (rc < 0) {
        fprintf(stderr, "redbench analyze: %s\n", err);
        return EXIT_ERROR;
    }
    verdicts_print(&vl, (enum out_format)fmt, stdout);
    if (fmt == FMT_TABLE || fmt == FMT_MARKDOWN) {
        for (size_t i = 0; i < vl.n; i++) {
            const verdict *v = &vl.v[i];
            if (v->status != V_REGRESSION) continue;
            if (v->slo[0])
                fprintf(stderr, "slo violation: %s %s %.6g (limit %s)\n", v->series_key,
                        metric_info[v->metric].name, v->candidate_mean, v->slo);
            else
                fprintf(stderr, "regression: %s %s %+.1f%% (p=%.4g)\n", v->series_key,
                        metric_info[v->metric].name, v->change * 100, v->p_value);
        }
    }
    int status = exit_status(&vl, fail_on, insufficient_fails);
    if (status == EXIT_INSUFFICIENT && fmt != FMT_JSON)
        fprintf(stderr, "redbench analyze: %zu verdict(s) without enough baseline on %s "
                        "(exit 3; --insufficient pass to let them pass)\n",
                verdict_list_count(&vl, V_INSUFFICIENT), vl.baseline_branch);
    verdict_list_cleanup(&vl);
    return status;
}

int cmd_migrate(int argc, char **argv)
{
    static const char usage[] = "usage: redbench migrate --db PATH\n"
                                "Creates the warehouse or applies its pending migrations, then exits.\n";
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        fputs(usage, stdout);
        return EXIT_OK;
    }
    if (argc != 3 || strcmp(argv[1], "--db") != 0) {
        fputs(usage, stderr);
        return EXIT_ERROR;
    }
    char err[RB_ERR_LEN];
    store *s = store_open(argv[2], err);
    if (!s) {
        fprintf(stderr, "redbench migrate: %s\n", err);
        return EXIT_ERROR;
    }
    store_close(s);
    printf("%s: up to date\n", argv[2]);
    return EXIT_OK;
}
