/* model.c -- runs and results in memory, and their JSON codec with field-level validation. */
#include "model.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

const char *const rb_modes[] = {"single", "client-server", "multi-region", "orchestrated", "cluster", NULL};
const char *const rb_result_statuses[] = {"ok", "partial", "failed", "unsupported", NULL};
static const char *const run_statuses[] = {"complete", "partial", "failed", NULL};

const struct srv_metric_info srv_metric_info[SRV__MAX] = {
    [SRV_CPU_USER_S] = {"cpu_user_s", "used_cpu_user", 0},
    [SRV_CPU_SYS_S] = {"cpu_sys_s", "used_cpu_sys", 0},
    [SRV_NET_IN_BYTES] = {"net_in_bytes", "total_net_input_bytes", 1},
    [SRV_NET_OUT_BYTES] = {"net_out_bytes", "total_net_output_bytes", 1},
    [SRV_USED_MEMORY] = {"used_memory", "used_memory", 1},
    [SRV_USED_MEMORY_PEAK] = {"used_memory_peak", "used_memory_peak", 1},
    [SRV_EVICTIONS] = {"evictions", "evicted_keys", 1},
    [SRV_KEYS] = {"keys", "", 1},
    [SRV_KEYSPACE_HITS] = {"keyspace_hits", "keyspace_hits", 1},
    [SRV_KEYSPACE_MISSES] = {"keyspace_misses", "keyspace_misses", 1},
};

static int in_list(const char *const *list, const char *s)
{
    for (int i = 0; list[i]; i++)
        if (strcmp(list[i], s) == 0) return 1;
    return 0;
}

int run_id_valid(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n >= RB_NAME_LEN) return 0;
    for (const char *p = id; *p; p++) {
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              *p == '-' || *p == '_'))
            return 0;
    }
    return 1;
}

/* Writes |u| / 10^d in fixed notation (d >= 0 decimals), with sign. */
static void put_fixed(char *out, int neg, unsigned long long u, int d)
{
    char tmp[32];
    int k = 0, o = 0;
    do {
        tmp[k++] = (char)('0' + u % 10);
        if (k == d) tmp[k++] = '.';
    } while ((u /= 10) > 0 || k <= d);
    if (tmp[k - 1] == '.') tmp[k++] = '0'; /* 0.xxx */
    if (neg) out[o++] = '-';
    while (k) out[o++] = tmp[--k];
    out[o] = '\0';
}

void run_fmt_num(char *out, double v)
{
    static const double p10[] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6};
    if (!isfinite(v)) {
        snprintf(out, 40, "null");
        return;
    }
    /* Fast paths for the common figures, with the text "%.15g" prints (which
     * reads back exactly): whole numbers below 1e15, and numbers that are the
     * double nearest to k / 10^d (d <= 6, |k| < 1e15, |v| >= 1e-4: fixed
     * notation, no trailing zero as d is the smallest that works). */
    double a = fabs(v);
    if (a < 1e15 && (a >= 1e-4 || v == 0)) {
        for (int d = 0; d <= 6; d++) {
            double x = a * p10[d];
            if (x >= 1e15) break;
            double k = nearbyint(x);
            if (k / p10[d] != a) continue;
            if (d == 0 && v == 0) {
                snprintf(out, 40, signbit(v) ? "-0" : "0");
                return;
            }
            put_fixed(out, v < 0, (unsigned long long)k, d);
            return;
        }
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, 40, "%.*g", prec, v);
        if (strtod(out, NULL) == v) break;
    }
}

/* Adds v as a JSON number printed by run_fmt_num. */
static void add_num(cJSON *o, const char *k, double v)
{
    char tmp[40];
    run_fmt_num(tmp, v);
    cJSON_AddItemToObject(o, k, cJSON_CreateRaw(tmp));
}

void run_init(rb_run *r)
{
    memset(r, 0, sizeof *r);
}

void run_cleanup(rb_run *r)
{
    for (size_t i = 0; i < r->n_results; i++) {
        hist_free(r->results[i].latency);
        free(r->results[i].latency_text);
        free(r->results[i].samples);
        free(r->results[i].params);
        free(r->results[i].metrics);
    }
    free(r->results);
    free(r->config);
    free(r->commands);
    run_init(r);
}

static void copy_name(char *dst, const char *src)
{
    snprintf(dst, RB_NAME_LEN, "%s", src);
}

void run_init_defaults(rb_run *r)
{
    run_init(r);
    const char *branch = getenv("REDBENCH_BRANCH"), *commit = getenv("REDBENCH_COMMIT");
    if (!commit || !*commit) commit = getenv("GITHUB_SHA");
    copy_name(r->project, "default");
    copy_name(r->branch, branch && *branch ? branch : "main");
    copy_name(r->commit, commit ? commit : "");
    copy_name(r->mode, "single");
    copy_name(r->client_region, "local");
    copy_name(r->server_region, "local");
    copy_name(r->target_preset, "local");
}

rb_result *run_add_result(rb_run *r)
{
    r->results = xrealloc(r->results, (r->n_results + 1) * sizeof *r->results);
    rb_result *res = &r->results[r->n_results++];
    memset(res, 0, sizeof *res);
    return res;
}

