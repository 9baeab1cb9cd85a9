/* test_chart.c -- unit tests for the SVG chart module (lib/chart.c): scales, ticks,
 * time parsing, one circle per point, escaping, band and marker placement. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chart.h"
#include "testhelp.h"

static char err[RB_ERR_LEN];

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

/* The numeric attribute `name` (e.g. "cx") of the n-th (0-based) element starting with
 * `tag` in svg; NaN if absent. */
static double attr(const char *svg, const char *tag, int n, const char *name)
{
    const char *p = svg;
    for (int i = 0; p && i <= n; i++) {
        p = strstr(p, tag);
        if (p && i < n) p += strlen(tag);
    }
    if (!p) return NAN;
    const char *end = strchr(p + strlen(tag), '>');
    char key[32];
    snprintf(key, sizeof key, " %s=\"", name);
    const char *a = strstr(p + strlen(tag) - 1, key);
    if (!a || (end && a > end)) return NAN;
    return strtod(a + strlen(key), NULL);
}

static void test_linear_nice_ticks(void)
{
    chart_scale s;
    chart_scale_linear(&s, 3, 97, 5);
    CHECK_NEAR(s.step, 20, 1e-9);
    CHECK_NEAR(s.lo, 0, 1e-9);
    CHECK_NEAR(s.hi, 100, 1e-9);
    CHECK(s.nticks == 6);
    CHECK_NEAR(s.ticks[3], 60, 1e-9);
    chart_scale_linear(&s, 0.013, 0.087, 5);
    CHECK_NEAR(s.step, 0.02, 1e-12);
    CHECK_NEAR(s.lo, 0, 1e-12);
    CHECK_NEAR(s.hi, 0.1, 1e-12);
    chart_scale_linear(&s, 101000, 123000, 5); /* step 5000: 100k..125k */
    CHECK_NEAR(s.step, 5000, 1e-6);
    CHECK_NEAR(s.lo, 100000, 1e-6);
    CHECK_NEAR(s.hi, 125000, 1e-6);
    chart_scale_linear(&s, 0, 12, 5); /* raw 2.4 -> 2.5 */
    CHECK_NEAR(s.step, 2.5, 1e-12);
    CHECK_NEAR(s.hi, 12.5, 1e-12);
    chart_scale_linear(&s, -7, 3, 5);
    CHECK_NEAR(s.step, 2, 1e-12);
    CHECK_NEAR(s.lo, -8, 1e-12);
    CHECK(s.lo <= -7 && s.hi >= 3);
    int zero = 0;
    for (int i = 0; i < s.nticks; i++) zero |= s.ticks[i] == 0;
    CHECK(zero);
    CHECK_NEAR(chart_scale_map(&s, s.lo, 100, 0), 100, 1e-9);
    CHECK_NEAR(chart_scale_map(&s, s.hi, 100, 0), 0, 1e-9);
    CHECK_NEAR(chart_scale_map(&s, (s.lo + s.hi) / 2, 100, 0), 50, 1e-9);
}

static void test_linear_degenerate(void)
{
    chart_scale s;
    chart_scale_linear(&s, 50, 50, 5); /* one point / all equal */
    CHECK(s.lo < 50 && s.hi > 50 && s.lo <= 45 && s.hi >= 55);
    CHECK(s.nticks >= 2);
    chart_scale_linear(&s, 0, 0, 5);
    CHECK(s.lo <= -1 && s.hi >= 1 && s.lo < s.hi);
    chart_scale_linear(&s, NAN, 3, 5);
    CHECK_NEAR(s.lo, 0, 1e-12);
    CHECK_NEAR(s.hi, 1, 1e-12);
    chart_scale_linear(&s, 9, 1, 5); /* reversed */
    CHECK(s.lo <= 1 && s.hi >= 9);
    chart_scale_linear(&s, 0, 1e9, 1000); /* target clamped: ticks stay within the array */
    CHECK(s.nticks <= CHART_MAX_TICKS && s.nticks >= 2);
    chart_scale_linear(&s, 1e-300, 2e-300, 5);
    CHECK(s.lo < s.hi && s.nticks >= 2 && s.nticks <= CHART_MAX_TICKS);
}

