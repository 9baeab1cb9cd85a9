/* ops.c -- the operation table: for every measurable command, the data set it
 * prepares, the request it sends and how its replies are checked.
 *
 * Data sets (N = dataset_size, V = value_size, K(i) = prefix + i):
 * - strings, keys and mixed work on N keys K(0..N-1) holding V-byte values;
 * - hashes, lists, sets, zsets and streams work on one key K(0) of N fields
 *   f<j> (V-byte values), elements (V bytes), members m<j> (zset score j) or
 *   entries (ids <j+1>-0, one field "f" of V bytes); sinter/sunion add K(1).
 * - Destructive operations get more data so that a cell does not run dry:
 *   pops (lpop, rpop, spop, zpopmin, XREADGROUP >) find N + E elements;
 *   random deletes (getdel, del, hdel, srem, zrem, XACK) draw uniformly from a pool
 *   of N + 4E keys/fields/members; E = expected_requests, both bounded
 *   (extra_items). When the data runs out anyway, the "already gone" reply
 *   (nil, 0, empty array) counts as right; any other reply stays an error.
 * - Writes that add (append, lpush, rpush, xadd) grow the data by one value
 *   per request, as a real workload would. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ops.h"

const char *const op_group_name[G__MAX] = {"strings", "hashes", "lists", "sets",
                                           "zsets",   "streams", "keys", "mixed"};

/* ---- sizes ---- */

/* Bounds on the extra data of destructive operations: preparation stays
 * within a few million commands and a few hundred MB of server memory. */
#define EXTRA_ITEMS_MAX 2000000L
#define EXTRA_BYTES_MAX (256L << 20)
#define MULTI 10            /* keys of mset/mget, fields of hmget */
#define TTL_S 864000        /* setex, expire, ttl: 10 days, longer than any cell */
#define POOL_FACTOR 4       /* random deletes: pool items per expected request */
#define INCR_STEP 7         /* incrby, hincrby: replies must stay multiples of it */

/* factor x expected_requests, within the bounds. */
static long extra_items(const op_env *e, long factor)
{
    long cap = EXTRA_BYTES_MAX / (e->value_size + 32);
    if (cap > EXTRA_ITEMS_MAX) cap = EXTRA_ITEMS_MAX;
    return e->expected_requests < (uint64_t)(cap / factor) ? (long)e->expected_requests * factor : cap;
}

/* Elements a pop finds: one per expected request beyond the N. */
static long pop_size(const op_env *e)
{
    return e->dataset_size + extra_items(e, 1);
}

/* Items a random delete draws from. With 4 per expected request, about 11%
 * of a full cell's deletes find their item gone already (1 - 4(1 - e^-1/4)). */
static long pool_size(const op_env *e)
{
    return e->dataset_size + extra_items(e, POOL_FACTOR);
}

/* Uniform over the pool: a zipf draw would hit the same few, already deleted. */
static long pool_pick(const op_env *e, uint64_t *rng)
{
    return (long)(op_rand(rng) % (uint64_t)pool_size(e));
}

static long min_long(long a, long b)
{
    return a < b ? a : b;
}

/* Start of a w-item window inside [0, N) holding min(w, N) items. */
static long window_start(const op_env *e, uint64_t *rng, long w)
{
    long n = e->dataset_size;
    return n <= w ? 0 : op_key_index(e, rng) % (n - w + 1);
}

/* ---- request writing ---- */

static void cmd(resp_out *o, int argc, const char *name)
{
    resp_begin(o, argc);
    resp_arg_str(o, name);
}

static void arg_value(resp_out *o, const op_env *e)
{
    resp_arg(o, e->value, (size_t)e->value_size);
}

/* ---- preparation ---- */

#define FILL_BATCH 100      /* items per preparation command */

enum fill_kind {
    FILL_STR_VALUE,     /* MSET K(j) value ... */
    FILL_STR_ZERO,      /* MSET K(j) 0 ... */
    FILL_HASH_VALUE,    /* HSET K f<j> value ... */
    FILL_HASH_ZERO,     /* HSET K f<j> 0 ... */
    FILL_LIST,          /* RPUSH K value ... */
    FILL_SET,           /* SADD K m<j> ... */
    FILL_ZSET,          /* ZADD K j m<j> ... */
};

/* Queues the commands creating items [from, to) of kind in key K(key)
 * (strings: keys K(from..to-1)), FILL_BATCH items per command. */
static void fill(prep *p, const op_env *e, enum fill_kind kind, long key, long from, long to)
{
    static const char *const name[] = {"MSET", "MSET", "HSET", "HSET", "RPUSH", "SADD", "ZADD"};
    const char *argv[2 + 2 * FILL_BATCH];
    size_t lens[2 + 2 * FILL_BATCH];
    char text[FILL_BATCH][2][96];   /* generated names and scores of one command */
    char keyname[96];
    int kl = snprintf(keyname, sizeof keyname, "%s%ld", e->prefix, key);
    int strings = kind == FILL_STR_VALUE || kind == FILL_STR_ZERO;

    for (long j = from; j < to;) {
        int argc = 0;
        argv[argc] = name[kind];
        lens[argc++] = strlen(name[kind]);
        if (!strings) {
            argv[argc] = keyname;
            lens[argc++] = (size_t)kl;
        }
        for (int b = 0; b < FILL_BATCH && j < to; b++, j++) {
            char *t0 = text[b][0], *t1 = text[b][1];
            switch (kind) {
            case FILL_STR_VALUE:
            case FILL_STR_ZERO:
                argv[argc] = t0;
                lens[argc++] = (size_t)snprintf(t0, 96, "%s%ld", e->prefix, j);
                break;
            case FILL_HASH_VALUE:
            case FILL_HASH_ZERO:
                argv[argc] = t0;
                lens[argc++] = (size_t)snprintf(t0, 96, "f%ld", j);
                break;
            case FILL_ZSET:
                argv[argc] = t0;
                lens[argc++] = (size_t)snprintf(t0, 96, "%ld", j);
                argv[argc] = t1;
                lens[argc++] = (size_t)snprintf(t1, 96, "m%ld", j);
                break;
            case FILL_SET:
                argv[argc] = t1;
                lens[argc++] = (size_t)snprintf(t1, 96, "m%ld", j);
                break;
            case FILL_LIST:
                break;
            }
            switch (kind) {
            case FILL_STR_VALUE:
            case FILL_HASH_VALUE:
            case FILL_LIST:
                argv[argc] = e->value;
                lens[argc++] = (size_t)e->value_size;
                break;
            case FILL_STR_ZERO:
            case FILL_HASH_ZERO:
                argv[argc] = "0";
                lens[argc++] = 1;
                break;
            case FILL_SET:
            case FILL_ZSET:
                break;
            }
        }
        prep_argv(p, argc, argv, lens);
    }
}