void kv_set(rb_kv **arr, size_t *n, const char *key, const char *value)
{
    for (size_t i = 0; i < *n; i++) {
        if (strcmp((*arr)[i].key, key) == 0) {
            copy_name((*arr)[i].value, value);
            return;
        }
    }
    *arr = xrealloc(*arr, (*n + 1) * sizeof **arr);
    copy_name((*arr)[*n].key, key);
    copy_name((*arr)[*n].value, value);
    (*n)++;
}

void kv_add(rb_kv **arr, size_t *n, const char *key, uint64_t delta)
{
    uint64_t cur = 0;
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*arr)[i].key, key) == 0) cur = strtoull((*arr)[i].value, NULL, 10);
    char v[32];
    snprintf(v, sizeof v, "%llu", (unsigned long long)(cur + delta));
    kv_set(arr, n, key, v);
}

void result_set_metric(rb_result *res, const char *name, double value)
{
    for (size_t i = 0; i < res->n_metrics; i++) {
        if (strcmp(res->metrics[i].name, name) == 0) {
            res->metrics[i].value = value;
            return;
        }
    }
    res->metrics = xrealloc(res->metrics, (res->n_metrics + 1) * sizeof *res->metrics);
    copy_name(res->metrics[res->n_metrics].name, name);
    res->metrics[res->n_metrics++].value = value;
}

void result_summarize(rb_result *res)
{
    double sum = 0;
    for (size_t i = 0; i < res->n_samples; i++) sum += res->samples[i].ops_per_sec;
    res->ops_per_sec = res->n_samples ? sum / (double)res->n_samples : 0;
    if (!res->latency || hist_count(res->latency) == 0) return;
    const hist *h = res->latency;
    res->p50_us = (double)hist_percentile(h, 50) / 1e3;
    res->p90_us = (double)hist_percentile(h, 90) / 1e3;
    res->p95_us = (double)hist_percentile(h, 95) / 1e3;
    res->p99_us = (double)hist_percentile(h, 99) / 1e3;
    res->p999_us = (double)hist_percentile(h, 99.9) / 1e3;
    res->max_us = (double)hist_max(h) / 1e3;
    res->mean_us = hist_mean(h) / 1e3;
}

static int kv_cmp(const void *a, const void *b)
{
    return strcmp(((const rb_kv *)a)->key, ((const rb_kv *)b)->key);
}

void result_series_key(const rb_run *run, const rb_result *res, char *out, size_t len)
{
    int n = snprintf(out, len, "%s/%s mode=%s region=%s>%s preset=%s c=%ld p=%ld v=%ld d=%ld",
                     res->scenario, res->op, run->mode, run->client_region, run->server_region,
                     run->target_preset, res->concurrency, res->pipeline, res->value_size,
                     res->dataset_size);
    if (res->n_params == 0 || n < 0 || (size_t)n >= len) return;
    rb_kv sorted[RB_MAX_PARAMS];
    size_t np = res->n_params < RB_MAX_PARAMS ? res->n_params : RB_MAX_PARAMS;
    memcpy(sorted, res->params, np * sizeof *sorted);
    qsort(sorted, np, sizeof *sorted, kv_cmp);
    for (size_t i = 0; i < np && (size_t)n < len; i++)
        n += snprintf(out + n, len - (size_t)n, " %s=%s", sorted[i].key, sorted[i].value);
}

/* ---- encoding ---- */

/* Keys come out sorted, so that the canonical document does not depend on
 * the order a producer wrote them in. */
static cJSON *kv_to_json(const rb_kv *unsorted, size_t n, int numeric)
{
    cJSON *o = cJSON_CreateObject();
    rb_kv *kv = xmalloc((n ? n : 1) * sizeof *kv);
    if (n) memcpy(kv, unsorted, n * sizeof *kv);
    qsort(kv, n, sizeof *kv, kv_cmp);
    for (size_t i = 0; i < n; i++) {
        if (numeric)
            add_num(o, kv[i].key, strtod(kv[i].value, NULL));
        else
            cJSON_AddStringToObject(o, kv[i].key, kv[i].value);
    }
    free(kv);
    return o;
}

static int metric_cmp(const void *a, const void *b)
{
    return strcmp(((const rb_metric *)a)->name, ((const rb_metric *)b)->name);
}

char *kv_json(const rb_kv *kv, size_t n, int numeric)
{
    cJSON *o = kv_to_json(kv, n, numeric);
    char *out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!out) abort(); /* cJSON only fails on allocation */
    char *copy = xstrdup(out);
    cJSON_free(out);
    return copy;
}

/* The document as a cJSON tree (pretty printing); run_to_json(r, 0) writes
 * the same text directly. */
