/* store.h -- the SQLite warehouse: migrations, one writer connection, a pool of
 * readers, and ingestion of runs. */
#ifndef RB_STORE_H
#define RB_STORE_H

#include <sqlite3.h>
#include <stdint.h>

#include "model.h"

struct store_migration {
    int version;
    const char *name;
    const char *sql;
};
/* Generated from migrations/ at build time; terminated by version 0. */
extern const struct store_migration store_migrations[];

typedef struct store store;

/* Opens (creating if needed) the warehouse at path: WAL mode (checked),
 * foreign keys, busy timeout, synchronous=FULL on the writer; applies pending
 * migrations, each once, recorded in schema_migrations. Returns a store the
 * caller frees with store_close(), or NULL with err. */
store *store_open(const char *path, char *err);
void store_close(store *s);

/* The single writer connection, locked for the caller until
 * store_writer_unlock(). Never use it for long reads. */
sqlite3 *store_writer_lock(store *s);
void store_writer_unlock(store *s);

/* A number that grows each time the writer is unlocked, so after every write
 * this process made (cached answers compare it: collector/pagecache.h).
 * Writes by other processes do not move it. Thread-safe. */
uint64_t store_generation(store *s);

/* A reader connection from the pool (waits for a free one); give it back
 * with store_reader_release(). */
sqlite3 *store_reader(store *s);
void store_reader_release(store *s, sqlite3 *db);

/* Opens a plain read-only connection to an existing warehouse (CLI use);
 * NULL with err. Close with sqlite3_close(). */
sqlite3 *store_open_readonly(const char *path, char *err);

enum store_put {
    STORE_CREATED = 0,   /* new run written */
    STORE_SAME = 1,      /* a run with this id and the same document exists */
    STORE_CONFLICT = 2,  /* a run with this id but another document exists */
    STORE_ERROR = -1
};

/* Inserts run (whose canonical JSON is document) with its results and samples
 * through db, which must be inside a transaction the caller owns. The run's
 * row gets n_results and starts unanalysed (verdict_status 'pending',
 * analyzed_at NULL: migrations/0010_run_summary.sql); a result's histogram
 * is stored from latency_text when the run was decoded with
 * RUN_DECODE_HIST_TEXT, else encoded from latency. */
enum store_put store_insert_run(sqlite3 *db, const rb_run *run, const char *document, char *err);

/* Runs sql (no results expected) on db; 0 or -1 with err. */
int store_exec(sqlite3 *db, const char *sql, char *err);

/* Copies column i of stmt as text into a malloc'd string ("" for NULL). */
char *store_col_text(sqlite3_stmt *st, int i);

#endif
