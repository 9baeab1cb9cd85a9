/* bench.c -- one cell of the matrix: connect, probe, prepare the operation's
 * data set, warm up, measure iterations with the engine, take the server's
 * INFO deltas, clean up. */
#include "bench.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "engine.h"
#include "hist.h"
#include "util.h"

redisContext *bench_connect(const bench_target *t, char *err)
{
    struct timeval tv = {t->timeout_ms / 1000, (t->timeout_ms % 1000) * 1000};
    redisContext *c = redisConnectWithTimeout(t->host, t->port, tv);
    if (!c) {
        rb_err(err, "connect %s:%d: out of memory", t->host, t->port);
        return NULL;
    }
    if (c->err) {
        rb_err(err, "connect %s:%d: %s", t->host, t->port, c->errstr);
        redisFree(c);
        return NULL;
    }
    /* redisConnectWithTimeout bounds only the connect. */
    redisSetTimeout(c, tv);
    if (t->password) {
        redisReply *r = redisCommand(c, "AUTH %s", t->password);
        int ok = r && r->type == REDIS_REPLY_STATUS;
        if (!ok) {
            rb_err(err, "AUTH on %s:%d failed: %s", t->host, t->port,
                   r && r->type == REDIS_REPLY_ERROR ? r->str : c->errstr);
            if (r) freeReplyObject(r);
            redisFree(c);
            return NULL;
        }
        freeReplyObject(r);
    }
    return c;
}

/* ---- INFO ---- */

static double info_double(const char *info, const char *field)
{
    size_t fl = strlen(field);
    for (const char *p = info; (p = strstr(p, field)); p += fl) {
        if ((p == info || p[-1] == '\n') && p[fl] == ':') return strtod(p + fl + 1, NULL);
    }
    return 0;
}

/* Copies the value of an INFO field into out; 0 if present. */
static int info_str(const char *info, const char *field, char *out, size_t n)
{
    size_t fl = strlen(field);
    for (const char *p = info; (p = strstr(p, field)); p += fl) {
        if ((p == info || p[-1] == '\n') && p[fl] == ':') {
            const char *v = p + fl + 1;
            size_t l = strcspn(v, "\r\n");
            snprintf(out, n, "%.*s", (int)l, v);
            return 0;
        }
    }
    return -1;
}

int bench_info(redisContext *c, rb_server_delta *s)
{
    memset(s, 0, sizeof *s);
    redisReply *r = redisCommand(c, "INFO");
    if (!r || r->type != REDIS_REPLY_STRING) {
        if (r) freeReplyObject(r);
        return -1;
    }
    const char *in = r->str;
    for (int m = 0; m < SRV__MAX; m++)
        if (srv_metric_info[m].info_field[0]) s->v[m] = info_double(in, srv_metric_info[m].info_field);
    /* Keyspace lines: "db0:keys=12,expires=0,avg_ttl=0" */
    for (const char *p = in; (p = strstr(p, "\ndb")); p++) {
        const char *k = strstr(p, ":keys=");
        const char *eol = strchr(p + 1, '\n');
        if (k && (!eol || k < eol)) s->v[SRV_KEYS] += strtod(k + 6, NULL);
    }
    freeReplyObject(r);
    s->present = 1;
    return 0;
}

void bench_delta(rb_server_delta *out, const rb_server_delta *before, const rb_server_delta *after)
{
    memset(out, 0, sizeof *out);
    if (!before->present || !after->present) return;
    out->present = 1;
    for (int m = 0; m < SRV__MAX; m++) out->v[m] = after->v[m] - before->v[m];
}

int bench_probe(const bench_target *t, rb_run *run, char *err)
{
    redisContext *c = bench_connect(t, err);
    if (!c) return -1;
    snprintf(run->target_address, sizeof run->target_address, "%s:%d", t->host, t->port);
    snprintf(run->target_kind, sizeof run->target_kind, "resp");
    redisReply *r = redisCommand(c, "INFO server");
    if (!r) {
        rb_err(err, "INFO on %s:%d: %s", t->host, t->port, c->errstr);
        redisFree(c);
        return -1;
    }
    if (r->type == REDIS_REPLY_STRING) {
        char v[RB_NAME_LEN];
        if (info_str(r->str, "valkey_version", v, sizeof v) == 0) {
            snprintf(run->target_kind, sizeof run->target_kind, "valkey");
            snprintf(run->target_version, sizeof run->target_version, "%s", v);
        } else if (info_str(r->str, "redis_version", v, sizeof v) == 0) {
            snprintf(run->target_kind, sizeof run->target_kind, "redis");
            snprintf(run->target_version, sizeof run->target_version, "%s", v);
        }
    }
    freeReplyObject(r);
    static const char *audit[] = {"maxmemory", "maxmemory-policy", "appendonly", "appendfsync",
                                  "save", "timeout", "tcp-backlog", "io-threads", "maxclients",
                                  "hz"};
    for (size_t i = 0; i < sizeof audit / sizeof audit[0]; i++) {
        r = redisCommand(c, "CONFIG GET %s", audit[i]);
        if (!r) break; /* connection died: the audit is best effort */
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
            r->element[1]->type == REDIS_REPLY_STRING)
            kv_set(&run->config, &run->n_config, audit[i], r->element[1]->str);
        freeReplyObject(r);
    }
    redisFree(c);
    return 0;
}

