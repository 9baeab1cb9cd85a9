/* labrec.c -- options and recording shared by the lab scenarios (labrec.h). */
#include "labrec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

void labrec_init(const lab *l, rb_run *run)
{
    run_init_defaults(run);
    make_run_id(run->id);
    snprintf(run->runner_version, sizeof run->runner_version, "%s", RB_VERSION);
    gethostname(run->runner_host, sizeof run->runner_host - 1);
    snprintf(run->client_region, sizeof run->client_region, "%s", l->server_region);
    snprintf(run->server_region, sizeof run->server_region, "%s", l->server_region);
    snprintf(run->target_preset, sizeof run->target_preset, "%s", l->preset);
}

char **labrec_argv(const lab *l, const char *name, int *argc_out)
{
    char **av = xcalloc((size_t)l->n_run_args + 2, sizeof *av);
    av[0] = (char *)name;
    for (int i = 0; i < l->n_run_args; i++) av[i + 1] = l->run_args[i];
    *argc_out = l->n_run_args + 1;
    return av;
}

int labrec_option(rb_run *run, const char *scenario, int o, const char *val, int *quiet)
{
    char name[64];
    snprintf(name, sizeof name, "lab %s", scenario);
    switch (o) {
    case LABREC_PROJECT: return cli_name(name, "--project", run->project, RB_NAME_LEN, val) < 0 ? -1 : 1;
    case LABREC_BRANCH: return cli_name(name, "--branch", run->branch, RB_NAME_LEN, val) < 0 ? -1 : 1;
    case LABREC_COMMIT: return cli_name(name, "--commit", run->commit, RB_NAME_LEN, val) < 0 ? -1 : 1;
    case LABREC_QUIET: *quiet = 1; return 1;
    default: return 0;
    }
}

void labrec_fail_result(rb_result *res, const char *error)
{
    snprintf(res->status, sizeof res->status, "failed");
    if (!res->error[0]) snprintf(res->error, sizeof res->error, "%s", error);
    if (!res->latency) res->latency = hist_new();
    if (!res->scenario[0]) snprintf(res->scenario, sizeof res->scenario, "lab");
    if (!res->op[0]) snprintf(res->op, sizeof res->op, "none");
    if (res->concurrency < 1) res->concurrency = 1;
    if (res->pipeline < 1) res->pipeline = 1;
    if (res->dataset_size < 1) res->dataset_size = 1;
    if (!res->data_type[0]) snprintf(res->data_type, sizeof res->data_type, "string");
}
