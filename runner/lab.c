/* lab.c -- `redbench lab MODE`: each deployment mode reproduced on one machine
 * (redis-server processes, network namespaces linked by veth pairs, a
 * `redbench proxy` per client region standing in for distance, a collector and
 * workers), the benchmark run by this binary's `redbench run`, the run
 * delivered, and everything torn down (docs/lab.md). */
#include "lab.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <hiredis/hiredis.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "commands.h"
#include "engine.h"
#include "hist.h"
#include "httpc.h"
#include "upload.h"

#define LAB_NETNS_DIR "/run/netns"
#define LAB_HTTP_TIMEOUT_MS 10000

/* ---- the modes: one row each ---- */

typedef int (*lab_fn)(lab *l, char *err);

static int mode_single(lab *l, char *err);
static int mode_client_server(lab *l, char *err);
static int mode_multi_region(lab *l, char *err);
static int mode_orchestrated(lab *l, char *err);
static int mode_cluster(lab *l, char *err);

/* Add a mode or scenario here: name, function, one line of help. */
static const struct lab_mode {
    const char *name;
    lab_fn fn;
    const char *help;
} lab_modes[] = {
    {"single", mode_single, "redis-server and the runner on loopback"},
    {"client-server", mode_client_server,
     "server and client in separate namespaces, --same-region-rtt apart"},
    {"multi-region", mode_multi_region,
     "server in --server-region, a client namespace per --regions entry, its RTT away"},
    {"orchestrated", mode_orchestrated,
     "a collector (or --collector) and --workers workers; the merged run"},
    {"cluster", mode_cluster,
     "a primary and --replicas replicas: the matrix, replication lag, read scaling"},
    {"persistence-recovery", lab_persist,
     "kill -9 under acknowledged writes, restart: recovery time, writes kept (-- --help)"},
    {"chaos", lab_chaos,
     "steady load through a fault-injecting proxy: errors, latency, recovery (-- --help)"},
};

static const char LAB_USAGE[] =
    "usage: redbench lab MODE [options] [-- RUN-OPTIONS]\n"
    "\n"
    "Reproduces a deployment mode on this machine: starts what it needs, runs the\n"
    "benchmark with `redbench run` (RUN-OPTIONS: its matrix options, e.g. --scenarios\n"
    "get --requests 2000), delivers the run(s) and tears everything down, also on\n"
    "Ctrl-C/SIGTERM and on error (docs/lab.md).\n"
    "\n"
    "modes:\n"
    "%s"
    "\n"
    "delivery (at least one):\n"
    "  --collector URL        upload each run (token: --token or $REDBENCH_TOKEN)\n"
    "  --token TOKEN          bearer token (ingest role)\n"
    "  --out DIR              write each run to DIR/<run id>.json\n"
    "recording:\n"
    "  --server-region R      the server's region (default iad)\n"
    "  --preset P             machine preset recorded (default lab)\n"
    "  --run-id ID            the first run delivered gets this id, later ones ID-2...\n"
    "network (client-server, multi-region):\n"
    "  --regions LIST         client regions NAME=RTT_MS (default syd=230,fra=90,gru=120)\n"
    "  --same-region-rtt MS   client-server round trip (default 1)\n"
    "  --no-netns             loopback instead of network namespaces (as without root)\n"
    "orchestrated:\n"
    "  --workers N            worker processes, 1-16 (default 2)\n"
    "  --wait SECONDS         bound on the wait for the merged run (default 600)\n"
    "cluster:\n"
    "  --replicas N           replicas, 1-8 (default 2)\n"
    "  --lag-samples N        replication-lag writes (default 1000)\n"
    "  --read-requests N      read scaling: GETs per iteration (default 20000)\n"
    "  --read-iterations N    read scaling: iterations (default 3)\n"
    "  --read-concurrency N   read scaling: connections (default 32)\n"
    "  --primary HOST:PORT    use this running primary instead of starting servers,\n"
    "  --replica HOST:PORT    with these replicas (repeat; AUTH from\n"
    "                         $REDBENCH_TARGET_PASSWORD); e.g. on Fly.io\n"
    "other:\n"
    "  --keep                 leave processes, namespaces and files in place (debugging)\n"
    "\n"
    "exit status: 0 ok; 2 error (bad option, a process failed to start, a run\n"
    "failed or was not delivered); 130 interrupted.\n";

/* ---- signals ---- */

static volatile sig_atomic_t lab_sig;

static void on_signal(int sig)
{
    lab_sig = sig;
}

int lab_interrupted(void)
{
    return lab_sig != 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- processes ---- */

static int netns_fd(const char *ns, char *err)
{
    char path[300];
    snprintf(path, sizeof path, "%s/%s", LAB_NETNS_DIR, ns);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) rb_err(err, "open %s: %s", path, strerror(errno));
    return fd;
}

pid_t lab_spawn(lab *l, const char *netns, char *const argv[], const char *log, char *err)
{
    if (l->nprocs == LAB_MAX_PROCS) return rb_err(err, "more than %d processes", LAB_MAX_PROCS);
    char logpath[400];
    int nsfd = -1, logfd = -1;
    if (log) {
        snprintf(logpath, sizeof logpath, "%s/%s.log", l->dir, log);
        logfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (logfd < 0) return rb_err(err, "open %s: %s", logpath, strerror(errno));
    }
    if (netns && (nsfd = netns_fd(netns, err)) < 0) {
        if (logfd >= 0) close(logfd);
        return -1;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        rb_err(err, "fork: %s", strerror(errno));
    } else if (pid == 0) {
        setpgid(0, 0);
        /* Killed with the lab, however the lab ends (unless --keep). */
        if (!l->keep) prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(127);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (nsfd >= 0 && setns(nsfd, CLONE_NEWNET) < 0) {
            fprintf(stderr, "redbench lab: setns %s: %s\n", netns, strerror(errno));
            _exit(127);
        }
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) dup2(devnull, 0);
        if (logfd >= 0) {
            dup2(logfd, 1);
            dup2(logfd, 2);
        }
        execvp(argv[0], argv);
        fprintf(stderr, "redbench lab: exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    } else {
        setpgid(pid, pid);
        l->procs[l->nprocs] = pid;
        snprintf(l->proc_names[l->nprocs], sizeof l->proc_names[0], "%s", log ? log : argv[0]);
        l->nprocs++;
    }
    if (nsfd >= 0) close(nsfd);
    if (logfd >= 0) close(logfd);
    return pid;
}

static void forget(lab *l, pid_t pid)
{
    for (int i = 0; i < l->nprocs; i++)
        if (l->procs[i] == pid) {
            memmove(&l->procs[i], &l->procs[i + 1], (size_t)(l->nprocs - i - 1) * sizeof l->procs[0]);
            memmove(&l->proc_names[i], &l->proc_names[i + 1],
                    (size_t)(l->nprocs - i - 1) * sizeof l->proc_names[0]);
            l->nprocs--;
            return;
        }
}

static int exit_code(int status)
{
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int lab_wait(lab *l, pid_t pid, long timeout_ms, char *err)
{
    uint64_t end = now_ns() + (uint64_t)(timeout_ms < 0 ? 0 : timeout_ms) * 1000000ull;
    for (;;) {
        int status;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            forget(l, pid);
            return exit_code(status);
        }
        if (r < 0 && errno != EINTR) {
            forget(l, pid);
            return rb_err(err, "waitpid %d: %s", (int)pid, strerror(errno));
        }
        if (lab_sig) return rb_err(err, "interrupted");
        if (timeout_ms >= 0 && now_ns() >= end)
            return rb_err(err, "process %d still running after %ld ms", (int)pid, timeout_ms);
        sleep_ms(20);
    }
}

int lab_stop(lab *l, pid_t pid)
{
    int status;
    if (waitpid(pid, &status, WNOHANG) == pid) {
        forget(l, pid);
        return exit_code(status);
    }
    kill(-pid, SIGTERM);
    kill(pid, SIGTERM);
    for (int i = 0; i < 250; i++) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            forget(l, pid);
            return exit_code(status);
        }
        if (r < 0 && errno == ECHILD) break;
        sleep_ms(20);
    }
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    int rc = waitpid(pid, &status, 0) == pid ? exit_code(status) : 0;
    forget(l, pid);
    return rc;
}