/* ---- the cell ---- */

/* Adds the replies of a phase to the run's command counts. */
static void count_replies(const struct op_def *op, const engine_stats *st, rb_kv **cmds,
                          size_t *n_cmds)
{
    char names[OP_MAX_COMMANDS][OP_COMMAND_LEN];
    int n = op_command_names(op, names);
    for (int k = 0; k < n; k++)
        if (st->replies[k]) kv_add(cmds, n_cmds, names[k], st->replies[k]);
}

static int looks_unsupported(const char *msg)
{
    return strstr(msg, "unknown command") || strstr(msg, "ERR unknown") ||
           strstr(msg, "not supported");
}

static void mark(rb_result *res, const char *status, const char *why)
{
    snprintf(res->status, sizeof res->status, "%s", status);
    if (why && !res->error[0]) snprintf(res->error, sizeof res->error, "%s", why);
}

/* Engine counters worth keeping with the result, summed over phases. */
static void add_engine_metrics(rb_result *res, const engine_stats *st)
{
    static const char *names[] = {"timeouts", "reconnects", "late_sends"};
    const uint64_t vals[] = {st->timeouts, st->reconnects, st->late};
    for (int i = 0; i < 3; i++) {
        if (!vals[i]) continue;
        double cur = 0;
        for (size_t k = 0; k < res->n_metrics; k++)
            if (!strcmp(res->metrics[k].name, names[i])) cur = res->metrics[k].value;
        result_set_metric(res, names[i], cur + (double)vals[i]);
    }
}

/* Deletes the cell's keys; after a stall or a broken connection, reconnects
 * and tries again (3 attempts, 200 ms apart). */
static int cleanup_keys(const bench_target *t, redisContext **ctl, prep **pp, const op_env *env,
                        rb_kv **cmds, size_t *n_cmds)
{
    for (int attempt = 0; attempt < 3; attempt++) {
        if (attempt) {
            char err[RB_ERR_LEN];
            usleep(200000);
            redisContext *c = bench_connect(t, err);
            if (!c) continue;
            prep_free(*pp);
            redisFree(*ctl);
            *ctl = c;
            *pp = prep_new(c, cmds, n_cmds);
        }
        if (prep_cleanup(*pp, env) == 0) return 0;
    }
    return -1;
}

