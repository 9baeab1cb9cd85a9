/* cmd_run.c -- `redbench run` and `redbench upload`: the matrix, progress,
 * the printed table, the JSON file, and the upload with retries and spool. */
#include <ctype.h>
#include <dirent.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "commands.h"
#include "model.h"
#include "ops.h"
#include "scenarios.h"
#include "upload.h"
#include "util.h"

#define MAX_LIST 16
#define MAX_OPS 128

static const char RUN_USAGE[] =
    "usage: redbench run [options]\n"
    "\n"
    "Benchmarks a Redis-protocol server with a matrix of operations and parameters,\n"
    "prints a table, and optionally writes the run as JSON and uploads it.\n"
    "\n"
    "target:\n"
    "  --target HOST:PORT     server to benchmark (default 127.0.0.1:6379)\n"
    "  --password PW          AUTH password (or REDBENCH_TARGET_PASSWORD)\n"
    "  --timeout MS           connect and reply timeout (default 5000)\n"
    "what to run:\n"
    "  --scenarios LIST       operations, groups (strings, hashes, lists, sets, zsets,\n"
    "                         streams, keys, mixed), 'all', and the scenarios\n"
    "                         pubsub-fanout, stream-rpc, capacity-fill, sustained,\n"
    "                         step-ramp (default set,get); --list shows them all\n"
    "  --list                 print the operations by group and the scenarios, then exit\n"
    "matrix (lists are comma-separated; every combination is one cell):\n"
    "  --concurrency LIST     connections (default 50)\n"
    "  --pipeline LIST        requests per batch on a connection (default 1)\n"
    "  --value-size LIST      value bytes (default 64)\n"
    "  --dataset-size LIST    distinct keys or members (default 10000)\n"
    "  --rate LIST            open loop: requests/s over all connections; latency is\n"
    "                         measured from each request's due time (default: closed loop)\n"
    "measurement:\n"
    "  --iterations N         measured iterations per cell (default 5)\n"
    "  --requests N           requests per iteration (default 100000)\n"
    "  --duration SECONDS     time per iteration instead of --requests\n"
    "  --warmup N             unmeasured requests before each cell (default 10000)\n"
    "  --threads N            client threads sharing the connections (default 1)\n"
    "  --read-ratio X         mixed: share of GETs, 0..1 (default 0.9)\n"
    "  --key-dist D           uniform or zipf[:THETA] (default uniform; THETA 0.99)\n"
    "scenario settings:\n"
    "  --publishers N, --subscribers N   pubsub-fanout (default 1 and 4)\n"
    "  --max-events N         capacity-fill: stop after N events (default: requests x iterations)\n"
    "  --op NAME              sustained, step-ramp: the operation (default get)\n"
    "  --interval SECONDS     sustained: reporting interval (default 1); total = --duration\n"
    "  --stages LIST          step-ramp: concurrency stages (default 5,10,25,50,100)\n"
    "recording:\n"
    "  --project NAME         (default 'default')\n"
    "  --branch NAME          (default $REDBENCH_BRANCH, else 'main')\n"
    "  --commit SHA           (default $REDBENCH_COMMIT, else $GITHUB_SHA, else empty)\n"
    "  --mode MODE            single|client-server|multi-region|orchestrated|cluster (default single)\n"
    "  --client-region R, --server-region R, --preset P   (default local)\n"
    "  --run-id ID            reuse an id (uploads are idempotent by id; default: random)\n"
    "  --out FILE             write the run as JSON (docs/result-format.md)\n"
    "  --format F             stdout: table, json, csv or markdown (default table)\n"
    "  --collector URL        upload to this collector (e.g. http://127.0.0.1:8080)\n"
    "  --token TOKEN          bearer token for the upload (default $REDBENCH_TOKEN)\n"
    "  --retries N            upload retries after a transport error or 5xx, waiting\n"
    "                         1, 2, 4... s (default 3); then the run goes to the spool\n"
    "  --quiet                no progress on stderr\n"
    "\n"
    "Ctrl-C ends the current cell, keeps the iterations that finished (marked partial)\n"
    "and still writes and uploads the run; a second Ctrl-C exits at once.\n"
    "exit status: 0 ok; 2 error (bad option, target unreachable, a failed cell);\n"
    "3 upload failed after retries and the run was saved to the spool\n"
    "($REDBENCH_SPOOL or ~/.cache/redbench/spool; `redbench upload` sends it later).\n";

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    if (interrupted) {
        signal(sig, SIG_DFL);
        raise(sig);
    }
    interrupted = 1;
}

