/* import.c -- `redbench import`: redis-benchmark --csv and memtier_benchmark
 * --json-out-file output become a run in redbench's format (import.h). */
#include "import.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "upload.h"
#include "util.h"

const char *const import_format_name[IMPORT__MAX] = {
    [IMPORT_REDIS_BENCHMARK] = "redis-benchmark",
    [IMPORT_MEMTIER] = "memtier",
};

/* redis-benchmark's defaults for what its CSV does not say (-c, -P, -d, -r). */
#define RB_DEF_CLIENTS 50
#define RB_DEF_PIPELINE 1
#define RB_DEF_VALUE 3
#define RB_DEF_KEYS 1
/* memtier_benchmark's defaults for a field its "configuration" lacks. */
#define MT_DEF_CLIENTS 50
#define MT_DEF_THREADS 4
#define MT_DEF_PIPELINE 1
#define MT_DEF_DATA_SIZE 32
#define MT_DEF_KEY_MIN 0
#define MT_DEF_KEY_MAX 10000000
#define MT_DEF_RATIO "1:10"

int import_format_find(const char *name)
{
    for (int i = 0; i < IMPORT__MAX; i++)
        if (!strcmp(import_format_name[i], name)) return i;
    if (!strcmp(name, "memtier_benchmark") || !strcmp(name, "memtier-benchmark")) return IMPORT_MEMTIER;
    return -1;
}

void import_params_init(import_params *p)
{
    p->concurrency = p->pipeline = p->value_size = p->dataset_size = p->requests = -1;
}

/* ---- names and data types ---- */

static void put(char *out, size_t len, size_t *n, char c)
{
    if (*n + 1 < len) out[(*n)++] = c;
}

void import_name(const char *test, char *out, size_t len)
{
    if (len == 0) return;
    if (len > RB_NAME_LEN) len = RB_NAME_LEN;
    size_t n = 0;
    int sep = 0;
    for (const char *p = test; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '(') {
            const char *close = strchr(p, ')');
            const char *end = close ? close : p + strlen(p);
            const char *d = p + 1;
            while (d < end && !isdigit((unsigned char)*d)) d++;
            size_t dl = 0;
            while (d + dl < end && isdigit((unsigned char)d[dl])) dl++;
            /* "LRANGE_100 (first 100 elements)" already says 100. */
            int has = dl > 0 && n > dl && out[n - dl - 1] == '_' && memcmp(out + n - dl, d, dl) == 0;
            if (dl > 0 && !has) {
                if (n) put(out, len, &n, '_');
                for (size_t i = 0; i < dl; i++) put(out, len, &n, d[i]);
            }
            sep = 1;
            if (!close) break;
            p = close;
            continue;
        }
        if (isalnum(c)) {
            if (sep && n) put(out, len, &n, '_');
            sep = 0;
            put(out, len, &n, (char)tolower(c));
        } else {
            sep = 1;
        }
    }
    while (n > 0 && out[n - 1] == '_') n--;   /* a cut may end on a separator */
    out[n] = '\0';
}

static const struct {
    const char *type;
    const char *commands;   /* space-separated, with a space at each end */
} type_table[] = {
    {"string", " set get incr incrby incrbyfloat decr decrby mset msetnx mget append getset setex"
               " psetex setnx getrange setrange strlen getdel getex "},
    {"hash", " hset hget hmset hmget hgetall hdel hincrby hincrbyfloat hexists hlen hkeys hvals"
             " hsetnx hscan hrandfield hstrlen "},
    {"list", " lpush rpush lpushx rpushx lpop rpop lrange llen lindex lset lrem ltrim linsert lpos"
             " lmove blmove rpoplpush brpoplpush blpop brpop "},
    {"set", " sadd srem spop smembers sismember smismember scard srandmember sinter sinterstore"
            " sunion sunionstore sdiff sdiffstore sscan smove "},
    {"zset", " zadd zrem zpopmin zpopmax bzpopmin bzpopmax zrange zrangebyscore zrangebylex"
             " zrevrange zrevrangebyscore zscore zmscore zcard zincrby zrank zrevrank zcount"
             " zlexcount zscan zunionstore zinterstore "},
    {"stream", " xadd xread xreadgroup xrange xrevrange xlen xack xtrim xdel xclaim xautoclaim "},
};

const char *import_data_type(const char *name)
{
    char word[40];
    size_t n = strcspn(name, "_");
    if (n == 0 || n + 2 >= sizeof word) return "any";
    snprintf(word, sizeof word, " %.*s ", (int)n, name);
    for (size_t i = 0; i < sizeof type_table / sizeof type_table[0]; i++)
        if (strstr(type_table[i].commands, word)) return type_table[i].type;
    return "any";
}

/* ---- the importer ---- */

/* What a sample cannot hold but the result's latency_us needs (µs). */
typedef struct extra {
    double p90, p95, p999, max, mean;
} extra;

/* One measurement of one cell, as read from a file. */
typedef struct meas {
    char name[RB_NAME_LEN];
    long c, p, v, d;
    char ratio[RB_NAME_LEN];   /* memtier's --ratio; "" for redis-benchmark */
    int partial;
    rb_sample s;
    extra x;
} meas;

typedef struct meas_list {
    meas *m;
    size_t n;
} meas_list;

/* What a file says about the run as a whole. */
typedef struct file_info {
    uint64_t start_ns, end_ns;
    int partial;
    char address[RB_NAME_LEN];
} file_info;

typedef struct cell {
    rb_result res;     /* samples accumulate here */
    extra *x;          /* one per sample */
    char ratio[RB_NAME_LEN];
} cell;

struct importer {
    enum import_format fmt;
    import_params p;
    cell *cells;
    size_t n;
    uint64_t start_ns, end_ns;   /* 0 = none yet */
    int partial;
    char address[RB_NAME_LEN];
};

importer *importer_new(enum import_format fmt, const import_params *p)
{
    importer *im = xcalloc(1, sizeof *im);
    im->fmt = fmt;
    im->p = *p;
    return im;
}

