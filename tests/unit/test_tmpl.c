/* test_tmpl.c -- unit tests for the HTML template engine (lib/tmpl.c). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testhelp.h"
#include "tmpl.h"

static char err[RB_ERR_LEN];

/* Adds template "t" (plus any extra name/text pairs) to a fresh set and
 * renders "t" with json; returns the malloc'd output or NULL (err filled). */
static char *render1(const char *text, const char *json)
{
    char *res = NULL;
    err[0] = '\0';
    tmpl_set *s = tmpl_set_new();
    cJSON *data = json ? cJSON_Parse(json) : NULL;
    if (json && !data) {
        snprintf(err, sizeof err, "bad test json");
        goto out;
    }
    if (tmpl_set_add(s, "t", text, err) < 0) goto out;
    buf b;
    buf_init(&b, 1 << 20);
    if (tmpl_render(s, "t", data, &b, err) < 0) {
        buf_cleanup(&b);
        goto out;
    }
    res = buf_take(&b);
out:
    cJSON_Delete(data);
    tmpl_set_free(s);
    return res;
}

/* Checks that text renders with json to want. */
#define CHECK_RENDER(text, json, want)                                                   \
    do {                                                                                 \
        char *got_ = render1(text, json);                                                \
        if (!got_) fprintf(stderr, "  render error: %s\n", err);                         \
        CHECK_STREQ(got_, want);                                                         \
        free(got_);                                                                      \
    } while (0)

/* Checks that adding text fails with an error containing want. */
#define CHECK_PARSE_ERR(text, want)                                                      \
    do {                                                                                 \
        tmpl_set *s_ = tmpl_set_new();                                                   \
        err[0] = '\0';                                                                   \
        CHECK(tmpl_set_add(s_, "t", text, err) == -1);                                   \
        if (!strstr(err, want)) fprintf(stderr, "  err = \"%s\", want \"%s\"\n", err, want); \
        CHECK(strstr(err, want) != NULL);                                                \
        tmpl_set_free(s_);                                                               \
    } while (0)

static void test_plain_text(void)
{
    CHECK_RENDER("", "{}", "");
    CHECK_RENDER("hello } { }} world", "{}", "hello } { }} world");
    CHECK_RENDER("a{{! a comment\nover lines }}b", "{}", "ab");
}

static void test_escape_text_and_attr(void)
{
    const char *js = "{\"x\":\"<script>alert(\\\"x\\\")&'</script>\"}";
    const char *esc = "&lt;script&gt;alert(&quot;x&quot;)&amp;&#39;&lt;/script&gt;";
    char want[512];
    CHECK_RENDER("<p>{{x}}</p>", js, (snprintf(want, sizeof want, "<p>%s</p>", esc), want));
    CHECK_RENDER("<a title=\"{{x}}\" data-x='{{ x }}'>", js,
                 (snprintf(want, sizeof want, "<a title=\"%s\" data-x='%s'>", esc, esc), want));
    /* unquoted attribute: no space-free breakout via = or ` */
    CHECK_RENDER("<a class={{x}}>", "{\"x\":\"a=b`c\"}", "<a class=a&#61;b&#96;c>");

    buf b;
    buf_init(&b, 100);
    CHECK(tmpl_escape_html(&b, "a<b>&") == 0);
    CHECK_STREQ(b.data, "a&lt;b&gt;&amp;");
    buf_cleanup(&b);
}

static void test_url(void)
{
    CHECK_RENDER("<a href=\"/q?s={{url:q}}\">", "{\"q\":\"a b&c/d?e=f~g.h_i-j\"}",
                 "<a href=\"/q?s=a%20b%26c%2Fd%3Fe%3Df~g.h_i-j\">");
    /* UTF-8 bytes "é" and "€" */
    CHECK_RENDER("{{url:u}}", "{\"u\":\"\xc3\xa9\xe2\x82\xac\"}", "%C3%A9%E2%82%AC");
    CHECK_RENDER("{{url:u}}", "{\"u\":\"<\\\"'>\"}", "%3C%22%27%3E");
    CHECK_RENDER("{{url:n}}|{{url:missing}}", "{\"n\":42}", "42|");

    buf b;
    buf_init(&b, 100);
    CHECK(tmpl_escape_url(&b, "x y") == 0);
    CHECK_STREQ(b.data, "x%20y");
    buf_cleanup(&b);
}

