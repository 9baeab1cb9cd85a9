/* cmd_prices.c -- `redbench prices list|add`: the machine and egress prices
 * behind the cost_per_op view, read or added through a warehouse file or a
 * collector's /api/v1/prices. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "commands.h"
#include "httpc.h"
#include "store.h"
#include "util.h"

static const char PRICES_USAGE[] =
    "usage: redbench prices list [--json] (--db PATH | --collector URL [--token T])\n"
    "       redbench prices add --preset P --memory-mb N --usd-per-second X --effective-date YYYY-MM-DD\n"
    "                           [--provider fly] [--region-group any] [--source TEXT]\n"
    "                           (--db PATH | --collector URL [--token T])\n"
    "\n"
    "Machine prices (USD per second by provider, preset, memory and region group)\n"
    "and egress prices (USD per GB by region group) feed the cost_per_op view: each\n"
    "result uses the prices in effect on the day its run started (docs/cost.md).\n"
    "`add` inserts a price, or replaces the price and source of the row with the same\n"
    "provider, preset, region group, memory and effective date.\n"
    "\n"
    "  --db PATH          the warehouse file (add: only while no collector writes it)\n"
    "  --collector URL    a collector; --token T (default $REDBENCH_TOKEN) is sent: add needs\n"
    "                     the admin role, list any token (none under --public-read)\n"
    "  --json             list: print the JSON document instead of tables\n"
    "\n"
    "exit status: 0 ok, 2 error.\n";

static void print_tables(const cJSON *j)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "machine_prices");
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "egress_prices");
    const cJSON *o;
#define S(obj, k) (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(obj, k)) \
                       ? cJSON_GetObjectItemCaseSensitive(obj, k)->valuestring : "")
#define N(obj, k) (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(obj, k)) \
                       ? cJSON_GetObjectItemCaseSensitive(obj, k)->valuedouble : 0.0)
    printf("%-8s %-18s %-36s %9s %14s %12s  %s\n", "provider", "preset", "region_group", "memory_mb",
           "usd_per_second", "usd_per_30d", "effective");
    cJSON_ArrayForEach(o, m)
        printf("%-8s %-18s %-36s %9.0f %14.8f %12.2f  %s\n", S(o, "provider"), S(o, "preset"),
               S(o, "region_group"), N(o, "memory_mb"), N(o, "usd_per_second"),
               N(o, "usd_per_second") * 86400 * 30, S(o, "effective_date"));
    printf("\n%-8s %-36s %15s %21s  %s\n", "provider", "egress region_group", "usd_per_gb_inet",
           "usd_per_gb_private_xr", "effective");
    cJSON_ArrayForEach(o, e)
        printf("%-8s %-36s %15.4f %21.4f  %s\n", S(o, "provider"), S(o, "region_group"),
               N(o, "usd_per_gb_internet"), N(o, "usd_per_gb_private_cross_region"),
               S(o, "effective_date"));
#undef S
#undef N
}

/* Sends method to URL/api/v1/prices; returns the parsed answer (caller owns
 * it) and the status, or NULL with err. */
static cJSON *remote(const char *collector, const char *method, const char *token, const char *body,
                     int *status, char *err)
{
    char url[2048];
    size_t cl = strlen(collector);
    while (cl > 0 && collector[cl - 1] == '/') cl--;
    snprintf(url, sizeof url, "%.*s/api/v1/prices", (int)cl, collector);
    httpc_resp r;
    char herr[RB_ERR_LEN];
    if (httpc_request(method, url, token, NULL, body, body ? strlen(body) : 0, 30000, 16u << 20, &r,
                      herr) < 0) {
        rb_err(err, "%s", herr);
        return NULL;
    }
    cJSON *j = cJSON_Parse(r.body);
    *status = r.status;
    if (!j) rb_err(err, "collector answered %d with no JSON", r.status);
    httpc_resp_cleanup(&r);
    return j;
}

