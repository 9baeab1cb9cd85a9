/* chart.c -- server-side inline SVG line/point charts (scales, ticks, band, markers). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chart.h"
#include "tmpl.h"

static double nice_step(double raw)
{
    if (!(raw > 0) || !isfinite(raw)) return 1;
    double e = floor(log10(raw)), p = pow(10, e), f = raw / p;
    double nf = f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10;
    return nf * p;
}

void chart_scale_linear(chart_scale *s, double min, double max, int target)
{
    memset(s, 0, sizeof *s);
    if (!isfinite(min) || !isfinite(max)) min = 0, max = 1;
    if (min > max) {
        double t = min;
        min = max, max = t;
    }
    if (min == max) {
        double d = fabs(min) * 0.1;
        if (d == 0) d = 1;
        min -= d, max += d;
    }
    if (target < 2) target = 2;
    if (target > CHART_MAX_TICKS - 2) target = CHART_MAX_TICKS - 2;
    double step = nice_step((max - min) / target);
    for (;;) {
        s->lo = floor(min / step) * step;
        s->hi = ceil(max / step) * step;
        if (s->hi <= s->lo) s->hi = s->lo + step;
        double n = floor((s->hi - s->lo) / step + 0.5) + 1;
        if (n <= CHART_MAX_TICKS) {
            s->nticks = (int)n;
            break;
        }
        step = nice_step(step * 2.01);
    }
    s->step = step;
    for (int i = 0; i < s->nticks; i++) {
        double t = s->lo + i * step;
        if (fabs(t) < step * 1e-9) t = 0;
        s->ticks[i] = t;
    }
}

int chart_scale_log(chart_scale *s, double min, double max)
{
    if (!(min > 0) || !(max > 0) || !isfinite(min) || !isfinite(max)) return -1;
    memset(s, 0, sizeof *s);
    if (min > max) {
        double t = min;
        min = max, max = t;
    }
    if (min == max) min /= sqrt(10), max *= sqrt(10);
    /* The small epsilon keeps an exact power of ten (1000 -> 3, not 2.9999) in its decade. */
    double elo = floor(log10(min) + 1e-12), ehi = ceil(log10(max) - 1e-12);
    if (ehi <= elo) ehi = elo + 1;
    s->log = 1;
    s->lo = pow(10, elo);
    s->hi = pow(10, ehi);
    int decades = (int)(ehi - elo);
    int every = 1 + decades / (CHART_MAX_TICKS - 1);
    for (double e = elo; e <= ehi && s->nticks < CHART_MAX_TICKS; e += every) {
        double p = pow(10, e);
        s->ticks[s->nticks++] = p;
        if (decades < 3 && e < ehi) {
            s->ticks[s->nticks++] = 2 * p;
            s->ticks[s->nticks++] = 5 * p;
        }
    }
    return 0;
}

double chart_scale_map(const chart_scale *s, double v, double p0, double p1)
{
    double f;
    if (s->log) {
        if (!(v > 0)) return p0;
        f = (log10(v) - log10(s->lo)) / (log10(s->hi) - log10(s->lo));
    } else {
        f = (v - s->lo) / (s->hi - s->lo);
    }
    return p0 + f * (p1 - p0);
}

void chart_scale_time(chart_scale *s, double min, double max, int target)
{
    static const double steps[] = {1, 5, 10, 15, 30, 60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600,
                                   86400, 2 * 86400, 7 * 86400, 14 * 86400, 30 * 86400,
                                   91 * 86400, 182 * 86400, 365 * 86400};
    memset(s, 0, sizeof *s);
    if (!isfinite(min) || !isfinite(max)) min = 0, max = 3600;
    if (min > max) {
        double t = min;
        min = max, max = t;
    }
    double pad = (max - min) * 0.03;
    if (min == max) pad = 3600;
    s->lo = min - pad;
    s->hi = max + pad;
    if (target < 2) target = 2;
    if (target > CHART_MAX_TICKS - 2) target = CHART_MAX_TICKS - 2;
    double span = s->hi - s->lo, step = 0;
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        if (span / steps[i] <= target) {
            step = steps[i];
            break;
        }
    if (step == 0) step = 365 * 86400 * nice_step(span / (365 * 86400) / target);
    s->step = step;
    for (double t = ceil(s->lo / step) * step; t <= s->hi && s->nticks < CHART_MAX_TICKS; t += step)
        s->ticks[s->nticks++] = t;
}