/* ---- progress ---- */

typedef struct progress_state {
    int quiet, tty;
    int cell_no, ncells;
    uint64_t started;
} progress_state;

static void progress(const bench_cell *c, int it, int n, double ops, void *ud)
{
    progress_state *ps = ud;
    if (ps->quiet) return;
    /* ETA from the time spent so far over the cells and iterations done. */
    double done = (double)(ps->cell_no - 1) + (double)(it + 1) / n;
    double el = (double)(now_ns() - ps->started) / 1e9;
    double eta = done > 0 ? el * ((double)ps->ncells - done) / done : 0;
    if (ps->tty) {
        int width = 30, fill = (int)(width * done / ps->ncells);
        char bar[64];
        for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
        bar[width] = '\0';
        fprintf(stderr, "\r\033[K[%s] %d/%d %s c=%ld p=%ld it %d/%d %.0f ops/s  ETA %.0fs",
                bar, ps->cell_no, ps->ncells, c->op->name, c->concurrency, c->pipeline, it + 1, n,
                ops, eta);
        if (ps->cell_no == ps->ncells && it + 1 == n) fputc('\n', stderr);
    } else {
        fprintf(stderr, "  %s c=%ld p=%ld v=%ld d=%ld  iteration %d/%d: %.0f ops/s (ETA %.0f s)\n",
                c->op->name, c->concurrency, c->pipeline, c->value_size, c->dataset_size, it + 1,
                n, ops, eta);
    }
}

/* ---- output ---- */

static double sample_cv(const rb_result *r)
{
    double mean = r->ops_per_sec, var = 0;
    for (size_t k = 0; k < r->n_samples; k++)
        var += (r->samples[k].ops_per_sec - mean) * (r->samples[k].ops_per_sec - mean);
    double sd = r->n_samples > 1 ? sqrt(var / (double)(r->n_samples - 1)) : 0;
    return mean > 0 ? 100 * sd / mean : 0;
}

