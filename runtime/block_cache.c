/* block_cache.c: the memory of heap jobs (tasks, scope jobs) — fixed-size blocks,
 * cached per worker so that a spawn and its free cost no malloc/free on the fast path.
 *
 * Scheme: two kinds of block, each a plain malloc'd block of a fixed size: small
 * (WEFT_JOB_BLOCK_SIZE: a task or a scope job) and large (WEFT_JOB_BLOCK_LARGE_SIZE:
 * a job with a copied argument of up to WEFT_SPAWN_COPY_INLINE bytes after it). A
 * worker keeps a LIFO list of free blocks per kind, touched only by its own thread
 * (no atomics). Alloc takes from the calling worker's list, else mallocs; free puts
 * the block on the calling worker's list of its kind (whichever worker allocated it,
 * of whichever pool: blocks of a kind are interchangeable), else frees it. A thread
 * that is not a worker uses malloc/free. A job too big for a large block (a larger
 * copied argument) is a malloc of its own size, never cached: its kind, HEAP, tells
 * its free to call free.
 *
 * Invariants:
 *  - a worker's list of each kind holds at most WEFT_JOB_BLOCK_CACHE blocks (bounded
 *    memory: a producer/consumer pair of workers degrades to malloc/free, never to
 *    growth);
 *  - a block goes back to the list of the kind it was allocated as (the job keeps
 *    its kind), so every block on a list has that list's size;
 *  - a cached block is owned by the list alone; the lists are freed with their worker
 *    (weft__block_cache_drain, after the worker thread was joined). */
#include "pool_internal.h"

#include <stdlib.h>
#include <string.h>

/* A free block reuses its first bytes as the list link. */
typedef struct free_block {
    struct free_block *next;
} free_block;

static const size_t kind_size[] = {WEFT_JOB_BLOCK_SIZE, WEFT_JOB_BLOCK_LARGE_SIZE};

static inline void *cached_alloc(unsigned kind)
{
    weft_worker *w = weft__worker_current();
    if (w && w->block_cache[kind]) {
        free_block *b = w->block_cache[kind];
        w->block_cache[kind] = b->next;
        w->block_cache_len[kind]--;
        return b;
    }
    return malloc(kind_size[kind]);
}

static inline void cached_free(void *p, unsigned kind)
{
    weft_worker *w = weft__worker_current();
    if (w && w->block_cache_len[kind] < WEFT_JOB_BLOCK_CACHE) {
        free_block *b = p;
        b->next = w->block_cache[kind];
        w->block_cache[kind] = b;
        w->block_cache_len[kind]++;
        return;
    }
    free(p);
}

void *weft__block_alloc(void)
{
    return cached_alloc(WEFT_BLOCK_SMALL);
}

/* memcpy for a copied argument: up to 64 bytes (the common case: a few pointers and
 * indices) by overlapping fixed-size copies, which the compiler inlines, instead of a
 * call into libc; reads and writes only [0, n). */
static inline void copy_arg(unsigned char *dst, const unsigned char *src, size_t n)
{
    if (n >= 16 && n <= 32) {
        memcpy(dst, src, 16);
        memcpy(dst + n - 16, src + n - 16, 16);
    } else if (n > 32 && n <= 64) {
        memcpy(dst, src, 32);
        memcpy(dst + n - 32, src + n - 32, 32);
    } else if (n >= 8 && n < 16) {
        memcpy(dst, src, 8);
        memcpy(dst + n - 8, src + n - 8, 8);
    } else {
        memcpy(dst, src, n);
    }
}

void *weft__block_alloc_copy(size_t header, const void *arg, size_t size, uint8_t *kind)
{
    if (size > SIZE_MAX - header)
        return NULL;
    size_t bytes = header + size;
    uint8_t k = bytes <= WEFT_JOB_BLOCK_SIZE         ? WEFT_BLOCK_SMALL
                : bytes <= WEFT_JOB_BLOCK_LARGE_SIZE ? WEFT_BLOCK_LARGE
                                                     : WEFT_BLOCK_HEAP;
    void *b = k == WEFT_BLOCK_HEAP ? malloc(bytes) : cached_alloc(k);
    if (b)
        copy_arg((unsigned char *)b + header, arg, size);
    *kind = k;
    return b;
}

void weft__block_free_kind(void *p, uint8_t kind)
{
    if (kind == WEFT_BLOCK_HEAP)
        free(p);
    else
        cached_free(p, kind);
}

void weft__block_cache_drain(weft_worker *w)
{
    for (unsigned kind = 0; kind < WEFT_BLOCK_CACHED_KINDS; kind++) {
        while (w->block_cache[kind]) {
            free_block *b = w->block_cache[kind];
            w->block_cache[kind] = b->next;
            free(b);
        }
        w->block_cache_len[kind] = 0;
    }
}
