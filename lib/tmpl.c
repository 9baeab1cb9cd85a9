/* tmpl.c -- parses Mustache-subset HTML templates once and renders them, escaped, from cJSON data. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "tmpl.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum node_kind { N_TEXT, N_VAR, N_URL, N_RAW, N_SECTION, N_INVERTED, N_PARTIAL };

/* A template is a flat array of nodes; a section's body is the nodes
 * (i, end) after it, so rendering needs no tree and no allocation. */
typedef struct node {
    enum node_kind kind;
    int line;
    const char *text; /* N_TEXT: points into tmpl.src */
    size_t len;       /* N_TEXT: byte count */
    char *name;       /* tag name as written (partial name for N_PARTIAL) */
    char *segs;       /* name split at dots into consecutive NUL-terminated segments */
    int nseg;         /* 0 for "." (the current context) */
    size_t end;       /* sections: index one past the body */
} node;

typedef struct tmpl {
    char *name;
    char *src;
    node *nodes;
    size_t n, cap;
} tmpl;

struct tmpl_set {
    tmpl **v;
    size_t n, cap;
};

/* ---- parsing ------------------------------------------------------------ */

static void tmpl_free(tmpl *t)
{
    if (!t) return;
    for (size_t i = 0; i < t->n; i++) {
        free(t->nodes[i].name);
        free(t->nodes[i].segs);
    }
    free(t->nodes);
    free(t->src);
    free(t->name);
    free(t);
}

static node *add_node(tmpl *t, enum node_kind kind, int line)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->nodes = xrealloc(t->nodes, t->cap * sizeof *t->nodes);
    }
    node *nd = &t->nodes[t->n++];
    memset(nd, 0, sizeof *nd);
    nd->kind = kind;
    nd->line = line;
    return nd;
}

static int is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
}

/* "." or segments of name chars joined by single dots. */
static int valid_path(const char *s)
{
    if (strcmp(s, ".") == 0) return 1;
    int seglen = 0;
    for (; *s; s++) {
        if (*s == '.') {
            if (seglen == 0) return 0;
            seglen = 0;
        } else if (is_name_char(*s)) {
            seglen++;
        } else {
            return 0;
        }
    }
    return seglen > 0;
}

/* Template names: name chars and dots, not starting with a dot. */
static int valid_tmpl_name(const char *s)
{
    if (!*s || *s == '.') return 0;
    for (; *s; s++)
        if (!is_name_char(*s) && *s != '.') return 0;
    return 1;
}

static void set_path(node *nd, const char *name)
{
    nd->name = xstrdup(name);
    nd->segs = xstrdup(name);
    nd->nseg = 0;
    if (strcmp(name, ".") == 0) return;
    nd->nseg = 1;
    for (char *p = nd->segs; *p; p++)
        if (*p == '.') {
            *p = '\0';
            nd->nseg++;
        }
}

static const char *last_seg(const node *nd)
{
    const char *s = nd->segs;
    for (int i = 1; i < nd->nseg; i++) s += strlen(s) + 1;
    return s;
}

