/* ingest.c -- group commit of uploaded runs: the runs that reach the writer
 * together are stored in one transaction (one fsync), each answered only
 * after that commit (docs/api.md). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "util.h"

/* One run waiting for its commit; lives on its request thread's stack. */
struct ing_item {
    const rb_run *run;
    const char *doc;
    enum store_put put;
    char err[RB_ERR_LEN];
    int done;
    struct ing_item *next;
};

struct ingest {
    const struct collector *col;
    pthread_mutex_t mu;
    pthread_cond_t cv;          /* a group was committed */
    struct ing_item *head, *tail;
    int leading;                /* a thread is committing a group */
};

void ingest_start(struct collector *col)
{
    struct ingest *g = xcalloc(1, sizeof *g);
    g->col = col;
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    col->ing = g;
}

void ingest_free(struct collector *col)
{
    struct ingest *g = col->ing;
    if (!g) return;
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->cv);
    free(g);
    col->ing = NULL;
}

static void group_fail(struct ing_item *batch, const char *err)
{
    for (struct ing_item *p = batch; p; p = p->next) {
        p->put = STORE_ERROR;
        snprintf(p->err, sizeof p->err, "%s", err);
    }
}

/* Stores every run of batch in one transaction: each under a savepoint, so
 * a run that fails leaves the others alone; a failed COMMIT fails them all. */
static void group_commit(struct ingest *g, struct ing_item *batch)
{
    char err[RB_ERR_LEN];
    int created = 0;
    sqlite3 *db = store_writer_lock(g->col->st);
    if (store_exec(db, "BEGIN IMMEDIATE", err) < 0) {
        group_fail(batch, err);
        store_writer_unlock(g->col->st);
        return;
    }
    for (struct ing_item *p = batch; p; p = p->next) {
        if (store_exec(db, "SAVEPOINT run", p->err) < 0) {
            p->put = STORE_ERROR;
            continue;
        }
        p->put = collector_store_run(db, g->col, p->run, p->doc, p->err);
        if (p->put == STORE_CREATED) {
            created++;
        } else {
            store_exec(db, "ROLLBACK TO run", NULL);
        }
        store_exec(db, "RELEASE run", NULL);
    }
    if (store_exec(db, created ? "COMMIT" : "ROLLBACK", err) < 0) {
        store_exec(db, "ROLLBACK", NULL);
        group_fail(batch, err); /* "already present" ones may have seen an uncommitted twin */
        created = 0;
    }
    store_writer_unlock(g->col->st);
    if (created) analysis_kick(g->col);
}

enum store_put ingest_commit(const struct collector *col, const rb_run *run, const char *doc, char *err)
{
    struct ingest *g = col->ing;
    struct ing_item it = {.run = run, .doc = doc, .put = STORE_ERROR};
    pthread_mutex_lock(&g->mu);
    if (g->tail)
        g->tail->next = &it;
    else
        g->head = &it;
    g->tail = &it;
    while (!it.done) {
        if (g->leading) {
            pthread_cond_wait(&g->cv, &g->mu);
            continue;
        }
        /* Lead: take every run queued so far (this one included) as a group. */
        g->leading = 1;
        struct ing_item *batch = g->head;
        g->head = g->tail = NULL;
        pthread_mutex_unlock(&g->mu);
        group_commit(g, batch);
        pthread_mutex_lock(&g->mu);
        for (struct ing_item *p = batch, *next; p; p = next) {
            next = p->next; /* p's owner may return as soon as it is done */
            p->done = 1;
        }
        g->leading = 0;
        pthread_cond_broadcast(&g->cv);
    }
    pthread_mutex_unlock(&g->mu);
    if (it.put == STORE_ERROR) snprintf(err, RB_ERR_LEN, "%s", it.err);
    return it.put;
}