int cmd_prices(int argc, char **argv)
{
    enum { O_DB = 1, O_COLL, O_TOKEN, O_JSON, O_PROVIDER, O_PRESET, O_GROUP, O_MEM, O_USD, O_DATE,
           O_SOURCE, O_HELP };
    static const struct option opts[] = {
        {"db", 1, 0, O_DB}, {"collector", 1, 0, O_COLL}, {"token", 1, 0, O_TOKEN},
        {"json", 0, 0, O_JSON}, {"provider", 1, 0, O_PROVIDER}, {"preset", 1, 0, O_PRESET},
        {"region-group", 1, 0, O_GROUP}, {"memory-mb", 1, 0, O_MEM}, {"usd-per-second", 1, 0, O_USD},
        {"effective-date", 1, 0, O_DATE}, {"source", 1, 0, O_SOURCE}, {"help", 0, 0, O_HELP},
        {0, 0, 0, 0}};
    const char *dbpath = NULL, *collector = NULL, *token = getenv("REDBENCH_TOKEN");
    int json = 0, rc = EXIT_ERROR, o;
    char err[RB_ERR_LEN];
    cJSON *price = cJSON_CreateObject(), *ans = NULL;
    cJSON_AddStringToObject(price, "provider", "fly");
    cJSON_AddStringToObject(price, "region_group", "any");
    if (argc < 2 || argv[1][0] == '-') {
        int help = argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"));
        fputs(PRICES_USAGE, help ? stdout : stderr);
        cJSON_Delete(price);
        return help ? EXIT_OK : EXIT_ERROR;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "list") && strcmp(sub, "add")) {
        fprintf(stderr, "redbench prices: unknown subcommand '%s' (list or add)\n", sub);
        goto out;
    }
    optind = 1;
    while ((o = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
        double d;
        long l;
        switch (o) {
        case O_DB: dbpath = optarg; break;
        case O_COLL: collector = optarg; break;
        case O_TOKEN: token = optarg; break;
        case O_JSON: json = 1; break;
        case O_PROVIDER: cJSON_ReplaceItemInObject(price, "provider", cJSON_CreateString(optarg)); break;
        case O_GROUP: cJSON_ReplaceItemInObject(price, "region_group", cJSON_CreateString(optarg)); break;
        case O_PRESET: cJSON_AddStringToObject(price, "preset", optarg); break;
        case O_DATE: cJSON_AddStringToObject(price, "effective_date", optarg); break;
        case O_SOURCE: cJSON_AddStringToObject(price, "source", optarg); break;
        case O_MEM:
            if (cli_long("prices", "--memory-mb", optarg, 1, 16777216, &l) < 0) goto out;
            cJSON_AddNumberToObject(price, "memory_mb", (double)l);
            break;
        case O_USD:
            if (cli_real("prices", "--usd-per-second", optarg, 0, 1, &d) < 0) goto out;
            cJSON_AddNumberToObject(price, "usd_per_second", d);
            break;
        case 'h':
        case O_HELP: fputs(PRICES_USAGE, stdout); rc = EXIT_OK; goto out;
        default: fputs(PRICES_USAGE, stderr); goto out;
        }
    }
    if (optind < argc - 1) {
        fprintf(stderr, "redbench prices: unexpected argument '%s'\n", argv[optind + 1]);
        goto out;
    }
    if (!dbpath == !collector) {
        fprintf(stderr, "redbench prices: need exactly one of --db or --collector\n");
        goto out;
    }

    if (!strcmp(sub, "list")) {
        if (dbpath) {
            sqlite3 *db = store_open_readonly(dbpath, err);
            if (db) {
                ans = prices_json(db, err);
                sqlite3_close(db);
            }
        } else {
            int status = 0;
            ans = remote(collector, "GET", token, NULL, &status, err);
            if (ans && status != 200) {
                const cJSON *e = cJSON_GetObjectItemCaseSensitive(ans, "error");
                rb_err(err, "collector answered %d: %s", status, cJSON_IsString(e) ? e->valuestring : "");
                cJSON_Delete(ans);
                ans = NULL;
            }
        }
        if (!ans) {
            fprintf(stderr, "redbench prices: %s\n", err);
            goto out;
        }
        if (json) {
            char *s = cJSON_Print(ans);
            puts(s);
            cJSON_free(s);
        } else {
            print_tables(ans);
        }
        rc = EXIT_OK;
        goto out;
    }

    /* add: the same validation as POST /api/v1/prices, also before sending. */
    struct machine_price p;
    cJSON *errors = cJSON_CreateObject();
    if (price_from_json(price, &p, errors) < 0) {
        for (const cJSON *e = errors->child; e; e = e->next)
            fprintf(stderr, "redbench prices: %s: %s\n", e->string, e->valuestring);
        cJSON_Delete(errors);
        goto out;
    }
    cJSON_Delete(errors);
    if (dbpath) {
        store *st = store_open(dbpath, err);
        if (!st) {
            fprintf(stderr, "redbench prices: %s\n", err);
            goto out;
        }
        sqlite3 *db = store_writer_lock(st);
        enum price_put put = price_put(db, &p, err);
        store_writer_unlock(st);
        store_close(st);
        if (put == PRICE_ERROR || put == PRICE_BAD_GROUP) {
            fprintf(stderr, "redbench prices: %s\n", err);
            goto out;
        }
        printf("%s: %s %s %lld MB (%s) from %s: %.10g USD/s\n", put == PRICE_CREATED ? "created" : "updated",
               p.provider, p.preset, p.memory_mb, p.region_group, p.effective_date, p.usd_per_second);
        rc = EXIT_OK;
        goto out;
    }
    char *body = cJSON_PrintUnformatted(price);
    int status = 0;
    ans = remote(collector, "POST", token, body, &status, err);
    cJSON_free(body);
    if (!ans) {
        fprintf(stderr, "redbench prices: %s\n", err);
        goto out;
    }
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(ans, "status");
    if (status != 200 && status != 201) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(ans, "error");
        fprintf(stderr, "redbench prices: collector answered %d: %s\n", status,
                cJSON_IsString(e) ? e->valuestring : "");
        goto out;
    }
    printf("%s: %s %s %lld MB (%s) from %s: %.10g USD/s\n", cJSON_IsString(st) ? st->valuestring : "ok",
           p.provider, p.preset, p.memory_mb, p.region_group, p.effective_date, p.usd_per_second);
    rc = EXIT_OK;
out:
    cJSON_Delete(price);
    cJSON_Delete(ans);
    return rc;
}
