/* deque.c: the split work-stealing deque (see deque_internal.h for the API and
 * deque.md for the algorithm and the argument for each memory order).
 *
 * Thieves run the Chase–Lev steal of Lê, Pop, Cohen and Zappa Nardelli (PPoPP 2013,
 * figure 1) against `split` where Chase–Lev has `bottom`: to them the deque is the
 * public part [top, split). The owner keeps its newest items private, below bottom,
 * and pops them with plain loads and stores; it moves `split` up (sharing) when a
 * thief raises `splitreq` or on weft__deque_publish, and down (taking back) only when
 * it pops with its private part empty — that is the Chase–Lev pop, with its seq_cst
 * fence and its last-item CAS, generalised to take back half the public part at once
 * so that the next pops are private again (Lace, van Dijk and van de Pol, 2014).
 * Thieves may take several items per CAS; the owner's take-backs are bounded by what a
 * thief holding an older split could take (deque.md, "Steals of several items").
 *
 * Departures from the paper, as before: publications use release *stores* (visible
 * to ThreadSanitizer, same code on x86-64); the buffer pointer is release/acquire;
 * indices are signed 64-bit.
 *
 * Invariants: see deque_internal.h. Owner-only state: bottom, split and buffer
 * (written), owner_split/owner_limit/owner_buffer (and its slots/mask copies), every buffer's `retired` link. */
#include "deque_internal.h"

#include <errno.h>
#include <stdlib.h>

/* The paused stress build (tests/runtime/stress_deque.c) compiles this file with
 * WEFT_DEQUE_TEST_PAUSE: a thief then pauses at random between reading the public
 * part and its CAS, the window in which the owner's take-backs must respect the split
 * it read, and the owner between its first look at top and its take-back, so that
 * thieves move top meanwhile. Nothing otherwise. */
#ifdef WEFT_DEQUE_TEST_PAUSE
void weft__deque_test_pause(void);
#define TEST_PAUSE() weft__deque_test_pause()
#else
#define TEST_PAUSE() ((void)0)
#endif

static weft_deque_buffer *buffer_new(size_t capacity)
{
    /* capacity <= WEFT_DEQUE_MAX_CAPACITY, so this size cannot overflow. Whole cache
     * lines of its own: the owner writes slots and reads `mask` at every push and pop,
     * so no other worker's ring (the workers' rings were allocated back to back) or
     * other heap object may share a line with it. */
    size_t bytes = sizeof(weft_deque_buffer) + capacity * sizeof(void *);
    bytes = (bytes + WEFT_CACHE_LINE - 1) & ~(size_t)(WEFT_CACHE_LINE - 1);
    weft_deque_buffer *b = aligned_alloc(WEFT_CACHE_LINE, bytes);
    if (!b)
        return NULL;
    b->mask = capacity - 1;
    b->retired = NULL;
    /* Slots are left uninitialised: a thief can read one only at an index t that
     * top has already passed when the buffer was published (a growth copies
     * [top, bottom)); its CAS on top then fails and the value is dropped unused. */
    return b;
}

/* Owner only (or before the deque is shared): the owner's copies of the buffer. */
static void set_owner_buffer(weft_deque *d, weft_deque_buffer *b)
{
    d->owner_buffer = b;
    d->owner_slots = b ? b->slots : NULL;
    d->owner_mask = b ? b->mask : 0;
}

int weft__deque_init(weft_deque *d, size_t initial_capacity)
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
    atomic_init(&d->split, 0);
    atomic_init(&d->buffer, b);
    atomic_init(&d->splitreq, 0);
    atomic_init(&d->bottom, 0);
    d->owner_split = 0;
    d->owner_limit = (int64_t)capacity; /* top is 0 */
    d->eager = true;
    d->fence_top = 0;     /* no fence yet: split_hi covers every split since init */
    d->split_hi = 0;
    d->split_hi_last = 0;
    set_owner_buffer(d, b);
    return 0;
}

void weft__deque_destroy(weft_deque *d)
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
    set_owner_buffer(d, NULL);
}

