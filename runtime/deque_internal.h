/* deque_internal.h: the scheduler's per-worker work-stealing deque (internal to
 * runtime/, not installed). A *split* deque after Lace (van Dijk and van de Pol,
 * "Lace: non-blocking split deque for work-stealing", 2014): the owner's newest items
 * are private, the oldest are public and stolen as in the Chase–Lev deque with the
 * C11 memory orders of Lê, Pop, Cohen and Zappa Nardelli (PPoPP 2013).
 * runtime/deque.md explains the algorithm, each memory order and the tests.
 *
 * One thread, the OWNER, pushes and pops at the bottom (LIFO); any thread may steal
 * from the top (FIFO), but only items below the split point, one or (steal_some) up
 * to half of them per CAS. A push is private; a
 * thief that finds the public part empty raises `splitreq`, and the owner's next push
 * or pop moves the split to share half of its private items (weft__deque_publish
 * shares all of them at once). Popping a private item costs no fence and no atomic
 * read-modify-write; only popping back into the public part synchronises.
 * Items are non-NULL pointers; the deque never looks at them.
 *
 * Invariants kept (indices are 64-bit, signed, never wrap in practice):
 *   - top only grows (CAS by thieves, and by the owner taking the last public item);
 *   - split and bottom are written by the owner only;
 *   - top <= split <= bottom, except inside the owner's pop of a public item, where
 *     split may be transiently below top (thieves then see an empty public part);
 *   - the items are the slots [top, bottom) of the current buffer, index i living in
 *     slot i & (capacity - 1); [top, split) is public, [split, bottom) private;
 *   - bottom - top <= capacity;
 *   - a buffer, once published, is never freed before weft__deque_destroy: grown-out
 *     buffers are kept on a retired chain (total retired memory < the live buffer's).
 *
 * The struct is declared here so the scheduler can embed it in its worker struct;
 * touch its fields only through the functions below. It is aligned to
 * WEFT_CACHE_LINE (128): heap-allocate its container with aligned_alloc, not malloc
 * or calloc (which only guarantee 16). */
#ifndef WEFT_DEQUE_INTERNAL_H
#define WEFT_DEQUE_INTERNAL_H

#include <weft/sync.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

/* Smallest buffer, and the largest capacity a deque may reach (2^32 items, a 32 GiB
 * buffer): asking init for more is -EINVAL, growing past it is -ENOMEM. */
#define WEFT_DEQUE_MIN_CAPACITY ((size_t)16)
#define WEFT_DEQUE_MAX_CAPACITY ((size_t)1 << 32)

/* A circular buffer of capacity mask + 1 (a power of two) slots. */
typedef struct weft_deque_buffer {
    size_t mask;                        /* capacity - 1; immutable once published */
    struct weft_deque_buffer *retired;  /* the buffer this one replaced (owner only) */
    _Atomic(void *) slots[];            /* relaxed accesses only, see deque.md */
} weft_deque_buffer;

typedef struct weft_deque {
    /* Thieves' line: top is CASed by every steal; split and buffer are read by every
     * steal and written by the owner only when it shares, takes back or grows. */
    WEFT_CACHE_ALIGNED _Atomic int64_t top;
    _Atomic int64_t split;
    _Atomic(weft_deque_buffer *) buffer;
    /* Set by a thief that found the public part empty, cleared by the owner when it
     * shares. On its own line: the owner reads it on every push and pop. */
    WEFT_CACHE_ALIGNED _Atomic uint32_t splitreq;
    /* Owner's line. bottom is atomic only so that len (a hint) may read it anywhere. */
    WEFT_CACHE_ALIGNED _Atomic int64_t bottom;
    int64_t owner_split;             /* owner only: the value of split (no atomic load) */
    int64_t owner_limit;             /* owner only: a lower bound of top (read with acquire)
                                      * plus the capacity: push at bottom < owner_limit
                                      * overwrites no live slot */
    weft_deque_buffer *owner_buffer; /* owner only: the value of buffer */
    _Atomic(void *) *owner_slots;    /* owner only: owner_buffer->slots and ->mask, */
    size_t owner_mask;               /* copied so push and pop index in one step */
    bool eager;                      /* owner only: keep the oldest item public (push) */
    /* Owner only, for pop_public's bound on what a thief may still take (deque.md,
     * "Steals of several items"): the top read after the owner's latest fence; the
     * largest split stored since the store before the latest fence that read a
     * smaller top (or since init); the largest stored since the store before the
     * latest fence. */
    int64_t fence_top;
    int64_t split_hi;
    int64_t split_hi_last;
} weft_deque;

