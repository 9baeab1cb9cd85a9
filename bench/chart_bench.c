/* chart_bench.c -- how long lib/chart.c takes to render a 5,000-point series chart (the
 * dashboard's goal: <= 20 ms server time). Prints a Markdown section for bench/RESULTS.md.
 * usage: chart_bench [POINTS] [REPEATS]   (default 5000 points, 21 repeats) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chart.h"
#include "util.h"

/* CPU time of this thread in ms: what the render costs, whatever else the machine runs. */
static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int dcmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Renders the chart of n synthetic points `reps` times (time axis, then commit axis) and
 * prints median and max milliseconds. */
static int bench(const chart_point *pts, size_t n, const chart_cp *cps, size_t ncps, int ordinal, int log,
                 int reps)
{
    double *ms = xmalloc((size_t)reps * sizeof *ms), *cpu = xmalloc((size_t)reps * sizeof *cpu);
    size_t bytes = 0;
    char err[RB_ERR_LEN];
    chart_spec c = {.x = ordinal ? CHART_X_ORDINAL : CHART_X_TIME, .log_y = log,
                    .aria_label = "Throughput (ops/s) of get/get, 5000 runs", .y_label = "Throughput (ops/s)",
                    .x_label = ordinal ? "Commit" : "Run start (UTC)", .pts = pts, .npts = n,
                    .band_lo = NAN, .band_hi = NAN, .cps = cps, .ncps = ncps};
    for (int r = 0; r < reps; r++) {
        buf b;
        buf_init(&b, 64u << 20);
        uint64_t t0 = now_ns();
        double c0 = cpu_ms();
        if (chart_render(&c, &b, NULL, err) < 0) {
            fprintf(stderr, "chart_bench: %s\n", err);
            buf_cleanup(&b);
            free(ms);
            free(cpu);
            return -1;
        }
        ms[r] = (double)(now_ns() - t0) / 1e6;
        cpu[r] = cpu_ms() - c0;
        bytes = b.len;
        buf_cleanup(&b);
    }
    qsort(ms, (size_t)reps, sizeof *ms, dcmp);
    qsort(cpu, (size_t)reps, sizeof *cpu, dcmp);
    printf("| %zu | %s | %s | %.2f | %.2f | %.2f | %zu |\n", n, ordinal ? "commit" : "time",
           log ? "log" : "linear", cpu[reps / 2], ms[reps / 2], ms[reps - 1], bytes);
    free(ms);
    free(cpu);
    return 0;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 5000;
    int reps = argc > 2 ? atoi(argv[2]) : 21;
    if (n < 1 || n > 1000000 || reps < 1 || reps > 1000) {
        fprintf(stderr, "usage: chart_bench [POINTS 1..1000000] [REPEATS 1..1000]\n");
        return 2;
    }
    chart_point *pts = xcalloc(n, sizeof *pts);
    char (*times)[32] = xcalloc(n, sizeof *times);
    char (*ids)[33] = xcalloc(n, sizeof *ids);
    char (*titles)[200] = xcalloc(n, sizeof *titles);
    char (*hrefs)[48] = xcalloc(n, sizeof *hrefs);
    char (*labels)[12] = xcalloc(n, sizeof *labels);
    uint64_t t = 1767225600ull * 1000000000ull; /* 2026-01-01, then a run every 2 hours */
    unsigned seed = 1;
    for (size_t i = 0; i < n; i++) {
        fmt_time_utc(t + (uint64_t)i * 7200ull * 1000000000ull, times[i], sizeof times[i]);
        snprintf(ids[i], sizeof ids[i], "%032zx", i * 2654435761u);
        seed = seed * 1103515245u + 12345u;
        double y = (i < n / 2 ? 100000 : 90000) * (0.97 + 0.06 * ((seed >> 8) % 1000) / 1000.0);
        snprintf(labels[i], sizeof labels[i], "%07zx", i * 40503u);
        snprintf(titles[i], sizeof titles[i],
                 "%.0f ops/s · p50 41.0 µs · p99 95.5 µs · $0.0123 per Mops\ncommit %s · %s · run %.8s", y,
                 labels[i], times[i], ids[i]);
        snprintf(hrefs[i], sizeof hrefs[i], "/runs/%s", ids[i]);
        pts[i] = (chart_point){.time = times[i], .label = labels[i], .y = y, .band_lo = y * 0.95,
                               .band_hi = y * 1.05, .run_id = ids[i], .title = titles[i], .href = hrefs[i],
                               .regression = i % 97 == 0};
    }
    chart_cp cps[2] = {{n / 2, labels[n / 2]}, {n - 1, labels[n - 1]}};
    printf("\n## Dashboard: chart\n\n");
    printf("`make bench` → `chart_bench %zu %d`: lib/chart.c renders a series chart of %zu points (each a\n"
           "linked circle with a hover title, a per-point baseline band, a regression marker every 97th\n"
           "point, two change points) into a buffer; milliseconds per render over %d renders: the\n"
           "thread's CPU time (what a render costs) and wall time (what the shared 2-core machine\n"
           "allowed). Goal (issue 6): <= 20 ms server time for 5,000 points.\n\n",
           n, reps, n, reps);
    printf("| points | x axis | y scale | median CPU ms | median wall ms | max wall ms | SVG bytes |\n"
           "| --- | --- | --- | --- | --- | --- | --- |\n");
    int rc = 0;
    if (bench(pts, n, cps, 2, 0, 0, reps) < 0 || bench(pts, n, cps, 2, 1, 0, reps) < 0 ||
        bench(pts, n, cps, 2, 0, 1, reps) < 0)
        rc = 1;
    free(pts);
    free(times);
    free(ids);
    free(titles);
    free(hrefs);
    free(labels);
    return rc;
}
