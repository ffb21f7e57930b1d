/* slab.c: the unbounded channel's slab allocator (contract in slab_internal.h).
 *
 * A slab is CHAN_SLAB_BYTES of anonymous memory aligned to its size, advised
 * MADV_HUGEPAGE (one fault maps it all where transparent huge pages are in `madvise`
 * or `always` mode). Its first SLAB_HEADER bytes are the header (struct chan_slab);
 * blocks follow, carved in address order. Invariants (all under chan_slabs.lock):
 *  - bits[i] is set iff block i is live (handed out, not freed since); live counts
 *    those bits; carved counts the blocks ever carved (i < carved).
 *  - In a slab that is not trimmed, every carved block that is not live is on the
 *    slab's free list (so it holds carved - live blocks), and the slab is on the
 *    channel's `partial` list iff that list is non-empty. An allocation takes the
 *    first block of the first partial slab; a free puts its block first in its slab
 *    and its slab first in `partial`: the block freed last is reused first (the
 *    warmest). Only when no slab has a free block is one carved from `carving` (the
 *    one slab with blocks never carved), and only when that is full is a slab mapped:
 *    a backlog cycling through the channel keeps using the same slabs. The mapping
 *    (and its huge page's fault) happens outside the lock, on a slab nobody can reach
 *    yet; the allocator then re-takes the lock and installs it as `carving` only if
 *    still no slab has a block to give (else it unmaps it: counted in neither hook).
 *  - A mapped slab has live > 0, except while its last free unmaps it: the free that
 *    takes live to 0 also drops it from `partial` and `carving` (so nobody can reach
 *    it) and unmaps it. So a block's slab, found by masking the block's address, is
 *    mapped while the block is live.
 *  - A trimmed slab (a free left it with TRIM_LIVE live blocks or fewer while the whole
 *    channel held no more, i.e. the channel drained) is never allocated from again:
 *    its free list was dropped and its pages that hold no live block were given back
 *    with MADV_DONTNEED (the header's page and the live blocks' pages stay). It is
 *    unmapped when its last block goes. A slab that empties while the channel still
 *    holds more blocks is not trimmed: its last blocks go soon (the channel is FIFO)
 *    and unmapping it then gives back every page anyway.
 * Under AddressSanitizer, blocks not carved yet, freed blocks (their free-list link
 * included, written and read with the link's word briefly unpoisoned) and the padding
 * after each block's asked-for size are poisoned. */
#include "slab_internal.h"
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
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
#define TRIM_LIVE 2u      /* a free leaving the channel this many blocks trims the slab */

struct chan_slab {
    chan_slab *prev, *next; /* in chan_slabs.partial while `free` is non-empty */
    unsigned char *free;    /* freed blocks, last freed first, linked through their first word */
    size_t live;            /* blocks handed out and not freed */
    size_t carved;          /* blocks carved so far; block i starts at SLAB_HEADER + i * block_bytes */
    bool trimmed;           /* retired: no free list, pages without live blocks given back */
    uint64_t bits[MAX_BLOCKS / 64]; /* bit i: block i is live */
};
_Static_assert(sizeof(struct chan_slab) <= SLAB_HEADER, "the slab header must fit SLAB_HEADER");
_Static_assert(MAX_BLOCKS % 64 == 0, "whole bitmap words");
_Static_assert(BLOCK_ALIGN >= sizeof(void *), "a free block holds its free-list link");

static unsigned char *block_at(const chan_slabs *s, chan_slab *sl, size_t i)
{
    return (unsigned char *)sl + SLAB_HEADER + i * s->block_bytes;
}

void weft__chan_slabs_init(chan_slabs *s, size_t block_bytes)
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
    s->partial = s->carving = NULL;
    atomic_init(&s->mapped, 0);
    atomic_init(&s->maps, 0);
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
    sl->prev = sl->next = NULL;
    sl->free = NULL;
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

/* A test-hook counter (mapped, maps), changed under the lock only: load + store, no
 * RMW. Relaxed (both): the lock orders the writes; readers take an advisory value. */
static void hook_add(_Atomic size_t *c, size_t delta)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + delta, memory_order_relaxed);
}

/* The partial list: slabs with free blocks, most recently freed into first. */
static void partial_unlink(chan_slabs *s, chan_slab *sl)
{
    if (sl->prev)
        sl->prev->next = sl->next;
    else
        s->partial = sl->next;
    if (sl->next)
        sl->next->prev = sl->prev;
    sl->prev = sl->next = NULL;
}

static void partial_push(chan_slabs *s, chan_slab *sl)
{
    sl->prev = NULL;
    sl->next = s->partial;
    if (s->partial)
        s->partial->prev = sl;
    s->partial = sl;
}

