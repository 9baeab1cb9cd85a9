/* util.h -- allocation wrappers, capped growable buffers, time and small helpers
 * shared by every redbench subsystem. */
#ifndef RB_UTIL_H
#define RB_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Size of every caller-supplied error buffer: functions that fail write the
 * exact cause there ("connect 127.0.0.1:6379: Connection refused"). */
#define RB_ERR_LEN 256

#define RB_VERSION "0.1.0"

/* Allocation that cannot fail: on out-of-memory these print and abort, so a
 * returned error elsewhere always means a real failure worth reporting. */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* printf into err (RB_ERR_LEN bytes); returns -1 so callers can
 * `return rb_err(err, "...")`. err may be NULL. */
int rb_err(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A growable byte buffer with a hard size cap set at init (like curl's
 * dynbuf): appends that would pass the cap fail and set `toobig`.
 * The content is always NUL-terminated (the NUL is not counted in len). */
typedef struct buf {
    char *data;
    size_t len;
    size_t cap;   /* allocated bytes */
    size_t max;   /* hard limit on len */
    int toobig;   /* set once an append was refused */
} buf;

void buf_init(buf *b, size_t max);
void buf_cleanup(buf *b);
void buf_reset(buf *b);
/* 0 on success, -1 (and toobig set) if the cap would be passed. */
int buf_append(buf *b, const void *p, size_t n);
int buf_puts(buf *b, const char *s);
int buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the content over to the caller (free() it) and resets b. Never NULL. */
char *buf_take(buf *b);

/* Monotonic clock in nanoseconds. */
uint64_t now_ns(void);
/* Wall clock in nanoseconds since the Unix epoch. */
uint64_t wall_ns(void);
/* Formats ns-since-epoch as RFC 3339 UTC with milliseconds into out (>= 32 bytes). */
void fmt_time_utc(uint64_t ns, char *out, size_t outlen);
/* snprintf(out, len, fmt, x) for a fmt holding one double conversion; the common
 * fixed forms (text, then "%.Nf" or "%+.Nf" with N 0..6, then text; "%%" allowed)
 * are formatted directly, ~10x faster, with the same output: near a rounding tie,
 * and for any other fmt, it is snprintf's own. */
void fmt_double(char *out, size_t len, const char *fmt, double x);

/* Fills out with n random bytes from getrandom(2)/urandom; 0 ok, -1 error. */
int rand_bytes(void *out, size_t n);
/* A run id: 32 lowercase hex chars from 16 random bytes, written to out (>= 33). */
void make_run_id(char *out);

/* Reads a whole file (up to max bytes) into a malloc'd NUL-terminated string
 * the caller frees; NULL with err filled on failure. */
char *read_file(const char *path, size_t max, size_t *len_out, char *err);
/* Writes data to path atomically (temp file in the same dir + fsync + rename). */
int write_file_atomic(const char *path, const void *data, size_t len, char *err);

/* Splits "HOST:PORT" or "[V6]:PORT" into host (malloc'd) and port. */
int parse_hostport(const char *s, char **host, int *port, char *err);

/* Constant-time comparison of two NUL-terminated secrets; 1 if equal. */
int secret_equal(const char *a, const char *b);

/* Command-line values. Each returns 0, or prints "redbench CMD: OPT: ..."
 * to stderr for a bad value and returns -1. */
int cli_long(const char *cmd, const char *opt, const char *s, long min, long max, long *out);
int cli_real(const char *cmd, const char *opt, const char *s, double min, double max, double *out);
/* Copies v into dst (size bytes) unless it is too long. */
int cli_name(const char *cmd, const char *opt, char *dst, size_t size, const char *v);

/* Parses a list "1,10,50" of distinct positive integers into out (max n);
 * returns the count, or -1 on a bad or repeated element. */
int parse_int_list(const char *s, long *out, int n, char *err);

#endif
