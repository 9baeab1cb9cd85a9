/* import.h -- turning other tools' results (redis-benchmark --csv output,
 * memtier_benchmark --json-out-file output) into redbench results, so that
 * existing measurements enter the warehouse (`redbench import`). */
#ifndef RB_IMPORT_H
#define RB_IMPORT_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

enum import_format { IMPORT_REDIS_BENCHMARK, IMPORT_MEMTIER, IMPORT__MAX };

/* "redis-benchmark", "memtier": the --format names, and the value of the
 * "source" param every imported result carries (part of its series key, so
 * imported series never mix with redbench's own). */
extern const char *const import_format_name[IMPORT__MAX];

/* The format named name, or -1. */
int import_format_find(const char *name);

/* Cell parameters from the command line; -1 means "not given". For
 * redis-benchmark (whose CSV carries none of them) a missing one takes
 * redis-benchmark's default (concurrency 50, pipeline 1, value size 3,
 * dataset size 1); for memtier a given one overrides its "configuration". */
typedef struct import_params {
    long concurrency, pipeline, value_size, dataset_size;
    long requests;   /* redis-benchmark -n: requests per test per file */
} import_params;

/* Sets every field of p to -1 ("not given"). */
void import_params_init(import_params *p);

/* Writes the redbench name of a tool's test or command name into out (len
 * bytes, at most RB_NAME_LEN): lower case, runs of other characters become
 * one '_', a parenthesized remark is dropped except for a number in it that
 * the name does not already end with: "LRANGE_100 (first 100 elements)" ->
 * "lrange_100", "MSET (10 keys)" -> "mset_10", "hset k f v" -> "hset_k_f_v".
 * Empty when test has no letter or digit. */
void import_name(const char *test, char *out, size_t len);

/* The data type a command works on ("string", "hash", "list", "set",
 * "zset", "stream"; "any" when unknown), from the first word of an
 * import_name() result. A static string. */
const char *import_data_type(const char *name);

/* An import in progress: the cells seen so far and their samples. */
typedef struct importer importer;

/* A new importer for files of format fmt with the command-line parameters p
 * (copied). The caller frees it with importer_free(). */
importer *importer_new(enum import_format fmt, const import_params *p);
void importer_free(importer *im);

/* Parses one file's content (text, len bytes; name names it in messages;
 * file_ns is its modification time in ns since the epoch, 0 if unknown) and
 * adds one sample per cell it measures (several for a memtier file holding
 * several "RUN #N RESULTS"). Returns 0, or -1 with err giving the file and
 * the line ("f.csv:3: rps: 'x' is not a number") or the field
 * ("m.json: configuration.clients: must be a number"); nothing of a file
 * that fails is kept. */
int importer_add(importer *im, const char *name, const char *text, size_t len,
                 uint64_t file_ns, char *err);

/* Number of cells (future results) so far. */
size_t importer_cells(const importer *im);

/* Appends one result per cell to run (ownership moves to run; the importer
 * is empty afterwards), each with its summary: latency_us from the sources
 * (p50/p90/p95/p99/p99.9: the upper median of the per-sample values, since
 * percentiles cannot be merged without histograms; max: the largest; mean:
 * weighted by requests) and an empty latency histogram. Also sets
 * run->started_at and ended_at (from memtier's run times, else the files'
 * modification times), run->status to "partial" if a source says it was
 * interrupted, and run->target_address from memtier's configuration if it
 * is empty. Returns the number of results appended. */
size_t importer_finish(importer *im, rb_run *run);

#endif