static void cell_cleanup(cell *c)
{
    hist_free(c->res.latency);
    free(c->res.samples);
    free(c->res.params);
    free(c->res.metrics);
    free(c->x);
}

void importer_free(importer *im)
{
    if (!im) return;
    for (size_t i = 0; i < im->n; i++) cell_cleanup(&im->cells[i]);
    free(im->cells);
    free(im);
}

size_t importer_cells(const importer *im)
{
    return im->n;
}

static meas *meas_add(meas_list *l)
{
    l->m = xrealloc(l->m, (l->n + 1) * sizeof *l->m);
    meas *m = &l->m[l->n++];
    memset(m, 0, sizeof *m);
    return m;
}

static cell *cell_find(importer *im, const meas *m)
{
    for (size_t i = 0; i < im->n; i++) {
        cell *c = &im->cells[i];
        if (!strcmp(c->res.scenario, m->name) && c->res.concurrency == m->c &&
            c->res.pipeline == m->p && c->res.value_size == m->v && c->res.dataset_size == m->d &&
            !strcmp(c->ratio, m->ratio))
            return c;
    }
    im->cells = xrealloc(im->cells, (im->n + 1) * sizeof *im->cells);
    cell *c = &im->cells[im->n++];
    memset(c, 0, sizeof *c);
    rb_result *r = &c->res;
    snprintf(r->scenario, sizeof r->scenario, "%s", m->name);
    snprintf(r->op, sizeof r->op, "%s", m->name);
    snprintf(r->data_type, sizeof r->data_type, "%s", import_data_type(m->name));
    r->concurrency = m->c;
    r->pipeline = m->p;
    r->value_size = m->v;
    r->dataset_size = m->d;
    kv_set(&r->params, &r->n_params, "source", import_format_name[im->fmt]);
    if (m->ratio[0]) kv_set(&r->params, &r->n_params, "ratio", m->ratio);
    snprintf(c->ratio, sizeof c->ratio, "%s", m->ratio);
    return c;
}

static void merge(importer *im, const meas_list *l, const file_info *fi)
{
    for (size_t i = 0; i < l->n; i++) {
        const meas *m = &l->m[i];
        cell *c = cell_find(im, m);
        rb_result *r = &c->res;
        r->samples = xrealloc(r->samples, (r->n_samples + 1) * sizeof *r->samples);
        c->x = xrealloc(c->x, (r->n_samples + 1) * sizeof *c->x);
        r->samples[r->n_samples] = m->s;
        c->x[r->n_samples] = m->x;
        r->n_samples++;
        if (m->partial) snprintf(r->status, sizeof r->status, "partial");
    }
    if (fi->start_ns && (!im->start_ns || fi->start_ns < im->start_ns)) im->start_ns = fi->start_ns;
    if (fi->end_ns > im->end_ns) im->end_ns = fi->end_ns;
    im->partial |= fi->partial;
    if (!im->address[0] && fi->address[0]) memcpy(im->address, fi->address, sizeof im->address);
}

/* A finite decimal number that is all of s (blanks around it allowed). */
static int parse_number(const char *s, double *v)
{
    char *end;
    while (isspace((unsigned char)*s)) s++;
    if (!*s) return -1;
    double x = strtod(s, &end);
    while (isspace((unsigned char)*end)) end++;
    if (*end || !isfinite(x)) return -1;
    *v = x;
    return 0;
}

/* Milliseconds to µs, kept to the ns (so 0.615 ms is exactly 615 µs). */
static double ms_to_us(double ms)
{
    return round(ms * 1e6) / 1e3;
}

/* ---- redis-benchmark --csv ---- */

enum csv_col { COL_TEST, COL_RPS, COL_AVG, COL_MIN, COL_P50, COL_P95, COL_P99, COL_MAX, COL__MAX };
static const char *const csv_col_name[COL__MAX] = {
    "test", "rps", "avg_latency_ms", "min_latency_ms", "p50_latency_ms", "p95_latency_ms",
    "p99_latency_ms", "max_latency_ms"};
#define CSV_MAX_FIELDS 64

/* Splits one CSV line (modified in place) into fields; a quoted field may
 * hold commas and "" for a quote. Returns the count, -1 on a broken quote,
 * -2 past max fields. */
static int csv_split(char *line, char **f, int max)
{
    int n = 0;
    char *p = line;
    for (;;) {
        if (n == max) return -2;
        while (*p == ' ' || *p == '\t') p++;
        if (*p == '"') {
            char *w = ++p;
            f[n++] = w;
            for (;;) {
                if (!*p) return -1;
                if (*p == '"') {
                    if (p[1] == '"') {
                        *w++ = '"';
                        p += 2;
                        continue;
                    }
                    p++;
                    break;
                }
                *w++ = *p++;
            }
            while (*p == ' ' || *p == '\t') p++;
            if (*p && *p != ',') return -1;
            char sepc = *p;
            *w = '\0';   /* w is before p: the closing quote lies between */
            if (!sepc) return n;
            p++;
        } else {
            f[n++] = p;
            char *c = strchr(p, ',');
            char *e = c ? c : p + strlen(p);
            while (e > p && (e[-1] == ' ' || e[-1] == '\t')) e--;
            if (!c) {
                *e = '\0';
                return n;
            }
            *e = '\0';
            p = c + 1;
        }
    }
}

