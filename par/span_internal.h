/* span_internal.h: a range that one thread runs in blocks while thieves may take the
 * upper half of what is left — the leaf of adaptive 1-D loops.
 *
 * Why: a split made before a thief arrives is made blind. The caller of a loop cuts
 * it at the midpoint, and by the time a worker has stolen the right half (a steal
 * costs a few cache-line transfers, up to microseconds between distant cores) the
 * caller has done part of its own half: it finishes first and waits. Here the cut is
 * made by the thief, at the moment it steals, at the middle of what the owner has not
 * yet claimed, so both halves hold the same work when they start.
 *
 * Invariants: the word packs {next, end} as 32-bit offsets from base, so one CAS
 * moves either bound and every index in [base + next, base + end) is claimed exactly
 * once — by the owner one block at a time (next moves up; in an ordered loop, by
 * every thread so) or by a thief taking [mid, end), or the last few indices (end
 * moves down). A span holds at most UINT32_MAX indices. The CASes
 * are relaxed: they only divide the indices, no other data is published through the
 * word (a thief's work is published by the join that runs it). */
#ifndef WEFT_PAR_SPAN_INTERNAL_H
#define WEFT_PAR_SPAN_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WEFT_PAR_SPAN_MAX ((size_t)UINT32_MAX)

/* The owner's first block is an eighth of block_max: a thief usually comes within
 * a block or two of the offer, and what the owner has claimed (its current block)
 * stays with it, so a short first block keeps the first cut near the middle of the
 * work. Blocks then double up to a WEFT_PAR_SPAN_BLOCK_SHARE-th of what is left
 * (OpenMP's guided schedule, per span), kept between block_max and
 * WEFT_PAR_SPAN_BLOCK_GROWTH x block_max.
 * Why grow past block_max (about half a microsecond of work, by the probe's
 * estimate): each block costs a CAS and restarts the body's loop, and the hardware
 * prefetcher's streams with it; in blocks of block_max throughout, a memory-bound
 * loop of 2^16 to 2^18 elements lost a measurable share of its time to them
 * (docs/perf-log.md, 2026-12-07). A 16th of what is left keeps little of the owner's
 * rest out of a thief's reach, and the blocks shrink back to block_max at the end of
 * the span, where the balance is decided. Why stop at 16 x block_max (some 8 us of
 * work): an owner preempted mid-block strands its block, which no thief can take;
 * the gain is in the first few doublings. */
#define WEFT_PAR_SPAN_FIRST_BLOCK_SHIFT 3
#define WEFT_PAR_SPAN_BLOCK_SHARE 16u
#define WEFT_PAR_SPAN_BLOCK_GROWTH 16u

typedef struct weft_par_span {
    _Atomic uint64_t word; /* next << 32 | end, offsets from base */
    size_t base;
    size_t block, block_max; /* the owner's: its next block's length, and the least cap */
} weft_par_span;

/* A span of [lo, hi) (at most WEFT_PAR_SPAN_MAX indices) whose owner claims blocks of
 * up to block_max (>= 1) indices, or up to a WEFT_PAR_SPAN_BLOCK_SHARE-th of what is
 * left when that is more (at most WEFT_PAR_SPAN_BLOCK_GROWTH x block_max). */
static inline void weft__par_span_init(weft_par_span *s, size_t lo, size_t hi, size_t block_max)
{
    s->base = lo;
    s->block_max = block_max;
    s->block = block_max >> WEFT_PAR_SPAN_FIRST_BLOCK_SHIFT ? block_max >> WEFT_PAR_SPAN_FIRST_BLOCK_SHIFT : 1;
    atomic_init(&s->word, (uint64_t)(hi - lo));
}

/* The indices not yet claimed. */
static inline size_t weft__par_span_left(weft_par_span *s)
{
    uint64_t w = atomic_load_explicit(&s->word, memory_order_relaxed);
    return (size_t)((uint32_t)w - (w >> 32));
}

/* Claim the next `len` (>= 1) indices from the front — all that is left when fewer
 * than min_tail (>= 1) would remain after them. False when none is left. The owner's
 * blocks (below) and, in an ordered loop, every thread's (for.c) are claimed so. */
