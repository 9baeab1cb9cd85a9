/* util.c -- allocation wrappers, capped buffers, clocks, files and small helpers. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static void oom(size_t n)
{
    fprintf(stderr, "redbench: out of memory allocating %zu bytes\n", n);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) oom(n);
    return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
    if (!p) oom(nmemb * size);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) oom(n);
    return q;
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

int rb_err(char *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, RB_ERR_LEN, fmt, ap);
        va_end(ap);
    }
    return -1;
}

void buf_init(buf *b, size_t max)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->max = max;
    b->toobig = 0;
}

void buf_cleanup(buf *b)
{
    free(b->data);
    buf_init(b, b->max);
}

void buf_reset(buf *b)
{
    b->len = 0;
    b->toobig = 0;
    if (b->data) b->data[0] = '\0';
}

static int buf_reserve(buf *b, size_t extra)
{
    if (b->toobig || extra > b->max - b->len) {
        b->toobig = 1;
        return -1;
    }
    size_t need = b->len + extra + 1;
    if (need > b->cap) {
        size_t ncap = b->cap ? b->cap : 256;
        while (ncap < need) ncap *= 2;
        b->data = xrealloc(b->data, ncap);
        b->cap = ncap;
    }
    return 0;
}

int buf_append(buf *b, const void *p, size_t n)
{
    if (buf_reserve(b, n) < 0) return -1;
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int buf_puts(buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

int buf_printf(buf *b, const char *fmt, ...)
{
    va_list ap;
    char small[512];
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return -1;
    if ((size_t)n < sizeof small) return buf_append(b, small, (size_t)n);
    if (buf_reserve(b, (size_t)n) < 0) return -1;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

char *buf_take(buf *b)
{
    char *p = b->data ? b->data : xstrdup("");
    buf_init(b, b->max);
    return p;
}

uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void fmt_time_utc(uint64_t ns, char *out, size_t outlen)
{
    time_t secs = (time_t)(ns / 1000000000ull);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char base[24];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, outlen, "%s.%03uZ", base, (unsigned)((ns / 1000000ull) % 1000));
}

int rand_bytes(void *out, size_t n)
{
    unsigned char *p = out;
    while (n > 0) {
        ssize_t r = getrandom(p, n, 0);
        if (r < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

void make_run_id(char *out)
{
    unsigned char raw[16];
    if (rand_bytes(raw, sizeof raw) < 0) {
        /* No entropy source: fall back to clock + pid, still unique enough per host. */
        uint64_t a = wall_ns(), b = now_ns() ^ ((uint64_t)getpid() << 32);
        memcpy(raw, &a, 8);
        memcpy(raw + 8, &b, 8);
    }
    for (int i = 0; i < 16; i++) sprintf(out + 2 * i, "%02x", raw[i]);
    out[32] = '\0';
}

char *read_file(const char *path, size_t max, size_t *len_out, char *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        rb_err(err, "open %s: %s", path, strerror(errno));
        return NULL;
    }
    buf b;
    buf_init(&b, max);
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (buf_append(&b, chunk, n) < 0) {
            rb_err(err, "%s: larger than %zu bytes", path, max);
            goto fail;
        }
    }
    if (ferror(f)) {
        rb_err(err, "read %s: %s", path, strerror(errno));
        goto fail;
    }
    fclose(f);
    if (len_out) *len_out = b.len;
    return buf_take(&b);
fail:
    fclose(f);
    buf_cleanup(&b);
    return NULL;
}

int write_file_atomic(const char *path, const void *data, size_t len, char *err)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof tmp)
        return rb_err(err, "path too long: %s", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return rb_err(err, "create %s: %s", tmp, strerror(errno));
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR) continue;
            rb_err(err, "write %s: %s", tmp, strerror(errno));
            goto fail;
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) < 0) {
        rb_err(err, "fsync %s: %s", tmp, strerror(errno));
        goto fail;
    }
    close(fd);
    if (rename(tmp, path) < 0) {
        rb_err(err, "rename %s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
fail:
    close(fd);
    unlink(tmp);
    return -1;
}

int parse_hostport(const char *s, char **host, int *port, char *err)
{
    const char *colon;
    const char *h = s;
    size_t hlen;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':') return rb_err(err, "bad address '%s': want [V6]:PORT", s);
        h = s + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon) return rb_err(err, "bad address '%s': want HOST:PORT", s);
        hlen = (size_t)(colon - s);
    }
    char *end;
    errno = 0;
    long p = strtol(colon + 1, &end, 10);
    if (hlen == 0 || *end || end == colon + 1 || errno || p < 1 || p > 65535)
        return rb_err(err, "bad address '%s': want HOST:PORT with a port 1-65535", s);
    *host = xstrndup(h, hlen);
    *port = (int)p;
    return 0;
}