/* The most items one steal takes (deque.md, "Steals of several items"). */
#define WEFT_DEQUE_STEAL_MAX 16

/* How many items a thief that read top t and split s > t takes at most: half the
 * public part (the older half: the oldest are the biggest pieces of work), at least
 * one, at most WEFT_DEQUE_STEAL_MAX. The owner's pop_public bounds every take-back by
 * it, so thief and owner must use this one function. */
static inline int64_t weft__deque_steal_span_(int64_t t, int64_t s)
{
    int64_t k = (s - t) / 2;
    return k < 1 ? 1 : k > (int64_t)WEFT_DEQUE_STEAL_MAX ? (int64_t)WEFT_DEQUE_STEAL_MAX : k;
}

typedef enum {
    WEFT_STEAL_EMPTY,   /* nothing to steal (at the instant we looked) */
    WEFT_STEAL_RETRY,   /* lost a race with another thief or the owner: try again */
    WEFT_STEAL_SUCCESS, /* *out holds the stolen item */
} weft_steal_result;

/* Initialise an empty deque with room for initial_capacity items before it grows
 * (rounded up to a power of two, at least WEFT_DEQUE_MIN_CAPACITY). The calling
 * thread need not be the owner; publish the deque to other threads by the usual means
 * (thread creation, a mutex, a release store).
 * Returns 0, -EINVAL (d NULL, initial_capacity > WEFT_DEQUE_MAX_CAPACITY), -ENOMEM. */
int weft__deque_init(weft_deque *d, size_t initial_capacity);

/* Owner, or before publishing the deque: keep the oldest item public on push (true
 * after init), or not (false: no thief exists, e.g. a pool of one worker, so the
 * publication would only cost the pop a fence). */
void weft__deque_set_eager(weft_deque *d, bool eager);

/* Free the buffer and every retired buffer. The deque must be quiescent: no push,
 * pop or steal running or to come. Items still inside are dropped (they are the
 * caller's). NULL is ignored. */
void weft__deque_destroy(weft_deque *d);

/* OWNER ONLY. Push item at the bottom, into the private part (then, if a thief asked,
 * share half of the private part). When the buffer is full it is replaced by one
 * twice the size (the only allocation; never when not full). No fence, no atomic
 * read-modify-write. Returns 0, -EINVAL (d or item NULL), -ENOMEM (growing failed:
 * the item is NOT pushed, the deque is unchanged). */
static inline int weft__deque_push(weft_deque *d, void *item);

/* OWNER ONLY. The join's fast push: push item privately if that needs nothing more
 * than two stores (room in the ring, no share due: no split request, and not the
 * eager case of weft__deque_push) and return true; else push nothing and return false
 * (then call weft__deque_push). item must be non-NULL. Splitting push in two lets a
 * caller keep every call off its fast path. */
static inline bool weft__deque_push_private(weft_deque *d, void *item);

/* OWNER ONLY. Push item and make every item in the deque stealable at once, as
 * weft__deque_push_private followed by weft__deque_publish, when the ring has room by
 * the last top this owner read (return true); else push nothing and return false
 * (then call weft__deque_push, which looks again or grows, and weft__deque_publish).
 * No look at top: the eager rule's load of it decides whether to share, and this
 * shares anyway — a load of the thieves' line on every spawn, which a steal writes,
 * is a line transfer per task while a thief takes the spawner's tasks one by one. No
 * fence, as publish. item must be non-NULL. */
static inline bool weft__deque_push_public(weft_deque *d, void *item);

/* OWNER ONLY. Make every item in the deque stealable (move the split to the bottom).
 * Call it after a push whose item other workers should see now (a spawned task, a
 * join while workers are idle). No fence: to wake a sleeper, follow with the sleep
 * protocol's publisher fence (weft__sleep_new_injected_jobs). NULL is ignored. */
void weft__deque_publish(weft_deque *d);

/* OWNER ONLY. Pop the item pushed last (LIFO), or NULL if the deque is empty (or d is
 * NULL). From the private part: no fence, no atomic read-modify-write. From the
 * public part: a seq_cst fence, plus a CAS if it races thieves for the last item. */
static inline void *weft__deque_pop(weft_deque *d);

/* OWNER ONLY. The join's pop: if the item pushed last is `item` (and no thief took
 * it), pop it and return true; else return false, having popped nothing. Costs what
 * weft__deque_pop costs, but the caller keeps no popped pointer alive, and a deque
 * whose last item is another one is left as it is. */