/* Runs argv to completion (bounded: 15 s); 0, or -1 with err holding the
 * command's last line of output. */
static int run_cmd(lab *l, char *const argv[], char *err)
{
    char log[400], e2[RB_ERR_LEN];
    snprintf(log, sizeof log, "%s/cmd.log", l->dir);
    unlink(log);
    pid_t pid = lab_spawn(l, NULL, argv, "cmd", err);
    if (pid < 0) return -1;
    int rc = lab_wait(l, pid, 15000, e2);
    if (rc == 0) return 0;
    if (rc < 0) {
        lab_stop(l, pid);
        return rb_err(err, "%s: %s", argv[0], e2);
    }
    char line[200] = "";
    FILE *f = fopen(log, "r");
    if (f) {
        char tmp[200];
        while (fgets(tmp, sizeof tmp, f)) snprintf(line, sizeof line, "%s", tmp);
        fclose(f);
    }
    line[strcspn(line, "\n")] = '\0';
    return rb_err(err, "%s %s exited with %d: %s", argv[0], argv[1] ? argv[1] : "", rc, line);
}

/* ---- namespaces ---- */

int lab_netns_add(lab *l, const char *suffix, char *name, char *err)
{
    if (l->nnetns == LAB_MAX_NETNS) return rb_err(err, "more than %d namespaces", LAB_MAX_NETNS);
    snprintf(name, 32, "%.10s-%.18s", l->tag, suffix);
    char *add[] = {"ip", "netns", "add", name, NULL};
    if (run_cmd(l, add, err) < 0) return -1;
    snprintf(l->netns_names[l->nnetns++], sizeof l->netns_names[0], "%s", name);
    char *lo[] = {"ip", "-n", name, "link", "set", "lo", "up", NULL};
    return run_cmd(l, lo, err);
}

int lab_netns_link(lab *l, const char *a, const char *addr_a, const char *b, const char *addr_b,
                   char *err)
{
    char va[16], vb[16];
    int k = l->seq++;
    snprintf(va, sizeof va, "%.10sv%da", l->tag, k % 100);
    snprintf(vb, sizeof vb, "%.10sv%db", l->tag, k % 100);
    char *add[] = {"ip", "link", "add", va, "netns", (char *)a, "type", "veth", "peer", "name", vb,
                   "netns", (char *)b, NULL};
    if (run_cmd(l, add, err) < 0) return -1;
    const char *ns[2] = {a, b}, *dev[2] = {va, vb}, *addr[2] = {addr_a, addr_b};
    for (int i = 0; i < 2; i++) {
        char *ad[] = {"ip", "-n", (char *)ns[i], "addr", "add", (char *)addr[i], "dev", (char *)dev[i], NULL};
        char *up[] = {"ip", "-n", (char *)ns[i], "link", "set", (char *)dev[i], "up", NULL};
        if (run_cmd(l, ad, err) < 0 || run_cmd(l, up, err) < 0) return -1;
    }
    return 0;
}

/* 1 if some process lives in the namespace mounted at path. */
static int netns_in_use(const char *path)
{
    struct stat ns;
    if (stat(path, &ns) < 0) return 0;
    DIR *d = opendir("/proc");
    if (!d) return 1;
    struct dirent *e;
    int used = 0;
    while (!used && (e = readdir(d))) {
        char p[300];
        struct stat st;
        if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
        snprintf(p, sizeof p, "/proc/%.32s/ns/net", e->d_name);
        used = stat(p, &st) == 0 && st.st_ino == ns.st_ino && st.st_dev == ns.st_dev;
    }
    closedir(d);
    return used;
}

/* Deletes namespaces left by labs that died without tearing down (their
 * processes died with them: PR_SET_PDEATHSIG); what --keep left running stays. */
static void netns_collect_stale(lab *l)
{
    DIR *d = opendir(LAB_NETNS_DIR);
    if (!d) return;
    struct dirent *e;
    char names[32][64];
    int n = 0;
    while ((e = readdir(d)) && n < 32) {
        int pid = 0, len = 0;
        char path[300];
        snprintf(path, sizeof path, "%s/%.63s", LAB_NETNS_DIR, e->d_name);
        if (sscanf(e->d_name, "rbl%d-%n", &pid, &len) == 1 && len > 0 && pid > 0 &&
            kill(pid, 0) < 0 && errno == ESRCH && !netns_in_use(path))
            snprintf(names[n++], sizeof names[0], "%.63s", e->d_name);
    }
    closedir(d);
    for (int i = 0; i < n; i++) {
        char err[RB_ERR_LEN];
        char *del[] = {"ip", "netns", "del", names[i], NULL};
        if (run_cmd(l, del, err) == 0) fprintf(stderr, "redbench lab: removed stale namespace %s\n", names[i]);
    }
}

/* Switches the calling thread into namespace ns; *saved gets the old one. */
static int netns_enter(const char *ns, int *saved, char *err)
{
    *saved = -1;
    if (!ns) return 0;
    int fd = netns_fd(ns, err);
    if (fd < 0) return -1;
    *saved = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    int rc = *saved >= 0 ? setns(fd, CLONE_NEWNET) : -1;
    if (rc < 0) rb_err(err, "setns %s: %s", ns, strerror(errno));
    close(fd);
    return rc;
}

static void netns_leave(int saved)
{
    if (saved < 0) return;
    setns(saved, CLONE_NEWNET);
    close(saved);
}

/* ---- servers and proxies ---- */

static int free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &sl) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0) close(fd);
    return port;
}

/* Connects to host:port as seen from inside ns (NULL: here). */
static redisContext *connect_in(const char *ns, const char *host, int port, int timeout_ms, char *err)
{
    int saved;
    if (netns_enter(ns, &saved, err) < 0) return NULL;
    bench_target t = {.host = (char *)host, .port = port, .timeout_ms = timeout_ms};
    redisContext *c = bench_connect(&t, err);
    netns_leave(saved);
    return c;
}

/* 1 once the process ended (it is then forgotten). */
static int proc_gone(lab *l, pid_t pid)
{
    int status;
    if (waitpid(pid, &status, WNOHANG) != pid) return 0;
    forget(l, pid);
    return 1;
}

pid_t lab_redis_start(lab *l, const char *netns, const char *const *extra, char *addr, char *err)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        int port = netns ? 6379 : free_port();
        if (port < 0) return rb_err(err, "no free port: %s", strerror(errno));
        char ps[16], dir[400], log[48];
        snprintf(ps, sizeof ps, "%d", port);
        snprintf(log, sizeof log, "redis-%d-%d", l->seq++, port);
        snprintf(dir, sizeof dir, "%s/%s", l->dir, log);
        if (mkdir(dir, 0700) < 0 && errno != EEXIST) return rb_err(err, "mkdir %s: %s", dir, strerror(errno));
        char *argv[64] = {"redis-server", "--port", ps, "--bind", netns ? "0.0.0.0" : "127.0.0.1",
                          "--save", "", "--appendonly", "no", "--protected-mode", "no",
                          "--dir", dir, "--daemonize", "no"};
        int n = 15;
        for (int i = 0; extra && extra[i] && n < 63; i++) argv[n++] = (char *)extra[i];
        argv[n] = NULL;
        pid_t pid = lab_spawn(l, netns, argv, log, err);
        if (pid < 0) return -1;
        for (int i = 0; i < 200; i++) {
            if (proc_gone(l, pid)) break;
            if (lab_sig) {
                lab_stop(l, pid);
                return rb_err(err, "interrupted");
            }
            char e2[RB_ERR_LEN];
            redisContext *c = connect_in(netns, "127.0.0.1", port, 500, e2);
            if (c) {
                redisReply *r = redisCommand(c, "PING");
                int ok = r && r->type == REDIS_REPLY_STATUS;
                if (r) freeReplyObject(r);
                redisFree(c);
                if (ok) {
                    snprintf(addr, 64, "127.0.0.1:%d", port);
                    return pid;
                }
            }
            sleep_ms(50);
        }
        lab_stop(l, pid);
        if (netns) break; /* port 6379 of a fresh namespace is free: retrying will not help */
    }
    return rb_err(err, "redis-server did not start (logs in %s)", l->dir);
}