static cJSON *run_to_cjson(const rb_run *r)
{
    cJSON *root = cJSON_CreateObject();
    add_num(root, "schema_version", RB_SCHEMA_VERSION);
    cJSON_AddStringToObject(root, "run_id", r->id);
    cJSON_AddStringToObject(root, "status", r->status[0] ? r->status : "complete");
    cJSON_AddStringToObject(root, "project", r->project);
    cJSON_AddStringToObject(root, "branch", r->branch);
    cJSON_AddStringToObject(root, "commit", r->commit);
    cJSON_AddStringToObject(root, "mode", r->mode);
    cJSON_AddStringToObject(root, "client_region", r->client_region);
    cJSON_AddStringToObject(root, "server_region", r->server_region);
    cJSON_AddStringToObject(root, "started_at", r->started_at);
    cJSON_AddStringToObject(root, "ended_at", r->ended_at);

    cJSON *t = cJSON_AddObjectToObject(root, "target");
    cJSON_AddStringToObject(t, "kind", r->target_kind);
    cJSON_AddStringToObject(t, "version", r->target_version);
    cJSON_AddStringToObject(t, "address", r->target_address);
    cJSON_AddStringToObject(t, "preset", r->target_preset);
    cJSON_AddItemToObject(t, "config", kv_to_json(r->config, r->n_config, 0));

    cJSON *rn = cJSON_AddObjectToObject(root, "runner");
    cJSON_AddStringToObject(rn, "version", r->runner_version);
    cJSON_AddStringToObject(rn, "host", r->runner_host);
    cJSON_AddItemToObject(rn, "commands", kv_to_json(r->commands, r->n_commands, 1));

    cJSON *arr = cJSON_AddArrayToObject(root, "results");
    for (size_t i = 0; i < r->n_results; i++) {
        const rb_result *res = &r->results[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "status", res->status[0] ? res->status : "ok");
        if (res->error[0]) cJSON_AddStringToObject(o, "error", res->error);
        cJSON_AddStringToObject(o, "scenario", res->scenario);
        cJSON_AddStringToObject(o, "op", res->op);
        cJSON_AddStringToObject(o, "data_type", res->data_type);
        add_num(o, "concurrency", (double)res->concurrency);
        add_num(o, "pipeline", (double)res->pipeline);
        add_num(o, "value_size", (double)res->value_size);
        add_num(o, "dataset_size", (double)res->dataset_size);
        if (res->n_params) cJSON_AddItemToObject(o, "params", kv_to_json(res->params, res->n_params, 0));
        add_num(o, "requests", (double)res->requests);
        add_num(o, "errors", (double)res->errors);
        add_num(o, "ops_per_sec", res->ops_per_sec);
        cJSON *s = cJSON_AddArrayToObject(o, "samples");
        for (size_t k = 0; k < res->n_samples; k++) {
            const rb_sample *sm = &res->samples[k];
            cJSON *so = cJSON_CreateObject();
            add_num(so, "ops_per_sec", sm->ops_per_sec);
            add_num(so, "requests", (double)sm->requests);
            add_num(so, "errors", (double)sm->errors);
            add_num(so, "seconds", sm->seconds);
            add_num(so, "p50_us", sm->p50_us);
            add_num(so, "p99_us", sm->p99_us);
            cJSON_AddItemToArray(s, so);
        }
        cJSON *lat = cJSON_AddObjectToObject(o, "latency_us");
        add_num(lat, "p50", res->p50_us);
        add_num(lat, "p90", res->p90_us);
        add_num(lat, "p95", res->p95_us);
        add_num(lat, "p99", res->p99_us);
        add_num(lat, "p999", res->p999_us);
        add_num(lat, "max", res->max_us);
        add_num(lat, "mean", res->mean_us);
        if (res->latency || !res->latency_text) {
            char *enc = res->latency ? hist_encode(res->latency) : xstrdup("");
            cJSON_AddStringToObject(o, "latency_hist", enc);
            free(enc);
        } else {
            cJSON_AddStringToObject(o, "latency_hist", res->latency_text);
        }
        if (res->server.present) {
            cJSON *sv = cJSON_AddObjectToObject(o, "server");
            for (int m = 0; m < SRV__MAX; m++)
                add_num(sv, srv_metric_info[m].name, res->server.v[m]);
        }
        if (res->n_metrics) {
            rb_metric *ms = xmalloc(res->n_metrics * sizeof *ms);
            memcpy(ms, res->metrics, res->n_metrics * sizeof *ms);
            qsort(ms, res->n_metrics, sizeof *ms, metric_cmp);
            cJSON *mo = cJSON_AddObjectToObject(o, "metrics");
            for (size_t k = 0; k < res->n_metrics; k++) add_num(mo, ms[k].name, ms[k].value);
            free(ms);
        }
        cJSON_AddItemToArray(arr, o);
    }
    return root;
}

/* ---- the canonical (unformatted) text, written directly: byte for byte what
 * cJSON_PrintUnformatted prints of run_to_cjson's tree, without building it
 * (tests/unit/test_model_canon.c compares the two) ---- */

/* A JSON string as cJSON escapes it: '"', '\\', \b \f \n \r \t, other bytes
 * below 0x20 as \u00xx; everything else as is. */
static void put_str(buf *b, const char *s)
{
    buf_append(b, "\"", 1);
    const char *run = s;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p >= 32 && *p != '"' && *p != '\\') continue;
        buf_append(b, run, (size_t)((const char *)p - run));
        char esc[8];
        switch (*p) {
        case '"': buf_append(b, "\\\"", 2); break;
        case '\\': buf_append(b, "\\\\", 2); break;
        case '\b': buf_append(b, "\\b", 2); break;
        case '\f': buf_append(b, "\\f", 2); break;
        case '\n': buf_append(b, "\\n", 2); break;
        case '\r': buf_append(b, "\\r", 2); break;
        case '\t': buf_append(b, "\\t", 2); break;
        default:
            snprintf(esc, sizeof esc, "\\u%04x", *p);
            buf_append(b, esc, 6);
        }
        run = (const char *)p + 1;
    }
    buf_append(b, run, strlen(run));
    buf_append(b, "\"", 1);
}

