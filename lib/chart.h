/* chart.h -- server-side inline SVG line/point charts for the dashboard: time or ordinal x
 * axis, linear or log y axis with "nice" ticks, baseline band, regression and change-point
 * markers; every text and attribute escaped by the module. */
#ifndef RB_CHART_H
#define RB_CHART_H

#include <stddef.h>

#include "util.h"

#define CHART_MAX_TICKS 32

/* An axis scale: the data range [lo, hi] widened to nice tick values, and the
 * ticks in it (data units: ops/s, µs, ... for y; Unix seconds for time x). */
typedef struct chart_scale {
    double lo, hi;      /* the axis range; lo < hi always */
    int log;            /* 1: log10 mapping (lo > 0) */
    int nticks;
    double step;        /* linear tick step (0 for log) */
    double ticks[CHART_MAX_TICKS];
} chart_scale;

/* A linear scale covering [min, max] with about `target` ticks (2..CHART_MAX_TICKS-2) at
 * 1, 2, 2.5 or 5 × 10^k steps, lo and hi rounded out to a step. Degenerate ranges widen:
 * min == max becomes [v - 10% |v|, v + 10% |v|] ([-1, 1] when v is 0). Non-finite input
 * gives [0, 1]. Never fails. */
void chart_scale_linear(chart_scale *s, double min, double max, int target);

/* A log10 scale covering [min, max] (both must be > 0, else -1 and s untouched): decades
 * rounded out to powers of ten; ticks at 10^k, plus 2·10^k and 5·10^k when the range spans
 * fewer than three decades. min == max widens to one decade around the value. 0 ok. */
int chart_scale_log(chart_scale *s, double min, double max);

/* Maps v in s to a pixel between p0 (at s->lo) and p1 (at s->hi); values outside the
 * range map outside [p0, p1]; v <= 0 on a log scale maps to p0. */
double chart_scale_map(const chart_scale *s, double v, double p0, double p1);

/* A time scale over [min, max] Unix seconds: ticks at a calendar-ish step (seconds, minutes,
 * hours, days, weeks, 30-day months, years) aligned to UTC, about `target` of them;
 * min == max widens by an hour either side. */
void chart_scale_time(chart_scale *s, double min, double max, int target);

/* Parses an RFC 3339 timestamp ("2026-01-02T03:04:05Z", fractional seconds and
 * ±HH:MM offsets allowed, 'T' or ' ') into Unix seconds. 0 ok, -1 if malformed. */
int chart_parse_time(const char *s, double *secs);

enum chart_x { CHART_X_TIME, CHART_X_ORDINAL };

/* One point. Strings are borrowed (the caller keeps them alive while rendering) and
 * escaped by the module; NULL means none. */
typedef struct chart_point {
    const char *time;       /* RFC 3339, the x value on a time axis (a bad one: point skipped) */
    const char *label;      /* ordinal axis tick label, e.g. a short commit */
    double y;               /* the value (NaN: point skipped) */
    double band_lo, band_hi; /* baseline band at this point; NaN when none */
    const char *run_id;     /* data-run attribute */
    const char *title;      /* hover text: values, commit, date */
    const char *href;       /* link around the point: only "/..." or http(s) URLs kept */
    int regression;         /* 1: draw a regression marker around it */
} chart_point;

/* A change point: a dashed vertical line at point `index` labelled "since LABEL". */
typedef struct chart_cp {
    size_t index;
    const char *label;      /* e.g. the short commit */
} chart_cp;

typedef struct chart_spec {
    int width, height;      /* viewBox size; 0 = 800 × 320 */
    enum chart_x x;
    int log_y;              /* 1: ask for a log y scale (falls back to linear if any y <= 0) */
    const char *aria_label; /* role="img" description */
    const char *y_label;    /* axis title with its unit: "Throughput (ops/s)" */
    const char *x_label;    /* "Run start (UTC)" / "Commit"; NULL: none */
    const chart_point *pts;
    size_t npts;
    double band_lo, band_hi; /* a constant band over the whole chart; NaN: none */
    const chart_cp *cps;
    size_t ncps;
} chart_spec;

/* What chart_render drew, for the page to explain it. */
typedef struct chart_info {
    size_t drawn;           /* circles drawn */
    int log_y;              /* the y scale in effect (0 when log was refused) */
    int log_refused;        /* 1: log asked for but some value <= 0 */
} chart_info;

/* Appends one <svg class="chart" role="img" aria-label=...> element to out: axes, grid,
 * ticks, the band (class "band"), the line, one <circle class="pt" data-run=...> with a
 * <title> per drawable point (inside <a href> when given), regression markers (class
 * "marker-regression") and change points (<g class="marker-cp">). With no drawable point
 * it draws the empty frame with "no data". info may be NULL. 0 ok; -1 with err when out's
 * cap is passed. */
int chart_render(const chart_spec *c, buf *out, chart_info *info, char *err);

#endif
