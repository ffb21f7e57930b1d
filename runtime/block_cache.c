/* block_cache.c: the memory of heap jobs (tasks, scope jobs) — fixed-size blocks,
 * cached per worker so that a spawn and its free cost no malloc/free on the fast path.
 *
 * Scheme: every block is a plain malloc'd WEFT_JOB_BLOCK_SIZE block. A worker keeps a
 * LIFO list of free blocks, touched only by its own thread (no atomics). Alloc takes
 * from the calling worker's list, else mallocs; free puts the block on the calling
 * worker's list (whichever worker allocated it, of whichever pool: blocks are
 * interchangeable), else frees it. A thread that is not a worker uses malloc/free.
 *
 * Invariants:
 *  - a worker's list holds at most WEFT_JOB_BLOCK_CACHE blocks (bounded memory: a
 *    producer/consumer pair of workers degrades to malloc/free, never to growth);
 *  - a cached block is owned by the list alone; the list is freed with its worker
 *    (weft_block_cache_drain, after the worker thread was joined). */
#include "pool_internal.h"

#include <stdlib.h>

/* A free block reuses its first bytes as the list link. */
typedef struct free_block {
    struct free_block *next;
} free_block;

void *weft_block_alloc(void)
{
    weft_worker *w = weft_worker_current();
    if (w && w->block_cache) {
        free_block *b = w->block_cache;
        w->block_cache = b->next;
        w->block_cache_len--;
        return b;
    }
    return malloc(WEFT_JOB_BLOCK_SIZE);
}

void weft_block_free(void *p)
{
    weft_worker *w = weft_worker_current();
    if (w && w->block_cache_len < WEFT_JOB_BLOCK_CACHE) {
        free_block *b = p;
        b->next = w->block_cache;
        w->block_cache = b;
        w->block_cache_len++;
        return;
    }
    free(p);
}

void weft_block_cache_drain(weft_worker *w)
{
    while (w->block_cache) {
        free_block *b = w->block_cache;
        w->block_cache = b->next;
        free(b);
    }
    w->block_cache_len = 0;
}
