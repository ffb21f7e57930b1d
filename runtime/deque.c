/* deque.c: the Chase–Lev work-stealing deque (see deque_internal.h for the API and
 * deque.md for the algorithm and the proof sketch of each memory order).
 *
 * Memory orders are those of Lê, Pop, Cohen and Zappa Nardelli, "Correct and
 * Efficient Work-Stealing for Weak Memory Models" (PPoPP 2013), figure 1, with two
 * deliberate differences:
 *   - push publishes bottom with a release STORE instead of a release fence followed
 *     by a relaxed store: same code on x86-64, and ThreadSanitizer (which does not
 *     model standalone fences) sees the owner's writes to an item happen before the
 *     thief that stole it reads them;
 *   - the buffer pointer is published with a release store and loaded by thieves with
 *     acquire (the paper: consume, which compilers promote to acquire anyway), so a
 *     thief that sees a new buffer sees its mask and the slots copied into it.
 * Indices are signed 64-bit so that pop's `bottom - 1` on an empty deque is -1, not
 * SIZE_MAX (with unsigned indices the paper's `t <= b` test misfires there).
 *
 * Invariants: see deque_internal.h. Owner-only state: bottom (written), the buffer
 * pointer (written), every buffer's `retired` link. */
#include "deque_internal.h"

#include <errno.h>
#include <stdlib.h>

static weft_deque_buffer *buffer_new(size_t capacity)
{
    /* capacity <= WEFT_DEQUE_MAX_CAPACITY, so this size cannot overflow. */
    weft_deque_buffer *b = malloc(sizeof *b + capacity * sizeof b->slots[0]);
    if (!b)
        return NULL;
    b->mask = capacity - 1;
    b->retired = NULL;
    /* Slots are left uninitialised: a thief can read one only at an index t that
     * top has already passed when the buffer was published (a growth copies
     * [top, bottom)); its CAS on top then fails and the value is dropped unused. */
    return b;
}

int weft_deque_init(weft_deque *d, size_t initial_capacity)
{
    if (!d || initial_capacity > WEFT_DEQUE_MAX_CAPACITY)
        return -EINVAL;
    size_t capacity = WEFT_DEQUE_MIN_CAPACITY;
    while (capacity < initial_capacity)
        capacity <<= 1;
    weft_deque_buffer *b = buffer_new(capacity);
    if (!b)
        return -ENOMEM;
    /* Relaxed: the deque is not shared yet; whatever publishes it to other threads
     * (thread creation, a lock, a release store) orders these stores. */
    atomic_init(&d->top, 0);
    atomic_init(&d->bottom, 0);
    atomic_init(&d->buffer, b);
    return 0;
}

void weft_deque_destroy(weft_deque *d)
{
    if (!d)
        return;
    /* Relaxed: quiescent by contract (the caller synchronised with every user). */
    weft_deque_buffer *b = atomic_load_explicit(&d->buffer, memory_order_relaxed);
    while (b) {
        weft_deque_buffer *older = b->retired;
        free(b);
        b = older;
    }
    atomic_store_explicit(&d->buffer, NULL, memory_order_relaxed);
}

/* Owner only, slow path of push: replace the full buffer `old` (holding [t, b)) by one
 * twice the size. The old buffer is retired, not freed: a thief that loaded the old
 * pointer may still read its slots, and without a reclamation scheme (epochs, hazard
 * pointers) we cannot know when the last one is done. Retired buffers are halves,
 * quarters... of the live one, so they total less than it. */
static weft_deque_buffer *grow(weft_deque *d, weft_deque_buffer *old, int64_t t, int64_t b)
{
    size_t capacity = old->mask + 1;
    if (capacity >= WEFT_DEQUE_MAX_CAPACITY)
        return NULL;
    weft_deque_buffer *fresh = buffer_new(capacity * 2);
    if (!fresh)
        return NULL;
    /* Relaxed copies: thieves may be reading old slots concurrently (fine: those are
     * never written again); the new slots are published by the release store below. */
    for (int64_t i = t; i < b; i++) {
        void *item = atomic_load_explicit(&old->slots[(size_t)i & old->mask], memory_order_relaxed);
        atomic_store_explicit(&fresh->slots[(size_t)i & fresh->mask], item, memory_order_relaxed);
    }
    fresh->retired = old;
    /* Release: pairs with the acquire load of d->buffer in steal, so a thief that sees
     * the new buffer also sees its mask and the copied slots. */
    atomic_store_explicit(&d->buffer, fresh, memory_order_release);
    return fresh;
}

