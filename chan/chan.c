/* chan.c: the channel handles and the public calls (weft/chan.h): argument checks,
 * handle counting, disconnection, freeing, and dispatch to the flavor (array.c,
 * list.c, zero.c, timer.c).
 *
 * Invariants:
 *  - c->senders / c->receivers count the open handles of each side. Closing the last
 *    handle of a side (its acq_rel decrement reaches 0) disconnects the channel
 *    (the flavor wakes every waiter of both sides) and then swaps c->destroy; the
 *    second side to get there finds it set and frees the channel. The acq_rel RMWs
 *    chain every handle's operations before the free, which passes each message
 *    still inside to the drop callback.
 *  - A handle carries a magic word; close overwrites it before freeing, so a use
 *    after close is caught with -EINVAL in every build while the freed memory is
 *    not reused (ASan's allocator delays reuse: there, nearly always). */
#include "chan_internal.h"
#include <stdlib.h>
#include <string.h>

#define SENDER_MAGIC 0x7e4d5e4du
#define RECEIVER_MAGIC 0x7e4d7ec5u
#define CLOSED_MAGIC 0xdeadc105u

struct weft_sender {
    uint32_t magic;
    weft_chan *chan;
    uint64_t rng; /* select's xorshift state (the handle serves one thread at a time) */
};
struct weft_receiver {
    uint32_t magic;
    weft_chan *chan;
    uint64_t rng; /* as in weft_sender */
};

/* A non-zero xorshift seed that differs between handles (and runs). */
static uint64_t handle_seed(const void *h)
{
    uint64_t z = weft_time_now_ns() ^ (uint64_t)(uintptr_t)h;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull; /* splitmix64 finaliser */
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (z ^ (z >> 31)) | 1;
}

uint64_t *weft__chan_sender_rng(weft_sender *tx) { return &tx->rng; }
uint64_t *weft__chan_receiver_rng(weft_receiver *rx) { return &rx->rng; }

weft_receiver *weft__chan_receiver_new(weft_chan *c)
{
    weft_receiver *v = malloc(sizeof *v);
    if (v) {
        v->magic = RECEIVER_MAGIC;
        v->chan = c;
        v->rng = handle_seed(v);
    }
    return v;
}

weft_chan *weft__chan_of_sender(const weft_sender *tx)
{
    return tx && tx->magic == SENDER_MAGIC ? tx->chan : NULL;
}
weft_chan *weft__chan_of_receiver(const weft_receiver *rx)
{
    return rx && rx->magic == RECEIVER_MAGIC ? rx->chan : NULL;
}

static void chan_free(weft_chan *c)
{
    switch (c->flavor) {
    case CHAN_ARRAY: weft__chan_array_destroy(c); break;
    case CHAN_LIST: weft__chan_list_destroy(c); break;
    case CHAN_ZERO: weft__chan_zero_destroy(c); break;
    case CHAN_TIMER: break; /* holds nothing but its word */
    }
    free(c);
}

static void chan_disconnect(weft_chan *c)
{
    switch (c->flavor) {
    case CHAN_ARRAY: weft__chan_array_disconnect(c); break;
    case CHAN_LIST: weft__chan_list_disconnect(c); break;
    case CHAN_ZERO: weft__chan_zero_disconnect(c); break;
    case CHAN_TIMER: break; /* nobody ever waits in a list of it */
    }
}

/* One side's last handle is gone. */
static void chan_side_done(weft_chan *c)
{
    chan_disconnect(c);
    /* AcqRel: the second side to arrive sees everything the first side did. */
    if (atomic_exchange_explicit(&c->destroy, true, memory_order_acq_rel))
        chan_free(c);
}

int weft_chan_open(size_t elem_size, size_t capacity, const weft_chan_options *opts,
                   weft_sender **tx, weft_receiver **rx)
{
    if (!tx || !rx)
        return -EINVAL;
    /* elem_size 0: signal-only messages, counted and never copied. */
    if (elem_size && capacity != WEFT_UNBOUNDED && capacity > SIZE_MAX / elem_size)
        return -EINVAL;
    weft_chan *c = aligned_alloc(WEFT_CACHE_LINE, sizeof(weft_chan));
    if (!c)
        return -ENOMEM;
    memset(c, 0, sizeof *c);
    c->elem_size = elem_size;
    c->capacity = capacity;
    c->drop = opts ? opts->drop : NULL;
    c->drop_ctx = opts ? opts->drop_ctx : NULL;
    atomic_init(&c->senders, 1);
    atomic_init(&c->receivers, 1);
    atomic_init(&c->destroy, false);
    int r;
    if (capacity == WEFT_UNBOUNDED) {
        c->flavor = CHAN_LIST;
        r = weft__chan_list_init(c);
    } else if (capacity == 0) {
        c->flavor = CHAN_ZERO;
        r = weft__chan_zero_init(c);
    } else {
        c->flavor = CHAN_ARRAY;
        r = weft__chan_array_init(c);
    }
    if (r) {
        free(c);
        return r;
    }
    weft_sender *s = malloc(sizeof *s);
    weft_receiver *v = weft__chan_receiver_new(c);
    if (!s || !v) {
        free(s);
        free(v);
        chan_free(c);
        return -ENOMEM;
    }
    s->magic = SENDER_MAGIC;
    s->chan = c;
    s->rng = handle_seed(s);
    *tx = s;
    *rx = v;
    return 0;
}

