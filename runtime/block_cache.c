/* block_cache.c: the memory of heap jobs, what is not inline (see
 * block_cache_internal.h for the scheme and its invariants): the pool's depot that
 * carries full lists of blocks from the workers that free them to the ones that
 * allocate, and freeing the cached blocks once their threads are gone. */
#include "pool_internal.h"

static size_t block_size(unsigned kind)
{
    return kind == WEFT_BLOCK_TINY    ? WEFT_JOB_BLOCK_TINY_SIZE
           : kind == WEFT_BLOCK_SMALL ? WEFT_JOB_BLOCK_SIZE
                                      : WEFT_JOB_BLOCK_LARGE_SIZE;
}

void *weft__block_refill(weft_worker *w, unsigned kind)
{
    if (!w)
        return malloc(block_size(kind));
    weft_pool *pool = w->pool;
    /* Relaxed look first: an empty depot costs no lock. A list pushed meanwhile is
     * missed, and this one block comes from malloc. */
    if (atomic_load_explicit(&pool->block_depot[kind], memory_order_relaxed) != NULL) {
        weft_mutex_lock(&pool->block_depot_lock);
        weft__free_block *b = atomic_load_explicit(&pool->block_depot[kind], memory_order_relaxed);
        if (b) {
            atomic_store_explicit(&pool->block_depot[kind], b->next_list, memory_order_relaxed);
            atomic_store_explicit(&pool->block_depot_len[kind],
                                  atomic_load_explicit(&pool->block_depot_len[kind], memory_order_relaxed) - 1,
                                  memory_order_relaxed);
        }
        weft_mutex_unlock(&pool->block_depot_lock);
        if (b) {
            /* w's list is empty; a list on the depot holds exactly WEFT_JOB_BLOCK_CACHE. */
            w->block_cache[kind] = b->next;
            w->block_cache_len[kind] = WEFT_JOB_BLOCK_CACHE - 1;
            return b;
        }
    }
    void *p = malloc(block_size(kind));
    if (p) /* Relaxed: a bound read under the lock by a later park, no order needed. */
        atomic_fetch_add_explicit(&pool->block_depot_room[kind], 1, memory_order_relaxed);
    return p;
}

/* Whether one more list fits pool's depot of kind `kind`. Relaxed loads: a hint
 * outside the lock, exact under it (the length changes only under the lock; the room
 * only grows, and a park that misses a growth frees a list it could have kept). */
static bool depot_has_room(weft_pool *pool, unsigned kind)
{
    size_t len = atomic_load_explicit(&pool->block_depot_len[kind], memory_order_relaxed);
    return (len + 1) * WEFT_JOB_BLOCK_CACHE <= atomic_load_explicit(&pool->block_depot_room[kind], memory_order_relaxed);
}

bool weft__block_park(weft_worker *w, unsigned kind)
{
    weft_pool *pool = w->pool;
    weft__free_block *list = w->block_cache[kind];
    /* Relaxed look first, the same test as under the lock: a full depot (the
     * common case where outside threads spawn and workers only free) costs no lock
     * and no write to the depot's line. */
    if (!depot_has_room(pool, kind))
        return false;
    bool parked = false;
    weft_mutex_lock(&pool->block_depot_lock);
    if (depot_has_room(pool, kind)) {
        list->next_list = atomic_load_explicit(&pool->block_depot[kind], memory_order_relaxed);
        atomic_store_explicit(&pool->block_depot[kind], list, memory_order_relaxed);
        atomic_store_explicit(&pool->block_depot_len[kind],
                              atomic_load_explicit(&pool->block_depot_len[kind], memory_order_relaxed) + 1,
                              memory_order_relaxed);
        parked = true;
    }
    weft_mutex_unlock(&pool->block_depot_lock);
    if (parked) {
        w->block_cache[kind] = NULL;
        w->block_cache_len[kind] = 0;
    }
    return parked;
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

void weft__block_depot_drain(weft_pool *pool)
{
    /* Relaxed, no lock: every worker's thread was joined, which orders its last park
     * before this. */
    for (unsigned kind = 0; kind < WEFT_BLOCK_CACHED_KINDS; kind++) {
        weft__free_block *list = atomic_exchange_explicit(&pool->block_depot[kind], NULL, memory_order_relaxed);
        while (list) {
            weft__free_block *next = list->next_list;
            free_list(list);
            list = next;
        }
        atomic_store_explicit(&pool->block_depot_len[kind], 0, memory_order_relaxed);
    }
}