pid_t lab_proxy_start(lab *l, const char *netns, const char *listen, const char *upstream,
                      double delay_ms, const char *faults, const char *events_path, char *addr,
                      char *err)
{
    char ready[400], delay[32], log[32];
    int k = l->seq++;
    snprintf(ready, sizeof ready, "%s/proxy-%d.ready", l->dir, k);
    snprintf(log, sizeof log, "proxy-%d", k);
    snprintf(delay, sizeof delay, "%g", delay_ms);
    char *argv[16] = {l->exe, "proxy", "--listen", (char *)listen, "--upstream", (char *)upstream,
                      "--delay", delay, "--ready-file", ready};
    int n = 10;
    if (faults) {
        argv[n++] = "--faults";
        argv[n++] = (char *)faults;
    }
    if (events_path) {
        argv[n++] = "--events";
        argv[n++] = (char *)events_path;
    }
    argv[n] = NULL;
    pid_t pid = lab_spawn(l, netns, argv, log, err);
    if (pid < 0) return -1;
    for (int i = 0; i < 250; i++) {
        char e2[RB_ERR_LEN];
        size_t len;
        char *s = read_file(ready, 256, &len, e2);
        if (s) {
            s[strcspn(s, "\n")] = '\0';
            snprintf(addr, 64, "%s", s);
            free(s);
            return pid;
        }
        if (proc_gone(l, pid)) return rb_err(err, "redbench proxy exited (see %s/%s.log)", l->dir, log);
        if (lab_sig) break;
        sleep_ms(20);
    }
    lab_stop(l, pid);
    return rb_err(err, "redbench proxy did not become ready");
}

/* ---- the benchmark and the delivery ---- */

/* Options of `redbench run` the lab sets itself. */
static const char *const lab_owned_opts[] = {"--target", "--mode", "--client-region",
                                             "--server-region", "--preset", "--out",
                                             "--collector", "--token", "--run-id", NULL};

static int check_run_args(const lab *l, char *err)
{
    for (int i = 0; i < l->n_run_args; i++)
        for (int k = 0; lab_owned_opts[k]; k++) {
            size_t n = strlen(lab_owned_opts[k]);
            if (!strncmp(l->run_args[i], lab_owned_opts[k], n) &&
                (l->run_args[i][n] == '\0' || l->run_args[i][n] == '='))
                return rb_err(err, "%s after --: the lab sets it (see redbench lab --help)",
                              lab_owned_opts[k]);
        }
    return 0;
}

int lab_bench(lab *l, const char *netns, const char *target, const char *mode,
              const char *client_region, const char *server_region, const char *const *extra,
              rb_run *run, char *err)
{
    char out[400];
    if (check_run_args(l, err) < 0) return -1;
    snprintf(out, sizeof out, "%s/run-%d.json", l->dir, l->seq++);
    size_t max = 32 + (size_t)l->n_run_args;
    for (int i = 0; extra && extra[i]; i++) max++;
    char **argv = xcalloc(max, sizeof *argv);
    int n = 0;
    const char *fixed[] = {l->exe, "run", "--target", target, "--mode", mode, "--client-region",
                           client_region, "--server-region", server_region, "--preset", l->preset,
                           "--out", out, "--iterations", "3", "--requests", "10000", "--warmup",
                           "1000", NULL};
    for (int i = 0; fixed[i]; i++) argv[n++] = (char *)fixed[i];
    for (int i = 0; i < l->n_run_args; i++) argv[n++] = l->run_args[i];
    for (int i = 0; extra && extra[i]; i++) argv[n++] = (char *)extra[i];
    argv[n] = NULL;
    fprintf(stderr, "redbench lab: %s: client %s -> server %s at %s%s%s\n", mode, client_region,
            server_region, target, netns ? " in namespace " : "", netns ? netns : "");
    pid_t pid = lab_spawn(l, netns, argv, NULL, err);
    free(argv);
    if (pid < 0) return -1;
    char e2[RB_ERR_LEN];
    int rc = lab_wait(l, pid, -1, e2);
    if (rc < 0) {
        lab_stop(l, pid);
        return rb_err(err, "redbench run: %s", e2);
    }
    size_t len;
    char *json = read_file(out, 256u << 20, &len, e2);
    if (!json) return rb_err(err, "redbench run exited with %d and wrote no run (%s)", rc, e2);
    int prc = run_from_json(json, len, run, e2);
    free(json);
    if (prc < 0) return rb_err(err, "the run written by redbench run is invalid: %s", e2);
    if (rc != 0) fprintf(stderr, "redbench lab: redbench run exited with %d; delivering its run (status %s)\n",
                         rc, run->status[0] ? run->status : "complete");
    return 0;
}

static int mkdir_p(const char *path, char *err)
{
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0755) < 0 && errno != EEXIST) return rb_err(err, "mkdir %s: %s", tmp, strerror(errno));
            *p = '/';
        }
    if (mkdir(tmp, 0755) < 0 && errno != EEXIST) return rb_err(err, "mkdir %s: %s", tmp, strerror(errno));
    return 0;
}

int lab_deliver(lab *l, rb_run *run, double rtt_ms, char *err)
{
    if (l->run_id) {
        /* --run-id: the first run delivered takes it, later ones ID-2, ID-3... */
        if (l->delivered == 0) snprintf(run->id, sizeof run->id, "%s", l->run_id);
        else snprintf(run->id, sizeof run->id, "%.52s-%d", l->run_id, l->delivered % 10000 + 1);
    }
    kv_set(&run->config, &run->n_config, "lab_network", l->netns ? "netns" : "loopback");
    if (l->note[0]) kv_set(&run->config, &run->n_config, "lab_note", l->note);
    if (rtt_ms >= 0) {
        char v[32];
        snprintf(v, sizeof v, "%g", rtt_ms);
        kv_set(&run->config, &run->n_config, "lab_rtt_ms", v);
    }
    char *json = run_to_json(run, 1);
    size_t len = strlen(json);
    int rc = 0;
    if (l->out_dir) {
        char path[700];
        snprintf(path, sizeof path, "%s/%s.json", l->out_dir, run->id);
        if (mkdir_p(l->out_dir, err) < 0 || write_file_atomic(path, json, len, err) < 0) rc = -1;
        else fprintf(stderr, "redbench lab: wrote %s\n", path);
    }
    if (rc == 0 && l->collector) {
        int urc = upload_or_spool("lab", l->collector, l->token, run->id, json, len, 3, stdout);
        if (urc != EXIT_OK) rc = rb_err(err, "run %s was not uploaded%s", run->id,
                                        urc == EXIT_SPOOLED ? " (it is in the spool)" : "");
    }
    free(json);
    if (rc == 0) l->delivered++;
    return rc;
}

/* ---- teardown ---- */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

