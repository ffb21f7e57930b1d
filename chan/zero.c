/* zero.c: the rendezvous channel flavor (capacity 0, crossbeam-channel's zero
 * flavor). Nothing is stored: a send completes only by handing its message to a
 * receiver.
 *
 * Two paths. The fast one is for a lone waiter: the atomic word `slot` is EMPTY (no
 * party waits anywhere), one waiting party's entry (a sender's or a receiver's,
 * tagged in the low bits), or SLOW (the mutex-guarded waiter lists decide). An
 * operation first tries, with one CAS, to put its own entry into an EMPTY slot (the
 * CAS that fails returns the slot's value with its line already owned); if it finds a
 * waiter of the other side there instead, it takes that entry out with one CAS (the
 * only way anyone but a mutex holder empties a waiter's slot), then claims the
 * waiter's ctx (the CAS it shares with the waiter's own timeout). No mutex is taken on
 * either side. A message of up to ZERO_INLINE bytes travels in the waiter's own
 * zero_wait, on the line the claim writes anyway: the claimer copies it in (or out)
 * before the claim, and a claim that finds the waiter still spinning chooses
 * CHAN_HANDED, the claimer's last touch of it; found asleep, the claim is
 * CHAN_OPER(0), and the claimer wakes it and sets its `ready` last. A larger message
 * goes through the waiter's buf after the claim, `ready` last. Anything else (a
 * waiter of the same side already there, SLOW, select, observers, disconnection)
 * takes the mutex path.
 *
 * The mutex path: one mutex guards both waiter lists, the observer lists and the
 * disconnected flag. Every holder first freezes the slot: a CAS to SLOW, moving a
 * waiter found there into its list. Only a mutex holder changes a SLOW slot, so with
 * the mutex held and the slot SLOW the lists hold every waiter. Under the mutex an
 * operation looks for a waiting partner and claims it
 * (weft__chan_waitlist_try_select, a CAS on the partner's ctx) and unlinks it, or
 * registers itself. A holder that leaves all four lists empty, the channel connected,
 * sets the slot back to EMPTY before unlocking, reopening the fast path.
 *
 * Invariants:
 *  - A list is non-empty, or the channel disconnected, only while the slot is SLOW.
 *  - No lost wake-up: a party publishes itself only into an EMPTY slot (nobody waits)
 *    or, under the mutex, into a list of a frozen channel; a later party's CAS or
 *    its freeze sees it. Two parties can never both wait unseen by each other.
 *  - Exactly-once hand-off: whoever takes a waiter (out of the slot by CAS, or out of
 *    a list under the mutex) must still win the CAS on its ctx, which the waiter's
 *    timeout and disconnection also race for; the ctx is chosen once.
 *  - Lifetime: a waiter returns only once no other party can touch its stack entry,
 *    ctx and buffer. Claimed: HANDED was the claimer's last touch; otherwise it waits
 *    for `ready` (acquire), which the claimer stores (release) after its wake and
 *    copy. Not claimed (timeout, disconnected): it withdraws with a CAS of the slot
 *    from its entry to EMPTY; if that fails it is either in a list (moved there by a
 *    freeze: it unlinks itself under the mutex) or a slot claimer took it out and
 *    lost the ctx CAS to it, and that claimer stores `ready` after its failed CAS, its
 *    last touch, which the waiter then waits for. A claimer reads nothing of an entry before its CAS took
 *    it, so a stale entry address (the same stack slot published again) is harmless:
 *    the CAS succeeds only on the current publication.
 *  - try_send / try_recv succeed only with a waiting partner: EMPTY or a same-side
 *    waiter means none waits (the lists are empty unless SLOW). A timed operation
 *    past its deadline still meets a partner already waiting, as before: it acts as
 *    a try that reports -ETIMEDOUT.
 *
 * A waiter, in the slot or a list, spins adaptively before sleeping on its ctx's
 * futex: first a bounded spin (looks one pause apart, then a few yields), since the
 * partner is usually about to arrive and then hands off without a syscall on either
 * side; then the futex. The spin's length adapts per thread (zero_adapt): spinning
 * only helps while the partner runs on another CPU, and burns the partner's time when
 * both share one (one CPU, or other load on the rest). The claimer wakes the waiter
 * only if it had gone to sleep. Disconnection, under the mutex after a freeze,
 * selects CHAN_DISCONNECTED on every waiter and leaves the slot SLOW for good. */
