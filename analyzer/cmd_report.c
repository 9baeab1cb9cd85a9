/* cmd_report.c -- `redbench report`: writes BENCHMARK_RESULTS.md, made by the
 * one generator of analyzer/report.c either here from a warehouse file (--db)
 * or by a collector from its warehouse (--collector: GET /api/v1/report). */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "commands.h"
#include "httpc.h"
#include "model.h"
#include "report.h"
#include "store.h"
#include "tmpl.h"
#include "util.h"

#define REPORT_TIMEOUT_MS 120000 /* the whole GET of --collector, ms */

static const char REPORT_USAGE[] =
    "usage: redbench report (--db PATH | --collector URL [--token T]) [options]\n"
    "\n"
    "Writes BENCHMARK_RESULTS.md from the warehouse: per deployment mode (single,\n"
    "client-server, multi-region, orchestrated, cluster) the latest run's throughput\n"
    "and p50/p99 by operation, the overhead each mode adds over single, replication\n"
    "lag, the persistence-recovery and chaos figures, and the cost per million\n"
    "operations. A mode without runs says \"no runs\" (docs/report.md).\n"
    "\n"
    "  --db PATH              the warehouse file (opened read-only)\n"
    "  --collector URL        ask a collector instead (GET /api/v1/report): the same\n"
    "                         Markdown, made by the collector from its warehouse\n"
    "  --token T              bearer token for --collector, any role (default\n"
    "                         $REDBENCH_TOKEN; none needed under --public-read)\n"
    "  --project NAME         (default 'default')\n"
    "  --branch NAME          (default 'main')\n"
    "  -o, --output FILE      where to write (default ./BENCHMARK_RESULTS.md; '-' = stdout);\n"
    "                         the file is replaced atomically\n"
    "Exactly one of --db and --collector.\n"
    "exit status: 0 written; 2 error (bad option, unreadable warehouse, collector\n"
    "unreachable or answering an error status, not writable); nothing is written then\n";

/* GETs the report of project/branch from collector into out (cap REPORT_MAX).
 * 0, or -1 with err naming the transport failure or the collector's status
 * and reason; never the token. */
static int report_fetch(const char *collector, const char *token, const char *project, const char *branch,
                        buf *out, char *err)
{
    buf url;
    buf_init(&url, 8192);
    size_t cl = strlen(collector);
    while (cl > 0 && collector[cl - 1] == '/') cl--;
    buf_printf(&url, "%.*s/api/v1/report?project=", (int)cl, collector);
    tmpl_escape_url(&url, project);
    buf_puts(&url, "&branch=");
    tmpl_escape_url(&url, branch);
    httpc_resp r = {0};
    int rc = -1;
    if (url.toobig) {
        rb_err(err, "collector URL too long");
        goto out;
    }
    if (httpc_request("GET", url.data, token, NULL, NULL, 0, REPORT_TIMEOUT_MS, REPORT_MAX, &r, err) < 0)
        goto out;
    if (r.status != 200) {
        cJSON *j = cJSON_Parse(r.body);
        const cJSON *e = j ? cJSON_GetObjectItemCaseSensitive(j, "error") : NULL;
        rb_err(err, "collector answered %d: %s%s", r.status, cJSON_IsString(e) ? e->valuestring : "(no message)",
               r.status == 401 && (!token || !*token) ? " (give --token or set REDBENCH_TOKEN)" : "");
        cJSON_Delete(j);
        goto out;
    }
    if (strncasecmp(r.content_type, "text/markdown", 13) != 0) {
        rb_err(err, "collector answered 200 with Content-Type '%.60s', not text/markdown", r.content_type);
        goto out;
    }
    if (r.body_len == 0) {
        rb_err(err, "collector answered 200 with an empty body");
        goto out;
    }
    if (buf_append(out, r.body, r.body_len) < 0) {
        rb_err(err, "the report would pass %zu MiB", out->max >> 20);
        goto out;
    }
    rc = 0;
out:
    httpc_resp_cleanup(&r);
    buf_cleanup(&url);
    return rc;
}

int cmd_report(int argc, char **argv)
{
    static const struct option opts[] = {{"db", 1, 0, 'd'},     {"collector", 1, 0, 'c'}, {"token", 1, 0, 't'},
                                         {"project", 1, 0, 'p'}, {"branch", 1, 0, 'b'},    {"output", 1, 0, 'o'},
                                         {"help", 0, 0, 'h'},    {0, 0, 0, 0}};
    const char *dbpath = NULL, *collector = NULL, *token = getenv("REDBENCH_TOKEN");
    const char *output = "BENCHMARK_RESULTS.md";
    char project[RB_NAME_LEN] = "default", branch[RB_NAME_LEN] = "main", err[RB_ERR_LEN];
    sqlite3 *db = NULL;
    buf b;
    buf_init(&b, REPORT_MAX);
    int rc = EXIT_ERROR, o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
        switch (o) {
        case 'd': dbpath = optarg; break;
        case 'c': collector = optarg; break;
        case 't': token = optarg; break;
        case 'p': if (cli_name("report", "--project", project, sizeof project, optarg) < 0) goto out; break;
        case 'b': if (cli_name("report", "--branch", branch, sizeof branch, optarg) < 0) goto out; break;
        case 'o': output = optarg; break;
        case 'h': fputs(REPORT_USAGE, stdout); rc = EXIT_OK; goto out;
        default: fputs(REPORT_USAGE, stderr); goto out;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "redbench report: unexpected argument '%s'\n", argv[optind]);
        goto out;
    }
    if (!dbpath == !collector) {
        fprintf(stderr, "redbench report: need exactly one of --db PATH and --collector URL\n");
        goto out;
    }
    if (collector) {
        if (report_fetch(collector, token, project, branch, &b, err) < 0) {
            fprintf(stderr, "redbench report: %s\n", err);
            goto out;
        }
    } else {
        if (!(db = store_open_readonly(dbpath, err)) || report_render(db, project, branch, &b, err) != REPORT_OK) {
            fprintf(stderr, "redbench report: %s\n", err);
            goto out;
        }
    }
    if (!strcmp(output, "-")) {
        if (fwrite(b.data, 1, b.len, stdout) != b.len || fflush(stdout) != 0) {
            fprintf(stderr, "redbench report: writing to stdout failed\n");
            goto out;
        }
    } else {
        if (write_file_atomic(output, b.data, b.len, err) < 0) {
            fprintf(stderr, "redbench report: %s\n", err);
            goto out;
        }
        fprintf(stderr, "wrote %s\n", output);
    }
    rc = EXIT_OK;
out:
    if (db) sqlite3_close(db);
    buf_cleanup(&b);
    return rc;
}