static void test_log_scale(void)
{
    chart_scale s;
    CHECK(chart_scale_log(&s, 3, 4500) == 0);
    CHECK(s.log);
    CHECK_NEAR(s.lo, 1, 1e-12);
    CHECK_NEAR(s.hi, 10000, 1e-9);
    CHECK(s.nticks == 5);
    CHECK_NEAR(s.ticks[2], 100, 1e-9);
    CHECK_NEAR(chart_scale_map(&s, 100, 0, 400), 200, 1e-9);
    CHECK_NEAR(chart_scale_map(&s, 1000, 0, 400), 300, 1e-9);
    CHECK(chart_scale_log(&s, 20, 80) == 0); /* one decade: 10 20 50 100 */
    CHECK(s.nticks == 4);
    CHECK_NEAR(s.ticks[1], 20, 1e-9);
    CHECK_NEAR(s.ticks[2], 50, 1e-9);
    CHECK(chart_scale_log(&s, 1000, 1000) == 0); /* all equal: a decade around */
    CHECK(s.lo < 1000 && s.hi > 1000);
    CHECK(chart_scale_log(&s, 100, 1000) == 0); /* exact powers stay in their decade */
    CHECK_NEAR(s.lo, 100, 1e-9);
    CHECK_NEAR(s.hi, 1000, 1e-9);
    CHECK(chart_scale_log(&s, 0, 10) == -1);
    CHECK(chart_scale_log(&s, -5, 10) == -1);
    CHECK(chart_scale_log(&s, NAN, 10) == -1);
    CHECK(chart_scale_log(&s, 1e-100, 1e100) == 0);
    CHECK(s.nticks <= CHART_MAX_TICKS && s.nticks >= 2);
    CHECK_NEAR(chart_scale_map(&s, 0, 7, 9), 7, 1e-12); /* v <= 0 maps to the bottom */
}

static void test_time_scale_and_parse(void)
{
    double t;
    CHECK(chart_parse_time("2026-01-02T03:04:05Z", &t) == 0);
    CHECK_NEAR(t, 1767323045, 1e-6);
    CHECK(chart_parse_time("2026-01-02T03:04:05.250Z", &t) == 0);
    CHECK_NEAR(t, 1767323045.25, 1e-6);
    CHECK(chart_parse_time("2026-01-02T04:04:05+01:00", &t) == 0);
    CHECK_NEAR(t, 1767323045, 1e-6);
    CHECK(chart_parse_time("2026-01-02 03:04:05-00:30", &t) == 0);
    CHECK_NEAR(t, 1767323045 + 1800, 1e-6);
    CHECK(chart_parse_time("2026-01-02", &t) == -1);
    CHECK(chart_parse_time("2026-13-02T03:04:05Z", &t) == -1);
    CHECK(chart_parse_time("2026-01-02T03:04:05", &t) == -1);
    CHECK(chart_parse_time("2026-01-02T03:04:05Zjunk", &t) == -1);
    CHECK(chart_parse_time(NULL, &t) == -1);

    chart_scale s;
    double a = 1767323045, b = a + 10 * 86400;
    chart_scale_time(&s, a, b, 6);
    CHECK(s.lo < a && s.hi > b);
    CHECK(s.step >= 86400);
    CHECK(s.nticks >= 2 && s.nticks <= 8);
    for (int i = 0; i < s.nticks; i++) CHECK(fmod(s.ticks[i], 86400) == 0); /* UTC midnights */
    chart_scale_time(&s, a, a, 6); /* one point */
    CHECK(s.lo < a && s.hi > a && s.nticks >= 1);
    chart_scale_time(&s, a, a + 120, 6); /* two minutes: half-minute ticks */
    CHECK_NEAR(s.step, 30, 1e-9);
    chart_scale_time(&s, a, a + 3, 6); /* seconds apart: second ticks */
    CHECK_NEAR(s.step, 1, 1e-9);
    CHECK(s.nticks >= 3);
    chart_scale_time(&s, a, a + 30 * 86400, 6); /* a month: weekly ticks */
    CHECK_NEAR(s.step, 7 * 86400, 1e-9);
}

