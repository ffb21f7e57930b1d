/* zero.c: the rendezvous channel flavor (capacity 0, crossbeam-channel's zero
 * flavor). Nothing is stored: a send completes only by handing its message to a
 * receiver.
 *
 * Two paths. The fast one is for a lone waiter, and lives on one line: the atomic
 * word `slot` and two cells. `slot` holds a state, the CPU of the last claimer (a
 * hint for zero_adapt) and the number g of the last publication; the state is EMPTY
 * (no party waits anywhere), SENDER or RECEIVER (one waiting party, publication g,
 * which waits in cell g % 2), or SLOW (the mutex-guarded waiter lists decide). A cell
 * holds the waiter's message (up to CHAN_ZERO_INLINE bytes; larger: the address of
 * the waiter's own buffer), its futex word `done` (a state and the low bits of g) and
 * the address of its list entry (on its stack, for a freeze to link).
 *
 * Publishing: a party that finds the slot EMPTY (g-1) checks that cell g % 2 was let
 * go by its previous user (publication g-2: `done` is ACKED of g-2), takes the slot
 * with one CAS to its side's state and g, then fills the cell (message or buffer
 * address, entry) and stores WAITING of g into `done` last. It then polls `done`, on
 * the same line. Claiming: a party that finds a waiter of the other side takes it out
 * with one CAS (slot EMPTY, g kept, its CPU). That CAS is the claim, the only one:
 * the waiter's timeout withdraws with a CAS on the same word, and a freeze (below)
 * takes it with one too. The claimer, whose CAS fetched the line, waits for `done` to
 * be of g (the publisher fills right after its CAS), copies the message in or out of
 * the cell (or through the buffer's address), and swaps into `done` HANDED of g (the
 * waiter then copies an inline message out and stores ACKED of g) or, when the waiter
 * has nothing left to read in the cell, ACKED of g at once: its last touch of the cell
 * and the buffer; it wakes the futex if the waiter had gone to sleep. From ACKED on,
 * the cell may be published again. No mutex on either side, and per message the line
 * moves to the claimer and back to the waiter.
 *
 * The mutex path: one mutex guards both waiter lists, the observer lists and the
 * disconnected flag. Every holder first freezes the slot: a CAS to SLOW (g kept). A
 * waiter found there is linked into its list through the entry its cell holds (after
 * the cell was filled), and told so: the freezer swaps MOVED of g into its `done`;
 * the waiter lets go of the cell and waits as a list waiter, on its ctx. Only a mutex
 * holder changes a SLOW slot, so with the mutex held and the slot SLOW the lists hold
 * every waiter. Under the mutex an operation looks for a waiting partner and claims it
 * (weft__chan_waitlist_try_select, a CAS on the partner's ctx) and unlinks it, or
 * registers itself. A holder that leaves all four lists empty, the channel connected,
 * sets the slot back to EMPTY before unlocking, reopening the fast path. A publisher
 * whose cell is still held (its waiter not yet done with it: two publications came
 * since) takes the mutex path too.
 *
 * Invariants:
 *  - A list is non-empty, or the channel disconnected, only while the slot is SLOW.
 *  - No lost wake-up: a party waits in the slot only if it published itself into an
 *    EMPTY slot (nobody waited), and in a list only under the mutex of a frozen
 *    channel; a later party's CAS or its freeze sees it. Two parties can never both
 *    wait unseen by each other.
 *  - Exactly-once hand-off: a slot waiter is taken by one CAS on `slot` (a claim, a
 *    freeze, or its own withdrawal); a list waiter (a linked slot waiter too) by one
 *    CAS on its ctx, which its timeout and disconnection also race for.
 *  - A cell has one user at a time: publication g owns cell g % 2 from its CAS until
 *    ACKED of g, and publication g+2 starts only after seeing it; the publication
 *    numbers make a stale `done` (an earlier user's) tell itself apart, and a waiter
 *    that sees a later publication's `done` in its cell was served (only its claimer's
 *    ACKED lets a cell go while its waiter still looks); so was one that finds its
 *    cell naming another entry (a later publication whose low bits match its own).
 *    Whoever took a waiter out of the slot writes its `done` once (HANDED, ACKED,
 *    MOVED); nobody else but the waiter writes it.
 *  - Lifetime: the cells are the channel's, alive while any party holds a handle. A
 *    slot waiter's buffer (a message above CHAN_ZERO_INLINE) is touched only by its
 *    claimer, before its swap, which the waiter waits for. A futex wake after the swap
 *    may reach the cell's next waiter: a spurious wake-up, which it tolerates. A list
 *    waiter returns only once no other party can touch its stack entry, ctx and
 *    buffer: it waits for `ready` (acquire), which its claimer stores (release) after
 *    its wake and copy.
 *  - try_send / try_recv succeed only with a waiting partner: EMPTY or a same-side
 *    waiter means none waits (the lists are empty unless SLOW). A timed operation
 *    past its deadline still meets a partner already waiting, as before: it acts as
 *    a try that reports -ETIMEDOUT. A slot waiter past its deadline withdraws with a
 *    CAS of the slot back to EMPTY; if that fails, it was taken, and it waits for
 *    the taker's swap: served (success), or MOVED (it waits in its list as any list
 *    waiter past its deadline: served if claimed first, else it unlinks itself).
 *
 * A waiter, in the slot or a list, spins adaptively before sleeping on its futex
 * word: first a bounded spin (looks a few pauses apart, then a few yields), since the
 * partner is usually about to arrive and then hands off without a syscall on either
 * side; then the futex. The spin's length adapts per thread (zero_adapt): spinning
 * only helps while the partner runs on another CPU, and burns the partner's time when
 * both share one (one CPU, or other load on the rest). The claimer wakes the waiter
 * only if it had gone to sleep. Disconnection, under the mutex after a freeze,
 * selects CHAN_DISCONNECTED on every list waiter and leaves the slot SLOW for good. */
