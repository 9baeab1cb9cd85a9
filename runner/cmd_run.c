/* cmd_run.c -- `redbench run` and `redbench upload`: the matrix, the printed
 * table, the JSON file and the upload with spool. */
#include <dirent.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "commands.h"
#include "model.h"
#include "upload.h"
#include "util.h"

#define MAX_LIST 16

static const char RUN_USAGE[] =
    "usage: redbench run [options]\n"
    "\n"
    "Benchmarks a Redis-protocol server with a matrix of operations and parameters,\n"
    "prints a table, and optionally writes the run as JSON and uploads it.\n"
    "\n"
    "target:\n"
    "  --target HOST:PORT     server to benchmark (default 127.0.0.1:6379)\n"
    "  --password PW          AUTH password (or REDBENCH_TARGET_PASSWORD)\n"
    "  --timeout MS           connect and command timeout (default 5000)\n"
    "matrix (lists are comma-separated; every combination is one cell):\n"
    "  --scenarios LIST       operations: set,get (default set,get)\n"
    "  --concurrency LIST     connections (default 10)\n"
    "  --pipeline LIST        requests per batch on a connection (default 1)\n"
    "  --value-size LIST      value bytes (default 64)\n"
    "  --dataset-size LIST    distinct keys (default 10000)\n"
    "measurement:\n"
    "  --iterations N         measured iterations per cell (default 5)\n"
    "  --requests N           requests per iteration (default 20000)\n"
    "  --duration SECONDS     time per iteration instead of --requests\n"
    "  --warmup N             unmeasured requests before each cell (default 1000)\n"
    "recording:\n"
    "  --project NAME         (default 'default')\n"
    "  --branch NAME          (default $REDBENCH_BRANCH, else 'main')\n"
    "  --commit SHA           (default $REDBENCH_COMMIT, else $GITHUB_SHA, else empty)\n"
    "  --mode MODE            single|client-server|multi-region|orchestrated|cluster (default single)\n"
    "  --client-region R, --server-region R, --preset P   (default local)\n"
    "  --run-id ID            reuse an id (uploads are idempotent by id; default: random)\n"
    "  --out FILE             write the run as JSON (docs/result-format.md)\n"
    "  --collector URL        upload to this collector (e.g. http://127.0.0.1:8080)\n"
    "  --token TOKEN          bearer token for the upload (default $REDBENCH_TOKEN)\n"
    "  --quiet                no progress on stderr\n"
    "\n"
    "exit status: 0 ok; 2 error (bad option, target unreachable, failed cell);\n"
    "3 upload failed and the run was saved to the spool ($REDBENCH_SPOOL or\n"
    "~/.cache/redbench/spool; send it later with `redbench upload`).\n";

static void progress(const bench_cell *c, int it, int n, double ops, void *ud)
{
    if (*(int *)ud) return;
    fprintf(stderr, "  %s c=%ld p=%ld v=%ld d=%ld  iteration %d/%d: %.0f ops/s\n",
            op_info[c->op].name, c->concurrency, c->pipeline, c->value_size, c->dataset_size,
            it + 1, n, ops);
}

static void print_table(const rb_run *run, FILE *f)
{
    fprintf(f, "run %s  %s %s  target %s %s (%s)\n", run->id, run->branch,
            run->commit[0] ? run->commit : "-", run->target_kind, run->target_version,
            run->target_address);
    fprintf(f, "%-6s %5s %5s %7s %8s %12s %9s %9s %9s %9s %9s %7s\n", "OP", "CONN", "PIPE",
            "VALUE", "KEYS", "OPS/S", "±%", "P50 µs", "P99 µs", "P99.9 µs", "MAX µs", "ERRORS");
    for (size_t i = 0; i < run->n_results; i++) {
        const rb_result *r = &run->results[i];
        double mean = r->ops_per_sec, var = 0;
        for (size_t k = 0; k < r->n_samples; k++)
            var += (r->samples[k].ops_per_sec - mean) * (r->samples[k].ops_per_sec - mean);
        double sd = r->n_samples > 1 ? __builtin_sqrt(var / (double)(r->n_samples - 1)) : 0;
        fprintf(f, "%-6s %5ld %5ld %7ld %8ld %12.0f %9.1f %9.1f %9.1f %9.1f %9.1f %7llu\n", r->op,
                r->concurrency, r->pipeline, r->value_size, r->dataset_size, mean,
                mean > 0 ? 100 * sd / mean : 0, r->p50_us, r->p99_us, r->p999_us, r->max_us,
                (unsigned long long)r->errors);
    }
}

