/* cmd_token.c -- `redbench token create|list|revoke`: API tokens with roles in
 * the warehouse (run it where the collector's database lives). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "commands.h"
#include "store.h"
#include "util.h"

static const char TOKEN_USAGE[] =
    "usage: redbench token create --role read|ingest|query|admin [--name NAME] [--db PATH]\n"
    "       redbench token list [--db PATH]\n"
    "       redbench token revoke ID [--db PATH]\n"
    "\n"
    "Tokens are stored as SHA-256 hashes; `create` prints the new token once.\n"
    "Roles: read (pages and GET API when the collector is not --public-read),\n"
    "ingest (upload runs, run worker tasks), query (the SQL endpoint), admin (all).\n"
    "--db defaults to ./redbench.db and must exist. The command writes through its own\n"
    "connection: prefer a moment when the collector is idle (SQLite 3.40.1 caveat,\n"
    "docs/warehouse.md). exit status: 0 ok, 2 error.\n";

int cmd_token(int argc, char **argv)
{
    static const struct option opts[] = {{"role", 1, 0, 'r'}, {"name", 1, 0, 'n'},
                                         {"db", 1, 0, 'd'},   {"help", 0, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *db = "./redbench.db", *name = "", *role_s = NULL;
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'r': role_s = optarg; break;
        case 'n': name = optarg; break;
        case 'd': db = optarg; break;
        case 'h': fputs(TOKEN_USAGE, stdout); return EXIT_OK;
        default: fputs(TOKEN_USAGE, stderr); return EXIT_ERROR;
        }
    }
    if (optind >= argc) {
        fputs(TOKEN_USAGE, stderr);
        return EXIT_ERROR;
    }
    const char *verb = argv[optind];
    char err[RB_ERR_LEN];
    /* A mistyped path must not quietly create an empty warehouse. */
    if (access(db, F_OK) != 0) {
        fprintf(stderr, "redbench token: %s does not exist (create it with redbench migrate --db %s)\n", db, db);
        return EXIT_ERROR;
    }
    store *st = store_open(db, err);
    if (!st) {
        fprintf(stderr, "redbench token: %s\n", err);
        return EXIT_ERROR;
    }
    int rc = EXIT_ERROR;
    sqlite3 *w = store_writer_lock(st);
    if (!strcmp(verb, "create")) {
        int role = role_s ? role_find(role_s) : -1;
        if (role < 0) {
            fprintf(stderr, "redbench token: --role: want read, ingest, query or admin\n");
            goto out;
        }
        char tok[96];
        long long id;
        if (auth_token_create(w, (enum role)role, name, tok, &id, err) < 0) {
            fprintf(stderr, "redbench token: %s\n", err);
            goto out;
        }
        printf("%s\n", tok);
        fprintf(stderr, "token %lld (%s, role %s) created; it is shown only now\n", id, name, role_name[role]);
        rc = EXIT_OK;
    } else if (!strcmp(verb, "list")) {
        sqlite3_stmt *q;
        if (sqlite3_prepare_v2(w, "SELECT id, name, role, created_at, coalesce(revoked_at, '') "
                                  "FROM tokens ORDER BY id", -1, &q, NULL) != SQLITE_OK) {
            fprintf(stderr, "redbench token: %s\n", sqlite3_errmsg(w));
            goto out;
        }
        printf("%-5s %-20s %-7s %-25s %s\n", "ID", "NAME", "ROLE", "CREATED", "REVOKED");
        while (sqlite3_step(q) == SQLITE_ROW)
            printf("%-5lld %-20s %-7s %-25s %s\n", sqlite3_column_int64(q, 0),
                   (const char *)sqlite3_column_text(q, 1), (const char *)sqlite3_column_text(q, 2),
                   (const char *)sqlite3_column_text(q, 3), (const char *)sqlite3_column_text(q, 4));
        sqlite3_finalize(q);
        rc = EXIT_OK;
    } else if (!strcmp(verb, "revoke") && optind + 1 < argc) {
        char *end;
        long long id = strtoll(argv[optind + 1], &end, 10);
        sqlite3_stmt *q;
        if (*end || sqlite3_prepare_v2(w, "UPDATE tokens SET revoked_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') "
                                          "WHERE id=? AND revoked_at IS NULL", -1, &q, NULL) != SQLITE_OK) {
            fprintf(stderr, "redbench token: revoke: want a token id\n");
            goto out;
        }
        sqlite3_bind_int64(q, 1, id);
        sqlite3_step(q);
        sqlite3_finalize(q);
        if (sqlite3_changes(w) != 1) {
            fprintf(stderr, "redbench token: no active token with id %lld\n", id);
            goto out;
        }
        printf("token %lld revoked\n", id);
        rc = EXIT_OK;
    } else {
        fputs(TOKEN_USAGE, stderr);
    }
out:
    store_writer_unlock(st);
    store_close(st);
    return rc;
}