/* Stream entries with ids <from+1>-0 .. <to>-0 in K(0), field "f" = value. */
static void fill_stream(prep *p, const op_env *e, long from, long to)
{
    for (long j = from; j < to; j++)
        prep_cmd(p, "XADD %s0 %ld-0 f %b", e->prefix, j + 1, e->value, (size_t)e->value_size);
}

static int prep_strings(prep *p, const op_env *e)
{
    fill(p, e, FILL_STR_VALUE, 0, 0, e->dataset_size);
    return prep_flush(p);
}

static int prep_strings_pool(prep *p, const op_env *e)
{
    fill(p, e, FILL_STR_VALUE, 0, 0, pool_size(e));
    return prep_flush(p);
}

static int prep_counters(prep *p, const op_env *e)
{
    fill(p, e, FILL_STR_ZERO, 0, 0, e->dataset_size);
    return prep_flush(p);
}

static int prep_ttl(prep *p, const op_env *e)
{
    for (long i = 0; i < e->dataset_size; i++)
        prep_cmd(p, "SET %s%ld %b EX %d", e->prefix, i, e->value, (size_t)e->value_size, TTL_S);
    return prep_flush(p);
}

static int prep_hash(prep *p, const op_env *e)
{
    fill(p, e, FILL_HASH_VALUE, 0, 0, e->dataset_size);
    return prep_flush(p);
}

static int prep_hash_zero(prep *p, const op_env *e)
{
    fill(p, e, FILL_HASH_ZERO, 0, 0, e->dataset_size);
    return prep_flush(p);
}

static int prep_hash_pool(prep *p, const op_env *e)
{
    fill(p, e, FILL_HASH_VALUE, 0, 0, pool_size(e));
    return prep_flush(p);
}

static int prep_list(prep *p, const op_env *e)
{
    fill(p, e, FILL_LIST, 0, 0, e->dataset_size);
    return prep_flush(p);
}

static int prep_list_pop(prep *p, const op_env *e)
{
    fill(p, e, FILL_LIST, 0, 0, pop_size(e));
    return prep_flush(p);
}

static int prep_set(prep *p, const op_env *e)
{
    fill(p, e, FILL_SET, 0, 0, e->dataset_size);
    return prep_flush(p);
}

static int prep_set_pool(prep *p, const op_env *e)
{
    fill(p, e, FILL_SET, 0, 0, pool_size(e));
    return prep_flush(p);
}

static int prep_set_pop(prep *p, const op_env *e)
{
    fill(p, e, FILL_SET, 0, 0, pop_size(e));
    return prep_flush(p);
}

/* sinter, sunion: K(0) = m[0, N), K(1) = m[N/2, N/2 + N). */
static int prep_two_sets(prep *p, const op_env *e)
{
    long n = e->dataset_size, h = n / 2;
    fill(p, e, FILL_SET, 0, 0, n);
    fill(p, e, FILL_SET, 1, h, h + n);
    return prep_flush(p);
}

static int prep_zset(prep *p, const op_env *e)
{
    fill(p, e, FILL_ZSET, 0, 0, e->dataset_size);
    return prep_flush(p);
}

static int prep_zset_pool(prep *p, const op_env *e)
{
    fill(p, e, FILL_ZSET, 0, 0, pool_size(e));
    return prep_flush(p);
}

static int prep_zset_pop(prep *p, const op_env *e)
{
    fill(p, e, FILL_ZSET, 0, 0, pop_size(e));
    return prep_flush(p);
}

static int prep_stream(prep *p, const op_env *e)
{
    fill_stream(p, e, 0, e->dataset_size);
    return prep_flush(p);
}

/* xreadgroup_xack: group "rb" at 0 on a stream of P + E entries (P =
 * pool_size). The first P are delivered to consumer "c" here: the pending
 * entries the requests' XACK draw from, like a random delete. The E others
 * are what the requests' XREADGROUP > receive, like a pop. */
static int prep_stream_group(prep *p, const op_env *e)
{
    long pool = pool_size(e);
    fill_stream(p, e, 0, pool + extra_items(e, 1));
    prep_cmd(p, "XGROUP CREATE %s0 rb 0", e->prefix);
    if (prep_flush(p) < 0) return -1;
    /* Flushed every 10 reads (1000 entries) to keep replies in flight small. */
    for (long done = 0, k = 1; done < pool; done += 100, k++) {
        prep_cmd(p, "XREADGROUP GROUP rb c COUNT %ld STREAMS %s0 >", min_long(100, pool - done), e->prefix);
        if (k % 10 == 0 && prep_flush(p) < 0) return -1;
    }
    return prep_flush(p);
}

/* ---- reply checks ---- */

static int is_ok(const redisReply *r)
{
    return r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "OK") == 0;
}

static int is_nil(const redisReply *r)
{
    return r && r->type == REDIS_REPLY_NIL;
}

static int is_int(const redisReply *r, long long lo, long long hi)
{
    return r && r->type == REDIS_REPLY_INTEGER && r->integer >= lo && r->integer <= hi;
}

static int is_bulk_len(const redisReply *r, long len)
{
    return r && r->type == REDIS_REPLY_STRING && r->len == (size_t)len;
}

