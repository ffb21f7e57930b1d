/* block_cache.c: the memory of heap jobs, what is not inline (see
 * block_cache_internal.h for the scheme and its invariants): freeing a worker's
 * cached blocks once its thread is gone. */
#include "pool_internal.h"

void weft__block_cache_drain(weft_worker *w)
{
    for (unsigned kind = 0; kind < WEFT_BLOCK_CACHED_KINDS; kind++) {
        while (w->block_cache[kind]) {
            weft__free_block *b = w->block_cache[kind];
            w->block_cache[kind] = b->next;
            free(b);
        }
        w->block_cache_len[kind] = 0;
    }
}