#include "chan_internal.h"
#include <sched.h>
#include <string.h>

/* Bounds and start of a thread's rendezvous spin, in looks one pause apart. */
#define ZERO_LOOKS_MIN 8u
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

/* Slot values: EMPTY, SLOW, or a waiting party's chan_waiter (8-aligned) with the
 * tag of its side. */
#define ZERO_EMPTY ((uintptr_t)0)
#define ZERO_SLOW ((uintptr_t)1)
#define ZERO_SENDER ((uintptr_t)2)
#define ZERO_RECEIVER ((uintptr_t)4)
#define ZERO_TAGS ((uintptr_t)7)

static inline uintptr_t zero_tag(bool send) { return send ? ZERO_SENDER : ZERO_RECEIVER; }
static inline chan_waiter *zero_entry(uintptr_t v) { return (chan_waiter *)(v & ~ZERO_TAGS); }

/* Messages up to this size travel in the slot waiter's own zero_wait (msg), on the
 * line its partner claims anyway, instead of through the caller's buffer. */
#define ZERO_INLINE 16

/* A blocked send or recv: its inline message, ctx and entry, what a slot partner
 * touches on one line (the entry's list links, for the mutex path only, follow). */
typedef struct zero_wait {
    _Alignas(16) unsigned char msg[ZERO_INLINE];
    chan_ctx cx;
    chan_waiter w;
} zero_wait;

int weft__chan_zero_init(weft_chan *c)
{
    chan_zero *z = &c->u.zero;
    atomic_init(&z->slot, ZERO_EMPTY);
    weft_mutex_init(&z->lock);
    z->senders.head = z->senders.tail = NULL;
    z->receivers.head = z->receivers.tail = NULL;
    z->watch_send.head = z->watch_send.tail = NULL;
    z->watch_recv.head = z->watch_recv.tail = NULL;
    z->disconnected = false;
    return 0;
}

void weft__chan_zero_destroy(weft_chan *c) { weft_mutex_destroy(&c->u.zero.lock); }

/* Lock the mutex and freeze the slot: SLOW, with a waiter found there moved into its
 * list. Afterwards, until zero_unlock, the lists hold every waiter. */
static void zero_lock(chan_zero *z)
{
    weft_mutex_lock(&z->lock);
    /* Relaxed: a first guess for the CAS. */
    uintptr_t v = atomic_load_explicit(&z->slot, memory_order_relaxed);
    while (v != ZERO_SLOW) {
        /* Acquire: pairs with the waiter's release CAS that published its entry
         * (zero_op), which we link into a list. Relaxed failure: the loop decides
         * again. */
        if (atomic_compare_exchange_weak_explicit(&z->slot, &v, ZERO_SLOW, memory_order_acquire,
                                                  memory_order_relaxed)) {
            if (v != ZERO_EMPTY)
                weft__chan_waitlist_push((v & ZERO_SENDER) ? &z->senders : &z->receivers,
                                         zero_entry(v));
            return;
        }
    }
}

/* Unlock; first reopen the fast path (slot EMPTY) if nobody waits and the channel is
 * connected. Only a mutex holder changes a SLOW slot, so a SLOW seen here stays SLOW
 * until our store. Relaxed: the EMPTY slot publishes nothing; whoever fills it
 * publishes its own entry with its CAS. */
