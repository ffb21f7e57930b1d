/* waiters_internal.h: how blocked channel operations wait and are woken (crossbeam's
 * Context and Waker). Internal to chan/.
 *
 * A chan_ctx belongs to one blocked call (one recv, one send or one select) and lives
 * on its stack. Its futex word `selected` is CHAN_WAITING until exactly one party
 * moves it, with one CAS, to CHAN_ABORTED (the waiter itself: timeout or "became ready
 * while registering"), CHAN_DISCONNECTED (a channel it waits on lost its other side)
 * or CHAN_OPER(i) (operation i of the waiter may proceed / was completed for it).
 * Whoever wins the CAS wakes the futex. A select registers one ctx on several
 * channels (one chan_waiter per operation), so one ctx can be claimed only once.
 *
 * A chan_waiter is one registration of a ctx in a channel's list (also on the
 * waiter's stack). Lists are protected by a mutex (a chan_waker's own, or the
 * rendezvous channel's). Lifetime rule: every waiter unregisters each of its entries
 * under that mutex before returning, and parties only touch a ctx (CAS + wake) while
 * holding the mutex of the list where they found it, so a ctx never dies under them.
 * The rendezvous hand-off copies through `buf` outside the lock and then sets `ready`
 * (release), and the waiter spins for `ready` (acquire) before returning. */
#ifndef WEFT_CHAN_WAITERS_INTERNAL_H
#define WEFT_CHAN_WAITERS_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <weft/sync.h>

#define CHAN_WAITING 0u
#define CHAN_ABORTED 1u
#define CHAN_DISCONNECTED 2u
#define CHAN_OPER(i) ((uint32_t)(i) + 3u)
#define CHAN_OPER_INDEX(s) ((size_t)(s) - 3u)

typedef struct chan_ctx {
    _Atomic uint32_t selected;
    pthread_t thread; /* rendezvous: a thread never pairs with itself */
} chan_ctx;

typedef struct chan_waiter {
    struct chan_waiter *next, *prev;
    chan_ctx *ctx;
    uint32_t oper;          /* what to CAS into ctx->selected: CHAN_OPER(i) */
    bool linked;            /* in a list (guarded by the list's mutex) */
    void *buf;              /* rendezvous: the message to send / where to receive */
    _Atomic uint32_t ready; /* rendezvous: the counterparty finished with buf */
    bool observer;          /* weft_select_ready: woken when the op becomes possible,
                               never the one a notifier hands the op to */
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

void chan_ctx_init(chan_ctx *cx);
/* CAS WAITING -> sel; true if this call made the choice. */
bool chan_ctx_try_select(chan_ctx *cx, uint32_t sel);
/* Wait (short bounded spin, then futex) until selected != WAITING or the absolute
 * deadline passes (then CAS to ABORTED); returns the final selected value. */
uint32_t chan_ctx_wait_until(chan_ctx *cx, uint64_t deadline_ns);

void chan_waiter_init(chan_waiter *w, chan_ctx *cx, size_t index, void *buf);
/* Spin (with backoff) until the counterparty set w->ready. */
void chan_waiter_wait_ready(chan_waiter *w);

/* Lock held by the caller for all waitlist_* calls. */
void chan_waitlist_push(chan_waitlist *l, chan_waiter *w);
void chan_waitlist_remove(chan_waitlist *l, chan_waiter *w); /* no-op if unlinked */
/* Claim the first waiter whose ctx we can select (skipping the calling thread's own),
 * unlink it and wake it; NULL if none. The rendezvous partner then uses ->buf. */
chan_waiter *chan_waitlist_try_select(chan_waitlist *l);
/* Is there a waiter of another thread still WAITING (a possible partner)? */
bool chan_waitlist_can_select(const chan_waitlist *l);
/* Select CHAN_DISCONNECTED on every waiter's ctx and wake them (entries stay). */
void chan_waitlist_disconnect(chan_waitlist *l);

void chan_waker_init(chan_waker *wk);
void chan_waker_register(chan_waker *wk, chan_waiter *w);
void chan_waker_unregister(chan_waker *wk, chan_waiter *w);
/* Wake one waiter, if any: called after every operation that may unblock the other
 * side. Its flag load must come after (in the seq_cst order) the caller's seq_cst
 * RMW that published the change; see array.c / list.c. */
void chan_waker_notify(chan_waker *wk);
void chan_waker_disconnect(chan_waker *wk);

#endif