static int parse_csv(const importer *im, const char *name, const char *text, size_t len,
                     uint64_t file_ns, meas_list *l, file_info *fi, char *err)
{
    char *copy = xstrndup(text, len), *next;
    int col[COL__MAX], seen_first = 0, lineno = 0, rc = -1, need = 2;
    double secs = 0;
    col[COL_TEST] = 0;
    col[COL_RPS] = 1;
    for (int k = COL_AVG; k < COL__MAX; k++) col[k] = -1;
    for (char *line = copy; line; line = next) {
        lineno++;
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        size_t ll = strlen(line);
        while (ll && (line[ll - 1] == '\r' || line[ll - 1] == ' ' || line[ll - 1] == '\t')) line[--ll] = '\0';
        if (!ll) continue;
        char *f[CSV_MAX_FIELDS];
        int nf = csv_split(line, f, CSV_MAX_FIELDS);
        if (nf == -1) {
            rb_err(err, "%s:%d: unterminated or misplaced quote", name, lineno);
            goto out;
        }
        if (nf == -2) {
            rb_err(err, "%s:%d: more than %d fields", name, lineno, CSV_MAX_FIELDS);
            goto out;
        }
        /* The header (redis-benchmark >= 6.2; several when runs were appended
         * to one file). Without one, the old two-column form "TEST","RPS". */
        if (!strcasecmp(f[0], "test")) {
            for (int k = 0; k < COL__MAX; k++) col[k] = -1;
            for (int i = 0; i < nf; i++)
                for (int k = 0; k < COL__MAX; k++)
                    if (!strcasecmp(f[i], csv_col_name[k]) && col[k] < 0) col[k] = i;
            if (col[COL_TEST] != 0 || col[COL_RPS] < 0) {
                rb_err(err, "%s:%d: header has no \"rps\" column", name, lineno);
                goto out;
            }
            need = 0;
            for (int k = 0; k < COL__MAX; k++)
                if (col[k] + 1 > need) need = col[k] + 1;
            seen_first = 1;
            continue;
        }
        if (nf < need) {
            rb_err(err, "%s:%d: %d field%s, expected %d (is this redis-benchmark --csv output?)",
                   name, lineno, nf, nf == 1 ? "" : "s", need);
            goto out;
        }
        seen_first = 1;
        meas *m = meas_add(l);
        import_name(f[col[COL_TEST]], m->name, sizeof m->name);
        if (!m->name[0]) {
            rb_err(err, "%s:%d: test: no name in '%s'", name, lineno, f[col[COL_TEST]]);
            goto out;
        }
        double v[COL__MAX] = {0};
        for (int k = COL_RPS; k < COL__MAX; k++) {
            if (col[k] < 0) continue;
            if (parse_number(f[col[k]], &v[k]) < 0 || v[k] < 0) {
                rb_err(err, "%s:%d: %s: '%s' is not a non-negative number", name, lineno,
                       csv_col_name[k], f[col[k]]);
                goto out;
            }
        }
        const import_params *p = &im->p;
        m->c = p->concurrency >= 0 ? p->concurrency : RB_DEF_CLIENTS;
        m->p = p->pipeline >= 0 ? p->pipeline : RB_DEF_PIPELINE;
        m->v = p->value_size >= 0 ? p->value_size : RB_DEF_VALUE;
        m->d = p->dataset_size >= 0 ? p->dataset_size : RB_DEF_KEYS;
        m->s.ops_per_sec = v[COL_RPS];
        if (p->requests > 0) {
            m->s.requests = (uint64_t)p->requests;
            if (v[COL_RPS] > 0) m->s.seconds = (double)p->requests / v[COL_RPS];
        }
        m->s.p50_us = ms_to_us(v[COL_P50]);
        m->s.p99_us = ms_to_us(v[COL_P99]);
        m->x.p95 = ms_to_us(v[COL_P95]);
        m->x.max = ms_to_us(v[COL_MAX]);
        m->x.mean = ms_to_us(v[COL_AVG]);
        secs += m->s.seconds;
    }
    if (!seen_first) {
        rb_err(err, "%s: empty file", name);
        goto out;
    }
    if (l->n == 0) {
        rb_err(err, "%s: no test rows after the header", name);
        goto out;
    }
    fi->end_ns = file_ns;
    fi->start_ns = file_ns - (uint64_t)fmin(secs * 1e9, (double)file_ns);
    rc = 0;
out:
    free(copy);
    return rc;
}

/* ---- memtier_benchmark --json-out-file ---- */

/* Reads o.key as a number: a JSON number or a string holding one (memtier
 * versions write both). 1 found, 0 absent or null, -1 present but not a
 * number. */
static int jnum(const cJSON *o, const char *key, double *v)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!it || cJSON_IsNull(it)) return 0;
    if (cJSON_IsNumber(it) && isfinite(it->valuedouble)) {
        *v = it->valuedouble;
        return 1;
    }
    if (cJSON_IsString(it) && parse_number(it->valuestring, v) == 0) return 1;
    return -1;
}

/* A configuration field: a whole number >= min, or def when absent. */
static int cfg_num(const cJSON *cfg, const char *name, const char *key, double def, double min,
                   double *out, char *err)
{
    *out = def;
    if (!cfg) return 0;
    int r = jnum(cfg, key, out);
    if (r == 0) *out = def;
    if (r < 0 || *out != floor(*out) || *out < min || *out > 1e15)
        return rb_err(err, "%s: configuration.%s: must be a whole number >= %g", name, key, min);
    return 0;
}

/* The percentile of a key such as "p99.90", "p50.00" or "99.000"; -1 if not one. */
static double pct_key(const char *k)
{
    double v;
    if (*k == 'p' || *k == 'P') k++;
    if (parse_number(k, &v) < 0 || v < 0 || v > 100) return -1;
    return v;
}

typedef struct pcts {
    double p50, p90, p95, p99, p999, max;
    int any;
} pcts;

static void pct_set(pcts *q, double pct, double us)
{
    if (fabs(pct - 50) < 1e-6) q->p50 = us;
    else if (fabs(pct - 90) < 1e-6) q->p90 = us;
    else if (fabs(pct - 95) < 1e-6) q->p95 = us;
    else if (fabs(pct - 99) < 1e-6) q->p99 = us;
    else if (fabs(pct - 99.9) < 1e-6) q->p999 = us;
    else if (fabs(pct - 100) < 1e-6) q->max = us;
    else return;
    q->any = 1;
}

/* memtier 1.x: the section holds, per type ("SET", "GET"), an array of
 * {"<=msec": X, "percent": cumulative %}. */