/* A bulk "<tag><decimal>", e.g. a member "m42". */
static int is_tagged(const redisReply *r, char tag)
{
    if (!r || r->type != REDIS_REPLY_STRING || r->len < 2 || r->str[0] != tag) return 0;
    for (size_t i = 1; i < r->len; i++)
        if (!isdigit((unsigned char)r->str[i])) return 0;
    return 1;
}

/* A bulk holding a finite number, as ZSCORE and ZINCRBY reply. */
static int is_number(const redisReply *r, double *out)
{
    if (!r || r->type != REDIS_REPLY_STRING || r->len == 0 || r->len > 64) return 0;
    char tmp[65], *end;
    memcpy(tmp, r->str, r->len);
    tmp[r->len] = '\0';
    double v = strtod(tmp, &end);
    if (*end || !isfinite(v)) return 0;
    if (out) *out = v;
    return 1;
}

/* A stream id "<ms>-<seq>". */
static int is_stream_id(const redisReply *r)
{
    if (!r || r->type != REDIS_REPLY_STRING) return 0;
    size_t i = 0, digits = 0;
    while (i < r->len && isdigit((unsigned char)r->str[i])) i++;
    if (i == 0 || i == r->len || r->str[i] != '-') return 0;
    for (i++; i < r->len; i++, digits++)
        if (!isdigit((unsigned char)r->str[i])) return 0;
    return digits > 0;
}

static int is_array(const redisReply *r, size_t n)
{
    return r && r->type == REDIS_REPLY_ARRAY && r->elements == n;
}

/* An array of n bulks of len bytes each. */
static int is_values(const redisReply *r, size_t n, long len)
{
    if (!is_array(r, n)) return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_bulk_len(r->element[i], len)) return 0;
    return 1;
}

/* An array of n bulks "<tag><decimal>". */
static int is_names(const redisReply *r, size_t n, char tag)
{
    if (!is_array(r, n)) return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_tagged(r->element[i], tag)) return 0;
    return 1;
}

/* A stream entry: [id, ["f", value]]. */
static int is_entry(const op_env *e, const redisReply *r)
{
    return is_array(r, 2) && is_stream_id(r->element[0]) && is_array(r->element[1], 2) &&
           is_bulk_len(r->element[1]->element[0], 1) && r->element[1]->element[0]->str[0] == 'f' &&
           is_bulk_len(r->element[1]->element[1], e->value_size);
}

static int is_entries(const op_env *e, const redisReply *r, size_t n)
{
    if (!is_array(r, n)) return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_entry(e, r->element[i])) return 0;
    return 1;
}

/* XREAD / XREADGROUP of one stream: [[K(0), entries]]. */
static int is_stream_read(const op_env *e, const redisReply *r, size_t n)
{
    if (!is_array(r, 1) || !is_array(r->element[0], 2)) return 0;
    const redisReply *key = r->element[0]->element[0];
    size_t pl = strlen(e->prefix);
    return key->type == REDIS_REPLY_STRING && key->len == pl + 1 &&
           memcmp(key->str, e->prefix, pl) == 0 && key->str[pl] == '0' &&
           is_entries(e, r->element[0]->element[1], n);
}

static size_t window_len(const op_env *e, long w)
{
    return (size_t)min_long(e->dataset_size, w);
}

/* Generic checks, by what the reply must be. */
static int chk_ok(const op_env *e, const redisReply *r, int k)
{
    (void)e, (void)k;
    return is_ok(r);
}

static int chk_value(const op_env *e, const redisReply *r, int k)
{
    (void)k;
    return is_bulk_len(r, e->value_size);
}

static int chk_value_or_gone(const op_env *e, const redisReply *r, int k)
{
    (void)k;
    return is_bulk_len(r, e->value_size) || is_nil(r);
}

static int chk_one(const op_env *e, const redisReply *r, int k)
{
    (void)e, (void)k;
    return is_int(r, 1, 1);
}

static int chk_zero_or_one(const op_env *e, const redisReply *r, int k)
{
    (void)e, (void)k;
    return is_int(r, 0, 1);
}

static int chk_count(const op_env *e, const redisReply *r, int k)
{
    (void)k;
    return is_int(r, e->dataset_size, e->dataset_size);
}

static int chk_positive(const op_env *e, const redisReply *r, int k)
{
    (void)e, (void)k;
    return is_int(r, 1, INT64_MAX);
}

static int chk_step(const op_env *e, const redisReply *r, int k)
{
    (void)e, (void)k;
    return is_int(r, INCR_STEP, INT64_MAX) && r->integer % INCR_STEP == 0;
}

/* ---- strings ---- */

static int req_set(resp_out *o, const op_env *e, uint64_t *rng)
{
    cmd(o, 3, "SET");
    resp_arg_key(o, e, op_key_index(e, rng));
    arg_value(o, e);
    return 0;
}

static int req_get(resp_out *o, const op_env *e, uint64_t *rng)
{
    cmd(o, 2, "GET");
    resp_arg_key(o, e, op_key_index(e, rng));
    return 0;
}

static int req_mset(resp_out *o, const op_env *e, uint64_t *rng)
{
    cmd(o, 1 + 2 * MULTI, "MSET");
    for (int i = 0; i < MULTI; i++) {
        resp_arg_key(o, e, op_key_index(e, rng));
        arg_value(o, e);
    }
    return 0;
}

static int req_mget(resp_out *o, const op_env *e, uint64_t *rng)
{
    cmd(o, 1 + MULTI, "MGET");
    for (int i = 0; i < MULTI; i++) resp_arg_key(o, e, op_key_index(e, rng));
    return 0;
}

static int chk_mget(const op_env *e, const redisReply *r, int k)
{
    (void)k;
    return is_values(r, MULTI, e->value_size);
}

static int req_incr(resp_out *o, const op_env *e, uint64_t *rng)
{
    cmd(o, 2, "INCR");
    resp_arg_key(o, e, op_key_index(e, rng));
    return 0;
}

static int req_incrby(resp_out *o, const op_env *e, uint64_t *rng)
{
    cmd(o, 3, "INCRBY");
    resp_arg_key(o, e, op_key_index(e, rng));
    resp_arg_long(o, INCR_STEP);
    return 0;
}