/* n points an hour apart with values 100 + i, run ids r0..; caller frees. */
static chart_point *mkpoints(size_t n, char (*times)[32], char (*ids)[16])
{
    chart_point *p = calloc(n, sizeof *p);
    for (size_t i = 0; i < n; i++) {
        snprintf(times[i], 32, "2026-03-%02uT%02u:00:00Z", (unsigned)(i / 24 % 28 + 1), (unsigned)(i % 24));
        snprintf(ids[i], 16, "r%u", (unsigned)(i % 100000));
        p[i].time = times[i];
        p[i].label = ids[i];
        p[i].y = 100 + (double)i;
        p[i].band_lo = p[i].band_hi = NAN;
        p[i].run_id = ids[i];
        p[i].title = ids[i];
        p[i].href = "/runs/x";
    }
    return p;
}

static char *render(const chart_spec *c, chart_info *info)
{
    buf b;
    buf_init(&b, 16u << 20);
    if (chart_render(c, &b, info, err) < 0) {
        buf_cleanup(&b);
        return NULL;
    }
    return buf_take(&b);
}

static void test_one_circle_per_point(void)
{
    char times[20][32], ids[20][16];
    chart_point *p = mkpoints(20, times, ids);
    p[5].y = NAN; /* not drawable: skipped */
    chart_spec c = {.x = CHART_X_TIME, .aria_label = "ops", .y_label = "Throughput (ops/s)",
                    .x_label = "Run start (UTC)", .pts = p, .npts = 20, .band_lo = NAN, .band_hi = NAN};
    chart_info info;
    char *svg = render(&c, &info);
    CHECK(svg != NULL);
    if (svg) {
        CHECK(count(svg, "<circle class=\"pt\"") == 19);
        CHECK(info.drawn == 19);
        CHECK(count(svg, "data-run=\"r4\"") == 1);
        CHECK(count(svg, "data-run=\"r5\"") == 0);
        CHECK(count(svg, "<title>") == 19);
        CHECK(count(svg, "<a href=\"/runs/x\">") == 19);
        CHECK(strncmp(svg, "<svg ", 5) == 0 && strstr(svg, "role=\"img\"") && strstr(svg, "viewBox=\"0 0 800 320\""));
        CHECK(strstr(svg, "class=\"chart\"") != NULL);
        CHECK(strstr(svg, ">03-01 ") != NULL); /* date-and-time ticks (20 hours) */
        CHECK(count(svg, "<svg") == 1 && count(svg, "</svg>") == 1);
        /* Later points are higher (smaller y) and further right. */
        CHECK(attr(svg, "<circle class=\"pt\"", 0, "cx") < attr(svg, "<circle class=\"pt\"", 1, "cx"));
        CHECK(attr(svg, "<circle class=\"pt\"", 0, "cy") > attr(svg, "<circle class=\"pt\"", 18, "cy"));
    }
    free(svg);
    c.x = CHART_X_ORDINAL; /* ordinal: labels from the points */
    svg = render(&c, &info);
    CHECK(svg && count(svg, "<circle class=\"pt\"") == 19 && strstr(svg, ">r0</text>"));
    free(svg);
    c.npts = 1; /* one point */
    svg = render(&c, &info);
    CHECK(svg && count(svg, "<circle class=\"pt\"") == 1);
    free(svg);
    c.npts = 0; /* none */
    svg = render(&c, &info);
    CHECK(svg && count(svg, "<circle") == 0 && strstr(svg, "no data") && info.drawn == 0);
    free(svg);
    free(p);
}