/* Owner only, slow path of push: replace the full buffer `old` (holding [t, b)) by one
 * twice the size (t: a lower bound of top; [t, top) are stolen items, copied
 * needlessly but harmlessly). The old buffer is retired, not freed: a thief that loaded the old
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
    set_owner_buffer(d, fresh);
    return fresh;
}

/* Owner only: a thief asked for work and [owner_split, b) holds private items:
 * share the older half, rounded up (the oldest items are the biggest pieces of a
 * divide-and-conquer tree, and the newest stay private for fence-free pops). */
void weft__deque_share_half(weft_deque *d, int64_t b)
{
    int64_t s = d->owner_split;
    weft__deque_share_(d, s + (b - s + 1) / 2);
}

int weft__deque_push_slow(weft_deque *d, void *item)
{
    /* Relaxed: bottom is written only by this thread. */
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
    weft_deque_buffer *a = d->owner_buffer;
    if (b >= d->owner_limit) {
        /* Looks full by the last top we read: read it again. Acquire: pairs with the
         * seq_cst (hence release) CAS on top in steal and pop. A slot we are about to
         * overwrite (index b - capacity) was read by the thief that took it before its
         * CAS; synchronising with that CAS makes the thief's read happen before our
         * store, so it cannot have read our new item. (owner_limit is only ever
         * computed from values read with acquire, so a stale lower bound is only more
         * careful.) */
        int64_t t = atomic_load_explicit(&d->top, memory_order_acquire);
        d->owner_limit = t + (int64_t)a->mask + 1;
        if (b >= d->owner_limit) {
            a = grow(d, a, t, b);
            if (!a)
                return -ENOMEM;
            d->owner_limit = t + (int64_t)a->mask + 1;
        }
    }
    /* Relaxed: as in weft__deque_push_private (deque_internal.h). */
    atomic_store_explicit(&a->slots[(size_t)b & a->mask], item, memory_order_relaxed);
    atomic_store_explicit(&d->bottom, b + 1, memory_order_relaxed);
    /* As weft__deque_push_private explains: the oldest item public, or answer a
     * request. */
    if ((b == d->owner_split && d->eager && atomic_load_explicit(&d->top, memory_order_relaxed) >= b) ||
        atomic_load_explicit(&d->splitreq, memory_order_relaxed) != 0)
        weft__deque_share_half(d, b + 1);
    return 0;
}

void weft__deque_set_eager(weft_deque *d, bool eager)
{
    if (d)
        d->eager = eager;
}

void weft__deque_publish(weft_deque *d)
{
    if (!d)
        return;
    /* Relaxed: bottom is written only by this thread. */
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
    if (d->owner_split < b)
        weft__deque_share_(d, b);
}

/* Owner only: claim [t, s) with one CAS of top (no thief can take an item any more
 * once top moves past it) and return item s - 1. The other items, t to s - 2, go back
 * on the private part, in their order, at indices s and up (top is s now, so these
 * slots are free; a thief still reading one of them loses its CAS on top). false: top
 * was not t any more (*t holds what it was). */
static bool claim_public(weft_deque *d, int64_t *t, int64_t s, void **item)
{
    weft_deque_buffer *a = d->owner_buffer;
    /* Relaxed: this thread wrote these slots. */
    void *last = atomic_load_explicit(&a->slots[(size_t)(s - 1) & a->mask], memory_order_relaxed);
    /* seq_cst as a thief's CAS (the paper's last-item CAS): its success half pairs
     * with the acquire loads of top in push, pop and steal; relaxed on failure. */
    if (!atomic_compare_exchange_strong_explicit(&d->top, t, s, memory_order_seq_cst, memory_order_relaxed))
        return false;
    /* Ascending copies are safe: index i moves to i + (s - t) <= i + capacity, so no
     * copy lands on a slot still to be read (s - t == capacity copies slots onto
     * themselves). Relaxed: private slots (split <= s below). */
    int64_t b = s;
    for (int64_t i = *t; i < s - 1; i++, b++) {
        void *x = atomic_load_explicit(&a->slots[(size_t)i & a->mask], memory_order_relaxed);
        atomic_store_explicit(&a->slots[(size_t)b & a->mask], x, memory_order_relaxed);
    }
    d->owner_limit = s + (int64_t)a->mask + 1;
    /* Relaxed: as in push. */
    atomic_store_explicit(&d->bottom, b, memory_order_relaxed);
    /* split back to top (release, as in pop_public): empty to thieves, the moved items
     * private; then the oldest of them public again, as push keeps it. */
    d->owner_split = s;
    atomic_store_explicit(&d->split, s, memory_order_release);
    if (b > s && d->eager)
        weft__deque_share_(d, s + 1);
    *item = last;
    return true;
}

