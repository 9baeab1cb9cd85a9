/* pagecache.h -- answers of read-only GET routes kept until the warehouse changes. */
#ifndef RB_PAGECACHE_H
#define RB_PAGECACHE_H

#include <stddef.h>
#include <stdint.h>

/*
 * A page or API answer depends on the warehouse, the URL (path and query) and
 * what the requester may do (its role: pages show triage buttons to admins).
 * The cache keeps the 200 answers of such requests under a key made of those,
 * with the warehouse generation they were made at (store_generation: it moves
 * with every write transaction), and answers a later request with the same key
 * only while the generation is unchanged and the entry is younger than its
 * time to live (for what depends on the clock, such as today's prices).
 * Thread-safe (one mutex); least recently used entries leave first.
 */
typedef struct pagecache pagecache;

/* The kinds of body, which fix the answer's headers. */
enum pagecache_kind { PC_HTML, PC_JSON };

/* A cache of at most max_entries answers and max_bytes of bodies; entries
 * live at most ttl_ms. Free with pagecache_free. Never NULL. */
pagecache *pagecache_new(size_t max_entries, size_t max_bytes, unsigned ttl_ms);
void pagecache_free(pagecache *pc); /* NULL: no-op */

/* 1 and a copy of the answer (*body: caller frees; *len, *kind) when key holds
 * an answer made at generation gen that is still within its time to live,
 * else 0. */
int pagecache_get(pagecache *pc, const char *key, uint64_t gen, char **body, size_t *len,
                  enum pagecache_kind *kind);

/* Keeps a copy of body (len bytes, an answer with status 200) under key, made
 * at generation gen. Bodies larger than an eighth of max_bytes are not kept. */
void pagecache_put(pagecache *pc, const char *key, uint64_t gen, const char *body, size_t len,
                   enum pagecache_kind kind);

/* Hits and misses so far, for GET /metrics. */
void pagecache_counts(pagecache *pc, uint64_t *hits, uint64_t *misses);

#endif
