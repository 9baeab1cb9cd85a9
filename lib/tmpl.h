/* tmpl.h -- a small, escaping-by-default HTML template engine (a Mustache subset) over cJSON data. */
#ifndef RB_TMPL_H
#define RB_TMPL_H

#include <cjson/cJSON.h>

#include "util.h"

/*
 * Syntax. Everything outside tags is copied verbatim; whitespace inside a tag
 * is ignored ("{{ name }}" == "{{name}}"). There is no Mustache standalone-line
 * stripping (whitespace around section tags is kept; it does not matter in HTML).
 *
 *   {{name}}  {{a.b.c}}  {{.}}
 *       The value, HTML-escaped (& < > " ' ` = become entities), so it is safe
 *       in element text and in quoted or unquoted attribute values.
 *       Strings as is; true/false as "true"/"false"; null or missing as "".
 *       Numbers: integral values below 1e17 in magnitude as integers
 *       ("3", "1234567890123"), anything else with "%.15g" (so "3.5", "1e-07").
 *       Rendering an object or an array is a render error.
 *   {{url:name}}
 *       The same text, percent-encoded for a URL query value or path segment:
 *       RFC 3986 unreserved bytes (A-Z a-z 0-9 - . _ ~) kept, every other byte
 *       (UTF-8 included) as %XX. The result contains nothing HTML-special.
 *   {{raw:name}}
 *       The value unescaped. Allowed only when the last segment of the name
 *       starts with "html_" ({{raw:html_chart}}, {{raw:run.html_svg}}): the
 *       data producer marks server-generated markup by its key name, and
 *       anything else is rejected when the template is parsed.
 *   {{#name}}...{{/name}}
 *       Array: the body once per element, the element pushed as the context.
 *       Object: the body once with the object pushed. Other truthy values
 *       (true, non-zero number, non-empty string): the body once, no push.
 *       Falsy (missing, null, false, 0, "", empty array): nothing.
 *   {{^name}}...{{/name}}
 *       The body once, no push, when the value is falsy.
 *   {{! comment }}     dropped; may span lines.
 *   {{> partial}}      renders template "partial" of the same set with the
 *                      current context stack; nesting deeper than
 *                      TMPL_MAX_PARTIAL_DEPTH is a render error.
 *
 * Lookup: "." is the current context. For "a.b.c", "a" is searched from the
 * innermost context outwards (only objects have keys); "b" and "c" are then
 * looked up inside that value only, as in Mustache.
 * Names are segments of [A-Za-z0-9_-] joined by single dots.
 *
 * Deliberately unsupported (parse errors): {{{name}}}, {{&name}}, {{=<% %>=}}.
 * Sections may nest TMPL_MAX_NEST deep.
 *
 * Threads: a set is built single-threaded; once built, any number of threads
 * may call tmpl_render on it at the same time (rendering only reads the set
 * and the data).
 */

#define TMPL_MAX_PARTIAL_DEPTH 16
#define TMPL_MAX_NEST 64
/* Largest template file tmpl_set_load_dir accepts, in bytes. */
#define TMPL_MAX_FILE (1024 * 1024)

typedef struct tmpl_set tmpl_set; /* a set of named, parsed templates */

/* An empty set; free it with tmpl_set_free. Never NULL. */
tmpl_set *tmpl_set_new(void);

/* Frees s and every template in it. NULL is a no-op. */
void tmpl_set_free(tmpl_set *s);

/* Parses text and adds it as template `name` ([A-Za-z0-9_.-], not starting
 * with a dot). The set keeps its own copy of text. 0 ok; -1 with err
 * "NAME:LINE: problem" on a parse error, a bad or duplicate name (the set is
 * then unchanged). */
int tmpl_set_add(tmpl_set *s, const char *name, const char *text, char *err);

/* Loads every regular file *.html in dir (hidden files skipped) as a template
 * named by its file name without ".html", then checks that every {{> partial}}
 * names a loaded template. Returns a new set the caller frees with
 * tmpl_set_free, or NULL with err "DIR/FILE.html:LINE: problem" (or the I/O
 * cause). */
tmpl_set *tmpl_set_load_dir(const char *dir, char *err);

/* Renders template `name` with data (may be NULL: every lookup is missing)
 * and appends the result to out (a capped buf the caller owns). 0 ok; -1 with
 * err on an unknown template or partial, a partial nesting too deep, an
 * object or array used as a value, or out's cap being passed. On error out
 * holds a partial page: discard it. Thread-safe for a shared, built set. */
int tmpl_render(const tmpl_set *s, const char *name, const cJSON *data, buf *out, char *err);

/* Appends s HTML-escaped to out (& < > " ' ` = as entities). 0 ok; -1 if
 * out's cap would be passed. */
int tmpl_escape_html(buf *out, const char *s);

/* Appends s percent-encoded (unreserved bytes kept, others %XX uppercase) to
 * out. 0 ok; -1 if out's cap would be passed. */
int tmpl_escape_url(buf *out, const char *s);

#endif