int weft_sender_clone(weft_sender *tx, weft_sender **out)
{
    weft_chan *c = weft__chan_of_sender(tx);
    if (!c || !out)
        return -EINVAL;
    weft_sender *s = malloc(sizeof *s);
    if (!s)
        return -ENOMEM;
    s->magic = SENDER_MAGIC;
    s->chan = c;
    s->rng = handle_seed(s);
    /* Relaxed: we hold a handle, so the count cannot reach 0 meanwhile. */
    atomic_fetch_add_explicit(&c->senders, 1, memory_order_relaxed);
    *out = s;
    return 0;
}

int weft_receiver_clone(weft_receiver *rx, weft_receiver **out)
{
    weft_chan *c = weft__chan_of_receiver(rx);
    if (!c || !out)
        return -EINVAL;
    weft_receiver *v = weft__chan_receiver_new(c);
    if (!v)
        return -ENOMEM;
    /* Relaxed: as in weft_sender_clone. */
    atomic_fetch_add_explicit(&c->receivers, 1, memory_order_relaxed);
    *out = v;
    return 0;
}

int weft_sender_close(weft_sender *tx)
{
    weft_chan *c = weft__chan_of_sender(tx);
    if (!c)
        return -EINVAL;
    tx->magic = CLOSED_MAGIC;
    free(tx);
    /* AcqRel: the last closer sees every other sender's operations (see top). */
    if (atomic_fetch_sub_explicit(&c->senders, 1, memory_order_acq_rel) == 1)
        chan_side_done(c);
    return 0;
}

int weft_receiver_close(weft_receiver *rx)
{
    weft_chan *c = weft__chan_of_receiver(rx);
    if (!c)
        return -EINVAL;
    rx->magic = CLOSED_MAGIC;
    free(rx);
    /* AcqRel: as in weft_sender_close. */
    if (atomic_fetch_sub_explicit(&c->receivers, 1, memory_order_acq_rel) == 1)
        chan_side_done(c);
    return 0;
}

static int send_at(weft_sender *tx, const void *msg, bool try, uint64_t deadline)
{
    weft_chan *c = weft__chan_of_sender(tx);
    if (!c || (!msg && c->elem_size))
        return -EINVAL;
    switch (c->flavor) {
    case CHAN_ARRAY:
        return try ? weft__chan_array_try_send(c, msg) : weft__chan_array_send(c, msg, deadline);
    case CHAN_LIST:
        return weft__chan_list_send(c, msg);
    case CHAN_ZERO:
        return try ? weft__chan_zero_try_send(c, msg) : weft__chan_zero_send(c, msg, deadline);
    case CHAN_TIMER:
        break; /* a timer has no sender handle */
    }
    return -EINVAL;
}

static int recv_at(weft_receiver *rx, void *out, bool try, uint64_t deadline)
{
    weft_chan *c = weft__chan_of_receiver(rx);
    if (!c || (!out && c->elem_size))
        return -EINVAL;
    switch (c->flavor) {
    case CHAN_ARRAY:
        return try ? weft__chan_array_try_recv(c, out) : weft__chan_array_recv(c, out, deadline);
    case CHAN_LIST:
        return try ? weft__chan_list_try_recv(c, out) : weft__chan_list_recv(c, out, deadline);
    case CHAN_ZERO:
        return try ? weft__chan_zero_try_recv(c, out) : weft__chan_zero_recv(c, out, deadline);
    case CHAN_TIMER:
        return try ? weft__chan_timer_try_recv(c, out) : weft__chan_timer_recv(c, out, deadline);
    }
    return -EINVAL;
}

int weft_chan_send(weft_sender *tx, const void *msg)
{
    return send_at(tx, msg, false, WEFT_NO_DEADLINE);
}
int weft_chan_try_send(weft_sender *tx, const void *msg)
{
    return send_at(tx, msg, true, WEFT_NO_DEADLINE);
}
int weft_chan_send_timeout(weft_sender *tx, const void *msg, uint64_t timeout_ns)
{
    return send_at(tx, msg, false, weft_deadline_after(timeout_ns));
}
int weft_chan_recv(weft_receiver *rx, void *out)
{
    return recv_at(rx, out, false, WEFT_NO_DEADLINE);
}
int weft_chan_try_recv(weft_receiver *rx, void *out)
{
    return recv_at(rx, out, true, WEFT_NO_DEADLINE);
}
int weft_chan_recv_timeout(weft_receiver *rx, void *out, uint64_t timeout_ns)
{
    return recv_at(rx, out, false, weft_deadline_after(timeout_ns));
}