/* ,"key": (the comma unless first in its object) */
static void put_key(buf *b, const char *k, int *first)
{
    if (!*first) buf_append(b, ",", 1);
    *first = 0;
    put_str(b, k);
    buf_append(b, ":", 1);
}

static void put_kstr(buf *b, const char *k, const char *v, int *first)
{
    put_key(b, k, first);
    put_str(b, v);
}

static void put_knum(buf *b, const char *k, double v, int *first)
{
    char tmp[40];
    put_key(b, k, first);
    run_fmt_num(tmp, v);
    buf_puts(b, tmp);
}

/* A kv array as kv_to_json orders and types it. */
static void put_kv(buf *b, const rb_kv *unsorted, size_t n, int numeric)
{
    rb_kv *kv = xmalloc((n ? n : 1) * sizeof *kv);
    if (n) memcpy(kv, unsorted, n * sizeof *kv);
    qsort(kv, n, sizeof *kv, kv_cmp);
    int first = 1;
    buf_append(b, "{", 1);
    for (size_t i = 0; i < n; i++) {
        if (numeric)
            put_knum(b, kv[i].key, strtod(kv[i].value, NULL), &first);
        else
            put_kstr(b, kv[i].key, kv[i].value, &first);
    }
    buf_append(b, "}", 1);
    free(kv);
}

static void put_result(buf *b, const rb_result *res)
{
    int f = 1;
    buf_append(b, "{", 1);
    put_kstr(b, "status", res->status[0] ? res->status : "ok", &f);
    if (res->error[0]) put_kstr(b, "error", res->error, &f);
    put_kstr(b, "scenario", res->scenario, &f);
    put_kstr(b, "op", res->op, &f);
    put_kstr(b, "data_type", res->data_type, &f);
    put_knum(b, "concurrency", (double)res->concurrency, &f);
    put_knum(b, "pipeline", (double)res->pipeline, &f);
    put_knum(b, "value_size", (double)res->value_size, &f);
    put_knum(b, "dataset_size", (double)res->dataset_size, &f);
    if (res->n_params) {
        put_key(b, "params", &f);
        put_kv(b, res->params, res->n_params, 0);
    }
    put_knum(b, "requests", (double)res->requests, &f);
    put_knum(b, "errors", (double)res->errors, &f);
    put_knum(b, "ops_per_sec", res->ops_per_sec, &f);
    put_key(b, "samples", &f);
    buf_append(b, "[", 1);
    for (size_t k = 0; k < res->n_samples; k++) {
        const rb_sample *sm = &res->samples[k];
        int g = 1;
        buf_puts(b, k ? ",{" : "{");
        put_knum(b, "ops_per_sec", sm->ops_per_sec, &g);
        put_knum(b, "requests", (double)sm->requests, &g);
        put_knum(b, "errors", (double)sm->errors, &g);
        put_knum(b, "seconds", sm->seconds, &g);
        put_knum(b, "p50_us", sm->p50_us, &g);
        put_knum(b, "p99_us", sm->p99_us, &g);
        buf_append(b, "}", 1);
    }
    buf_append(b, "]", 1);
    put_key(b, "latency_us", &f);
    int g = 1;
    buf_append(b, "{", 1);
    put_knum(b, "p50", res->p50_us, &g);
    put_knum(b, "p90", res->p90_us, &g);
    put_knum(b, "p95", res->p95_us, &g);
    put_knum(b, "p99", res->p99_us, &g);
    put_knum(b, "p999", res->p999_us, &g);
    put_knum(b, "max", res->max_us, &g);
    put_knum(b, "mean", res->mean_us, &g);
    buf_append(b, "}", 1);
    if (res->latency || !res->latency_text) {
        char *enc = res->latency ? hist_encode(res->latency) : xstrdup("");
        put_kstr(b, "latency_hist", enc, &f);
        free(enc);
    } else {
        put_kstr(b, "latency_hist", res->latency_text, &f);
    }
    if (res->server.present) {
        put_key(b, "server", &f);
        g = 1;
        buf_append(b, "{", 1);
        for (int m = 0; m < SRV__MAX; m++) put_knum(b, srv_metric_info[m].name, res->server.v[m], &g);
        buf_append(b, "}", 1);
    }
    if (res->n_metrics) {
        rb_metric *ms = xmalloc(res->n_metrics * sizeof *ms);
        memcpy(ms, res->metrics, res->n_metrics * sizeof *ms);
        qsort(ms, res->n_metrics, sizeof *ms, metric_cmp);
        put_key(b, "metrics", &f);
        g = 1;
        buf_append(b, "{", 1);
        for (size_t k = 0; k < res->n_metrics; k++) put_knum(b, ms[k].name, ms[k].value, &g);
        buf_append(b, "}", 1);
        free(ms);
    }
    buf_append(b, "}", 1);
}

