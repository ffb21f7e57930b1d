/* slab.c: the unbounded channel's slab allocator (contract in slab_internal.h).
 *
 * A slab is CHAN_SLAB_BYTES of anonymous memory aligned to its size, advised
 * MADV_HUGEPAGE (one fault maps it all where transparent huge pages are in `madvise`
 * or `always` mode). Its first SLAB_HEADER bytes are the header (struct chan_slab);
 * blocks follow, carved in address order. Invariants (all under chan_slabs.lock):
 *  - bits[i] is set iff block i is carved and not yet freed; live counts those bits;
 *    carved counts the blocks ever carved (freed ones are not reused).
 *  - A mapped slab has live > 0, except while its last free unmaps it: the free that
 *    takes live to 0 also drops it from `carving` (so nobody can reach it) and unmaps
 *    it. So a block's slab, found by masking the block's address, is mapped while the
 *    block is live.
 *  - `carving` is the only slab that gains blocks; it is dropped when full or trimmed.
 *  - A trimmed slab (live fell to TRIM_LIVE or below) is never carved again: its pages
 *    that hold no live block were given back with MADV_DONTNEED, the header's page
 *    and the live blocks' pages stay. It is unmapped when its last block goes.
 * Under AddressSanitizer, blocks not carved yet, freed blocks and the padding after
 * each block's asked-for size are poisoned. */
#include "slab_internal.h"
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SLAB_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define SLAB_ASAN 1
#endif
#ifdef SLAB_ASAN
#include <sanitizer/asan_interface.h>
#define slab_poison(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define slab_unpoison(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define slab_poison(p, n) ((void)(p), (void)(n))
#define slab_unpoison(p, n) ((void)(p), (void)(n))
#endif

#define SLAB_HEADER 1024u
#define BLOCK_ALIGN 64u
#define PAGE 4096u        /* x86-64 base page: the unit MADV_DONTNEED gives back */
#define MAX_BLOCKS 6656u  /* bitmap capacity: >= (2 MiB - header) / 320, the smallest block */
#define MIN_BLOCKS 64u    /* fewer blocks per slab: slabs off (malloc serves them) */
#define TRIM_LIVE 2u      /* a free leaving this many live blocks trims the slab */

struct chan_slab {
    size_t live;   /* blocks carved and not freed */
    size_t carved; /* blocks carved so far; block i starts at SLAB_HEADER + i * block_bytes */
    bool trimmed;  /* retired from carving, pages without live blocks given back */
    uint64_t bits[MAX_BLOCKS / 64]; /* bit i: block i is live */
};
_Static_assert(sizeof(struct chan_slab) <= SLAB_HEADER, "the slab header must fit SLAB_HEADER");
_Static_assert(MAX_BLOCKS % 64 == 0, "whole bitmap words");

static unsigned char *block_at(const chan_slabs *s, chan_slab *sl, size_t i)
{
    return (unsigned char *)sl + SLAB_HEADER + i * s->block_bytes;
}

void chan_slabs_init(chan_slabs *s, size_t block_bytes)
{
    weft_mutex_init(&s->lock);
    s->asked = block_bytes;
    s->block_bytes = s->per_slab = 0;
    /* Checked before rounding up: a huge block_bytes would wrap. */
    if (block_bytes && block_bytes <= (CHAN_SLAB_BYTES - SLAB_HEADER) / MIN_BLOCKS) {
        size_t bytes = (block_bytes + BLOCK_ALIGN - 1) / BLOCK_ALIGN * BLOCK_ALIGN;
        size_t per = (CHAN_SLAB_BYTES - SLAB_HEADER) / bytes;
        if (per >= MIN_BLOCKS) {
            s->block_bytes = bytes;
            s->per_slab = per < MAX_BLOCKS ? per : MAX_BLOCKS;
        }
    }
    s->carving = NULL;
    atomic_init(&s->mapped, 0);
}

/* A fresh slab: map twice its size and keep the aligned half. NULL if mmap fails. */
static chan_slab *slab_map(void)
{
    size_t len = 2 * CHAN_SLAB_BYTES;
    unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    uintptr_t a = ((uintptr_t)p + CHAN_SLAB_BYTES - 1) & ~(uintptr_t)(CHAN_SLAB_BYTES - 1);
    size_t before = a - (uintptr_t)p, after = len - before - CHAN_SLAB_BYTES;
    if (before)
        munmap(p, before);
    if (after)
        munmap((unsigned char *)a + CHAN_SLAB_BYTES, after);
#ifdef MADV_HUGEPAGE
    /* A failure (no THP in this kernel) only costs the faults we wanted to avoid. */
    madvise((void *)a, CHAN_SLAB_BYTES, MADV_HUGEPAGE);
#endif
    slab_poison((unsigned char *)a + SLAB_HEADER, CHAN_SLAB_BYTES - SLAB_HEADER);
    /* Fresh anonymous memory is zero (an empty bitmap). Writing first faults the huge
     * page in at once; a read would first map the shared zero page, then fault again. */
    chan_slab *sl = (chan_slab *)a;
    sl->live = 0;
    sl->carved = 0;
    sl->trimmed = false;
    return sl;
}