#include "chan_internal.h"
#include <sched.h>
#include <stddef.h>
#include <string.h>

/* The claimer's CAS on the slot fetches both cells with it: one 64-byte line. */
_Static_assert(offsetof(chan_zero, msg) + sizeof(((chan_zero *)0)->msg) <= 64,
               "the slot and its cells share one line");

/* Bounds and start of a thread's rendezvous spin, in looks (a slot waiter's
 * ZERO_LOOK_PAUSES pauses apart, a list waiter's one). The least is a few pauses: on
 * one CPU the spin only delays the yield that lets the partner run. */
#define ZERO_LOOKS_MIN 2u
#define ZERO_LOOKS_MAX 256u
#define ZERO_LOOKS_START 64u

/* Per thread: how many looks its next rendezvous wait spins for (only this thread
 * touches it). */
static _Thread_local uint32_t zero_looks = ZERO_LOOKS_START;

/* After a wait that a partner completed: seen, the look that saw it (UINT32_MAX: the
 * spin did not); claimer_cpu, the CPU the partner ran on. Seen by the spin: aim at
 * twice that look (room for jitter), moving a quarter of the way. Not seen, and the
 * partner ran on our CPU: it could only run once we yielded, so the spin was time
 * taken from it: halve. Not seen, partner elsewhere: it was running but came late,
 * and a longer spin would have saved the yields or the sleep: double. */
static void zero_adapt(uint32_t seen, int claimer_cpu)
{
    uint32_t n = zero_looks;
    if (seen != UINT32_MAX) {
        n = (3 * n + 2 * seen + ZERO_LOOKS_MIN) / 4;
    } else {
        int cpu = sched_getcpu();
        if (cpu < 0 || claimer_cpu < 0)
            return;
        n = cpu == claimer_cpu ? n / 2 : 2 * n;
    }
    zero_looks = n < ZERO_LOOKS_MIN ? ZERO_LOOKS_MIN : n > ZERO_LOOKS_MAX ? ZERO_LOOKS_MAX : n;
}

