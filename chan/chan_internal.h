/* chan_internal.h: the channel object shared by the handles, the flavors' entry
 * points (array.c, list.c, zero.c, timer.c), the blocking path the lock-free flavors
 * share (weft__chan_block_wait) and the test hooks. Internal to chan/.
 *
 * Flavor calls take the channel; their results: 0, -EAGAIN (try: would block),
 * -ETIMEDOUT (deadline passed), -EPIPE (disconnected). A deadline is absolute
 * (weft_time_now_ns base), WEFT_NO_DEADLINE to block. */
#ifndef WEFT_CHAN_INTERNAL_H
#define WEFT_CHAN_INTERNAL_H

#include "slab_internal.h"
#include "waiters_internal.h"
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <weft/chan.h>

/* Copy one message in or out of a slot: a constant-size copy (one move) for the
 * common 4- and 8-byte messages instead of a call to memcpy. Nothing for 0-byte
 * (signal) messages, whose buffers may be NULL (memcpy must not see NULL). */
static inline void chan_copy_msg(void *dst, const void *src, size_t n)
{
    if (n == sizeof(uint64_t))
        memcpy(dst, src, sizeof(uint64_t));
    else if (n == sizeof(uint32_t))
        memcpy(dst, src, sizeof(uint32_t));
    else if (n)
        memcpy(dst, src, n);
}

typedef enum chan_flavor { CHAN_ARRAY, CHAN_LIST, CHAN_ZERO, CHAN_TIMER } chan_flavor;

/* ---- bounded ring (array.c) */
typedef struct chan_array {
    WEFT_CACHE_ALIGNED _Atomic size_t head; /* {lap, index} */
    WEFT_CACHE_ALIGNED _Atomic size_t tail; /* {lap, mark, index}: mark = disconnected */
    /* Read on every call, written only at open: one line, with the wakers (written
     * only while a thread sleeps on the channel: by it, and by the notifier that
     * wakes it). The alignment goes on cap alone: on a declaration with a list it
     * applies to every declarator, a line for each field. */
    WEFT_CACHE_ALIGNED size_t cap;
    size_t one_lap, mark_bit, stride;
    unsigned char *slots; /* cap slots of stride bytes: a stamp, then the message */
    chan_waker senders, receivers;
} chan_array;
_Static_assert(offsetof(chan_array, slots) - offsetof(chan_array, cap) < WEFT_CACHE_LINE,
               "the array flavor's read-only fields share one line");

/* ---- unbounded list of blocks (list.c) */
typedef struct chan_list_block chan_list_block;
typedef struct chan_list_pos {
    _Atomic size_t index;
    _Atomic(chan_list_block *) block;
} chan_list_pos;
typedef struct chan_list {
    WEFT_CACHE_ALIGNED chan_list_pos head;
    WEFT_CACHE_ALIGNED chan_list_pos tail;
    WEFT_CACHE_ALIGNED size_t stride; /* read on every call: kept off the lines below */
    chan_waker receivers;
    /* Written once per block (by both sides): a line of their own. */
    WEFT_CACHE_ALIGNED _Atomic(chan_list_block *) spare; /* at most one drained block kept */
    _Atomic size_t live_blocks;                           /* malloc'd + slab blocks */
    size_t slab_after_blocks;                             /* this many live: use slabs */
    chan_slabs slabs;
} chan_list;

/* ---- rendezvous (zero.c) */
/* Messages up to this size travel inside the slot's line; larger ones through the
 * lone waiter's own buffer. */
#define CHAN_ZERO_INLINE 16

typedef struct chan_zero {
    /* The lone waiter's slot: empty, one waiting sender or receiver (in the cell its
     * publication's number picks), or "slow" (the lists below decide); see zero.c.
     * Written by both sides on every hand-off, and the two cells with it, so that
     * the claimer's CAS fetches the message and the waiter's futex word too: one line
     * of their own (64 bytes), away from the mutex. Cell c: done[c] (the waiter's
     * futex word), entry[c] (its list entry, which a freeze links), msg[c] (its
     * message, or its buffer's address). */
    WEFT_CACHE_ALIGNED _Atomic uint64_t slot;
    _Atomic uint32_t done[2];
    _Atomic(struct chan_waiter *) entry[2];
    _Alignas(8) unsigned char msg[2][CHAN_ZERO_INLINE];
    WEFT_CACHE_ALIGNED weft_mutex lock;
    chan_waitlist senders, receivers;
    /* weft_select_ready observers: of sends (woken when a receiver starts waiting)
     * and of receives (when a sender does). Never handed a message. */
    chan_waitlist watch_send, watch_recv;
    bool disconnected;
} chan_zero;