void lab_teardown(lab *l)
{
    if (l->keep) {
        fprintf(stderr, "redbench lab: --keep: leaving %d process(es), %d namespace(s) and %s\n",
                l->nprocs, l->nnetns, l->dir);
        for (int i = 0; i < l->nprocs; i++)
            fprintf(stderr, "  pid %d %s\n", (int)l->procs[i], l->proc_names[i]);
        for (int i = 0; i < l->nnetns; i++) fprintf(stderr, "  ip netns del %s\n", l->netns_names[i]);
        return;
    }
    /* Newest first: runners and proxies before the servers they talk to. */
    for (int i = l->nprocs - 1; i >= 0; i--) {
        kill(-l->procs[i], SIGTERM);
        kill(l->procs[i], SIGTERM);
    }
    while (l->nprocs > 0) {
        char name[32];
        snprintf(name, sizeof name, "%s", l->proc_names[l->nprocs - 1]);
        int rc = lab_stop(l, l->procs[l->nprocs - 1]);
        /* Everything the lab starts stops with 0 on SIGTERM (143: killed by it). */
        if (rc != 0 && rc != 128 + SIGTERM)
            fprintf(stderr, "redbench lab: warning: %s exited with %d at teardown\n", name, rc);
    }
    for (int i = l->nnetns - 1; i >= 0; i--) {
        char err[RB_ERR_LEN];
        char *del[] = {"ip", "netns", "del", l->netns_names[i], NULL};
        if (run_cmd(l, del, err) < 0) fprintf(stderr, "redbench lab: %s\n", err);
        while (l->nprocs > 0) lab_stop(l, l->procs[l->nprocs - 1]);
    }
    l->nnetns = 0;
    if (l->dir[0]) nftw(l->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- the network of client-server and multi-region ---- */

/* Where the clients of region k connect, and from which namespace. */
typedef struct lab_net {
    char server_ns[32];
    char client_ns[LAB_MAX_REGIONS][32];
    char proxy_addr[LAB_MAX_REGIONS][64];
} lab_net;

/* A server, and for each region a client namespace linked to it and a proxy
 * adding that region's round trip; loopback (with l->note) without namespaces. */
static int net_setup(lab *l, const lab_region *regs, int n, lab_net *net, char *err)
{
    char addr[64], up[64];
    memset(net, 0, sizeof *net);
    if (l->netns && lab_netns_add(l, "srv", net->server_ns, err) < 0) {
        fprintf(stderr, "redbench lab: warning: network namespaces failed (%s); using loopback\n", err);
        snprintf(l->note, sizeof l->note, "loopback: ip netns failed");
        l->netns = 0;
        net->server_ns[0] = '\0';
    }
    const char *sns = l->netns ? net->server_ns : NULL;
    if (lab_redis_start(l, sns, NULL, addr, err) < 0) return -1;
    for (int k = 0; k < n; k++) {
        const char *cns = NULL;
        if (l->netns) {
            char a[32], b[32];
            char suffix[RB_NAME_LEN];
            snprintf(suffix, sizeof suffix, "c-%.16s", regs[k].name);
            if (lab_netns_add(l, suffix, net->client_ns[k], err) < 0) return -1;
            snprintf(a, sizeof a, "10.213.%d.1/24", k);
            snprintf(b, sizeof b, "10.213.%d.2/24", k);
            if (lab_netns_link(l, net->server_ns, a, net->client_ns[k], b, err) < 0) return -1;
            snprintf(up, sizeof up, "10.213.%d.1:6379", k);
            cns = net->client_ns[k];
        } else {
            snprintf(up, sizeof up, "%s", addr);
        }
        if (lab_proxy_start(l, cns, "127.0.0.1:0", up, regs[k].rtt_ms, NULL, NULL,
                            net->proxy_addr[k], err) < 0)
            return -1;
    }
    return 0;
}

/* Runs the matrix from each region in turn and delivers each run. */
static int regions_run(lab *l, const lab_region *regs, int n, const char *const *client_names, char *err)
{
    lab_net net;
    if (net_setup(l, regs, n, &net, err) < 0) return -1;
    for (int k = 0; k < n; k++) {
        rb_run run;
        run_init(&run);
        int rc = lab_bench(l, l->netns ? net.client_ns[k] : NULL, net.proxy_addr[k], l->mode,
                           client_names[k], l->server_region, NULL, &run, err);
        if (rc == 0) rc = lab_deliver(l, &run, regs[k].rtt_ms, err);
        run_cleanup(&run);
        if (rc < 0) return -1;
    }
    return 0;
}

/* ---- single, client-server, multi-region ---- */

static int mode_single(lab *l, char *err)
{
    char addr[64];
    l->netns = 0;
    l->note[0] = '\0'; /* loopback by design: nothing to explain */
    if (lab_redis_start(l, NULL, NULL, addr, err) < 0) return -1;
    rb_run run;
    run_init(&run);
    int rc = lab_bench(l, NULL, addr, "single", l->server_region, l->server_region, NULL, &run, err);
    if (rc == 0) rc = lab_deliver(l, &run, -1, err);
    run_cleanup(&run);
    return rc;
}

static int mode_client_server(lab *l, char *err)
{
    lab_region r;
    snprintf(r.name, sizeof r.name, "%s", l->server_region);
    r.rtt_ms = l->same_region_rtt_ms;
    const char *names[1] = {l->server_region};
    return regions_run(l, &r, 1, names, err);
}

static int mode_multi_region(lab *l, char *err)
{
    const char *names[LAB_MAX_REGIONS];
    for (int k = 0; k < l->nregions; k++) names[k] = l->regions[k].name;
    return regions_run(l, l->regions, l->nregions, names, err);
}

/* ---- orchestrated ---- */

/* Turns the run options after "--" into plan fields (docs/orchestrated.md). */
static int plan_from_args(const lab *l, cJSON *plan, char *err)
{
    static const struct {
        const char *opt, *field;
        int kind; /* 0 string, 1 number, 2 list (kept as text: "1,10") */
    } map[] = {{"--scenarios", "scenarios", 0}, {"--concurrency", "concurrency", 2},
               {"--pipeline", "pipeline", 2},   {"--value-size", "value_size", 2},
               {"--dataset-size", "dataset_size", 2}, {"--iterations", "iterations", 1},
               {"--requests", "requests", 1},   {"--duration", "duration", 1},
               {"--warmup", "warmup", 1},       {"--threads", "threads", 1},
               {"--timeout", "timeout_ms", 1},  {"--project", "project", 0},
               {"--branch", "branch", 0},       {"--commit", "commit", 0}};
    for (int i = 0; i < l->n_run_args; i++) {
        const char *a = l->run_args[i], *v = NULL;
        size_t alen = strcspn(a, "=");
        int m = -1;
        for (size_t k = 0; k < sizeof map / sizeof map[0]; k++)
            if (strlen(map[k].opt) == alen && !strncmp(a, map[k].opt, alen)) m = (int)k;
        if (m < 0) return rb_err(err, "orchestrated: %s after -- has no plan field (see docs/lab.md)", a);
        if (a[alen] == '=') v = a + alen + 1;
        else if (i + 1 < l->n_run_args) v = l->run_args[++i];
        else return rb_err(err, "%s needs a value", a);
        cJSON_DeleteItemFromObjectCaseSensitive(plan, map[m].field);
        if (map[m].kind == 1) {
            char *end;
            double d = strtod(v, &end);
            if (end == v || *end) return rb_err(err, "%s: want a number", map[m].opt);
            cJSON_AddNumberToObject(plan, map[m].field, d);
        } else {
            cJSON_AddStringToObject(plan, map[m].field, v);
        }
        if (!strcmp(map[m].field, "duration")) cJSON_DeleteItemFromObjectCaseSensitive(plan, "requests");
    }
    return 0;
}

/* Reads the collector's URL from its log ("listening on http://..."), 10 s bound. */
static int collector_url(lab *l, pid_t pid, char *url, size_t n, char *err)
{
    char path[400];
    snprintf(path, sizeof path, "%s/collector.log", l->dir);
    for (int i = 0; i < 500 && !lab_sig; i++) {
        char e2[RB_ERR_LEN];
        size_t len;
        char *s = read_file(path, 1 << 20, &len, e2);
        const char *p = s ? strstr(s, "listening on http://") : NULL;
        if (p) {
            p += strlen("listening on ");
            snprintf(url, n, "%.*s", (int)strcspn(p, " \n"), p);
            free(s);
            return 0;
        }
        free(s);
        if (proc_gone(l, pid)) return rb_err(err, "the collector exited (see %s)", path);
        sleep_ms(20);
    }
    return rb_err(err, "the collector did not start");
}

static cJSON *http_json(const char *method, const char *url, const char *token, const char *body,
                        int *status, char *err)
{
    httpc_resp r;
    if (httpc_request(method, url, token, NULL, body, body ? strlen(body) : 0, LAB_HTTP_TIMEOUT_MS,
                      64u << 20, &r, err) < 0)
        return NULL;
    *status = r.status;
    cJSON *j = cJSON_Parse(r.body);
    if (!j) rb_err(err, "%s %s: HTTP %d, not JSON", method, url, r.status);
    httpc_resp_cleanup(&r);
    return j;
}

static int mode_orchestrated(lab *l, char *err)
{
    char addr[64], url[256], tok[64], path[400];
    const char *token = l->token;
    int rc = -1, status;
    cJSON *plan = NULL, *ans = NULL;
    l->netns = 0;
    l->note[0] = '\0'; /* loopback by design: nothing to explain */
    if (lab_redis_start(l, NULL, NULL, addr, err) < 0) return -1;
    if (l->collector) {
        snprintf(url, sizeof url, "%s", l->collector);
        for (size_t n = strlen(url); n && url[n - 1] == '/'; n--) url[n - 1] = '\0';
    } else {
        /* A private collector: its warehouse lives and dies with the lab; the
         * merged run goes to --out. */
        make_run_id(tok);
        token = tok;
        snprintf(path, sizeof path, "%s/token", l->dir);
        if (write_file_atomic(path, tok, strlen(tok), err) < 0) return -1;
        char db[400];
        snprintf(db, sizeof db, "%s/lab.db", l->dir);
        char *argv[] = {l->exe, "serve", "--db", db, "--listen", "127.0.0.1:0", "--token-file",
                        path, NULL};
        pid_t cp = lab_spawn(l, NULL, argv, "collector", err);
        if (cp < 0 || collector_url(l, cp, url, sizeof url, err) < 0) return -1;
    }
    /* Workers read the token from the environment, not the command line. */
    setenv("REDBENCH_TOKEN", token, 1);
    for (int i = 0; i < l->workers; i++) {
        char name[48], log[32];
        snprintf(name, sizeof name, "%s-w%d", l->tag, i);
        snprintf(log, sizeof log, "worker-%d", i);
        char *argv[] = {l->exe, "worker", "--collector", url, "--name", name, "--idle-exit", "600",
                        "--quiet", NULL};
        if (lab_spawn(l, NULL, argv, log, err) < 0) return -1;
    }
    plan = cJSON_CreateObject();
    cJSON_AddStringToObject(plan, "target", addr);
    cJSON_AddNumberToObject(plan, "workers", l->workers);
    cJSON_AddNumberToObject(plan, "iterations", 3);
    cJSON_AddNumberToObject(plan, "requests", 10000);
    cJSON_AddNumberToObject(plan, "warmup", 1000);
    cJSON_AddNumberToObject(plan, "start_delay", 2);
    cJSON_AddStringToObject(plan, "client_region", l->server_region);
    cJSON_AddStringToObject(plan, "server_region", l->server_region);
    cJSON_AddStringToObject(plan, "preset", l->preset);
    if (plan_from_args(l, plan, err) < 0) goto out;
    char *body = cJSON_PrintUnformatted(plan);
    char u[400];
    snprintf(u, sizeof u, "%s/benchmark/start", url);
    ans = http_json("POST", u, token, body, &status, err);
    free(body);
    if (!ans) goto out;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(ans, "id");
    if (status != 201 || !cJSON_IsString(id)) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(ans, "error");
        rb_err(err, "POST /benchmark/start: HTTP %d: %s", status, cJSON_IsString(e) ? e->valuestring : "?");
        goto out;
    }
    char bid[RB_NAME_LEN];
    snprintf(bid, sizeof bid, "%s", id->valuestring);
    fprintf(stderr, "redbench lab: orchestrated: benchmark %s, %d worker(s), target %s\n", bid,
            l->workers, addr);
    uint64_t end = now_ns() + (uint64_t)(l->wait_s * 1e9);
    const char *st = "queued";
    while (!lab_sig && now_ns() < end) {
        cJSON_Delete(ans);
        snprintf(u, sizeof u, "%s/benchmark/status/%s", url, bid);
        if (!(ans = http_json("GET", u, token, NULL, &status, err))) goto out;
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(ans, "status");
        st = cJSON_IsString(s) ? s->valuestring : "?";
        if (!strcmp(st, "complete") || !strcmp(st, "failed")) break;
        sleep_ms(250);
    }
    if (strcmp(st, "complete")) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(ans, "error");
        rb_err(err, "benchmark %s %s%s%s", bid, lab_sig ? "interrupted" : !strcmp(st, "failed") ? "failed" : "did not complete in time",
               cJSON_IsString(e) ? ": " : "", cJSON_IsString(e) ? e->valuestring : "");
        goto out;
    }
    snprintf(u, sizeof u, "%s/benchmark/results/%s", url, bid);
    httpc_resp r;
    if (httpc_request("GET", u, token, NULL, NULL, 0, LAB_HTTP_TIMEOUT_MS, 256u << 20, &r, err) < 0) goto out;
    if (r.status != 200) {
        rb_err(err, "GET %s: HTTP %d", u, r.status);
        httpc_resp_cleanup(&r);
        goto out;
    }
    rb_run run;
    run_init(&run);
    if (run_from_json(r.body, r.body_len, &run, err) == 0) {
        fprintf(stdout, "orchestrated run %s: %zu result(s) merged from %d worker(s)%s%s\n", run.id,
                run.n_results, l->workers, l->collector ? ", stored in " : "", l->collector ? url : "");
        if (l->collector) {
            /* The collector stored it already: only --out is left to do. */
            const char *saved = l->collector;
            l->collector = NULL;
            rc = l->out_dir ? lab_deliver(l, &run, -1, err) : 0;
            l->collector = saved;
            if (!l->out_dir) l->delivered++;
        } else {
            rc = lab_deliver(l, &run, -1, err);
        }
    }
    run_cleanup(&run);
    httpc_resp_cleanup(&r);
out:
    cJSON_Delete(plan);
    cJSON_Delete(ans);
    return rc;
}

