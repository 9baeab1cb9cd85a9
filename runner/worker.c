/* worker.c -- `redbench worker`: leases tasks of orchestrated benchmarks from
 * a collector, runs each task's cells at the benchmark's common start time
 * while a thread heartbeats the lease, and sends the run back
 * (docs/orchestrated.md). */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "commands.h"
#include "httpc.h"
#include "model.h"
#include "ops.h"
#include "util.h"

#define WORKER_MAX_OPS 128
#define WORKER_MAX_LIST 16
#define HTTP_TIMEOUT_MS 10000
#define HTTP_MAX_BODY (64u << 20)
#define POLL_MS 1000            /* between leases when there is no task */
#define BACKOFF_MAX_MS 8000     /* after transport errors and 5xx */
#define RESULT_TRIES 6

static const char WORKER_USAGE[] =
    "usage: redbench worker --collector URL [options]\n"
    "\n"
    "Leases tasks of orchestrated benchmarks (POST /benchmark/start) from the\n"
    "collector, runs them against their target at the benchmark's common start\n"
    "time, heartbeats the lease while running and sends the run back.\n"
    "\n"
    "  --collector URL      the collector (e.g. http://127.0.0.1:8080)\n"
    "  --token TOKEN        bearer token (default $REDBENCH_TOKEN)\n"
    "  --name NAME          this worker's name, 1-32 of [A-Za-z0-9._-] (default: host name)\n"
    "  --max-tasks N        exit after N tasks (default: no limit)\n"
    "  --once               the same as --max-tasks 1\n"
    "  --idle-exit SECONDS  exit after this long without a task (default: never)\n"
    "  --quiet              no progress on stderr\n"
    "\n"
    "The target's AUTH password comes from $REDBENCH_TARGET_PASSWORD (plans\n"
    "never carry secrets). SIGINT/SIGTERM: stop; a task in progress is handed\n"
    "back to the collector to be leased again.\n"
    "exit status: 0 done, 2 error (bad option, refused token, collector gone).\n";

static volatile sig_atomic_t worker_stop;   /* signal: finish now */

static void on_signal(int sig)
{
    (void)sig;
    worker_stop = 1;
}

/* The worker's one configuration. */
struct worker_cfg {
    char base[512];             /* collector URL without trailing '/' */
    const char *token;
    char name[64];
    int quiet;
};

