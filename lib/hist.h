/* hist.h -- HDR-style log-linear latency histogram (ns, 3 significant digits), mergeable and
 * serializable to a compact ASCII string. */
#ifndef RB_HIST_H
#define RB_HIST_H

#include <stdint.h>

/* Precision and range.
 *
 * Values are uint64 nanoseconds. Values below 2048 ns get a bucket of their own (exact).
 * Above that, every power-of-two range [2^k, 2^(k+1)) is split into 1024 equal buckets, so a
 * bucket [lo, hi] satisfies hi - lo + 1 <= lo / 1024. Consequently, for any recorded value v,
 * the highest value equivalent to v's bucket, r, satisfies
 *
 *     r == v               if v < 2048
 *     v <= r < v + v/1024  otherwise       (relative error < 2^-10 ~= 0.0977%)
 *
 * which is HdrHistogram's "3 significant decimal digits" (2048 sub-buckets).
 *
 * The trackable range is 0 .. HIST_MAX_VALUE (2^42 - 1 ns, about 73.3 minutes). Larger values
 * are clamped to HIST_MAX_VALUE and still counted; min/max then report the clamped value.
 * One histogram is a single allocation of about 264 KiB (33792 uint64 counters).
 *
 * Counters are uint64 and not checked for wrap-around on record or merge (2^64 samples). */
#define HIST_MAX_VALUE ((UINT64_C(1) << 42) - 1)

typedef struct hist hist;

/* Returns a new empty histogram; the caller owns it and frees it with hist_free().
 * Never NULL (allocation failure aborts). */
hist *hist_new(void);
/* Frees h; NULL is allowed. */
void hist_free(hist *h);
/* Makes h empty again, as returned by hist_new(). */
void hist_reset(hist *h);

/* Records one value / count occurrences of a value (ns). O(1), no allocation; values above
 * HIST_MAX_VALUE are clamped. hist_record_n with count 0 changes nothing. */
void hist_record(hist *h, uint64_t v);
void hist_record_n(hist *h, uint64_t v, uint64_t count);

/* Adds every count of src to dst (exact: the result equals a histogram that recorded both
 * sample sets) and combines min/max. src is not modified; dst may not be src. */
void hist_merge(hist *dst, const hist *src);

/* Number of recorded values. */
uint64_t hist_count(const hist *h);
/* Exact smallest / largest recorded value (after clamping); 0 when empty. */
uint64_t hist_min(const hist *h);
uint64_t hist_max(const hist *h);
/* Mean and population standard deviation, computed from bucket midpoints (not from exact
 * sums, so they are identical after an encode/decode round trip). Each value contributes with
 * an error below v / 2048, so the mean's relative error is below 2^-11. 0 when empty. */
double hist_mean(const hist *h);
double hist_stddev(const hist *h);

/* The p-th percentile, p in [0, 100], HdrHistogram convention: takes the nearest-rank value
 * x (the smallest recorded value such that at least p% of the values are <= x; rank =
 * ceil(p/100 * count), at least 1) and returns the highest value equivalent to x's bucket,
 * clamped to [hist_min, hist_max]. So the result r is within the bound above: r == x below
 * 2048 ns, else x <= r < x + x/1024.
 * p <= 0 (or NaN) returns hist_min, p >= 100 returns hist_max; 0 when empty. The rank is
 * computed in double with a 1e-12 relative tolerance so that p = 99.9 on 100000 values gives
 * rank 99900, not 99901. O(number of buckets). */
uint64_t hist_percentile(const hist *h, double p);

/* Calls fn(lo, hi, count, ud) for each non-empty bucket in increasing order; [lo, hi] are
 * the inclusive bounds of values equivalent to the bucket. */
void hist_foreach(const hist *h, void (*fn)(uint64_t lo, uint64_t hi, uint64_t count, void *ud),
                  void *ud);

/* Encodes h as a NUL-terminated ASCII string the caller must free(): "h1:" followed by
 * standard base64 (with '=' padding, no line breaks) of the bytes
 *
 *     varint(min) varint(max) { varint(index - previous_index) varint(count) }...
 *
 * where varints are unsigned LEB128, the pairs list the non-empty buckets in increasing
 * bucket index, and previous_index starts at -1 (so every delta is >= 1). An empty histogram
 * encodes min = max = 0 and no pairs ("h1:AAA="). Never NULL. */
char *hist_encode(const hist *h);

/* Decodes a hist_encode() string into a new histogram the caller owns (hist_free()).
 * Returns NULL and writes the exact cause into err (RB_ERR_LEN bytes, may be NULL) on any
 * malformed input: bad prefix, bad base64, truncated or over-long varint, zero delta, index
 * out of range, zero count, count overflow, or min/max inconsistent with the buckets.
 * Safe on arbitrary input; s must be NUL-terminated. */
hist *hist_decode(const char *s, char *err);

/* What the collector needs of a histogram it only passes through: its count, extremes, mean
 * and the percentiles of result_summarize(), equal to hist_count/min/max/mean and
 * hist_percentile(h, 50/90/95/99/99.9) of the decoded histogram. */
typedef struct hist_summary {
    uint64_t count, min, max;
    double mean;
    uint64_t p50, p90, p95, p99, p999;
} hist_summary;

/* Validates s exactly as hist_decode() does (same errors, into err) without allocating a
 * histogram: O(non-empty buckets) time and memory. On success fills *sum and sets *canon to a
 * malloc'd string the caller frees: the canonical encoding, equal to
 * hist_encode(hist_decode(s)). Returns 0, or -1 (nothing allocated). */
int hist_decode_summary(const char *s, hist_summary *sum, char **canon, char *err);

#endif
