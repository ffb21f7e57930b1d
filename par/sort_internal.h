/* sort_internal.h: what the sort files (sort.c: unstable comparator sort,
 * sort_stable.c: stable merge sort, sort_typed.c: unsigned-key radix sorts) share:
 * entering the pool once, element swaps of any size, argument checks, scratch buffers.
 *
 * Invariant: a sort's parallel body runs as a member of a pool (a worker, or the
 * caller in a caller slot: weft_pool_execute), so every weft_join inside it forks in
 * place (never one injection per join). */
#ifndef WEFT_PAR_SORT_INTERNAL_H
#define WEFT_PAR_SORT_INTERNAL_H

#include <weft/par.h>
#include <weft/runtime.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Swap two non-overlapping elements of `size` bytes, 8 then 4 bytes at a time
 * through registers (any alignment; no VLA, no allocation). */
static inline void weft__sort_swap(char *a, char *b, size_t size)
{
    for (; size >= 8; size -= 8, a += 8, b += 8) {
        uint64_t x, y;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        memcpy(a, &y, 8);
        memcpy(b, &x, 8);
    }
    if (size >= 4) {
        uint32_t x, y;
        memcpy(&x, a, 4);
        memcpy(&y, b, 4);
        memcpy(a, &y, 4);
        memcpy(b, &x, 4);
        size -= 4;
        a += 4;
        b += 4;
    }
    for (; size > 0; size--, a++, b++) {
        char t = *a;
        *a = *b;
        *b = t;
    }
}

/* A scratch buffer of `bytes` for a sort, or NULL (sort_scratch.c): the buffer kept
 * from an earlier sort when it is large enough, else a new one (asking for
 * transparent huge pages when large). Give it back with weft__sort_scratch_free,
 * never free(); a large one is then kept for the next sort (its pages lazily free).
 * Its contents are unspecified. */
#define WEFT_SORT_HUGE_SCRATCH ((size_t)4 << 20)
void *weft__sort_scratch(size_t bytes);
void weft__sort_scratch_free(void *p); /* NULL: nothing */
/* Test hook: the capacity of the buffer kept for the next sort, 0 if none. */
size_t weft__sort_scratch_kept_(void);

/* The common argument rules of the comparator sorts: -EINVAL (base NULL with n > 0,
 * size 0, cmp NULL, n * size overflowing), else 0. */
static inline int weft__sort_check_args(const void *base, size_t n, size_t size, weft_cmp_fn cmp)
{
    if ((!base && n > 0) || size == 0 || !cmp || n > SIZE_MAX / size)
        return -EINVAL;
    return 0;
}

#endif /* WEFT_PAR_SORT_INTERNAL_H */