static inline bool weft__par_span_take(weft_par_span *s, size_t len, size_t min_tail, size_t *b, size_t *e)
{
    uint64_t w = atomic_load_explicit(&s->word, memory_order_relaxed);
    for (;;) {
        uint64_t next = w >> 32, end = (uint32_t)w;
        if (next >= end)
            return false;
        uint64_t take = end - next;
        if (take > len && take - len >= min_tail)
            take = len;
        if (atomic_compare_exchange_weak_explicit(&s->word, &w, (next + take) << 32 | end,
                                                  memory_order_relaxed, memory_order_relaxed)) {
            *b = s->base + (size_t)next;
            *e = s->base + (size_t)(next + take);
            return true;
        }
    }
}

/* Owner: claim all that is left (none can be stolen any more: see
 * weft__par_span_stealable). False when none is left. */
static inline bool weft__par_span_take_rest(weft_par_span *s, size_t *b, size_t *e)
{
    return weft__par_span_take(s, WEFT_PAR_SPAN_MAX, 1, b, e);
}

/* Owner: claim the next block (see WEFT_PAR_SPAN_FIRST_BLOCK_SHIFT). False when none
 * is left. What is left is read before the claim's CAS: a thief can only shrink it
 * meanwhile, and the claim never takes more than is left then. */
static inline bool weft__par_span_next(weft_par_span *s, size_t *b, size_t *e)
{
    size_t cap = weft__par_span_left(s) / WEFT_PAR_SPAN_BLOCK_SHARE;
    if (cap < s->block_max)
        cap = s->block_max;
    else if (cap > s->block_max * WEFT_PAR_SPAN_BLOCK_GROWTH) /* block_max <= 2^32: no overflow */
        cap = s->block_max * WEFT_PAR_SPAN_BLOCK_GROWTH;
    size_t block = s->block < cap ? s->block : cap;
    s->block = block * 2; /* block <= WEFT_PAR_SPAN_MAX: no overflow */
    return weft__par_span_take(s, block, 1, b, e);
}

/* The first index not yet claimed from the front. */
static inline size_t weft__par_span_front(weft_par_span *s)
{
    return s->base + (size_t)(atomic_load_explicit(&s->word, memory_order_relaxed) >> 32);
}

/* Can a thief take half of len indices (weft__par_span_steal)? A span only shrinks:
 * once this is false, an offer beside it is never worth taking, so its owner offers
 * nothing and runs it whole (a taken offer that finds nothing still makes the owner
 * wait for the thief at the end). */
static inline bool weft__par_span_stealable(size_t len, size_t min_len)
{
    return len / 2 >= min_len;
}

/* Thief: take the upper half of what is left, if each half keeps at least min_len
 * (>= 1) indices. */
static inline bool weft__par_span_steal(weft_par_span *s, size_t min_len, size_t *b, size_t *e)
{
    uint64_t w = atomic_load_explicit(&s->word, memory_order_relaxed);
    for (;;) {
        uint64_t next = w >> 32, end = (uint32_t)w;
        if (next >= end || !weft__par_span_stealable((size_t)(end - next), min_len))
            return false;
        uint64_t mid = next + (end - next) / 2;
        if (atomic_compare_exchange_weak_explicit(&s->word, &w, next << 32 | mid,
                                                  memory_order_relaxed, memory_order_relaxed)) {
            *b = s->base + (size_t)mid;
            *e = s->base + (size_t)end;
            return true;
        }
    }
}

/* Thief: take the last `len` (>= 1) indices, or all that is left if fewer (a scan's
 * helpers work from the far end one piece at a time, par/scan.c). False when none is
 * left. */
static inline bool weft__par_span_pop(weft_par_span *s, size_t len, size_t *b, size_t *e)
{
    uint64_t w = atomic_load_explicit(&s->word, memory_order_relaxed);
    for (;;) {
        uint64_t next = w >> 32, end = (uint32_t)w;
        if (next >= end)
            return false;
        uint64_t from = end - next > len ? end - len : next;
        if (atomic_compare_exchange_weak_explicit(&s->word, &w, next << 32 | from,
                                                  memory_order_relaxed, memory_order_relaxed)) {
            *b = s->base + (size_t)from;
            *e = s->base + (size_t)end;
            return true;
        }
    }
}

#endif /* WEFT_PAR_SPAN_INTERNAL_H */