static void old_histogram(const cJSON *section, const char *block, pcts *q)
{
    char key[RB_NAME_LEN];
    size_t n = strlen(block);
    if (n < 2 || n >= sizeof key) return;
    for (size_t i = 0; i + 1 < n; i++) key[i] = (char)toupper((unsigned char)block[i]);
    key[n - 1] = '\0';   /* "Sets" -> "SET" */
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(section, key);
    if (!cJSON_IsArray(arr)) return;
    static const double want[] = {50, 90, 95, 99, 99.9};
    int got[5] = {0};
    const cJSON *e;
    double last = -1;
    cJSON_ArrayForEach(e, arr) {
        double ms, pc;
        if (jnum(e, "<=msec", &ms) != 1 || jnum(e, "percent", &pc) != 1) continue;
        for (int i = 0; i < 5; i++) {
            if (!got[i] && pc >= want[i] - 1e-9) {
                pct_set(q, want[i], ms_to_us(ms));
                got[i] = 1;
            }
        }
        last = ms;
    }
    if (last >= 0 && q->max == 0) {
        q->max = ms_to_us(last);
        q->any = 1;
    }
}

/* Memtier names a command's block by its plural ("Sets", "Gets", "Hsets"). */
static void block_name(const char *block, char *out, size_t len)
{
    char tmp[RB_NAME_LEN];
    snprintf(tmp, sizeof tmp, "%s", block);
    size_t n = strlen(tmp);
    if (!strcmp(block, "Totals")) {
        snprintf(out, len, "totals");
        return;
    }
    if (n > 1 && !strchr(tmp, ' ') && (tmp[n - 1] == 's' || tmp[n - 1] == 'S')) tmp[n - 1] = '\0';
    import_name(tmp, out, len);
}

/* The seconds a section ran: "Runtime"."Total duration" in its "Time unit". */
static double runtime_seconds(const cJSON *section, file_info *fi)
{
    const cJSON *rt = cJSON_GetObjectItemCaseSensitive(section, "Runtime");
    if (!cJSON_IsObject(rt)) return 0;
    double dur = 0, scale = 1e-3, start, finish;
    const cJSON *unit = cJSON_GetObjectItemCaseSensitive(rt, "Time unit");
    if (cJSON_IsString(unit)) {
        if (!strcasecmp(unit->valuestring, "MICROSECONDS")) scale = 1e-6;
        else if (!strcasecmp(unit->valuestring, "SECONDS")) scale = 1;
        else if (strcasecmp(unit->valuestring, "MILLISECONDS")) return 0;
    }
    /* Start/finish are ms since the epoch; an interrupted memtier can write
     * nonsense, so only plausible times (2000..2100) are believed. */
    if (scale == 1e-3 && jnum(rt, "Start time", &start) == 1 && jnum(rt, "Finish time", &finish) == 1 &&
        start >= 946684800000.0 && finish >= start && finish < 4102444800000.0) {
        uint64_t s = (uint64_t)start * 1000000ull, f = (uint64_t)finish * 1000000ull;
        if (!fi->start_ns || s < fi->start_ns) fi->start_ns = s;
        if (f > fi->end_ns) fi->end_ns = f;
    }
    if (jnum(rt, "Total duration", &dur) != 1 || dur <= 0) return 0;
    return dur * scale;
}

static int memtier_block(const char *name, const cJSON *section,
                         const char *sname, const cJSON *b, double secs, const meas *tmpl,
                         meas_list *l, char *err)
{
    double ops = 0, count = -1, v;
    int r = jnum(b, "Ops/sec", &ops);
    if (r < 0 || ops < 0)
        return rb_err(err, "%s: %s.%s.Ops/sec: must be a non-negative number", name, sname, b->string);
    r = jnum(b, "Count", &count);
    if (r < 0 || (r == 1 && (count < 0 || count != floor(count) || count > 9e15)))
        return rb_err(err, "%s: %s.%s.Count: must be a whole number >= 0", name, sname, b->string);
    if (r == 0) count = -1;
    /* A command the workload did not run ("Waits", "Gets" at ratio 1:0). */
    if (count == 0 || (count < 0 && ops == 0)) return 0;
    char op[RB_NAME_LEN];
    block_name(b->string, op, sizeof op);
    if (!op[0]) return 0;
    meas *m = meas_add(l);
    *m = *tmpl;
    snprintf(m->name, sizeof m->name, "%s", op);
    /* An interrupted memtier writes Ops/sec 0 beside a real Count. */
    if (ops == 0 && count > 0 && secs > 0) ops = count / secs;
    m->s.ops_per_sec = ops;
    if (count >= 0) {
        m->s.requests = (uint64_t)count;
        m->s.seconds = secs > 0 ? secs : (ops > 0 ? count / ops : 0);
    } else {
        m->s.seconds = secs;
        m->s.requests = secs > 0 ? (uint64_t)llround(ops * secs) : 0;
    }
    static const char *const mean_keys[] = {"Average Latency", "Latency"};
    for (int i = 0; i < 2; i++) {
        r = jnum(b, mean_keys[i], &v);
        if (r < 0 || (r == 1 && v < 0))
            return rb_err(err, "%s: %s.%s.%s: must be a non-negative number", name, sname, b->string,
                          mean_keys[i]);
        if (r == 1) {
            m->x.mean = ms_to_us(v);
            break;
        }
    }
    r = jnum(b, "Max Latency", &v);
    if (r < 0 || (r == 1 && v < 0))
        return rb_err(err, "%s: %s.%s.Max Latency: must be a non-negative number", name, sname, b->string);
    if (r == 1) m->x.max = ms_to_us(v);

    pcts q = {0};
    const cJSON *pl = cJSON_GetObjectItemCaseSensitive(b, "Percentile Latencies");
    if (pl && !cJSON_IsObject(pl))
        return rb_err(err, "%s: %s.%s.Percentile Latencies: must be an object", name, sname, b->string);
    const cJSON *e;
    cJSON_ArrayForEach(e, pl) {
        double pct = pct_key(e->string);
        if (pct < 0) continue;   /* "Histogram log format" and the like */
        r = jnum(pl, e->string, &v);
        if (r < 0 || (r == 1 && v < 0))
            return rb_err(err, "%s: %s.%s.Percentile Latencies.%s: must be a non-negative number", name,
                          sname, b->string, e->string);
        if (r == 1) pct_set(&q, pct, ms_to_us(v));
    }
    if (!pl) old_histogram(section, b->string, &q);
    m->s.p50_us = q.p50;
    m->s.p99_us = q.p99;
    m->x.p90 = q.p90;
    m->x.p95 = q.p95;
    m->x.p999 = q.p999;
    if (q.max > 0 && m->x.max == 0) m->x.max = q.max;
    return 0;
}