static void print_results(const rb_run *run, const char *format, FILE *f)
{
    if (!strcmp(format, "json")) {
        char *j = run_to_json(run, 1);
        fprintf(f, "%s\n", j);
        free(j);
        return;
    }
    int csv = !strcmp(format, "csv"), md = !strcmp(format, "markdown");
    if (csv) {
        fprintf(f, "scenario,op,status,concurrency,pipeline,value_size,dataset_size,params,ops_per_sec,"
                   "cv_pct,p50_us,p90_us,p99_us,p999_us,max_us,requests,errors\n");
    } else if (md) {
        fprintf(f, "run `%s` on `%s` %s — %s %s\n\n| scenario | op | conns | pipe | value | keys | ops/s | ±%% | p50 µs | p99 µs | p99.9 µs | errors | status |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n",
                run->id, run->branch, run->commit, run->target_kind, run->target_version);
    } else {
        fprintf(f, "run %s  %s %s  target %s %s (%s)\n", run->id, run->branch,
                run->commit[0] ? run->commit : "-", run->target_kind, run->target_version,
                run->target_address);
        fprintf(f, "%-24s %5s %5s %7s %8s %12s %6s %9s %9s %9s %9s %7s  %s\n", "SCENARIO/OP", "CONN",
                "PIPE", "VALUE", "KEYS", "OPS/S", "±%", "P50 µs", "P99 µs", "P99.9 µs", "MAX µs",
                "ERRORS", "STATUS");
    }
    for (size_t i = 0; i < run->n_results; i++) {
        const rb_result *r = &run->results[i];
        char params[256] = "";
        for (size_t k = 0, n = 0; k < r->n_params && n < sizeof params; k++)
            n += (size_t)snprintf(params + n, sizeof params - n, "%s%s=%s", k ? ";" : "",
                                  r->params[k].key, r->params[k].value);
        char name[2 * RB_NAME_LEN + 2];
        if (strcmp(r->scenario, r->op))
            snprintf(name, sizeof name, "%s/%s", r->scenario, r->op);
        else
            snprintf(name, sizeof name, "%s", r->op);
        const char *st = r->status[0] ? r->status : "ok";
        if (csv)
            fprintf(f, "%s,%s,%s,%ld,%ld,%ld,%ld,%s,%.1f,%.2f,%.1f,%.1f,%.1f,%.1f,%.1f,%llu,%llu\n",
                    r->scenario, r->op, st, r->concurrency, r->pipeline, r->value_size,
                    r->dataset_size, params, r->ops_per_sec, sample_cv(r), r->p50_us, r->p90_us,
                    r->p99_us, r->p999_us, r->max_us, (unsigned long long)r->requests,
                    (unsigned long long)r->errors);
        else if (md)
            fprintf(f, "| %s | %s | %ld | %ld | %ld | %ld | %.0f | %.1f | %.1f | %.1f | %.1f | %llu | %s |\n",
                    r->scenario, r->op, r->concurrency, r->pipeline, r->value_size, r->dataset_size,
                    r->ops_per_sec, sample_cv(r), r->p50_us, r->p99_us, r->p999_us,
                    (unsigned long long)r->errors, st);
        else
            fprintf(f, "%-24s %5ld %5ld %7ld %8ld %12.0f %6.1f %9.1f %9.1f %9.1f %9.1f %7llu  %s%s%s\n",
                    name, r->concurrency, r->pipeline, r->value_size, r->dataset_size,
                    r->ops_per_sec, sample_cv(r), r->p50_us, r->p99_us, r->p999_us, r->max_us,
                    (unsigned long long)r->errors, st, params[0] ? " " : "", params);
        if (!csv && !md) {
            for (size_t k = 0; k < r->n_metrics; k++)
                fprintf(f, "%-24s   %s = %g\n", "", r->metrics[k].name, r->metrics[k].value);
            if (r->error[0] && strcmp(st, "ok")) fprintf(f, "%-24s   %s\n", "", r->error);
        }
    }
}

/* ---- options ---- */

static void list_all(void)
{
    op_list_print(stdout);
    printf("\nscenarios:\n");
    for (size_t i = 0; i < scenario_count; i++)
        printf("  %-16s %s\n", scenario_defs[i].name, scenario_defs[i].summary);
    printf("  %-16s %s\n", "sustained", "a fixed open-loop --rate for --duration, one sample per --interval");
    printf("  %-16s %s\n", "step-ramp", "--op at each concurrency of --stages; p95/p99 per stage and the knee");
}

/* The matrix's settings shared by every cell. */
typedef struct plan {
    long conc[MAX_LIST], pipe[MAX_LIST], vsize[MAX_LIST], dsize[MAX_LIST], stages[MAX_LIST];
    double rates[MAX_LIST];
    int nconc, npipe, nvsize, ndsize, nrates, nstages;
    bench_limits lim;
    scenario_params sp;
    const struct op_def *ramp_op;
    double interval;
} plan;

/* Ctrl-C before a cell's first iteration finished leaves a result without
 * samples: it is not a measurement, so it is not kept. */
static void drop_unmeasured(rb_run *run)
{
    rb_result *r = &run->results[run->n_results - 1];
    if (!interrupted || r->n_samples || strcmp(r->status, "partial")) return;
    hist_free(r->latency);
    free(r->samples);
    free(r->params);
    free(r->metrics);
    run->n_results--;
}

/* The knee of a step-ramp: the first stage whose throughput gained less than
 * 10% over the previous one while its p99 grew by more than 50%; 0 if none. */