/* ---- cluster ---- */

/* Parses "HOST:PORT" into a bench target (host owned: free it). */
static int target_of(const char *addr, bench_target *t, char *err)
{
    memset(t, 0, sizeof *t);
    t->timeout_ms = 5000;
    t->password = getenv("REDBENCH_TARGET_PASSWORD"); /* servers the lab did not start */
    return parse_hostport(addr, &t->host, &t->port, err);
}

static redisContext *connect_addr(const char *addr, char *err)
{
    bench_target t;
    if (target_of(addr, &t, err) < 0) return NULL;
    redisContext *c = bench_connect(&t, err);
    free(t.host);
    return c;
}

/* An INFO field as a number (-1 when absent). */
static double info_num(redisContext *c, const char *section, const char *field)
{
    redisReply *r = redisCommand(c, "INFO %s", section);
    double v = -1;
    if (r && r->type == REDIS_REPLY_STRING) {
        size_t fl = strlen(field);
        for (const char *p = r->str; (p = strstr(p, field)); p += fl)
            if ((p == r->str || p[-1] == '\n') && p[fl] == ':') {
                v = strtod(p + fl + 1, NULL);
                break;
            }
    }
    if (r) freeReplyObject(r);
    return v;
}

/* Waits (bounded) until every replica's link is up and its offset reached
 * the primary's; returns how many are in sync. */
static int replicas_in_sync(redisContext *p, redisContext **rs, int n, long timeout_ms)
{
    uint64_t end = now_ns() + (uint64_t)timeout_ms * 1000000ull;
    int ok = 0;
    do {
        double off = info_num(p, "replication", "master_repl_offset");
        ok = 0;
        for (int i = 0; i < n; i++) {
            redisReply *r = redisCommand(rs[i], "INFO replication");
            if (r && r->type == REDIS_REPLY_STRING && strstr(r->str, "master_link_status:up")) {
                const char *q = strstr(r->str, "slave_repl_offset:");
                if (q && off >= 0 && strtod(q + 18, NULL) >= off) ok++;
            }
            if (r) freeReplyObject(r);
        }
        if (ok == n || lab_sig) break;
        sleep_ms(20);
    } while (now_ns() < end);
    return ok;
}

static void fill_sample(rb_sample *sm, uint64_t requests, uint64_t errors, double seconds, const hist *h)
{
    sm->requests = requests;
    sm->errors = errors;
    sm->seconds = seconds;
    sm->ops_per_sec = seconds > 0 ? (double)requests / seconds : 0;
    sm->p50_us = (double)hist_percentile(h, 50) / 1e3;
    sm->p99_us = (double)hist_percentile(h, 99) / 1e3;
}

/* Replication lag: a unique value written on the primary, each replica
 * polled (pipelined GETs, one round per loop) until it returns it; the lag
 * runs from the primary's acknowledgement to the reply that showed it. One
 * value per replica and write; 1 s bound per write. 5 samples (iterations). */