#define MAX_SECTIONS 1024

static int parse_memtier(const importer *im, const char *name, const char *text, size_t len,
                         uint64_t file_ns, meas_list *l, file_info *fi, char *err)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    /* Only blanks may follow the one JSON value. */
    while (root && end && end < text + len && isspace((unsigned char)*end)) end++;
    if (root && end && end < text + len && *end) {
        cJSON_Delete(root);
        root = NULL;
    }
    if (!root) {
        int line = 1;
        for (const char *p = text; end && p < end && p < text + len; p++) line += *p == '\n';
        return rb_err(err, "%s:%d: malformed JSON (is this memtier_benchmark --json-out-file output?)",
                      name, line);
    }
    int rc = -1;
    const cJSON *sections[MAX_SECTIONS];
    int ns = 0;
    double clients, threads, pipeline, dsize, kmin, kmax, info_secs = 0;
    meas tmpl;
    memset(&tmpl, 0, sizeof tmpl);
    if (!cJSON_IsObject(root)) {
        rb_err(err, "%s: not a JSON object (is this memtier_benchmark --json-out-file output?)", name);
        goto out;
    }
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(root, "configuration");
    if (cfg && !cJSON_IsObject(cfg)) {
        rb_err(err, "%s: configuration: must be an object", name);
        goto out;
    }
    if (cfg_num(cfg, name, "clients", MT_DEF_CLIENTS, 1, &clients, err) < 0 ||
        cfg_num(cfg, name, "threads", MT_DEF_THREADS, 1, &threads, err) < 0 ||
        cfg_num(cfg, name, "pipeline", MT_DEF_PIPELINE, 1, &pipeline, err) < 0 ||
        cfg_num(cfg, name, "data_size", MT_DEF_DATA_SIZE, 0, &dsize, err) < 0 ||
        cfg_num(cfg, name, "key_minimum", MT_DEF_KEY_MIN, 0, &kmin, err) < 0 ||
        cfg_num(cfg, name, "key_maximum", MT_DEF_KEY_MAX, 0, &kmax, err) < 0)
        goto out;
    if (kmax < kmin) {
        rb_err(err, "%s: configuration.key_maximum: smaller than key_minimum", name);
        goto out;
    }
    snprintf(tmpl.ratio, sizeof tmpl.ratio, "%s", MT_DEF_RATIO);
    if (cfg) {
        const cJSON *ratio = cJSON_GetObjectItemCaseSensitive(cfg, "ratio");
        if (ratio && !cJSON_IsNull(ratio)) {
            if (!cJSON_IsString(ratio) || strlen(ratio->valuestring) >= RB_NAME_LEN) {
                rb_err(err, "%s: configuration.ratio: must be a string such as \"1:10\"", name);
                goto out;
            }
            if (ratio->valuestring[0]) snprintf(tmpl.ratio, sizeof tmpl.ratio, "%s", ratio->valuestring);
        }
        const cJSON *server = cJSON_GetObjectItemCaseSensitive(cfg, "server");
        double port;
        if (cJSON_IsString(server) && server->valuestring[0] && jnum(cfg, "port", &port) == 1 &&
            port > 0 && port < 65536)
            snprintf(fi->address, sizeof fi->address, "%.50s:%d", server->valuestring, (int)port);
    }
    const import_params *p = &im->p;
    tmpl.c = p->concurrency >= 0 ? p->concurrency : (long)(clients * threads);
    tmpl.p = p->pipeline >= 0 ? p->pipeline : (long)pipeline;
    tmpl.v = p->value_size >= 0 ? p->value_size : (long)dsize;
    tmpl.d = p->dataset_size >= 0 ? p->dataset_size : (long)(kmax - kmin + 1);

    const cJSON *info = cJSON_GetObjectItemCaseSensitive(root, "run information");
    if (cJSON_IsObject(info)) {
        const cJSON *e;
        cJSON_ArrayForEach(e, info) {
            double v;
            /* "Actual benchmark duration (seconds)" (names vary by version) */
            if (strcasestr(e->string, "duration") && jnum(info, e->string, &v) == 1 && v > 0) {
                info_secs = v;
                break;
            }
        }
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(info, "Benchmark completion status");
        if (cJSON_IsString(st) && !strncasecmp(st->valuestring, "INTERRUPTED", 11)) tmpl.partial = 1;
    }
    const cJSON *done = cJSON_GetObjectItemCaseSensitive(root, "benchmark_completion");
    if (cJSON_IsObject(done) && cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(done, "full_run")))
        tmpl.partial = 1;
    fi->partial = tmpl.partial;

    /* With --run-count N --print-all-runs every "RUN #k RESULTS" is a
     * sample; else the one "ALL STATS" (or the averaged or best run). */
    const cJSON *e;
    cJSON_ArrayForEach(e, root) {
        if (!strncmp(e->string, "RUN #", 5) && cJSON_IsObject(e) && ns < MAX_SECTIONS) sections[ns++] = e;
    }
    if (ns == 0) {
        const cJSON *one = cJSON_GetObjectItemCaseSensitive(root, "ALL STATS");
        if (!one) {
            cJSON_ArrayForEach(e, root) {
                if (!strncmp(e->string, "AGGREGATED AVERAGE RESULTS", 26)) {
                    one = e;
                    break;
                }
            }
        }
        if (!one) one = cJSON_GetObjectItemCaseSensitive(root, "BEST RUN RESULTS");
        if (!one) {
            rb_err(err, "%s: no \"ALL STATS\" section (nor \"RUN #1 RESULTS\" or \"AGGREGATED AVERAGE "
                        "RESULTS\"): is this memtier_benchmark --json-out-file output?", name);
            goto out;
        }
        sections[ns++] = one;
    }
    for (int k = 0; k < ns; k++) {
        const cJSON *s = sections[k];
        if (!cJSON_IsObject(s)) {
            rb_err(err, "%s: %s: must be an object", name, s->string);
            goto out;
        }
        double secs = runtime_seconds(s, fi);
        if (ns == 1 && info_secs > 0) secs = info_secs;
        const cJSON *b;
        cJSON_ArrayForEach(b, s) {
            if (!cJSON_IsObject(b) || !cJSON_GetObjectItemCaseSensitive(b, "Ops/sec")) continue;
            if (memtier_block(name, s, s->string, b, secs, &tmpl, l, err) < 0) goto out;
        }
    }
    if (l->n == 0) {
        rb_err(err, "%s: no command with operations (blocks such as \"Sets\" with \"Ops/sec\")", name);
        goto out;
    }
    if (!fi->end_ns) {
        double secs = 0;
        for (size_t i = 0; i < l->n; i++) secs = fmax(secs, l->m[i].s.seconds);
        fi->end_ns = file_ns;
        fi->start_ns = file_ns - (uint64_t)fmin(secs * 1e9, (double)file_ns);
    }
    rc = 0;