static void test_log_chart_refuses_nonpositive(void)
{
    char times[4][32], ids[4][16];
    chart_point *p = mkpoints(4, times, ids);
    chart_spec c = {.x = CHART_X_TIME, .log_y = 1, .pts = p, .npts = 4, .band_lo = NAN, .band_hi = NAN};
    chart_info info;
    char *svg = render(&c, &info);
    CHECK(svg && info.log_y == 1 && !info.log_refused);
    free(svg);
    p[2].y = 0;
    svg = render(&c, &info);
    CHECK(svg && info.log_y == 0 && info.log_refused == 1);
    CHECK(svg && count(svg, "<circle class=\"pt\"") == 4); /* still every point, linear */
    free(svg);
    p[2].y = -3;
    svg = render(&c, &info);
    CHECK(svg && info.log_y == 0 && count(svg, "<circle class=\"pt\"") == 4);
    free(svg);
    free(p);
}

static void test_escaping(void)
{
    const char *evil = "<script>alert(1)</script>\" onload=\"x";
    char times[2][32], ids[2][16];
    chart_point *p = mkpoints(2, times, ids);
    p[0].run_id = evil;
    p[0].title = evil;
    p[0].label = evil;
    p[1].href = "javascript:alert(1)"; /* not a safe link: dropped */
    p[0].href = "/runs/a\"b";
    chart_cp cp = {1, evil};
    chart_spec c = {.x = CHART_X_ORDINAL, .aria_label = evil, .y_label = evil, .x_label = evil, .pts = p,
                    .npts = 2, .band_lo = NAN, .band_hi = NAN, .cps = &cp, .ncps = 1};
    char *svg = render(&c, NULL);
    CHECK(svg != NULL);
    if (svg) {
        CHECK(strstr(svg, "<script") == NULL);
        CHECK(strstr(svg, "\" onload") == NULL);
        CHECK(count(svg, "&lt;script&gt;alert(1)&lt;/script&gt;") >= 6);
        CHECK(strstr(svg, "javascript:") == NULL);
        CHECK(count(svg, "<a href") == 1 && strstr(svg, "/runs/a&quot;b"));
        CHECK(strstr(svg, "since &lt;script&gt;") != NULL);
    }
    free(svg);
    free(p);
}

static void test_band_and_markers(void)
{
    char times[10][32], ids[10][16];
    chart_point *p = mkpoints(10, times, ids);
    for (int i = 0; i < 10; i++) p[i].y = i < 6 ? 100 : 80;
    for (int i = 0; i < 6; i++) p[i].band_lo = 95, p[i].band_hi = 105;
    p[7].regression = 1;
    chart_cp cp = {6, "abc1234"};
    chart_spec c = {.x = CHART_X_TIME, .pts = p, .npts = 10, .band_lo = NAN, .band_hi = NAN, .cps = &cp, .ncps = 1};
    char *svg = render(&c, NULL);
    CHECK(svg != NULL);
    if (svg) {
        CHECK(count(svg, "class=\"band\"") == 1);
        CHECK(count(svg, "class=\"marker-regression\"") == 1);
        CHECK(count(svg, "class=\"marker-cp\"") == 1);
        CHECK(strstr(svg, ">since abc1234</text>") != NULL);
        /* The regression marker sits on point 7, the change point at point 6's x. */
        CHECK_NEAR(attr(svg, "<circle class=\"marker-regression\"", 0, "cx"), attr(svg, "<circle class=\"pt\"", 7, "cx"), 1e-9);
        CHECK_NEAR(attr(svg, "<circle class=\"marker-regression\"", 0, "cy"), attr(svg, "<circle class=\"pt\"", 7, "cy"), 1e-9);
        CHECK_NEAR(attr(svg, "<g class=\"marker-cp\"><line", 0, "x1"), attr(svg, "<circle class=\"pt\"", 6, "cx"), 1e-9);
        /* The band path starts at point 0's x, above it (the band's high edge). */
        const char *d = strstr(strstr(svg, "class=\"band\""), " d=\"M");
        double bx = NAN, by = NAN;
        CHECK(d && sscanf(d + 5, "%lf %lf", &bx, &by) == 2);
        CHECK_NEAR(bx, attr(svg, "<circle class=\"pt\"", 0, "cx"), 1e-9);
        CHECK(by < attr(svg, "<circle class=\"pt\"", 0, "cy"));
    }
    free(svg);
    /* A constant band: a rect whose top is above and bottom below points at 100. */
    for (int i = 0; i < 10; i++) p[i].band_lo = p[i].band_hi = NAN, p[i].y = 100;
    c.band_lo = 90, c.band_hi = 110, c.ncps = 0;
    svg = render(&c, NULL);
    CHECK(svg && count(svg, "<rect class=\"band\"") == 1);
    if (svg) {
        double y = attr(svg, "<rect class=\"band\"", 0, "y"), h = attr(svg, "<rect class=\"band\"", 0, "height");
        double cy = attr(svg, "<circle class=\"pt\"", 0, "cy");
        CHECK(y < cy && y + h > cy);
        CHECK_NEAR(cy - y, y + h - cy, 0.2); /* 100 is the middle of 90..110 */
    }
    free(svg);
    free(p);
}