/* Sleeps ms, waking early when *flag or worker_stop is set. */
static void nap(long ms, volatile sig_atomic_t *flag)
{
    for (long left = ms; left > 0 && !worker_stop && !(flag && *flag); left -= 100) {
        struct timespec ts = {0, (left < 100 ? left : 100) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* POSTs the JSON body to base+path; 0 with resp filled, or -1 with err. */
static int post_json(const struct worker_cfg *w, const char *path, cJSON *body, httpc_resp *resp,
                     char *err)
{
    char url[640];
    snprintf(url, sizeof url, "%s%s", w->base, path);
    char *text = cJSON_PrintUnformatted(body);
    int rc = httpc_request("POST", url, w->token, "application/json", text, strlen(text),
                           HTTP_TIMEOUT_MS, HTTP_MAX_BODY, resp, err);
    cJSON_free(text);
    return rc;
}

/* ---- heartbeats ---- */

struct heartbeat {
    const struct worker_cfg *w;
    long long task_id;
    long interval_ms;
    volatile sig_atomic_t *task_stop;   /* set when the lease is lost */
    int lost;
    int done;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

static void *heartbeat_main(void *arg)
{
    struct heartbeat *hb = arg;
    char path[96], err[RB_ERR_LEN];
    snprintf(path, sizeof path, "/api/v1/tasks/%lld/heartbeat", hb->task_id);
    pthread_mutex_lock(&hb->mu);
    while (!hb->done) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += hb->interval_ms / 1000;
        ts.tv_nsec += (hb->interval_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&hb->cv, &hb->mu, &ts);
        if (hb->done) break;
        pthread_mutex_unlock(&hb->mu);
        cJSON *b = cJSON_CreateObject();
        cJSON_AddStringToObject(b, "worker", hb->w->name);
        httpc_resp resp;
        int rc = post_json(hb->w, path, b, &resp, err);
        cJSON_Delete(b);
        int lost = 0;
        if (rc < 0) {
            fprintf(stderr, "redbench worker: heartbeat: %s\n", err);
        } else {
            /* 409/404: another worker holds the task now; stop measuring. */
            lost = resp.status == 409 || resp.status == 404;
            if (resp.status != 200)
                fprintf(stderr, "redbench worker: heartbeat for task %lld: HTTP %d %s\n", hb->task_id,
                        resp.status, resp.body);
            httpc_resp_cleanup(&resp);
        }
        pthread_mutex_lock(&hb->mu);
        if (lost) {
            hb->lost = 1;
            *hb->task_stop = 1;
            break;
        }
    }
    pthread_mutex_unlock(&hb->mu);
    return NULL;
}

/* ---- one task ---- */

static long plan_num(const cJSON *p, const char *name, long def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(p, name);
    return cJSON_IsNumber(v) ? (long)v->valuedouble : def;
}

static const char *plan_str(const cJSON *p, const char *name, const char *def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(p, name);
    return cJSON_IsString(v) ? v->valuestring : def;
}

static int plan_list(const cJSON *p, const char *name, long *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(p, name), *e;
    int n = 0;
    cJSON_ArrayForEach(e, v) {
        if (n < WORKER_MAX_LIST && cJSON_IsNumber(e) && e->valuedouble >= 1) out[n++] = (long)e->valuedouble;
    }
    return n;
}

/* Runs the task's matrix into run. 0, or -1 with err when nothing could be
 * measured (bad plan, target unreachable). */
static int run_task(const struct worker_cfg *w, const cJSON *task, rb_run *run,
                    volatile sig_atomic_t *stop, char *err)
{
    const cJSON *plan = cJSON_GetObjectItemCaseSensitive(task, "plan");
    long conc[WORKER_MAX_LIST], pipe[WORKER_MAX_LIST], vsize[WORKER_MAX_LIST], dsize[WORKER_MAX_LIST];
    int nconc = plan_list(plan, "concurrency", conc), npipe = plan_list(plan, "pipeline", pipe);
    int nv = plan_list(plan, "value_size", vsize), nd = plan_list(plan, "dataset_size", dsize);
    if (!cJSON_IsObject(plan) || !nconc || !npipe || !nv || !nd)
        return rb_err(err, "task: plan without a matrix");
    const struct op_def *ops[WORKER_MAX_OPS];
    int nops = op_select(plan_str(plan, "scenarios", "set,get"), ops, WORKER_MAX_OPS, err);
    if (nops < 1) return nops < 0 ? -1 : rb_err(err, "task: no operation");
    bench_target t = {0};
    t.password = getenv("REDBENCH_TARGET_PASSWORD");
    t.timeout_ms = (int)plan_num(plan, "timeout_ms", 5000);
    if (parse_hostport(plan_str(plan, "target", ""), &t.host, &t.port, err) < 0) return -1;
    double duration = cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(plan, "duration"))
                          ? cJSON_GetObjectItemCaseSensitive(plan, "duration")->valuedouble : 0;
    /* Each task has its own key namespace: workers on one server must not
     * prepare or clean up each other's data sets. */
    char tag[32];
    snprintf(tag, sizeof tag, "t%.0f", cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(task, "index")));
    bench_limits lim = {.iterations = (int)plan_num(plan, "iterations", 3),
                        .requests = duration > 0 ? 0 : (uint64_t)plan_num(plan, "requests", 100000),
                        .duration_s = duration,
                        .warmup = (uint64_t)plan_num(plan, "warmup", 0),
                        .threads = (int)plan_num(plan, "threads", 1),
                        .read_ratio = 0.9,
                        .dist = DIST_UNIFORM,
                        .zipf_theta = 0.99,
                        .stop = stop,
                        .key_tag = tag};

    snprintf(run->project, sizeof run->project, "%s", plan_str(plan, "project", "default"));
    snprintf(run->branch, sizeof run->branch, "%s", plan_str(plan, "branch", "main"));
    snprintf(run->commit, sizeof run->commit, "%s", plan_str(plan, "commit", ""));
    snprintf(run->mode, sizeof run->mode, "orchestrated");
    snprintf(run->client_region, sizeof run->client_region, "%s", plan_str(plan, "client_region", "local"));
    snprintf(run->server_region, sizeof run->server_region, "%s", plan_str(plan, "server_region", "local"));
    snprintf(run->target_preset, sizeof run->target_preset, "%s", plan_str(plan, "preset", "local"));
    snprintf(run->runner_version, sizeof run->runner_version, "%s", RB_VERSION);
    snprintf(run->runner_host, sizeof run->runner_host, "%s", w->name);
    make_run_id(run->id);
    int rc = -1;
    if (bench_probe(&t, run, err) < 0) goto out;

    /* Everyone's load starts together: wait for the common start time. */
    const cJSON *sa = cJSON_GetObjectItemCaseSensitive(task, "start_at_ms");
    int64_t wait = cJSON_IsNumber(sa) ? (int64_t)sa->valuedouble - (int64_t)(wall_ns() / 1000000) : 0;
    if (wait > 3600 * 1000) wait = 3600 * 1000;
    if (wait > 0) {
        if (!w->quiet) fprintf(stderr, "redbench worker: starting in %.1f s\n", (double)wait / 1000);
        nap((long)wait, stop);
    }
    fmt_time_utc(wall_ns(), run->started_at, sizeof run->started_at);
    int failed = 0;
    for (int a = 0; a < nops && !*stop && !worker_stop; a++)
        for (int b = 0; b < nconc && !*stop; b++)
            for (int c = 0; c < npipe && !*stop; c++)
                for (int d = 0; d < nv && !*stop; d++)
                    for (int e = 0; e < nd && !*stop; e++) {
                        bench_cell cell = {ops[a], conc[b], pipe[c], vsize[d], dsize[e], 0};
                        if (!w->quiet)
                            fprintf(stderr, "redbench worker: %s concurrency=%ld pipeline=%ld value=%ldB keys=%ld\n",
                                    cell.op->name, cell.concurrency, cell.pipeline, cell.value_size,
                                    cell.dataset_size);
                        rb_result *res = run_add_result(run);
                        char cerr[RB_ERR_LEN];
                        if (bench_run_cell(&t, &cell, &lim, res, &run->commands, &run->n_commands,
                                           NULL, NULL, cerr) < 0) {
                            fprintf(stderr, "redbench worker: %s: %s\n", cell.op->name, cerr);
                            failed = 1;
                        }
                    }
    fmt_time_utc(wall_ns(), run->ended_at, sizeof run->ended_at);
    if (*stop || worker_stop) {
        rc = rb_err(err, worker_stop ? "worker interrupted" : "lease lost");
        goto out;
    }
    if (failed) snprintf(run->status, sizeof run->status, "failed");
    rc = 0;
out:
    free(t.host);
    return rc;
}

/* Sends the run (or, when run is NULL, the reason) for the task, retrying
 * transport errors and 5xx. 0 accepted, -1 refused or unreachable. */
static int send_result(const struct worker_cfg *w, long long task_id, const rb_run *run,
                       const char *why)
{
    char path[96], err[RB_ERR_LEN];
    snprintf(path, sizeof path, "/api/v1/tasks/%lld/result", task_id);
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "worker", w->name);
    if (run) {
        char *j = run_to_json(run, 0);
        cJSON_AddItemToObject(b, "run", cJSON_Parse(j));
        free(j);
    } else {
        cJSON_AddStringToObject(b, "error", why);
    }
    int rc = -1;
    long backoff = 1000;
    for (int attempt = 0; attempt < RESULT_TRIES; attempt++) {
        httpc_resp resp;
        if (post_json(w, path, b, &resp, err) == 0) {
            int st = resp.status;
            if (st == 200 || st == 201) {
                if (!w->quiet) fprintf(stderr, "redbench worker: task %lld: %s\n", task_id, resp.body);
                rc = 0;
            } else {
                fprintf(stderr, "redbench worker: task %lld result: HTTP %d %s\n", task_id, st, resp.body);
            }
            httpc_resp_cleanup(&resp);
            if (st < 500) break;
        } else {
            fprintf(stderr, "redbench worker: task %lld result: %s\n", task_id, err);
        }
        if (attempt + 1 < RESULT_TRIES) nap(backoff, NULL);
        backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
    }
    cJSON_Delete(b);
    return rc;
}