static int req_append(resp_out *o, const op_env *e, uint64_t *rng)
{
    cmd(o, 3, "APPEND");
    resp_arg_key(o, e, op_key_index(e, rng));
    arg_value(o, e);
    return 0;
}

/* The new length: the prepared value plus at least this append, in whole values. */
static int chk_append(const op_env *e, const redisReply *r, int k)
{
    (void)k;
    long v = e->value_size;
    return is_int(r, 2 * v, INT64_MAX) && (v == 0 || r->integer % v == 0);
}

/* getrange reads the first half (rounded up) of the value. */
static long getrange_len(const op_env *e)
{
    return (e->value_size + 1) / 2;
}

static int req_getrange(resp_out *o, const op_env *e, uint64_t *rng)
{
    cmd(o, 4, "GETRANGE");
    resp_arg_key(o, e, op_key_index(e, rng));
    resp_arg_long(o, 0);
    resp_arg_long(o, getrange_len(e) - 1);
    return 0;
}

static int chk_getrange(const op_env *e, const redisReply *r, int k)
{
    (void)k;
    return is_bulk_len(r, getrange_len(e));
}

/* setrange overwrites the second half of the value: the length stays V. */
static int req_setrange(resp_out *o, const op_env *e, uint64_t *rng)
{
    long off = e->value_size / 2;
    cmd(o, 4, "SETRANGE");
    resp_arg_key(o, e, op_key_index(e, rng));
    resp_arg_long(o, off);
    resp_arg(o, e->value, (size_t)(e->value_size - off));
    return 0;
}

static int chk_value_size(const op_env *e, const redisReply *r, int k)
{
    (void)k;
    return is_int(r, e->value_size, e->value_size);
}

static int req_strlen(resp_out *o, const op_env *e, uint64_t *rng)
{
    cmd(o, 2, "STRLEN");
    resp_arg_key(o, e, op_key_index(e, rng));
    return 0;
}

static int req_setex(resp_out *o, const op_env *e, uint64_t *rng)
{
    cmd(o, 4, "SETEX");
    resp_arg_key(o, e, op_key_index(e, rng));
    resp_arg_long(o, TTL_S);
    arg_value(o, e);
    return 0;
}

static int req_getdel(resp_out *o, const op_env *e, uint64_t *rng)
{
    cmd(o, 2, "GETDEL");
    resp_arg_key(o, e, pool_pick(e, rng));
    return 0;
}

/* ---- hashes: one hash K(0) of fields f<j> ---- */

static int req_hset(resp_out *o, const op_env *e, uint64_t *rng)
{
    cmd(o, 4, "HSET");
    resp_arg_key(o, e, 0);
    resp_arg_tagged(o, "f", op_key_index(e, rng));
    arg_value(o, e);
    return 0;
}

static int req_hget(resp_out *o, const op_env *e, uint64_t *rng)
{
    cmd(o, 3, "HGET");
    resp_arg_key(o, e, 0);
    resp_arg_tagged(o, "f", op_key_index(e, rng));
    return 0;
}

static int req_hmget(resp_out *o, const op_env *e, uint64_t *rng)
{
    cmd(o, 2 + MULTI, "HMGET");
    resp_arg_key(o, e, 0);
    for (int i = 0; i < MULTI; i++) resp_arg_tagged(o, "f", op_key_index(e, rng));
    return 0;
}

static int req_hgetall(resp_out *o, const op_env *e, uint64_t *rng)
{
    (void)rng;
    cmd(o, 2, "HGETALL");
    resp_arg_key(o, e, 0);
    return 0;
}

/* N (field, value) pairs. */
static int chk_hgetall(const op_env *e, const redisReply *r, int k)
{
    (void)k;
    if (!is_array(r, 2 * (size_t)e->dataset_size)) return 0;
    for (size_t i = 0; i < r->elements; i += 2)
        if (!is_tagged(r->element[i], 'f') || !is_bulk_len(r->element[i + 1], e->value_size)) return 0;
    return 1;
}

static int req_hincrby(resp_out *o, const op_env *e, uint64_t *rng)
{
    cmd(o, 4, "HINCRBY");
    resp_arg_key(o, e, 0);
    resp_arg_tagged(o, "f", op_key_index(e, rng));
    resp_arg_long(o, INCR_STEP);
    return 0;
}

static int req_hdel(resp_out *o, const op_env *e, uint64_t *rng)
{
    cmd(o, 3, "HDEL");
    resp_arg_key(o, e, 0);
    resp_arg_tagged(o, "f", pool_pick(e, rng));
    return 0;
}

static int req_hlen(resp_out *o, const op_env *e, uint64_t *rng)
{
    (void)rng;
    cmd(o, 2, "HLEN");
    resp_arg_key(o, e, 0);
    return 0;
}

static int req_hexists(resp_out *o, const op_env *e, uint64_t *rng)
{
    cmd(o, 3, "HEXISTS");
    resp_arg_key(o, e, 0);
    resp_arg_tagged(o, "f", op_key_index(e, rng));
    return 0;
}

/* ---- lists: one list K(0) of N elements ---- */

static int req_lpush(resp_out *o, const op_env *e, uint64_t *rng)
{
    (void)rng;
    cmd(o, 3, "LPUSH");
    resp_arg_key(o, e, 0);
    arg_value(o, e);
    return 0;
}

static int req_rpush(resp_out *o, const op_env *e, uint64_t *rng)
{
    (void)rng;
    cmd(o, 3, "RPUSH");
    resp_arg_key(o, e, 0);
    arg_value(o, e);
    return 0;
}

static int req_lpop(resp_out *o, const op_env *e, uint64_t *rng)
{
    (void)rng;
    cmd(o, 2, "LPOP");
    resp_arg_key(o, e, 0);
    return 0;
}

static int req_rpop(resp_out *o, const op_env *e, uint64_t *rng)
{
    (void)rng;
    cmd(o, 2, "RPOP");
    resp_arg_key(o, e, 0);
    return 0;
}

static void lrange(resp_out *o, const op_env *e, long n)
{
    cmd(o, 4, "LRANGE");
    resp_arg_key(o, e, 0);
    resp_arg_long(o, 0);
    resp_arg_long(o, n - 1);
}