static int count_lines(const char *p, const char *end)
{
    int n = 0;
    for (; p < end; p++)
        if (*p == '\n') n++;
    return n;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Copies [p, end) with surrounding whitespace trimmed into a new string. */
static char *trimmed(const char *p, const char *end)
{
    while (p < end && is_space(*p)) p++;
    while (end > p && is_space(end[-1])) end--;
    return xstrndup(p, (size_t)(end - p));
}

static int perr(char *err, const char *label, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int perr(char *err, const char *label, int line, const char *fmt, ...)
{
    char msg[RB_ERR_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return rb_err(err, "%s:%d: %s", label, line, msg);
}

/* Parses one tag body (between the braces, untrimmed) into a node. Pushes
 * and pops the open-section stack. */
static int parse_tag(tmpl *t, const char *label, const char *p, const char *end, int line,
                     size_t *open, int *nopen, char *err)
{
    int rc = -1;
    char *tag = trimmed(p, end);
    char *arg = NULL;
    enum node_kind kind = N_VAR;
    int closing = 0;
    const char *rest = tag;

    switch (tag[0]) {
    case '#': kind = N_SECTION; rest = tag + 1; break;
    case '^': kind = N_INVERTED; rest = tag + 1; break;
    case '/': closing = 1; rest = tag + 1; break;
    case '>': kind = N_PARTIAL; rest = tag + 1; break;
    case '&':
        perr(err, label, line, "{{&...}} is not supported (use {{raw:html_...}})");
        goto out;
    case '=':
        perr(err, label, line, "changing delimiters is not supported");
        goto out;
    default:
        if (strncmp(tag, "url:", 4) == 0) {
            kind = N_URL;
            rest = tag + 4;
        } else if (strncmp(tag, "raw:", 4) == 0) {
            kind = N_RAW;
            rest = tag + 4;
        }
    }
    arg = trimmed(rest, rest + strlen(rest));

    if (kind == N_PARTIAL) {
        if (!valid_tmpl_name(arg)) {
            perr(err, label, line, "bad partial name in {{%.60s}}", tag);
            goto out;
        }
        node *nd = add_node(t, N_PARTIAL, line);
        nd->name = xstrdup(arg);
        rc = 0;
        goto out;
    }
    if (!valid_path(arg)) {
        perr(err, label, line, "bad tag {{%.60s}} (names are [A-Za-z0-9_-] joined by dots)", tag);
        goto out;
    }
    if (closing) {
        if (*nopen == 0) {
            perr(err, label, line, "{{/%s}} closes no open section", arg);
            goto out;
        }
        node *o = &t->nodes[open[*nopen - 1]];
        if (strcmp(o->name, arg) != 0) {
            perr(err, label, line, "{{/%s}} does not match {{%c%s}} opened at line %d", arg,
                 o->kind == N_SECTION ? '#' : '^', o->name, o->line);
            goto out;
        }
        o->end = t->n;
        (*nopen)--;
        rc = 0;
        goto out;
    }
    node *nd = add_node(t, kind, line);
    set_path(nd, arg);
    if (kind == N_RAW && strncmp(last_seg(nd), "html_", 5) != 0) {
        perr(err, label, line, "{{raw:%s}} refused: raw output needs a key starting with \"html_\"",
             arg);
        goto out;
    }
    if (kind == N_SECTION || kind == N_INVERTED) {
        if (*nopen == TMPL_MAX_NEST) {
            perr(err, label, line, "sections nested deeper than %d", TMPL_MAX_NEST);
            goto out;
        }
        open[(*nopen)++] = t->n - 1;
    }
    rc = 0;
out:
    free(arg);
    free(tag);
    return rc;
}

/* Parses t->src; label prefixes error messages ("NAME:LINE: ..."). */
static int parse(tmpl *t, const char *label, char *err)
{
    size_t open[TMPL_MAX_NEST];
    int nopen = 0;
    int line = 1;
    const char *p = t->src;

    while (*p) {
        const char *q = strstr(p, "{{");
        if (!q) q = p + strlen(p);
        if (q > p) {
            node *nd = add_node(t, N_TEXT, line);
            nd->text = p;
            nd->len = (size_t)(q - p);
            line += count_lines(p, q);
        }
        if (!*q) break;
        if (q[2] == '{')
            return perr(err, label, line, "{{{...}} is not supported (use {{raw:html_...}})");
        const char *close = strstr(q + 2, "}}");
        if (!close) {
            if (q[2] == '!') return perr(err, label, line, "unterminated comment {{!");
            return perr(err, label, line, "unterminated {{ (no closing }})");
        }
        if (q[2] != '!' && parse_tag(t, label, q + 2, close, line, open, &nopen, err) < 0)
            return -1;
        line += count_lines(q, close);
        p = close + 2;
    }
    if (nopen > 0) {
        node *o = &t->nodes[open[nopen - 1]];
        return perr(err, label, o->line, "unclosed section {{%c%s}}",
                    o->kind == N_SECTION ? '#' : '^', o->name);
    }
    return 0;
}

static const tmpl *find(const tmpl_set *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i]->name, name) == 0) return s->v[i];
    return NULL;
}

static int add_labeled(tmpl_set *s, const char *name, const char *text, const char *label,
                       char *err)
{
    if (!valid_tmpl_name(name))
        return rb_err(err, "%s: bad template name \"%s\" (use [A-Za-z0-9_.-])", label, name);
    if (find(s, name)) return rb_err(err, "%s: duplicate template \"%s\"", label, name);
    tmpl *t = xcalloc(1, sizeof *t);
    t->name = xstrdup(name);
    t->src = xstrdup(text);
    if (parse(t, label, err) < 0) {
        tmpl_free(t);
        return -1;
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 8;
        s->v = xrealloc(s->v, s->cap * sizeof *s->v);
    }
    s->v[s->n++] = t;
    return 0;
}

/* ---- sets ----------------------------------------------------------------- */

tmpl_set *tmpl_set_new(void)
{
    return xcalloc(1, sizeof(tmpl_set));
}

void tmpl_set_free(tmpl_set *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) tmpl_free(s->v[i]);
    free(s->v);
    free(s);
}

int tmpl_set_add(tmpl_set *s, const char *name, const char *text, char *err)
{
    return add_labeled(s, name, text, name, err);
}