/* Slot: the state in the low two bits, then the CPU of the last claimer (a hint for
 * zero_adapt; ZS_CPU_NONE: unknown), then the publication number. */
#define ZS_EMPTY ((uint64_t)0)
#define ZS_SLOW ((uint64_t)1)
#define ZS_SENDER ((uint64_t)2)
#define ZS_RECEIVER ((uint64_t)3)
#define ZS_STATE ((uint64_t)3)
#define ZS_CPU_SHIFT 2
#define ZS_CPU_NONE ((uint64_t)1023)
#define ZS_CPU_MASK (ZS_CPU_NONE << ZS_CPU_SHIFT)
#define ZS_GEN_SHIFT 12

static inline uint64_t zero_tag(bool send) { return send ? ZS_SENDER : ZS_RECEIVER; }
static inline uint64_t zero_gen(uint64_t v) { return v >> ZS_GEN_SHIFT; }
static inline uint64_t zero_cpu_bits(int cpu)
{
    return (cpu < 0 || (uint64_t)cpu >= ZS_CPU_NONE ? ZS_CPU_NONE : (uint64_t)cpu) << ZS_CPU_SHIFT;
}
static inline int zero_slot_cpu(uint64_t v)
{
    uint64_t f = (v & ZS_CPU_MASK) >> ZS_CPU_SHIFT;
    return f == ZS_CPU_NONE ? -1 : (int)f;
}

/* A cell's `done`: a state in the low three bits, the low bits of its publication's
 * number above them. WAITING and SLEEPING (the waiter sleeps, or is about to, on the
 * futex: whoever takes it must wake it) until the taker's HANDED or MOVED; ACKED once
 * the waiter let go of the cell. */
#define ZD_WAITING 0u
#define ZD_SLEEPING 1u
#define ZD_HANDED 2u
#define ZD_MOVED 3u
#define ZD_ACKED 4u
#define ZD_STATE 7u

static inline uint32_t zero_done(uint64_t gen, uint32_t st) { return (uint32_t)gen << 3 | st; }

/* Has publication g's waiter been taken, seeing `done` = d? Its taker's HANDED, MOVED
 * or ACKED, or a later publication's state: the cell was let go, which only a taken
 * waiter's cell can be without the waiter (below). */
static inline bool zero_taken(uint32_t d, uint64_t g)
{
    return (d & ~ZD_STATE) != zero_done(g, 0) || (d & ZD_STATE) > ZD_SLEEPING;
}

/* Must a waiter read its message out of its cell once served? Only a receiver of an
 * inline message; any other is done with the cell when its claimer is, and the
 * claimer lets it go at once (ACKED, not HANDED). */
static inline bool zero_reads_cell(bool send, size_t n)
{
    return !send && n && n <= CHAN_ZERO_INLINE;
}

/* Ask for the slot's line for writing before reading it: the CAS that follows the
 * read then finds it owned, instead of upgrading a shared copy (a second transfer). */
static inline void zero_prefetch_write(const void *p)
{
#if defined(__x86_64__)
    __asm__ __volatile__("prefetchw %0" : : "m"(*(const char *)p));
#else
    __builtin_prefetch(p, 1, 3);
#endif
}

/* A blocked send or recv on the mutex path: its ctx and its list entry. */
typedef struct zero_wait {
    chan_ctx cx;
    chan_waiter w;
} zero_wait;

int weft__chan_zero_init(weft_chan *c)
{
    chan_zero *z = &c->u.zero;
    atomic_init(&z->slot, ZS_EMPTY | zero_cpu_bits(-1));
    /* As if publications 0 (cell 0) and -1 (cell 1) had been let go: publication 1
     * takes cell 1 and 2 cell 0. */
    for (uint64_t i = 0; i < 2; i++) {
        atomic_init(&z->done[i], zero_done(0 - i, ZD_ACKED));
        atomic_init(&z->entry[i], NULL);
    }
    weft_mutex_init(&z->lock);
    z->senders.head = z->senders.tail = NULL;
    z->receivers.head = z->receivers.tail = NULL;
    z->watch_send.head = z->watch_send.tail = NULL;
    z->watch_recv.head = z->watch_recv.tail = NULL;
    z->disconnected = false;
    return 0;
}