static int measure_lag(lab *l, redisContext *p, redisContext **rs, int n, rb_run *run,
                       rb_result *res, char *err)
{
    enum { GROUPS = 5 };
    const char *key = "rb:lab:lag";
    hist *it = hist_new();
    uint64_t writes = 0, polls = 0, timeouts = 0;
    long per = (l->lag_samples + GROUPS - 1) / GROUPS;
    int rc = -1;
    snprintf(res->status, sizeof res->status, "ok");
    snprintf(res->scenario, sizeof res->scenario, "replication");
    snprintf(res->op, sizeof res->op, "replication-lag");
    snprintf(res->data_type, sizeof res->data_type, "string");
    res->concurrency = 1;
    res->pipeline = 1;
    res->value_size = 32;
    res->dataset_size = 1;
    res->latency = hist_new();
    res->samples = xcalloc(GROUPS, sizeof *res->samples);
    char nrep[16];
    snprintf(nrep, sizeof nrep, "%d", n);
    kv_set(&res->params, &res->n_params, "replicas", nrep);
    for (int g = 0; g < GROUPS && !lab_sig; g++) {
        hist_reset(it);
        uint64_t g0 = now_ns(), gw = 0, gto = 0;
        for (long s = 0; s < per && !lab_sig; s++) {
            char val[64];
            snprintf(val, sizeof val, "%-10.10s%06d%016llu", l->tag, g, (unsigned long long)writes);
            res->value_size = (long)strlen(val);
            redisReply *r = redisCommand(p, "SET %s %s", key, val);
            int ok = r && r->type == REDIS_REPLY_STATUS;
            if (r) freeReplyObject(r);
            if (!ok) {
                rb_err(err, "SET on the primary: %s", p->err ? p->errstr : "error reply");
                goto out;
            }
            uint64_t t0 = now_ns(), deadline = t0 + 1000000000ull;
            int seen[LAB_MAX_REGIONS] = {0}, left = n;
            while (left > 0 && now_ns() < deadline) {
                for (int i = 0; i < n; i++)
                    if (!seen[i]) redisAppendCommand(rs[i], "GET %s", key);
                for (int i = 0; i < n; i++) {
                    if (seen[i]) continue;
                    void *vr = NULL;
                    if (redisGetReply(rs[i], &vr) != REDIS_OK) {
                        rb_err(err, "GET on replica %d: %s", i + 1, rs[i]->errstr);
                        goto out;
                    }
                    redisReply *rr = vr;
                    polls++;
                    if (rr->type == REDIS_REPLY_STRING && !strcmp(rr->str, val)) {
                        hist_record(it, now_ns() - t0);
                        seen[i] = 1;
                        left--;
                    }
                    freeReplyObject(rr);
                }
            }
            gto += (uint64_t)left;
            writes++;
            gw++;
        }
        fill_sample(&res->samples[res->n_samples++], gw * (uint64_t)n - gto, gto,
                    (double)(now_ns() - g0) / 1e9, it);
        res->samples[res->n_samples - 1].ops_per_sec = (double)gw / ((double)(now_ns() - g0) / 1e9);
        hist_merge(res->latency, it);
        res->requests += gw * (uint64_t)n - gto;
        res->errors += gto;
        timeouts += gto;
    }
    kv_add(&run->commands, &run->n_commands, "set", writes);
    kv_add(&run->commands, &run->n_commands, "get", polls);
    if (lab_sig) {
        snprintf(res->status, sizeof res->status, "partial");
        snprintf(res->error, sizeof res->error, "interrupted");
    }
    result_summarize(res);
    result_set_metric(res, "lag_p50_us", (double)hist_percentile(res->latency, 50) / 1e3);
    result_set_metric(res, "lag_p99_us", (double)hist_percentile(res->latency, 99) / 1e3);
    result_set_metric(res, "lag_max_us", (double)hist_max(res->latency) / 1e3);
    result_set_metric(res, "replicas", n);
    result_set_metric(res, "lag_timeouts", (double)timeouts);
    result_set_metric(res, "lag_writes", (double)writes);
    rc = 0;
out:
    {
        redisReply *r = redisCommand(p, "DEL %s", key);
        if (r) freeReplyObject(r);
    }
    hist_free(it);
    return rc;
}

/* One engine's phase, run on its own thread. */
typedef struct rs_job {
    engine *e;
    uint64_t requests;
    hist *h;
    engine_stats st;
    int rc;
    char err[RB_ERR_LEN];
} rs_job;

static void *rs_thread(void *arg)
{
    rs_job *j = arg;
    j->rc = engine_phase(j->e, j->requests, 0, j->h, &j->st, j->err);
    return NULL;
}

/* Runs one phase on every engine at once; *seconds the longest. */
static int rs_phase(rs_job *jobs, int n, uint64_t total, char *err)
{
    pthread_t tids[LAB_MAX_REGIONS + 1];
    for (int k = 0; k < n; k++) {
        jobs[k].requests = total / (uint64_t)n + ((uint64_t)k < total % (uint64_t)n);
        if (jobs[k].requests == 0) jobs[k].requests = 1;
        hist_reset(jobs[k].h);
        if (pthread_create(&tids[k], NULL, rs_thread, &jobs[k]) != 0) {
            for (int i = 0; i < k; i++) pthread_join(tids[i], NULL);
            return rb_err(err, "pthread_create: %s", strerror(errno));
        }
    }
    int rc = 0;
    for (int k = 0; k < n; k++) {
        pthread_join(tids[k], NULL);
        if (jobs[k].rc < 0 && rc == 0) rc = rb_err(err, "%s", jobs[k].err);
    }
    return rc;
}

/* Read scaling: GETs of a data set written on the primary, from
 * read_concurrency connections on the primary alone (replicas == 0) or
 * spread over the n replicas. */
static int read_scaling(lab *l, const char *const *addrs, int n, const op_env *env, rb_run *run,
                        rb_result *res, char *err)
{
    const struct op_def *op = op_find_def("get");
    bench_target ts[LAB_MAX_REGIONS + 1];
    rs_job jobs[LAB_MAX_REGIONS + 1];
    int nt = 0, rc = -1;
    long conc = l->read_concurrency < n ? n : l->read_concurrency;
    memset(jobs, 0, sizeof jobs);
    snprintf(res->status, sizeof res->status, "ok");
    snprintf(res->scenario, sizeof res->scenario, "read-scaling");
    snprintf(res->op, sizeof res->op, "get");
    snprintf(res->data_type, sizeof res->data_type, "string");
    res->concurrency = conc;
    res->pipeline = 1;
    res->value_size = env->value_size;
    res->dataset_size = env->dataset_size;
    res->latency = hist_new();
    res->samples = xcalloc((size_t)l->read_iterations, sizeof *res->samples);
    char v[16];
    snprintf(v, sizeof v, "%d", n);
    kv_set(&res->params, &res->n_params, "replicas", v);
    kv_set(&res->params, &res->n_params, "read_from", n ? "replicas" : "primary");
    int nodes = n ? n : 1;
    for (int k = 0; k < nodes; k++) {
        if (target_of(addrs[n ? k + 1 : 0], &ts[k], err) < 0) goto out;
        nt++;
        long c = conc / nodes + (k < conc % nodes);
        engine_cfg ec = {.target = &ts[k], .op = op, .env = env, .connections = c, .pipeline = 1,
                         .threads = 1, .rate = 0, .stop = &lab_sig};
        if (!(jobs[k].e = engine_new(&ec, err))) goto out;
        jobs[k].h = hist_new();
    }
    /* Warm-up: 1000 requests in all, not measured. */
    if (rs_phase(jobs, nodes, 1000, err) < 0) goto out;
    for (int k = 0; k < nodes; k++)
        kv_add(&run->commands, &run->n_commands, "get", jobs[k].st.replies[0]);
    hist *ith = hist_new();
    for (long it = 0; it < l->read_iterations && !lab_sig; it++) {
        if (rs_phase(jobs, nodes, (uint64_t)l->read_requests, err) < 0) {
            hist_free(ith);
            goto out;
        }
        uint64_t req = 0, errs = 0;
        double secs = 0;
        hist_reset(ith);
        for (int k = 0; k < nodes; k++) {
            req += jobs[k].st.requests;
            errs += jobs[k].st.errors;
            if (jobs[k].st.seconds > secs) secs = jobs[k].st.seconds;
            hist_merge(ith, jobs[k].h);
            kv_add(&run->commands, &run->n_commands, "get", jobs[k].st.replies[0]);
            if (jobs[k].st.first_error[0] && !res->error[0])
                snprintf(res->error, sizeof res->error, "%s", jobs[k].st.first_error);
        }
        fill_sample(&res->samples[res->n_samples++], req, errs, secs, ith);
        hist_merge(res->latency, ith);
        res->requests += req;
        res->errors += errs;
    }
    hist_free(ith);
    if (lab_sig) {
        snprintf(res->status, sizeof res->status, "partial");
        snprintf(res->error, sizeof res->error, "interrupted");
    }
    result_set_metric(res, "nodes", nodes);
    rc = 0;
out:
    if (rc < 0) {
        snprintf(res->status, sizeof res->status, "failed");
        snprintf(res->error, sizeof res->error, "%s", err);
    }
    result_summarize(res);
    for (int k = 0; k < LAB_MAX_REGIONS + 1; k++) {
        engine_free(jobs[k].e);
        hist_free(jobs[k].h);
    }
    for (int k = 0; k < nt; k++) free(ts[k].host);
    return rc;
}

