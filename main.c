/* main.c -- the redbench binary: dispatches git-style subcommands. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "util.h"

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *summary;
} cmds[] = {
    {"run", cmd_run, "benchmark a RESP server and record/upload the run"},
    {"upload", cmd_upload, "send run files (or the spool) to a collector"},
    {"serve", cmd_serve, "run the collector: HTTP API, warehouse, dashboard"},
    {"worker", cmd_worker, "lease and run tasks of orchestrated benchmarks from a collector"},
    {"schedule", cmd_schedule, "add, list or remove a collector's benchmark schedules"},
    {"analyze", cmd_analyze, "judge a run against its baseline (exit 1 on regression)"},
    {"token", cmd_token, "create, list and revoke API tokens with roles"},
    {"migrate", cmd_migrate, "create or upgrade a warehouse file"},
    {"import", cmd_import, "turn redis-benchmark CSV / memtier JSON into a run"},
    {"compare", cmd_compare, "compare run files: OLD.json... NEW.json (exit 1 on regression)"},
    {"triage", cmd_triage, "accept a verdict or mark it a false positive"},
    {"query", cmd_query, "run one read-only SQL query on a warehouse or collector"},
    {"prices", cmd_prices, "list the prices behind cost_per_op, or add a machine price"},
    {"backup", cmd_backup, "copy the warehouse safely while the collector runs"},
    {"proxy", cmd_proxy, "TCP proxy adding a round-trip delay and scheduled faults"},
    {"lab", cmd_lab, "reproduce a deployment mode on this machine and run it"},
    {"report", cmd_report, "write BENCHMARK_RESULTS.md (modes, overhead, lag, recovery, chaos, cost)"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: redbench <command> [options]   (redbench <command> --help for details)\n\n"
               "commands:\n");
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        fprintf(f, "  %-9s %s\n", cmds[i].name, cmds[i].summary);
    fprintf(f, "\nexit status: 0 ok, 1 regression found, 2 error; 3 means the run was saved to\n"
               "the spool (run, import) or the baseline is insufficient (analyze)\n");
}

int main(int argc, char **argv)
{
    /* A peer closing a socket must give EPIPE, not kill the process. */
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2) {
        usage(stderr);
        return EXIT_ERROR;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("redbench %s\n", RB_VERSION);
        return EXIT_OK;
    }
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (!strcmp(argv[1], cmds[i].name)) return cmds[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "redbench: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return EXIT_ERROR;
}
