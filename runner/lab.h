/* lab.h -- `redbench lab MODE`: the deployment modes reproduced on one
 * machine (docs/lab.md). The building blocks a mode uses — processes it
 * starts and tears down, network namespaces, redis-server, `redbench proxy`,
 * `redbench run`, delivery of the run — are exported here so that every mode
 * (and every scenario that needs control of the server) is a short function
 * added as one row of the table in lab.c. */
#ifndef RB_LAB_H
#define RB_LAB_H

#include <stddef.h>
#include <sys/types.h>

#include "model.h"
#include "util.h"

#define LAB_MAX_REGIONS 8
#define LAB_MAX_PROCS 64
#define LAB_MAX_NETNS (LAB_MAX_REGIONS + 2)

/* A client region: its name and the round trip to the server region. */
typedef struct lab_region {
    char name[RB_NAME_LEN];
    double rtt_ms;
} lab_region;

/* The lab's one configuration and the state of what it created. Options are
 * filled by cmd_lab before the mode runs; the rest belongs to the helpers. */
typedef struct lab {
    /* options */
    const char *mode;               /* the subcommand, e.g. "multi-region" */
    const char *collector;          /* upload here (NULL: none) */
    const char *token;              /* --token or $REDBENCH_TOKEN (never printed) */
    const char *out_dir;            /* write run files here (NULL: none) */
    const char *server_region;      /* default "iad" */
    const char *preset;             /* default "lab" */
    lab_region regions[LAB_MAX_REGIONS];
    int nregions;
    double same_region_rtt_ms;      /* client-server: default 1 */
    int workers, replicas;          /* orchestrated, cluster */
    const char *primary;            /* cluster: an existing primary HOST:PORT (NULL: start one) */
    const char *replica_addrs[LAB_MAX_REGIONS]; /* cluster: its replicas, with --primary */
    int n_replica_addrs;
    const char *run_id;             /* --run-id: id of the first run delivered (NULL: random) */
    long lag_samples;               /* cluster: replication-lag writes (default 1000) */
    long read_requests, read_iterations, read_concurrency; /* cluster: read scaling */
    double wait_s;                  /* orchestrated: bound on the wait for the merged run */
    int keep;                       /* --keep: leave everything running, print what */
    int no_netns;                   /* --no-netns: loopback even as root */
    char **run_args;                /* the arguments after "--", passed to `redbench run` */
    int n_run_args;

    /* state */
    int netns;                      /* 1 when namespaces are in use, 0 loopback */
    char note[RB_NAME_LEN];         /* why loopback was used, recorded in each run */
    char dir[256];                  /* private temporary directory (removed at teardown) */
    char exe[512];                  /* this binary (/proc/self/exe) */
    char tag[16];                   /* "rbl<pid>": prefix of namespaces and links */
    pid_t procs[LAB_MAX_PROCS];
    char proc_names[LAB_MAX_PROCS][32];
    int nprocs;
    char netns_names[LAB_MAX_NETNS][32];
    int nnetns;
    int seq;                        /* numbers file names */
    int delivered;                  /* runs delivered */
} lab;

/* 1 once SIGINT or SIGTERM reached the lab: helpers that wait return -1 early. */
int lab_interrupted(void);

/* Starts argv (argv[0] a program name or path) inside network namespace
 * netns (NULL: the lab's own), in its own process group, killed if the lab
 * dies. Its stdout and stderr go to DIR/<log>.log when log is non-NULL,
 * else to the lab's. The process is recorded for teardown. Returns the pid,
 * or -1 with err. */
pid_t lab_spawn(lab *l, const char *netns, char *const argv[], const char *log, char *err);

/* SIGTERM (to its process group too), a bounded wait (5 s), then SIGKILL;
 * forgets the process. Returns its exit status (128+signal when killed). */
int lab_stop(lab *l, pid_t pid);

/* Waits at most timeout_ms for pid to end (timeout_ms < 0: no bound, but a
 * signal to the lab ends the wait); forgets it when it ended. Returns its exit
 * status (128+signal when killed), or -1 with err on timeout or interruption. */
int lab_wait(lab *l, pid_t pid, long timeout_ms, char *err);

/* Creates the namespace "<tag>-<suffix>" with lo up; its name goes to
 * name (32 bytes). Recorded for teardown. 0, or -1 with err. */
int lab_netns_add(lab *l, const char *suffix, char *name, char *err);

/* Links namespaces a and b with a veth pair: a gets addr_a, b addr_b (both
 * "A.B.C.D/len"). 0, or -1 with err. */
int lab_netns_link(lab *l, const char *a, const char *addr_a, const char *b, const char *addr_b,
                   char *err);

/* Starts redis-server (no persistence unless extra says so: extra is a
 * NULL-terminated list of more arguments, may be NULL) in netns (NULL: the
 * lab's own namespace, on a free 127.0.0.1 port; in a namespace on port 6379,
 * bound to every address), waits until it answers PING (10 s), and writes its
 * address as reachable from inside netns ("127.0.0.1:PORT") into addr
 * (64 bytes). Returns the pid, or -1 with err. */
pid_t lab_redis_start(lab *l, const char *netns, const char *const *extra, char *addr, char *err);

/* Starts `redbench proxy` in netns listening on listen (port 0 = a free one)
 * toward upstream, adding delay_ms of round trip; faults and events_path may be
 * NULL (see `redbench proxy --help`). Waits for its ready file (5 s) and
 * writes the address it listens on into addr (64 bytes). Returns the pid, or
 * -1 with err. */
pid_t lab_proxy_start(lab *l, const char *netns, const char *listen, const char *upstream,
                      double delay_ms, const char *faults, const char *events_path, char *addr,
                      char *err);

/* Runs `redbench run` (this binary) in netns against target, with --mode
 * mode, the regions, --preset, --out to a private file, then the lab's
 * defaults (--iterations 3 --requests 10000 --warmup 1000), then the user's
 * arguments after "--", then extra (NULL-terminated, may be NULL). Fills run
 * (run_init'ed by the caller; run_cleanup it) from the file. 0, or -1 with err
 * (the runner failed or was interrupted). */
int lab_bench(lab *l, const char *netns, const char *target, const char *mode,
              const char *client_region, const char *server_region, const char *const *extra,
              rb_run *run, char *err);

/* Adds the lab's notes to run's target config (lab_network, lab_note and,
 * when rtt_ms >= 0, lab_rtt_ms), then uploads it to --collector and/or writes
 * it to --out DIR/<run id>.json. 0, or -1 with err. */
int lab_deliver(lab *l, rb_run *run, double rtt_ms, char *err);

/* Kills every process still recorded (newest first), deletes the namespaces
 * and the temporary directory; with --keep prints what stays instead. */
void lab_teardown(lab *l);

/* Scenarios that need control of the server (runner/lab_persist.c,
 * runner/lab_chaos.c): their options come after "--"; each delivers one run
 * with lab_deliver. 0, or -1 with err. */
int lab_persist(lab *l, char *err);
int lab_chaos(lab *l, char *err);

#endif