static int mode_cluster(lab *l, char *err)
{
    char addrs[LAB_MAX_REGIONS + 1][64];
    const char *ap[LAB_MAX_REGIONS + 1];
    redisContext *p = NULL, *rs[LAB_MAX_REGIONS] = {0};
    int n = l->replicas, rc = -1, nc = 0;
    prep *pp = NULL;
    char *value = NULL;
    op_env env;
    rb_run run;
    run_init(&run);
    l->netns = 0;
    l->note[0] = '\0'; /* loopback by design: nothing to explain */
    if (l->primary) {
        /* Servers someone else runs (e.g. Fly machines: fly/deploy.sh cluster). */
        n = l->n_replica_addrs;
        snprintf(addrs[0], sizeof addrs[0], "%s", l->primary);
        for (int i = 0; i < n; i++) snprintf(addrs[i + 1], sizeof addrs[i + 1], "%s", l->replica_addrs[i]);
    } else {
        /* The first sync would otherwise wait 5 s (repl-diskless-sync-delay) for more replicas. */
        const char *pextra[] = {"--repl-diskless-sync-delay", "0", NULL};
        if (lab_redis_start(l, NULL, pextra, addrs[0], err) < 0) goto out;
        const char *pport = strrchr(addrs[0], ':') + 1;
        for (int i = 0; i < n; i++) {
            const char *extra[] = {"--replicaof", "127.0.0.1", pport, NULL};
            if (lab_redis_start(l, NULL, extra, addrs[i + 1], err) < 0) goto out;
        }
    }
    for (int i = 0; i <= n; i++) ap[i] = addrs[i];
    if (!(p = connect_addr(addrs[0], err))) goto out;
    for (; nc < n; nc++)
        if (!(rs[nc] = connect_addr(addrs[nc + 1], err))) goto out;
    /* Bounded at 60 s: a full sync of external servers (Fly) waits their own
     * repl-diskless-sync-delay, then forks and transfers the data set. */
    if (replicas_in_sync(p, rs, n, 60000) != n) {
        rb_err(err, "the %d replica(s) did not sync with the primary within 60 s", n);
        goto out;
    }
    fprintf(stderr, "redbench lab: cluster: primary %s, %d replica(s) in sync\n", addrs[0], n);

    /* 1. the matrix against the primary (writes replicate) */
    if (lab_bench(l, NULL, addrs[0], "cluster", l->server_region, l->server_region, NULL, &run, err) < 0)
        goto out;
    /* 2. replication lag */
    /* run_add_result may move the results: keep an index, not a pointer. */
    size_t lag_i = run.n_results;
    if (measure_lag(l, p, rs, n, &run, run_add_result(&run), err) < 0) goto out;
    /* 3. read scaling: a data set written on the primary, on every replica before reading */
    memset(&env, 0, sizeof env);
    snprintf(env.prefix, sizeof env.prefix, "rb:lab:get:");
    env.dataset_size = 10000;
    env.value_size = 64;
    value = xmalloc(65);
    memset(value, 'x', 64);
    value[64] = '\0';
    env.value = value;
    env.read_ratio = 0.9;
    env.expected_requests = (uint64_t)(l->read_requests * l->read_iterations + 1000);
    pp = prep_new(p, &run.commands, &run.n_commands);
    const struct op_def *get = op_find_def("get");
    if (get->prepare(pp, &env) < 0 || prep_flush(pp) < 0) {
        rb_err(err, "prepare the read-scaling data set: %s", prep_error(pp));
        goto out;
    }
    redisReply *w = redisCommand(p, "WAIT %d 10000", n);
    int acked = w && w->type == REDIS_REPLY_INTEGER ? (int)w->integer : -1;
    if (w) freeReplyObject(w);
    if (acked != n) {
        rb_err(err, "WAIT: %d of %d replicas acknowledged the data set", acked, n);
        goto out;
    }
    for (int spread = 0; spread < 2 && !lab_sig; spread++) {
        rb_result *res = run_add_result(&run);
        if (read_scaling(l, ap, spread ? n : 0, &env, &run, res, err) < 0) goto out;
    }
    prep_cleanup(pp, &env);
    /* 4. the replicas caught up after all this? */
    int synced = replicas_in_sync(p, rs, n, 5000);
    rb_result *lag = &run.results[lag_i];
    result_set_metric(lag, "replicas_in_sync", synced);
    fprintf(stderr, "redbench lab: cluster: replication lag p50 %.1f us, p99 %.1f us; %d/%d replicas in sync\n",
            lag->p50_us, lag->p99_us, synced, n);
    if (lab_sig) {
        rb_err(err, "interrupted");
        goto out;
    }
    rc = lab_deliver(l, &run, -1, err);
out:
    prep_free(pp);
    free(value);
    if (p) redisFree(p);
    for (int i = 0; i < nc; i++) redisFree(rs[i]);
    run_cleanup(&run);
    return rc;
}

/* ---- the command ---- */

static int parse_regions(const char *s, lab *l, char *err)
{
    char *copy = xstrdup(s), *save = NULL;
    l->nregions = 0;
    int rc = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '='), *end;
        if (!eq || eq == tok || eq - tok > 16) {
            rc = rb_err(err, "--regions: '%s': want NAME=RTT_MS (a name of 1-16 characters)", tok);
            break;
        }
        *eq = '\0';
        for (char *q = tok; *q; q++)
            if (!((*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') || *q == '-')) {
                rc = rb_err(err, "--regions: '%s': names are lower-case letters, digits and '-'", tok);
                goto out;
            }
        errno = 0;
        double v = strtod(eq + 1, &end);
        if (end == eq + 1 || *end || errno || v < 0 || v > 10000) {
            rc = rb_err(err, "--regions: %s: want a round trip of 0-10000 ms", tok);
            break;
        }
        for (int k = 0; k < l->nregions; k++)
            if (!strcmp(l->regions[k].name, tok)) {
                rc = rb_err(err, "--regions: %s given twice", tok);
                goto out;
            }
        if (l->nregions == LAB_MAX_REGIONS) {
            rc = rb_err(err, "--regions: at most %d regions", LAB_MAX_REGIONS);
            break;
        }
        snprintf(l->regions[l->nregions].name, sizeof l->regions[0].name, "%s", tok);
        l->regions[l->nregions++].rtt_ms = v;
    }
    if (rc == 0 && l->nregions == 0) rc = rb_err(err, "--regions: empty list");
out:
    free(copy);
    return rc;
}

static void usage(FILE *f)
{
    char modes[2048];
    size_t n = 0;
    for (size_t i = 0; i < sizeof lab_modes / sizeof lab_modes[0]; i++)
        n += (size_t)snprintf(modes + n, sizeof modes - n, "  %-22s %s\n", lab_modes[i].name,
                              lab_modes[i].help);
    fprintf(f, LAB_USAGE, modes);
}

