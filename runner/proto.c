/* proto.c -- what operations are written with: RESP request encoding, key
 * choice (uniform, zipf), and pipelined preparation/clean-up with counting. */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ops.h"

/* ---- RESP ---- */

/* Writes v in decimal at p; returns the length. (snprintf is a measurable
 * share of the client's CPU on the request path.) */
static size_t u64_dec(char *p, uint64_t v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++) p[i] = tmp[n - 1 - i];
    return n;
}

static void put_len(buf *b, char tag, size_t n)
{
    char tmp[32];
    tmp[0] = tag;
    size_t l = 1 + u64_dec(tmp + 1, n);
    tmp[l++] = '\r';
    tmp[l++] = '\n';
    buf_append(b, tmp, l);
}

void resp_begin(resp_out *o, int argc)
{
    put_len(o->b, '*', (size_t)argc);
}

void resp_arg(resp_out *o, const char *p, size_t n)
{
    put_len(o->b, '$', n);
    buf_append(o->b, p, n);
    buf_append(o->b, "\r\n", 2);
}

void resp_arg_str(resp_out *o, const char *s)
{
    resp_arg(o, s, strlen(s));
}

void resp_arg_long(resp_out *o, long long v)
{
    char tmp[32];
    size_t l = 0;
    if (v < 0) {
        tmp[l++] = '-';
        l += u64_dec(tmp + l, (uint64_t)(-(v + 1)) + 1);
    } else {
        l = u64_dec(tmp, (uint64_t)v);
    }
    resp_arg(o, tmp, l);
}

/* tag (at most 63 bytes) followed by idx. */
static void arg_tagged(resp_out *o, const char *tag, long idx)
{
    char tmp[96];
    size_t l = strlen(tag);
    if (l > 63) l = 63;
    memcpy(tmp, tag, l);
    if (idx < 0) {
        tmp[l++] = '-';
        idx = -idx;
    }
    l += u64_dec(tmp + l, (uint64_t)idx);
    resp_arg(o, tmp, l);
}

void resp_arg_key(resp_out *o, const op_env *e, long idx)
{
    arg_tagged(o, e->prefix, idx);
}

void resp_arg_tagged(resp_out *o, const char *tag, long idx)
{
    arg_tagged(o, tag, idx);
}

/* ---- keys ---- */

