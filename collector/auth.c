/* auth.c -- bearer tokens with roles: created random, stored as SHA-256,
 * compared in constant time. */
#include "auth.h"

#include <stdio.h>
#include <string.h>

#include "sha256.h"
#include "util.h"

const char *const role_name[ROLE__MAX] = {"read", "ingest", "query", "admin"};

int role_find(const char *name)
{
    for (int i = 0; i < ROLE__MAX; i++)
        if (!strcmp(role_name[i], name)) return i;
    return -1;
}

int role_grants(int have, enum role need)
{
    if (have < 0) return 0;
    return have == ROLE_ADMIN || need == ROLE_READ || have == (int)need;
}

int auth_token_role(sqlite3 *db, const char *bootstrap, const char *token)
{
    if (!token || !*token) return -1;
    if (bootstrap && secret_equal(token, bootstrap)) return ROLE_ADMIN;
    char hex[65];
    sha256_hex(token, hex);
    sqlite3_stmt *st;
    int role = -1;
    /* The lookup is by hash, so timing says nothing about the token. */
    if (sqlite3_prepare_v2(db, "SELECT role FROM tokens WHERE token_sha256=? AND revoked_at IS NULL",
                           -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(st, 1, hex, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) role = role_find((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return role;
}

int auth_token_create(sqlite3 *db, enum role role, const char *name, char *token_out,
                      long long *id_out, char *err)
{
    unsigned char raw[32];
    if (rand_bytes(raw, sizeof raw) < 0) return rb_err(err, "no randomness for a token");
    strcpy(token_out, "rbt_");
    for (int i = 0; i < 32; i++) sprintf(token_out + 4 + 2 * i, "%02x", raw[i]);
    char hex[65];
    sha256_hex(token_out, hex);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO tokens(name, role, token_sha256, created_at) "
                           "VALUES (?, ?, ?, strftime('%Y-%m-%dT%H:%M:%fZ','now'))",
                           -1, &st, NULL) != SQLITE_OK)
        return rb_err(err, "sqlite: %s", sqlite3_errmsg(db));
    sqlite3_bind_text(st, 1, name ? name : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, role_name[role], -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, hex, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return rb_err(err, "sqlite: %s", sqlite3_errmsg(db));
    *id_out = sqlite3_last_insert_rowid(db);
    return 0;
}