/* ---- timers: after, tick, never (timer.c). Receivers only; no waiter lists. */
typedef struct chan_timer {
    _Atomic uint64_t due; /* when the next message may be taken; WEFT_NO_DEADLINE: never */
    uint64_t period;      /* tick: > 0; after and never: 0 (one message at most) */
} chan_timer;

typedef struct weft_chan {
    union {
        chan_array array;
        chan_list list;
        chan_zero zero;
        chan_timer timer;
    } u;
    chan_flavor flavor;
    size_t elem_size, capacity;
    weft_drop_fn drop;
    void *drop_ctx;
    _Atomic size_t senders, receivers; /* open handles */
    _Atomic bool destroy;               /* the first side to reach 0 handles sets it */
} weft_chan;

/* One step of a spin that waits for the other side of a channel: as
 * weft_backoff_snooze (2^step pauses, then past the spin limit a yield), but with a
 * look(c) after every pause instead of one after the step. Returns whether a look saw
 * the operation possible. Why: the write a hand-off waits for is on the critical path
 * of every message, and with one look per step it is seen up to 2^step pauses late;
 * a look only reads, and the spin's length is the snooze's. always_inline: callers
 * pass a constant look, which then inlines. */
static inline __attribute__((always_inline)) bool
weft__chan_snooze_looking(weft_backoff *b, bool (*look)(weft_chan *c), weft_chan *c)
{
    if (b->step > WEFT_BACKOFF_SPIN_LIMIT) {
        weft_backoff_snooze(b);
        return look(c);
    }
    uint32_t pauses = 1u << b->step;
    b->step++;
    for (uint32_t i = 0; i < pauses; i++) {
        weft_cpu_relax();
        if (look(c))
            return true;
    }
    return false;
}

/* The blocking path of an operation that waits on one waker (array send and recv,
 * list recv; crossbeam's loop around Context::with), entered once a first try has
 * returned -EAGAIN. Spin a little (one weft_backoff's snoozes), polling may_proceed
 * after every pause of them (weft__chan_snooze_looking) and calling spin_op as soon
 * as it says so; once the spin is spent, try_op decides, and until the deadline,
 * sleep on wk (weft__chan_waker_sleep, with `ready` as its re-check) and call try_op
 * after each wake-up. may_proceed: a relaxed hint that polls only the line the other
 * side writes anyway (a try call's seq_cst fence and load of the other side's index
 * would pull that index's line away from it on every spin); NULL: no hint, spin_op
 * after every snooze. spin_op: try_op, or a cheaper form of it that may report
 * -EAGAIN where try_op would not (it may skip reading the other side's index, or a
 * disconnection: try_op's verdict comes before every timeout and every sleep);
 * NULL: try_op. Returns try_op's or spin_op's result other than -EAGAIN, or
 * -ETIMEDOUT. always_inline: a flavor wraps it in one function per operation,
 * called only after its first try failed, so that the first try stays a plain call
 * and the spin's calls are direct. */
static inline __attribute__((always_inline)) int
weft__chan_block_wait(weft_chan *c, void *buf, uint64_t deadline, chan_waker *wk,
                      int (*try_op)(weft_chan *c, void *buf), int (*spin_op)(weft_chan *c, void *buf),
                      bool (*may_proceed)(weft_chan *c), bool (*ready)(weft_chan *c))
{
    weft_backoff b = WEFT_BACKOFF_INIT;
    for (;;) {
        while (!weft_backoff_is_completed(&b)) {
            if (!may_proceed) {
                weft_backoff_snooze(&b);
                break;
            }
            if (weft__chan_snooze_looking(&b, may_proceed, c))
                break;
        }
        int r;
        if (!weft_backoff_is_completed(&b)) {
            r = (spin_op ? spin_op : try_op)(c, buf);
        } else {
            r = try_op(c, buf);
            if (r == -EAGAIN) {
                if (weft_deadline_passed(deadline))
                    return -ETIMEDOUT;
                weft__chan_waker_sleep(wk, ready, c, deadline);
            }
        }
        if (r != -EAGAIN)
            return r;
    }
}