static void test_scalars_and_numbers(void)
{
    CHECK_RENDER("{{a}} {{b}} {{c}} {{d}} {{e}} {{f}}",
                 "{\"a\":3,\"b\":3.5,\"c\":1e-7,\"d\":1234567890123,\"e\":-0.0,\"f\":-12}",
                 "3 3.5 1e-07 1234567890123 0 -12");
    CHECK_RENDER("{{a}} {{b}}", "{\"a\":1e20,\"b\":0.1}", "1e+20 0.1");
    CHECK_RENDER("[{{t}}][{{f}}][{{n}}][{{missing}}]", "{\"t\":true,\"f\":false,\"n\":null}",
                 "[true][false][][]");
    CHECK_RENDER("[{{x}}]", NULL, "[]");
}

static void test_object_as_value_is_error(void)
{
    CHECK(render1("{{o}}", "{\"o\":{}}") == NULL);
    CHECK(strstr(err, "t:1: {{o}} is an object") != NULL);
    CHECK(render1("\n{{a}}", "{\"a\":[1]}") == NULL);
    CHECK(strstr(err, "t:2: {{a}} is an array") != NULL);
}

static void test_dotted(void)
{
    const char *js = "{\"a\":{\"b\":{\"c\":\"deep\"},\"x\":1},\"x\":\"outer\",\"s\":\"str\"}";
    CHECK_RENDER("{{a.b.c}}|{{a.x}}|{{a.nope.c}}|{{s.len}}", js, "deep|1||");
    /* once "a" is found, the rest does not fall back to outer contexts */
    CHECK_RENDER("{{#a.b}}{{c}}{{x}}{{a.b.x}}{{/a.b}}", js, "deepouter");
}

static void test_sections(void)
{
    const char *js = "{\"title\":\"T\",\"runs\":[{\"name\":\"r1\",\"ops\":[1,2]},"
                     "{\"name\":\"r2\",\"ops\":[],\"title\":\"own\"}],"
                     "\"obj\":{\"k\":\"v\"},\"yes\":true,\"no\":false,\"zero\":0,\"one\":1,"
                     "\"empty\":\"\",\"str\":\"s\",\"none\":[],\"nul\":null}";
    /* arrays push each element; lookups fall back to outer contexts */
    CHECK_RENDER("{{#runs}}<{{name}} {{title}}:{{#ops}}{{.}},{{/ops}}{{^ops}}none{{/ops}}>"
                 "{{/runs}}",
                 js, "<r1 T:1,2,><r2 own:none>");
    CHECK_RENDER("{{#obj}}{{k}}{{title}}{{/obj}}", js, "vT");
    /* a truthy scalar does not push: "." stays the enclosing context */
    CHECK_RENDER("{{#yes}}Y{{title}}{{/yes}}{{#one}}1{{/one}}{{#str}}S{{title}}{{/str}}", js,
                 "YT1ST");
    CHECK_RENDER("{{#l}}{{#ok}}{{.}}{{/ok}}{{/l}}", "{\"ok\":1,\"l\":[\"a\",\"b\"]}", "ab");
    CHECK_RENDER("{{#no}}a{{/no}}{{#zero}}b{{/zero}}{{#empty}}c{{/empty}}{{#none}}d{{/none}}"
                 "{{#nul}}e{{/nul}}{{#missing}}f{{/missing}}",
                 js, "");
    CHECK_RENDER("{{^no}}a{{/no}}{{^zero}}b{{/zero}}{{^empty}}c{{/empty}}{{^none}}d{{/none}}"
                 "{{^nul}}e{{/nul}}{{^missing}}f{{/missing}}",
                 js, "abcdef");
    CHECK_RENDER("{{^yes}}a{{/yes}}{{^obj}}b{{/obj}}{{^runs}}c{{/runs}}{{^str}}d{{/str}}", js, "");
    /* nested arrays of scalars, "." is the innermost element */
    CHECK_RENDER("{{#m}}[{{#.}}{{.}}{{/.}}]{{/m}}", "{\"m\":[[1,2],[3]]}", "[12][3]");
    /* same name nested */
    CHECK_RENDER("{{#a}}{{#a}}{{v}}{{/a}}{{/a}}", "{\"a\":{\"a\":{\"v\":\"in\"}}}", "in");
}