char *run_to_json(const rb_run *r, int pretty)
{
    if (pretty) {
        cJSON *root = run_to_cjson(r);
        char *out = cJSON_Print(root);
        cJSON_Delete(root);
        if (!out) abort(); /* cJSON only fails on allocation */
        char *copy = xstrdup(out);
        cJSON_free(out);
        return copy;
    }
    buf b;
    buf_init(&b, (size_t)1 << 30);
    int f = 1;
    buf_append(&b, "{", 1);
    put_knum(&b, "schema_version", RB_SCHEMA_VERSION, &f);
    put_kstr(&b, "run_id", r->id, &f);
    put_kstr(&b, "status", r->status[0] ? r->status : "complete", &f);
    put_kstr(&b, "project", r->project, &f);
    put_kstr(&b, "branch", r->branch, &f);
    put_kstr(&b, "commit", r->commit, &f);
    put_kstr(&b, "mode", r->mode, &f);
    put_kstr(&b, "client_region", r->client_region, &f);
    put_kstr(&b, "server_region", r->server_region, &f);
    put_kstr(&b, "started_at", r->started_at, &f);
    put_kstr(&b, "ended_at", r->ended_at, &f);
    int g = 1;
    put_key(&b, "target", &f);
    buf_append(&b, "{", 1);
    put_kstr(&b, "kind", r->target_kind, &g);
    put_kstr(&b, "version", r->target_version, &g);
    put_kstr(&b, "address", r->target_address, &g);
    put_kstr(&b, "preset", r->target_preset, &g);
    put_key(&b, "config", &g);
    put_kv(&b, r->config, r->n_config, 0);
    buf_append(&b, "}", 1);
    g = 1;
    put_key(&b, "runner", &f);
    buf_append(&b, "{", 1);
    put_kstr(&b, "version", r->runner_version, &g);
    put_kstr(&b, "host", r->runner_host, &g);
    put_key(&b, "commands", &g);
    put_kv(&b, r->commands, r->n_commands, 1);
    buf_append(&b, "}", 1);
    put_key(&b, "results", &f);
    buf_append(&b, "[", 1);
    for (size_t i = 0; i < r->n_results; i++) {
        if (i) buf_append(&b, ",", 1);
        put_result(&b, &r->results[i]);
    }
    buf_append(&b, "]}", 2);
    if (b.toobig) abort(); /* no cap: only allocation fails, and xmalloc aborts first */
    return buf_take(&b);
}

/* ---- decoding with field-level errors ---- */

/* Reads a required (or optional, with def) string field into dst. */
/* 1 if s is valid UTF-8 without control characters (RFC 8259 text). */
static int text_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        if (*p < 0x20 || *p == 0x7f) return 0;
        if (*p < 0x80) {
            p++;
            continue;
        }
        int n = *p >= 0xf0 && *p <= 0xf4 ? 3 : *p >= 0xe0 ? 2 : *p >= 0xc2 && *p <= 0xdf ? 1 : -1;
        if (n < 0 || (*p >= 0xe0 && *p < 0xf0 && n != 2)) return 0;
        uint32_t cp = *p & (0x3f >> n);
        for (int i = 1; i <= n; i++) {
            if ((p[i] & 0xc0) != 0x80) return 0;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        /* overlong forms, surrogates, beyond U+10FFFF */
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        p += n + 1;
    }
    return 1;
}

static int get_str(const cJSON *o, const char *path, const char *name, char *dst, int required,
                   const char *def, char *err)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!it || cJSON_IsNull(it)) {
        if (required) return rb_err(err, "%s%s: required field is missing", path, name);
        copy_name(dst, def);
        return 0;
    }
    if (!cJSON_IsString(it)) return rb_err(err, "%s%s: must be a string", path, name);
    if (!text_ok(it->valuestring))
        return rb_err(err, "%s%s: must be UTF-8 text without control characters", path, name);
    if (strlen(it->valuestring) >= RB_NAME_LEN)
        return rb_err(err, "%s%s: longer than %d characters", path, name, RB_NAME_LEN - 1);
    if (!it->valuestring[0]) {
        if (required) return rb_err(err, "%s%s: must not be empty", path, name);
        copy_name(dst, def);
        return 0;
    }
    copy_name(dst, it->valuestring);
    return 0;
}

/* Reads a number field; min is the smallest accepted value; integral asks for
 * a whole number. Missing optional fields read as 0. */
static int get_num(const cJSON *o, const char *path, const char *name, double *dst, int required,
                   double min, int integral, char *err)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!it) {
        if (required) return rb_err(err, "%s%s: required field is missing", path, name);
        *dst = 0;
        return 0;
    }
    if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble))
        return rb_err(err, "%s%s: must be a number", path, name);
    double v = it->valuedouble;
    if (integral && (v != floor(v) || v > 9007199254740992.0))
        return rb_err(err, "%s%s: must be an integer", path, name);
    if (v < min) return rb_err(err, "%s%s: must be >= %g", path, name, min);
    *dst = v;
    return 0;
}

