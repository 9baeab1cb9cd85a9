/* pagecache.c -- answers of read-only GET routes kept until the warehouse changes
 * (a small LRU list under one mutex; see pagecache.h). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "pagecache.h"
#include "util.h"

struct entry {
    char *key;
    char *body;
    size_t len;
    enum pagecache_kind kind;
    uint64_t gen;
    uint64_t made_ns;
    struct entry *prev, *next;  /* most recently used first */
};

struct pagecache {
    pthread_mutex_t mu;
    struct entry *head, *tail;
    size_t n, max_entries;
    size_t bytes, max_bytes;
    uint64_t ttl_ns;
    uint64_t hits, misses;
};

pagecache *pagecache_new(size_t max_entries, size_t max_bytes, unsigned ttl_ms)
{
    pagecache *pc = xcalloc(1, sizeof *pc);
    pthread_mutex_init(&pc->mu, NULL);
    pc->max_entries = max_entries ? max_entries : 1;
    pc->max_bytes = max_bytes;
    pc->ttl_ns = (uint64_t)ttl_ms * 1000000u;
    return pc;
}

static void unlink_entry(pagecache *pc, struct entry *e)
{
    if (e->prev) e->prev->next = e->next;
    else pc->head = e->next;
    if (e->next) e->next->prev = e->prev;
    else pc->tail = e->prev;
    e->prev = e->next = NULL;
}

static void push_front(pagecache *pc, struct entry *e)
{
    e->next = pc->head;
    if (pc->head) pc->head->prev = e;
    pc->head = e;
    if (!pc->tail) pc->tail = e;
}

static void drop(pagecache *pc, struct entry *e)
{
    unlink_entry(pc, e);
    pc->n--;
    pc->bytes -= e->len;
    free(e->key);
    free(e->body);
    free(e);
}

void pagecache_free(pagecache *pc)
{
    if (!pc) return;
    while (pc->head) drop(pc, pc->head);
    pthread_mutex_destroy(&pc->mu);
    free(pc);
}

static struct entry *find(pagecache *pc, const char *key)
{
    for (struct entry *e = pc->head; e; e = e->next)
        if (!strcmp(e->key, key)) return e;
    return NULL;
}

int pagecache_get(pagecache *pc, const char *key, uint64_t gen, char **body, size_t *len,
                  enum pagecache_kind *kind)
{
    int hit = 0;
    uint64_t now = now_ns();
    pthread_mutex_lock(&pc->mu);
    struct entry *e = find(pc, key);
    if (e && (e->gen != gen || now - e->made_ns > pc->ttl_ns)) {
        drop(pc, e);
        e = NULL;
    }
    if (e) {
        unlink_entry(pc, e);
        push_front(pc, e);
        *body = xmalloc(e->len + 1);
        memcpy(*body, e->body, e->len);
        (*body)[e->len] = '\0';
        *len = e->len;
        *kind = e->kind;
        hit = 1;
        pc->hits++;
    } else {
        pc->misses++;
    }
    pthread_mutex_unlock(&pc->mu);
    return hit;
}

void pagecache_put(pagecache *pc, const char *key, uint64_t gen, const char *body, size_t len,
                   enum pagecache_kind kind)
{
    if (len > pc->max_bytes / 8) return;
    struct entry *ne = xcalloc(1, sizeof *ne);
    ne->key = xstrdup(key);
    ne->body = xmalloc(len ? len : 1);
    memcpy(ne->body, body, len);
    ne->len = len;
    ne->kind = kind;
    ne->gen = gen;
    ne->made_ns = now_ns();
    pthread_mutex_lock(&pc->mu);
    struct entry *old = find(pc, key);
    if (old) drop(pc, old);
    while (pc->tail && (pc->n + 1 > pc->max_entries || pc->bytes + len > pc->max_bytes)) drop(pc, pc->tail);
    push_front(pc, ne);
    pc->n++;
    pc->bytes += len;
    pthread_mutex_unlock(&pc->mu);
}

void pagecache_counts(pagecache *pc, uint64_t *hits, uint64_t *misses)
{
    pthread_mutex_lock(&pc->mu);
    *hits = pc->hits;
    *misses = pc->misses;
    pthread_mutex_unlock(&pc->mu);
}