static int parse_count(const char *opt, const char *s, long min, long max, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < min || v > max) {
        fprintf(stderr, "redbench run: %s: '%s' is not a whole number in %ld..%ld\n", opt, s, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

static int set_name(const char *opt, char *dst, const char *v)
{
    if (strlen(v) >= RB_NAME_LEN) {
        fprintf(stderr, "redbench run: %s: longer than %d characters\n", opt, RB_NAME_LEN - 1);
        return -1;
    }
    snprintf(dst, RB_NAME_LEN, "%s", v);
    return 0;
}

int cmd_run(int argc, char **argv)
{
    enum { O_TARGET = 1, O_PASSWORD, O_TIMEOUT, O_SCEN, O_CONC, O_PIPE, O_VSIZE, O_DSIZE, O_ITER,
           O_REQ, O_DUR, O_WARM, O_PROJECT, O_BRANCH, O_COMMIT, O_MODE, O_CREG, O_SREG, O_PRESET,
           O_RUNID, O_OUT, O_COLL, O_TOKEN, O_QUIET, O_HELP };
    static const struct option opts[] = {
        {"target", 1, 0, O_TARGET}, {"password", 1, 0, O_PASSWORD}, {"timeout", 1, 0, O_TIMEOUT},
        {"scenarios", 1, 0, O_SCEN}, {"concurrency", 1, 0, O_CONC}, {"pipeline", 1, 0, O_PIPE},
        {"value-size", 1, 0, O_VSIZE}, {"dataset-size", 1, 0, O_DSIZE},
        {"iterations", 1, 0, O_ITER}, {"requests", 1, 0, O_REQ}, {"duration", 1, 0, O_DUR},
        {"warmup", 1, 0, O_WARM}, {"project", 1, 0, O_PROJECT}, {"branch", 1, 0, O_BRANCH},
        {"commit", 1, 0, O_COMMIT}, {"mode", 1, 0, O_MODE}, {"client-region", 1, 0, O_CREG},
        {"server-region", 1, 0, O_SREG}, {"preset", 1, 0, O_PRESET}, {"run-id", 1, 0, O_RUNID},
        {"out", 1, 0, O_OUT}, {"collector", 1, 0, O_COLL}, {"token", 1, 0, O_TOKEN},
        {"quiet", 0, 0, O_QUIET}, {"help", 0, 0, O_HELP}, {0, 0, 0, 0}};

    const char *target = "127.0.0.1:6379", *scen = "set,get", *out_path = NULL, *collector = NULL;
    const char *token = getenv("REDBENCH_TOKEN");
    const char *env_branch = getenv("REDBENCH_BRANCH");
    const char *env_commit = getenv("REDBENCH_COMMIT");
    if (!env_commit || !*env_commit) env_commit = getenv("GITHUB_SHA");
    long conc[MAX_LIST] = {10}, pipe[MAX_LIST] = {1}, vsize[MAX_LIST] = {64},
         dsize[MAX_LIST] = {10000};
    int nconc = 1, npipe = 1, nvsize = 1, ndsize = 1;
    long iterations = 5, requests = 20000, warmup = 1000, timeout = 5000;
    double duration = 0;
    int quiet = 0, rc = EXIT_ERROR;
    char err[RB_ERR_LEN];
    bench_target t = {0};
    t.password = getenv("REDBENCH_TARGET_PASSWORD");
    rb_run run;
    run_init(&run);
    snprintf(run.project, sizeof run.project, "default");
    snprintf(run.branch, sizeof run.branch, "%s", env_branch && *env_branch ? env_branch : "main");
    snprintf(run.commit, sizeof run.commit, "%.*s", RB_NAME_LEN - 1, env_commit ? env_commit : "");
    snprintf(run.mode, sizeof run.mode, "single");
    snprintf(run.client_region, sizeof run.client_region, "local");
    snprintf(run.server_region, sizeof run.server_region, "local");
    snprintf(run.target_preset, sizeof run.target_preset, "local");
    make_run_id(run.id);

    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int bad = 0;
        switch (o) {
        case O_TARGET: target = optarg; break;
        case O_PASSWORD: t.password = optarg; break;
        case O_TIMEOUT: bad = parse_count("--timeout", optarg, 1, 3600000, &timeout); break;
        case O_SCEN: scen = optarg; break;
        case O_CONC: bad = (nconc = parse_int_list(optarg, conc, MAX_LIST, err)) < 0; break;
        case O_PIPE: bad = (npipe = parse_int_list(optarg, pipe, MAX_LIST, err)) < 0; break;
        case O_VSIZE: bad = (nvsize = parse_int_list(optarg, vsize, MAX_LIST, err)) < 0; break;
        case O_DSIZE: bad = (ndsize = parse_int_list(optarg, dsize, MAX_LIST, err)) < 0; break;
        case O_ITER: bad = parse_count("--iterations", optarg, 1, 1000, &iterations); break;
        case O_REQ: bad = parse_count("--requests", optarg, 1, 1000000000L, &requests); break;
        case O_WARM: bad = parse_count("--warmup", optarg, 0, 1000000000L, &warmup); break;
        case O_DUR: {
            char *end;
            duration = strtod(optarg, &end);
            if (!*optarg || *end || !(duration > 0 && duration <= 86400)) {
                fprintf(stderr, "redbench run: --duration: '%s' is not a number of seconds in (0, 86400]\n", optarg);
                bad = 1;
            }
            break;
        }
        case O_PROJECT: bad = set_name("--project", run.project, optarg); break;
        case O_BRANCH: bad = set_name("--branch", run.branch, optarg); break;
        case O_COMMIT: bad = set_name("--commit", run.commit, optarg); break;
        case O_MODE: bad = set_name("--mode", run.mode, optarg); break;
        case O_CREG: bad = set_name("--client-region", run.client_region, optarg); break;
        case O_SREG: bad = set_name("--server-region", run.server_region, optarg); break;
        case O_PRESET: bad = set_name("--preset", run.target_preset, optarg); break;
        case O_RUNID:
            if (!run_id_valid(optarg)) {
                fprintf(stderr, "redbench run: --run-id: 1-63 letters, digits, '-' or '_'\n");
                bad = 1;
            } else {
                snprintf(run.id, sizeof run.id, "%s", optarg);
            }
            break;
        case O_OUT: out_path = optarg; break;
        case O_COLL: collector = optarg; break;
        case O_TOKEN: token = optarg; break;
        case O_QUIET: quiet = 1; break;
        case 'h':
        case O_HELP: fputs(RUN_USAGE, stdout); rc = EXIT_OK; goto out;
        default: fputs(RUN_USAGE, stderr); goto out;
        }
        if (bad) {
            if (nconc < 0 || npipe < 0 || nvsize < 0 || ndsize < 0)
                fprintf(stderr, "redbench run: %s\n", err);
            goto out;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "redbench run: unexpected argument '%s'\n", argv[optind]);
        goto out;
    }
    int known = 0;
    for (int i = 0; rb_modes[i]; i++) known |= !strcmp(rb_modes[i], run.mode);
    if (!known) {
        fprintf(stderr, "redbench run: --mode: unknown mode '%s'\n", run.mode);
        goto out;
    }
    int ops[OP__MAX], nops = 0;
    {
        char *copy = xstrdup(scen), *save = NULL;
        for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            int id = op_find(tok);
            if (id < 0) {
                fprintf(stderr, "redbench run: --scenarios: unknown operation '%s' (known: set, get)\n", tok);
                free(copy);
                goto out;
            }
            int dup = 0;
            for (int i = 0; i < nops; i++) dup |= ops[i] == id;
            if (!dup) ops[nops++] = id;
        }
        free(copy);
        if (nops == 0) {
            fprintf(stderr, "redbench run: --scenarios: empty list\n");
            goto out;
        }
    }
    if (parse_hostport(target, &t.host, &t.port, err) < 0) {
        fprintf(stderr, "redbench run: --target: %s\n", err);
        goto out;
    }
    t.timeout_ms = (int)timeout;
    if (collector && (!token || !*token)) {
        fprintf(stderr, "redbench run: --collector needs a token (--token or REDBENCH_TOKEN)\n");
        goto out;
    }

    bench_limits lim = {.iterations = (int)iterations,
                        .requests = duration > 0 ? 0 : (uint64_t)requests,
                        .duration_s = duration,
                        .warmup = (uint64_t)warmup};
    snprintf(run.runner_version, sizeof run.runner_version, "%s", RB_VERSION);
    gethostname(run.runner_host, sizeof run.runner_host - 1);

    if (bench_probe(&t, &run, err) < 0) {
        fprintf(stderr, "redbench run: %s\n", err);
        goto out;
    }
    fmt_time_utc(wall_ns(), run.started_at, sizeof run.started_at);
    int ncells = nops * nconc * npipe * nvsize * ndsize, cell_no = 0;
    for (int a = 0; a < nops; a++)
        for (int b = 0; b < nconc; b++)
            for (int c = 0; c < npipe; c++)
                for (int d = 0; d < nvsize; d++)
                    for (int e = 0; e < ndsize; e++) {
                        bench_cell cell = {(enum op_id)ops[a], conc[b], pipe[c], vsize[d], dsize[e]};
                        if (!quiet)
                            fprintf(stderr, "[%d/%d] %s concurrency=%ld pipeline=%ld value=%ldB keys=%ld\n",
                                    ++cell_no, ncells, op_info[cell.op].name, cell.concurrency,
                                    cell.pipeline, cell.value_size, cell.dataset_size);
                        rb_result *res = run_add_result(&run);
                        if (bench_run_cell(&t, &cell, &lim, res, &run.commands, &run.n_commands,
                                           progress, &quiet, err) < 0) {
                            fprintf(stderr, "redbench run: %s\n", err);
                            goto out;
                        }
                    }
    fmt_time_utc(wall_ns(), run.ended_at, sizeof run.ended_at);
    print_table(&run, stdout);
    fflush(stdout);

    char *json = run_to_json(&run, 1);
    size_t jlen = strlen(json);
    rc = EXIT_OK;
    if (out_path) {
        if (write_file_atomic(out_path, json, jlen, err) < 0) {
            fprintf(stderr, "redbench run: --out: %s\n", err);
            rc = EXIT_ERROR;
        } else if (!quiet) {
            fprintf(stderr, "wrote %s\n", out_path);
        }
    }
    if (collector) {
        char summary[RB_ERR_LEN];
        enum upload_status us = upload_run(collector, token, json, jlen, summary, err);
        if (us == UPLOAD_OK) {
            printf("uploaded run %s: %s\n", run.id, summary);
        } else if (us == UPLOAD_REJECTED) {
            /* Resending cannot help: no spool; the --out file still has it. */
            fprintf(stderr, "redbench run: the collector rejected the run: %s\n", err);
            rc = EXIT_ERROR;
        } else {
            char path[PATH_MAX], serr[RB_ERR_LEN];
            fprintf(stderr, "redbench run: %s\n", err);
            if (upload_spool(run.id, json, jlen, path, serr) == 0) {
                fprintf(stderr, "redbench run: run saved to %s; retry with `redbench upload %s`\n",
                        path, path);
                rc = EXIT_SPOOLED;
            } else {
                fprintf(stderr, "redbench run: could not spool the run either: %s\n", serr);
                rc = EXIT_ERROR;
            }
        }
    }
    free(json);
out:
    free(t.host);
    run_cleanup(&run);
    return rc;
}