int chart_parse_time(const char *s, double *secs)
{
    int Y, M, D, h, m, sec, n = 0;
    if (!s || sscanf(s, "%4d-%2d-%2d%*1[T ]%2d:%2d:%2d%n", &Y, &M, &D, &h, &m, &sec, &n) != 6 || n != 19)
        return -1;
    if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60 || Y < 1970) return -1;
    const char *p = s + n;
    double frac = 0;
    if (*p == '.') {
        double scale = 0.1;
        p++;
        if (*p < '0' || *p > '9') return -1;
        while (*p >= '0' && *p <= '9') frac += (*p++ - '0') * scale, scale /= 10;
    }
    long off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om, k = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &k) != 2 || k != 5 || oh > 23 || om > 59) return -1;
        off = (oh * 3600L + om * 60L) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return -1;
    }
    if (*p) return -1;
    struct tm tm = {.tm_year = Y - 1900, .tm_mon = M - 1, .tm_mday = D, .tm_hour = h, .tm_min = m,
                    .tm_sec = sec};
    time_t t = timegm(&tm);
    *secs = (double)t - (double)off + frac;
    return 0;
}

/* A y tick label of v: a k/M suffix chosen by `big` (the axis's largest |value|; on a log
 * axis the value itself), as many decimals as the step (or the value, on a log axis) needs. */
static void fmt_tick(char *out, size_t n, double v, const chart_scale *s)
{
    double big = s->log ? fabs(v) : fmax(fabs(s->lo), fabs(s->hi)), div = 1;
    const char *suf = "";
    if (big >= 1e6) div = 1e6, suf = "M";
    else if (big >= 1e4) div = 1e3, suf = "k";
    double st = (s->log ? fabs(v) : s->step) / div, m = 1;
    int dec = 0;
    while (dec < 6 && st > 0 && fabs(st * m - floor(st * m + 0.5)) > 1e-6 * st * m) dec++, m *= 10;
    snprintf(out, n, "%.*f%s", dec, v / div, suf);
}

static void fmt_time_tick(char *out, size_t n, double t, double step)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, n, step < 60 ? "%H:%M:%S" : step < 86400 ? "%m-%d %H:%M" : "%Y-%m-%d", &tm);
}

static void esc(buf *out, const char *s)
{
    tmpl_escape_html(out, s ? s : "");
}

/* Appends v with one decimal ("-12.3"), without printf: the hot path of big charts.
 * Pixels stay far inside ±1e9; anything else (or NaN) is written as 0. */
static void num(buf *out, double v)
{
    char t[24], *e = t + sizeof t, *p = e;
    if (!(v > -1e9 && v < 1e9)) v = 0;
    long long x = llround(v * 10);
    int neg = x < 0;
    if (neg) x = -x;
    *--p = (char)('0' + x % 10);
    *--p = '.';
    x /= 10;
    do *--p = (char)('0' + x % 10); while ((x /= 10) > 0);
    if (neg) *--p = '-';
    buf_append(out, p, (size_t)(e - p));
}

/* Appends a path step "Cx y" (C a command letter). */
static void step(buf *out, char cmd, double x, double y)
{
    buf_append(out, &cmd, 1);
    num(out, x);
    buf_append(out, " ", 1);
    num(out, y);
}