static int get_kv(const cJSON *o, const char *path, const char *name, rb_kv **arr, size_t *n,
                  int numeric, char *err)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!it) return 0;
    if (!cJSON_IsObject(it)) return rb_err(err, "%s%s: must be an object", path, name);
    const cJSON *e;
    cJSON_ArrayForEach(e, it) {
        if (strlen(e->string) >= RB_NAME_LEN)
            return rb_err(err, "%s%s: key longer than %d characters", path, name, RB_NAME_LEN - 1);
        if (numeric) {
            if (!cJSON_IsNumber(e) || e->valuedouble < 0)
                return rb_err(err, "%s%s.%s: must be a non-negative number", path, name, e->string);
            if (e->valuedouble > 9007199254740992.0)
                return rb_err(err, "%s%s.%s: larger than 2^53", path, name, e->string);
            kv_add(arr, n, e->string, (uint64_t)e->valuedouble);
            for (size_t i = 0; i < *n; i++)
                if (!strcmp((*arr)[i].key, e->string) && strtod((*arr)[i].value, NULL) > 9007199254740992.0)
                    return rb_err(err, "%s%s.%s: larger than 2^53", path, name, e->string);
        } else {
            if (!cJSON_IsString(e) || !text_ok(e->valuestring) || !text_ok(e->string))
                return rb_err(err, "%s%s.%s: must be UTF-8 text without control characters", path, name, e->string);
            if (strlen(e->valuestring) >= RB_NAME_LEN)
                return rb_err(err, "%s%s.%s: longer than %d characters", path, name, e->string,
                              RB_NAME_LEN - 1);
            kv_set(arr, n, e->string, e->valuestring);
        }
    }
    return 0;
}

/* Parses "YYYY-MM-DDTHH:MM:SS[.fraction]Z" strictly and rewrites it in place
 * in the canonical form with milliseconds ("2026-01-02T03:04:05.000Z"), so
 * that times compare correctly as text. Returns 0, or -1 if malformed. */
static int normalize_time(char *s)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    size_t i;
    for (i = 0; shape[i]; i++) {
        if (shape[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != shape[i]) return -1;
    }
    char ms[4] = "000";
    if (s[i] == '.') {
        i++;
        size_t d = 0;
        while (s[i] >= '0' && s[i] <= '9') {
            if (d < 3) ms[d] = s[i];
            d++;
            i++;
        }
        if (d == 0) return -1;
    }
    if (s[i] != 'Z' || s[i + 1] != '\0') return -1;
    int y, mo, d, h, mi, se;
    sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &se);
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || se > 60)
        return -1;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo == 2 && d == 29 && !leap) return -1;
    char out[32];
    snprintf(out, sizeof out, "%.19s.%sZ", s, ms);
    memcpy(s, out, strlen(out) + 1);
    return 0;
}