static const char UPLOAD_USAGE[] =
    "usage: redbench upload --collector URL [--token TOKEN] [FILE.json ...]\n"
    "\n"
    "Sends run files to the collector. With no FILE, sends every run in the spool\n"
    "($REDBENCH_SPOOL or ~/.cache/redbench/spool) and removes each one delivered.\n"
    "Uploading is idempotent: a run already stored is answered as already present.\n"
    "exit status: 0 all delivered, 2 some failed (they stay where they are).\n";

static int upload_one(const char *collector, const char *token, const char *path, int remove_ok)
{
    char err[RB_ERR_LEN], summary[RB_ERR_LEN];
    size_t len;
    char *json = read_file(path, 256u << 20, &len, err);
    if (!json) {
        fprintf(stderr, "redbench upload: %s\n", err);
        return -1;
    }
    enum upload_status st = upload_run(collector, token, json, len, summary, err);
    free(json);
    if (st != UPLOAD_OK) {
        fprintf(stderr, "redbench upload: %s: %s\n", path, err);
        return -1;
    }
    printf("%s: %s\n", path, summary);
    if (remove_ok) unlink(path);
    return 0;
}

int cmd_upload(int argc, char **argv)
{
    static const struct option opts[] = {{"collector", 1, 0, 'c'}, {"token", 1, 0, 't'},
                                         {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    const char *collector = NULL, *token = getenv("REDBENCH_TOKEN");
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'c': collector = optarg; break;
        case 't': token = optarg; break;
        case 'h': fputs(UPLOAD_USAGE, stdout); return EXIT_OK;
        default: fputs(UPLOAD_USAGE, stderr); return EXIT_ERROR;
        }
    }
    if (!collector || !token || !*token) {
        fprintf(stderr, "redbench upload: --collector and a token (--token or REDBENCH_TOKEN) are required\n");
        return EXIT_ERROR;
    }
    int failed = 0;
    if (optind < argc) {
        for (int i = optind; i < argc; i++) failed |= upload_one(collector, token, argv[i], 0) < 0;
        return failed ? EXIT_ERROR : EXIT_OK;
    }
    /* Spool entries are RUN_ID.json files written by `redbench run`. */
    char *spool = upload_spool_dir();
    char cmd_dir[PATH_MAX];
    snprintf(cmd_dir, sizeof cmd_dir, "%s", spool);
    free(spool);
    int n = 0;
    DIR *d = opendir(cmd_dir);
    if (!d) {
        printf("spool %s is empty\n", cmd_dir);
        return EXIT_OK;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 6 || strcmp(e->d_name + l - 5, ".json") != 0) continue;
        char path[PATH_MAX + 256];
        snprintf(path, sizeof path, "%s/%s", cmd_dir, e->d_name);
        failed |= upload_one(collector, token, path, 1) < 0;
        n++;
    }
    closedir(d);
    if (n == 0) printf("spool %s is empty\n", cmd_dir);
    return failed ? EXIT_ERROR : EXIT_OK;
}
