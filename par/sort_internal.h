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
#include <sys/mman.h>

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

/* A scratch buffer of `bytes` for a sort (free it with free()), or NULL. A large one
 * asks for transparent huge pages on its 2 MiB-aligned interior: a sort writes every
 * byte of it once, and a fault per 4 KiB page can cost more than the sort itself
 * (especially on a VM), where one fault per 2 MiB page costs little (figures:
 * docs/perf-log.md, "chan and par tuning"). madvise is only advice: where THP is off
 * it changes nothing. */
#define WEFT_SORT_HUGE_SCRATCH ((size_t)4 << 20)
static inline void *weft__sort_scratch(size_t bytes)
{
    void *p = malloc(bytes);
#ifdef MADV_HUGEPAGE
    if (p && bytes >= WEFT_SORT_HUGE_SCRATCH) {
        const uintptr_t huge = (uintptr_t)2 << 20;
        uintptr_t b = ((uintptr_t)p + huge - 1) & ~(huge - 1);
        uintptr_t e = ((uintptr_t)p + bytes) & ~(huge - 1);
        if (e > b)
            (void)madvise((void *)b, e - b, MADV_HUGEPAGE);
    }
#endif
    return p;
}

/* The common argument rules of the comparator sorts: -EINVAL (base NULL with n > 0,
 * size 0, cmp NULL, n * size overflowing), else 0. */
static inline int weft__sort_check_args(const void *base, size_t n, size_t size, weft_cmp_fn cmp)
{
    if ((!base && n > 0) || size == 0 || !cmp || n > SIZE_MAX / size)
        return -EINVAL;
    return 0;
}

#endif /* WEFT_PAR_SORT_INTERNAL_H */
