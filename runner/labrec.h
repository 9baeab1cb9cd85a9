/* labrec.h -- what the lab scenarios that need control of the server
 * (`redbench lab persistence-recovery`, `redbench lab chaos`) share: their
 * options come after "--" (l->run_args), recording options among them, and
 * their run is recorded as the lab records its modes (lab.h). */
#ifndef RB_LABREC_H
#define RB_LABREC_H

#include <getopt.h>

#include "lab.h"
#include "model.h"

/* getopt_long codes of the recording options; a scenario's own codes stay below. */
enum { LABREC_PROJECT = 1000, LABREC_BRANCH, LABREC_COMMIT, LABREC_QUIET };

/* The recording options as `struct option` entries, for a scenario's table. */
#define LABREC_OPTIONS                                                                  \
    {"project", 1, 0, LABREC_PROJECT}, {"branch", 1, 0, LABREC_BRANCH},                 \
    {"commit", 1, 0, LABREC_COMMIT}, {"quiet", 0, 0, LABREC_QUIET}

/* The --help lines of the recording options. */
#define LABREC_USAGE                                                                       \
    "recording (delivery, --server-region and --preset are the lab's options, before --):\n" \
    "  --project NAME, --branch NAME, --commit SHA   as for `redbench run`\n"                \
    "  --quiet                no progress on stderr\n"

/* Fills run as the lab records a run of mode single: run_init_defaults, a
 * random id, runner version and host, client and server region
 * l->server_region, preset l->preset. */
void labrec_init(const lab *l, rb_run *run);

/* A copy of the scenario's options (l->run_args) as an argv for getopt_long,
 * argv[0] = name; *argc_out gets the count. Free the array (not the strings). */
char **labrec_argv(const lab *l, const char *name, int *argc_out);

/* Handles getopt_long code o (val its argument) if it is a recording option:
 * 1 handled, 0 not one of them, -1 bad value (printed as "redbench lab
 * SCENARIO: ..."). *quiet is set by --quiet. */
int labrec_option(rb_run *run, const char *scenario, int o, const char *val, int *quiet);

/* Fills a result that could not be measured so that the run stays valid:
 * status "failed", the error, an empty histogram, the minimal sizes. */
void labrec_fail_result(rb_result *res, const char *error);

#endif