void weft__chan_zero_destroy(weft_chan *c) { weft_mutex_destroy(&c->u.zero.lock); }

/* We took publication g out of the slot (a claim or a freeze): wait until its
 * publisher has filled the cell (it stores `done` of g right after its CAS). */
static uint32_t zero_wait_filled(chan_zero *z, uint64_t g)
{
    weft_backoff b = WEFT_BACKOFF_INIT;
    for (;;) {
        /* Acquire: pairs with the publisher's release store of WAITING (zero_op): its
         * message or buffer address come before. */
        uint32_t d = atomic_load_explicit(&z->done[g & 1], memory_order_acquire);
        if ((d & ~ZD_STATE) == zero_done(g, 0))
            return d;
        weft_backoff_snooze(&b);
    }
}

/* We took publication g out of the slot: hand `st` (HANDED or MOVED) to its waiter,
 * and wake it if it went to sleep. Release: pairs with the waiter's acquire load in
 * zero_wait_cell; what we did with its cell and buffer comes before. After it the
 * cell is not ours to touch; the wake's futex word is the channel's, alive, and a
 * wake that reaches the cell's next waiter is a spurious one. */
static void zero_give(chan_zero *z, uint64_t g, uint32_t st)
{
    _Atomic uint32_t *done = &z->done[g & 1];
    uint32_t old = atomic_exchange_explicit(done, zero_done(g, st), memory_order_release);
    if ((old & ZD_STATE) == ZD_SLEEPING)
        weft_futex_wake(done, 1);
}

/* Lock the mutex and freeze the slot: SLOW, a waiter found there linked into its
 * list. Afterwards, until zero_unlock, the lists hold every waiter. */
static void zero_lock(chan_zero *z)
{
    weft_mutex_lock(&z->lock);
    /* Relaxed: a first guess for the CAS. */
    uint64_t v = atomic_load_explicit(&z->slot, memory_order_relaxed);
    while ((v & ZS_STATE) != ZS_SLOW) {
        /* Relaxed: the slot carries no data (a cell's `done` does); failure: the loop
         * decides again. */
        if (atomic_compare_exchange_weak_explicit(&z->slot, &v, (v & ~ZS_STATE) | ZS_SLOW,
                                                  memory_order_relaxed, memory_order_relaxed)) {
            if ((v & ZS_STATE) != ZS_EMPTY) {
                /* Link its entry, then tell it (it waits on its ctx from then on). */
                uint64_t g = zero_gen(v);
                zero_wait_filled(z, g);
                weft__chan_waitlist_push((v & ZS_STATE) == ZS_SENDER ? &z->senders
                                                                     : &z->receivers,
                                         atomic_load_explicit(&z->entry[g & 1],
                                                              memory_order_relaxed));
                zero_give(z, g, ZD_MOVED);
            }
            return;
        }
    }
}

/* Unlock; first reopen the fast path (slot EMPTY, the publication number kept) if
 * nobody waits and the channel is connected. Only a mutex holder changes a SLOW slot,
 * so a SLOW seen here stays SLOW until our store. Relaxed: the slot publishes nothing;
 * a publisher checks its cell's `done` with acquire. */
static void zero_unlock(chan_zero *z)
{
    if (!z->disconnected && !z->senders.head && !z->receivers.head && !z->watch_send.head &&
        !z->watch_recv.head) {
        uint64_t v = atomic_load_explicit(&z->slot, memory_order_relaxed);
        if ((v & ZS_STATE) == ZS_SLOW)
            atomic_store_explicit(&z->slot, (v & ~ZS_STATE) | ZS_EMPTY, memory_order_relaxed);
    }
    weft_mutex_unlock(&z->lock);
}

/* A party starts waiting on the send side (send) or receive side: wake every
 * observer of the opposite op, which can now complete. Under the mutex. */
