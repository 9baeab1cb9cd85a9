/* cmd_backup.c -- `redbench backup PATH`: a consistent copy of the warehouse
 * through SQLite's online backup API, safe while the collector writes (WAL),
 * written to PATH.tmp and renamed into place. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "store.h"
#include "util.h"

static const char BACKUP_USAGE[] =
    "usage: redbench backup PATH [--db DB]\n"
    "\n"
    "Copies the warehouse DB (default ./redbench.db) to PATH with SQLite's online\n"
    "backup API: one consistent snapshot, taken through a read-only connection, so\n"
    "it is safe while `redbench serve` runs. The copy is a self-contained file\n"
    "(rollback journal, no -wal), checked with PRAGMA quick_check, written to\n"
    "PATH.tmp and renamed over PATH only when complete. Restore: stop the\n"
    "collector, copy the backup over the warehouse file, delete its -wal and -shm\n"
    "files, start the collector (docs/operations.md).\n"
    "\n"
    "exit status: 0 ok, 2 error.\n";

/* fsync(2) of path (a file or a directory); 0 or -1 with err. */
static int sync_path(const char *path, char *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return rb_err(err, "open %s: %s", path, strerror(errno));
    int rc = fsync(fd);
    close(fd);
    if (rc < 0) return rb_err(err, "fsync %s: %s", path, strerror(errno));
    return 0;
}

/* Copies src into the new file tmp; 0, or -1 with err. Sets *pages. */
static int copy_db(sqlite3 *src, const char *tmp, int *pages, char *err)
{
    sqlite3 *dst = NULL;
    int rc = -1;
    if (sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        rb_err(err, "open %s: %s", tmp, dst ? sqlite3_errmsg(dst) : "out of memory");
        goto out;
    }
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
    if (!b) {
        rb_err(err, "backup: %s", sqlite3_errmsg(dst));
        goto out;
    }
    /* All pages in one step: one read transaction, so one snapshot. In WAL mode
     * the collector keeps writing meanwhile (readers do not block the writer). */
    int s = sqlite3_backup_step(b, -1);
    *pages = sqlite3_backup_pagecount(b);
    sqlite3_backup_finish(b);
    if (s != SQLITE_DONE) {
        rb_err(err, "backup: %s", sqlite3_errstr(s));
        goto out;
    }
    /* The source header says WAL; a backup file should stand alone. */
    char e2[RB_ERR_LEN];
    sqlite3_stmt *st = NULL;
    if (store_exec(dst, "PRAGMA journal_mode=DELETE", e2) < 0) {
        rb_err(err, "%s: %s", tmp, e2);
        goto out;
    }
    if (sqlite3_prepare_v2(dst, "PRAGMA quick_check", -1, &st, NULL) != SQLITE_OK) {
        rb_err(err, "%s: %s", tmp, sqlite3_errmsg(dst));
        goto out;
    }
    int ok = sqlite3_step(st) == SQLITE_ROW && !strcmp((const char *)sqlite3_column_text(st, 0), "ok");
    if (!ok) rb_err(err, "%s: quick_check failed: %s", tmp, (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    rc = ok ? 0 : -1;
out:
    if (dst && sqlite3_close(dst) != SQLITE_OK && rc == 0) rc = rb_err(err, "close %s", tmp);
    return rc;
}

int cmd_backup(int argc, char **argv)
{
    static const struct option opts[] = {{"db", 1, 0, 'd'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    const char *dbpath = "./redbench.db", *path = NULL;
    char err[RB_ERR_LEN], tmp[4096];
    int o, rc = EXIT_ERROR, pages = 0;
    sqlite3 *src = NULL;
    optind = 1;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'd': dbpath = optarg; break;
        case 'h': fputs(BACKUP_USAGE, stdout); return EXIT_OK;
        default: fputs(BACKUP_USAGE, stderr); return EXIT_ERROR;
        }
    }
    if (optind != argc - 1) {
        fputs(BACKUP_USAGE, stderr);
        return EXIT_ERROR;
    }
    path = argv[optind];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp) {
        fprintf(stderr, "redbench backup: path too long\n");
        return EXIT_ERROR;
    }
    if (!(src = store_open_readonly(dbpath, err))) {
        fprintf(stderr, "redbench backup: %s\n", err);
        return EXIT_ERROR;
    }
    /* Refuse to back a file up onto itself (or its temp name). */
    char *rs = realpath(dbpath, NULL), *rp = realpath(path, NULL);
    int same = rs && rp && !strcmp(rs, rp);
    free(rs);
    free(rp);
    if (same) {
        fprintf(stderr, "redbench backup: %s is the warehouse itself\n", path);
        goto out;
    }
    if (unlink(tmp) < 0 && errno != ENOENT) {
        fprintf(stderr, "redbench backup: remove %s: %s\n", tmp, strerror(errno));
        goto out;
    }
    if (copy_db(src, tmp, &pages, err) < 0 || sync_path(tmp, err) < 0) {
        fprintf(stderr, "redbench backup: %s\n", err);
        unlink(tmp);
        goto out;
    }
    if (rename(tmp, path) < 0) {
        fprintf(stderr, "redbench backup: rename %s to %s: %s\n", tmp, path, strerror(errno));
        unlink(tmp);
        goto out;
    }
    char *dcopy = xstrdup(path);
    int ds = sync_path(dirname(dcopy), err);
    free(dcopy);
    if (ds < 0) {
        fprintf(stderr, "redbench backup: %s\n", err);
        goto out;
    }
    long long page_size = 0;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(src, "PRAGMA page_size", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) page_size = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    printf("redbench backup: %s -> %s (%d pages, %lld bytes)\n", dbpath, path, pages,
           (long long)pages * page_size);
    rc = EXIT_OK;
out:
    sqlite3_close(src);
    return rc;
}