static void slab_unmap(chan_slab *sl)
{
    slab_unpoison(sl, CHAN_SLAB_BYTES); /* the shadow of memory that may be mapped again */
    munmap(sl, CHAN_SLAB_BYTES);
}

/* Give back every page of sl that holds neither the header nor a live block. */
static void slab_trim(const chan_slabs *s, chan_slab *sl)
{
    uintptr_t base = (uintptr_t)sl;
    uintptr_t kept = base + PAGE; /* pages below this stay: the header's, then live blocks' */
    for (size_t w = 0; w * 64 < sl->carved; w++) {
        for (uint64_t bits = sl->bits[w]; bits; bits &= bits - 1) {
            size_t i = w * 64 + (size_t)__builtin_ctzll(bits);
            uintptr_t start = (uintptr_t)block_at(s, sl, i);
            uintptr_t first = start & ~(uintptr_t)(PAGE - 1);
            if (first > kept)
                madvise((void *)kept, first - kept, MADV_DONTNEED);
            uintptr_t end = (start + s->block_bytes + PAGE - 1) & ~(uintptr_t)(PAGE - 1);
            if (end > kept)
                kept = end;
        }
    }
    if (base + CHAN_SLAB_BYTES > kept)
        madvise((void *)kept, base + CHAN_SLAB_BYTES - kept, MADV_DONTNEED);
}

void *chan_slab_alloc(chan_slabs *s)
{
    if (!s->block_bytes)
        return NULL;
    weft_mutex_lock(&s->lock);
    chan_slab *sl = s->carving;
    if (!sl) {
        sl = slab_map();
        if (!sl) {
            weft_mutex_unlock(&s->lock);
            return NULL;
        }
        s->carving = sl;
        /* Relaxed (both): a counter for the test hook; the lock orders the writes. */
        atomic_store_explicit(&s->mapped, atomic_load_explicit(&s->mapped, memory_order_relaxed) + 1,
                              memory_order_relaxed);
    }
    size_t i = sl->carved++;
    if (sl->carved == s->per_slab)
        s->carving = NULL;
    sl->live++;
    sl->bits[i / 64] |= (uint64_t)1 << (i % 64);
    unsigned char *b = block_at(s, sl, i);
    slab_unpoison(b, s->asked); /* the padding stays poisoned */
    weft_mutex_unlock(&s->lock);
    return b;
}

void chan_slab_free(chan_slabs *s, void *block)
{
    chan_slab *sl = (chan_slab *)((uintptr_t)block & ~(uintptr_t)(CHAN_SLAB_BYTES - 1));
    size_t i = ((uintptr_t)block - (uintptr_t)sl - SLAB_HEADER) / s->block_bytes;
    weft_mutex_lock(&s->lock);
    slab_poison(block, s->block_bytes);
    sl->bits[i / 64] &= ~((uint64_t)1 << (i % 64));
    bool unmap = --sl->live == 0;
    if (unmap || (sl->live <= TRIM_LIVE && !sl->trimmed)) {
        if (s->carving == sl)
            s->carving = NULL;
        if (unmap) /* Relaxed (both): as in chan_slab_alloc. */
            atomic_store_explicit(&s->mapped,
                                  atomic_load_explicit(&s->mapped, memory_order_relaxed) - 1,
                                  memory_order_relaxed);
        else {
            sl->trimmed = true;
            /* Under the lock: once we let go, the free of its last block could unmap
             * the slab and a new mapping reuse the addresses we would give back. */
            slab_trim(s, sl);
        }
    }
    weft_mutex_unlock(&s->lock);
    /* Unreachable now (no live block, not carving): unmap it outside the lock. */
    if (unmap)
        slab_unmap(sl);
}

size_t chan_slabs_mapped(const chan_slabs *s)
{
    /* Relaxed: advisory (the test reads it after the threads that changed it ended). */
    return atomic_load_explicit((_Atomic size_t *)&s->mapped, memory_order_relaxed);
}