int weft__chan_array_init(weft_chan *c);
void weft__chan_array_destroy(weft_chan *c); /* single-threaded: drops what is left */
int weft__chan_array_send(weft_chan *c, const void *msg, uint64_t deadline);
int weft__chan_array_try_send(weft_chan *c, const void *msg);
int weft__chan_array_recv(weft_chan *c, void *out, uint64_t deadline);
int weft__chan_array_try_recv(weft_chan *c, void *out);
void weft__chan_array_disconnect(weft_chan *c);
size_t weft__chan_array_len(const weft_chan *c);
bool weft__chan_array_send_ready(weft_chan *c); /* not full, or disconnected (seq_cst) */
bool weft__chan_array_recv_ready(weft_chan *c); /* not empty, or disconnected (seq_cst) */

int weft__chan_list_init(weft_chan *c);
void weft__chan_list_destroy(weft_chan *c);
int weft__chan_list_send(weft_chan *c, const void *msg); /* never blocks */
int weft__chan_list_recv(weft_chan *c, void *out, uint64_t deadline);
int weft__chan_list_try_recv(weft_chan *c, void *out);
void weft__chan_list_disconnect(weft_chan *c);
size_t weft__chan_list_len(const weft_chan *c);
size_t weft__chan_list_live_blocks_(const weft_chan *c);
size_t weft__chan_list_live_slabs_(const weft_chan *c);
size_t weft__chan_list_slab_maps_(const weft_chan *c);
bool weft__chan_list_recv_ready(weft_chan *c);

int weft__chan_zero_init(weft_chan *c);
void weft__chan_zero_destroy(weft_chan *c);
int weft__chan_zero_send(weft_chan *c, const void *msg, uint64_t deadline);
int weft__chan_zero_try_send(weft_chan *c, const void *msg);
int weft__chan_zero_recv(weft_chan *c, void *out, uint64_t deadline);
int weft__chan_zero_try_recv(weft_chan *c, void *out);
void weft__chan_zero_disconnect(weft_chan *c);
/* select: register w (its buf set) on the send / receive side; returns true if the
 * op could complete now (a partner waits, or disconnected): the caller then aborts. */
bool weft__chan_zero_register(weft_chan *c, bool send, chan_waiter *w);
void weft__chan_zero_unregister(weft_chan *c, bool send, chan_waiter *w);
/* weft_select_ready: is the op possible now (a partner waits, or disconnected)? */
bool weft__chan_zero_ready(weft_chan *c, bool send);
/* weft_select_ready: add observer w, woken (selected for its op) when a partner
 * starts waiting or on disconnect; returns true if the op is possible now. */
bool weft__chan_zero_watch(weft_chan *c, bool send, chan_waiter *w);
void weft__chan_zero_unwatch(weft_chan *c, bool send, chan_waiter *w);

/* A timer's message is its due time (a uint64_t); it is never sent, so these are
 * all a timer needs: take a message (recv / try_recv), and for select and the
 * snapshots, whether one is due now and when the next may be. */
int weft__chan_timer_recv(weft_chan *c, void *out, uint64_t deadline);
int weft__chan_timer_try_recv(weft_chan *c, void *out);
bool weft__chan_timer_ready(const weft_chan *c);  /* a message is due now */
uint64_t weft__chan_timer_due(const weft_chan *c); /* the earliest it may be due; NO_DEADLINE: never */

/* A new receiver handle of c (the caller has counted it in c->receivers, or is
 * opening c); NULL if it could not be allocated. */
weft_receiver *weft__chan_receiver_new(weft_chan *c);

/* The channel behind a handle (NULL for NULL or, in debug builds, a closed handle). */
weft_chan *weft__chan_of_sender(const weft_sender *tx);
weft_chan *weft__chan_of_receiver(const weft_receiver *rx);

/* A handle's random state for weft_select's shuffle (no clock read per select);
 * only the thread using the handle touches it (the one-thread-per-call rule). */
uint64_t *weft__chan_sender_rng(weft_sender *tx);
uint64_t *weft__chan_receiver_rng(weft_receiver *rx);

/* Test hook: blocks currently allocated by an unbounded channel (the spare included);
 * 0 for other flavors. */
size_t weft__chan_live_blocks(const weft_receiver *rx);
/* Test hook: slabs an unbounded channel has mapped (slab.c); 0 for other flavors. */
size_t weft__chan_live_slabs(const weft_receiver *rx);
/* Test hook: slabs an unbounded channel has mapped since it opened, unmapped ones
 * included (a block freed into a slab and carved again maps none); 0 for other flavors. */
size_t weft__chan_slab_maps(const weft_receiver *rx);

#endif