static void zero_unlock(chan_zero *z)
{
    if (!z->disconnected && !z->senders.head && !z->receivers.head && !z->watch_send.head &&
        !z->watch_recv.head && atomic_load_explicit(&z->slot, memory_order_relaxed) == ZERO_SLOW)
        atomic_store_explicit(&z->slot, ZERO_EMPTY, memory_order_relaxed);
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

/* Complete the hand-off with waiter p, whose ctx we claimed (wake: it had gone to
 * sleep). p waits for `ready`, so its ctx and buffer are alive until our store;
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

/* We took waiter p out of the slot: claim its ctx and complete the hand-off. False if
 * p had given up first (its timeout's CAS won): then only let it go. */
static bool zero_hand_off(weft_chan *c, bool send, chan_waiter *p, void *buf)
{
    size_t n = c->elem_size;
    if (n > ZERO_INLINE) {
        chan_claim cl = weft__chan_ctx_claim(p->ctx, p->oper);
        if (cl != CHAN_CLAIM_LOST) {
            zero_complete(c, send, p, buf, cl == CHAN_CLAIM_ASLEEP);
            return true;
        }
    } else {
        /* The message moves before the claim: p cannot leave meanwhile (it is in no
         * list and not in the slot, so it waits for its ctx, or, having timed out,
         * for our `ready`), and a claim that finds p awake (WAITING) then ends our
         * touches of p: CHAN_HANDED tells it so. Found asleep, the claim is
         * CHAN_OPER(0): we wake p and it waits for `ready`. Writing claimer_cpu first
         * fetches p's line for writing, which our CAS needs anyway. */
        unsigned char tmp[ZERO_INLINE];
        p->claimer_cpu = sched_getcpu();
        if (send)
            chan_copy_msg(p->buf, buf, n);
        else
            chan_copy_msg(tmp, p->buf, n);
        chan_ctx *cx = p->ctx;
        /* Relaxed: a first guess for the CAS, which decides. */
        uint32_t s = atomic_load_explicit(&cx->selected, memory_order_relaxed);
        while (s <= CHAN_SLEEPING) {
            uint32_t sel = s == CHAN_SLEEPING ? CHAN_OPER(0) : CHAN_HANDED;
            /* Release: pairs with p's acquire loads in its ctx wait: the message we
             * wrote into it (or read out of it) and claimer_cpu come before. Relaxed
             * failure: the loop decides again. */
            if (atomic_compare_exchange_weak_explicit(&cx->selected, &s, sel, memory_order_release,
                                                      memory_order_relaxed)) {
                if (!send)
                    chan_copy_msg(buf, tmp, n);
                if (sel == CHAN_OPER(0)) {
                    weft__chan_ctx_wake(cx);
                    /* Release: pairs with the acquire in weft__chan_waiter_wait_ready;
                     * our last touch of p after the wake. */
                    atomic_store_explicit(&p->ready, 1, memory_order_release);
                }
                return true;
            }
        }
    }
    /* Release: pairs with the acquire in weft__chan_waiter_wait_ready, where p,
     * withdrawing, waits for our last touch of it (zero_wait_slot). */
    atomic_store_explicit(&p->ready, 1, memory_order_release);
    return false;
}

/* The mutex path of send and recv (me: our wait state, not yet registered). */
static int zero_slow(weft_chan *c, bool send, void *buf, bool try, uint64_t deadline,
                     zero_wait *me)
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
    weft__chan_ctx_init(&me->cx);
    weft__chan_waiter_init(&me->w, &me->cx, 0, buf);
    weft__chan_waitlist_push(send ? &z->senders : &z->receivers, &me->w);
    zero_wake_watchers(z, send);
    zero_unlock(z);
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

/* We published `mine` (our entry) in the slot: wait to be claimed, or give up. out:
 * a receiver's buffer when the message comes inline (me->msg), else NULL. */
static int zero_wait_slot(chan_zero *z, bool send, void *out, size_t n, uint64_t deadline,
                          zero_wait *me, uintptr_t mine)
{
    uint32_t seen;
    uint32_t s = weft__chan_ctx_wait_partner(&me->cx, deadline, zero_looks, &seen);
    if (s == CHAN_HANDED || s == CHAN_OPER(0)) {
        /* Claimed: out of the slot by a partner that found us awake (HANDED: it is
         * done with us), or asleep, or out of a list after a freeze moved us there
         * (OPER: its wake and copy come before `ready`). */
        if (s != CHAN_HANDED)
            weft__chan_waiter_wait_ready(&me->w);
        if (out)
            chan_copy_msg(out, me->msg, n);
        zero_adapt(seen, me->w.claimer_cpu);
        return 0;
    }
    /* Timed out (DISCONNECTED only reaches an entry in a list). Nobody can claim us
     * now; withdraw. Relaxed: success publishes nothing (nobody took the entry, and
     * nobody reads it before taking it); failure leaves v unused. */
    uintptr_t v = mine;
    if (!atomic_compare_exchange_strong_explicit(&z->slot, &v, ZERO_EMPTY, memory_order_relaxed,
                                                 memory_order_relaxed)) {
        /* Not in the slot: a freeze moved us into a list (under the mutex), or a
         * claimer took us out and lost the ctx CAS: it stores `ready` last. */
        zero_lock(z);
        bool linked = me->w.linked;
        weft__chan_waitlist_remove(send ? &z->senders : &z->receivers, &me->w);
        zero_unlock(z);
        if (!linked)
            weft__chan_waiter_wait_ready(&me->w);
    }
    return s == CHAN_DISCONNECTED ? -EPIPE : -ETIMEDOUT;
}

/* Shared body of send and recv. try: never block. */
static int zero_op(weft_chan *c, bool send, void *buf, bool try, uint64_t deadline)
{
    chan_zero *z = &c->u.zero;
    WEFT_CACHE_ALIGNED zero_wait me;
    uintptr_t mine = (uintptr_t)&me.w | zero_tag(send);
    uintptr_t partner = zero_tag(!send);
    bool ready = false; /* me initialized */
    bool inl = c->elem_size <= ZERO_INLINE;
    bool expired = false; /* a timed op past its deadline: a try that times out */
    /* Blocking: guess EMPTY, and let the CAS that publishes us tell otherwise (it
     * fetches the line for writing, which the claim below then needs). Try: we will
     * not publish; relaxed, the claiming CAS decides. */
    uintptr_t v = try ? atomic_load_explicit(&z->slot, memory_order_relaxed) : ZERO_EMPTY;
    for (;;) {
        if (v == ZERO_EMPTY) {
            if (try)
                return expired ? -ETIMEDOUT : -EAGAIN;
            if (!ready) {
                if (weft_deadline_passed(deadline)) {
                    /* Too late to wait, not to meet a partner already waiting: go on
                     * as a try on the slot's real value (v was a guess). */
                    try = expired = true;
                    v = atomic_load_explicit(&z->slot, memory_order_relaxed);
                    continue;
                }
                weft__chan_ctx_init(&me.cx);
                weft__chan_waiter_init(&me.w, &me.cx, 0, inl ? me.msg : buf);
                if (inl && send)
                    chan_copy_msg(me.msg, buf, c->elem_size);
                ready = true;
            }
            /* Release: pairs with the claimer's acquire CAS below and the freeze's
             * (zero_lock): our entry and, sending, our message are visible to whoever
             * takes us. Relaxed failure: v is only the next guess. */
            if (atomic_compare_exchange_strong_explicit(&z->slot, &v, mine, memory_order_release,
                                                        memory_order_relaxed))
                return zero_wait_slot(z, send, inl && !send ? buf : NULL, c->elem_size,
                                      deadline, &me, mine);
            continue;
        }
        if ((v & ZERO_TAGS) == partner) {
            /* Acquire: pairs with the waiter's release CAS that published it (above):
             * its entry and message are visible before we use them. */
            if (atomic_compare_exchange_strong_explicit(&z->slot, &v, ZERO_EMPTY,
                                                        memory_order_acquire, memory_order_relaxed)) {
                if (zero_hand_off(c, send, zero_entry(v), buf))
                    return 0;
                v = try ? atomic_load_explicit(&z->slot, memory_order_relaxed) : ZERO_EMPTY;
            }
            continue;
        }
        /* A waiter of our own side: no partner waits (the lists are empty). A try
         * leaves it in the slot. */
        if (try && v != ZERO_SLOW)
            return expired ? -ETIMEDOUT : -EAGAIN;
        /* SLOW, or we would be the second waiter of our side. */
        int r = zero_slow(c, send, buf, try, deadline, &me);
        return expired && r == -EAGAIN ? -ETIMEDOUT : r;
    }
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
    uintptr_t v = atomic_load_explicit(&z->slot, memory_order_relaxed);
    if (v != ZERO_SLOW)
        return (v & ZERO_TAGS) == zero_tag(!send);
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