static size_t chan_len(const weft_chan *c)
{
    if (!c)
        return 0;
    switch (c->flavor) {
    case CHAN_ARRAY: return weft__chan_array_len(c);
    case CHAN_LIST: return weft__chan_list_len(c);
    case CHAN_ZERO: return 0;
    case CHAN_TIMER: return weft__chan_timer_ready(c);
    }
    return 0;
}

size_t weft_sender_len(const weft_sender *tx) { return chan_len(weft__chan_of_sender(tx)); }
size_t weft_receiver_len(const weft_receiver *rx) { return chan_len(weft__chan_of_receiver(rx)); }

/* A rendezvous channel is both empty and full (crossbeam's zero flavor): it holds
 * nothing, and a send cannot complete without a receiver. A timer holds at most
 * capacity messages (1, or 0 for never), so len == capacity is full there too. */
static bool chan_is_empty(const weft_chan *c) { return !c || chan_len(c) == 0; }
static bool chan_is_full(const weft_chan *c)
{
    if (!c || c->flavor == CHAN_LIST)
        return false;
    return c->flavor == CHAN_ZERO || chan_len(c) >= c->capacity;
}

bool weft_sender_is_empty(const weft_sender *tx) { return chan_is_empty(weft__chan_of_sender(tx)); }
bool weft_receiver_is_empty(const weft_receiver *rx)
{
    return chan_is_empty(weft__chan_of_receiver(rx));
}
bool weft_sender_is_full(const weft_sender *tx) { return chan_is_full(weft__chan_of_sender(tx)); }
bool weft_receiver_is_full(const weft_receiver *rx) { return chan_is_full(weft__chan_of_receiver(rx)); }

bool weft_sender_same_channel(const weft_sender *a, const weft_sender *b)
{
    weft_chan *c = weft__chan_of_sender(a);
    return c && c == weft__chan_of_sender(b);
}
bool weft_receiver_same_channel(const weft_receiver *a, const weft_receiver *b)
{
    weft_chan *c = weft__chan_of_receiver(a);
    return c && c == weft__chan_of_receiver(b);
}

size_t weft_sender_capacity(const weft_sender *tx)
{
    weft_chan *c = weft__chan_of_sender(tx);
    return c ? c->capacity : 0;
}
size_t weft_receiver_capacity(const weft_receiver *rx)
{
    weft_chan *c = weft__chan_of_receiver(rx);
    return c ? c->capacity : 0;
}

bool weft_sender_is_disconnected(const weft_sender *tx)
{
    weft_chan *c = weft__chan_of_sender(tx);
    /* Acquire: pairs with the last receiver's acq_rel decrement (snapshot). */
    return !c || atomic_load_explicit(&c->receivers, memory_order_acquire) == 0;
}
bool weft_receiver_is_disconnected(const weft_receiver *rx)
{
    weft_chan *c = weft__chan_of_receiver(rx);
    /* Acquire: as above, for the senders. */
    return !c || atomic_load_explicit(&c->senders, memory_order_acquire) == 0;
}

size_t weft_sender_count(const weft_sender *tx)
{
    weft_chan *c = weft__chan_of_sender(tx);
    /* Relaxed: an advisory snapshot. */
    return c ? atomic_load_explicit(&c->senders, memory_order_relaxed) : 0;
}
size_t weft_receiver_count(const weft_receiver *rx)
{
    weft_chan *c = weft__chan_of_receiver(rx);
    /* Relaxed: an advisory snapshot. */
    return c ? atomic_load_explicit(&c->receivers, memory_order_relaxed) : 0;
}

size_t weft__chan_live_blocks(const weft_receiver *rx)
{
    weft_chan *c = weft__chan_of_receiver(rx);
    return c && c->flavor == CHAN_LIST ? weft__chan_list_live_blocks_(c) : 0;
}
size_t weft__chan_live_slabs(const weft_receiver *rx)
{
    weft_chan *c = weft__chan_of_receiver(rx);
    return c && c->flavor == CHAN_LIST ? weft__chan_list_live_slabs_(c) : 0;
}
size_t weft__chan_slab_maps(const weft_receiver *rx)
{
    weft_chan *c = weft__chan_of_receiver(rx);
    return c && c->flavor == CHAN_LIST ? weft__chan_list_slab_maps_(c) : 0;
}
