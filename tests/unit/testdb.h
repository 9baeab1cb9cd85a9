/* testdb.h -- warehouses in temporary files for unit tests (include after
 * testhelp.h, store.h and util.h). */
#ifndef RB_TESTDB_H
#define RB_TESTDB_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Opens a migrated warehouse at a fresh name made from path (a mkstemp
 * template, rewritten); NULL (and a message) on failure. */
static inline store *open_tmp(char *path)
{
    char err[RB_ERR_LEN];
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    unlink(path);
    store *st = store_open(path, err);
    if (!st) fprintf(stderr, "  store_open: %s\n", err);
    return st;
}

/* Removes the warehouse file and its -wal and -shm. */
static inline void rm_db(const char *path)
{
    char p[300];
    unlink(path);
    snprintf(p, sizeof p, "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", path);
    unlink(p);
}

#endif