static void zero_wake_watchers(chan_zero *z, bool send)
{
    chan_waitlist *l = send ? &z->watch_recv : &z->watch_send;
    for (chan_waiter *w = l->head, *next; w; w = next) {
        next = w->next;
        if (weft__chan_ctx_select_wake(w->ctx, w->oper))
            weft__chan_waitlist_remove(l, w);
    }
}

/* Complete the hand-off with list waiter p, whose ctx we claimed (wake: it had gone
 * to sleep). p waits for `ready`, so its ctx and buffer are alive until our store;
 * waking first lets its wake-up overlap the copy. */
static void zero_complete(weft_chan *c, bool send, chan_waiter *p, void *buf, bool wake)
{
    if (wake)
        weft__chan_ctx_wake(p->ctx);
    if (send)
        chan_copy_msg(p->buf, buf, c->elem_size);
    else
        chan_copy_msg(buf, p->buf, c->elem_size);
    p->claimer_cpu = sched_getcpu();
    /* Release: pairs with the partner's acquire in weft__chan_waiter_wait_ready; our
     * last touch of its entry, ctx and buffer. */
    atomic_store_explicit(&p->ready, 1, memory_order_release);
}

/* We took publication g, a waiter of the other side, out of the slot: the hand-off is
 * ours. Copy the message through its cell (or its buffer) and tell it. */
static void zero_hand_off(weft_chan *c, bool send, void *buf, uint64_t g)
{
    chan_zero *z = &c->u.zero;
    size_t n = c->elem_size;
    zero_wait_filled(z, g);
    void *msg = z->msg[g & 1];
    if (n > CHAN_ZERO_INLINE)
        memcpy(&msg, z->msg[g & 1], sizeof msg);
    if (send)
        chan_copy_msg(msg, buf, n);
    else
        chan_copy_msg(buf, msg, n);
    zero_give(z, g, zero_reads_cell(!send, n) ? ZD_HANDED : ZD_ACKED);
}

/* We are in a list (me): wait to be claimed, or give up and unlink ourselves. */
static int zero_wait_listed(chan_zero *z, bool send, uint64_t deadline, zero_wait *me)
{
    uint32_t seen;
    uint32_t s = weft__chan_ctx_wait_partner(&me->cx, deadline, zero_looks, &seen);
    if (s == CHAN_OPER(0)) {
        /* The partner unlinked us, and its wake and copy come before `ready`. */
        weft__chan_waiter_wait_ready(&me->w);
        zero_adapt(seen, me->w.claimer_cpu);
        return 0;
    }
    zero_lock(z);
    weft__chan_waitlist_remove(send ? &z->senders : &z->receivers, &me->w);
    zero_unlock(z);
    return s == CHAN_DISCONNECTED ? -EPIPE : -ETIMEDOUT;
}

/* The mutex path of send and recv. */
static int zero_slow(weft_chan *c, bool send, void *buf, bool try, uint64_t deadline)
{
    chan_zero *z = &c->u.zero;
    zero_lock(z);
    bool wake = false;
    chan_waiter *p = weft__chan_waitlist_try_select(send ? &z->receivers : &z->senders, &wake);
    if (p) {
        zero_unlock(z);
        zero_complete(c, send, p, buf, wake);
        return 0;
    }
    if (z->disconnected) {
        zero_unlock(z);
        return -EPIPE;
    }
    if (try) {
        zero_unlock(z);
        return -EAGAIN;
    }
    if (weft_deadline_passed(deadline)) {
        zero_unlock(z);
        return -ETIMEDOUT;
    }
    zero_wait me;
    weft__chan_ctx_init(&me.cx);
    weft__chan_waiter_init(&me.w, &me.cx, 0, buf);
    weft__chan_waitlist_push(send ? &z->senders : &z->receivers, &me.w);
    zero_wake_watchers(z, send);
    zero_unlock(z);
    return zero_wait_listed(z, send, deadline, &me);
}