static inline bool weft__deque_pop_if(weft_deque *d, void *item);

/* Any thread but the owner. Take the oldest public item (FIFO end) into *out. Returns
 * WEFT_STEAL_SUCCESS, WEFT_STEAL_EMPTY (the public part was empty: the owner is asked
 * to share, so a later steal may succeed), or WEFT_STEAL_RETRY (lost a race: the
 * deque was not empty; a caller that wants an item should try again, or another
 * victim). *out is written only on success. d or out NULL: WEFT_STEAL_EMPTY. */
weft_steal_result weft__deque_steal(weft_deque *d, void **out);

/* Any thread but the owner. As weft__deque_steal, but take up to max (>= 1) of the
 * oldest public items with one CAS: out[0..*n) receive them, oldest first, where
 * 1 <= *n <= min(max, weft__deque_steal_span_(top, split)) — half the public part at
 * most, so the owner and other thieves keep the rest. one_if (NULL: none) is a word
 * of the owner's, written by it with relaxed atomic stores: read non-zero after split,
 * it limits the steal to one item. Read after split's acquire, so if the items it
 * could take were shared after the owner set it, it is seen set (the pool passes the
 * victim's isolation tag). out and n are written only on success. d, out or n NULL,
 * or max 0: WEFT_STEAL_EMPTY. */
weft_steal_result weft__deque_steal_some(weft_deque *d, void **out, size_t max, size_t *n,
                                         const uint64_t *one_if);

/* OWNER ONLY. How many items can be pushed before the ring may have to grow (by the
 * last top this owner read: a lower bound). A thief that steals several items and
 * pushes all but one on its own deque asks for no more than this, so those pushes
 * never allocate and cannot fail. */
static inline size_t weft__deque_room(const weft_deque *d)
{
    /* Relaxed: bottom is written only by this thread. */
    int64_t r = d->owner_limit - atomic_load_explicit(&d->bottom, memory_order_relaxed);
    return r > 0 ? (size_t)r : 0;
}

/* Any thread. The number of items, private ones included, approximately: a racy
 * snapshot, exact only when the deque is quiescent (e.g. in the owner while no thief
 * steals). Used as a hint (is there work worth staying awake for?), never for
 * correctness. 0 for NULL. */
size_t weft__deque_len(const weft_deque *d);

/* Any thread. The number of public (stealable) items, approximately: a hint like
 * weft__deque_len. 0 for NULL. */
size_t weft__deque_len_public(const weft_deque *d);

/* ---- the owner's fast paths, inline (a join's push and pop are on the hot path of
 * every fork). Only plain (relaxed) accesses here, no fence: the slow paths, which
 * synchronise, are in deque.c. The memory-order argument is in deque.md.
 * weft/inline.h repeats weft__deque_push_private's test and store and
 * weft__deque_pop_if's private case in code compiled into programs (weft__frame_fork,
 * weft__frame_join), over a view of this struct that inline.c checks field by field:
 * change them together, and bump WEFT_ABI_VERSION when the layout changes. */

/* Slow paths, deque.c: push when weft__deque_push_private would not (the ring looks
 * full, or a share is due); share the older half of the private part
 * [owner_split, b); pop when the private part is empty (s == bottom). */
int weft__deque_push_slow(weft_deque *d, void *item);
void weft__deque_share_half(weft_deque *d, int64_t b);
void *weft__deque_pop_public(weft_deque *d, int64_t s);

static inline bool weft__deque_push_private(weft_deque *d, void *item)
{
    /* Relaxed: bottom is written only by this thread. */
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
    /* Not here but in weft__deque_push_slow, each checked before any store:
     *  - the ring looks full (b past owner_limit);
     *  - keep the oldest item public: when the public part is empty, this item goes
     *    there at once, so a thief (or a worker about to sleep) always finds the
     *    biggest piece of work without waiting for us to push or pop again (we may be
     *    starting a long leaf). Relaxed load of top: a stale (smaller) value only
     *    leaves the item private, to be shared on request. Costs a compare while
     *    private items exist. Off (d->eager false) when nobody can steal: a pool of
     *    one worker;
     *  - a split request. Relaxed: a request only needs to be seen eventually; the
     *    owner answers it at its next push or pop, and the thief keeps looking
     *    meanwhile. */
    if (__builtin_expect(b >= d->owner_limit, 0) ||
        __builtin_expect(b == d->owner_split && d->eager &&
                             atomic_load_explicit(&d->top, memory_order_relaxed) >= b, 0) ||
        __builtin_expect(atomic_load_explicit(&d->splitreq, memory_order_relaxed) != 0, 0))
        return false;
    /* Relaxed: private until a release store of split publishes it (share). */
    atomic_store_explicit(&d->owner_slots[(size_t)b & d->owner_mask], item, memory_order_relaxed);
    /* Relaxed: thieves do not use bottom (len, a hint, does). */
    atomic_store_explicit(&d->bottom, b + 1, memory_order_relaxed);
    return true;
}