static int decode_result(const cJSON *o, size_t idx, rb_result *res, unsigned flags, char *err)
{
    char path[48];
    snprintf(path, sizeof path, "results[%zu].", idx);
    double v;
    if (!cJSON_IsObject(o)) return rb_err(err, "results[%zu]: must be an object", idx);
    if (get_str(o, path, "status", res->status, 0, "ok", err) < 0) return -1;
    if (!in_list(rb_result_statuses, res->status))
        return rb_err(err, "%sstatus: must be ok, partial, failed or unsupported", path);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "error");
    if (e && !cJSON_IsNull(e)) {
        if (!cJSON_IsString(e) || !text_ok(e->valuestring))
            return rb_err(err, "%serror: must be UTF-8 text without control characters", path);
        snprintf(res->error, sizeof res->error, "%s", e->valuestring);
    }
    int measured = !strcmp(res->status, "ok") || !strcmp(res->status, "partial");
    if (get_str(o, path, "scenario", res->scenario, 1, "", err) < 0) return -1;
    if (get_str(o, path, "op", res->op, 1, "", err) < 0) return -1;
    if (get_str(o, path, "data_type", res->data_type, 0, "string", err) < 0) return -1;
    if (get_num(o, path, "concurrency", &v, 1, 1, 1, err) < 0) return -1;
    res->concurrency = (long)v;
    if (get_num(o, path, "pipeline", &v, 1, 1, 1, err) < 0) return -1;
    res->pipeline = (long)v;
    if (get_num(o, path, "value_size", &v, 1, 0, 1, err) < 0) return -1;
    res->value_size = (long)v;
    if (get_num(o, path, "dataset_size", &v, 1, 1, 1, err) < 0) return -1;
    res->dataset_size = (long)v;
    if (get_num(o, path, "requests", &v, 1, 0, 1, err) < 0) return -1;
    res->requests = (uint64_t)v;
    if (get_num(o, path, "errors", &v, 1, 0, 1, err) < 0) return -1;
    res->errors = (uint64_t)v;
    if (get_kv(o, path, "params", &res->params, &res->n_params, 0, err) < 0) return -1;
    if (res->n_params > RB_MAX_PARAMS)
        return rb_err(err, "%sparams: at most %d parameters", path, RB_MAX_PARAMS);

    const cJSON *mo = cJSON_GetObjectItemCaseSensitive(o, "metrics");
    if (mo) {
        if (!cJSON_IsObject(mo)) return rb_err(err, "%smetrics: must be an object", path);
        const cJSON *m;
        cJSON_ArrayForEach(m, mo) {
            if (strlen(m->string) >= RB_NAME_LEN)
                return rb_err(err, "%smetrics: name longer than %d characters", path, RB_NAME_LEN - 1);
            if (!cJSON_IsNumber(m) || !isfinite(m->valuedouble))
                return rb_err(err, "%smetrics.%s: must be a number", path, m->string);
            result_set_metric(res, m->string, m->valuedouble);
        }
    }

    const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, "samples");
    if (!s) return rb_err(err, "%ssamples: required field is missing", path);
    if (!cJSON_IsArray(s)) return rb_err(err, "%ssamples: must be an array", path);
    int ns = cJSON_GetArraySize(s);
    if (ns < 1 && measured) return rb_err(err, "%ssamples: needs at least one iteration", path);
    res->samples = xcalloc((size_t)(ns ? ns : 1), sizeof *res->samples);
    res->n_samples = (size_t)ns;
    int k = 0;
    const cJSON *so;
    cJSON_ArrayForEach(so, s) {
        char sp[128];
        snprintf(sp, sizeof sp, "%ssamples[%d].", path, k);
        if (!cJSON_IsObject(so)) return rb_err(err, "%ssamples[%d]: must be an object", path, k);
        rb_sample *sm = &res->samples[k++];
        if (get_num(so, sp, "ops_per_sec", &sm->ops_per_sec, 1, 0, 0, err) < 0) return -1;
        if (get_num(so, sp, "requests", &v, 1, 0, 1, err) < 0) return -1;
        sm->requests = (uint64_t)v;
        if (get_num(so, sp, "errors", &v, 0, 0, 1, err) < 0) return -1;
        sm->errors = (uint64_t)v;
        if (get_num(so, sp, "seconds", &sm->seconds, 1, 0, 0, err) < 0) return -1;
        if (get_num(so, sp, "p50_us", &sm->p50_us, 1, 0, 0, err) < 0) return -1;
        if (get_num(so, sp, "p99_us", &sm->p99_us, 1, 0, 0, err) < 0) return -1;
    }

    const cJSON *h = cJSON_GetObjectItemCaseSensitive(o, "latency_hist");
    if (!h) return rb_err(err, "%slatency_hist: required field is missing", path);
    if (!cJSON_IsString(h)) return rb_err(err, "%slatency_hist: must be a string", path);
    char herr[RB_ERR_LEN];
    hist_summary hs = {0};
    if (flags & RUN_DECODE_HIST_TEXT) {
        if (hist_decode_summary(h->valuestring, &hs, &res->latency_text, herr) < 0)
            return rb_err(err, "%slatency_hist: %s", path, herr);
    } else {
        res->latency = hist_decode(h->valuestring, herr);
        if (!res->latency) return rb_err(err, "%slatency_hist: %s", path, herr);
        hs.count = hist_count(res->latency);
    }
    if (hs.count == 0) {
        /* No histogram (imported results): the given summary stands. */
        const cJSON *lat = cJSON_GetObjectItemCaseSensitive(o, "latency_us");
        if (lat) {
            char lp[128];
            snprintf(lp, sizeof lp, "%slatency_us.", path);
            if (!cJSON_IsObject(lat)) return rb_err(err, "%slatency_us: must be an object", path);
            const char *names[] = {"p50", "p90", "p95", "p99", "p999", "max", "mean"};
            double *dst[] = {&res->p50_us, &res->p90_us, &res->p95_us, &res->p99_us,
                             &res->p999_us, &res->max_us, &res->mean_us};
            for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
                if (get_num(lat, lp, names[i], dst[i], 0, 0, 0, err) < 0) return -1;
        }
    }

    const cJSON *sv = cJSON_GetObjectItemCaseSensitive(o, "server");
    if (sv) {
        char sp[128];
        snprintf(sp, sizeof sp, "%sserver.", path);
        if (!cJSON_IsObject(sv)) return rb_err(err, "%sserver: must be an object", path);
        res->server.present = 1;
        /* Deltas of gauges such as memory may be negative. */
        for (int m = 0; m < SRV__MAX; m++) {
            if (get_num(sv, sp, srv_metric_info[m].name, &res->server.v[m], 0, -9e15,
                        srv_metric_info[m].integral, err) < 0)
                return -1;
        }
    }
    result_summarize(res);
    if (hs.count && !res->latency) { /* as result_summarize does from the histogram */
        res->p50_us = (double)hs.p50 / 1e3;
        res->p90_us = (double)hs.p90 / 1e3;
        res->p95_us = (double)hs.p95 / 1e3;
        res->p99_us = (double)hs.p99 / 1e3;
        res->p999_us = (double)hs.p999 / 1e3;
        res->max_us = (double)hs.max / 1e3;
        res->mean_us = hs.mean / 1e3;
    }
    return 0;
}