/* A slot waiter's looks are this many pauses apart. It polls the line its claimer
 * writes: a look that misses takes the line back (shared) while the claimer is still
 * writing it (its CAS, the message, `done`, then its own next publication), and each
 * later write of the claimer must then take it back again. Looks a few pauses apart
 * let the claimer's writes finish together. */
#define ZERO_LOOK_PAUSES 4
/* The looks are followed by this many yields before the futex. */
#define ZERO_YIELDS 4

/* We are publication g (slot value mine), waiting in cell g % 2: wait to be taken, or
 * give up. buf: a receiver's buffer, where an inline message goes. me: our list
 * entry, which a freeze links (then we wait as a list waiter). Returns 0, -ETIMEDOUT
 * or -EPIPE. */
static int zero_wait_cell(chan_zero *z, bool send, void *buf, size_t n, uint64_t deadline,
                          uint64_t g, uint64_t mine, zero_wait *me)
{
    _Atomic uint32_t *done = &z->done[g & 1];
    uint32_t looks = zero_looks, seen = UINT32_MAX, d;
    weft_backoff b = WEFT_BACKOFF_INIT;
    for (uint32_t i = 0;; i++) {
        /* Acquire: pairs with the taker's release swap (zero_give): the message it
         * copied in, its CPU. */
        d = atomic_load_explicit(done, memory_order_acquire);
        if (zero_taken(d, g)) {
            if (i < looks)
                seen = i;
            break;
        }
        if (i < looks + ZERO_YIELDS) {
            if (i < looks) {
                for (int k = 0; k < ZERO_LOOK_PAUSES; k++)
                    weft_cpu_relax();
            } else
                sched_yield();
            continue;
        }
        if (weft_deadline_passed(deadline)) {
            /* Withdraw: the same CAS a taker would make. Relaxed: success publishes
             * nothing (nobody took us, and our ACKED below releases the cell);
             * failure: taken, the taker's `done` decides. */
            uint64_t v = mine;
            if (atomic_compare_exchange_strong_explicit(&z->slot, &v,
                                                        (mine & ~ZS_STATE) | ZS_EMPTY,
                                                        memory_order_relaxed,
                                                        memory_order_relaxed)) {
                /* Release: pairs with the acquire load of the cell's next publisher. */
                atomic_store_explicit(done, zero_done(g, ZD_ACKED), memory_order_release);
                return -ETIMEDOUT;
            }
            /* Taken after all: the taker is between its CAS and its swap. Acquire: as
             * above. */
            while (!zero_taken(d = atomic_load_explicit(done, memory_order_acquire), g))
                weft_backoff_snooze(&b);
            break;
        }
        /* Announce the sleep, so that the taker wakes us. Relaxed: it publishes
         * nothing; the taker's swap reads it, and on failure (taken meanwhile) the
         * acquire load above reads the choice. */
        if ((d & ZD_STATE) == ZD_WAITING &&
            !atomic_compare_exchange_strong_explicit(done, &d, zero_done(g, ZD_SLEEPING),
                                                     memory_order_relaxed, memory_order_relaxed))
            continue;
        weft_futex_wait(done, zero_done(g, ZD_SLEEPING), deadline);
    }
    /* A state of our number is ours only while the cell still names our entry: a cell
     * let go by our claimer may have been published again since, 2^29 publications
     * later in the worst case, with a number that looks like ours. Relaxed: the entry
     * was written before the `done` we read (acquire) by whoever published it. */
    if ((d & ~ZD_STATE) == zero_done(g, 0) &&
        atomic_load_explicit(&z->entry[g & 1], memory_order_relaxed) != &me->w)
        return 0; /* served: only a served waiter's cell is published again */
    if (d == zero_done(g, ZD_MOVED)) {
        /* A freeze linked our entry into a list: let go of the cell (release: pairs
         * with the acquire load of its next publisher) and wait there. */
        atomic_store_explicit(done, zero_done(g, ZD_ACKED), memory_order_release);
        return zero_wait_listed(z, send, deadline, me);
    }
    /* Relaxed: a hint, the last claimer's CPU (most likely ours). */
    int cpu = zero_slot_cpu(atomic_load_explicit(&z->slot, memory_order_relaxed));
    if (zero_reads_cell(send, n)) {
        chan_copy_msg(buf, z->msg[g & 1], n);
        /* Release: pairs with the acquire load of the cell's next publisher (zero_op):
         * our read of the message comes before its writes. */
        atomic_store_explicit(done, zero_done(g, ZD_ACKED), memory_order_release);
    }
    zero_adapt(seen, cpu);
    return 0;
}

