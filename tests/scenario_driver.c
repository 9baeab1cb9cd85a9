/* scenario_driver.c -- runs one scenario of runner/scenarios.h against a target
 * and prints the run (one result, the commands sent) as JSON on stdout: the
 * end-to-end tests' handle on the scenarios (tests/e2e/test_scenarios.sh).
 * Exit 0 when the scenario returned a result, 1 when it failed (cause on
 * stderr, the failed result still printed), 2 on bad usage. SIGINT ends the
 * scenario early (status "partial"). */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "model.h"
#include "scenarios.h"
#include "util.h"

static volatile sig_atomic_t stop_flag;

static void on_sigint(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: scenario_driver --target HOST:PORT --scenario NAME\n"
            "  [--requests N] [--duration S] [--iterations N] [--warmup N] [--concurrency N]\n"
            "  [--pipeline N] [--value-size N] [--dataset-size N] [--rate R]\n"
            "  [--publishers N] [--subscribers N] [--instance-id S] [--workers N]\n"
            "  [--max-events N] [--corrupt-event N] [--timeout-ms N]\n"
            "scenarios:");
    for (size_t i = 0; i < scenario_count; i++) fprintf(stderr, " %s", scenario_defs[i].name);
    fprintf(stderr, "\n");
}

int main(int argc, char **argv)
{
    enum { O_TARGET = 1, O_SCEN, O_REQ, O_DUR, O_ITER, O_WARM, O_CONC, O_PIPE, O_VSIZE, O_DSIZE,
           O_RATE, O_PUBS, O_SUBS, O_INST, O_WORK, O_MAXEV, O_CORRUPT, O_TMO };
    static const struct option opts[] = {
        {"target", 1, 0, O_TARGET},     {"scenario", 1, 0, O_SCEN},   {"requests", 1, 0, O_REQ},
        {"duration", 1, 0, O_DUR},      {"iterations", 1, 0, O_ITER}, {"warmup", 1, 0, O_WARM},
        {"concurrency", 1, 0, O_CONC},  {"pipeline", 1, 0, O_PIPE},   {"value-size", 1, 0, O_VSIZE},
        {"dataset-size", 1, 0, O_DSIZE}, {"rate", 1, 0, O_RATE},      {"publishers", 1, 0, O_PUBS},
        {"subscribers", 1, 0, O_SUBS},  {"instance-id", 1, 0, O_INST}, {"workers", 1, 0, O_WORK},
        {"max-events", 1, 0, O_MAXEV},  {"corrupt-event", 1, 0, O_CORRUPT},
        {"timeout-ms", 1, 0, O_TMO},    {0, 0, 0, 0}};
    scenario_params p = {.concurrency = 1, .pipeline = 1, .value_size = 64, .dataset_size = 1,
                         .iterations = 1, .requests = 1000, .stop = &stop_flag};
    bench_target t = {.timeout_ms = 5000};
    const char *target = NULL, *name = NULL;
    char err[RB_ERR_LEN] = "";
    int c;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_TARGET: target = optarg; break;
        case O_SCEN: name = optarg; break;
        case O_REQ: p.requests = strtoull(optarg, NULL, 10); break;
        case O_DUR: p.duration_s = strtod(optarg, NULL); p.requests = 0; break;
        case O_ITER: p.iterations = atoi(optarg); break;
        case O_WARM: p.warmup = strtoull(optarg, NULL, 10); break;
        case O_CONC: p.concurrency = atol(optarg); break;
        case O_PIPE: p.pipeline = atol(optarg); break;
        case O_VSIZE: p.value_size = atol(optarg); break;
        case O_DSIZE: p.dataset_size = atol(optarg); break;
        case O_RATE: p.rate = strtod(optarg, NULL); break;
        case O_PUBS: p.publishers = atol(optarg); break;
        case O_SUBS: p.subscribers = atol(optarg); break;
        case O_INST: p.instance_id = optarg; break;
        case O_WORK: p.workers = atol(optarg); break;
        case O_MAXEV: p.max_events = strtoull(optarg, NULL, 10); break;
        case O_CORRUPT: p.corrupt_event = strtoull(optarg, NULL, 10); break;
        case O_TMO: t.timeout_ms = atoi(optarg); break;
        default: usage(); return 2;
        }
    }
    const struct scenario_def *def = name ? scenario_find(name) : NULL;
    if (!target || !def || optind != argc) {
        usage();
        return 2;
    }
    if (parse_hostport(target, &t.host, &t.port, err) < 0) {
        fprintf(stderr, "scenario_driver: --target: %s\n", err);
        return 2;
    }
    signal(SIGINT, on_sigint);
    signal(SIGPIPE, SIG_IGN);   /* a peer closing a socket must give EPIPE, not kill us */

    rb_run run;
    run_init(&run);
    make_run_id(run.id);
    snprintf(run.project, sizeof run.project, "scenario-driver");
    snprintf(run.branch, sizeof run.branch, "test");
    snprintf(run.commit, sizeof run.commit, "none");
    snprintf(run.mode, sizeof run.mode, "single");
    snprintf(run.target_address, sizeof run.target_address, "%s:%d", t.host, t.port);
    snprintf(run.runner_version, sizeof run.runner_version, "%s", RB_VERSION);
    fmt_time_utc(wall_ns(), run.started_at, sizeof run.started_at);
    rb_result *res = run_add_result(&run);
    int rc = def->run(&t, &p, res, &run.commands, &run.n_commands, err);
    fmt_time_utc(wall_ns(), run.ended_at, sizeof run.ended_at);
    if (rc < 0) {
        fprintf(stderr, "scenario_driver: %s: %s\n", def->name, err);
        snprintf(run.status, sizeof run.status, "failed");
    } else if (strcmp(res->status, "partial") == 0) {
        snprintf(run.status, sizeof run.status, "partial");
    }
    char *json = run_to_json(&run, 0);
    printf("%s\n", json);
    free(json);
    run_cleanup(&run);
    free(t.host);
    return rc < 0 ? 1 : 0;
}
