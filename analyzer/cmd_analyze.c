/* cmd_analyze.c -- `redbench analyze` (verdicts for one run, the CI gate's exit
 * code) and `redbench migrate`. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze.h"
#include "commands.h"
#include "httpc.h"
#include "store.h"
#include "tmpl.h"
#include "util.h"

static const char ANALYZE_USAGE[] =
    "usage: redbench analyze --run ID (--db PATH | --collector URL) [options]\n"
    "\n"
    "Judges every result of a run against its baseline: earlier runs of the same\n"
    "series on the baseline branch. A metric regresses when it moved the wrong way\n"
    "by more than the threshold AND a one-sided Welch's t-test on the per-iteration\n"
    "samples gives p < alpha.\n"
    "\n"
    "  --run ID               the run to judge ('latest' = the newest run; --db only)\n"
    "  --db PATH              read the warehouse file directly (read-only)\n"
    "  --collector URL        ask a collector instead\n"
    "  --baseline-branch B    (default main)\n"
    "  --threshold X          practical threshold for every metric, relative: 0.1 = 10%\n"
    "                         (default: ops/s 0.10, p50 0.15, p99 0.25)\n"
    "  --alpha A              significance level (default 0.05)\n"
    "  --max-baseline-runs N  (default 30)   --min-baseline-runs N (default 2)\n"
    "  --format table|json|markdown   (default table)\n"
    "\n"
    "exit status: 0 no regression, 1 regression, 2 error.\n";

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

static int analyze_remote(const char *collector, const char *run_id, const analyze_opts *o,
                          int custom_threshold, double threshold, verdict_list *vl, char *err)
{
    char url[2048];
    size_t cl = strlen(collector);
    while (cl > 0 && collector[cl - 1] == '/') cl--;
    buf q;
    buf_init(&q, 1024);
    buf_printf(&q, "%.*s/api/v1/runs/", (int)cl, collector);
    tmpl_escape_url(&q, run_id);
    buf_puts(&q, "/analysis?baseline_branch=");
    tmpl_escape_url(&q, o->baseline_branch);
    buf_printf(&q, "&alpha=%.17g&max_baseline_runs=%d&min_baseline_runs=%d", o->alpha,
               o->max_baseline_runs, o->min_baseline_runs);
    if (custom_threshold) buf_printf(&q, "&threshold=%.17g", threshold);
    if (q.toobig) {
        buf_cleanup(&q);
        return rb_err(err, "collector URL too long");
    }
    snprintf(url, sizeof url, "%s", q.data);
    buf_cleanup(&q);
    httpc_resp r;
    char herr[RB_ERR_LEN];
    if (httpc_request("GET", url, NULL, NULL, NULL, 0, 30000, 64u << 20, &r, herr) < 0)
        return rb_err(err, "%s", herr);
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

int cmd_analyze(int argc, char **argv)
{
    static const struct option opts[] = {
        {"run", 1, 0, 'r'}, {"db", 1, 0, 'd'}, {"collector", 1, 0, 'c'},
        {"baseline-branch", 1, 0, 'b'}, {"threshold", 1, 0, 't'}, {"alpha", 1, 0, 'a'},
        {"max-baseline-runs", 1, 0, 'M'}, {"min-baseline-runs", 1, 0, 'm'},
        {"format", 1, 0, 'f'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    const char *run = NULL, *dbpath = NULL, *collector = NULL;
    analyze_opts o;
    analyze_opts_default(&o);
    int fmt = FMT_TABLE, custom_threshold = 0, opt;
    double threshold = 0;
    char err[RB_ERR_LEN];
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        char *end = NULL;
        switch (opt) {
        case 'r': run = optarg; break;
        case 'd': dbpath = optarg; break;
        case 'c': collector = optarg; break;
        case 'b': snprintf(o.baseline_branch, sizeof o.baseline_branch, "%s", optarg); break;
        case 't':
            threshold = strtod(optarg, &end);
            if (*end || !(threshold >= 0 && threshold < 100)) {
                fprintf(stderr, "redbench analyze: --threshold: want a relative change such as 0.1\n");
                return EXIT_ERROR;
            }
            custom_threshold = 1;
            analyze_opts_threshold_all(&o, threshold);
            break;
        case 'a':
            o.alpha = strtod(optarg, &end);
            if (*end || !(o.alpha > 0 && o.alpha < 1)) {
                fprintf(stderr, "redbench analyze: --alpha: want a number in (0, 1)\n");
                return EXIT_ERROR;
            }
            break;
        case 'M':
        case 'm': {
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > 1000) {
                fprintf(stderr, "redbench analyze: --%s: want 1..1000\n",
                        opt == 'M' ? "max-baseline-runs" : "min-baseline-runs");
                return EXIT_ERROR;
            }
            *(opt == 'M' ? &o.max_baseline_runs : &o.min_baseline_runs) = (int)v;
            break;
        }
        case 'f':
            if ((fmt = out_format_parse(optarg)) < 0) {
                fprintf(stderr, "redbench analyze: --format: want table, json or markdown\n");
                return EXIT_ERROR;
            }
            break;
        case 'h': fputs(ANALYZE_USAGE, stdout); return EXIT_OK;
        default: fputs(ANALYZE_USAGE, stderr); return EXIT_ERROR;
        }
    }
    if (!run || (!dbpath == !collector)) {
        fprintf(stderr, "redbench analyze: need --run and exactly one of --db or --collector\n");
        fputs(ANALYZE_USAGE, stderr);
        return EXIT_ERROR;
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
        rc = analyze_remote(collector, run, &o, custom_threshold, threshold, &vl, err);
    }
    if (rc < 0) {
        fprintf(stderr, "redbench analyze: %s\n", err);
        return EXIT_ERROR;
    }
    verdicts_print(&vl, (enum out_format)fmt, stdout);
    int regressions = (int)verdict_list_count(&vl, V_REGRESSION);
    if (regressions && fmt != FMT_JSON) {
        for (size_t i = 0; i < vl.n; i++)
            if (vl.v[i].status == V_REGRESSION)
                fprintf(stderr, "regression: %s %s %+.1f%% (p=%.4g)\n", vl.v[i].series_key,
                        metric_info[vl.v[i].metric].name, vl.v[i].change * 100, vl.v[i].p_value);
    }
    verdict_list_cleanup(&vl);
    return regressions ? EXIT_REGRESSION : EXIT_OK;
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