/* A free block's link: the block's first word, poisoned but while we touch it. */
static unsigned char *link_get(unsigned char *b)
{
    unsigned char *next;
    slab_unpoison(b, sizeof next);
    memcpy(&next, b, sizeof next);
    slab_poison(b, sizeof next);
    return next;
}

static void link_set(unsigned char *b, unsigned char *next)
{
    slab_unpoison(b, sizeof next);
    memcpy(b, &next, sizeof next);
    slab_poison(b, sizeof next);
}

/* The next block to hand out: a freed one if any slab has one, else a fresh one
 * carved from `carving`, else (fresh != NULL) one from `fresh`, which becomes the
 * carving slab. NULL if a slab must be mapped first. */
static unsigned char *take_block(chan_slabs *s, chan_slab **slp, chan_slab **fresh)
{
    chan_slab *sl = s->partial;
    if (sl) {
        unsigned char *b = sl->free;
        sl->free = link_get(b);
        if (!sl->free)
            partial_unlink(s, sl);
        *slp = sl;
        return b;
    }
    sl = s->carving;
    if (!sl) {
        if (!*fresh)
            return NULL;
        sl = *fresh;
        *fresh = NULL;
        s->carving = sl;
        hook_add(&s->mapped, 1);
        hook_add(&s->maps, 1);
    }
    unsigned char *b = block_at(s, sl, sl->carved++);
    if (sl->carved == s->per_slab)
        s->carving = NULL;
    *slp = sl;
    return b;
}

void *weft__chan_slab_alloc(chan_slabs *s)
{
    if (!s->block_bytes)
        return NULL;
    chan_slab *fresh = NULL;
    for (;;) {
        weft_mutex_lock(&s->lock);
        chan_slab *sl;
        unsigned char *b = take_block(s, &sl, &fresh);
        if (b) {
            size_t i = (size_t)(b - block_at(s, sl, 0)) / s->block_bytes;
            sl->live++;
            sl->bits[i / 64] |= (uint64_t)1 << (i % 64);
            slab_unpoison(b, s->asked); /* the padding stays poisoned */
        }
        weft_mutex_unlock(&s->lock);
        if (b) {
            if (fresh) /* blocks came free while we mapped it: nobody saw it */
                slab_unmap(fresh);
            return b;
        }
        /* Mapped (and its huge page faulted in and zeroed) outside the lock: the
         * receivers' frees do not wait for the kernel. */
        fresh = slab_map();
        if (!fresh)
            return NULL;
    }
}

void weft__chan_slab_free(chan_slabs *s, void *block, size_t chan_live)
{
    chan_slab *sl = (chan_slab *)((uintptr_t)block & ~(uintptr_t)(CHAN_SLAB_BYTES - 1));
    unsigned char *b = block;
    size_t i = (size_t)(b - block_at(s, sl, 0)) / s->block_bytes;
    weft_mutex_lock(&s->lock);
    slab_poison(b, s->block_bytes);
    sl->bits[i / 64] &= ~((uint64_t)1 << (i % 64));
    bool unmap = --sl->live == 0;
    bool trim = !unmap && !sl->trimmed && sl->live <= TRIM_LIVE && chan_live <= TRIM_LIVE;
    if (unmap || trim) {
        /* Out of reach of allocations: its free list and carving go. */
        if (sl->free)
            partial_unlink(s, sl);
        sl->free = NULL;
        if (s->carving == sl)
            s->carving = NULL;
    }
    if (unmap) {
        hook_add(&s->mapped, (size_t)-1);
    } else if (trim) {
        sl->trimmed = true;
        /* Under the lock: once we let go, the free of its last block could unmap
         * the slab and a new mapping reuse the addresses we would give back. */
        slab_trim(s, sl);
    } else if (!sl->trimmed) {
        link_set(b, sl->free);
        if (!sl->free)
            partial_push(s, sl);
        else if (s->partial != sl) { /* first in line: its block is the warmest */
            partial_unlink(s, sl);
            partial_push(s, sl);
        }
        sl->free = b;
    }
    weft_mutex_unlock(&s->lock);
    /* Unreachable now (no live block, not carving, not partial): unmap it outside the lock. */
    if (unmap)
        slab_unmap(sl);
}

size_t weft__chan_slabs_mapped(const chan_slabs *s)
{
    /* Relaxed: advisory (the test reads it after the threads that changed it ended). */
    return atomic_load_explicit((_Atomic size_t *)&s->mapped, memory_order_relaxed);
}

size_t weft__chan_slabs_maps(const chan_slabs *s)
{
    /* Relaxed: as weft__chan_slabs_mapped. */
    return atomic_load_explicit((_Atomic size_t *)&s->maps, memory_order_relaxed);
}