/* Owner only: one past the last index a thief holding top t may take, whatever split
 * it read (split_hi bounds that: deque.md, "Steals of several items"). */
static int64_t thief_reach(const weft_deque *d, int64_t t)
{
    return d->split_hi > t ? t + weft__deque_steal_span_(t, d->split_hi) : t;
}

/* Owner only, slow path of pop (deque_internal.h): the private part is empty (bottom
 * == split == s) and the item to pop, s - 1, is public. Take back the newer half of
 * the public part [t, s) by lowering split, as Chase–Lev's pop lowers bottom, but
 * never below what a thief holding the current top could take (a thief takes up to
 * weft__deque_steal_span_ items, computed from a split it may have read before this
 * take-back: split_hi bounds it). When that bound leaves nothing to take back, claim
 * the public part with a CAS of top instead. deque.md has the argument. */
void *weft__deque_pop_public(weft_deque *d, int64_t s)
{
    weft_deque_buffer *a = d->owner_buffer;
    /* Acquire: see push (owner_limit is a bound for slot reuse). A first look: if the
     * thieves took everything, top == s and the deque is empty — top never comes
     * back, so this needs no fence. */
    int64_t t = atomic_load_explicit(&d->top, memory_order_acquire);
    d->owner_limit = t + (int64_t)a->mask + 1;
    if (t >= s)
        return NULL;
    /* Since the last pop_public, split only grew (shares): s is the largest value
     * stored since then. */
    if (d->split_hi < s)
        d->split_hi = s;
    if (d->split_hi_last < s)
        d->split_hi_last = s;
    for (;;) {
        /* t is the top last read. A thief holding it may take up to reach; the next
         * fence can only lower split_hi, so this is the bound the fence will confirm
         * unless thieves move top meanwhile. */
        int64_t reach = thief_reach(d, t);
        if (reach >= s) {
            /* Thieves at t may take up to s - 1, the item we want: race them for the
             * whole public part (for one item, the Chase–Lev last-item CAS). The CAS
             * alone decides every index it covers: no store of split, no fence. */
            void *item;
            if (claim_public(d, &t, s, &item))
                return item;
            if (t >= s)
                break; /* all stolen */
            continue;  /* thieves moved top: look again from there */
        }
        int64_t ns = s - (s - t + 1) / 2; /* the newer half, [ns, s) ... */
        if (ns < reach)
            ns = reach; /* ... but nothing a thief at t may take */
        TEST_PAUSE(); /* thieves may move top before our store */
        /* Release (rather than relaxed: nothing new is published by lowering split)
         * so that every value of split heads a release sequence, for ThreadSanitizer
         * and for C++20-style release sequences; free on x86-64. */
        atomic_store_explicit(&d->split, ns, memory_order_release);
        /* seq_cst fence between the store of split and the load of top: a
         * store-load order only a seq_cst fence gives. Pairs with the seq_cst fence
         * in steal between its loads of top and split: either the thief sees the
         * lowered split (or a later one), or we see its top. */
        atomic_thread_fence(memory_order_seq_cst);
        /* Acquire: as above (slot reuse); ordered after the store by the fence. */
        t = atomic_load_explicit(&d->top, memory_order_acquire);
        d->owner_limit = t + (int64_t)a->mask + 1;
        /* The windows (deque.md): a thief that read top == t, and whose CAS can
         * still succeed, fenced after every fence of ours that read a smaller top,
         * so it read a split stored at or after the store before the latest such
         * fence: at most split_hi. */
        if (t > d->fence_top)
            d->split_hi = d->split_hi_last;
        d->fence_top = t;
        d->split_hi_last = ns;
        if (t >= s)
            break; /* all stolen */
        if (thief_reach(d, t) <= ns) {
            /* No thief can take an index >= ns any more: [ns, s) is private again. */
            d->owner_split = ns;
            atomic_store_explicit(&d->bottom, s - 1, memory_order_relaxed);
            /* Relaxed: this slot was written by this thread. */
            return atomic_load_explicit(&a->slots[(size_t)(s - 1) & a->mask], memory_order_relaxed);
        }
        /* Thieves moved top past what we took back: look again from there. */
    }
    /* Empty: top == s. Restore split = s (release, as above) so that top <= split
     * again; bottom never moved. */
    d->owner_limit = s + (int64_t)a->mask + 1;
    d->owner_split = s;
    atomic_store_explicit(&d->split, s, memory_order_release);
    return NULL;
}

