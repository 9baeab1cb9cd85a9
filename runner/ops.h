/* ops.h -- the operation table: every measurable command with how it prepares
 * its data set, builds a request and checks the reply. The load engine
 * (engine.c) drives these; ops.c defines them. */
#ifndef RB_OPS_H
#define RB_OPS_H

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "model.h"
#include "util.h"

enum op_group { G_STRINGS, G_HASHES, G_LISTS, G_SETS, G_ZSETS, G_STREAMS, G_KEYS, G_MIXED, G__MAX };
extern const char *const op_group_name[G__MAX];   /* "strings", "hashes", ... */

enum key_dist { DIST_UNIFORM, DIST_ZIPF };

/* What an operation works with in one cell. Every key it touches starts with
 * prefix, so that a generic SCAN + DEL cleans the cell up. */
typedef struct op_env {
    char prefix[64];            /* "rb:<op>:" */
    long dataset_size;          /* keys, or members/fields/elements for single-key ops */
    long value_size;            /* bytes */
    const char *value;          /* value_size bytes of payload */
    uint64_t expected_requests; /* warm-up + measured requests, or an estimate when timed */
    double read_ratio;          /* mixed: share of reads, 0..1 (default 0.9) */
    enum key_dist dist;         /* how request keys are drawn */
    double zipf_theta;          /* for DIST_ZIPF (default 0.99) */
    struct zipf *zipf;          /* prepared by the engine for DIST_ZIPF; NULL otherwise */
} op_env;

/* A RESP request writer appending to the engine's output buffer. */
typedef struct resp_out {
    buf *b;
} resp_out;

/* Starts a command of argc arguments; then exactly argc resp_arg* calls. */
void resp_begin(resp_out *o, int argc);
void resp_arg(resp_out *o, const char *p, size_t n);
void resp_arg_str(resp_out *o, const char *s);
void resp_arg_long(resp_out *o, long long v);
/* The key prefix + idx ("rb:hset:42"). */
void resp_arg_key(resp_out *o, const op_env *e, long idx);
/* "<tag><idx>" e.g. a field or member name "f42". */
void resp_arg_tagged(resp_out *o, const char *tag, long idx);

/* A pseudo-random index in [0, n) from the per-connection generator. */
uint64_t op_rand(uint64_t *rng);
/* A key index in [0, e->dataset_size) under e->dist. */
long op_key_index(const op_env *e, uint64_t *rng);

/* Zipf sampling (Gray et al., "Quickly generating billion-record synthetic
 * databases"): O(n) set-up, O(1) per draw. */
struct zipf *zipf_new(long n, double theta);
void zipf_free(struct zipf *z);
long zipf_next(const struct zipf *z, uint64_t *rng);

/* Preparation and clean-up over one blocking connection: commands are
 * pipelined in batches and counted by name (lower case) into *cmds, the run's
 * command counts (replies received, errors included). */
#define PREP_BATCH 500
typedef struct prep prep;
prep *prep_new(redisContext *c, rb_kv **cmds, size_t *n_cmds);
/* Queues one command (hiredis printf-like format, e.g. "HSET %s%ld f%ld %b");
 * flushes automatically every PREP_BATCH commands. */
void prep_cmd(prep *p, const char *fmt, ...);
/* Queues one command from an argv. */
void prep_argv(prep *p, int argc, const char **argv, const size_t *lens);
/* Sends what is queued and reads every reply. 0, or -1 when the connection
 * failed or a reply was an error (the first error is kept: prep_error). */
int prep_flush(prep *p);
const char *prep_error(const prep *p);
/* 1 if the kept error says the server does not know the command. */
int prep_unsupported(const prep *p);
void prep_free(prep *p);

/* Deletes every key starting with e->prefix (SCAN MATCH + UNLINK, falling
 * back to DEL). 0 or -1 (see prep_error). */
int prep_cleanup(prep *p, const op_env *e);

struct op_def {
    const char *name;           /* unique, lower case, e.g. "lrange_100" */
    enum op_group group;
    const char *data_type;      /* "string", "hash", "list", "set", "zset", "stream", "any" */
    const char *commands;       /* what one request sends, lower case, space separated
                                 * ("get", "xreadgroup xack"): counted per request */
    /* Creates the data set the requests need (NULL: nothing). 0 or -1. */
    int (*prepare)(prep *p, const op_env *e);
    /* Appends one request: exactly the commands named in `commands`. */
    void (*request)(resp_out *o, const op_env *e, uint64_t *rng);
    /* 1 if reply k (0-based within the request) is a right answer. */
    int (*check)(const op_env *e, const redisReply *r, int k);
};

extern const struct op_def op_defs[];
extern const size_t op_count;

/* Looks an operation up by name (case-insensitive); NULL if unknown. */
const struct op_def *op_find_def(const char *name);

/* Expands "set,get", group names ("strings", "hashes", ...) and "all" into
 * out (at most max, no duplicates, table order kept within a group).
 * Returns the count, or -1 with err naming the unknown word. */
int op_select(const char *list, const struct op_def **out, int max, char *err);

/* Prints the table by group (`redbench run --list`). */
void op_list_print(FILE *f);

#endif