static void test_raw(void)
{
    CHECK_RENDER("<div>{{raw:html_chart}}</div>", "{\"html_chart\":\"<svg><b>&</b></svg>\"}",
                 "<div><svg><b>&</b></svg></div>");
    CHECK_RENDER("{{raw:run.html_svg}}", "{\"run\":{\"html_svg\":\"<svg/>\"}}", "<svg/>");
    CHECK_PARSE_ERR("ok\n{{raw:chart}}", "t:2: {{raw:chart}} refused");
    CHECK_PARSE_ERR("{{raw:html_x.y}}", "refused");
    CHECK_PARSE_ERR("{{raw:.}}", "refused");
    CHECK_PARSE_ERR("{{{x}}}", "not supported");
    CHECK_PARSE_ERR("{{&x}}", "not supported");
}

static void test_parse_errors(void)
{
    CHECK_PARSE_ERR("a\n\n{{#s}}\nb", "t:3: unclosed section {{#s}}");
    CHECK_PARSE_ERR("a\n{{#s}}\n{{^t}}\n{{/s}}", "t:4: {{/s}} does not match {{^t}} opened at line 3");
    CHECK_PARSE_ERR("x\n{{/s}}", "t:2: {{/s}} closes no open section");
    CHECK_PARSE_ERR("a\nb {{name\nc", "t:2: unterminated {{");
    CHECK_PARSE_ERR("{{! never closed", "t:1: unterminated comment");
    CHECK_PARSE_ERR("{{! multi\nline }}\n{{}}", "t:3: bad tag");
    CHECK_PARSE_ERR("{{a..b}}", "bad tag");
    CHECK_PARSE_ERR("{{a b}}", "bad tag");
    CHECK_PARSE_ERR("{{=<% %>=}}", "delimiters");
    CHECK_PARSE_ERR("{{> ../etc}}", "bad partial name");

    char deep[TMPL_MAX_NEST * 8 + 32] = "";
    for (int i = 0; i <= TMPL_MAX_NEST; i++) strcat(deep, "{{#a}}");
    CHECK_PARSE_ERR(deep, "nested deeper");

    tmpl_set *s = tmpl_set_new();
    CHECK(tmpl_set_add(s, "x", "1", err) == 0);
    CHECK(tmpl_set_add(s, "x", "2", err) == -1);
    CHECK(strstr(err, "duplicate") != NULL);
    CHECK(tmpl_set_add(s, "a/b", "2", err) == -1);
    CHECK(strstr(err, "bad template name") != NULL);
    tmpl_set_free(s);
}