int bench_run_cell(const bench_target *t, const bench_cell *cell, const bench_limits *lim,
                   rb_result *res, rb_kv **cmds, size_t *n_cmds, bench_progress progress,
                   void *ud, char *err)
{
    const struct op_def *op = cell->op;
    int rc = -1;
    redisContext *ctl = NULL;
    prep *pp = NULL;
    engine *eng = NULL;
    hist *it_h = hist_new(), *scratch = hist_new();
    rb_server_delta before, after;
    op_env env = {0};
    char *value = xmalloc((size_t)cell->value_size + 1);
    memset(value, 'x', (size_t)cell->value_size);
    value[cell->value_size] = '\0';

    snprintf(res->status, sizeof res->status, "ok");
    snprintf(res->scenario, sizeof res->scenario, "%s", op->name);
    snprintf(res->op, sizeof res->op, "%s", op->name);
    snprintf(res->data_type, sizeof res->data_type, "%s", op->data_type);
    res->concurrency = cell->concurrency;
    res->pipeline = cell->pipeline;
    res->value_size = cell->value_size;
    res->dataset_size = cell->dataset_size;
    res->latency = hist_new();
    res->samples = xcalloc((size_t)lim->iterations, sizeof *res->samples);
    char pv[RB_NAME_LEN];
    if (cell->rate > 0) {
        snprintf(pv, sizeof pv, "%.0f", cell->rate);
        kv_set(&res->params, &res->n_params, "rate", pv);
    }
    if (lim->dist == DIST_ZIPF) {
        snprintf(pv, sizeof pv, "zipf:%.2f", lim->zipf_theta);
        kv_set(&res->params, &res->n_params, "dist", pv);
    }
    if (op->group == G_MIXED) {
        snprintf(pv, sizeof pv, "%.2f", lim->read_ratio);
        kv_set(&res->params, &res->n_params, "read_ratio", pv);
    }

    if (lim->key_tag && *lim->key_tag)
        snprintf(env.prefix, sizeof env.prefix, "rb:%.24s:%s:", lim->key_tag, op->name);
    else
        snprintf(env.prefix, sizeof env.prefix, "rb:%s:", op->name);
    env.dataset_size = cell->dataset_size;
    env.value_size = cell->value_size;
    env.value = value;
    env.read_ratio = lim->read_ratio;
    env.dist = lim->dist;
    env.zipf_theta = lim->zipf_theta;
    if (lim->dist == DIST_ZIPF) env.zipf = zipf_new(cell->dataset_size, lim->zipf_theta);
    uint64_t per_iter = lim->requests;
    if (!per_iter) /* timed: a generous estimate for data sets that get consumed */
        per_iter = (uint64_t)(lim->duration_s * (cell->rate > 0 ? cell->rate : 200000.0));
    env.expected_requests = lim->warmup + per_iter * (uint64_t)lim->iterations;
    if (env.expected_requests > 5000000) env.expected_requests = 5000000;

    if (!(ctl = bench_connect(t, err))) goto out;
    pp = prep_new(ctl, cmds, n_cmds);
    /* Keys a killed earlier run left behind would falsify the data set. */
    if (prep_cleanup(pp, &env) < 0) {
        rb_err(err, "%s", prep_error(pp));
        goto out;
    }
    if (op->prepare && (op->prepare(pp, &env) < 0 || prep_flush(pp) < 0)) {
        if (prep_unsupported(pp)) {
            mark(res, "unsupported", prep_error(pp));
            rc = 0;
        } else {
            rb_err(err, "prepare %s: %s", op->name, prep_error(pp));
        }
        goto cleanup;
    }

    engine_cfg ec = {.target = t, .op = op, .env = &env, .connections = cell->concurrency,
                     .pipeline = cell->pipeline, .threads = lim->threads, .rate = cell->rate,
                     .stop = lim->stop};
    if (!(eng = engine_new(&ec, err))) goto cleanup;
    engine_stats st;
    if (lim->warmup) {
        int prc = engine_phase(eng, lim->warmup, 0, scratch, &st, err);
        count_replies(op, &st, cmds, n_cmds);
        if (prc < 0) goto cleanup;
        if (st.requests && st.errors == st.requests && looks_unsupported(st.first_error)) {
            mark(res, "unsupported", st.first_error);
            rc = 0;
            goto cleanup;
        }
    }
    bench_info(ctl, &before);
    for (int it = 0; it < lim->iterations; it++) {
        hist_reset(it_h);
        int prc = engine_phase(eng, lim->requests, lim->duration_s, it_h, &st, err);
        count_replies(op, &st, cmds, n_cmds);
        add_engine_metrics(res, &st);
        if (prc < 0) goto cleanup;
        if (st.interrupted && (res->n_samples > 0 || st.requests == 0)) {
            /* Drop the cut-short iteration: a cell interrupted before any
             * iteration finished keeps no sample (the caller drops it). */
            mark(res, "partial", "interrupted");
            break;
        }
        rb_sample *sm = &res->samples[res->n_samples++];
        sm->requests = st.requests;
        sm->errors = st.errors;
        sm->seconds = st.seconds;
        sm->ops_per_sec = st.seconds > 0 ? (double)st.requests / st.seconds : 0;
        sm->p50_us = (double)hist_percentile(it_h, 50) / 1e3;
        sm->p99_us = (double)hist_percentile(it_h, 99) / 1e3;
        hist_merge(res->latency, it_h);
        res->requests += st.requests;
        res->errors += st.errors;
        if (st.first_error[0] && !res->error[0])
            snprintf(res->error, sizeof res->error, "%s", st.first_error);
        if (it == 0 && !lim->warmup && st.requests && st.errors == st.requests &&
            looks_unsupported(st.first_error)) {
            mark(res, "unsupported", st.first_error);
            res->n_samples = 0;
            rc = 0;
            goto cleanup;
        }
        if (progress) progress(cell, it, lim->iterations, sm->ops_per_sec, ud);
        if (st.interrupted) {
            mark(res, "partial", "interrupted");
            break;
        }
    }
    bench_info(ctl, &after);
    bench_delta(&res->server, &before, &after);
    rc = 0;
cleanup:
    if (pp && cleanup_keys(t, &ctl, &pp, &env, cmds, n_cmds) < 0 && rc == 0) {
        rb_err(err, "%s", pp ? prep_error(pp) : "cleanup: could not reconnect");
        rc = -1;
    }
out:
    if (rc < 0) {
        snprintf(res->status, sizeof res->status, "failed");
        snprintf(res->error, sizeof res->error, "%s", err);
    }
    result_summarize(res);
    engine_free(eng);
    prep_free(pp);
    if (ctl) redisFree(ctl);
    zipf_free(env.zipf);
    hist_free(it_h);
    hist_free(scratch);
    free(value);
    return rc;
}