static void do_task(const struct worker_cfg *w, const cJSON *task)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(task, "task_id");
    const cJSON *hbs = cJSON_GetObjectItemCaseSensitive(task, "heartbeat_seconds");
    long long task_id = cJSON_IsNumber(id) ? (long long)id->valuedouble : -1;
    if (task_id < 1) {
        fprintf(stderr, "redbench worker: the collector sent a task without task_id\n");
        return;
    }
    if (!w->quiet)
        fprintf(stderr, "redbench worker: leased task %lld (benchmark %s, share %g of %g, attempt %g)\n",
                task_id, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(task, "benchmark_id")),
                cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(task, "index")),
                cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(task, "workers")),
                cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(task, "attempt")));
    static volatile sig_atomic_t task_stop;
    task_stop = 0;
    struct heartbeat hb = {.w = w, .task_id = task_id, .task_stop = &task_stop,
                           .interval_ms = cJSON_IsNumber(hbs) ? (long)(hbs->valuedouble * 1000) : 10000,
                           .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    if (hb.interval_ms < 500) hb.interval_ms = 500;
    pthread_t th;
    int have_thread = pthread_create(&th, NULL, heartbeat_main, &hb) == 0;
    rb_run run;
    run_init(&run);
    char err[RB_ERR_LEN];
    int rc = run_task(w, task, &run, &task_stop, err);
    pthread_mutex_lock(&hb.mu);
    hb.done = 1;
    pthread_cond_signal(&hb.cv);
    pthread_mutex_unlock(&hb.mu);
    if (have_thread) pthread_join(th, NULL);
    if (hb.lost) {
        fprintf(stderr, "redbench worker: task %lld: the lease was lost; result dropped\n", task_id);
    } else if (rc < 0) {
        fprintf(stderr, "redbench worker: task %lld: %s\n", task_id, err);
        send_result(w, task_id, NULL, err);
    } else {
        send_result(w, task_id, &run, NULL);
    }
    run_cleanup(&run);
}