out:
    cJSON_Delete(root);
    return rc;
}

int importer_add(importer *im, const char *name, const char *text, size_t len, uint64_t file_ns,
                 char *err)
{
    meas_list l = {0};
    file_info fi;
    memset(&fi, 0, sizeof fi);
    if (!file_ns) file_ns = wall_ns();
    int rc = im->fmt == IMPORT_MEMTIER ? parse_memtier(im, name, text, len, file_ns, &l, &fi, err)
                                       : parse_csv(im, name, text, len, file_ns, &l, &fi, err);
    if (rc == 0) merge(im, &l, &fi);
    free(l.m);
    return rc;
}

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The upper median of n values read with stride from base: the middle one,
 * or the higher of the two middle ones (a percentile is never averaged). */
static double upper_median(const void *base, size_t stride, size_t off, size_t n)
{
    if (n == 0) return 0;
    double *v = xmalloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) memcpy(&v[i], (const char *)base + i * stride + off, sizeof *v);
    qsort(v, n, sizeof *v, dbl_cmp);
    double m = v[n / 2];
    free(v);
    return m;
}

size_t importer_finish(importer *im, rb_run *run)
{
    size_t added = im->n;
    for (size_t i = 0; i < im->n; i++) {
        cell *c = &im->cells[i];
        rb_result *r = &c->res;
        size_t n = r->n_samples;
        double wsum = 0, msum = 0;
        int all_counted = 1;
        r->requests = 0;
        for (size_t k = 0; k < n; k++) {
            r->requests += r->samples[k].requests;
            all_counted &= r->samples[k].requests > 0;
            r->max_us = fmax(r->max_us, c->x[k].max);
        }
        for (size_t k = 0; k < n; k++) {
            double w = all_counted ? (double)r->samples[k].requests : 1;
            wsum += w;
            msum += w * c->x[k].mean;
        }
        r->mean_us = wsum > 0 ? msum / wsum : 0;
        r->p50_us = upper_median(r->samples, sizeof *r->samples, offsetof(rb_sample, p50_us), n);
        r->p99_us = upper_median(r->samples, sizeof *r->samples, offsetof(rb_sample, p99_us), n);
        r->p90_us = upper_median(c->x, sizeof *c->x, offsetof(extra, p90), n);
        r->p95_us = upper_median(c->x, sizeof *c->x, offsetof(extra, p95), n);
        r->p999_us = upper_median(c->x, sizeof *c->x, offsetof(extra, p999), n);
        r->latency = hist_new();
        result_summarize(r);   /* ops_per_sec; the empty histogram keeps the above */
        if (!r->status[0]) snprintf(r->status, sizeof r->status, "ok");
        if (!strcmp(r->status, "partial")) im->partial = 1;
        rb_result *dst = run_add_result(run);
        *dst = *r;   /* ownership of samples, params, latency moves to run */
        free(c->x);
    }
    free(im->cells);
    im->cells = NULL;
    im->n = 0;
    uint64_t now = wall_ns();
    uint64_t start = im->start_ns ? im->start_ns : now, end = im->end_ns ? im->end_ns : now;
    if (end < start) end = start;
    fmt_time_utc(start, run->started_at, sizeof run->started_at);
    fmt_time_utc(end, run->ended_at, sizeof run->ended_at);
    if (im->partial) snprintf(run->status, sizeof run->status, "partial");
    if (!run->target_address[0] && im->address[0])
        snprintf(run->target_address, sizeof run->target_address, "%s", im->address);
    return added;
}

/* ---- the subcommand ---- */