static int req_lrange_10(resp_out *o, const op_env *e, uint64_t *rng)
{
    (void)rng;
    lrange(o, e, 10);
    return 0;
}

static int req_lrange_100(resp_out *o, const op_env *e, uint64_t *rng)
{
    (void)rng;
    lrange(o, e, 100);
    return 0;
}

static int chk_lrange_10(const op_env *e, const redisReply *r, int k)
{
    (void)k;
    return is_values(r, window_len(e, 10), e->value_size);
}

static int chk_lrange_100(const op_env *e, const redisReply *r, int k)
{
    (void)k;
    return is_values(r, window_len(e, 100), e->value_size);
}

static int req_lindex(resp_out *o, const op_env *e, uint64_t *rng)
{
    cmd(o, 3, "LINDEX");
    resp_arg_key(o, e, 0);
    resp_arg_long(o, op_key_index(e, rng));
    return 0;
}

static int req_llen(resp_out *o, const op_env *e, uint64_t *rng)
{
    (void)rng;
    cmd(o, 2, "LLEN");
    resp_arg_key(o, e, 0);
    return 0;
}

static int req_lset(resp_out *o, const op_env *e, uint64_t *rng)
{
    cmd(o, 4, "LSET");
    resp_arg_key(o, e, 0);
    resp_arg_long(o, op_key_index(e, rng));
    arg_value(o, e);
    return 0;
}

/* ---- sets: one set K(0) of members m<j> ---- */

static int req_sadd(resp_out *o, const op_env *e, uint64_t *rng)
{
    cmd(o, 3, "SADD");
    resp_arg_key(o, e, 0);
    resp_arg_tagged(o, "m", op_key_index(e, rng));
    return 0;
}

static int req_srem(resp_out *o, const op_env *e, uint64_t *rng)
{
    cmd(o, 3, "SREM");
    resp_arg_key(o, e, 0);
    resp_arg_tagged(o, "m", pool_pick(e, rng));
    return 0;
}

static int req_smembers(resp_out *o, const op_env *e, uint64_t *rng)
{
    (void)rng;
    cmd(o, 2, "SMEMBERS");
    resp_arg_key(o, e, 0);
    return 0;
}

static int chk_smembers(const op_env *e, const redisReply *r, int k)
{
    (void)k;
    return is_names(r, (size_t)e->dataset_size, 'm');
}

static int req_sismember(resp_out *o, const op_env *e, uint64_t *rng)
{
    cmd(o, 3, "SISMEMBER");
    resp_arg_key(o, e, 0);
    resp_arg_tagged(o, "m", op_key_index(e, rng));
    return 0;
}

static int req_scard(resp_out *o, const op_env *e, uint64_t *rng)
{
    (void)rng;
    cmd(o, 2, "SCARD");
    resp_arg_key(o, e, 0);
    return 0;
}

static void two_sets(resp_out *o, const op_env *e, const char *name)
{
    cmd(o, 3, name);
    resp_arg_key(o, e, 0);
    resp_arg_key(o, e, 1);
}

static int req_sinter(resp_out *o, const op_env *e, uint64_t *rng)
{
    (void)rng;
    two_sets(o, e, "SINTER");
    return 0;
}

static int req_sunion(resp_out *o, const op_env *e, uint64_t *rng)
{
    (void)rng;
    two_sets(o, e, "SUNION");
    return 0;
}

/* m[0, N) and m[N/2, N/2 + N) share N - N/2 members and span N + N/2. */
static int chk_sinter(const op_env *e, const redisReply *r, int k)
{
    (void)k;
    return is_names(r, (size_t)(e->dataset_size - e->dataset_size / 2), 'm');
}

static int chk_sunion(const op_env *e, const redisReply *r, int k)
{
    (void)k;
    return is_names(r, (size_t)(e->dataset_size + e->dataset_size / 2), 'm');
}

static int req_spop(resp_out *o, const op_env *e, uint64_t *rng)
{
    (void)rng;
    cmd(o, 2, "SPOP");
    resp_arg_key(o, e, 0);
    return 0;
}

static int chk_spop(const op_env *e, const redisReply *r, int k)
{
    (void)e, (void)k;
    return is_tagged(r, 'm') || is_nil(r);
}

/* ---- sorted sets: one zset K(0), member m<j> with score j ---- */

static int req_zadd(resp_out *o, const op_env *e, uint64_t *rng)
{
    long j = op_key_index(e, rng);
    cmd(o, 4, "ZADD");
    resp_arg_key(o, e, 0);
    resp_arg_long(o, j);
    resp_arg_tagged(o, "m", j);
    return 0;
}

static int req_zscore(resp_out *o, const op_env *e, uint64_t *rng)
{
    cmd(o, 3, "ZSCORE");
    resp_arg_key(o, e, 0);
    resp_arg_tagged(o, "m", op_key_index(e, rng));
    return 0;
}

/* Scores are the members' indexes: whole numbers in [0, N). */
static int chk_zscore(const op_env *e, const redisReply *r, int k)
{
    (void)k;
    double v;
    return is_number(r, &v) && v >= 0 && v < (double)e->dataset_size && v == floor(v);
}

static int req_zrange(resp_out *o, const op_env *e, uint64_t *rng)
{
    long s = window_start(e, rng, 10);
    cmd(o, 4, "ZRANGE");
    resp_arg_key(o, e, 0);
    resp_arg_long(o, s);
    resp_arg_long(o, s + 9);
    return 0;
}

static int req_zrangebyscore(resp_out *o, const op_env *e, uint64_t *rng)
{
    long s = window_start(e, rng, 10);
    cmd(o, 4, "ZRANGEBYSCORE");
    resp_arg_key(o, e, 0);
    resp_arg_long(o, s);
    resp_arg_long(o, s + 9);
    return 0;
}

static int chk_zrange(const op_env *e, const redisReply *r, int k)
{
    (void)k;
    return is_names(r, window_len(e, 10), 'm');
}