int weft_deque_push(weft_deque *d, void *item)
{
    if (__builtin_expect(!d || !item, 0))
        return -EINVAL;
    /* Relaxed: bottom is written only by this thread. */
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
    /* Acquire: pairs with the seq_cst (hence release) CAS on top in steal and pop.
     * A slot we are about to overwrite (index b - capacity) was read by the thief
     * that took it before its CAS; synchronising with that CAS makes the thief's
     * read happen before our store, so it cannot have read our new item. */
    int64_t t = atomic_load_explicit(&d->top, memory_order_acquire);
    /* Relaxed: the buffer pointer is written only by this thread. */
    weft_deque_buffer *a = atomic_load_explicit(&d->buffer, memory_order_relaxed);
    if (__builtin_expect(b - t > (int64_t)a->mask, 0)) {
        a = grow(d, a, t, b);
        if (!a)
            return -ENOMEM;
    }
    /* Relaxed: published by the release store of bottom just below. */
    atomic_store_explicit(&a->slots[(size_t)b & a->mask], item, memory_order_relaxed);
    /* Release: pairs with the acquire load of bottom in steal. A thief that sees the
     * new bottom sees the slot, and everything the owner wrote before pushing (the
     * job's fields). A release store rather than the paper's release fence + relaxed
     * store: same instructions on x86-64, and visible to ThreadSanitizer. */
    atomic_store_explicit(&d->bottom, b + 1, memory_order_release);
    return 0;
}

void *weft_deque_pop(weft_deque *d)
{
    if (__builtin_expect(!d, 0))
        return NULL;
    /* Relaxed: bottom and the buffer pointer are written only by this thread. */
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed) - 1;
    weft_deque_buffer *a = atomic_load_explicit(&d->buffer, memory_order_relaxed);
    /* Relaxed store, then a seq_cst fence before reading top: the store of bottom
     * must be ordered before the load of top (a store-load order, which only a
     * seq_cst fence gives). It pairs with the seq_cst fence in steal between its
     * loads of top and bottom: either the thief sees our decremented bottom (and
     * backs off slot b), or we see its incremented top (and do not take slot t). */
    atomic_store_explicit(&d->bottom, b, memory_order_relaxed);
    atomic_thread_fence(memory_order_seq_cst);
    /* Relaxed: ordered by the fence above. */
    int64_t t = atomic_load_explicit(&d->top, memory_order_relaxed);
    if (t > b) {
        /* Empty: restore bottom (relaxed, as above: no item is published). */
        atomic_store_explicit(&d->bottom, b + 1, memory_order_relaxed);
        return NULL;
    }
    /* Relaxed: this slot was written by this thread. */
    void *item = atomic_load_explicit(&a->slots[(size_t)b & a->mask], memory_order_relaxed);
    if (t == b) {
        /* The last item: thieves may be after it too; whoever moves top wins.
         * seq_cst CAS as in the paper (its success half pairs with the acquire
         * load of top in push and steal); relaxed on failure (we only learn we
         * lost). */
        if (!atomic_compare_exchange_strong_explicit(&d->top, &t, t + 1, memory_order_seq_cst,
                                                     memory_order_relaxed))
            item = NULL;
        /* Relaxed: top is now b + 1 either way; the deque is empty at [b+1, b+1). */
        atomic_store_explicit(&d->bottom, b + 1, memory_order_relaxed);
    }
    return item;
}

weft_steal_result weft_deque_steal(weft_deque *d, void **out)
{
    if (__builtin_expect(!d || !out, 0))
        return WEFT_STEAL_EMPTY;
    /* Acquire: pairs with the seq_cst CAS of top by other thieves and the owner, as
     * in the paper (a thief that sees top = t has seen every steal below t). */
    int64_t t = atomic_load_explicit(&d->top, memory_order_acquire);
    /* seq_cst fence between the loads of top and bottom: pairs with the one in pop
     * (see there). Without it we could read an old bottom after the owner, having
     * not yet seen our CAS, took the same last-but-one item. */
    atomic_thread_fence(memory_order_seq_cst);
    /* Acquire: pairs with the release store of bottom in push; we then see the slot
     * at t, the buffer pointer current when it was pushed (or later), and the item's
     * contents. */
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_acquire);
    if (t >= b)
        return WEFT_STEAL_EMPTY;
    /* Acquire: pairs with the release store in grow, so the buffer's mask and the
     * copied slots are visible. Loaded after bottom, so it is at least as new as the
     * buffer slot t was stored into. */
    weft_deque_buffer *a = atomic_load_explicit(&d->buffer, memory_order_acquire);
    /* Relaxed: ordered by the acquire loads above. It may be stale if another thief
     * takes t first; then the CAS below fails and we drop the value unread. */
    void *item = atomic_load_explicit(&a->slots[(size_t)t & a->mask], memory_order_relaxed);
    /* seq_cst CAS as in the paper: it is the linearisation point of the steal, and
     * its release half pairs with the acquire load of top in push (slot reuse) and
     * in other thieves. Relaxed on failure: we only learn we lost. */
    if (!atomic_compare_exchange_strong_explicit(&d->top, &t, t + 1, memory_order_seq_cst,
                                                 memory_order_relaxed))
        return WEFT_STEAL_RETRY;
    *out = item;
    return WEFT_STEAL_SUCCESS;
}

size_t weft_deque_len(const weft_deque *d)
{
    if (!d)
        return 0;
    /* Relaxed: a hint only (see the header). */
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
    int64_t t = atomic_load_explicit(&d->top, memory_order_relaxed);
    return b > t ? (size_t)(b - t) : 0;
}