static int href_ok(const char *h)
{
    return h && ((h[0] == '/' && h[1] != '/' && h[1] != '\\') || strncmp(h, "https://", 8) == 0 ||
                 strncmp(h, "http://", 7) == 0);
}


int chart_render(const chart_spec *c, buf *out, chart_info *info, char *err)
{
    chart_info inf = {0};
    double W = c->width > 0 ? c->width : 800, H = c->height > 0 ? c->height : 320;
    double ml = 64, mr = 16, mt = 26, mb = c->x_label ? 46 : 30;
    double x0 = ml, x1 = W - mr, y0 = H - mb, y1 = mt;

    /* px[i]: the x of point i in pixels once the scale is known (its time in seconds
     * until then); NaN when it cannot be drawn. */
    double *px = xmalloc((c->npts ? c->npts : 1) * sizeof *px);
    /* The data ranges over drawable points (and band values, so the band shows). */
    double tmin = INFINITY, tmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    int nonpos = 0;
    for (size_t i = 0; i < c->npts; i++) {
        const chart_point *p = &c->pts[i];
        px[i] = NAN;
        if (!isfinite(p->y)) continue;
        if (c->x == CHART_X_TIME) {
            double t;
            if (chart_parse_time(p->time, &t) < 0) continue;
            if (t < tmin) tmin = t;
            if (t > tmax) tmax = t;
            px[i] = t;
        } else {
            px[i] = (double)i;
        }
        if (p->y <= 0) nonpos = 1;
        double v[3] = {p->y, p->band_lo, p->band_hi};
        for (int k = 0; k < 3; k++) {
            if (!isfinite(v[k]) || (c->log_y && k > 0 && v[k] <= 0)) continue;
            if (v[k] < ymin) ymin = v[k];
            if (v[k] > ymax) ymax = v[k];
        }
        inf.drawn++;
    }
    if (inf.drawn && isfinite(c->band_lo) && isfinite(c->band_hi)) {
        double v[2] = {c->band_lo, c->band_hi};
        for (int k = 0; k < 2; k++) {
            if (c->log_y && v[k] <= 0) continue;
            if (v[k] < ymin) ymin = v[k];
            if (v[k] > ymax) ymax = v[k];
        }
    }
    chart_scale ys, xs;
    if (c->log_y && (nonpos || !inf.drawn)) inf.log_refused = nonpos;
    if (c->log_y && !nonpos && inf.drawn && chart_scale_log(&ys, ymin, ymax) == 0)
        inf.log_y = 1;
    else
        chart_scale_linear(&ys, inf.drawn ? ymin : 0, inf.drawn ? ymax : 1, 5);
    if (c->x == CHART_X_ORDINAL) {
        memset(&xs, 0, sizeof xs);
        xs.lo = -0.5;
        xs.hi = c->npts > 0 ? (double)c->npts - 0.5 : 0.5;
    } else {
        chart_scale_time(&xs, inf.drawn ? tmin : 0, inf.drawn ? tmax : 3600, 6);
    }
    for (size_t i = 0; i < c->npts; i++)
        if (isfinite(px[i])) px[i] = chart_scale_map(&xs, px[i], x0, x1);

    buf_printf(out,
               "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" role=\"img\" viewBox=\"0 0 %.0f %.0f\" "
               "preserveAspectRatio=\"xMidYMid meet\" aria-label=\"",
               W, H);
    esc(out, c->aria_label);
    buf_puts(out, "\">\n");

    /* Grid and y axis. */
    char lab[64];
    buf_puts(out, "<g class=\"grid\" stroke=\"#eaeef2\">");
    for (int i = 0; i < ys.nticks; i++) {
        double y = chart_scale_map(&ys, ys.ticks[i], y0, y1);
        buf_printf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", x0, y, x1, y);
    }
    buf_puts(out, "</g>\n<g class=\"axis axis-y\" font-size=\"11\" fill=\"#57606a\" text-anchor=\"end\">");
    buf_printf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#8c959f\"/>", x0, y0, x0, y1);
    for (int i = 0; i < ys.nticks; i++) {
        double y = chart_scale_map(&ys, ys.ticks[i], y0, y1);
        fmt_tick(lab, sizeof lab, ys.ticks[i], &ys);
        buf_printf(out, "<text x=\"%.1f\" y=\"%.1f\">%s</text>", x0 - 5, y + 4, lab);
    }
    buf_puts(out, "</g>\n<g class=\"axis axis-x\" font-size=\"11\" fill=\"#57606a\" text-anchor=\"middle\">");
    buf_printf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#8c959f\"/>", x0, y0, x1, y0);
    if (c->x == CHART_X_TIME) {
        for (int i = 0; inf.drawn && i < xs.nticks; i++) {
            double x = chart_scale_map(&xs, xs.ticks[i], x0, x1);
            fmt_time_tick(lab, sizeof lab, xs.ticks[i], xs.step);
            buf_printf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#8c959f\"/>", x, y0,
                       x, y0 + 4);
            buf_printf(out, "<text x=\"%.1f\" y=\"%.1f\">%s</text>", x, y0 + 16, lab);
        }
    } else {
        size_t every = c->npts > 8 ? (c->npts + 7) / 8 : 1;
        for (size_t i = 0; i < c->npts; i += every) {
            double x = chart_scale_map(&xs, (double)i, x0, x1);
            buf_printf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#8c959f\"/>", x, y0,
                       x, y0 + 4);
            buf_printf(out, "<text x=\"%.1f\" y=\"%.1f\">", x, y0 + 16);
            esc(out, c->pts[i].label);
            buf_puts(out, "</text>");
        }
    }
    buf_puts(out, "</g>\n");
    if (c->y_label) {
        buf_printf(out,
                   "<text class=\"axis-label\" font-size=\"12\" text-anchor=\"middle\" "
                   "transform=\"translate(14 %.1f) rotate(-90)\">",
                   (y0 + y1) / 2);
        esc(out, c->y_label);
        buf_puts(out, ys.log ? " · log scale</text>\n" : "</text>\n");
    }
    if (c->x_label) {
        buf_printf(out, "<text class=\"axis-label\" font-size=\"12\" text-anchor=\"middle\" x=\"%.1f\" y=\"%.1f\">",
                   (x0 + x1) / 2, H - 6);
        esc(out, c->x_label);
        buf_puts(out, "</text>\n");
    }
    if (!inf.drawn) {
        buf_printf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"14\">no data</text>\n",
                   (x0 + x1) / 2, (y0 + y1) / 2);
        goto end;
    }

    /* Baseline band: a constant rectangle, or one polygon per run of points that have one. */
    if (isfinite(c->band_lo) && isfinite(c->band_hi)) {
        double a = chart_scale_map(&ys, c->band_hi, y0, y1), b = chart_scale_map(&ys, c->band_lo, y0, y1);
        if (a < y1) a = y1;
        if (b > y0) b = y0;
        if (b > a)
            buf_printf(out,
                       "<rect class=\"band\" fill=\"#0550ae\" fill-opacity=\"0.12\" x=\"%.1f\" y=\"%.1f\" "
                       "width=\"%.1f\" height=\"%.1f\"/>\n",
                       x0, a, x1 - x0, b - a);
    }
    for (size_t i = 0; i < c->npts;) {
        size_t j = i;
        while (j < c->npts && isfinite(c->pts[j].y) && isfinite(c->pts[j].band_lo) &&
               isfinite(c->pts[j].band_hi) && isfinite(px[j]))
            j++;
        if (j == i) {
            i++;
            continue;
        }
        buf_puts(out, "<path class=\"band\" fill=\"#0550ae\" fill-opacity=\"0.12\" d=\"");
        if (j - i == 1) {
            double x = px[i];
            double a = chart_scale_map(&ys, c->pts[i].band_hi, y0, y1), b = chart_scale_map(&ys, c->pts[i].band_lo, y0, y1);
            buf_printf(out, "M%.1f %.1fH%.1fV%.1fH%.1fZ", x - 4, a, x + 4, b, x - 4);
        } else {
            for (size_t k = i; k < j; k++)
                step(out, k == i ? 'M' : 'L', px[k], chart_scale_map(&ys, c->pts[k].band_hi, y0, y1));
            for (size_t k = j; k > i; k--)
                step(out, 'L', px[k - 1], chart_scale_map(&ys, c->pts[k - 1].band_lo, y0, y1));
            buf_puts(out, "Z");
        }
        buf_puts(out, "\"/>\n");
        i = j;
    }

    /* The line through the drawable points, in the given order. */
    buf_puts(out, "<path class=\"line\" fill=\"none\" stroke=\"#0550ae\" stroke-width=\"1.5\" d=\"");
    int first = 1;
    for (size_t i = 0; i < c->npts; i++) {
        double x = px[i];
        if (!isfinite(c->pts[i].y) || !isfinite(x)) continue;
        step(out, first ? 'M' : 'L', x, chart_scale_map(&ys, c->pts[i].y, y0, y1));
        first = 0;
    }
    buf_puts(out, "\"/>\n");

    /* Change points: a dashed vertical line at the first point of the new level. */
    for (size_t k = 0; k < c->ncps; k++) {
        if (c->cps[k].index >= c->npts) continue;
        double x = px[c->cps[k].index];
        if (!isfinite(x)) continue;
        buf_printf(out,
                   "<g class=\"marker-cp\"><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#9a6700\" "
                   "stroke-dasharray=\"4 3\"/><text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" fill=\"#4d2d00\" "
                   "text-anchor=\"%s\">since ",
                   x, y0, x, y1 - 4, x, y1 - 8, x > (x0 + x1) / 2 ? "end" : "start");
        esc(out, c->cps[k].label);
        buf_puts(out, "</text></g>\n");
    }

    /* Regression markers under the points, then the points (hover titles, links). */
    for (size_t i = 0; i < c->npts; i++) {
        if (!c->pts[i].regression) continue;
        double x = px[i];
        if (!isfinite(c->pts[i].y) || !isfinite(x)) continue;
        buf_printf(out,
                   "<circle class=\"marker-regression\" cx=\"%.1f\" cy=\"%.1f\" r=\"8\" fill=\"none\" "
                   "stroke=\"#cf222e\" stroke-width=\"2\"/>\n",
                   x, chart_scale_map(&ys, c->pts[i].y, y0, y1));
    }
    const char *rs = inf.drawn > 1000 ? "\" r=\"2\" data-run=\"" : inf.drawn > 200 ? "\" r=\"3\" data-run=\""
                                                                    : "\" r=\"4\" data-run=\"";
    for (size_t i = 0; i < c->npts; i++) {
        const chart_point *p = &c->pts[i];
        double x = px[i];
        if (!isfinite(p->y) || !isfinite(x)) continue;
        int link = href_ok(p->href);
        if (link) {
            buf_puts(out, "<a href=\"");
            esc(out, p->href);
            buf_puts(out, "\">");
        }
        buf_puts(out, "<circle class=\"pt\" fill=\"#0550ae\" cx=\"");
        num(out, x);
        buf_puts(out, "\" cy=\"");
        num(out, chart_scale_map(&ys, p->y, y0, y1));
        buf_puts(out, rs);
        esc(out, p->run_id);
        buf_puts(out, "\"><title>");
        esc(out, p->title);
        buf_puts(out, link ? "</title></circle></a>\n" : "</title></circle>\n");
    }
end:
    buf_puts(out, "</svg>");
    free(px);
    if (info) *info = inf;
    if (out->toobig) return rb_err(err, "chart: output larger than %zu bytes", out->max);
    return 0;
}
