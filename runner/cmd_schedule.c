/* cmd_schedule.c -- `redbench schedule add|list|rm`: a thin client of the
 * collector's /api/v1/schedules (docs/orchestrated.md). */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "httpc.h"
#include "util.h"

static const char SCHEDULE_USAGE[] =
    "usage: redbench schedule add --cron EXPR (--plan FILE | --target HOST:PORT [plan options])\n"
    "       redbench schedule list\n"
    "       redbench schedule rm ID\n"
    "\n"
    "Manages the collector's schedules: each creates an orchestrated benchmark when\n"
    "its cron expression (five fields, UTC) comes due.\n"
    "\n"
    "  --collector URL      the collector (default $REDBENCH_COLLECTOR)\n"
    "  --token TOKEN        bearer token for add and rm (default $REDBENCH_TOKEN)\n"
    "add:\n"
    "  --cron EXPR          e.g. \"*/5 * * * *\" or \"0 3 * * mon-fri\"\n"
    "  --plan FILE          the plan as JSON (fields as for POST /benchmark/start)\n"
    "  --disabled           store it without running it\n"
    "  or the plan from options: --target HOST:PORT, --scenarios LIST,\n"
    "  --concurrency LIST, --pipeline LIST, --value-size LIST, --dataset-size LIST,\n"
    "  --iterations N, --requests N, --duration S, --warmup N, --workers N,\n"
    "  --share split|each, --project P, --branch B, --commit SHA\n"
    "exit status: 0 ok, 2 error.\n";

static int call(const char *method, const char *base, const char *path, const char *token,
                const char *body, httpc_resp *resp)
{
    char url[1024], err[RB_ERR_LEN];
    snprintf(url, sizeof url, "%s%s", base, path);
    if (httpc_request(method, url, token, "application/json", body, body ? strlen(body) : 0, 10000,
                      16u << 20, resp, err) < 0) {
        fprintf(stderr, "redbench schedule: %s\n", err);
        return -1;
    }
    if (resp->status >= 300) {
        fprintf(stderr, "redbench schedule: HTTP %d: %s\n", resp->status, resp->body);
        httpc_resp_cleanup(resp);
        return -1;
    }
    return 0;
}

/* Adds a number list "1,10" to the plan as an array. */
static int add_list(cJSON *plan, const char *name, const char *v)
{
    long vals[16];
    char err[RB_ERR_LEN];
    int n = parse_int_list(v, vals, 16, err);
    if (n < 1) {
        fprintf(stderr, "redbench schedule: --%s: %s\n", name, err);
        return -1;
    }
    cJSON *a = cJSON_AddArrayToObject(plan, name);
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber((double)vals[i]));
    return 0;
}

static int schedule_add(int argc, char **argv, const char *base, const char *token)
{
    enum { O_CRON = 1, O_PLAN, O_DISABLED, O_TARGET, O_SCEN, O_CONC, O_PIPE, O_VSIZE, O_DSIZE,
           O_ITER, O_REQ, O_DUR, O_WARM, O_WORKERS, O_SHARE, O_PROJECT, O_BRANCH, O_COMMIT };
    static const struct option opts[] = {
        {"cron", 1, 0, O_CRON}, {"plan", 1, 0, O_PLAN}, {"disabled", 0, 0, O_DISABLED},
        {"target", 1, 0, O_TARGET}, {"scenarios", 1, 0, O_SCEN}, {"concurrency", 1, 0, O_CONC},
        {"pipeline", 1, 0, O_PIPE}, {"value-size", 1, 0, O_VSIZE}, {"dataset-size", 1, 0, O_DSIZE},
        {"iterations", 1, 0, O_ITER}, {"requests", 1, 0, O_REQ}, {"duration", 1, 0, O_DUR},
        {"warmup", 1, 0, O_WARM}, {"workers", 1, 0, O_WORKERS}, {"share", 1, 0, O_SHARE},
        {"project", 1, 0, O_PROJECT}, {"branch", 1, 0, O_BRANCH}, {"commit", 1, 0, O_COMMIT},
        {"collector", 1, 0, 'c'}, {"token", 1, 0, 't'}, {0, 0, 0, 0}};
    const char *cron = NULL, *plan_file = NULL;
    int enabled = 1, rc = EXIT_ERROR, o;
    cJSON *plan = cJSON_CreateObject(), *body = NULL;
    char err[RB_ERR_LEN];
    optind = 1;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        long v;
        double d;
        switch (o) {
        case O_CRON: cron = optarg; break;
        case O_PLAN: plan_file = optarg; break;
        case O_DISABLED: enabled = 0; break;
        case O_TARGET: cJSON_AddStringToObject(plan, "target", optarg); break;
        case O_SCEN: cJSON_AddStringToObject(plan, "scenarios", optarg); break;
        case O_SHARE: cJSON_AddStringToObject(plan, "share", optarg); break;
        case O_PROJECT: cJSON_AddStringToObject(plan, "project", optarg); break;
        case O_BRANCH: cJSON_AddStringToObject(plan, "branch", optarg); break;
        case O_COMMIT: cJSON_AddStringToObject(plan, "commit", optarg); break;
        case O_CONC: if (add_list(plan, "concurrency", optarg) < 0) goto out; break;
        case O_PIPE: if (add_list(plan, "pipeline", optarg) < 0) goto out; break;
        case O_VSIZE: if (add_list(plan, "value_size", optarg) < 0) goto out; break;
        case O_DSIZE: if (add_list(plan, "dataset_size", optarg) < 0) goto out; break;
        case O_ITER:
            if (cli_long("schedule", "--iterations", optarg, 1, 1000, &v) < 0) goto out;
            cJSON_AddNumberToObject(plan, "iterations", (double)v);
            break;
        case O_REQ:
            if (cli_long("schedule", "--requests", optarg, 1, 1000000000000L, &v) < 0) goto out;
            cJSON_AddNumberToObject(plan, "requests", (double)v);
            break;
        case O_WARM:
            if (cli_long("schedule", "--warmup", optarg, 0, 1000000000L, &v) < 0) goto out;
            cJSON_AddNumberToObject(plan, "warmup", (double)v);
            break;
        case O_WORKERS:
            if (cli_long("schedule", "--workers", optarg, 1, 64, &v) < 0) goto out;
            cJSON_AddNumberToObject(plan, "workers", (double)v);
            break;
        case O_DUR:
            if (cli_real("schedule", "--duration", optarg, 0.001, 3600, &d) < 0) goto out;
            cJSON_AddNumberToObject(plan, "duration", d);
            break;
        case 'c': base = optarg; break;
        case 't': token = optarg; break;
        default: fputs(SCHEDULE_USAGE, stderr); goto out;
        }
    }
    if (!cron) {
        fprintf(stderr, "redbench schedule add: --cron is required\n");
        goto out;
    }
    if (plan_file) {
        char *text = read_file(plan_file, 1u << 20, NULL, err);
        if (!text) {
            fprintf(stderr, "redbench schedule add: --plan: %s\n", err);
            goto out;
        }
        cJSON *fp = cJSON_Parse(text);
        free(text);
        if (!cJSON_IsObject(fp)) {
            cJSON_Delete(fp);
            fprintf(stderr, "redbench schedule add: --plan %s: not a JSON object\n", plan_file);
            goto out;
        }
        /* Options given beside the file override its fields. */
        cJSON *it;
        cJSON_ArrayForEach(it, plan) cJSON_DeleteItemFromObjectCaseSensitive(fp, it->string);
        while (plan->child) cJSON_AddItemToObject(fp, plan->child->string, cJSON_DetachItemViaPointer(plan, plan->child));
        cJSON_Delete(plan);
        plan = fp;
    }
    if (!base || !token || !*token) {
        fprintf(stderr, "redbench schedule add: --collector and a token are required\n");
        goto out;
    }
    body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "cron", cron);
    cJSON_AddBoolToObject(body, "enabled", enabled);
    cJSON_AddItemToObject(body, "plan", plan);
    plan = NULL;
    char *text = cJSON_PrintUnformatted(body);
    httpc_resp resp;
    if (call("POST", base, "/api/v1/schedules", token, text, &resp) == 0) {
        printf("%s\n", resp.body);
        httpc_resp_cleanup(&resp);
        rc = EXIT_OK;
    }
    cJSON_free(text);