/* Orders series keys (then positions) for the duplicate check. */
static int keyed_cmp(const void *a, const void *b)
{
    const struct { char *key; size_t idx; } *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

int run_from_json(const char *json, size_t len, rb_run *r, char *err)
{
    return run_decode(json, len, r, 0, err);
}

int run_decode(const char *json, size_t len, rb_run *r, unsigned flags, char *err)
{
    run_init(r);
    /* cJSON turns \u0000 into a NUL that silently cuts the string short. */
    if (memmem(json, len, "\\u0000", 6)) return rb_err(err, "body: \\u0000 is not allowed in strings");
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    if (!root) return rb_err(err, "body: malformed JSON");
    for (const char *p = end; p && p < json + len; p++) {
        if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
            cJSON_Delete(root);
            return rb_err(err, "body: text after the JSON value");
        }
    }
    int rc = -1;
    double v;
    if (!cJSON_IsObject(root)) {
        rb_err(err, "body: must be a JSON object");
        goto out;
    }
    if (get_num(root, "", "schema_version", &v, 1, 0, 1, err) < 0) goto out;
    if (v != RB_SCHEMA_VERSION) {
        rb_err(err, "schema_version: unsupported version %g (this collector reads %d)", v,
               RB_SCHEMA_VERSION);
        goto out;
    }
    if (get_str(root, "", "run_id", r->id, 1, "", err) < 0) goto out;
    if (!run_id_valid(r->id)) {
        rb_err(err, "run_id: only letters, digits, '-' and '_' are allowed");
        goto out;
    }
    if (get_str(root, "", "status", r->status, 0, "complete", err) < 0) goto out;
    if (!in_list(run_statuses, r->status)) {
        rb_err(err, "status: must be complete, partial or failed");
        goto out;
    }
    if (get_str(root, "", "project", r->project, 0, "default", err) < 0) goto out;
    if (get_str(root, "", "branch", r->branch, 1, "", err) < 0) goto out;
    if (get_str(root, "", "commit", r->commit, 0, "", err) < 0) goto out;
    if (get_str(root, "", "mode", r->mode, 1, "", err) < 0) goto out;
    if (!in_list(rb_modes, r->mode)) {
        rb_err(err, "mode: unknown mode '%s' (single, client-server, multi-region, orchestrated, cluster)",
               r->mode);
        goto out;
    }
    if (get_str(root, "", "client_region", r->client_region, 0, "local", err) < 0) goto out;
    if (get_str(root, "", "server_region", r->server_region, 0, "local", err) < 0) goto out;
    if (get_str(root, "", "started_at", r->started_at, 1, "", err) < 0) goto out;
    if (get_str(root, "", "ended_at", r->ended_at, 1, "", err) < 0) goto out;
    if (normalize_time(r->started_at) < 0) {
        rb_err(err, "started_at: must be an RFC 3339 UTC time like 2026-01-02T03:04:05Z");
        goto out;
    }
    if (normalize_time(r->ended_at) < 0) {
        rb_err(err, "ended_at: must be an RFC 3339 UTC time like 2026-01-02T03:04:05Z");
        goto out;
    }
    if (strcmp(r->ended_at, r->started_at) < 0) {
        rb_err(err, "ended_at: earlier than started_at");
        goto out;
    }

    const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "target");
    if (!t) {
        rb_err(err, "target: required field is missing");
        goto out;
    }
    if (!cJSON_IsObject(t)) {
        rb_err(err, "target: must be an object");
        goto out;
    }
    if (get_str(t, "target.", "kind", r->target_kind, 0, "", err) < 0) goto out;
    if (get_str(t, "target.", "version", r->target_version, 0, "", err) < 0) goto out;
    if (get_str(t, "target.", "address", r->target_address, 0, "", err) < 0) goto out;
    if (get_str(t, "target.", "preset", r->target_preset, 0, "local", err) < 0) goto out;
    if (get_kv(t, "target.", "config", &r->config, &r->n_config, 0, err) < 0) goto out;

    const cJSON *rn = cJSON_GetObjectItemCaseSensitive(root, "runner");
    if (rn) {
        if (!cJSON_IsObject(rn)) {
            rb_err(err, "runner: must be an object");
            goto out;
        }
        if (get_str(rn, "runner.", "version", r->runner_version, 0, "", err) < 0) goto out;
        if (get_str(rn, "runner.", "host", r->runner_host, 0, "", err) < 0) goto out;
        if (get_kv(rn, "runner.", "commands", &r->commands, &r->n_commands, 1, err) < 0) goto out;
    }

    const cJSON *res = cJSON_GetObjectItemCaseSensitive(root, "results");
    if (!res) {
        rb_err(err, "results: required field is missing");
        goto out;
    }
    if (!cJSON_IsArray(res) || cJSON_GetArraySize(res) < 1) {
        rb_err(err, "results: must be a non-empty array");
        goto out;
    }
    if (cJSON_GetArraySize(res) > RB_MAX_RESULTS) {
        rb_err(err, "results: more than %d results in one run", RB_MAX_RESULTS);
        goto out;
    }
    size_t idx = 0;
    const cJSON *o;
    cJSON_ArrayForEach(o, res) {
        if (decode_result(o, idx, run_add_result(r), flags, err) < 0) goto out;
        idx++;
    }
    /* Two results of one run may not share a series: keys computed once and
     * sorted, so a large matrix is not quadratic. */
    {
        struct keyed { char *key; size_t idx; } *ks = xcalloc(r->n_results, sizeof *ks);
        for (size_t i = 0; i < r->n_results; i++) {
            ks[i].key = xmalloc(RB_SERIES_KEY_LEN);
            ks[i].idx = i;
            result_series_key(r, &r->results[i], ks[i].key, RB_SERIES_KEY_LEN);
        }
        qsort(ks, r->n_results, sizeof *ks, keyed_cmp);
        int dup = 0;
        for (size_t i = 1; i < r->n_results && !dup; i++) {
            if (strcmp(ks[i - 1].key, ks[i].key) == 0) {
                size_t a = ks[i - 1].idx, b = ks[i].idx;
                rb_err(err, "results[%zu]: same series as results[%zu] (%s)", a > b ? a : b,
                       a > b ? b : a, ks[i].key);
                dup = 1;
            }
        }
        for (size_t i = 0; i < r->n_results; i++) free(ks[i].key);
        free(ks);
        if (dup) goto out;
    }
    rc = 0;
out:
    cJSON_Delete(root);
    if (rc < 0) run_cleanup(r);
    return rc;
}
