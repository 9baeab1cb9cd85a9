/* hist.c -- HDR-style log-linear latency histogram: O(1) record, exact merge, percentiles
 * and a compact "h1:" base64 sparse encoding. */
#include "hist.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Layout. A value v lives at index (shift << SUB_BITS) + (v >> shift), where shift is how far
 * v must be shifted right to fit in SUB_BITS + 1 bits (0 for v < 2048). Indices 0..2047 are
 * the exact values 0..2047; each later group of 1024 indices covers one power-of-two range
 * [1024 << shift, 2048 << shift) with buckets 2^shift wide. */
#define SUB_BITS 10                           /* 1024 buckets per power of two */
#define SUB_HALF (1u << SUB_BITS)             /* 1024 */
#define MAX_BITS 42                           /* HIST_MAX_VALUE == 2^MAX_BITS - 1 */
#define MAX_SHIFT (MAX_BITS - SUB_BITS - 1)   /* 31 */
#define NBUCKETS ((MAX_SHIFT + 2) * SUB_HALF) /* 33792 */

/* Longest LEB128 encoding of a uint64. */
#define VARINT_MAX 10

struct hist {
    uint64_t total;
    uint64_t min; /* UINT64_MAX while empty */
    uint64_t max;
    uint64_t counts[NBUCKETS];
};

static inline size_t index_of(uint64_t v)
{
    /* v | (2*SUB_HALF - 1) has its top bit at >= SUB_BITS, so shift >= 0 without a branch. */
    unsigned shift = (unsigned)(63 - __builtin_clzll(v | (2 * SUB_HALF - 1))) - SUB_BITS;
    return ((size_t)shift << SUB_BITS) + (size_t)(v >> shift);
}

/* Inclusive value bounds of bucket i. */
static void bucket_bounds(size_t i, uint64_t *lo, uint64_t *hi)
{
    unsigned shift = i < SUB_HALF ? 0 : (unsigned)(i >> SUB_BITS) - 1;
    uint64_t sub = (uint64_t)(i - ((size_t)shift << SUB_BITS));
    *lo = sub << shift;
    *hi = *lo + ((UINT64_C(1) << shift) - 1);
}

hist *hist_new(void)
{
    hist *h = xcalloc(1, sizeof *h);
    h->min = UINT64_MAX;
    return h;
}

void hist_free(hist *h)
{
    free(h);
}

/* The buckets that can be non-zero: from the recorded minimum's to the
 * maximum's (both are kept clamped), so scans skip the ~33,000 buckets a
 * latency distribution never touches. [*lo, *end) is empty for no values. */
static void used_range(const hist *h, size_t *lo, size_t *end)
{
    if (!h->total) {
        *lo = *end = 0;
        return;
    }
    *lo = index_of(h->min);
    *end = index_of(h->max) + 1;
}

void hist_reset(hist *h)
{
    size_t lo, end;
    used_range(h, &lo, &end);
    memset(h->counts + lo, 0, (end - lo) * sizeof h->counts[0]);
    h->total = 0;
    h->min = UINT64_MAX;
    h->max = 0;
}

static inline void record(hist *h, uint64_t v, uint64_t count)
{
    v = v > HIST_MAX_VALUE ? HIST_MAX_VALUE : v;
    h->counts[index_of(v)] += count;
    h->total += count;
    h->min = v < h->min ? v : h->min;
    h->max = v > h->max ? v : h->max;
}

void hist_record(hist *h, uint64_t v)
{
    record(h, v, 1);
}

void hist_record_n(hist *h, uint64_t v, uint64_t count)
{
    if (count == 0) return; /* must not move min/max */
    record(h, v, count);
}

void hist_merge(hist *dst, const hist *src)
{
    size_t lo, end;
    used_range(src, &lo, &end);
    for (size_t i = lo; i < end; i++) dst->counts[i] += src->counts[i];
    dst->total += src->total;
    if (src->min < dst->min) dst->min = src->min;
    if (src->max > dst->max) dst->max = src->max;
}

uint64_t hist_count(const hist *h)
{
    return h->total;
}

uint64_t hist_min(const hist *h)
{
    return h->total ? h->min : 0;
}

uint64_t hist_max(const hist *h)
{
    return h->total ? h->max : 0;
}

static double midpoint(size_t i)
{
    uint64_t lo, hi;
    bucket_bounds(i, &lo, &hi);
    return ((double)lo + (double)hi) / 2.0;
}