weft_steal_result weft__deque_steal_some(weft_deque *d, void **out, size_t max, size_t *n,
                                         const uint64_t *one_if)
{
    if (__builtin_expect(!d || !out || !n || max == 0, 0))
        return WEFT_STEAL_EMPTY;
    /* Acquire: pairs with the seq_cst CAS of top by other thieves and the owner, as
     * in the paper (a thief that sees top = t has seen every steal below t). */
    int64_t t = atomic_load_explicit(&d->top, memory_order_acquire);
    /* seq_cst fence between the loads of top and split: pairs with the one in the
     * owner's pop_public (see there). Without it we could read an old split after the
     * owner, having not yet seen our CAS, took back the same items. */
    atomic_thread_fence(memory_order_seq_cst);
    /* Acquire: pairs with the release store of split in share (and pop_public); we
     * then see the slots below it, the buffer they live in (or a later one), and the
     * items' contents. */
    int64_t s = atomic_load_explicit(&d->split, memory_order_acquire);
    if (t >= s) {
        /* Nothing public: ask the owner to share. Relaxed: the owner reads it at its
         * next push or pop; we keep looking meanwhile (and retry). Load first, so a
         * request already raised costs no write to the line the owner reads. */
        if (atomic_load_explicit(&d->splitreq, memory_order_relaxed) == 0)
            atomic_store_explicit(&d->splitreq, 1, memory_order_relaxed);
        return WEFT_STEAL_EMPTY;
    }
    /* The owner never takes back below t + span while top is t (pop_public), whatever
     * split we read, so these slots hold what was shared there. */
    int64_t k = weft__deque_steal_span_(t, s);
    /* Relaxed: ordered after the acquire load of split, which synchronises with the
     * share that published these items; the owner set *one_if before that share, if
     * it set it before pushing them. */
    if (k > 1 && one_if && __atomic_load_n(one_if, __ATOMIC_RELAXED) != 0)
        k = 1;
    if ((uint64_t)k > max)
        k = (int64_t)max;
    /* Acquire: pairs with the release store in grow, so the buffer's mask and the
     * copied slots are visible. Loaded after split, so it is at least as new as the
     * buffer the items below split were stored into before being shared. */
    weft_deque_buffer *a = atomic_load_explicit(&d->buffer, memory_order_acquire);
    /* Relaxed: ordered by the acquire loads above. Stale values only happen when the
     * CAS below fails, and then they are dropped. */
    for (int64_t i = 0; i < k; i++)
        out[i] = atomic_load_explicit(&a->slots[(size_t)(t + i) & a->mask], memory_order_relaxed);
    TEST_PAUSE();
    /* seq_cst CAS as in the paper: it is the linearisation point of the steal, and
     * its release half pairs with the acquire load of top in push (slot reuse) and
     * in other thieves. Relaxed on failure: we only learn we lost. */
    if (!atomic_compare_exchange_strong_explicit(&d->top, &t, t + k, memory_order_seq_cst,
                                                 memory_order_relaxed))
        return WEFT_STEAL_RETRY;
    *n = (size_t)k;
    return WEFT_STEAL_SUCCESS;
}

weft_steal_result weft__deque_steal(weft_deque *d, void **out)
{
    size_t n;
    return weft__deque_steal_some(d, out, 1, &n, NULL);
}

size_t weft__deque_len(const weft_deque *d)
{
    if (!d)
        return 0;
    /* Relaxed: a hint only (see the header). */
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
    int64_t t = atomic_load_explicit(&d->top, memory_order_relaxed);
    return b > t ? (size_t)(b - t) : 0;
}

size_t weft__deque_len_public(const weft_deque *d)
{
    if (!d)
        return 0;
    /* Relaxed: a hint only (see the header). */
    int64_t s = atomic_load_explicit(&d->split, memory_order_relaxed);
    int64_t t = atomic_load_explicit(&d->top, memory_order_relaxed);
    return s > t ? (size_t)(s - t) : 0;
}