int secret_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char diff = (unsigned char)(la != lb);
    /* Walk the longer length so time does not depend on where they differ. */
    size_t n = la > lb ? la : lb;
    for (size_t i = 0; i < n; i++) {
        unsigned char ca = i < la ? (unsigned char)a[i] : 0;
        unsigned char cb = i < lb ? (unsigned char)b[i] : 0;
        diff |= ca ^ cb;
    }
    return diff == 0;
}

int cli_long(const char *cmd, const char *opt, const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < min || v > max) {
        fprintf(stderr, "redbench %s: %s: '%s' is not a whole number in %ld..%ld\n", cmd, opt, s, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_real(const char *cmd, const char *opt, const char *s, double min, double max, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (!*s || *end || !(v >= min && v <= max)) {
        fprintf(stderr, "redbench %s: %s: '%s' is not a number in [%g, %g]\n", cmd, opt, s, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_name(const char *cmd, const char *opt, char *dst, size_t size, const char *v)
{
    if (strlen(v) >= size) {
        fprintf(stderr, "redbench %s: %s: longer than %zu characters\n", cmd, opt, size - 1);
        return -1;
    }
    snprintf(dst, size, "%s", v);
    return 0;
}

int parse_int_list(const char *s, long *out, int n, char *err)
{
    int count = 0;
    const char *p = s;
    while (*p) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v <= 0 || (*end && *end != ','))
            return rb_err(err, "bad list '%s': want positive integers separated by commas", s);
        if (count == n) return rb_err(err, "list '%s' has more than %d elements", s, n);
        for (int i = 0; i < count; i++)
            if (out[i] == v) return rb_err(err, "list '%s' repeats %ld", s, v);
        out[count++] = v;
        p = *end ? end + 1 : end;
    }
    if (count == 0) return rb_err(err, "empty list");
    return count;
}

/* Formats finite x into out (len >= 64) as snprintf(out, len, fmt, x) would when fmt
 * is AFFIX %[+].Nf AFFIX (N 0..6, "%%" allowed in the affixes): |x| * 10^N is rounded
 * to an integer directly. Returns -1, leaving the job to snprintf, for any other
 * format, when |x| * 10^N >= 2^52, or when the product lies within a few ulps of a
 * half (where it could round otherwise than printf's exact decimal value). */
static int fmt_fixed(char *out, size_t len, const char *fmt, double x)
{
    static const double p10[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};
    const char *conv = NULL;
    int plus = 0, prec = -1;
    for (const char *f = fmt; *f; f++) {
        if (*f != '%') continue;
        if (f[1] == '%') {
            f++;
            continue;
        }
        if (conv) return -1;
        conv = f++;
        if (*f == '+') plus = 1, f++;
        if (*f != '.' || f[1] < '0' || f[1] > '6' || f[2] != 'f') return -1;
        prec = f[1] - '0';
        f += 2;
    }
    if (!conv || len < 64) return -1;
    double y = fabs(x) * p10[prec];
    if (!(y < 4503599627370496.0)) return -1; /* 2^52: the integer part stays exact */
    double whole = floor(y), frac = y - whole;
    if (fabs(frac - 0.5) <= 4 * (nextafter(y, INFINITY) - y)) return -1;
    unsigned long long r = (unsigned long long)whole + (frac > 0.5);
    char num[40], *p = num + sizeof num;
    *--p = '\0';
    for (int i = 0; i < prec; i++, r /= 10) *--p = (char)('0' + r % 10);
    if (prec) *--p = '.';
    do {
        *--p = (char)('0' + r % 10);
        r /= 10;
    } while (r);
    if (signbit(x)) *--p = '-';
    else if (plus) *--p = '+';
    size_t n = 0;
    for (const char *f = fmt; *f && n + 1 < len; f++) {
        if (f == conv) {
            for (const char *q = p; *q && n + 1 < len; q++) out[n++] = *q;
            f += 3 + plus; /* "%.Nf" or "%+.Nf" less the loop's own step */
            continue;
        }
        if (*f == '%') f++; /* "%%" */
        out[n++] = *f;
    }
    out[n] = '\0';
    return 0;
}

void fmt_double(char *out, size_t len, const char *fmt, double x)
{
    if (!isfinite(x) || fmt_fixed(out, len, fmt, x) < 0) snprintf(out, len, fmt, x);
}