double hist_mean(const hist *h)
{
    if (!h->total) return 0;
    double sum = 0;
    size_t lo, end;
    used_range(h, &lo, &end);
    for (size_t i = lo; i < end; i++)
        if (h->counts[i]) sum += midpoint(i) * (double)h->counts[i];
    return sum / (double)h->total;
}

double hist_stddev(const hist *h)
{
    if (!h->total) return 0;
    double mean = hist_mean(h), sq = 0;
    size_t lo, end;
    used_range(h, &lo, &end);
    for (size_t i = lo; i < end; i++) {
        if (!h->counts[i]) continue;
        double d = midpoint(i) - mean;
        sq += d * d * (double)h->counts[i];
    }
    return sqrt(sq / (double)h->total);
}

uint64_t hist_percentile(const hist *h, double p)
{
    if (!h->total) return 0;
    if (!(p > 0)) return h->min;
    if (p >= 100) return h->max;

    double r = p / 100.0 * (double)h->total;
    double c = ceil(r - r * 1e-12);
    uint64_t rank = c < 1 ? 1 : c >= (double)h->total ? h->total : (uint64_t)c;

    uint64_t seen = 0;
    size_t first, end;
    used_range(h, &first, &end);
    for (size_t i = first; i < end; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            uint64_t lo, hi;
            bucket_bounds(i, &lo, &hi);
            if (hi > h->max) hi = h->max;
            if (hi < h->min) hi = h->min;
            return hi;
        }
    }
    return h->max; /* unreachable while total equals the sum of counts */
}

void hist_foreach(const hist *h, void (*fn)(uint64_t lo, uint64_t hi, uint64_t count, void *ud),
                  void *ud)
{
    size_t first, end;
    used_range(h, &first, &end);
    for (size_t i = first; i < end; i++) {
        if (!h->counts[i]) continue;
        uint64_t lo, hi;
        bucket_bounds(i, &lo, &hi);
        fn(lo, hi, h->counts[i], ud);
    }
}

/* ---- encoding ---------------------------------------------------------------------------- */

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static const char prefix[] = "h1:";
#define PREFIX_LEN (sizeof prefix - 1)

/* Longest raw payload a valid encoding can have: min, max, and a (delta, count) pair for
 * every bucket. Anything longer is rejected before decoding. */
#define RAW_MAX ((size_t)VARINT_MAX * (2 + 2 * (size_t)NBUCKETS))

static size_t put_varint(unsigned char *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (unsigned char)v;
    return n;
}

/* "h1:" + base64 of raw[0..n): a malloc'd string. */
static char *encode_text(const unsigned char *raw, size_t n)
{
    char *out = xmalloc(PREFIX_LEN + (n + 2) / 3 * 4 + 1);
    memcpy(out, prefix, PREFIX_LEN);
    char *o = out + PREFIX_LEN;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t w = (uint32_t)raw[i] << 16;
        if (i + 1 < n) w |= (uint32_t)raw[i + 1] << 8;
        if (i + 2 < n) w |= raw[i + 2];
        *o++ = b64chars[(w >> 18) & 63];
        *o++ = b64chars[(w >> 12) & 63];
        *o++ = i + 1 < n ? b64chars[(w >> 6) & 63] : '=';
        *o++ = i + 2 < n ? b64chars[w & 63] : '=';
    }
    *o = '\0';
    return out;
}

char *hist_encode(const hist *h)
{
    size_t nonzero = 0, first, end;
    used_range(h, &first, &end);
    for (size_t i = first; i < end; i++) nonzero += h->counts[i] != 0;

    unsigned char *raw = xmalloc(VARINT_MAX * (2 + 2 * nonzero));
    size_t n = 0;
    n += put_varint(raw + n, hist_min(h));
    n += put_varint(raw + n, hist_max(h));
    size_t prev = (size_t)-1; /* so the first delta is index + 1 */
    for (size_t i = first; i < end; i++) {
        if (!h->counts[i]) continue;
        n += put_varint(raw + n, (uint64_t)(i - prev));
        n += put_varint(raw + n, h->counts[i]);
        prev = i;
    }
    char *out = encode_text(raw, n);
    free(raw);
    return out;
}

static int b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Strict base64 decoding of s[0..len) into a malloc'd buffer (*out, caller frees, set only
 * on success): padded to a multiple of 4, '=' only at the end, unused bits zero. */
