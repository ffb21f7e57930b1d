/* waiters_internal.h: how blocked channel operations wait and are woken (crossbeam's
 * Context and Waker). Internal to chan/.
 *
 * A chan_ctx belongs to one blocked call (one recv, one send or one select) and lives
 * on its stack. Its futex word `selected` is CHAN_WAITING, or CHAN_SLEEPING once its
 * owner has decided to sleep on the futex (the owner's own CAS), until exactly one
 * party moves it, with one CAS, to CHAN_ABORTED (the waiter itself: timeout or "became
 * ready while registering"), CHAN_DISCONNECTED (a channel it waits on lost its other
 * side) or CHAN_OPER(i) (operation i of the waiter may proceed / was completed for it).
 * The winner of that CAS wakes the futex only if it replaced CHAN_SLEEPING: an owner
 * still spinning sees the choice without a syscall on either side, and one that went
 * to sleep did so with futex_wait(SLEEPING), which a CAS from SLEEPING either precedes
 * (the wait returns at once) or is followed by the wake. A select registers one ctx on
 * several channels (one chan_waiter per operation), so one ctx can be claimed only
 * once.
 *
 * A chan_waiter is one registration of a ctx in a channel's list (also on the
 * waiter's stack). Lists are protected by a mutex (a chan_waker's own, or the
 * rendezvous channel's). Lifetime rule: every waiter unregisters each of its entries
 * under that mutex before returning, and parties only touch a ctx (claim + wake) while
 * holding the mutex of the list where they found it, so a ctx never dies under them.
 * The exception is the rendezvous hand-off (zero.c): its claimer takes the waiter out
 * of a list under the mutex, then, outside it, wakes the ctx (if it slept), copies
 * through `buf` and last sets `ready` (release); the waiter spins for `ready`
 * (acquire) before returning, so the claimer's wake and copy are over before the ctx
 * and buf go. (A rendezvous channel's lone waiter in its slot uses no ctx: it waits on
 * a futex word in the channel itself, zero.c.) */
#ifndef WEFT_CHAN_WAITERS_INTERNAL_H
#define WEFT_CHAN_WAITERS_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <weft/sync.h>

/* Not chosen yet: WAITING and SLEEPING (the owner sleeps, or is about to, on the
 * futex: whoever chooses must wake it). Chosen: every value above SLEEPING. */
#define CHAN_WAITING 0u
#define CHAN_SLEEPING 1u
#define CHAN_ABORTED 2u
#define CHAN_DISCONNECTED 3u
#define CHAN_OPER(i) ((uint32_t)(i) + 4u)
#define CHAN_OPER_INDEX(s) ((size_t)(s) - 4u)

typedef struct chan_ctx {
    _Atomic uint32_t selected;
    pthread_t thread; /* rendezvous: a thread never pairs with itself */
} chan_ctx;

typedef struct chan_waiter {
    /* First what a rendezvous partner touches (zero.c), then the list links. */
    chan_ctx *ctx;
    void *buf;              /* rendezvous: the message to send / where to receive */
    _Atomic uint32_t ready; /* rendezvous: the counterparty finished with buf */
    int claimer_cpu;        /* rendezvous: the CPU the counterparty ran on, or -1
                               (written before `ready`, read after it) */
    uint32_t oper;          /* what to CAS into ctx->selected: CHAN_OPER(i) */
    bool linked;            /* in a list (guarded by the list's mutex) */
    bool observer;          /* weft_select_ready: woken when the op becomes possible,
                               never the one a notifier hands the op to */
    struct chan_waiter *next, *prev;
} chan_waiter;

/* A list of waiters; the caller holds the mutex that guards it. */
typedef struct chan_waitlist {
    chan_waiter *head, *tail;
} chan_waitlist;

/* A waiter list with its own mutex and an emptiness flag for a lock-free "nobody
 * waits" fast path (crossbeam's SyncWaker). */
typedef struct chan_waker {
    weft_mutex lock;
    chan_waitlist list;
    _Atomic bool is_empty;
} chan_waker;

/* What weft__chan_ctx_claim did. */
typedef enum chan_claim {
    CHAN_CLAIM_LOST,  /* someone chose first */
    CHAN_CLAIM_AWAKE, /* ours; the owner had not gone to sleep: no wake needed */
    CHAN_CLAIM_ASLEEP /* ours; the owner sleeps (or is about to): weft__chan_ctx_wake it */
} chan_claim;