static int html_file(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return d->d_name[0] != '.' && n > 5 && strcmp(d->d_name + n - 5, ".html") == 0;
}

tmpl_set *tmpl_set_load_dir(const char *dir, char *err)
{
    struct dirent **ents = NULL;
    int nents = scandir(dir, &ents, html_file, alphasort);
    if (nents < 0) {
        rb_err(err, "scan %s: %s", dir, strerror(errno));
        return NULL;
    }
    tmpl_set *s = tmpl_set_new();
    char *path = NULL, *text = NULL, *name = NULL;
    int ok = 0;

    for (int i = 0; i < nents; i++) {
        free(path);
        free(text);
        free(name);
        text = name = NULL;
        const char *fname = ents[i]->d_name;
        if (asprintf(&path, "%s/%s", dir, fname) < 0) {
            path = NULL;
            rb_err(err, "out of memory");
            goto out;
        }
        struct stat st;
        if (stat(path, &st) < 0) {
            rb_err(err, "stat %s: %s", path, strerror(errno));
            goto out;
        }
        if (!S_ISREG(st.st_mode)) continue;
        size_t len;
        text = read_file(path, TMPL_MAX_FILE, &len, err);
        if (!text) goto out;
        if (strlen(text) != len) {
            rb_err(err, "%s: contains a NUL byte", path);
            goto out;
        }
        name = xstrndup(fname, strlen(fname) - 5);
        if (add_labeled(s, name, text, path, err) < 0) goto out;
    }
    /* Every partial must resolve now, not under load. */
    for (size_t i = 0; i < s->n; i++) {
        const tmpl *t = s->v[i];
        for (size_t j = 0; j < t->n; j++)
            if (t->nodes[j].kind == N_PARTIAL && !find(s, t->nodes[j].name)) {
                rb_err(err, "%s/%s.html:%d: unknown partial \"%s\"", dir, t->name,
                       t->nodes[j].line, t->nodes[j].name);
                goto out;
            }
    }
    ok = 1;
out:
    free(path);
    free(text);
    free(name);
    for (int i = 0; i < nents; i++) free(ents[i]);
    free(ents);
    if (!ok) {
        tmpl_set_free(s);
        return NULL;
    }
    return s;
}

/* ---- escaping --------------------------------------------------------------- */

int tmpl_escape_html(buf *out, const char *s)
{
    for (;;) {
        size_t k = strcspn(s, "&<>\"'`="); /* the run to copy as is */
        if (k && buf_append(out, s, k) < 0) return -1;
        s += k;
        const char *ent;
        switch (*s) {
        case '&': ent = "&amp;"; break;
        case '<': ent = "&lt;"; break;
        case '>': ent = "&gt;"; break;
        case '"': ent = "&quot;"; break;
        case '\'': ent = "&#39;"; break;
        case '`': ent = "&#96;"; break;
        case '=': ent = "&#61;"; break;
        default: return buf_append(out, "", 0); /* the end: "" also fails once the buffer is full */
        }
        if (buf_puts(out, ent) < 0) return -1;
        s++;
    }
}

int tmpl_escape_url(buf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    const char *run = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (is_name_char((char)c) || c == '.' || c == '~') continue;
        char enc[3] = {'%', hex[c >> 4], hex[c & 15]};
        if (buf_append(out, run, (size_t)(s - run)) < 0 || buf_append(out, enc, 3) < 0) return -1;
        run = s + 1;
    }
    return buf_append(out, run, (size_t)(s - run));
}

/* ---- rendering -------------------------------------------------------------- */

/* The context stack lives on the C stack, innermost first. */
typedef struct ctx {
    const cJSON *v;
    const struct ctx *up;
} ctx;

typedef struct render {
    const tmpl_set *set;
    buf *out;
    char *err;
    int depth; /* partial nesting */
} render;

/* cJSON_GetObjectItemCaseSensitive(o, k) (the first member named k), comparing
 * first bytes before whole names: lookups walk many members of the rows. */
static const cJSON *member(const cJSON *o, const char *k)
{
    for (const cJSON *e = o->child; e; e = e->next)
        if (e->string && e->string[0] == k[0] && strcmp(e->string, k) == 0) return e;
    return NULL;
}

static const cJSON *lookup(const ctx *c, const node *nd)
{
    if (nd->nseg == 0) return c->v;
    const char *seg = nd->segs;
    const cJSON *v = NULL;
    for (; c && !v; c = c->up)
        if (cJSON_IsObject(c->v)) v = member(c->v, seg);
    for (int i = 1; i < nd->nseg && v; i++) {
        seg += strlen(seg) + 1;
        v = cJSON_IsObject(v) ? member(v, seg) : NULL;
    }
    return v;
}