static int req_zrank(resp_out *o, const op_env *e, uint64_t *rng)
{
    cmd(o, 3, "ZRANK");
    resp_arg_key(o, e, 0);
    resp_arg_tagged(o, "m", op_key_index(e, rng));
    return 0;
}

static int chk_zrank(const op_env *e, const redisReply *r, int k)
{
    (void)k;
    return is_int(r, 0, e->dataset_size - 1);
}

static int req_zincrby(resp_out *o, const op_env *e, uint64_t *rng)
{
    cmd(o, 4, "ZINCRBY");
    resp_arg_key(o, e, 0);
    resp_arg_long(o, 1);
    resp_arg_tagged(o, "m", op_key_index(e, rng));
    return 0;
}

/* The new score: its start j >= 0 plus at least one increment of 1. */
static int chk_zincrby(const op_env *e, const redisReply *r, int k)
{
    (void)e, (void)k;
    double v;
    return is_number(r, &v) && v >= 1;
}

static int req_zrem(resp_out *o, const op_env *e, uint64_t *rng)
{
    cmd(o, 3, "ZREM");
    resp_arg_key(o, e, 0);
    resp_arg_tagged(o, "m", pool_pick(e, rng));
    return 0;
}

static int req_zcard(resp_out *o, const op_env *e, uint64_t *rng)
{
    (void)rng;
    cmd(o, 2, "ZCARD");
    resp_arg_key(o, e, 0);
    return 0;
}

static int req_zpopmin(resp_out *o, const op_env *e, uint64_t *rng)
{
    (void)rng;
    cmd(o, 2, "ZPOPMIN");
    resp_arg_key(o, e, 0);
    return 0;
}

/* [member, score], or [] once the zset is empty. */
static int chk_zpopmin(const op_env *e, const redisReply *r, int k)
{
    (void)e, (void)k;
    return is_array(r, 0) || (is_array(r, 2) && is_tagged(r->element[0], 'm') && is_number(r->element[1], NULL));
}

/* ---- streams: one stream K(0), entries <j+1>-0 ---- */

static void xadd(resp_out *o, const op_env *e)
{
    cmd(o, 5, "XADD");
    resp_arg_key(o, e, 0);
    resp_arg_str(o, "*");
    resp_arg_str(o, "f");
    arg_value(o, e);
}

static int req_xadd(resp_out *o, const op_env *e, uint64_t *rng)
{
    (void)rng;
    xadd(o, e);
    return 0;
}

static int chk_xadd(const op_env *e, const redisReply *r, int k)
{
    (void)e, (void)k;
    return is_stream_id(r);
}

/* Ten entries from a random one: ids (s+1)-0 .. (s+10)-0. */
static int req_xrange(resp_out *o, const op_env *e, uint64_t *rng)
{
    char id[32];
    snprintf(id, sizeof id, "%ld-0", window_start(e, rng, 10) + 1);
    cmd(o, 6, "XRANGE");
    resp_arg_key(o, e, 0);
    resp_arg_str(o, id);
    resp_arg_str(o, "+");
    resp_arg_str(o, "COUNT");
    resp_arg_long(o, 10);
    return 0;
}

static int chk_xrange(const op_env *e, const redisReply *r, int k)
{
    (void)k;
    return is_entries(e, r, window_len(e, 10));
}

/* XREAD returns the entries after the given id: (s+1)-0 .. (s+10)-0. */
static int req_xread(resp_out *o, const op_env *e, uint64_t *rng)
{
    char id[32];
    snprintf(id, sizeof id, "%ld-0", window_start(e, rng, 10));
    cmd(o, 6, "XREAD");
    resp_arg_str(o, "COUNT");
    resp_arg_long(o, 10);
    resp_arg_str(o, "STREAMS");
    resp_arg_key(o, e, 0);
    resp_arg_str(o, id);
    return 0;
}

static int chk_xread(const op_env *e, const redisReply *r, int k)
{
    (void)k;
    return is_stream_read(e, r, window_len(e, 10));
}

static int req_xlen(resp_out *o, const op_env *e, uint64_t *rng)
{
    (void)rng;
    cmd(o, 2, "XLEN");
    resp_arg_key(o, e, 0);
    return 0;
}

/* A request cannot acknowledge the entry its own XREADGROUP receives (it is
 * written before that reply arrives), so XACK takes a random one of the
 * entries delivered at preparation: each request still delivers one new
 * entry and acknowledges one, as a consumer does. */
static int req_xreadgroup_xack(resp_out *o, const op_env *e, uint64_t *rng)
{
    char id[32];
    snprintf(id, sizeof id, "%ld-0", pool_pick(e, rng) + 1);
    cmd(o, 9, "XREADGROUP");
    resp_arg_str(o, "GROUP");
    resp_arg_str(o, "rb");
    resp_arg_str(o, "c");
    resp_arg_str(o, "COUNT");
    resp_arg_long(o, 1);
    resp_arg_str(o, "STREAMS");
    resp_arg_key(o, e, 0);
    resp_arg_str(o, ">");
    cmd(o, 4, "XACK");
    resp_arg_key(o, e, 0);
    resp_arg_str(o, "rb");
    resp_arg_str(o, id);
    return 0;
}

/* XREADGROUP: one new entry, or nil once they ran out; XACK: 1, or 0 when
 * that entry was acknowledged already. */
static int chk_xreadgroup_xack(const op_env *e, const redisReply *r, int k)
{
    return k == 0 ? is_stream_read(e, r, 1) || is_nil(r) : is_int(r, 0, 1);
}

/* A capped stream: each request adds an entry and trims the stream back to
 * N, so every XTRIM has an entry to remove and the data never runs out
 * (with several connections one XTRIM may remove two entries, another none). */
static int req_xtrim(resp_out *o, const op_env *e, uint64_t *rng)
{
    (void)rng;
    xadd(o, e);
    cmd(o, 4, "XTRIM");
    resp_arg_key(o, e, 0);
    resp_arg_str(o, "MAXLEN");
    resp_arg_long(o, e->dataset_size);
    return 0;
}

