/* cost.c -- machine prices: validation, the upsert the API and CLI share, and
 * the JSON listing of machine and egress prices (migrations/0007_prices.sql). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "util.h"

/* 1 if s is 1..max-1 bytes from [a-z A-Z 0-9 . _ -]. */
static int name_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n >= max) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '.' || *s == '_' || *s == '-'))
            return 0;
    return 1;
}

int price_date_ok(const char *s)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-') return 0;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9')) return 0;
    int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
    if (y < 1970 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1]) return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return !(m == 2 && d == 29 && !leap);
}

static void field_err(cJSON *errors, const char *field, const char *msg)
{
    if (!cJSON_GetObjectItemCaseSensitive(errors, field)) cJSON_AddStringToObject(errors, field, msg);
}

/* Copies string member name of j into dst (size bytes) if valid. */
static void take_name(const cJSON *j, const char *name, char *dst, size_t size, const char *def,
                      cJSON *errors)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
    if (!v && def) {
        snprintf(dst, size, "%s", def);
        return;
    }
    if (!v) return field_err(errors, name, "required");
    if (!cJSON_IsString(v) || !name_ok(v->valuestring, size))
        return field_err(errors, name, "want 1-63 characters from a-z A-Z 0-9 . _ -");
    snprintf(dst, size, "%s", v->valuestring);
}

int price_from_json(const cJSON *j, struct machine_price *p, cJSON *errors)
{
    static const char *known[] = {"provider", "preset", "region_group", "memory_mb",
                                  "usd_per_second", "effective_date", "source"};
    memset(p, 0, sizeof *p);
    if (!cJSON_IsObject(j)) {
        field_err(errors, "body", "want a JSON object");
        return -1;
    }
    for (const cJSON *it = j->child; it; it = it->next) {
        size_t k = 0;
        while (k < sizeof known / sizeof known[0] && strcmp(known[k], it->string)) k++;
        if (k == sizeof known / sizeof known[0]) field_err(errors, it->string, "unknown field");
    }
    take_name(j, "provider", p->provider, sizeof p->provider, NULL, errors);
    take_name(j, "preset", p->preset, sizeof p->preset, NULL, errors);
    take_name(j, "region_group", p->region_group, sizeof p->region_group, "any", errors);

    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "memory_mb");
    if (!v)
        field_err(errors, "memory_mb", "required");
    else if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < 1 ||
             v->valuedouble > 16777216)
        field_err(errors, "memory_mb", "want a whole number of MB, 1..16777216");
    else
        p->memory_mb = (long long)v->valuedouble;

    v = cJSON_GetObjectItemCaseSensitive(j, "usd_per_second");
    if (!v)
        field_err(errors, "usd_per_second", "required");
    else if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble <= 0 || v->valuedouble >= 1)
        field_err(errors, "usd_per_second", "want a number > 0 and < 1 (USD per second, e.g. 0.00001196)");
    else
        p->usd_per_second = v->valuedouble;

    v = cJSON_GetObjectItemCaseSensitive(j, "effective_date");
    if (!v)
        field_err(errors, "effective_date", "required");
    else if (!cJSON_IsString(v) || !price_date_ok(v->valuestring))
        field_err(errors, "effective_date", "want a date YYYY-MM-DD (UTC)");
    else
        snprintf(p->effective_date, sizeof p->effective_date, "%s", v->valuestring);

    v = cJSON_GetObjectItemCaseSensitive(j, "source");
    if (v && (!cJSON_IsString(v) || strlen(v->valuestring) >= sizeof p->source))
        field_err(errors, "source", "want a string of at most 500 bytes");
    else if (v)
        snprintf(p->source, sizeof p->source, "%s", v->valuestring);
    return cJSON_GetArraySize(errors) ? -1 : 0;
}