static const char IMPORT_USAGE[] =
    "usage: redbench import --format redis-benchmark|memtier FILE... [options]\n"
    "\n"
    "Turns other tools' results into a redbench run: prints a table, and writes\n"
    "the run as JSON and/or uploads it. Several FILEs are several iterations of\n"
    "the same cells: each file gives one sample per cell (a memtier file with\n"
    "\"RUN #N RESULTS\" sections gives one per section).\n"
    "\n"
    "  --format F             redis-benchmark: its --csv output (with or without the\n"
    "                         header line); memtier: memtier_benchmark --json-out-file\n"
    "cell parameters: redis-benchmark's CSV carries none, so give the values it ran\n"
    "with (else its defaults apply); for memtier they override its configuration:\n"
    "  --concurrency N        clients (redis-benchmark -c, default 50;\n"
    "                         memtier: clients x threads)\n"
    "  --pipeline N           requests per batch (redis-benchmark -P, default 1)\n"
    "  --value-size N         bytes (redis-benchmark -d, default 3; memtier: data_size)\n"
    "  --dataset-size N       keys (redis-benchmark -r, default 1: its single key;\n"
    "                         memtier: key_maximum - key_minimum + 1)\n"
    "  --requests N           redis-benchmark -n, requests per test: gives the samples'\n"
    "                         requests and seconds (else 0)\n"
    "recording (as for `redbench run`):\n"
    "  --project NAME         (default 'default')\n"
    "  --branch NAME          (default $REDBENCH_BRANCH, else 'main')\n"
    "  --commit SHA           (default $REDBENCH_COMMIT, else $GITHUB_SHA, else empty)\n"
    "  --mode MODE            single|client-server|multi-region|orchestrated|cluster (default single)\n"
    "  --client-region R, --server-region R, --preset P   (default local)\n"
    "  --target-kind K        (default redis)\n"
    "  --target-version V, --target-address HOST:PORT   (memtier: its server:port)\n"
    "  --run-id ID            default: derived from the imported content, so importing\n"
    "                         the same files again is answered as already present\n"
    "  --out FILE             write the run as JSON ('-': standard output)\n"
    "  --collector URL        upload to this collector\n"
    "  --token TOKEN          bearer token for the upload (default $REDBENCH_TOKEN)\n"
    "  --quiet                no messages on stderr but errors\n"
    "\n"
    "Every result carries the param source=redis-benchmark or source=memtier (memtier\n"
    "results also its ratio): params are part of the series key, so imported series\n"
    "never mix with redbench's own, which measure latency differently. Names: lower\n"
    "case, other characters as '_', \"LRANGE_100 (first 100 elements)\" -> lrange_100,\n"
    "\"MSET (10 keys)\" -> mset_10; memtier's \"Sets\"/\"Gets\" -> set/get, \"Totals\" ->\n"
    "totals. Latencies are read in ms and stored in µs; there is no histogram.\n"
    "\n"
    "exit status: 0 ok; 2 error (a file that cannot be read or parsed: the message\n"
    "names the file and the line or field); 3 upload failed and the run was saved\n"
    "to the spool (send it later with `redbench upload`).\n";

/* A run id from the content (FNV-1a forwards and backwards over the JSON
 * with an empty id): the same import gives the same id, so uploading it
 * again is idempotent. */
static void content_run_id(const rb_run *run, char *out)
{
    rb_run copy = *run;   /* shallow: only read */
    copy.id[0] = '\0';
    char *json = run_to_json(&copy, 0);
    size_t n = strlen(json);
    uint64_t a = 0xcbf29ce484222325ull, b = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        a = (a ^ (unsigned char)json[i]) * 0x100000001b3ull;
        b = (b ^ (unsigned char)json[n - 1 - i]) * 0x100000001b3ull;
    }
    free(json);
    snprintf(out, RB_NAME_LEN, "import-%016llx%016llx", (unsigned long long)a, (unsigned long long)b);
}

static void print_table(const rb_run *run, FILE *f)
{
    fprintf(f, "run %s  %s %s  imported by %s\n", run->id, run->branch,
            run->commit[0] ? run->commit : "-", run->runner_version);
    fprintf(f, "%-20s %5s %5s %7s %9s %7s %12s %9s %9s %9s\n", "OP", "CONN", "PIPE", "VALUE",
            "KEYS", "SAMPLES", "OPS/S", "P50 µs", "P99 µs", "MAX µs");
    for (size_t i = 0; i < run->n_results; i++) {
        const rb_result *r = &run->results[i];
        fprintf(f, "%-20s %5ld %5ld %7ld %9ld %7zu %12.0f %9.1f %9.1f %9.1f%s\n", r->op, r->concurrency,
                r->pipeline, r->value_size, r->dataset_size, r->n_samples, r->ops_per_sec, r->p50_us,
                r->p99_us, r->max_us, strcmp(r->status, "partial") ? "" : "  (partial)");
    }
}