static long ramp_knee(rb_result *stages, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        const rb_result *a = &stages[i - 1], *b = &stages[i];
        if (a->ops_per_sec > 0 && b->ops_per_sec < a->ops_per_sec * 1.10 &&
            b->p99_us > a->p99_us * 1.5)
            return a->concurrency;
    }
    return 0;
}

int cmd_run(int argc, char **argv)
{
    enum { O_TARGET = 1, O_PASSWORD, O_TIMEOUT, O_SCEN, O_LIST, O_CONC, O_PIPE, O_VSIZE, O_DSIZE,
           O_RATE, O_ITER, O_REQ, O_DUR, O_WARM, O_THREADS, O_RATIO, O_DIST, O_PUBS, O_SUBS,
           O_MAXEV, O_OP, O_INTERVAL, O_STAGES, O_PROJECT, O_BRANCH, O_COMMIT, O_MODE, O_CREG,
           O_SREG, O_PRESET, O_RUNID, O_OUT, O_FORMAT, O_COLL, O_TOKEN, O_RETRIES, O_QUIET, O_HELP };
    static const struct option opts[] = {
        {"target", 1, 0, O_TARGET}, {"password", 1, 0, O_PASSWORD}, {"timeout", 1, 0, O_TIMEOUT},
        {"scenarios", 1, 0, O_SCEN}, {"list", 0, 0, O_LIST}, {"concurrency", 1, 0, O_CONC},
        {"pipeline", 1, 0, O_PIPE}, {"value-size", 1, 0, O_VSIZE},
        {"dataset-size", 1, 0, O_DSIZE}, {"rate", 1, 0, O_RATE}, {"iterations", 1, 0, O_ITER},
        {"requests", 1, 0, O_REQ}, {"duration", 1, 0, O_DUR}, {"warmup", 1, 0, O_WARM},
        {"threads", 1, 0, O_THREADS}, {"read-ratio", 1, 0, O_RATIO}, {"key-dist", 1, 0, O_DIST},
        {"publishers", 1, 0, O_PUBS}, {"subscribers", 1, 0, O_SUBS},
        {"max-events", 1, 0, O_MAXEV}, {"op", 1, 0, O_OP}, {"interval", 1, 0, O_INTERVAL},
        {"stages", 1, 0, O_STAGES}, {"project", 1, 0, O_PROJECT}, {"branch", 1, 0, O_BRANCH},
        {"commit", 1, 0, O_COMMIT}, {"mode", 1, 0, O_MODE}, {"client-region", 1, 0, O_CREG},
        {"server-region", 1, 0, O_SREG}, {"preset", 1, 0, O_PRESET}, {"run-id", 1, 0, O_RUNID},
        {"out", 1, 0, O_OUT}, {"format", 1, 0, O_FORMAT}, {"collector", 1, 0, O_COLL},
        {"token", 1, 0, O_TOKEN}, {"retries", 1, 0, O_RETRIES}, {"quiet", 0, 0, O_QUIET}, {"help", 0, 0, O_HELP}, {0, 0, 0, 0}};

    const char *target = "127.0.0.1:6379", *scen = "set,get", *out_path = NULL, *collector = NULL;
    const char *format = "table";
    const char *token = getenv("REDBENCH_TOKEN");
    plan pl = {.conc = {50}, .pipe = {1}, .vsize = {64}, .dsize = {10000}, .rates = {0},
               .stages = {5, 10, 25, 50, 100}, .nconc = 1, .npipe = 1, .nvsize = 1, .ndsize = 1,
               .nrates = 1, .nstages = 5, .interval = 1};
    long iterations = 5, requests = 100000, warmup = 10000, timeout = 5000, threads = 1;
    long pubs = 1, subs = 4, maxev = 0, retries = 3;
    double duration = 0, ratio = 0.9, theta = 0.99;
    enum key_dist dist = DIST_UNIFORM;
    const char *ramp_op_name = "get";
    int quiet = 0, rc = EXIT_ERROR, n;
    char err[RB_ERR_LEN];
    bench_target t = {0};
    t.password = getenv("REDBENCH_TARGET_PASSWORD");
    rb_run run;
    run_init_defaults(&run);
    make_run_id(run.id);

    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int bad = 0;
        long lists[MAX_LIST];
        switch (o) {
        case O_TARGET: target = optarg; break;
        case O_PASSWORD: t.password = optarg; break;
        case O_TIMEOUT: bad = cli_long("run", "--timeout", optarg, 1, 3600000, &timeout); break;
        case O_SCEN: scen = optarg; break;
        case O_LIST: list_all(); rc = EXIT_OK; goto out;
        case O_CONC: bad = (n = parse_int_list(optarg, pl.conc, MAX_LIST, err)) < 0; pl.nconc = n; break;
        case O_PIPE: bad = (n = parse_int_list(optarg, pl.pipe, MAX_LIST, err)) < 0; pl.npipe = n; break;
        case O_VSIZE: bad = (n = parse_int_list(optarg, pl.vsize, MAX_LIST, err)) < 0; pl.nvsize = n; break;
        case O_DSIZE: bad = (n = parse_int_list(optarg, pl.dsize, MAX_LIST, err)) < 0; pl.ndsize = n; break;
        case O_STAGES: bad = (n = parse_int_list(optarg, pl.stages, MAX_LIST, err)) < 0; pl.nstages = n; break;
        case O_RATE:
            bad = (n = parse_int_list(optarg, lists, MAX_LIST, err)) < 0;
            for (int i = 0; i < n; i++) pl.rates[i] = (double)lists[i];
            pl.nrates = n;
            break;
        case O_ITER: bad = cli_long("run", "--iterations", optarg, 1, 1000, &iterations); break;
        case O_REQ: bad = cli_long("run", "--requests", optarg, 1, 1000000000L, &requests); break;
        case O_WARM: bad = cli_long("run", "--warmup", optarg, 0, 1000000000L, &warmup); break;
        case O_THREADS: bad = cli_long("run", "--threads", optarg, 1, 256, &threads); break;
        case O_PUBS: bad = cli_long("run", "--publishers", optarg, 1, 1000, &pubs); break;
        case O_SUBS: bad = cli_long("run", "--subscribers", optarg, 1, 1000, &subs); break;
        case O_MAXEV: bad = cli_long("run", "--max-events", optarg, 1, 1000000000L, &maxev); break;
        case O_DUR: bad = cli_real("run", "--duration", optarg, 0.001, 86400, &duration); break;
        case O_INTERVAL: bad = cli_real("run", "--interval", optarg, 0.01, 3600, &pl.interval); break;
        case O_RATIO: bad = cli_real("run", "--read-ratio", optarg, 0, 1, &ratio); break;
        case O_OP: ramp_op_name = optarg; break;
        case O_DIST:
            if (!strcmp(optarg, "uniform")) {
                dist = DIST_UNIFORM;
            } else if (!strncmp(optarg, "zipf", 4) && (!optarg[4] || optarg[4] == ':')) {
                dist = DIST_ZIPF;
                if (optarg[4] == ':') bad = cli_real("run", "--key-dist zipf:THETA", optarg + 5, 0.01, 0.999, &theta);
            } else {
                fprintf(stderr, "redbench run: --key-dist: want uniform or zipf[:THETA]\n");
                bad = 1;
            }
            break;
        case O_PROJECT: bad = cli_name("run", "--project", run.project, RB_NAME_LEN, optarg); break;
        case O_BRANCH: bad = cli_name("run", "--branch", run.branch, RB_NAME_LEN, optarg); break;
        case O_COMMIT: bad = cli_name("run", "--commit", run.commit, RB_NAME_LEN, optarg); break;
        case O_MODE: bad = cli_name("run", "--mode", run.mode, RB_NAME_LEN, optarg); break;
        case O_CREG: bad = cli_name("run", "--client-region", run.client_region, RB_NAME_LEN, optarg); break;
        case O_SREG: bad = cli_name("run", "--server-region", run.server_region, RB_NAME_LEN, optarg); break;
        case O_PRESET: bad = cli_name("run", "--preset", run.target_preset, RB_NAME_LEN, optarg); break;
        case O_RUNID:
            if (!run_id_valid(optarg)) {
                fprintf(stderr, "redbench run: --run-id: 1-63 letters, digits, '-' or '_'\n");
                bad = 1;
            } else {
                snprintf(run.id, sizeof run.id, "%s", optarg);
            }
            break;
        case O_OUT: out_path = optarg; break;
        case O_FORMAT:
            format = optarg;
            if (strcmp(format, "table") && strcmp(format, "json") && strcmp(format, "csv") &&
                strcmp(format, "markdown")) {
                fprintf(stderr, "redbench run: --format: want table, json, csv or markdown\n");
                bad = 1;
            }
            break;
        case O_COLL: collector = optarg; break;
        case O_TOKEN: token = optarg; break;
        case O_RETRIES: bad = cli_long("run", "--retries", optarg, 0, 10, &retries); break;
        case O_QUIET: quiet = 1; break;
        case 'h':
        case O_HELP: fputs(RUN_USAGE, stdout); rc = EXIT_OK; goto out;
        default: fputs(RUN_USAGE, stderr); goto out;
        }
        if (bad) {
            if (n < 0) fprintf(stderr, "redbench run: %s\n", err);
            goto out;
        }
        n = 0;
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
    if (!(pl.ramp_op = op_find_def(ramp_op_name))) {
        fprintf(stderr, "redbench run: --op: unknown operation '%s'\n", ramp_op_name);
        goto out;
    }

    /* --scenarios: field scenarios by name, everything else through op_select. */
    const struct op_def *ops[MAX_OPS];
    const struct scenario_def *scens[16];
    int nops = 0, nscens = 0, sustained = 0, ramp = 0;
    {
        char *copy = xstrdup(scen), *save = NULL;
        for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            while (*tok == ' ') tok++;
            for (size_t l = strlen(tok); l && tok[l - 1] == ' '; l--) tok[l - 1] = '\0';
            for (char *q = tok; *q; q++) *q = (char)tolower((unsigned char)*q);
            if (!*tok) continue;
            const struct scenario_def *sd = scenario_find(tok);
            if (sd) {
                int dup = 0;
                for (int i = 0; i < nscens; i++) dup |= scens[i] == sd;
                if (!dup && nscens < 16) scens[nscens++] = sd;
                continue;
            }
            if (!strcmp(tok, "sustained")) { sustained = 1; continue; }
            if (!strcmp(tok, "step-ramp")) { ramp = 1; continue; }
            const struct op_def *got[MAX_OPS];
            int ng = op_select(tok, got, MAX_OPS, err);
            if (ng < 0) {
                fprintf(stderr, "redbench run: --scenarios: %s\n", err);
                free(copy);
                goto out;
            }
            for (int g = 0; g < ng; g++) {
                int dup = 0;
                for (int i = 0; i < nops; i++) dup |= ops[i] == got[g];
                if (!dup && nops < MAX_OPS) ops[nops++] = got[g];
            }
        }
        free(copy);
        if (nops + nscens + sustained + ramp == 0) {
            fprintf(stderr, "redbench run: --scenarios: empty list\n");
            goto out;
        }
    }
    if (sustained && (duration <= 0 || pl.rates[0] <= 0)) {
        fprintf(stderr, "redbench run: sustained needs --rate and --duration (the total time)\n");
        goto out;
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

    pl.lim = (bench_limits){.iterations = (int)iterations,
                            .requests = duration > 0 ? 0 : (uint64_t)requests,
                            .duration_s = duration,
                            .warmup = (uint64_t)warmup,
                            .threads = (int)threads,
                            .read_ratio = ratio,
                            .dist = dist,
                            .zipf_theta = theta,
                            .stop = &interrupted};
    char instance[RB_NAME_LEN];
    snprintf(instance, sizeof instance, "%.16s", run.id);
    pl.sp = (scenario_params){.concurrency = pl.conc[0], .pipeline = pl.pipe[0],
                              .value_size = pl.vsize[0], .dataset_size = pl.dsize[0],
                              .iterations = (int)iterations, .requests = pl.lim.requests,
                              .duration_s = duration, .warmup = (uint64_t)warmup,
                              .rate = pl.rates[0], .publishers = pubs, .subscribers = subs,
                              .max_events = (uint64_t)maxev, .instance_id = instance,
                              .stop = &interrupted};
    snprintf(run.runner_version, sizeof run.runner_version, "%s", RB_VERSION);
    gethostname(run.runner_host, sizeof run.runner_host - 1);

    if (bench_probe(&t, &run, err) < 0) {
        fprintf(stderr, "redbench run: %s\n", err);
        goto out;
    }
    struct sigaction sa = {0}, old_sa;
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, &old_sa);

    fmt_time_utc(wall_ns(), run.started_at, sizeof run.started_at);
    int ncells = nops * pl.nconc * pl.npipe * pl.nvsize * pl.ndsize * pl.nrates + nscens +
                 sustained + (ramp ? pl.nstages : 0);
    progress_state ps = {.quiet = quiet, .tty = isatty(2), .ncells = ncells, .started = now_ns()};
    int failed = 0;
    for (int a = 0; a < nops && !interrupted; a++)
        for (int b = 0; b < pl.nconc && !interrupted; b++)
            for (int c = 0; c < pl.npipe && !interrupted; c++)
                for (int d = 0; d < pl.nvsize && !interrupted; d++)
                    for (int e = 0; e < pl.ndsize && !interrupted; e++)
                        for (int g = 0; g < pl.nrates && !interrupted; g++) {
                            bench_cell cell = {ops[a], pl.conc[b], pl.pipe[c], pl.vsize[d],
                                               pl.dsize[e], pl.rates[g]};
                            ps.cell_no++;
                            if (!quiet && !ps.tty)
                                fprintf(stderr, "[%d/%d] %s concurrency=%ld pipeline=%ld value=%ldB keys=%ld%s\n",
                                        ps.cell_no, ncells, cell.op->name, cell.concurrency,
                                        cell.pipeline, cell.value_size, cell.dataset_size,
                                        cell.rate > 0 ? " (open loop)" : "");
                            rb_result *res = run_add_result(&run);
                            if (bench_run_cell(&t, &cell, &pl.lim, res, &run.commands,
                                               &run.n_commands, progress, &ps, err) < 0) {
                                fprintf(stderr, "\nredbench run: %s: %s\n", cell.op->name, err);
                                failed = 1;
                            }
                            drop_unmeasured(&run);
                        }
    for (int i = 0; i < nscens && !interrupted; i++) {
        ps.cell_no++;
        if (!quiet) fprintf(stderr, "[%d/%d] scenario %s\n", ps.cell_no, ncells, scens[i]->name);
        rb_result *res = run_add_result(&run);
        if (scens[i]->run(&t, &pl.sp, res, &run.commands, &run.n_commands, err) < 0) {
            fprintf(stderr, "redbench run: %s: %s\n", scens[i]->name, err);
            if (!res->status[0] || !strcmp(res->status, "ok")) snprintf(res->status, sizeof res->status, "failed");
            if (!res->error[0]) snprintf(res->error, sizeof res->error, "%s", err);
            if (!res->latency) res->latency = hist_new();
            if (!res->scenario[0]) snprintf(res->scenario, sizeof res->scenario, "%s", scens[i]->name);
            if (!res->op[0]) snprintf(res->op, sizeof res->op, "%s", scens[i]->name);
            if (res->concurrency < 1) res->concurrency = 1;
            if (res->pipeline < 1) res->pipeline = 1;
            if (res->dataset_size < 1) res->dataset_size = 1;
            failed = 1;
        }
    }
    if (sustained && !interrupted) {
        /* One sample per interval of the total --duration, at a fixed rate. */
        bench_limits sl = pl.lim;
        sl.duration_s = pl.interval;
        sl.requests = 0;
        sl.iterations = (int)ceil(duration / pl.interval);
        bench_cell cell = {pl.ramp_op, pl.conc[0], pl.pipe[0], pl.vsize[0], pl.dsize[0], pl.rates[0]};
        ps.cell_no++;
        if (!quiet) fprintf(stderr, "[%d/%d] sustained %s at %.0f/s for %.0f s\n", ps.cell_no, ncells,
                            cell.op->name, cell.rate, duration);
        rb_result *res = run_add_result(&run);
        if (bench_run_cell(&t, &cell, &sl, res, &run.commands, &run.n_commands, progress, &ps, err) < 0) {
            fprintf(stderr, "redbench run: sustained: %s\n", err);
            failed = 1;
        }
        snprintf(res->scenario, sizeof res->scenario, "sustained");
        char iv[32];
        snprintf(iv, sizeof iv, "%g", pl.interval);
        kv_set(&res->params, &res->n_params, "interval", iv);
        if (res->n_samples >= 2) {
            const rb_sample *f = &res->samples[0], *l = &res->samples[res->n_samples - 1];
            result_set_metric(res, "p99_last_over_first", f->p99_us > 0 ? l->p99_us / f->p99_us : 0);
            result_set_metric(res, "ops_last_over_first", f->ops_per_sec > 0 ? l->ops_per_sec / f->ops_per_sec : 0);
        }
        drop_unmeasured(&run);
    }
    if (ramp && !interrupted) {
        size_t first = run.n_results;
        for (int s = 0; s < pl.nstages && !interrupted; s++) {
            bench_cell cell = {pl.ramp_op, pl.stages[s], pl.pipe[0], pl.vsize[0], pl.dsize[0], 0};
            ps.cell_no++;
            if (!quiet && !ps.tty)
                fprintf(stderr, "[%d/%d] step-ramp %s stage concurrency=%ld\n", ps.cell_no, ncells,
                        cell.op->name, cell.concurrency);
            rb_result *res = run_add_result(&run);
            if (bench_run_cell(&t, &cell, &pl.lim, res, &run.commands, &run.n_commands, progress, &ps, err) < 0) {
                fprintf(stderr, "redbench run: step-ramp: %s\n", err);
                failed = 1;
            }
            snprintf(res->scenario, sizeof res->scenario, "step-ramp");
            result_set_metric(res, "p95_us", res->p95_us);
            drop_unmeasured(&run);
        }
        long knee = ramp_knee(&run.results[first], run.n_results - first);
        for (size_t i = first; i < run.n_results; i++) result_set_metric(&run.results[i], "knee_concurrency", (double)knee);
    }
    sigaction(SIGINT, &old_sa, NULL);
    fmt_time_utc(wall_ns(), run.ended_at, sizeof run.ended_at);
    if (interrupted) {
        snprintf(run.status, sizeof run.status, "partial");
        fprintf(stderr, "\nredbench run: interrupted: keeping the %zu cell(s) measured so far\n", run.n_results);
    } else if (failed) {
        snprintf(run.status, sizeof run.status, "failed");
    }
    print_results(&run, format, stdout);
    fflush(stdout);

    char *json = run_to_json(&run, 1);
    size_t jlen = strlen(json);
    rc = failed ? EXIT_ERROR : EXIT_OK;
    if (out_path) {
        if (write_file_atomic(out_path, json, jlen, err) < 0) {
            fprintf(stderr, "redbench run: --out: %s\n", err);
            rc = EXIT_ERROR;
        } else if (!quiet) {
            fprintf(stderr, "wrote %s\n", out_path);
        }
    }
    if (collector) {
        /* Machine-readable stdout stays clean: the note goes to stderr. */
        int plain = !strcmp(format, "table") || !strcmp(format, "markdown");
        int urc = upload_or_spool("run", collector, token, run.id, json, jlen, (int)retries,
                                  plain ? stdout : stderr);
        if (urc != EXIT_OK) rc = urc;
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