/* Owner only: make the private items [owner_split, new_split) public. */
static inline void weft__deque_share_(weft_deque *d, int64_t new_split)
{
    /* Relaxed: clearing the request first means a request raised from now on is seen
     * by a later push or pop (at worst one extra share); the order against thieves
     * that matters is the release store just below. Loaded first, so that no write
     * reaches the request's line when none was raised (a spawn shares every time). */
    if (atomic_load_explicit(&d->splitreq, memory_order_relaxed) != 0)
        atomic_store_explicit(&d->splitreq, 0, memory_order_relaxed);
    d->owner_split = new_split;
    /* Release: pairs with the acquire load of split in steal. A thief that sees the
     * new split sees the slots below it and everything the owner wrote before
     * pushing those items (the jobs' fields), and the buffer they live in. */
    atomic_store_explicit(&d->split, new_split, memory_order_release);
}

static inline bool weft__deque_push_public(weft_deque *d, void *item)
{
    /* Relaxed: bottom is written only by this thread. */
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
    if (__builtin_expect(b >= d->owner_limit, 0))
        return false;
    /* Relaxed: published by the release store of split below. */
    atomic_store_explicit(&d->owner_slots[(size_t)b & d->owner_mask], item, memory_order_relaxed);
    /* Relaxed: thieves do not use bottom (len, a hint, does). */
    atomic_store_explicit(&d->bottom, b + 1, memory_order_relaxed);
    weft__deque_share_(d, b + 1); /* answers a pending request too */
    return true;
}

static inline int weft__deque_push(weft_deque *d, void *item)
{
    if (__builtin_expect(!d || !item, 0))
        return -EINVAL;
    if (__builtin_expect(weft__deque_push_private(d, item), 1))
        return 0;
    return weft__deque_push_slow(d, item);
}

/* The owner takes private slot b (b >= owner_split): lower bottom, then answer a
 * split request if private items are left to share. Shared by pop and pop_if. */
static inline void weft__deque_pop_private_(weft_deque *d, int64_t b)
{
    /* Relaxed: as in push (thieves do not use bottom). */
    atomic_store_explicit(&d->bottom, b, memory_order_relaxed);
    /* Relaxed: as in push. */
    if (__builtin_expect(atomic_load_explicit(&d->splitreq, memory_order_relaxed) != 0, 0) &&
        d->owner_split < b)
        weft__deque_share_half(d, b);
}

static inline void *weft__deque_pop(weft_deque *d)
{
    if (__builtin_expect(!d, 0))
        return NULL;
    /* Relaxed: bottom is written only by this thread. */
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed) - 1;
    if (__builtin_expect(b < d->owner_split, 0))
        return weft__deque_pop_public(d, b + 1);
    /* Private: no thief reads slot b (it is at or above split), so plain accesses. */
    void *item = atomic_load_explicit(&d->owner_slots[(size_t)b & d->owner_mask], memory_order_relaxed);
    weft__deque_pop_private_(d, b);
    return item;
}

static inline bool weft__deque_pop_if(weft_deque *d, void *item)
{
    /* Relaxed: bottom is written only by this thread. */
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed) - 1;
    /* Look before popping. Relaxed: only the owner (this thread) writes slots. If item
     * was pushed last and is still in the deque, it is in slot b; if slot b holds
     * something else, item is not last (or gone): nothing to pop. Slot b may hold item
     * and yet be gone, if b is public and a thief took it: the public pop, which
     * synchronises with thieves, then returns NULL. (b may be below top, even -1 on
     * an empty deque: the masked index still names a slot of the current buffer.) */
    if (__builtin_expect(atomic_load_explicit(&d->owner_slots[(size_t)b & d->owner_mask],
                                              memory_order_relaxed) != item, 0))
        return false;
    if (__builtin_expect(b < d->owner_split, 0))
        return weft__deque_pop_public(d, b + 1) != NULL; /* if it wins, it pops slot b */
    weft__deque_pop_private_(d, b);
    return true;
}

#endif /* WEFT_DEQUE_INTERNAL_H */