int cmd_import(int argc, char **argv)
{
    enum { O_FORMAT = 1, O_CONC, O_PIPE, O_VSIZE, O_DSIZE, O_REQ, O_PROJECT, O_BRANCH, O_COMMIT,
           O_MODE, O_CREG, O_SREG, O_PRESET, O_KIND, O_TVER, O_TADDR, O_RUNID, O_OUT, O_COLL,
           O_TOKEN, O_QUIET, O_HELP };
    static const struct option opts[] = {
        {"format", 1, 0, O_FORMAT}, {"concurrency", 1, 0, O_CONC}, {"pipeline", 1, 0, O_PIPE},
        {"value-size", 1, 0, O_VSIZE}, {"dataset-size", 1, 0, O_DSIZE}, {"requests", 1, 0, O_REQ},
        {"project", 1, 0, O_PROJECT}, {"branch", 1, 0, O_BRANCH}, {"commit", 1, 0, O_COMMIT},
        {"mode", 1, 0, O_MODE}, {"client-region", 1, 0, O_CREG}, {"server-region", 1, 0, O_SREG},
        {"preset", 1, 0, O_PRESET}, {"target-kind", 1, 0, O_KIND}, {"target-version", 1, 0, O_TVER},
        {"target-address", 1, 0, O_TADDR}, {"run-id", 1, 0, O_RUNID}, {"out", 1, 0, O_OUT},
        {"collector", 1, 0, O_COLL}, {"token", 1, 0, O_TOKEN}, {"quiet", 0, 0, O_QUIET},
        {"help", 0, 0, O_HELP}, {0, 0, 0, 0}};

    const char *out_path = NULL, *collector = NULL, *token = getenv("REDBENCH_TOKEN");
    int fmt = -1, quiet = 0, id_given = 0, rc = EXIT_ERROR;
    char err[RB_ERR_LEN];
    char *json = NULL;
    importer *im = NULL;
    import_params p;
    import_params_init(&p);
    rb_run run;
    run_init_defaults(&run);
    snprintf(run.target_kind, sizeof run.target_kind, "redis");

    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int bad = 0;
        switch (o) {
        case O_FORMAT:
            if ((fmt = import_format_find(optarg)) < 0) {
                fprintf(stderr, "redbench import: --format: unknown format '%s' (redis-benchmark, memtier)\n",
                        optarg);
                bad = 1;
            }
            break;
        case O_CONC: bad = cli_long("import", "--concurrency", optarg, 1, 1000000000000L, &p.concurrency); break;
        case O_PIPE: bad = cli_long("import", "--pipeline", optarg, 1, 1000000000000L, &p.pipeline); break;
        case O_VSIZE: bad = cli_long("import", "--value-size", optarg, 0, 1000000000000L, &p.value_size); break;
        case O_DSIZE: bad = cli_long("import", "--dataset-size", optarg, 1, 1000000000000L, &p.dataset_size); break;
        case O_REQ: bad = cli_long("import", "--requests", optarg, 1, 1000000000000L, &p.requests); break;
        case O_PROJECT: bad = cli_name("import", "--project", run.project, RB_NAME_LEN, optarg); break;
        case O_BRANCH: bad = cli_name("import", "--branch", run.branch, RB_NAME_LEN, optarg); break;
        case O_COMMIT: bad = cli_name("import", "--commit", run.commit, RB_NAME_LEN, optarg); break;
        case O_MODE: bad = cli_name("import", "--mode", run.mode, RB_NAME_LEN, optarg); break;
        case O_CREG: bad = cli_name("import", "--client-region", run.client_region, RB_NAME_LEN, optarg); break;
        case O_SREG: bad = cli_name("import", "--server-region", run.server_region, RB_NAME_LEN, optarg); break;
        case O_PRESET: bad = cli_name("import", "--preset", run.target_preset, RB_NAME_LEN, optarg); break;
        case O_KIND: bad = cli_name("import", "--target-kind", run.target_kind, RB_NAME_LEN, optarg); break;
        case O_TVER: bad = cli_name("import", "--target-version", run.target_version, RB_NAME_LEN, optarg); break;
        case O_TADDR: bad = cli_name("import", "--target-address", run.target_address, RB_NAME_LEN, optarg); break;
        case O_RUNID:
            if (!run_id_valid(optarg)) {
                fprintf(stderr, "redbench import: --run-id: 1-63 letters, digits, '-' or '_'\n");
                bad = 1;
            } else {
                snprintf(run.id, sizeof run.id, "%s", optarg);
                id_given = 1;
            }
            break;
        case O_OUT: out_path = optarg; break;
        case O_COLL: collector = optarg; break;
        case O_TOKEN: token = optarg; break;
        case O_QUIET: quiet = 1; break;
        case 'h':
        case O_HELP: fputs(IMPORT_USAGE, stdout); rc = EXIT_OK; goto out;
        default: fputs(IMPORT_USAGE, stderr); goto out;
        }
        if (bad) goto out;
    }
    if (fmt < 0) {
        fprintf(stderr, "redbench import: --format is required (redis-benchmark or memtier)\n");
        goto out;
    }
    if (optind >= argc) {
        fprintf(stderr, "redbench import: no FILE given\n");
        goto out;
    }
    if (fmt == IMPORT_MEMTIER && p.requests >= 0) {
        fprintf(stderr, "redbench import: --requests is for redis-benchmark (memtier files give Count)\n");
        goto out;
    }
    int known = 0;
    for (int i = 0; rb_modes[i]; i++) known |= !strcmp(rb_modes[i], run.mode);
    if (!known) {
        fprintf(stderr, "redbench import: --mode: unknown mode '%s'\n", run.mode);
        goto out;
    }
    if (collector && (!token || !*token)) {
        fprintf(stderr, "redbench import: --collector needs a token (--token or REDBENCH_TOKEN)\n");
        goto out;
    }

    im = importer_new((enum import_format)fmt, &p);
    for (int i = optind; i < argc; i++) {
        size_t len;
        struct stat st;
        char *text = read_file(argv[i], 64u << 20, &len, err);
        if (!text) {
            fprintf(stderr, "redbench import: %s\n", err);
            goto out;
        }
        uint64_t mtime = stat(argv[i], &st) == 0
                             ? (uint64_t)st.st_mtim.tv_sec * 1000000000ull + (uint64_t)st.st_mtim.tv_nsec
                             : 0;
        int r = importer_add(im, argv[i], text, len, mtime, err);
        free(text);
        if (r < 0) {
            fprintf(stderr, "redbench import: %s\n", err);
            goto out;
        }
    }
    importer_finish(im, &run);
    snprintf(run.runner_version, sizeof run.runner_version, "import:%s", import_format_name[fmt]);
    gethostname(run.runner_host, sizeof run.runner_host - 1);
    if (!id_given) content_run_id(&run, run.id);

    json = run_to_json(&run, 1);
    size_t jlen = strlen(json);
    {
        /* What the collector will check, checked here first. */
        rb_run chk;
        int bad = run_from_json(json, jlen, &chk, err) < 0;
        run_cleanup(&chk);
        if (bad) {
            fprintf(stderr, "redbench import: the imported run is not valid: %s\n", err);
            goto out;
        }
    }
    int to_stdout = out_path && !strcmp(out_path, "-");
    print_table(&run, to_stdout ? stderr : stdout);
    fflush(stdout);
    rc = EXIT_OK;
    if (to_stdout) {
        fputs(json, stdout);
        fputc('\n', stdout);
        fflush(stdout);
    } else if (out_path) {
        if (write_file_atomic(out_path, json, jlen, err) < 0) {
            fprintf(stderr, "redbench import: --out: %s\n", err);
            rc = EXIT_ERROR;
        } else if (!quiet) {
            fprintf(stderr, "wrote %s\n", out_path);
        }
    }
    if (collector) {
        int urc = upload_or_spool("import", collector, token, run.id, json, jlen, 3,
                                  to_stdout ? stderr : stdout);
        if (urc != EXIT_OK) rc = urc;
    }
    if (!out_path && !collector && !quiet)
        fprintf(stderr, "redbench import: nothing written (use --out FILE and/or --collector URL)\n");
out:
    free(json);
    importer_free(im);
    run_cleanup(&run);
    return rc;
}
