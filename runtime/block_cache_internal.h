/* block_cache_internal.h: the memory of heap jobs (tasks, scope jobs) — fixed-size
 * blocks, cached per worker so that a spawn and its free cost no malloc/free on the
 * fast path. The calls are inline here, since every spawn and every task's end makes
 * one; block_cache.c has what runs when a worker's thread is gone.
 *
 * Scheme: three kinds of block, each a plain malloc'd block of a fixed size: tiny
 * (WEFT_JOB_BLOCK_TINY_SIZE: a scope job without a copied argument, a fifo ticket),
 * small (WEFT_JOB_BLOCK_SIZE: a task, or a scope job with a short copy) and large
 * (WEFT_JOB_BLOCK_LARGE_SIZE: a job with a copied argument of up to
 * WEFT_SPAWN_COPY_INLINE bytes after it). Why a tiny kind: a scope that queues many
 * tasks before it runs them (a million, spawned in a loop, then waited for) writes
 * and later reads every block, which no cache holds; a block of 56 bytes (64 with
 * malloc's header) instead of a small block's 96 (112) is 43% less memory to move
 * per task. (glibc's chunk for a request of 16k + 8 bytes is 16(k + 1) bytes, its
 * 8-byte header included: 56 is the most a 64-byte chunk holds.) A worker keeps a
 * LIFO list of free blocks per kind, touched only by its own thread (no atomics).
 * Alloc takes from the calling worker's list, else mallocs; free puts the block on
 * the calling worker's list of its kind (whichever worker allocated it,
 * of whichever pool: blocks of a kind are interchangeable), else frees it. A thread
 * that is not a worker uses malloc/free. A job too big for a large block (a larger
 * copied argument) is a malloc of its own size, never cached: its kind, HEAP, tells
 * its free to call free.
 *
 * The depot. A worker that spawns tasks that other workers run (a scope spawning a
 * task per item, thieves running them) empties its list while theirs fill, and a
 * worker that queues many tasks before it runs them (a million on one thread) needs
 * far more blocks than its list holds. So a worker whose list is full parks the whole
 * list on its pool's depot of that kind (a stack of full lists under one lock: one
 * lock per WEFT_JOB_BLOCK_CACHE blocks), and a worker whose list is empty takes a
 * list from the depot before it mallocs (block_cache.c): the blocks go round with no
 * malloc or free, and a burst of tasks reuses the blocks of the last one. The depot
 * holds at most as many blocks as the pool's workers malloc'd (its room, counted at
 * each malloc of a refill): a park beyond that fails and the block goes to free(), so
 * blocks malloc'd by outside threads (weft_spawn from a thread that is not a worker)
 * and freed by workers do not pile up.
 *
 * Invariants:
 *  - a worker's list of each kind holds at most WEFT_JOB_BLOCK_CACHE blocks, each list
 *    on a depot exactly WEFT_JOB_BLOCK_CACHE (only a full list is parked);
 *  - a depot holds at most its room blocks, the number its pool's workers malloc'd, and
 *    a worker mallocs only when its list and the depot are empty: a pool keeps at most
 *    the blocks of the most tasks its workers had spawned and not yet freed at once,
 *    plus its workers' lists, until it is destroyed (the memory of a burst is kept for
 *    the next one, as glibc keeps small freed chunks in its bins);
 *  - a block goes back to the list of the kind it was allocated as (the job keeps
 *    its kind), so every block on a list or a depot has that list's size;
 *  - a cached block is owned by the list or the depot alone; the lists are freed with
 *    their worker (weft__block_cache_drain, after the worker thread was joined), the
 *    depots with their pool (weft__block_depot_drain, after every worker was).
 * Included by pool_internal.h after the types it uses. */
#ifndef WEFT_BLOCK_CACHE_INTERNAL_H
#define WEFT_BLOCK_CACHE_INTERNAL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* fits a scope job without a copied argument and a fifo ticket (static asserts in
 * scope.c and fifo.c) */
#define WEFT_JOB_BLOCK_TINY_SIZE 56
#define WEFT_JOB_BLOCK_SIZE 96   /* fits a task and a scope job (static asserts there) */
/* fits a task or a scope job followed by a copied argument of WEFT_SPAWN_COPY_INLINE
 * bytes (static asserts in spawn.c and scope.c) */
#define WEFT_JOB_BLOCK_LARGE_SIZE 224
#define WEFT_JOB_BLOCK_CACHE 256 /* free blocks of each kind a worker keeps at most */

/* A free block reuses its first bytes as the list link; the first block of a list on
 * a depot also links the depot's stack of lists. */
typedef struct weft__free_block {
    struct weft__free_block *next;
    struct weft__free_block *next_list;
} weft__free_block;

/* A block of cached kind `kind` from w's list, or NULL if w is NULL or the list is
 * empty. w: the calling thread's worker (weft__worker_current()) or NULL. */
static inline void *weft__block_take(weft_worker *w, unsigned kind)
{
    weft__free_block *b;
    if (!w || (b = w->block_cache[kind]) == NULL)
        return NULL;
    w->block_cache[kind] = b->next;
    w->block_cache_len[kind]--;
    return b;
}

