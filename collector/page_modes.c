/* page_modes.c -- GET /modes: the same operations across deployment modes (single,
 * client-server, multi-region per client region, orchestrated, cluster) and the network
 * overhead each adds over single, from lib/modes.h; plus the scope helper the /modes and
 * /cost pages share. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "modes.h"
#include "util.h"

/* Copies the first column of the one-row query sql (bound to a, then b if non-NULL) to
 * out; 1 if a row came, else 0 (out untouched). */
static int one_text(sqlite3 *db, const char *sql, const char *a, const char *b, char *out, size_t len)
{
    sqlite3_stmt *st = NULL;
    int found = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return 0;
    if (a) sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
    if (b) sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)) {
        snprintf(out, len, "%s", (const char *)sqlite3_column_text(st, 0));
        found = 1;
    }
    sqlite3_finalize(st);
    return found;
}

/* Adds to data[key] the distinct values of the first column of sql, in order, one
 * index seek each (at most 200): sql binds the previous value to ?2 and ?3 (""
 * both at first; then a blob, above any text, in ?3 to skip past the value), and a
 * to ?1 if not NULL. */
static void add_choices(cJSON *data, const char *key, sqlite3 *db, const char *sql, const char *a)
{
    cJSON *arr = cJSON_AddArrayToObject(data, key);
    sqlite3_stmt *st = NULL;
    char *prev = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return;
    if (a) sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, "", 0, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, "", 0, SQLITE_STATIC);
    for (int n = 0; n < 200 && sqlite3_step(st) == SQLITE_ROW; n++) {
        const unsigned char *t = sqlite3_column_text(st, 0);
        if (!t) break;
        cJSON_AddItemToArray(arr, cJSON_CreateString((const char *)t));
        free(prev);
        prev = xstrdup((const char *)t);
        sqlite3_reset(st);
        sqlite3_bind_text(st, 2, prev, -1, SQLITE_STATIC);
        sqlite3_bind_zeroblob(st, 3, 0);
    }
    sqlite3_finalize(st);
    free(prev);
}

void page_scope(const struct request *r, sqlite3 *db, cJSON *data, char *project, char *branch, size_t len)
{
    const char *p = query_arg(r, "project"), *b = query_arg(r, "branch");
    if (p && *p)
        snprintf(project, len, "%s", p);
    else if (!one_text(db, "SELECT project FROM runs ORDER BY started_at DESC LIMIT 1", NULL, NULL, project, len))
        snprintf(project, len, "default");
    if (b && *b)
        snprintf(branch, len, "%s", b);
    else if (!one_text(db, "SELECT branch FROM runs WHERE project=?1 AND branch='main' LIMIT 1", project, NULL,
                       branch, len) &&
             !one_text(db, "SELECT branch FROM runs WHERE project=?1 ORDER BY started_at DESC LIMIT 1", project,
                       NULL, branch, len))
        snprintf(branch, len, "main");
    cJSON_AddStringToObject(data, "project", project);
    cJSON_AddStringToObject(data, "branch", branch);
    /* SELECT DISTINCT project / branch, as seeks in runs_by_branch. */
    add_choices(data, "projects", db,
                "SELECT project FROM runs WHERE (project, branch) > (?2, ?3) ORDER BY project, branch LIMIT 1", NULL);
    add_choices(data, "branches", db,
                "SELECT branch FROM runs WHERE project = ?1 AND (branch, started_at) > (?2, ?3) "
                "ORDER BY branch, started_at LIMIT 1",
                project);
}

void op_choices(sqlite3 *db, const char *project, const char *branch, const char *sel, cJSON *names)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT DISTINCT x.op FROM results x WHERE x.run_id IN "
                           "(SELECT id FROM runs WHERE project = ?1 AND branch = ?2 "
                           " ORDER BY started_at DESC LIMIT 20) ORDER BY x.op",
                           -1, &st, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_text(st, 1, project, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, branch, -1, SQLITE_STATIC);
    for (int n = 0; n < 500 && sqlite3_step(st) == SQLITE_ROW; n++) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "name", name ? name : "");
        cJSON_AddBoolToObject(e, "selected", sel && name && !strcmp(sel, name));
        cJSON_AddItemToArray(names, e);
    }
    sqlite3_finalize(st);
}

