/* sort_scratch.c: the sorts' scratch buffers, and the one large buffer kept from one
 * sort for the next.
 *
 * Why keep one: a sort writes every byte of its scratch, and the first touch of fresh
 * memory can cost more than the sort (a keyed sort of 10^7 records takes 480 MB of
 * scratch: faulting it in costs 40-50 ms with huge pages whose memory the VM still
 * backs and up to ~1 s when the host must back it again, against ~0.3 s of sorting).
 * A program that sorts again and again (a frame, a time step) would pay that on every
 * call. So a large buffer is not freed when its sort ends: it is kept for the next
 * sort, its pages marked lazily free (MADV_FREE), which lets the kernel take them
 * whenever it needs memory (a reuse then faults in fresh zeroed pages, as a new
 * buffer would) and otherwise leaves them mapped for the next sort. This is what
 * malloc implementations with decay (jemalloc, mimalloc) do for their own large
 * blocks; glibc returns such blocks to the kernel at once.
 *
 * Invariants:
 *  - at most one buffer is kept (`kept`), of at least WEFT_SORT_HUGE_SCRATCH bytes;
 *  - every buffer is owned by exactly one sort or by `kept`: ownership moves by atomic
 *    exchange, so two sorts at once never share one (the second gets a new buffer);
 *  - a buffer's first 64 bytes hold its capacity; the sort gets the rest (64 is a
 *    multiple of malloc's alignment, so the sort's part keeps it).
 * A sort must not rely on its scratch's contents: they are whatever the last user (or
 * the kernel's zeroing) left. */
#include "sort_internal.h"

#include <stdatomic.h>
#include <sys/mman.h>

#define SCRATCH_HEADER 64u

typedef struct scratch_header {
    size_t capacity; /* bytes after the header */
} scratch_header;

/* The buffer kept for the next sort, or NULL. */
static _Atomic(scratch_header *) kept;

static scratch_header *header_of(void *p) { return (scratch_header *)((char *)p - SCRATCH_HEADER); }

/* Advise the 2 MiB-aligned interior of [p, p + bytes) (huge pages, or lazily free). */
static void advise_interior(void *p, size_t bytes, int advice)
{
    const uintptr_t huge = (uintptr_t)2 << 20;
    uintptr_t b = ((uintptr_t)p + huge - 1) & ~(huge - 1);
    uintptr_t e = ((uintptr_t)p + bytes) & ~(huge - 1);
    if (e > b)
        (void)madvise((void *)b, e - b, advice);
}

void *weft__sort_scratch(size_t bytes)
{
    if (bytes >= WEFT_SORT_HUGE_SCRATCH) {
        /* Acquire: pairs with weft__sort_scratch_free's release exchange, so the last
         * sort's writes to the buffer happened before ours. */
        scratch_header *h = atomic_exchange_explicit(&kept, NULL, memory_order_acquire);
        if (h && h->capacity >= bytes)
            return (char *)h + SCRATCH_HEADER;
        free(h); /* too small for this sort: a new one will be kept instead */
    }
    if (bytes > SIZE_MAX - SCRATCH_HEADER)
        return NULL;
    scratch_header *h = malloc(SCRATCH_HEADER + bytes);
    if (!h)
        return NULL;
    h->capacity = bytes;
    char *p = (char *)h + SCRATCH_HEADER;
#ifdef MADV_HUGEPAGE
    /* A sort writes every byte of a large scratch once; a fault per 4 KiB page can
     * cost more than the sort itself (especially on a VM), one fault per 2 MiB page
     * costs little. Only advice: where THP is off it changes nothing. */
    if (bytes >= WEFT_SORT_HUGE_SCRATCH)
        advise_interior(p, bytes, MADV_HUGEPAGE);
#endif
    return p;
}

void weft__sort_scratch_free(void *p)
{
    if (!p)
        return;
    scratch_header *h = header_of(p);
    if (h->capacity < WEFT_SORT_HUGE_SCRATCH) {
        free(h);
        return;
    }
#ifdef MADV_FREE
    advise_interior(p, h->capacity, MADV_FREE);
#endif
    /* Release: pairs with the next sort's acquire exchange (our writes to the buffer
     * happen before its writes). Keep the most recent; free what was kept before. */
    free(atomic_exchange_explicit(&kept, h, memory_order_release));
}

size_t weft__sort_scratch_kept_(void)
{
    /* Acquire: pairs with the release exchange in weft__sort_scratch_free (a test hook:
     * reads the kept buffer's capacity; tests call it with no sort running). */
    scratch_header *h = atomic_load_explicit(&kept, memory_order_acquire);
    return h ? h->capacity : 0;
}