static int truthy(const cJSON *v)
{
    if (!v || cJSON_IsNull(v) || cJSON_IsFalse(v)) return 0;
    if (cJSON_IsNumber(v)) return v->valuedouble != 0;
    if (cJSON_IsString(v)) return v->valuestring && v->valuestring[0];
    if (cJSON_IsArray(v)) return v->child != NULL;
    return 1;
}

static void fmt_number(double d, char *tmp, size_t n)
{
    if (d > -1e17 && d < 1e17 && d == (double)(long long)d) /* false for NaN; -0 prints "0" */
        snprintf(tmp, n, "%lld", (long long)d);
    else
        snprintf(tmp, n, "%.15g", d);
}

/* Text of a scalar value: v's string, tmp (>= 64 bytes) or a literal; NULL
 * with r->err filled for an object or array. */
static const char *value_text(render *r, const tmpl *t, const node *nd, const cJSON *v, char *tmp)
{
    if (!v || cJSON_IsNull(v)) return "";
    if (cJSON_IsTrue(v)) return "true";
    if (cJSON_IsFalse(v)) return "false";
    if (cJSON_IsString(v)) return v->valuestring ? v->valuestring : "";
    if (cJSON_IsNumber(v)) {
        fmt_number(v->valuedouble, tmp, 64);
        return tmp;
    }
    rb_err(r->err, "%s:%d: {{%s}} is %s, not a printable value", t->name, nd->line, nd->name,
           cJSON_IsArray(v) ? "an array" : "an object");
    return NULL;
}

static int toobig(render *r)
{
    return rb_err(r->err, "rendered output exceeds %zu bytes", r->out->max);
}

static int render_range(render *r, const tmpl *t, size_t from, size_t to, const ctx *c);

static int render_partial(render *r, const tmpl *t, const node *nd, const ctx *c)
{
    const tmpl *p = find(r->set, nd->name);
    if (!p)
        return rb_err(r->err, "%s:%d: unknown partial \"%s\"", t->name, nd->line, nd->name);
    if (r->depth >= TMPL_MAX_PARTIAL_DEPTH)
        return rb_err(r->err, "%s:%d: partials nested deeper than %d (recursive {{> %s}}?)",
                      t->name, nd->line, TMPL_MAX_PARTIAL_DEPTH, nd->name);
    r->depth++;
    int rc = render_range(r, p, 0, p->n, c);
    r->depth--;
    return rc;
}

static int render_section(render *r, const tmpl *t, size_t i, const ctx *c)
{
    const node *nd = &t->nodes[i];
    const cJSON *v = lookup(c, nd);
    if (nd->kind == N_INVERTED) return truthy(v) ? 0 : render_range(r, t, i + 1, nd->end, c);
    if (!truthy(v)) return 0;
    if (cJSON_IsArray(v)) {
        for (const cJSON *e = v->child; e; e = e->next) {
            ctx inner = {e, c};
            if (render_range(r, t, i + 1, nd->end, &inner) < 0) return -1;
        }
        return 0;
    }
    if (cJSON_IsObject(v)) {
        ctx inner = {v, c};
        return render_range(r, t, i + 1, nd->end, &inner);
    }
    return render_range(r, t, i + 1, nd->end, c);
}

static int render_range(render *r, const tmpl *t, size_t from, size_t to, const ctx *c)
{
    char tmp[64];
    const char *s;
    size_t i = from;
    while (i < to) {
        const node *nd = &t->nodes[i];
        int rc = 0;
        switch (nd->kind) {
        case N_TEXT:
            if (buf_append(r->out, nd->text, nd->len) < 0) return toobig(r);
            break;
        case N_VAR:
        case N_URL:
        case N_RAW:
            if (!(s = value_text(r, t, nd, lookup(c, nd), tmp))) return -1;
            if (nd->kind == N_VAR) rc = tmpl_escape_html(r->out, s);
            else if (nd->kind == N_URL) rc = tmpl_escape_url(r->out, s);
            else rc = buf_puts(r->out, s);
            if (rc < 0) return toobig(r);
            break;
        case N_SECTION:
        case N_INVERTED:
            if (render_section(r, t, i, c) < 0) return -1;
            i = nd->end;
            continue;
        case N_PARTIAL:
            if (render_partial(r, t, nd, c) < 0) return -1;
            break;
        }
        i++;
    }
    return 0;
}

int tmpl_render(const tmpl_set *s, const char *name, const cJSON *data, buf *out, char *err)
{
    const tmpl *t = find(s, name);
    if (!t) return rb_err(err, "unknown template \"%s\"", name);
    render r = {s, out, err, 0};
    ctx root = {data, NULL};
    return render_range(&r, t, 0, t->n, &root);
}