static double jnum(const cJSON *o, const char *k)
{
    const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL;
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL;
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* "client-server fra→iad": who measured a cell. */
static void deploy_label(const cJSON *c, char *out, size_t len)
{
    snprintf(out, len, "%s %s\u2192%s", jstr(c, "mode"), jstr(c, "client_region"), jstr(c, "server_region"));
}

#define BAR_ROW 26
#define BAR_TOP 26

/* Appends an inline SVG bar chart of the cells of one operation to out: throughput
 * (left) and p50/p99 latency (right) per deployment, each bar with a <title>. Every
 * text from the warehouse is escaped. */
static void bars_svg(buf *out, const cJSON *cells, const char *what)
{
    int n = cJSON_GetArraySize(cells);
    double max_ops = 0, max_lat = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cells) {
        double o = jnum(c, "ops_per_sec"), l = jnum(c, "p99_us");
        if (isfinite(o) && o > max_ops) max_ops = o;
        if (isfinite(l) && l > max_lat) max_lat = l;
        l = jnum(c, "p50_us");
        if (isfinite(l) && l > max_lat) max_lat = l;
    }
    const double lx = 204, lw = 220, rx = 500, rw = 220;
    int h = BAR_TOP + n * BAR_ROW + 4;
    buf_printf(out, "<svg class=\"bars\" role=\"img\" viewBox=\"0 0 800 %d\" width=\"100%%\" "
                    "style=\"max-width:800px;font:11px system-ui,sans-serif\" aria-label=\"",
               h);
    tmpl_escape_html(out, what);
    buf_puts(out, ": throughput and p50/p99 latency per deployment\">");
    buf_printf(out, "<text x=\"%.0f\" y=\"14\" fill=\"#1b1f24\">Throughput (ops/s)</text>"
                    "<text x=\"%.0f\" y=\"14\" fill=\"#1b1f24\">Latency p50 / p99 (\u00b5s)</text>",
               lx, rx);
    int i = 0;
    cJSON_ArrayForEach(c, cells) {
        char label[256], v[64];
        deploy_label(c, label, sizeof label);
        double y = BAR_TOP + i * BAR_ROW;
        double ops = jnum(c, "ops_per_sec"), p50 = jnum(c, "p50_us"), p99 = jnum(c, "p99_us");
        buf_printf(out, "<g><text x=\"198\" y=\"%.0f\" text-anchor=\"end\" fill=\"#1b1f24\">", y + 13);
        tmpl_escape_html(out, label);
        buf_puts(out, "</text>");
        double w = max_ops > 0 && isfinite(ops) ? ops / max_ops * lw : 0;
        buf_printf(out, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.1f\" height=\"16\" fill=\"#0550ae\"><title>", lx, y + 2, w);
        tmpl_escape_html(out, label);
        snprintf(v, sizeof v, ": %.0f ops/s", ops);
        tmpl_escape_html(out, v);
        buf_printf(out, "</title></rect><text x=\"%.1f\" y=\"%.0f\" fill=\"#57606a\">%.0f</text>", lx + w + 3,
                   y + 14, ops);
        double w50 = max_lat > 0 && isfinite(p50) ? p50 / max_lat * rw : 0;
        double w99 = max_lat > 0 && isfinite(p99) ? p99 / max_lat * rw : 0;
        buf_printf(out, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.1f\" height=\"8\" fill=\"#1a7f37\"><title>", rx, y + 2,
                   w50);
        tmpl_escape_html(out, label);
        snprintf(v, sizeof v, ": p50 %.1f \u00b5s", p50);
        tmpl_escape_html(out, v);
        buf_printf(out, "</title></rect><rect x=\"%.0f\" y=\"%.0f\" width=\"%.1f\" height=\"8\" fill=\"#9a6700\"><title>",
                   rx, y + 10, w99);
        tmpl_escape_html(out, label);
        snprintf(v, sizeof v, ": p99 %.1f \u00b5s", p99);
        tmpl_escape_html(out, v);
        buf_printf(out, "</title></rect><text x=\"%.1f\" y=\"%.0f\" fill=\"#57606a\">%.1f / %.1f</text></g>",
                   rx + (w99 > w50 ? w99 : w50) + 3, y + 14, p50, p99);
        i++;
    }
    buf_puts(out, "</svg>");
}