static int chk_xtrim(const op_env *e, const redisReply *r, int k)
{
    (void)e;
    return k == 0 ? is_stream_id(r) : is_int(r, 0, INT64_MAX);
}

/* ---- key space: N string keys ---- */

static int req_del(resp_out *o, const op_env *e, uint64_t *rng)
{
    cmd(o, 2, "DEL");
    resp_arg_key(o, e, pool_pick(e, rng));
    return 0;
}

static int req_exists(resp_out *o, const op_env *e, uint64_t *rng)
{
    cmd(o, 2, "EXISTS");
    resp_arg_key(o, e, op_key_index(e, rng));
    return 0;
}

static int req_expire(resp_out *o, const op_env *e, uint64_t *rng)
{
    cmd(o, 3, "EXPIRE");
    resp_arg_key(o, e, op_key_index(e, rng));
    resp_arg_long(o, TTL_S);
    return 0;
}

static int req_ttl(resp_out *o, const op_env *e, uint64_t *rng)
{
    cmd(o, 2, "TTL");
    resp_arg_key(o, e, op_key_index(e, rng));
    return 0;
}

static int chk_ttl(const op_env *e, const redisReply *r, int k)
{
    (void)e, (void)k;
    return is_int(r, 0, TTL_S);
}

/* ---- mixed: GET with probability read_ratio, else SET ---- */

static int req_mixed(resp_out *o, const op_env *e, uint64_t *rng)
{
    double u = (double)(op_rand(rng) >> 11) * (1.0 / 9007199254740992.0);
    if (u < e->read_ratio) {
        req_get(o, e, rng);
        return 0;
    }
    req_set(o, e, rng);
    return 1;
}

static int chk_mixed(const op_env *e, const redisReply *r, int k)
{
    return k == 0 ? is_bulk_len(r, e->value_size) : is_ok(r);
}

/* ---- the table ---- */

#define OP_(n, g, t, c, one, pr, rq, ck) \
    {.name = n, .group = g, .data_type = t, .commands = c, .one_of = one, \
     .prepare = pr, .request = rq, .check = ck}
#define OP(n, g, t, c, pr, rq, ck) OP_(n, g, t, c, 0, pr, rq, ck)
/* A request sends one of the commands (see op_def.one_of). */
#define OP_ONE_OF(n, g, t, c, pr, rq, ck) OP_(n, g, t, c, 1, pr, rq, ck)

const struct op_def op_defs[] = {
    OP("set", G_STRINGS, "string", "set", NULL, req_set, chk_ok),
    OP("get", G_STRINGS, "string", "get", prep_strings, req_get, chk_value),
    OP("mset", G_STRINGS, "string", "mset", NULL, req_mset, chk_ok),
    OP("mget", G_STRINGS, "string", "mget", prep_strings, req_mget, chk_mget),
    OP("incr", G_STRINGS, "string", "incr", prep_counters, req_incr, chk_positive),
    OP("incrby", G_STRINGS, "string", "incrby", prep_counters, req_incrby, chk_step),
    OP("append", G_STRINGS, "string", "append", prep_strings, req_append, chk_append),
    OP("getrange", G_STRINGS, "string", "getrange", prep_strings, req_getrange, chk_getrange),
    OP("setrange", G_STRINGS, "string", "setrange", prep_strings, req_setrange, chk_value_size),
    OP("strlen", G_STRINGS, "string", "strlen", prep_strings, req_strlen, chk_value_size),
    OP("setex", G_STRINGS, "string", "setex", NULL, req_setex, chk_ok),
    OP("getdel", G_STRINGS, "string", "getdel", prep_strings_pool, req_getdel, chk_value_or_gone),

    OP("hset", G_HASHES, "hash", "hset", NULL, req_hset, chk_zero_or_one),
    OP("hget", G_HASHES, "hash", "hget", prep_hash, req_hget, chk_value),
    OP("hmget", G_HASHES, "hash", "hmget", prep_hash, req_hmget, chk_mget),
    OP("hgetall", G_HASHES, "hash", "hgetall", prep_hash, req_hgetall, chk_hgetall),
    OP("hincrby", G_HASHES, "hash", "hincrby", prep_hash_zero, req_hincrby, chk_step),
    OP("hdel", G_HASHES, "hash", "hdel", prep_hash_pool, req_hdel, chk_zero_or_one),
    OP("hlen", G_HASHES, "hash", "hlen", prep_hash, req_hlen, chk_count),
    OP("hexists", G_HASHES, "hash", "hexists", prep_hash, req_hexists, chk_one),

    OP("lpush", G_LISTS, "list", "lpush", NULL, req_lpush, chk_positive),
    OP("rpush", G_LISTS, "list", "rpush", NULL, req_rpush, chk_positive),
    OP("lpop", G_LISTS, "list", "lpop", prep_list_pop, req_lpop, chk_value_or_gone),
    OP("rpop", G_LISTS, "list", "rpop", prep_list_pop, req_rpop, chk_value_or_gone),
    OP("lrange_10", G_LISTS, "list", "lrange", prep_list, req_lrange_10, chk_lrange_10),
    OP("lrange_100", G_LISTS, "list", "lrange", prep_list, req_lrange_100, chk_lrange_100),
    OP("lindex", G_LISTS, "list", "lindex", prep_list, req_lindex, chk_value),
    OP("llen", G_LISTS, "list", "llen", prep_list, req_llen, chk_count),
    OP("lset", G_LISTS, "list", "lset", prep_list, req_lset, chk_ok),

    OP("sadd", G_SETS, "set", "sadd", NULL, req_sadd, chk_zero_or_one),
    OP("srem", G_SETS, "set", "srem", prep_set_pool, req_srem, chk_zero_or_one),
    OP("smembers", G_SETS, "set", "smembers", prep_set, req_smembers, chk_smembers),
    OP("sismember", G_SETS, "set", "sismember", prep_set, req_sismember, chk_one),
    OP("scard", G_SETS, "set", "scard", prep_set, req_scard, chk_count),
    OP("sinter", G_SETS, "set", "sinter", prep_two_sets, req_sinter, chk_sinter),
    OP("sunion", G_SETS, "set", "sunion", prep_two_sets, req_sunion, chk_sunion),
    OP("spop", G_SETS, "set", "spop", prep_set_pop, req_spop, chk_spop),

    OP("zadd", G_ZSETS, "zset", "zadd", NULL, req_zadd, chk_zero_or_one),
    OP("zscore", G_ZSETS, "zset", "zscore", prep_zset, req_zscore, chk_zscore),
    OP("zrange", G_ZSETS, "zset", "zrange", prep_zset, req_zrange, chk_zrange),
    OP("zrangebyscore", G_ZSETS, "zset", "zrangebyscore", prep_zset, req_zrangebyscore, chk_zrange),
    OP("zrank", G_ZSETS, "zset", "zrank", prep_zset, req_zrank, chk_zrank),
    OP("zincrby", G_ZSETS, "zset", "zincrby", prep_zset, req_zincrby, chk_zincrby),
    OP("zrem", G_ZSETS, "zset", "zrem", prep_zset_pool, req_zrem, chk_zero_or_one),
    OP("zcard", G_ZSETS, "zset", "zcard", prep_zset, req_zcard, chk_count),
    OP("zpopmin", G_ZSETS, "zset", "zpopmin", prep_zset_pop, req_zpopmin, chk_zpopmin),

    OP("xadd", G_STREAMS, "stream", "xadd", NULL, req_xadd, chk_xadd),
    OP("xrange", G_STREAMS, "stream", "xrange", prep_stream, req_xrange, chk_xrange),
    OP("xread", G_STREAMS, "stream", "xread", prep_stream, req_xread, chk_xread),
    OP("xlen", G_STREAMS, "stream", "xlen", prep_stream, req_xlen, chk_count),
    OP("xreadgroup_xack", G_STREAMS, "stream", "xreadgroup xack", prep_stream_group,
       req_xreadgroup_xack, chk_xreadgroup_xack),
    OP("xtrim", G_STREAMS, "stream", "xadd xtrim", prep_stream, req_xtrim, chk_xtrim),

    OP("del", G_KEYS, "any", "del", prep_strings_pool, req_del, chk_zero_or_one),
    OP("exists", G_KEYS, "any", "exists", prep_strings, req_exists, chk_one),
    OP("expire", G_KEYS, "any", "expire", prep_strings, req_expire, chk_one),
    OP("ttl", G_KEYS, "any", "ttl", prep_ttl, req_ttl, chk_ttl),

    OP_ONE_OF("mixed", G_MIXED, "string", "get set", prep_strings, req_mixed, chk_mixed),
};

