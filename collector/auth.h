/* auth.h -- who may do what: bearer tokens with roles, stored hashed. */
#ifndef RB_AUTH_H
#define RB_AUTH_H

#include <sqlite3.h>

/* Roles, each a set of rights: read (GET pages and API), ingest (upload runs,
 * worker tasks), query (the SQL endpoint), admin (everything, incl. tokens,
 * prices, schedules, triage). Every valid token may read. */
enum role { ROLE_READ, ROLE_INGEST, ROLE_QUERY, ROLE_ADMIN, ROLE__MAX };
extern const char *const role_name[ROLE__MAX];

/* Looks a role up by name; -1 if unknown. */
int role_find(const char *name);

/* The role of token in db (a hashed lookup; revoked tokens have none), or -1.
 * bootstrap, when set (--token-file / REDBENCH_TOKEN), is an admin token. */
int auth_token_role(sqlite3 *db, const char *bootstrap, const char *token);

/* 1 if a token of role `have` grants `need`. */
int role_grants(int have, enum role need);

/* Creates a token of role with name; writes the new token (shown once) to
 * token_out (>= 80 bytes) and its id to id_out. 0 or -1 with err. */
int auth_token_create(sqlite3 *db, enum role role, const char *name, char *token_out,
                      long long *id_out, char *err);

#endif