/* The template row of one cell. */
static cJSON *cell_row(const cJSON *c)
{
    cJSON *o = cJSON_CreateObject();
    const char *keys[] = {"mode", "client_region", "server_region", "preset", "run_id", "series_key", "status"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) cJSON_AddStringToObject(o, keys[i], jstr(c, keys[i]));
    page_add_short(o, "short_run", jstr(c, "run_id"), 8);
    cJSON_AddBoolToObject(o, "is_single", !strcmp(jstr(c, "mode"), "single"));
    page_add_fmt(o, "ops", "%.0f", jnum(c, "ops_per_sec"));
    page_add_fmt(o, "p50", "%.1f", jnum(c, "p50_us"));
    page_add_fmt(o, "p99", "%.1f", jnum(c, "p99_us"));
    page_add_fmt(o, "errors", "%.0f", jnum(c, "errors"));
    page_add_fmt(o, "cost", "$%.4f", jnum(c, "usd_per_mop"));
    const cJSON *ov = cJSON_GetObjectItemCaseSensitive(c, "overhead");
    page_add_fmt(o, "vs_ops", "%+.1f%%", (jnum(ov, "throughput_ratio") - 1) * 100);
    page_add_fmt(o, "add_p50", "%+.1f", jnum(ov, "added_p50_us"));
    page_add_fmt(o, "add_p99", "%+.1f", jnum(ov, "added_p99_us"));
    cJSON *ms = cJSON_AddArrayToObject(o, "metrics");
    const cJSON *m;
    cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(c, "metrics")) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "name", m->string);
        page_add_fmt(e, "value", "%.6g", m->valuedouble);
        cJSON_AddItemToArray(ms, e);
    }
    return o;
}

enum MHD_Result page_modes(const struct request *r)
{
    char project[128], branch[128], err[RB_ERR_LEN];
    cJSON *data = cJSON_CreateObject();
    cJSON_AddBoolToObject(data, "nav_modes", 1);
    cJSON_AddStringToObject(data, "title", "Deployment modes");
    sqlite3 *db = store_reader(r->col->st);
    page_scope(r, db, data, project, branch, sizeof project);
    const char *opf = query_arg(r, "op");
    if (opf && !*opf) opf = NULL;
    cJSON *sum = modes_summary_op(db, project, branch, opf, err);
    cJSON *names = cJSON_AddArrayToObject(data, "op_names");
    op_choices(db, project, branch, opf, names);
    store_reader_release(r->col->st, db);
    if (!sum) {
        cJSON_Delete(data);
        return respond_error(r->conn, 500, "%s", err);
    }
    cJSON_AddStringToObject(data, "op", opf ? opf : "");

    cJSON *deps = cJSON_DetachItemFromObjectCaseSensitive(sum, "deployments");
    const cJSON *d;
    cJSON_ArrayForEach(d, deps) {
        page_add_short((cJSON *)d, "short_run", jstr(d, "run_id"), 8);
        page_add_short((cJSON *)d, "short_commit", jstr(d, "commit"), 10);
    }
    cJSON_AddBoolToObject(data, "has_deployments", cJSON_GetArraySize(deps) > 0);
    cJSON_AddItemToObject(data, "deployments", deps);

    cJSON *ops = cJSON_AddArrayToObject(data, "ops");
    const cJSON *o;
    cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(sum, "ops")) {
        const char *name = jstr(o, "op");
        cJSON *g = cJSON_CreateObject();
        char what[512];
        const char *params = jstr(o, "params");
        snprintf(what, sizeof what, "%s/%s c=%.0f p=%.0f v=%.0f B d=%.0f%s%s", jstr(o, "scenario"), name,
                 jnum(o, "concurrency"), jnum(o, "pipeline"), jnum(o, "value_size"), jnum(o, "dataset_size"),
                 strcmp(params, "{}") ? " " : "", strcmp(params, "{}") ? params : "");
        cJSON_AddStringToObject(g, "what", what);
        const cJSON *cells = cJSON_GetObjectItemCaseSensitive(o, "cells");
        buf svg;
        buf_init(&svg, 1u << 20);
        bars_svg(&svg, cells, what);
        cJSON_AddStringToObject(g, "html_chart", svg.data ? svg.data : "");
        buf_cleanup(&svg);
        cJSON *rows = cJSON_AddArrayToObject(g, "rows");
        const cJSON *c;
        cJSON_ArrayForEach(c, cells) cJSON_AddItemToArray(rows, cell_row(c));
        cJSON_AddItemToArray(ops, g);
    }
    cJSON_AddBoolToObject(data, "has_ops", cJSON_GetArraySize(ops) > 0);
    cJSON_Delete(sum);
    return page_render(r, 200, "modes", data);
}