uint64_t op_rand(uint64_t *s)
{
    /* xorshift64*: fast, good enough to pick keys, never returns the 0 state. */
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

struct zipf {
    long n;
    double theta, alpha, zetan, eta, half_pow;
};

struct zipf *zipf_new(long n, double theta)
{
    struct zipf *z = xcalloc(1, sizeof *z);
    z->n = n;
    z->theta = theta;
    double zeta2 = 1.0 + pow(0.5, theta);
    for (long i = 1; i <= n; i++) z->zetan += 1.0 / pow((double)i, theta);
    z->alpha = 1.0 / (1.0 - theta);
    z->eta = (1.0 - pow(2.0 / (double)n, 1.0 - theta)) / (1.0 - zeta2 / z->zetan);
    z->half_pow = 1.0 + pow(0.5, theta);
    return z;
}

void zipf_free(struct zipf *z)
{
    free(z);
}

long zipf_next(const struct zipf *z, uint64_t *rng)
{
    double u = (double)(op_rand(rng) >> 11) * (1.0 / 9007199254740992.0);
    double uz = u * z->zetan;
    if (uz < 1.0) return 0;
    if (uz < z->half_pow) return z->n > 1 ? 1 : 0;
    long v = (long)((double)z->n * pow(z->eta * u - z->eta + 1.0, z->alpha));
    return v >= z->n ? z->n - 1 : v;
}

long op_key_index(const op_env *e, uint64_t *rng)
{
    if (e->dist == DIST_ZIPF && e->zipf) return zipf_next(e->zipf, rng);
    return (long)(op_rand(rng) % (uint64_t)e->dataset_size);
}

/* ---- preparation ---- */

struct prep {
    redisContext *c;
    rb_kv **cmds;
    size_t *n_cmds;
    size_t pending;
    char **names;           /* command name of each pending command */
    size_t names_cap;
    int failed;
    char err[RB_ERR_LEN];
};

prep *prep_new(redisContext *c, rb_kv **cmds, size_t *n_cmds)
{
    prep *p = xcalloc(1, sizeof *p);
    p->c = c;
    p->cmds = cmds;
    p->n_cmds = n_cmds;
    return p;
}

void prep_free(prep *p)
{
    if (!p) return;
    for (size_t i = 0; i < p->pending; i++) free(p->names[i]);
    free(p->names);
    free(p);
}

static void remember(prep *p, const char *name, size_t len)
{
    if (p->pending == p->names_cap) {
        p->names_cap = p->names_cap ? p->names_cap * 2 : 64;
        p->names = xrealloc(p->names, p->names_cap * sizeof *p->names);
    }
    char *n = xstrndup(name, len);
    for (char *q = n; *q; q++) *q = (char)tolower((unsigned char)*q);
    p->names[p->pending++] = n;
}

void prep_cmd(prep *p, const char *fmt, ...)
{
    if (p->failed) return; /* stop queueing work after the first failure */
    va_list ap;
    va_start(ap, fmt);
    redisvAppendCommand(p->c, fmt, ap);
    va_end(ap);
    remember(p, fmt, strcspn(fmt, " "));
    if (p->pending >= PREP_BATCH) prep_flush(p);
}

void prep_argv(prep *p, int argc, const char **argv, const size_t *lens)
{
    if (p->failed || argc < 1) return;
    redisAppendCommandArgv(p->c, argc, argv, lens);
    remember(p, argv[0], lens[0]);
    if (p->pending >= PREP_BATCH) prep_flush(p);
}

int prep_flush(prep *p)
{
    int dead = 0;   /* the connection broke: later replies cannot come */
    for (size_t i = 0; i < p->pending; i++) {
        redisReply *r = NULL;
        if (!dead) {
            if (redisGetReply(p->c, (void **)&r) != REDIS_OK || !r) {
                dead = 1;
                if (!p->failed)
                    snprintf(p->err, sizeof p->err, "%s", p->c->errstr[0] ? p->c->errstr : "connection lost");
                p->failed = 1;
            } else {
                /* Every reply is read and counted, so the context stays in
                 * step; the first error reply is kept. */
                kv_add(p->cmds, p->n_cmds, p->names[i], 1);
                if (r->type == REDIS_REPLY_ERROR && !p->failed) {
                    p->failed = 1;
                    snprintf(p->err, sizeof p->err, "%s: %s", p->names[i], r->str);
                }
                freeReplyObject(r);
            }
        }
        free(p->names[i]);
    }
    p->pending = 0;
    return p->failed ? -1 : 0;
}

const char *prep_error(const prep *p)
{
    return p->err;
}

int prep_unsupported(const prep *p)
{
    return p->failed && (strstr(p->err, "unknown command") || strstr(p->err, "ERR unknown") ||
                         strstr(p->err, "not supported"));
}

int prep_cleanup(prep *p, const op_env *e)
{
    /* Clean-up is a new phase: an earlier failure (say an unknown command in
     * the preparation) must not stop it. */
    prep_flush(p);
    p->failed = 0;
    p->err[0] = '\0';
    char cursor[32] = "0";
    char pattern[80];
    snprintf(pattern, sizeof pattern, "%s*", e->prefix);
    /* Bounded: SCAN returns to cursor 0 after a full pass; 1e6 rounds of 1000
     * cover any data set a cell makes. */
    for (long round = 0; round < 1000000; round++) {
        redisReply *r = redisCommand(p->c, "SCAN %s MATCH %s COUNT 1000", cursor, pattern);
        if (!r) {
            snprintf(p->err, sizeof p->err, "cleanup: %s", p->c->errstr);
            return -1;
        }
        kv_add(p->cmds, p->n_cmds, "scan", 1);
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[1]->type != REDIS_REPLY_ARRAY) {
            snprintf(p->err, sizeof p->err, "cleanup: SCAN: %s",
                     r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
            freeReplyObject(r);
            return -1;
        }
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        redisReply *keys = r->element[1];
        if (keys->elements) {
            const char **argv = xmalloc((keys->elements + 1) * sizeof *argv);
            size_t *lens = xmalloc((keys->elements + 1) * sizeof *lens);
            argv[0] = "del";
            lens[0] = 3;
            for (size_t i = 0; i < keys->elements; i++) {
                argv[i + 1] = keys->element[i]->str;
                lens[i + 1] = keys->element[i]->len;
            }
            prep_argv(p, (int)keys->elements + 1, argv, lens);
            free(argv);
            free(lens);
        }
        freeReplyObject(r);
        if (prep_flush(p) < 0) return -1;
        if (strcmp(cursor, "0") == 0) return 0;
    }
    snprintf(p->err, sizeof p->err, "cleanup: SCAN did not finish");
    return -1;
}