out:
    cJSON_Delete(plan);
    cJSON_Delete(body);
    return rc;
}

static int schedule_list(const char *base, const char *token)
{
    httpc_resp resp;
    if (call("GET", base, "/api/v1/schedules", token, NULL, &resp) < 0) return EXIT_ERROR;
    cJSON *j = cJSON_ParseWithLength(resp.body, resp.body_len);
    httpc_resp_cleanup(&resp);
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(j, "schedules"), *s;
    printf("%-5s %-20s %-8s %-26s %-7s %s\n", "ID", "CRON", "ENABLED", "NEXT DUE", "MISSED", "LAST BENCHMARK");
    cJSON_ArrayForEach(s, arr) {
        const char *last = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "last_benchmark_id"));
        const char *lst = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "last_benchmark_status"));
        const char *due = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "next_due"));
        printf("%-5g %-20s %-8s %-26s %-7g %s%s%s%s\n",
               cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(s, "id")),
               cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "cron")),
               cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "enabled")) ? "yes" : "no",
               due ? due : "-", cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(s, "missed")),
               last ? last : "-", lst ? " (" : "", lst ? lst : "", lst ? ")" : "");
    }
    cJSON_Delete(j);
    return EXIT_OK;
}

int cmd_schedule(int argc, char **argv)
{
    const char *base = getenv("REDBENCH_COLLECTOR"), *token = getenv("REDBENCH_TOKEN");
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(SCHEDULE_USAGE, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_ERROR : EXIT_OK;
    }
    const char *sub = argv[1];
    if (!strcmp(sub, "add")) return schedule_add(argc - 1, argv + 1, base, token);
    /* list and rm: --collector/--token anywhere, rm's ID as the operand. */
    static const struct option opts[] = {{"collector", 1, 0, 'c'}, {"token", 1, 0, 't'}, {0, 0, 0, 0}};
    int o;
    optind = 1;
    while ((o = getopt_long(argc - 1, argv + 1, "", opts, NULL)) != -1) {
        if (o == 'c') base = optarg;
        else if (o == 't') token = optarg;
        else {
            fputs(SCHEDULE_USAGE, stderr);
            return EXIT_ERROR;
        }
    }
    if (!base) {
        fprintf(stderr, "redbench schedule: --collector URL (or REDBENCH_COLLECTOR) is required\n");
        return EXIT_ERROR;
    }
    int nargs = argc - 1 - optind;
    char **args = argv + 1 + optind;
    if (!strcmp(sub, "list") && nargs == 0) return schedule_list(base, token);
    if (!strcmp(sub, "rm") && nargs == 1) {
        long id;
        if (cli_long("schedule", "rm", args[0], 1, 1L << 50, &id) < 0) return EXIT_ERROR;
        char path[64];
        snprintf(path, sizeof path, "/api/v1/schedules/%ld", id);
        httpc_resp resp;
        if (call("DELETE", base, path, token, NULL, &resp) < 0) return EXIT_ERROR;
        printf("schedule %ld deleted\n", id);
        httpc_resp_cleanup(&resp);
        return EXIT_OK;
    }
    fputs(SCHEDULE_USAGE, stderr);
    return EXIT_ERROR;
}