static void test_partials_and_layout(void)
{
    tmpl_set *s = tmpl_set_new();
    CHECK(tmpl_set_add(s, "header", "<html><title>{{title}}</title><body>", err) == 0);
    CHECK(tmpl_set_add(s, "footer", "</body></html>", err) == 0);
    CHECK(tmpl_set_add(s, "row", "<li>{{name}} of {{title}}</li>", err) == 0);
    CHECK(tmpl_set_add(s, "page",
                       "{{> header}}<ul>{{#rows}}{{>row}}{{/rows}}</ul>{{> footer}}", err) == 0);
    cJSON *d = cJSON_Parse("{\"title\":\"A&B\",\"rows\":[{\"name\":\"x\"},{\"name\":\"<y>\"}]}");
    buf b;
    buf_init(&b, 4096);
    CHECK(tmpl_render(s, "page", d, &b, err) == 0);
    CHECK_STREQ(b.data, "<html><title>A&amp;B</title><body><ul><li>x of A&amp;B</li>"
                        "<li>&lt;y&gt; of A&amp;B</li></ul></body></html>");
    /* render many times from the same parsed set, appending */
    CHECK(tmpl_render(s, "footer", d, &b, err) == 0);
    CHECK(strstr(b.data, "</html></body></html>") != NULL);
    buf_reset(&b);

    CHECK(tmpl_render(s, "nope", d, &b, err) == -1);
    CHECK_STREQ(err, "unknown template \"nope\"");
    CHECK(tmpl_set_add(s, "bad", "x\n{{> missing}}", err) == 0);
    CHECK(tmpl_render(s, "bad", d, &b, err) == -1);
    CHECK_STREQ(err, "bad:2: unknown partial \"missing\"");

    /* recursion: terminating recursion is fine, runaway hits the limit */
    CHECK(tmpl_set_add(s, "tree", "({{name}}{{#kids}}{{> tree}}{{/kids}})", err) == 0);
    cJSON *tr = cJSON_Parse("{\"name\":\"a\",\"kids\":[{\"name\":\"b\",\"kids\":[{\"name\":"
                            "\"c\",\"kids\":[]}]},{\"name\":\"d\",\"kids\":[]}]}");
    buf_reset(&b);
    CHECK(tmpl_render(s, "tree", tr, &b, err) == 0);
    CHECK_STREQ(b.data, "(a(b(c))(d))");
    /* leaves without "kids" find the parent's through context fallback (the
     * Mustache gotcha): the depth limit turns that into an error, not a hang */
    cJSON_DeleteItemFromObject(cJSON_GetArrayItem(cJSON_GetObjectItem(tr, "kids"), 1), "kids");
    buf_reset(&b);
    CHECK(tmpl_render(s, "tree", tr, &b, err) == -1);
    CHECK(strstr(err, "tree:1: partials nested deeper than 16") != NULL);
    CHECK(tmpl_set_add(s, "loop", "x{{> loop}}", err) == 0);
    buf_reset(&b);
    CHECK(tmpl_render(s, "loop", d, &b, err) == -1);
    CHECK(strstr(err, "loop:1: partials nested deeper than 16") != NULL);
    CHECK(tmpl_set_add(s, "ping", "{{> pong}}", err) == 0);
    CHECK(tmpl_set_add(s, "pong", "{{> ping}}", err) == 0);
    CHECK(tmpl_render(s, "ping", d, &b, err) == -1);
    CHECK(strstr(err, "nested deeper") != NULL);

    buf_cleanup(&b);
    cJSON_Delete(tr);
    cJSON_Delete(d);
    tmpl_set_free(s);
}

static void test_output_cap(void)
{
    tmpl_set *s = tmpl_set_new();
    CHECK(tmpl_set_add(s, "t", "{{#r}}0123456789{{x}}{{/r}}", err) == 0);
    cJSON *d = cJSON_Parse("{\"x\":\"<\",\"r\":[1,2,3,4,5,6,7,8,9,10]}");
    buf b;
    buf_init(&b, 100);
    CHECK(tmpl_render(s, "t", d, &b, err) == -1);
    CHECK_STREQ(err, "rendered output exceeds 100 bytes");
    CHECK(b.len <= 100);
    buf_cleanup(&b);
    buf_init(&b, 140); /* exactly fits: 10 * (10 + 4) */
    CHECK(tmpl_render(s, "t", d, &b, err) == 0);
    CHECK(b.len == 140);
    buf_cleanup(&b);
    cJSON_Delete(d);
    tmpl_set_free(s);
}

static int write_str(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fputs(text, f);
    return fclose(f);
}

static void rm_dir(const char *dir, const char **names)
{
    char path[512];
    for (; *names; names++) {
        snprintf(path, sizeof path, "%s/%s", dir, *names);
        unlink(path);
    }
    rmdir(dir);
}