static int b64_decode(const char *s, size_t len, unsigned char **out, size_t *outlen, char *err)
{
    if (len % 4)
        return rb_err(err, "bad base64: length %zu is not a multiple of 4", len);
    unsigned char *raw = xmalloc(len / 4 * 3 + 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i += 4) {
        int last = i + 4 == len;
        int pad = 0;
        if (last && s[i + 3] == '=') pad = s[i + 2] == '=' ? 2 : 1;
        uint32_t w = 0;
        for (size_t j = 0; j < 4; j++) {
            int v = 0;
            if (j < 4 - (size_t)pad) {
                v = b64val((unsigned char)s[i + j]);
                if (v < 0) {
                    unsigned char c = (unsigned char)s[i + j];
                    free(raw);
                    if (c == '=')
                        return rb_err(err, "bad base64: '=' padding at offset %zu is not at "
                                           "the end", i + j);
                    return rb_err(err, "bad base64: invalid character 0x%02x at offset %zu", c,
                                  i + j);
                }
            }
            w = w << 6 | (uint32_t)v;
        }
        if ((pad == 1 && (w & 0xff)) || (pad == 2 && (w & 0xffff))) {
            free(raw);
            return rb_err(err, "bad base64: non-zero bits before padding at offset %zu", i);
        }
        raw[n++] = (unsigned char)(w >> 16);
        if (pad < 2) raw[n++] = (unsigned char)(w >> 8);
        if (pad < 1) raw[n++] = (unsigned char)w;
    }
    *out = raw;
    *outlen = n;
    return 0;
}

/* Reads one LEB128 varint at *pos; what names it in error messages. */
static int get_varint(const unsigned char *p, size_t n, size_t *pos, uint64_t *v, const char *what,
                      char *err)
{
    size_t start = *pos;
    uint64_t x = 0;
    for (unsigned k = 0;; k++) {
        if (*pos >= n) {
            if (*pos == start)
                return rb_err(err, "truncated: %s missing at byte %zu", what, start);
            return rb_err(err, "truncated varint (%s) at byte %zu", what, start);
        }
        unsigned char b = p[(*pos)++];
        if (k == VARINT_MAX - 1 && b > 1)
            return rb_err(err, "varint (%s) at byte %zu overflows 64 bits", what, start);
        x |= (uint64_t)(b & 0x7f) << (7 * k);
        if (!(b & 0x80)) break;
    }
    *v = x;
    return 0;
}

/* A decoded encoding: min, max and the non-empty buckets in increasing index order. */
struct pairs {
    uint64_t min, max, total;
    size_t n;
    size_t *idx;        /* owned */
    uint64_t *count;    /* owned */
};

static void pairs_cleanup(struct pairs *p)
{
    free(p->idx);
    free(p->count);
}

/* Decodes and validates s into p (which the caller cleans up, also on failure); 0 or -1
 * with err. The one validation behind hist_decode and hist_decode_summary. */
static int pairs_decode(const char *s, struct pairs *p, char *err)
{
    unsigned char *raw = NULL;
    size_t n = 0, pos = 0;
    int rc = -1;
    memset(p, 0, sizeof *p);

    if (strncmp(s, prefix, PREFIX_LEN) != 0) {
        rb_err(err, "bad prefix: expected \"%s\"", prefix);
        goto out;
    }
    s += PREFIX_LEN;
    size_t len = strnlen(s, (RAW_MAX + 2) / 3 * 4 + 1);
    if (len > (RAW_MAX + 2) / 3 * 4) {
        rb_err(err, "encoding too long: more than %zu base64 characters",
               (RAW_MAX + 2) / 3 * 4);
        goto out;
    }
    if (b64_decode(s, len, &raw, &n, err)) goto out;

    uint64_t min, max;
    if (get_varint(raw, n, &pos, &min, "min", err)) goto out;
    if (get_varint(raw, n, &pos, &max, "max", err)) goto out;

    /* Every pair takes at least 2 bytes. */
    size_t cap = (n - pos) / 2 + 1;
    p->idx = xmalloc(cap * sizeof *p->idx);
    p->count = xmalloc(cap * sizeof *p->count);
    size_t next = 0; /* next: lowest index the next bucket may use */
    while (pos < n) {
        size_t at = pos;
        uint64_t delta, count;
        if (get_varint(raw, n, &pos, &delta, "index delta", err)) goto out;
        if (get_varint(raw, n, &pos, &count, "count", err)) goto out;
        if (delta == 0) {
            rb_err(err, "zero index delta at byte %zu", at);
            goto out;
        }
        if (delta - 1 >= (uint64_t)(NBUCKETS - next)) {
            rb_err(err, "bucket index out of range at byte %zu: index delta %llu goes past %d", at,
                   (unsigned long long)delta, NBUCKETS - 1);
            goto out;
        }
        if (count == 0) {
            rb_err(err, "zero count for bucket at byte %zu", at);
            goto out;
        }
        if (count > UINT64_MAX - p->total) {
            rb_err(err, "total count overflows 64 bits at byte %zu", at);
            goto out;
        }
        size_t i = next + (size_t)(delta - 1);
        p->idx[p->n] = i;
        p->count[p->n++] = count;
        p->total += count;
        next = i + 1;
    }

    if (!p->total) {
        if (min || max) {
            rb_err(err, "empty histogram with non-zero min %llu / max %llu",
                   (unsigned long long)min, (unsigned long long)max);
            goto out;
        }
    } else {
        uint64_t flo, fhi, llo, lhi;
        bucket_bounds(p->idx[0], &flo, &fhi);
        bucket_bounds(p->idx[p->n - 1], &llo, &lhi);
        if (min < flo || min > fhi) {
            rb_err(err, "min %llu is not in the first bucket [%llu, %llu]",
                   (unsigned long long)min, (unsigned long long)flo, (unsigned long long)fhi);
            goto out;
        }
        if (max < llo || max > lhi) {
            rb_err(err, "max %llu is not in the last bucket [%llu, %llu]",
                   (unsigned long long)max, (unsigned long long)llo, (unsigned long long)lhi);
            goto out;
        }
        if (min > max) { /* only possible when both share one bucket */
            rb_err(err, "min %llu > max %llu", (unsigned long long)min, (unsigned long long)max);
            goto out;
        }
    }
    p->min = min;
    p->max = max;
    rc = 0;
out:
    free(raw);
    return rc;
}

