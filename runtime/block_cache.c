/* block_cache.c: the memory of heap jobs, what is not inline (see
 * block_cache_internal.h for the scheme and its invariants): the pool's spare lists
 * that carry blocks from the workers that free them to the ones that allocate, and
 * freeing the cached blocks once their threads are gone. */
#include "pool_internal.h"

static size_t block_size(unsigned kind)
{
    return kind == WEFT_BLOCK_SMALL ? WEFT_JOB_BLOCK_SIZE : WEFT_JOB_BLOCK_LARGE_SIZE;
}

void *weft__block_refill(weft_worker *w, unsigned kind)
{
    if (w) {
        _Atomic(void *) *slot = &w->pool->block_spare[kind];
        /* Relaxed first look: an empty slot costs no write to its line. Acquire on
         * the exchange: pairs with weft__block_park's release CAS, so the parked
         * list's links (and the blocks' last writes by their runner) are visible. */
        if (atomic_load_explicit(slot, memory_order_relaxed) != NULL) {
            weft__free_block *b = atomic_exchange_explicit(slot, NULL, memory_order_acquire);
            if (b) {
                /* w's list is empty; a parked list holds exactly WEFT_JOB_BLOCK_CACHE. */
                w->block_cache[kind] = b->next;
                w->block_cache_len[kind] = WEFT_JOB_BLOCK_CACHE - 1;
                return b;
            }
        }
    }
    return malloc(block_size(kind));
}

bool weft__block_park(weft_worker *w, unsigned kind)
{
    _Atomic(void *) *slot = &w->pool->block_spare[kind];
    void *empty = NULL;
    /* Relaxed first look, as in weft__block_refill. Release on the CAS: pairs with
     * weft__block_refill's acquire exchange. */
    if (atomic_load_explicit(slot, memory_order_relaxed) != NULL ||
        !atomic_compare_exchange_strong_explicit(slot, &empty, w->block_cache[kind], memory_order_release,
                                                 memory_order_relaxed))
        return false;
    w->block_cache[kind] = NULL;
    w->block_cache_len[kind] = 0;
    return true;
}

static void free_list(weft__free_block *b)
{
    while (b) {
        weft__free_block *next = b->next;
        free(b);
        b = next;
    }
}

void weft__block_cache_drain(weft_worker *w)
{
    for (unsigned kind = 0; kind < WEFT_BLOCK_CACHED_KINDS; kind++) {
        free_list(w->block_cache[kind]);
        w->block_cache[kind] = NULL;
        w->block_cache_len[kind] = 0;
    }
}

void weft__block_spare_drain(weft_pool *pool)
{
    /* Relaxed: every worker's thread was joined, which orders its park before this. */
    for (unsigned kind = 0; kind < WEFT_BLOCK_CACHED_KINDS; kind++)
        free_list(atomic_exchange_explicit(&pool->block_spare[kind], NULL, memory_order_relaxed));
}