int cmd_lab(int argc, char **argv)
{
    enum { O_COLL = 1, O_TOKEN, O_OUT, O_SREG, O_PRESET, O_REGIONS, O_SAME, O_NONETNS, O_WORKERS,
           O_WAIT, O_REPLICAS, O_LAG, O_RREQ, O_RIT, O_RCONC, O_KEEP, O_HELP, O_PRIMARY, O_REPLICA,
           O_RUNID };
    static const struct option opts[] = {
        {"collector", 1, 0, O_COLL}, {"token", 1, 0, O_TOKEN}, {"out", 1, 0, O_OUT},
        {"server-region", 1, 0, O_SREG}, {"preset", 1, 0, O_PRESET}, {"regions", 1, 0, O_REGIONS},
        {"same-region-rtt", 1, 0, O_SAME}, {"no-netns", 0, 0, O_NONETNS},
        {"workers", 1, 0, O_WORKERS}, {"wait", 1, 0, O_WAIT}, {"replicas", 1, 0, O_REPLICAS},
        {"lag-samples", 1, 0, O_LAG}, {"read-requests", 1, 0, O_RREQ},
        {"read-iterations", 1, 0, O_RIT}, {"read-concurrency", 1, 0, O_RCONC},
        {"keep", 0, 0, O_KEEP}, {"help", 0, 0, O_HELP}, {"primary", 1, 0, O_PRIMARY},
        {"replica", 1, 0, O_REPLICA}, {"run-id", 1, 0, O_RUNID}, {0, 0, 0, 0}};
    char err[RB_ERR_LEN], name[RB_NAME_LEN];
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_ERROR : EXIT_OK;
    }
    const struct lab_mode *mode = NULL;
    for (size_t i = 0; i < sizeof lab_modes / sizeof lab_modes[0]; i++)
        if (!strcmp(argv[1], lab_modes[i].name)) mode = &lab_modes[i];
    if (!mode) {
        fprintf(stderr, "redbench lab: unknown mode '%s'\n", argv[1]);
        usage(stderr);
        return EXIT_ERROR;
    }
    lab *l = xcalloc(1, sizeof *l);
    l->mode = mode->name;
    l->token = getenv("REDBENCH_TOKEN");
    l->server_region = "iad";
    l->preset = "lab";
    l->same_region_rtt_ms = 1;
    l->workers = 2;
    l->replicas = 2;
    l->lag_samples = 1000;
    l->read_requests = 20000;
    l->read_iterations = 3;
    l->read_concurrency = 32;
    l->wait_s = 600;
    parse_regions("syd=230,fra=90,gru=120", l, err);
    int rc = EXIT_ERROR, o, dd = 1;
    long v;
    /* argv[1] is the mode; the lab's options follow; after "--" all is for `redbench run`. */
    while (dd < argc && strcmp(argv[dd], "--")) dd++;
    l->run_args = dd < argc ? argv + dd + 1 : NULL;
    l->n_run_args = dd < argc ? argc - dd - 1 : 0;
    optind = 1;
    while ((o = getopt_long(dd - 1, argv + 1, "+h", opts, NULL)) != -1) {
        int bad = 0;
        switch (o) {
        case O_COLL: l->collector = optarg; break;
        case O_TOKEN: l->token = optarg; break;
        case O_OUT: l->out_dir = optarg; break;
        case O_SREG: bad = cli_name("lab", "--server-region", name, sizeof name, optarg); l->server_region = optarg; break;
        case O_PRESET: bad = cli_name("lab", "--preset", name, sizeof name, optarg); l->preset = optarg; break;
        case O_REGIONS:
            if (parse_regions(optarg, l, err) < 0) {
                fprintf(stderr, "redbench lab: %s\n", err);
                bad = 1;
            }
            break;
        case O_SAME: bad = cli_real("lab", "--same-region-rtt", optarg, 0, 10000, &l->same_region_rtt_ms); break;
        case O_NONETNS: l->no_netns = 1; break;
        case O_WORKERS: bad = cli_long("lab", "--workers", optarg, 1, 16, &v); l->workers = (int)v; break;
        case O_WAIT: bad = cli_real("lab", "--wait", optarg, 1, 86400, &l->wait_s); break;
        case O_REPLICAS: bad = cli_long("lab", "--replicas", optarg, 1, LAB_MAX_REGIONS, &v); l->replicas = (int)v; break;
        case O_LAG: bad = cli_long("lab", "--lag-samples", optarg, 5, 10000000, &l->lag_samples); break;
        case O_RREQ: bad = cli_long("lab", "--read-requests", optarg, 1, 1000000000, &l->read_requests); break;
        case O_RIT: bad = cli_long("lab", "--read-iterations", optarg, 1, 1000, &l->read_iterations); break;
        case O_RCONC: bad = cli_long("lab", "--read-concurrency", optarg, 1, 10000, &l->read_concurrency); break;
        case O_KEEP: l->keep = 1; break;
        case O_RUNID:
            if (!run_id_valid(optarg) || strlen(optarg) > 52) {
                fprintf(stderr, "redbench lab: --run-id: 1-52 of [A-Za-z0-9._-]\n");
                bad = 1;
            }
            l->run_id = optarg;
            break;
        case O_PRIMARY:
        case O_REPLICA: {
            char *h = NULL;
            int port;
            if (parse_hostport(optarg, &h, &port, err) < 0) {
                fprintf(stderr, "redbench lab: --%s: %s\n", o == O_PRIMARY ? "primary" : "replica", err);
                bad = 1;
            } else if (o == O_PRIMARY) {
                l->primary = optarg;
            } else if (l->n_replica_addrs == LAB_MAX_REGIONS) {
                fprintf(stderr, "redbench lab: --replica: at most %d\n", LAB_MAX_REGIONS);
                bad = 1;
            } else {
                l->replica_addrs[l->n_replica_addrs++] = optarg;
            }
            free(h);
            break;
        }
        case 'h':
        case O_HELP: usage(stdout); rc = EXIT_OK; goto done;
        default: usage(stderr); goto done;
        }
        if (bad) goto done;
    }
    if (optind < dd - 1) {
        fprintf(stderr, "redbench lab: unexpected argument '%s' (run options go after --)\n",
                argv[1 + optind]);
        goto done;
    }
    if ((l->primary != NULL) != (l->n_replica_addrs > 0) || (l->primary && strcmp(l->mode, "cluster"))) {
        fprintf(stderr, "redbench lab: --primary and --replica go together, with mode cluster\n");
        goto done;
    }
    if (!l->collector && !l->out_dir) {
        fprintf(stderr, "redbench lab: give --collector URL and/or --out DIR: the runs must go somewhere\n");
        goto done;
    }
    if (l->collector && (!l->token || !*l->token)) {
        fprintf(stderr, "redbench lab: --collector needs a token (--token or REDBENCH_TOKEN)\n");
        goto done;
    }
    ssize_t el = readlink("/proc/self/exe", l->exe, sizeof l->exe - 1);
    if (el <= 0) {
        fprintf(stderr, "redbench lab: /proc/self/exe: %s\n", strerror(errno));
        goto done;
    }
    l->exe[el] = '\0';
    snprintf(l->tag, sizeof l->tag, "rbl%d", (int)getpid());
    const char *tmpdir = getenv("TMPDIR");
    snprintf(l->dir, sizeof l->dir, "%s/redbench-lab.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    if (!mkdtemp(l->dir)) {
        fprintf(stderr, "redbench lab: mkdtemp %s: %s\n", l->dir, strerror(errno));
        l->dir[0] = '\0';
        goto done;
    }
    if (l->no_netns) {
        snprintf(l->note, sizeof l->note, "loopback: --no-netns");
    } else if (geteuid() != 0) {
        snprintf(l->note, sizeof l->note, "loopback: not root, no network namespaces");
    } else {
        l->netns = 1;
        netns_collect_stale(l);
    }
    if (!l->netns && (!strcmp(l->mode, "client-server") || !strcmp(l->mode, "multi-region")))
        fprintf(stderr, "redbench lab: warning: %s; distance is emulated on loopback only "
                        "(recorded in each run's target config as lab_note)\n", l->note);

    struct sigaction sa = {0}, old_int, old_term;
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    int mrc = mode->fn(l, err);
    if (mrc < 0) fprintf(stderr, "redbench lab %s: %s\n", l->mode, err);
    lab_teardown(l);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (lab_sig) rc = 130;
    else rc = mrc < 0 ? EXIT_ERROR : EXIT_OK;
    if (rc == EXIT_OK)
        fprintf(stderr, "redbench lab %s: done, %d run(s) delivered, everything torn down%s\n", l->mode,
                l->delivered, l->keep ? " (except with --keep)" : "");
done:
    free(l);
    return rc;
}