static void test_tick_labels(void)
{
    char times[100][32], ids[100][16];
    chart_point *p = mkpoints(100, times, ids);
    for (int i = 0; i < 100; i++) p[i].y = 101000 + 220.0 * i; /* 101k..122.8k: step 5k */
    chart_spec c = {.x = CHART_X_ORDINAL, .pts = p, .npts = 100, .band_lo = NAN, .band_hi = NAN};
    char *svg = render(&c, NULL);
    CHECK(svg && strstr(svg, ">100k</text>") && strstr(svg, ">125k</text>") && strstr(svg, ">105k</text>"));
    /* Ordinal labels thinned to at most 9 (every 13th of 100): r0, r13, ... */
    CHECK(svg && count(svg, "<g class=\"axis axis-x\"") == 1);
    CHECK(svg && strstr(svg, ">r13</text>") && !strstr(svg, ">r1</text>"));
    free(svg);
    for (int i = 0; i < 100; i++) p[i].y = 0.5 + 0.01 * i; /* 0.5..1.49: step 0.2 */
    svg = render(&c, NULL);
    CHECK(svg && strstr(svg, ">0.4</text>") && strstr(svg, ">1.6</text>"));
    free(svg);
    for (int i = 0; i < 100; i++) p[i].y = 2e6 + 1e4 * i; /* millions */
    svg = render(&c, NULL);
    CHECK(svg && strstr(svg, "M</text>") != NULL);
    free(svg);
    c.log_y = 1;
    for (int i = 0; i < 100; i++) p[i].y = 3 + i * 40; /* 3..3963: log ticks 1, 10, 100, 1000, 10k */
    svg = render(&c, NULL);
    CHECK(svg && strstr(svg, ">1</text>") && strstr(svg, ">1000</text>") && strstr(svg, ">10k</text>") &&
          strstr(svg, " · log scale") == NULL); /* no y label given: no axis title */
    free(svg);
    free(p);
}

static void test_cap(void)
{
    char times[50][32], ids[50][16];
    chart_point *p = mkpoints(50, times, ids);
    chart_spec c = {.x = CHART_X_TIME, .pts = p, .npts = 50, .band_lo = NAN, .band_hi = NAN};
    buf b;
    buf_init(&b, 1000);
    CHECK(chart_render(&c, &b, NULL, err) == -1);
    CHECK(strstr(err, "larger") != NULL);
    buf_cleanup(&b);
    free(p);
}

int main(void)
{
    RUN(test_linear_nice_ticks);
    RUN(test_linear_degenerate);
    RUN(test_log_scale);
    RUN(test_time_scale_and_parse);
    RUN(test_one_circle_per_point);
    RUN(test_log_chart_refuses_nonpositive);
    RUN(test_escaping);
    RUN(test_band_and_markers);
    RUN(test_tick_labels);
    RUN(test_cap);
    return TH_DONE();
}