void weft__chan_ctx_init(chan_ctx *cx);
/* Make the choice sel (> CHAN_SLEEPING) if nobody has: CAS from WAITING or SLEEPING. */
chan_claim weft__chan_ctx_claim(chan_ctx *cx, uint32_t sel);
/* Wake the owner of a ctx claimed with CHAN_CLAIM_ASLEEP (a futex wake). */
void weft__chan_ctx_wake(chan_ctx *cx);
/* Claim, and wake the owner if it sleeps; true if this call made the choice. */
bool weft__chan_ctx_select_wake(chan_ctx *cx, uint32_t sel);
/* The owner's own choice (ABORTED: it is awake, so nobody needs waking); true if it
 * made the choice. */
bool weft__chan_ctx_try_select(chan_ctx *cx, uint32_t sel);
/* Wait until selected is chosen or the absolute deadline passes (then CAS to ABORTED);
 * returns the final selected value. A short bounded spin first, then the futex: for
 * callers that already spun before registering (array, list, select, timers). */
uint32_t weft__chan_ctx_wait_until(chan_ctx *cx, uint64_t deadline_ns);
/* The same with a longer spin first, for a rendezvous party, whose partner is usually
 * about to arrive and could not be polled for before registering: `looks` looks at
 * the word one pause apart, then a few yields, then the futex. *seen: the look that
 * saw the choice, UINT32_MAX if the spin did not (zero.c adapts `looks` by it). */
uint32_t weft__chan_ctx_wait_partner(chan_ctx *cx, uint64_t deadline_ns, uint32_t looks,
                               uint32_t *seen);

void weft__chan_waiter_init(chan_waiter *w, chan_ctx *cx, size_t index, void *buf);
/* Spin (with backoff) until the counterparty set w->ready. */
void weft__chan_waiter_wait_ready(chan_waiter *w);

/* Lock held by the caller for all waitlist_* calls. */
void weft__chan_waitlist_push(chan_waitlist *l, chan_waiter *w);
void weft__chan_waitlist_remove(chan_waitlist *l, chan_waiter *w); /* no-op if unlinked */
/* Claim the first waiter whose ctx we can select (skipping the calling thread's own)
 * and unlink it; NULL if none. The rendezvous partner then, after unlocking: wakes its
 * ctx if *wake (weft__chan_ctx_wake), uses ->buf, and sets ->ready last (see above). */
chan_waiter *weft__chan_waitlist_try_select(chan_waitlist *l, bool *wake);
/* Is there a waiter of another thread not yet chosen (a possible partner)? */
bool weft__chan_waitlist_can_select(const chan_waitlist *l);
/* Select CHAN_DISCONNECTED on every waiter's ctx and wake them (entries stay). */
void weft__chan_waitlist_disconnect(chan_waitlist *l);

void weft__chan_waker_init(chan_waker *wk);
void weft__chan_waker_register(chan_waker *wk, chan_waiter *w);
void weft__chan_waker_unregister(chan_waker *wk, chan_waiter *w);
/* One sleep of an operation that waits on one waker (crossbeam's Context::with and
 * the closure the array and list flavors give it; weft__chan_block_wait): register a
 * fresh ctx on wk, re-check ready(c) and abort the ctx if it holds, wait until chosen
 * or the deadline, unregister. ready must load with seq_cst: after the registration
 * it is the pair of weft__chan_waker_notify's flag load, so a notifier that saw no
 * waiter made its change before the re-check, which then sees it (no lost wake-up).
 * The caller tries its operation again afterwards, whatever woke it. */
struct weft_chan;
void weft__chan_waker_sleep(chan_waker *wk, bool (*ready)(struct weft_chan *c),
                            struct weft_chan *c, uint64_t deadline_ns);
/* Wake one waiter, if any: called after every operation that may unblock the other
 * side. Its flag load must come after (in the seq_cst order) the caller's seq_cst
 * RMW that published the change; see array.c / list.c. */
void weft__chan_waker_notify(chan_waker *wk);
void weft__chan_waker_disconnect(chan_waker *wk);

#endif