hist *hist_decode(const char *s, char *err)
{
    struct pairs p;
    hist *h = NULL;
    if (pairs_decode(s, &p, err) == 0) {
        h = hist_new();
        for (size_t k = 0; k < p.n; k++) h->counts[p.idx[k]] = p.count[k];
        h->total = p.total;
        if (p.total) {
            h->min = p.min;
            h->max = p.max;
        }
    }
    pairs_cleanup(&p);
    return h;
}

/* hist_percentile's nearest rank of p (0 < p < 100) among total values. */
static uint64_t rank_of(double p, uint64_t total)
{
    double r = p / 100.0 * (double)total;
    double c = ceil(r - r * 1e-12);
    return c < 1 ? 1 : c >= (double)total ? total : (uint64_t)c;
}

int hist_decode_summary(const char *s, hist_summary *sum, char **canon, char *err)
{
    struct pairs p;
    memset(sum, 0, sizeof *sum);
    if (pairs_decode(s, &p, err) < 0) {
        pairs_cleanup(&p);
        return -1;
    }
    static const double pct[] = {50, 90, 95, 99, 99.9};
    uint64_t *out[] = {&sum->p50, &sum->p90, &sum->p95, &sum->p99, &sum->p999};
    if (p.total) {
        sum->count = p.total;
        sum->min = p.min;
        sum->max = p.max;
        /* The same sums in the same order as hist_mean, the same walk as hist_percentile. */
        double total = 0;
        for (size_t k = 0; k < p.n; k++) total += midpoint(p.idx[k]) * (double)p.count[k];
        sum->mean = total / (double)p.total;
        for (size_t q = 0; q < sizeof pct / sizeof pct[0]; q++) {
            uint64_t rank = rank_of(pct[q], p.total), seen = 0;
            *out[q] = p.max;
            for (size_t k = 0; k < p.n; k++) {
                seen += p.count[k];
                if (seen < rank) continue;
                uint64_t lo, hi;
                bucket_bounds(p.idx[k], &lo, &hi);
                if (hi > p.max) hi = p.max;
                if (hi < p.min) hi = p.min;
                *out[q] = hi;
                break;
            }
        }
    }
    unsigned char *raw = xmalloc(VARINT_MAX * (2 + 2 * p.n));
    size_t n = 0, prev = (size_t)-1;
    n += put_varint(raw + n, p.total ? p.min : 0);
    n += put_varint(raw + n, p.total ? p.max : 0);
    for (size_t k = 0; k < p.n; k++) {
        n += put_varint(raw + n, (uint64_t)(p.idx[k] - prev));
        n += put_varint(raw + n, p.count[k]);
        prev = p.idx[k];
    }
    *canon = encode_text(raw, n);
    free(raw);
    pairs_cleanup(&p);
    return 0;
}