int cmd_worker(int argc, char **argv)
{
    static const struct option opts[] = {
        {"collector", 1, 0, 'c'}, {"token", 1, 0, 't'}, {"name", 1, 0, 'n'},
        {"max-tasks", 1, 0, 'm'}, {"once", 0, 0, 'o'}, {"idle-exit", 1, 0, 'i'},
        {"quiet", 0, 0, 'q'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    struct worker_cfg w = {0};
    const char *collector = NULL;
    long max_tasks = 0, idle_exit = 0;
    w.token = getenv("REDBENCH_TOKEN");
    gethostname(w.name, sizeof w.name - 1);
    w.name[32] = '\0';
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'c': collector = optarg; break;
        case 't': w.token = optarg; break;
        case 'n':
            if (cli_name("worker", "--name", w.name, 33, optarg) < 0) return EXIT_ERROR;
            break;
        case 'm':
            if (cli_long("worker", "--max-tasks", optarg, 1, 1000000, &max_tasks) < 0) return EXIT_ERROR;
            break;
        case 'o': max_tasks = 1; break;
        case 'i':
            if (cli_long("worker", "--idle-exit", optarg, 1, 1000000, &idle_exit) < 0) return EXIT_ERROR;
            break;
        case 'q': w.quiet = 1; break;
        case 'h': fputs(WORKER_USAGE, stdout); return EXIT_OK;
        default: fputs(WORKER_USAGE, stderr); return EXIT_ERROR;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "redbench worker: unexpected argument '%s'\n", argv[optind]);
        return EXIT_ERROR;
    }
    if (!collector || !w.token || !*w.token) {
        fprintf(stderr, "redbench worker: --collector and a token (--token or REDBENCH_TOKEN) are required\n");
        return EXIT_ERROR;
    }
    snprintf(w.base, sizeof w.base, "%s", collector);
    for (size_t l = strlen(w.base); l && w.base[l - 1] == '/'; l--) w.base[l - 1] = '\0';
    for (const char *p = w.name; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", *p) || !w.name[0]) {
            fprintf(stderr, "redbench worker: --name: want 1-32 of [A-Za-z0-9._-]\n");
            return EXIT_ERROR;
        }

    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (!w.quiet) fprintf(stderr, "redbench worker %s: polling %s\n", w.name, w.base);

    long done = 0, backoff = POLL_MS;
    uint64_t idle_since = now_ns();
    int rc = EXIT_OK;
    char err[RB_ERR_LEN];
    while (!worker_stop && (max_tasks == 0 || done < max_tasks)) {
        if (idle_exit && now_ns() - idle_since > (uint64_t)idle_exit * 1000000000u) {
            if (!w.quiet) fprintf(stderr, "redbench worker: no task for %ld s: exiting\n", idle_exit);
            break;
        }
        cJSON *b = cJSON_CreateObject();
        cJSON_AddStringToObject(b, "worker", w.name);
        httpc_resp resp;
        int hr = post_json(&w, "/api/v1/tasks/lease", b, &resp, err);
        cJSON_Delete(b);
        if (hr < 0 || resp.status >= 500) {
            fprintf(stderr, "redbench worker: lease: %s%s\n", hr < 0 ? err : "HTTP 5xx ",
                    hr < 0 ? "" : resp.body);
            if (hr == 0) httpc_resp_cleanup(&resp);
            nap(backoff, NULL);
            backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
            continue;
        }
        backoff = POLL_MS;
        if (resp.status == 204) {
            httpc_resp_cleanup(&resp);
            nap(POLL_MS, NULL);
            continue;
        }
        if (resp.status != 200) {
            fprintf(stderr, "redbench worker: lease refused: HTTP %d %s\n", resp.status, resp.body);
            httpc_resp_cleanup(&resp);
            rc = EXIT_ERROR;
            break;
        }
        cJSON *task = cJSON_ParseWithLength(resp.body, resp.body_len);
        httpc_resp_cleanup(&resp);
        if (!task) {
            fprintf(stderr, "redbench worker: lease: the answer is not JSON\n");
            nap(backoff, NULL);
            continue;
        }
        do_task(&w, task);
        cJSON_Delete(task);
        done++;
        idle_since = now_ns();
    }
    if (!w.quiet) fprintf(stderr, "redbench worker %s: %ld task(s) done\n", w.name, done);
    return rc;
}
