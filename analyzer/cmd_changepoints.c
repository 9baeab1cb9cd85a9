/* cmd_changepoints.c -- `redbench analyze changepoints`: the change point
 * detector on any series of numbers, so it can be checked against other tools. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "changepoint.h"
#include "commands.h"
#include "util.h"

#define CP_MAX_INPUT (256u << 20)

static const char USAGE[] =
    "usage: redbench analyze changepoints --input FILE [options]\n"
    "\n"
    "Finds where a series of numbers shifted (E-Divisive means, Matteson & James;\n"
    "significance by Student's t-test between the segments and Hunter's merge step,\n"
    "or by permutations) and prints the 0-based indices where new segments start.\n"
    "\n"
    "  --input FILE         a one-column CSV (optional header line; empty lines skipped;\n"
    "                       NaN, null, NA = missing) or a JSON array of numbers and\n"
    "                       nulls; '-' reads standard input. Missing values keep their\n"
    "                       index but take no part in the computation.\n"
    "  --format F           indices (default: one per line), table, or json:\n"
    "                       {\"change_points\":[{\"index\",\"mean_before\",\"mean_after\",\n"
    "                       \"change\",\"p_value\"}, ...]}\n"
    "  --alpha A            significance level (default 0.005; 0.05 with --permutations)\n"
    "  --min-segment N      fewest values on either side of a change point (default 3)\n"
    "  --permutations N     permutation test with N shuffles instead of the t-test\n"
    "  --seed S             the shuffles' seed (default 20140101)\n"
    "  --window W           Hunter's sliding windows of W values (default 0: whole series)\n"
    "  --min-change X       drop change points whose relative change is below X (0.05 = 5%)\n"
    "  --no-correction      raw t-test p-values, as Hunter/Otava report them (default:\n"
    "                       times the number of places the split could have been)\n"
    "Otava's defaults are about --no-correction --alpha 0.001 --window 50 --min-segment 1.\n"
    "\n"
    "exit status: 0 ok, 2 bad input or options (the message names the line).\n";

enum { OUT_INDICES, OUT_TABLE, OUT_JSON };

static int bad(const char *opt, const char *want)
{
    fprintf(stderr, "redbench analyze changepoints: --%s: want %s\n", opt, want);
    return EXIT_ERROR;
}

static void json_num(cJSON *o, const char *k, double x)
{
    if (isfinite(x))
        cJSON_AddNumberToObject(o, k, x);
    else
        cJSON_AddNullToObject(o, k);
}

static void print_json(const cp_point *cp, int n, size_t points, const cp_opts *o)
{
    cJSON *root = cJSON_CreateObject(), *arr = cJSON_CreateArray();
    cJSON_AddNumberToObject(root, "points", (double)points);
    cJSON_AddStringToObject(root, "test", o->permutations   ? "permutation"
                                          : o->no_correction ? "student_t"
                                                             : "student_t_bonferroni");
    cJSON_AddNumberToObject(root, "alpha", o->alpha);
    cJSON_AddNumberToObject(root, "min_segment", (double)o->min_segment);
    if (o->permutations) cJSON_AddNumberToObject(root, "permutations", o->permutations);
    cJSON_AddItemToObject(root, "change_points", arr);
    for (int i = 0; i < n; i++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "index", (double)cp[i].index);
        json_num(e, "mean_before", cp[i].mean_before);
        json_num(e, "mean_after", cp[i].mean_after);
        json_num(e, "change", cp[i].change);
        json_num(e, "p_value", cp[i].p_value);
        json_num(e, "sd_before", cp[i].sd_before);
        json_num(e, "sd_after", cp[i].sd_after);
        cJSON_AddNumberToObject(e, "n_before", (double)cp[i].n_before);
        cJSON_AddNumberToObject(e, "n_after", (double)cp[i].n_after);
        json_num(e, "qhat", cp[i].qhat);
        cJSON_AddItemToArray(arr, e);
    }
    char *s = cJSON_Print(root);
    puts(s);
    free(s);
    cJSON_Delete(root);
}

static void print_table(const cp_point *cp, int n, size_t points)
{
    printf("%-7s %14s %14s %9s %10s %9s\n", "index", "mean_before", "mean_after", "change",
           "p_value", "n_b/n_a");
    for (int i = 0; i < n; i++) {
        char nn[48];
        snprintf(nn, sizeof nn, "%zu/%zu", cp[i].n_before, cp[i].n_after);
        printf("%-7zu %14.6g %14.6g %+8.2f%% %10.3g %9s\n", cp[i].index, cp[i].mean_before,
               cp[i].mean_after, cp[i].change * 100, cp[i].p_value, nn);
    }
    printf("%d change point%s in %zu values\n", n, n == 1 ? "" : "s", points);
}

int cmd_changepoints(int argc, char **argv)
{
    static const struct option opts[] = {
        {"input", 1, 0, 'i'},        {"format", 1, 0, 'f'},      {"alpha", 1, 0, 'a'},
        {"min-segment", 1, 0, 'm'},  {"permutations", 1, 0, 'p'}, {"seed", 1, 0, 's'},
        {"window", 1, 0, 'w'},       {"min-change", 1, 0, 'c'},   {"no-correction", 0, 0, 'n'},
        {"help", 0, 0, 'h'},
        {0, 0, 0, 0}};
    const char *input = NULL;
    int fmt = OUT_INDICES, opt, alpha_set = 0;
    cp_opts o;
    cp_opts_default(&o);
    char err[RB_ERR_LEN];
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        char *end = NULL;
        switch (opt) {
        case 'i': input = optarg; break;
        case 'f':
            if (!strcmp(optarg, "indices")) fmt = OUT_INDICES;
            else if (!strcmp(optarg, "table")) fmt = OUT_TABLE;
            else if (!strcmp(optarg, "json")) fmt = OUT_JSON;
            else return bad("format", "indices, table or json");
            break;
        case 'a':
            o.alpha = strtod(optarg, &end);
            if (*end || !(o.alpha > 0 && o.alpha < 1)) return bad("alpha", "a number in (0, 1)");
            alpha_set = 1;
            break;
        case 'c':
            o.min_change = strtod(optarg, &end);
            if (*end || !(o.min_change >= 0 && o.min_change < 100))
                return bad("min-change", "a relative change such as 0.05");
            break;
        case 'm':
        case 'p':
        case 's':
        case 'w': {
            unsigned long long v = strtoull(optarg, &end, 10);
            if (*end || !*optarg || *optarg == '-')
                return bad(opt == 'm' ? "min-segment" : opt == 'p' ? "permutations"
                           : opt == 's' ? "seed" : "window", "a whole number");
            if (opt == 'm') {
                if (v < 1 || v > 1000000) return bad("min-segment", "1..1000000");
                o.min_segment = (size_t)v;
            } else if (opt == 'p') {
                if (v > CP_MAX_PERMUTATIONS) return bad("permutations", "0..100000");
                o.permutations = (unsigned)v;
            } else if (opt == 's') {
                o.seed = v;
            } else {
                if (v > 100000000) return bad("window", "0..100000000");
                o.window = (size_t)v;
            }
            break;
        }
        case 'n': o.no_correction = 1; break;
        case 'h': fputs(USAGE, stdout); return EXIT_OK;
        default: fputs(USAGE, stderr); return EXIT_ERROR;
        }
    }
    if (!input || optind < argc) {
        fprintf(stderr, "redbench analyze changepoints: %s\n",
                input ? "unexpected argument" : "need --input FILE (or - for standard input)");
        fputs(USAGE, stderr);
        return EXIT_ERROR;
    }
    if (o.permutations && !alpha_set) o.alpha = CP_DEFAULT_PERM_ALPHA;

    const char *name = strcmp(input, "-") ? input : "standard input";
    size_t len;
    char *text = read_file(strcmp(input, "-") ? input : "/dev/stdin", CP_MAX_INPUT, &len, err);
    if (!text) {
        fprintf(stderr, "redbench analyze changepoints: %s\n", err);
        return EXIT_ERROR;
    }
    double *x = NULL;
    size_t n = 0;
    int rc = cp_parse_series(text, len, &x, &n, err);
    free(text);
    if (rc < 0) {
        fprintf(stderr, "redbench analyze changepoints: %s: %s\n", name, err);
        return EXIT_ERROR;
    }
    cp_point *cp = xmalloc((n ? n : 1) * sizeof *cp);
    int found = cp_detect(x, n, &o, cp, n, err);
    if (found < 0) {
        fprintf(stderr, "redbench analyze changepoints: %s\n", err);
        rc = EXIT_ERROR;
    } else {
        if (fmt == OUT_JSON)
            print_json(cp, found, n, &o);
        else if (fmt == OUT_TABLE)
            print_table(cp, found, n);
        else
            for (int i = 0; i < found; i++) printf("%zu\n", cp[i].index);
        rc = EXIT_OK;
    }
    free(cp);
    free(x);
    return rc;
}