const size_t op_count = sizeof op_defs / sizeof op_defs[0];

/* ---- look-up ---- */

int op_command_names(const struct op_def *d, char names[OP_MAX_COMMANDS][OP_COMMAND_LEN])
{
    int n = 0;
    for (const char *s = d->commands; *s && n < OP_MAX_COMMANDS;) {
        size_t l = strcspn(s, " ");
        if (l) snprintf(names[n++], OP_COMMAND_LEN, "%.*s", (int)l, s);
        s += l;
        s += strspn(s, " ");
    }
    return n;
}

int op_replies(const struct op_def *d)
{
    char names[OP_MAX_COMMANDS][OP_COMMAND_LEN];
    return d->one_of ? 1 : op_command_names(d, names);
}

const struct op_def *op_find_def(const char *name)
{
    for (size_t i = 0; i < op_count; i++)
        if (strcasecmp(op_defs[i].name, name) == 0) return &op_defs[i];
    return NULL;
}

/* Appends d to out unless present; -1 if out is full. */
static int select_add(const struct op_def *d, const struct op_def **out, int *n, int max)
{
    for (int i = 0; i < *n; i++)
        if (out[i] == d) return 0;
    if (*n >= max) return -1;
    out[(*n)++] = d;
    return 0;
}

int op_select(const char *list, const struct op_def **out, int max, char *err)
{
    int n = 0, rc = -1;
    char *copy = xstrdup(list ? list : ""), *save = NULL;
    for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
        while (isspace((unsigned char)*w)) w++;
        size_t l = strlen(w);
        while (l && isspace((unsigned char)w[l - 1])) w[--l] = '\0';
        if (!l) continue;

        const struct op_def *d = op_find_def(w);
        int group = -1;
        for (int g = 0; g < G__MAX && !d; g++)
            if (strcasecmp(w, op_group_name[g]) == 0) group = g;
        if (!d && group < 0 && strcasecmp(w, "all") != 0) {
            rb_err(err, "unknown operation or group '%.64s' (see redbench run --list)", w);
            goto out;
        }
        for (size_t i = 0; i < op_count; i++) {
            const struct op_def *o = &op_defs[i];
            if (d ? o != d : group >= 0 && o->group != (enum op_group)group) continue;
            if (select_add(o, out, &n, max) < 0) {
                rb_err(err, "too many operations selected (at most %d)", max);
                goto out;
            }
        }
    }
    if (n == 0) {
        rb_err(err, "no operation selected (see redbench run --list)");
        goto out;
    }
    rc = n;
out:
    free(copy);
    return rc;
}

void op_list_print(FILE *f)
{
    int w = (int)strlen("operation");
    for (size_t i = 0; i < op_count; i++)
        if ((int)strlen(op_defs[i].name) > w) w = (int)strlen(op_defs[i].name);
    fprintf(f, "%-8s  %-*s  %s\n", "group", w, "operation", "sends per request");
    for (int g = 0; g < G__MAX; g++) {
        int first = 1;
        for (size_t i = 0; i < op_count; i++) {
            const struct op_def *d = &op_defs[i];
            if (d->group != (enum op_group)g) continue;
            fprintf(f, "%-8s  %-*s  ", first ? op_group_name[g] : "", w, d->name);
            first = 0;
            char names[OP_MAX_COMMANDS][OP_COMMAND_LEN];
            int n = op_command_names(d, names);
            for (int k = 0; k < n; k++)
                fprintf(f, "%s%s", k ? (d->one_of ? " or " : " + ") : "", names[k]);
            fputc('\n', f);
        }
    }
}