enum price_put price_put(sqlite3 *db, const struct machine_price *p, char *err)
{
    sqlite3_stmt *st = NULL;
    enum price_put ret = PRICE_ERROR;
    if (store_exec(db, "BEGIN IMMEDIATE", err) < 0) return PRICE_ERROR;
    if (strcmp(p->region_group, "any") != 0) {
        if (sqlite3_prepare_v2(db, "SELECT 1 FROM region_groups WHERE region_group=?", -1, &st, NULL))
            goto sqlerr;
        sqlite3_bind_text(st, 1, p->region_group, -1, SQLITE_STATIC);
        int found = sqlite3_step(st) == SQLITE_ROW;
        sqlite3_finalize(st);
        st = NULL;
        if (!found) {
            rb_err(err, "region_group: '%s' is not 'any' nor a group of the region_groups table",
                   p->region_group);
            ret = PRICE_BAD_GROUP;
            goto rollback;
        }
    }
    if (sqlite3_prepare_v2(db,
                           "SELECT 1 FROM machine_prices WHERE provider=?1 AND preset=?2 AND "
                           "region_group=?3 AND memory_mb=?4 AND effective_date=?5",
                           -1, &st, NULL))
        goto sqlerr;
    sqlite3_bind_text(st, 1, p->provider, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, p->preset, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, p->region_group, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, p->memory_mb);
    sqlite3_bind_text(st, 5, p->effective_date, -1, SQLITE_STATIC);
    int exists = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO machine_prices(provider, preset, region_group, memory_mb, "
                           "usd_per_second, effective_date, source) VALUES (?1,?2,?3,?4,?5,?6,?7) "
                           "ON CONFLICT(provider, preset, region_group, memory_mb, effective_date) "
                           "DO UPDATE SET usd_per_second=excluded.usd_per_second, source=excluded.source",
                           -1, &st, NULL))
        goto sqlerr;
    sqlite3_bind_text(st, 1, p->provider, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, p->preset, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, p->region_group, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, p->memory_mb);
    sqlite3_bind_double(st, 5, p->usd_per_second);
    sqlite3_bind_text(st, 6, p->effective_date, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, p->source, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) goto sqlerr;
    sqlite3_finalize(st);
    st = NULL;
    if (store_exec(db, "COMMIT", err) < 0) goto rollback;
    return exists ? PRICE_UPDATED : PRICE_CREATED;
sqlerr:
    rb_err(err, "sqlite: %s", sqlite3_errmsg(db));
rollback:
    sqlite3_finalize(st);
    store_exec(db, "ROLLBACK", NULL);
    return ret;
}

/* Appends the rows of sql to arr as objects keyed by column name (numbers for
 * INTEGER/REAL columns). 0 or -1 with err. */
static int rows_json(sqlite3 *db, const char *sql, cJSON *arr, char *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return rb_err(err, "sqlite: %s", sqlite3_errmsg(db));
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        cJSON *o = cJSON_CreateObject();
        for (int i = 0; i < sqlite3_column_count(st); i++) {
            const char *name = sqlite3_column_name(st, i);
            int t = sqlite3_column_type(st, i);
            if (t == SQLITE_INTEGER || t == SQLITE_FLOAT)
                cJSON_AddNumberToObject(o, name, sqlite3_column_double(st, i));
            else if (t == SQLITE_NULL)
                cJSON_AddNullToObject(o, name);
            else
                cJSON_AddStringToObject(o, name, (const char *)sqlite3_column_text(st, i));
        }
        cJSON_AddItemToArray(arr, o);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return rb_err(err, "sqlite: %s", sqlite3_errmsg(db));
    return 0;
}

cJSON *prices_json(sqlite3 *db, char *err)
{
    cJSON *j = cJSON_CreateObject();
    cJSON *m = cJSON_AddArrayToObject(j, "machine_prices");
    cJSON *e = cJSON_AddArrayToObject(j, "egress_prices");
    if (rows_json(db,
                  "SELECT id, provider, preset, region_group, memory_mb, usd_per_second, "
                  "effective_date, source FROM machine_prices "
                  "ORDER BY provider, preset LIKE 'performance-%', "
                  "CAST(substr(preset, instr(preset, '-cpu-') + 5) AS INTEGER), "
                  "CAST(substr(preset, instr(preset, 'performance-') + 12) AS INTEGER), "
                  "preset, memory_mb, region_group, effective_date",
                  m, err) < 0 ||
        rows_json(db,
                  "SELECT id, provider, region_group, usd_per_gb_internet, "
                  "usd_per_gb_private_cross_region, effective_date, source FROM egress_prices "
                  "ORDER BY provider, region_group, effective_date",
                  e, err) < 0) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}