/* Shared body of send and recv. try: never block. */
static int zero_op(weft_chan *c, bool send, void *buf, bool try, uint64_t deadline)
{
    chan_zero *z = &c->u.zero;
    size_t n = c->elem_size;
    uint64_t partner = zero_tag(!send);
    bool expired = false; /* a timed op past its deadline: a try that times out */
    zero_wait me;
    bool inited = false; /* me */
    if (!try)
        zero_prefetch_write(&z->slot);
    /* Relaxed: a first guess for the CASes below, which decide. */
    uint64_t v = atomic_load_explicit(&z->slot, memory_order_relaxed);
    {
        for (;;) {
            uint64_t st = v & ZS_STATE;
            if (st == ZS_EMPTY) {
                if (try)
                    return expired ? -ETIMEDOUT : -EAGAIN;
                if (weft_deadline_passed(deadline)) {
                    /* Too late to wait, not to meet a partner already waiting: go on
                     * as a try. */
                    try = expired = true;
                    continue;
                }
                uint64_t g = zero_gen(v) + 1;
                _Atomic uint32_t *done = &z->done[g & 1];
                /* Acquire: pairs with the release store of ACKED by the cell's
                 * previous user (zero_wait_cell): its reads of the cell come before
                 * our writes. Not yet let go: v was stale (look again; the number
                 * only grows), or the cell is still held: take the mutex path. */
                if (atomic_load_explicit(done, memory_order_acquire) !=
                    zero_done(g - 2, ZD_ACKED)) {
                    /* Relaxed: as the first guess. */
                    uint64_t now = atomic_load_explicit(&z->slot, memory_order_relaxed);
                    if (now != v) {
                        v = now;
                        continue;
                    }
                    goto slow;
                }
                /* Our list entry, for a freeze to link (its claimers copy through
                 * buf); set before the CAS, off the shared line. */
                if (!inited) {
                    weft__chan_ctx_init(&me.cx);
                    weft__chan_waiter_init(&me.w, &me.cx, 0, buf);
                    inited = true;
                }
                /* Relaxed: the slot carries no data; the cell's `done` does (below).
                 * Failure: v is the next guess. */
                uint64_t mine = g << ZS_GEN_SHIFT | (v & ZS_CPU_MASK) | zero_tag(send);
                if (!atomic_compare_exchange_strong_explicit(&z->slot, &v, mine,
                                                             memory_order_relaxed,
                                                             memory_order_relaxed))
                    continue;
                /* Relaxed: published by the release store of `done` below. */
                atomic_store_explicit(&z->entry[g & 1], &me.w, memory_order_relaxed);
                if (n > CHAN_ZERO_INLINE)
                    memcpy(z->msg[g & 1], &buf, sizeof buf);
                else if (send)
                    chan_copy_msg(z->msg[g & 1], buf, n);
                /* Release: pairs with the taker's acquire load (zero_wait_filled): the
                 * message or buffer address and the entry come before. */
                atomic_store_explicit(done, zero_done(g, ZD_WAITING), memory_order_release);
                return zero_wait_cell(z, send, buf, n, deadline, g, mine, &me);
            }
            if (st == partner) {
                /* The claim, leaving our CPU for the waiter's zero_adapt. Relaxed:
                 * the cell's `done` carries the data. */
                if (atomic_compare_exchange_strong_explicit(
                        &z->slot, &v,
                        (v & ~(ZS_STATE | ZS_CPU_MASK)) | zero_cpu_bits(sched_getcpu()),
                        memory_order_relaxed, memory_order_relaxed)) {
                    zero_hand_off(c, send, buf, zero_gen(v));
                    return 0;
                }
                continue;
            }
            /* A waiter of our own side: no partner waits (the lists are empty). A try
             * leaves it in the slot. */
            if (try && st != ZS_SLOW)
                return expired ? -ETIMEDOUT : -EAGAIN;
            goto slow;
        }
    }
slow:;
    /* SLOW, our cell still held, or we would be the second waiter of our side. */
    int r = zero_slow(c, send, buf, try, deadline);
    return expired && r == -EAGAIN ? -ETIMEDOUT : r;
}

