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
    long dataset_size;          /* >= 1: keys, or members/fields/elements for single-key ops */
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

/* Deletes every key starting with e->prefix (SCAN MATCH + DEL), after
 * reading what is still queued; an earlier error is forgotten first. 0 or -1
 * (see prep_error). */
int prep_cleanup(prep *p, const op_env *e);

/* An operation. A request sends either every command of `commands` in order
 * (one_of = 0) or exactly one of them, chosen per request (one_of = 1: mixed
 * sends GET or SET). Either way the engine knows from the table alone how many
 * replies a request gets and which command names to count.
 *
 * The engine must pass the same op_env to prepare, every request and check of
 * a cell: destructive operations size their data from expected_requests
 * (see ops.c) and their requests draw from that same range. */
struct op_def {
    const char *name;           /* unique, lower case, e.g. "lrange_100" */
    enum op_group group;
    const char *data_type;      /* "string", "hash", "list", "set", "zset", "stream", "any" */
    const char *commands;       /* command names, lower case, space separated
                                 * ("get", "xreadgroup xack"); at most OP_MAX_COMMANDS */
    int one_of;                 /* 0: a request sends all of `commands`, in order;
                                 * 1: a request sends one of them (request says which) */
    /* Creates the data set the requests need (NULL: nothing). 0 or -1. */
    int (*prepare)(prep *p, const op_env *e);
    /* Appends one request. Returns the index within `commands` of the command
     * it sent when one_of (count that name once), else 0 (count each name once). */
    int (*request)(resp_out *o, const op_env *e, uint64_t *rng);
    /* 1 if r is a right answer to command k, k being the command's 0-based
     * index within `commands`: the reply's position in the request, or, when
     * one_of, what request returned. */
    int (*check)(const op_env *e, const redisReply *r, int k);
};

#define OP_MAX_COMMANDS 4
#define OP_COMMAND_LEN 32

/* Splits d->commands into names (NUL-terminated, lower case); returns how
 * many (1..OP_MAX_COMMANDS). Index i of names is index i of check's k. */
int op_command_names(const struct op_def *d, char names[OP_MAX_COMMANDS][OP_COMMAND_LEN]);

/* Replies one request of d gets: 1 when one_of, else the number of commands. */
int op_replies(const struct op_def *d);

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