static void test_load_dir(void)
{
    char dir[] = "/tmp/test_tmpl.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    const char *files[] = {"layout_top.html", "page.html", "notes.txt", ".hidden.html",
                           "broken.html", "sub.html", NULL};
    char sub[600];
    snprintf(sub, sizeof sub, "%s/sub.html", dir);
    CHECK(mkdir(sub, 0700) == 0); /* a directory named *.html is skipped */
    CHECK(write_str(dir, "layout_top.html", "<h1>{{title}}</h1>\n") == 0);
    CHECK(write_str(dir, "page.html", "{{> layout_top}}<p>{{body}}</p>") == 0);
    CHECK(write_str(dir, "notes.txt", "{{#not a template") == 0);
    CHECK(write_str(dir, ".hidden.html", "{{#broken") == 0);

    tmpl_set *s = tmpl_set_load_dir(dir, err);
    CHECK(s != NULL);
    if (s) {
        cJSON *d = cJSON_Parse("{\"title\":\"Runs\",\"body\":\"a<b\"}");
        buf b;
        buf_init(&b, 1024);
        CHECK(tmpl_render(s, "page", d, &b, err) == 0);
        CHECK_STREQ(b.data, "<h1>Runs</h1>\n<p>a&lt;b</p>");
        CHECK(tmpl_render(s, "notes", d, &b, err) == -1);
        buf_cleanup(&b);
        cJSON_Delete(d);
        tmpl_set_free(s);
    }

    /* a parse error names the file and the line */
    CHECK(write_str(dir, "broken.html", "line1\nline2 {{#rows}}\n") == 0);
    s = tmpl_set_load_dir(dir, err);
    CHECK(s == NULL);
    char want[700];
    snprintf(want, sizeof want, "%s/broken.html:2: unclosed section {{#rows}}", dir);
    CHECK_STREQ(err, want);
    tmpl_set_free(s);

    /* an unknown partial is found at load time */
    CHECK(write_str(dir, "broken.html", "\n\n{{> nothere}}") == 0);
    s = tmpl_set_load_dir(dir, err);
    CHECK(s == NULL);
    snprintf(want, sizeof want, "%s/broken.html:3: unknown partial \"nothere\"", dir);
    CHECK_STREQ(err, want);

    rmdir(sub);
    rm_dir(dir, files);
    CHECK(access(dir, F_OK) != 0);

    CHECK(tmpl_set_load_dir("/nonexistent/tmpl", err) == NULL);
    CHECK(strstr(err, "/nonexistent/tmpl") != NULL);
}

/* Several threads render one shared set and data at once. */
struct job {
    const tmpl_set *s;
    const cJSON *d;
    int ok;
};

static void *render_many(void *arg)
{
    struct job *j = arg;
    char e[RB_ERR_LEN];
    buf b;
    buf_init(&b, 1 << 16);
    j->ok = 1;
    for (int i = 0; i < 200; i++) {
        buf_reset(&b);
        if (tmpl_render(j->s, "p", j->d, &b, e) < 0 || strcmp(b.data, "[a:1][b:2]") != 0)
            j->ok = 0;
    }
    buf_cleanup(&b);
    return NULL;
}

static void test_threads(void)
{
    tmpl_set *s = tmpl_set_new();
    CHECK(tmpl_set_add(s, "item", "[{{k}}:{{v}}]", err) == 0);
    CHECK(tmpl_set_add(s, "p", "{{#items}}{{> item}}{{/items}}", err) == 0);
    cJSON *d = cJSON_Parse("{\"items\":[{\"k\":\"a\",\"v\":1},{\"k\":\"b\",\"v\":2}]}");
    pthread_t th[4];
    struct job jobs[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (struct job){s, d, 0};
        CHECK(pthread_create(&th[i], NULL, render_many, &jobs[i]) == 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK(jobs[i].ok);
    }
    cJSON_Delete(d);
    tmpl_set_free(s);
}

int main(void)
{
    RUN(test_plain_text);
    RUN(test_escape_text_and_attr);
    RUN(test_url);
    RUN(test_scalars_and_numbers);
    RUN(test_object_as_value_is_error);
    RUN(test_dotted);
    RUN(test_sections);
    RUN(test_raw);
    RUN(test_parse_errors);
    RUN(test_partials_and_layout);
    RUN(test_output_cap);
    RUN(test_load_dir);
    RUN(test_threads);
    return TH_DONE();
}