/* A block of cached kind `kind` for w (NULL: not a worker) whose list is empty: from
 * a list off the pool's depot of that kind if it has one (the list becomes w's), else
 * malloc'd (counted in the depot's room when w is a worker); NULL: out of memory. */
void *weft__block_refill(weft_worker *w, unsigned kind);

/* Park w's full list of kind `kind` on its pool's depot, leaving the list empty, and
 * return true; or return false (the depot is at its room) having done nothing. */
bool weft__block_park(weft_worker *w, unsigned kind);

/* A block of cached kind `kind`: from the calling worker's list, else from the pool's
 * depot, else malloc'd. */
static inline void *weft__block_alloc_cached(unsigned kind)
{
    weft_worker *w = weft__worker_current();
    void *b = weft__block_take(w, kind);
    if (__builtin_expect(b != NULL, 1))
        return b;
    return weft__block_refill(w, kind);
}

/* A WEFT_JOB_BLOCK_SIZE block (kind WEFT_BLOCK_SMALL), or NULL (out of memory). */
static inline void *weft__block_alloc(void)
{
    return weft__block_alloc_cached(WEFT_BLOCK_SMALL);
}

/* A WEFT_JOB_BLOCK_TINY_SIZE block (kind WEFT_BLOCK_TINY), or NULL (out of memory). */
static inline void *weft__block_alloc_tiny(void)
{
    return weft__block_alloc_cached(WEFT_BLOCK_TINY);
}

/* memcpy for a copied argument: up to 64 bytes (the common case: a few pointers and
 * indices) by overlapping fixed-size copies, which the compiler inlines, instead of a
 * call into libc (so that a spawn's path up to 64 bytes calls nothing); reads and
 * writes only [0, n). */
static inline void weft__block_copy_arg(unsigned char *dst, const unsigned char *src, size_t n)
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
    } else if (n >= 4 && n < 8) {
        memcpy(dst, src, 4);
        memcpy(dst + n - 4, src + n - 4, 4);
    } else if (n >= 1 && n < 4) {
        dst[0] = src[0];
        dst[n / 2] = src[n / 2];
        dst[n - 1] = src[n - 1];
    } else {
        memcpy(dst, src, n);
    }
}

/* A block for a job of `header` bytes followed by a copy of the `size` bytes at arg
 * (made here): the smallest cached kind that holds both, else a malloc of their size
 * (WEFT_BLOCK_HEAP). Blocks are aligned for any type, so the copy is too when header
 * is a multiple of _Alignof(max_align_t). *kind gets the kind, which the block's free
 * needs. NULL: out of memory (or header + size overflows). header is at most
 * WEFT_JOB_BLOCK_SIZE (a job fits a small block). */
static inline void *weft__block_alloc_copy(size_t header, const void *arg, size_t size, uint8_t *kind)
{
    uint8_t k = size <= WEFT_JOB_BLOCK_SIZE - header         ? WEFT_BLOCK_SMALL
                : size <= WEFT_JOB_BLOCK_LARGE_SIZE - header ? WEFT_BLOCK_LARGE
                                                             : WEFT_BLOCK_HEAP;
    void *b = k != WEFT_BLOCK_HEAP ? weft__block_alloc_cached(k) : size <= SIZE_MAX - header ? malloc(header + size)
                                                                                           : NULL;
    if (b)
        weft__block_copy_arg((unsigned char *)b + header, arg, size);
    *kind = k;
    return b;
}

/* Give back a block of cached kind `kind` to w's list (parking the list first if it is
 * full) and return true, or return false (w NULL, or its list full and the pool's
 * depot at its room) having done nothing. w: as for weft__block_take. */
static inline bool weft__block_give(weft_worker *w, void *p, unsigned kind)
{
    if (!w)
        return false;
    if (__builtin_expect(w->block_cache_len[kind] >= WEFT_JOB_BLOCK_CACHE, 0) && !weft__block_park(w, kind))
        return false;
    weft__free_block *b = p;
    b->next = w->block_cache[kind];
    w->block_cache[kind] = b;
    w->block_cache_len[kind]++;
    return true;
}

/* Give back a block from weft__block_alloc_copy (or weft__block_alloc, kind SMALL;
 * weft__block_alloc_tiny, kind TINY),
 * from any thread; w: the calling thread's worker (weft__worker_current()) or NULL. */
static inline void weft__block_free_on(weft_worker *w, void *p, uint8_t kind)
{
    if (__builtin_expect(kind == WEFT_BLOCK_HEAP || !weft__block_give(w, p, kind), 0))
        free(p);
}

/* weft__block_free_on from the calling thread. */
static inline void weft__block_free_kind(void *p, uint8_t kind)
{
    weft__block_free_on(weft__worker_current(), p, kind);
}

/* Free w's cached blocks (w's thread has stopped). */
void weft__block_cache_drain(weft_worker *w);
/* Free the pool's depots (every worker's thread has stopped). */
void weft__block_depot_drain(weft_pool *pool);

#endif