int weft__chan_zero_send(weft_chan *c, const void *msg, uint64_t deadline)
{
    return zero_op(c, true, (void *)msg, false, deadline);
}
int weft__chan_zero_try_send(weft_chan *c, const void *msg)
{
    return zero_op(c, true, (void *)msg, true, WEFT_NO_DEADLINE);
}
int weft__chan_zero_recv(weft_chan *c, void *out, uint64_t deadline)
{
    return zero_op(c, false, out, false, deadline);
}
int weft__chan_zero_try_recv(weft_chan *c, void *out)
{
    return zero_op(c, false, out, true, WEFT_NO_DEADLINE);
}

void weft__chan_zero_disconnect(weft_chan *c)
{
    chan_zero *z = &c->u.zero;
    zero_lock(z);
    if (!z->disconnected) {
        z->disconnected = true;
        weft__chan_waitlist_disconnect(&z->senders);
        weft__chan_waitlist_disconnect(&z->receivers);
        weft__chan_waitlist_disconnect(&z->watch_send);
        weft__chan_waitlist_disconnect(&z->watch_recv);
    }
    zero_unlock(z); /* the slot stays SLOW: every later operation sees the flag */
}

bool weft__chan_zero_register(weft_chan *c, bool send, chan_waiter *w)
{
    chan_zero *z = &c->u.zero;
    zero_lock(z);
    weft__chan_waitlist_push(send ? &z->senders : &z->receivers, w);
    bool ready = z->disconnected || weft__chan_waitlist_can_select(send ? &z->receivers : &z->senders);
    zero_wake_watchers(z, send);
    zero_unlock(z);
    return ready;
}

void weft__chan_zero_unregister(weft_chan *c, bool send, chan_waiter *w)
{
    chan_zero *z = &c->u.zero;
    zero_lock(z);
    weft__chan_waitlist_remove(send ? &z->senders : &z->receivers, w);
    zero_unlock(z);
}

bool weft__chan_zero_ready(weft_chan *c, bool send)
{
    chan_zero *z = &c->u.zero;
    /* Relaxed: a hint, as the lists' can_select; nothing of an entry is read. A slot
     * that is not SLOW: the lists are empty and the channel connected. */
    uint64_t v = atomic_load_explicit(&z->slot, memory_order_relaxed);
    if ((v & ZS_STATE) != ZS_SLOW)
        return (v & ZS_STATE) == zero_tag(!send);
    zero_lock(z);
    bool ready = z->disconnected || weft__chan_waitlist_can_select(send ? &z->receivers : &z->senders);
    zero_unlock(z);
    return ready;
}

bool weft__chan_zero_watch(weft_chan *c, bool send, chan_waiter *w)
{
    chan_zero *z = &c->u.zero;
    zero_lock(z);
    weft__chan_waitlist_push(send ? &z->watch_send : &z->watch_recv, w);
    bool ready = z->disconnected || weft__chan_waitlist_can_select(send ? &z->receivers : &z->senders);
    zero_unlock(z);
    return ready;
}

void weft__chan_zero_unwatch(weft_chan *c, bool send, chan_waiter *w)
{
    chan_zero *z = &c->u.zero;
    zero_lock(z);
    weft__chan_waitlist_remove(send ? &z->watch_send : &z->watch_recv, w);
    zero_unlock(z);
}
