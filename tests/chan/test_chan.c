/* Criterion suite for weft channels (weft/chan.h), run on every flavor: unbounded,
 * bounded(1), bounded(16) and rendezvous. Semantics, errors, disconnection, the drop
 * callback, snapshots, select, memory after a burst, odd message sizes, and that
 * waiting burns no CPU (many threads at once: stress_chan.c). Test atomics are relaxed: results are read
 * after pthread_join, and the `done` flags only check that a call has not returned. */
#include "chan_internal.h"
#include <criterion/criterion.h>
#include <pthread.h>
#include <sys/resource.h>
#include <time.h>
#include <weft/chan.h>
#include <weft/sync.h>

#define MS 1000000ull

static const size_t ch_caps[] = {WEFT_UNBOUNDED, 1, 16, 0};
#define CH_NCAPS (sizeof ch_caps / sizeof ch_caps[0])

static void ch_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void ch_open(size_t cap, weft_sender **tx, weft_receiver **rx)
{
    cr_assert_eq(weft_chan_open(sizeof(int), cap, NULL, tx, rx), 0);
}

/* ---- FIFO from one producer */
typedef struct ch_prod {
    weft_sender *tx;
    int n;
    int result;
    _Atomic int done;
} ch_prod;

static void *ch_producer(void *arg)
{
    ch_prod *p = arg;
    p->result = 0;
    for (int i = 0; i < p->n && p->result == 0; i++)
        p->result = weft_chan_send(p->tx, &i);
    atomic_store_explicit(&p->done, 1, memory_order_relaxed);
    return NULL;
}

Test(chan, fifo_per_producer)
{
    for (size_t k = 0; k < CH_NCAPS; k++) {
        weft_sender *tx;
        weft_receiver *rx;
        ch_open(ch_caps[k], &tx, &rx);
        ch_prod p = {.tx = tx, .n = 2000};
        pthread_t t;
        pthread_create(&t, NULL, ch_producer, &p);
        for (int i = 0; i < p.n; i++) {
            int v = -1;
            cr_assert_eq(weft_chan_recv(rx, &v), 0);
            cr_assert_eq(v, i, "cap %zu: got %d expected %d", ch_caps[k], v, i);
        }
        pthread_join(t, NULL);
        cr_assert_eq(p.result, 0);
        weft_sender_close(tx);
        weft_receiver_close(rx);
    }
}

Test(chan, try_would_block)
{
    for (size_t k = 0; k < CH_NCAPS; k++) {
        size_t cap = ch_caps[k];
        weft_sender *tx;
        weft_receiver *rx;
        ch_open(cap, &tx, &rx);
        int v = 7;
        cr_assert_eq(weft_chan_try_recv(rx, &v), -EAGAIN);
        if (cap == 0) {
            cr_assert_eq(weft_chan_try_send(tx, &v), -EAGAIN);
        } else if (cap != WEFT_UNBOUNDED) {
            for (size_t i = 0; i < cap; i++)
                cr_assert_eq(weft_chan_try_send(tx, &v), 0);
            cr_assert_eq(weft_chan_try_send(tx, &v), -EAGAIN);
            cr_assert_eq(weft_sender_len(tx), cap);
            cr_assert_eq(weft_chan_try_recv(rx, &v), 0);
            cr_assert_eq(weft_chan_try_send(tx, &v), 0);
        } else {
            for (int i = 0; i < 1000; i++)
                cr_assert_eq(weft_chan_try_send(tx, &i), 0);
            cr_assert_eq(weft_receiver_len(rx), 1000);
            for (int i = 0; i < 1000; i++) {
                cr_assert_eq(weft_chan_try_recv(rx, &v), 0);
                cr_assert_eq(v, i);
            }
            cr_assert_eq(weft_chan_try_recv(rx, &v), -EAGAIN);
        }
        weft_sender_close(tx);
        weft_receiver_close(rx);
    }
}

Test(chan, timeouts)
{
    for (size_t k = 0; k < CH_NCAPS; k++) {
        size_t cap = ch_caps[k];
        weft_sender *tx;
        weft_receiver *rx;
        ch_open(cap, &tx, &rx);
        int v = 1;
        uint64_t t0 = weft_time_now_ns();
        cr_assert_eq(weft_chan_recv_timeout(rx, &v, 20 * MS), -ETIMEDOUT);
        cr_assert_geq(weft_time_now_ns() - t0, 20 * MS);
        cr_assert_eq(weft_chan_recv_timeout(rx, &v, 0), -ETIMEDOUT);
        if (cap != WEFT_UNBOUNDED) {
            for (size_t i = 0; i < cap; i++)
                cr_assert_eq(weft_chan_send(tx, &v), 0);
            t0 = weft_time_now_ns();
            cr_assert_eq(weft_chan_send_timeout(tx, &v, 20 * MS), -ETIMEDOUT);
            cr_assert_geq(weft_time_now_ns() - t0, 20 * MS);
            cr_assert_eq(weft_chan_send_timeout(tx, &v, 0), -ETIMEDOUT);
            cr_assert_eq(weft_sender_len(tx), cap);
        } else {
            cr_assert_eq(weft_chan_send_timeout(tx, &v, 0), 0);
        }
        weft_sender_close(tx);
        weft_receiver_close(rx);
    }
}

/* ---- drop counting */
typedef struct ch_drops {
    _Atomic int count;
    _Atomic long sum;
} ch_drops;

static void ch_drop(void *ctx, void *msg)
{
    ch_drops *d = ctx;
    atomic_fetch_add_explicit(&d->count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&d->sum, *(int *)msg, memory_order_relaxed);
}

Test(chan, disconnect_receivers_gone)
{
    for (size_t k = 0; k < CH_NCAPS; k++) {
        size_t cap = ch_caps[k];
        ch_drops d = {0, 0};
        weft_chan_options o = {ch_drop, &d};
        weft_sender *tx;
        weft_receiver *rx;
        cr_assert_eq(weft_chan_open(sizeof(int), cap, &o, &tx, &rx), 0);
        int v = 5;
        if (cap != 0)
            cr_assert_eq(weft_chan_send(tx, &v), 0);
        cr_assert_not(weft_sender_is_disconnected(tx));
        cr_assert_eq(weft_receiver_close(rx), 0);
        cr_assert(weft_sender_is_disconnected(tx));
        v = 100;
        cr_assert_eq(weft_chan_send(tx, &v), -EPIPE);
        cr_assert_eq(weft_chan_try_send(tx, &v), -EPIPE);
        cr_assert_eq(weft_chan_send_timeout(tx, &v, MS), -EPIPE);
        /* a deadline already passed still reports the disconnection */
        cr_assert_eq(weft_chan_send_timeout(tx, &v, 0), -EPIPE);
        cr_assert_eq(v, 100);
        cr_assert_eq(atomic_load_explicit(&d.count, memory_order_relaxed), 0);
        cr_assert_eq(weft_sender_close(tx), 0);
        /* only the message sent before the disconnection is dropped */
        cr_assert_eq(atomic_load_explicit(&d.count, memory_order_relaxed), cap != 0 ? 1 : 0);
        cr_assert_eq(atomic_load_explicit(&d.sum, memory_order_relaxed), cap != 0 ? 5 : 0);
    }
}

Test(chan, disconnect_senders_gone_drain_first)
{
    for (size_t k = 0; k < CH_NCAPS; k++) {
        size_t cap = ch_caps[k];
        weft_sender *tx;
        weft_receiver *rx;
        ch_open(cap, &tx, &rx);
        int n = cap == 0 ? 0 : cap == 1 ? 1 : 3;
        for (int i = 0; i < n; i++)
            cr_assert_eq(weft_chan_send(tx, &i), 0);
        cr_assert_not(weft_receiver_is_disconnected(rx));
        cr_assert_eq(weft_sender_close(tx), 0);
        cr_assert(weft_receiver_is_disconnected(rx));
        int v;
        for (int i = 0; i < n; i++) {
            cr_assert_eq(weft_chan_recv(rx, &v), 0);
            cr_assert_eq(v, i);
        }
        cr_assert_eq(weft_chan_recv(rx, &v), -EPIPE);
        cr_assert_eq(weft_chan_try_recv(rx, &v), -EPIPE);
        cr_assert_eq(weft_chan_recv_timeout(rx, &v, MS), -EPIPE);
        /* a deadline already passed still reports the disconnection (a blocking
         * receive's first looks at a bounded channel skip the senders' index, which
         * carries the mark: the verdict before a timeout must not) */
        cr_assert_eq(weft_chan_recv_timeout(rx, &v, 0), -EPIPE);
        weft_receiver_close(rx);
    }
}

typedef struct ch_blocked {
    weft_sender *tx;
    weft_receiver *rx;
    int result;
    _Atomic int done;
} ch_blocked;

static void *ch_blocked_recv(void *arg)
{
    ch_blocked *b = arg;
    int v;
    b->result = weft_chan_recv(b->rx, &v);
    atomic_store_explicit(&b->done, 1, memory_order_relaxed);
    return NULL;
}

static void *ch_blocked_send(void *arg)
{
    ch_blocked *b = arg;
    int v = 9;
    b->result = weft_chan_send(b->tx, &v);
    atomic_store_explicit(&b->done, 1, memory_order_relaxed);
    return NULL;
}

Test(chan, blocked_recv_wakes_on_disconnect)
{
    for (size_t k = 0; k < CH_NCAPS; k++) {
        ch_blocked b = {0};
        ch_open(ch_caps[k], &b.tx, &b.rx);
        pthread_t t;
        pthread_create(&t, NULL, ch_blocked_recv, &b);
        ch_sleep_ms(30);
        cr_assert_eq(atomic_load_explicit(&b.done, memory_order_relaxed), 0);
        weft_sender_close(b.tx);
        pthread_join(t, NULL);
        cr_assert_eq(b.result, -EPIPE);
        weft_receiver_close(b.rx);
    }
}

Test(chan, blocked_send_wakes_on_disconnect)
{
    for (size_t k = 1; k < CH_NCAPS; k++) { /* not unbounded: it never blocks */
        size_t cap = ch_caps[k];
        ch_blocked b = {0};
        ch_open(cap, &b.tx, &b.rx);
        int v = 0;
        for (size_t i = 0; i < cap; i++)
            cr_assert_eq(weft_chan_send(b.tx, &v), 0);
        pthread_t t;
        pthread_create(&t, NULL, ch_blocked_send, &b);
        ch_sleep_ms(30);
        cr_assert_eq(atomic_load_explicit(&b.done, memory_order_relaxed), 0);
        weft_receiver_close(b.rx);
        pthread_join(t, NULL);
        cr_assert_eq(b.result, -EPIPE);
        weft_sender_close(b.tx);
    }
}

Test(chan, rendezvous_hands_off)
{
    ch_blocked b = {0};
    ch_open(0, &b.tx, &b.rx);
    int v = 3;
    cr_assert_eq(weft_chan_try_send(b.tx, &v), -EAGAIN);
    pthread_t t;
    pthread_create(&t, NULL, ch_blocked_send, &b);
    ch_sleep_ms(30);
    /* no receiver took it: the send has not completed */
    cr_assert_eq(atomic_load_explicit(&b.done, memory_order_relaxed), 0);
    cr_assert_eq(weft_sender_len(b.tx), 0);
    cr_assert_eq(weft_chan_recv(b.rx, &v), 0);
    cr_assert_eq(v, 9);
    pthread_join(t, NULL);
    cr_assert_eq(b.result, 0);
    /* a waiting receiver makes try_send succeed */
    b.done = 0;
    pthread_create(&t, NULL, ch_blocked_recv, &b);
    int r;
    v = 4;
    while ((r = weft_chan_try_send(b.tx, &v)) == -EAGAIN)
        ch_sleep_ms(1);
    cr_assert_eq(r, 0);
    pthread_join(t, NULL);
    cr_assert_eq(b.result, 0);
    weft_sender_close(b.tx);
    weft_receiver_close(b.rx);
}

Test(chan, drop_once_per_undelivered)
{
    for (size_t k = 0; k < CH_NCAPS; k++) {
        size_t cap = ch_caps[k];
        if (cap == 0)
            continue;
        size_t n = cap == WEFT_UNBOUNDED ? 100 : cap; /* 100: several blocks */
        ch_drops d = {0, 0};
        weft_chan_options o = {ch_drop, &d};
        weft_sender *tx;
        weft_receiver *rx;
        cr_assert_eq(weft_chan_open(sizeof(int), cap, &o, &tx, &rx), 0);
        long sum = 0;
        for (size_t i = 0; i < n; i++) {
            int v = (int)i + 1;
            cr_assert_eq(weft_chan_send(tx, &v), 0);
            sum += v;
        }
        int v;
        cr_assert_eq(weft_chan_recv(rx, &v), 0);
        sum -= v;
        weft_receiver_close(rx);
        cr_assert_eq(atomic_load_explicit(&d.count, memory_order_relaxed), 0);
        weft_sender_close(tx);
        cr_assert_eq(atomic_load_explicit(&d.count, memory_order_relaxed), (int)n - 1);
        cr_assert_eq(atomic_load_explicit(&d.sum, memory_order_relaxed), sum);
    }
}

Test(chan, clone_close_counts)
{
    for (size_t k = 0; k < CH_NCAPS; k++) {
        weft_sender *tx, *tx2;
        weft_receiver *rx, *rx2;
        ch_open(ch_caps[k], &tx, &rx);
        cr_assert_eq(weft_sender_count(tx), 1);
        cr_assert_eq(weft_sender_clone(tx, &tx2), 0);
        cr_assert_eq(weft_receiver_clone(rx, &rx2), 0);
        cr_assert_eq(weft_sender_count(tx2), 2);
        cr_assert_eq(weft_receiver_count(rx), 2);
        cr_assert_eq(weft_sender_close(tx), 0);
        cr_assert_eq(weft_sender_count(tx2), 1);
        cr_assert_not(weft_receiver_is_disconnected(rx));
        cr_assert_eq(weft_receiver_close(rx), 0);
        cr_assert_not(weft_sender_is_disconnected(tx2));
        int v = 1;
        if (ch_caps[k] != 0) {
            cr_assert_eq(weft_chan_send(tx2, &v), 0);
            cr_assert_eq(weft_chan_recv(rx2, &v), 0);
        }
        cr_assert_eq(weft_sender_close(tx2), 0);
        cr_assert(weft_receiver_is_disconnected(rx2));
        cr_assert_eq(weft_chan_recv(rx2, &v), -EPIPE);
        cr_assert_eq(weft_receiver_close(rx2), 0);
    }
}

Test(chan, snapshots)
{
    for (size_t k = 0; k < CH_NCAPS; k++) {
        size_t cap = ch_caps[k];
        weft_sender *tx;
        weft_receiver *rx;
        ch_open(cap, &tx, &rx);
        cr_assert_eq(weft_sender_capacity(tx), cap);
        cr_assert_eq(weft_receiver_capacity(rx), cap);
        cr_assert_eq(weft_sender_len(tx), 0);
        cr_assert_eq(weft_receiver_len(rx), 0);
        if (cap != 0) {
            int v = 1;
            cr_assert_eq(weft_chan_send(tx, &v), 0);
            cr_assert_eq(weft_sender_len(tx), 1);
            cr_assert_eq(weft_receiver_len(rx), 1);
            cr_assert_eq(weft_chan_recv(rx, &v), 0);
            cr_assert_eq(weft_receiver_len(rx), 0);
        }
        cr_assert_not(weft_sender_is_disconnected(tx));
        cr_assert_not(weft_receiver_is_disconnected(rx));
        weft_sender_close(tx);
        weft_receiver_close(rx);
    }
    /* len across block boundaries of the unbounded flavor */
    weft_sender *tx;
    weft_receiver *rx;
    ch_open(WEFT_UNBOUNDED, &tx, &rx);
    for (int i = 0; i < 200; i++) {
        cr_assert_eq(weft_chan_send(tx, &i), 0);
        cr_assert_eq(weft_receiver_len(rx), (size_t)i + 1);
    }
    for (int i = 0; i < 200; i++) {
        int v;
        cr_assert_eq(weft_chan_recv(rx, &v), 0);
        cr_assert_eq(weft_receiver_len(rx), (size_t)(199 - i));
    }
    weft_sender_close(tx);
    weft_receiver_close(rx);
}

static void *ch_producer_closes(void *arg)
{
    ch_prod *p = arg;
    ch_producer(p);
    weft_sender_close(p->tx);
    return NULL;
}

Test(chan, foreach_stops_after_drain)
{
    for (size_t k = 0; k < CH_NCAPS; k++) {
        weft_sender *tx;
        weft_receiver *rx;
        ch_open(ch_caps[k], &tx, &rx);
        ch_prod p = {.tx = tx, .n = 500};
        pthread_t t;
        pthread_create(&t, NULL, ch_producer_closes, &p);
        int v, expect = 0;
        WEFT_CHAN_FOREACH(rx, v)
        {
            cr_assert_eq(v, expect);
            expect++;
        }
        cr_assert_eq(expect, 500);
        pthread_join(t, NULL);
        weft_receiver_close(rx);
    }
}

Test(chan, bad_input)
{
    weft_sender *tx;
    weft_receiver *rx;
    cr_assert_eq(weft_chan_open(4, 1, NULL, NULL, &rx), -EINVAL);
    cr_assert_eq(weft_chan_open(4, 1, NULL, &tx, NULL), -EINVAL);
    cr_assert_eq(weft_chan_open(16, SIZE_MAX / 8, NULL, &tx, &rx), -EINVAL);
    cr_assert_eq(weft_sender_clone(NULL, &tx), -EINVAL);
    cr_assert_eq(weft_receiver_clone(NULL, &rx), -EINVAL);
    cr_assert_eq(weft_sender_close(NULL), -EINVAL);
    cr_assert_eq(weft_receiver_close(NULL), -EINVAL);
    int v = 0;
    cr_assert_eq(weft_chan_send(NULL, &v), -EINVAL);
    cr_assert_eq(weft_chan_try_send(NULL, &v), -EINVAL);
    cr_assert_eq(weft_chan_send_timeout(NULL, &v, MS), -EINVAL);
    cr_assert_eq(weft_chan_recv(NULL, &v), -EINVAL);
    cr_assert_eq(weft_chan_try_recv(NULL, &v), -EINVAL);
    cr_assert_eq(weft_chan_recv_timeout(NULL, &v, MS), -EINVAL);
    cr_assert_eq(weft_sender_len(NULL), 0);
    cr_assert_eq(weft_receiver_capacity(NULL), 0);
    cr_assert_eq(weft_sender_count(NULL), 0);
    for (size_t k = 0; k < CH_NCAPS; k++) {
        ch_open(ch_caps[k], &tx, &rx);
        cr_assert_eq(weft_chan_send(tx, NULL), -EINVAL);
        cr_assert_eq(weft_chan_try_send(tx, NULL), -EINVAL);
        cr_assert_eq(weft_chan_recv(rx, NULL), -EINVAL);
        cr_assert_eq(weft_chan_try_recv(rx, NULL), -EINVAL);
        cr_assert_eq(weft_sender_clone(tx, NULL), -EINVAL);
        cr_assert_eq(weft_receiver_clone(rx, NULL), -EINVAL);
        /* a receiver is not a sender */
        cr_assert_eq(weft_chan_send((weft_sender *)rx, &v), -EINVAL);
        weft_sender_close(tx);
        weft_receiver_close(rx);
    }
    cr_assert_eq(weft_select(NULL, 1), -EINVAL);
    weft_select_op op = {WEFT_SELECT_RECV, NULL, NULL, &v, 0};
    cr_assert_eq(weft_select(&op, 0), -EINVAL);
    cr_assert_eq(weft_select(&op, 1), -EINVAL);
    ch_open(1, &tx, &rx);
    op.rx = rx;
    op.buf = NULL;
    cr_assert_eq(weft_try_select(&op, 1), -EINVAL);
    op.kind = WEFT_SELECT_SEND; /* .tx missing */
    op.buf = &v;
    cr_assert_eq(weft_try_select(&op, 1), -EINVAL);
    op.kind = (weft_select_kind)7;
    cr_assert_eq(weft_try_select(&op, 1), -EINVAL);
    weft_sender_close(tx);
    weft_receiver_close(rx);
}

/* ---- select */
Test(chan, select_picks_ready)
{
    for (size_t k = 0; k < CH_NCAPS; k++) {
        size_t cap = ch_caps[k];
        if (cap == 0)
            continue;
        weft_sender *tx[3];
        weft_receiver *rx[3];
        int buf[3] = {0};
        weft_select_op ops[3];
        for (int i = 0; i < 3; i++) {
            ch_open(cap, &tx[i], &rx[i]);
            ops[i] = (weft_select_op){WEFT_SELECT_RECV, NULL, rx[i], &buf[i], 99};
        }
        cr_assert_eq(weft_try_select(ops, 3), -EAGAIN);
        cr_assert_eq(weft_try_select_biased(ops, 3), -EAGAIN);
        uint64_t t0 = weft_time_now_ns();
        cr_assert_eq(weft_select_timeout(ops, 3, 20 * MS), -ETIMEDOUT);
        cr_assert_geq(weft_time_now_ns() - t0, 20 * MS);
        cr_assert_eq(weft_select_biased_timeout(ops, 3, MS), -ETIMEDOUT);
        int v = 42;
        cr_assert_eq(weft_chan_send(tx[1], &v), 0);
        cr_assert_eq(weft_select(ops, 3), 1);
        cr_assert_eq(ops[1].result, 0);
        cr_assert_eq(buf[1], 42);
        cr_assert_eq(weft_receiver_len(rx[1]), 0);
        /* biased: the first ready wins */
        v = 1;
        cr_assert_eq(weft_chan_send(tx[1], &v), 0);
        v = 2;
        cr_assert_eq(weft_chan_send(tx[2], &v), 0);
        cr_assert_eq(weft_select_biased(ops, 3), 1);
        cr_assert_eq(buf[1], 1);
        cr_assert_eq(weft_try_select_biased(ops, 3), 2);
        cr_assert_eq(buf[2], 2);
        /* a disconnected op is ready with -EPIPE */
        weft_sender_close(tx[0]);
        cr_assert_eq(weft_select(ops, 3), 0);
        cr_assert_eq(ops[0].result, -EPIPE);
        /* send ops */
        weft_select_op sops[2] = {{WEFT_SELECT_SEND, tx[1], NULL, &v, 99},
                                  {WEFT_SELECT_SEND, tx[2], NULL, &v, 99}};
        v = 77;
        cr_assert_geq(weft_try_select(sops, 2), 0);
        cr_assert_eq(weft_receiver_len(rx[1]) + weft_receiver_len(rx[2]), 1);
        for (int i = 0; i < 3; i++) {
            if (i)
                weft_sender_close(tx[i]);
            weft_receiver_close(rx[i]);
        }
    }
}

Test(chan, select_many_ops)
{
    enum { N = 40 };
    weft_sender *tx[N];
    weft_receiver *rx[N];
    int buf[N];
    weft_select_op ops[N];
    for (int i = 0; i < N; i++) {
        ch_open(i % 2 ? 4 : WEFT_UNBOUNDED, &tx[i], &rx[i]);
        ops[i] = (weft_select_op){WEFT_SELECT_RECV, NULL, rx[i], &buf[i], 99};
    }
    cr_assert_eq(weft_select_timeout(ops, N, MS), -ETIMEDOUT);
    int v = 31;
    cr_assert_eq(weft_chan_send(tx[31], &v), 0);
    cr_assert_eq(weft_select(ops, N), 31);
    cr_assert_eq(buf[31], 31);
    for (int i = 0; i < N; i++) {
        weft_sender_close(tx[i]);
        weft_receiver_close(rx[i]);
    }
}

typedef struct ch_delayed {
    weft_sender *tx;
    int value;
    int result;
} ch_delayed;

static void *ch_delayed_send(void *arg)
{
    ch_delayed *d = arg;
    ch_sleep_ms(30);
    d->result = weft_chan_send(d->tx, &d->value);
    return NULL;
}

Test(chan, select_blocks_until_ready)
{
    for (size_t k = 0; k < CH_NCAPS; k++) {
        size_t cap = ch_caps[k];
        weft_sender *tx[2];
        weft_receiver *rx[2];
        int buf[2] = {0};
        weft_select_op ops[2];
        for (int i = 0; i < 2; i++) {
            ch_open(cap, &tx[i], &rx[i]);
            ops[i] = (weft_select_op){WEFT_SELECT_RECV, NULL, rx[i], &buf[i], 99};
        }
        ch_delayed d = {tx[1], 1234, -1};
        pthread_t t;
        pthread_create(&t, NULL, ch_delayed_send, &d);
        cr_assert_eq(weft_select(ops, 2), 1, "cap %zu", cap);
        cr_assert_eq(ops[1].result, 0);
        cr_assert_eq(buf[1], 1234);
        pthread_join(t, NULL);
        cr_assert_eq(d.result, 0);
        for (int i = 0; i < 2; i++) {
            weft_sender_close(tx[i]);
            weft_receiver_close(rx[i]);
        }
    }
}

Test(chan, select_rendezvous_partner)
{
    weft_sender *tx;
    weft_receiver *rx;
    ch_open(0, &tx, &rx);
    int v = 0;
    weft_select_op op = {WEFT_SELECT_RECV, NULL, rx, &v, 99};
    cr_assert_eq(weft_try_select(&op, 1), -EAGAIN);
    /* a sender blocked in send is a ready partner */
    ch_blocked b = {.tx = tx};
    pthread_t t;
    pthread_create(&t, NULL, ch_blocked_send, &b);
    cr_assert_eq(weft_select(&op, 1), 0);
    cr_assert_eq(v, 9);
    pthread_join(t, NULL);
    cr_assert_eq(b.result, 0);
    /* a select blocked on send is completed by a receiver */
    b.rx = rx;
    pthread_create(&t, NULL, ch_blocked_recv, &b);
    int s = 5;
    weft_select_op sop = {WEFT_SELECT_SEND, tx, NULL, &s, 99};
    cr_assert_eq(weft_select(&sop, 1), 0);
    cr_assert_eq(sop.result, 0);
    pthread_join(t, NULL);
    cr_assert_eq(b.result, 0);
    /* disconnection wakes a blocked select with -EPIPE */
    b.done = 0;
    weft_sender *tx2;
    cr_assert_eq(weft_sender_clone(tx, &tx2), 0);
    weft_sender_close(tx);
    op.result = 99;
    weft_sender_close(tx2);
    cr_assert_eq(weft_select(&op, 1), 0);
    cr_assert_eq(op.result, -EPIPE);
    weft_receiver_close(rx);
}

static void *ch_close_later(void *arg)
{
    ch_sleep_ms(30);
    weft_sender_close(arg);
    return NULL;
}

Test(chan, select_wakes_on_disconnect)
{
    for (size_t k = 0; k < CH_NCAPS; k++) {
        weft_sender *tx;
        weft_receiver *rx;
        ch_open(ch_caps[k], &tx, &rx);
        int v;
        weft_select_op op = {WEFT_SELECT_RECV, NULL, rx, &v, 99};
        pthread_t t;
        pthread_create(&t, NULL, ch_close_later, tx);
        cr_assert_eq(weft_select(&op, 1), 0);
        cr_assert_eq(op.result, -EPIPE);
        pthread_join(t, NULL);
        weft_receiver_close(rx);
    }
}

/* ---- memory returns to baseline after a burst */
Test(chan, unbounded_frees_blocks)
{
    weft_sender *tx;
    weft_receiver *rx;
    cr_assert_eq(weft_chan_open(sizeof(size_t), WEFT_UNBOUNDED, NULL, &tx, &rx), 0);
    size_t n = 1000000;
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(weft_chan_send(tx, &i), 0);
    cr_assert_geq(weft__chan_live_blocks(rx), n / 31);
    for (size_t i = 0; i < n; i++) {
        size_t v;
        cr_assert_eq(weft_chan_recv(rx, &v), 0);
        if (v != i)
            cr_assert_eq(v, i);
    }
    cr_assert_leq(weft__chan_live_blocks(rx), 2, "%zu live blocks", weft__chan_live_blocks(rx));
    cr_assert_leq(weft__chan_live_slabs(rx), 1, "%zu slabs mapped", weft__chan_live_slabs(rx));
    weft_sender_close(tx);
    weft_receiver_close(rx);
}

/* ---- messages of odd sizes keep their bytes (the list's block layout: messages,
 * then state bytes; ASan catches a copy that strays past a slot) */
Test(chan, odd_sizes_keep_bytes)
{
    static const size_t sizes[] = {1, 3, 4, 8, 13, 40};
    static const size_t caps[] = {WEFT_UNBOUNDED, 7};
    for (size_t ci = 0; ci < sizeof caps / sizeof caps[0]; ci++) {
        for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
            size_t sz = sizes[si];
            weft_sender *tx;
            weft_receiver *rx;
            cr_assert_eq(weft_chan_open(sz, caps[ci], NULL, &tx, &rx), 0);
            unsigned char in[40], out[40];
            /* 100 messages: several list blocks; the bounded ring wraps. Send
             * ahead by at most 5 so the bounded channel never blocks. */
            size_t n = 100, sent = 0, got = 0;
            while (got < n) {
                while (sent < n && sent - got < 5) {
                    for (size_t b = 0; b < sz; b++)
                        in[b] = (unsigned char)(sent * 31 + b * 7 + 1);
                    cr_assert_eq(weft_chan_send(tx, in), 0);
                    sent++;
                }
                memset(out, 0xAA, sizeof out);
                cr_assert_eq(weft_chan_recv(rx, out), 0);
                for (size_t b = 0; b < sz; b++)
                    cr_assert_eq(out[b], (unsigned char)(got * 31 + b * 7 + 1),
                                 "size %zu msg %zu byte %zu", sz, got, b);
                for (size_t b = sz; b < sizeof out; b++)
                    cr_assert_eq(out[b], 0xAA, "size %zu: recv wrote past the message", sz);
                got++;
            }
            weft_sender_close(tx);
            weft_receiver_close(rx);
        }
    }
}

/* ---- waiting costs nothing */
typedef struct ch_cpu {
    weft_receiver *rx;
    int result;
    double cpu_ms;
} ch_cpu;

static double ch_thread_cpu_ms(void)
{
    struct rusage ru;
    getrusage(RUSAGE_THREAD, &ru);
    return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static void *ch_cpu_waiter(void *arg)
{
    ch_cpu *c = arg;
    int v;
    double t0 = ch_thread_cpu_ms();
    c->result = weft_chan_recv_timeout(c->rx, &v, 200 * MS);
    c->cpu_ms = ch_thread_cpu_ms() - t0;
    return NULL;
}

static void *ch_cpu_select_waiter(void *arg)
{
    ch_cpu *c = arg;
    int v;
    weft_select_op op = {WEFT_SELECT_RECV, NULL, c->rx, &v, 0};
    double t0 = ch_thread_cpu_ms();
    c->result = weft_select_timeout(&op, 1, 200 * MS);
    c->cpu_ms = ch_thread_cpu_ms() - t0;
    return NULL;
}

Test(chan, waiting_is_free)
{
    for (size_t k = 0; k < CH_NCAPS; k++) {
        weft_sender *tx;
        weft_receiver *rx;
        ch_open(ch_caps[k], &tx, &rx);
        ch_cpu c = {rx, 0, 0};
        pthread_t t;
        pthread_create(&t, NULL, ch_cpu_waiter, &c);
        pthread_join(t, NULL);
        cr_assert_eq(c.result, -ETIMEDOUT);
        cr_assert_lt(c.cpu_ms, 5.0, "cap %zu: %.2f ms CPU while blocked", ch_caps[k], c.cpu_ms);
        pthread_create(&t, NULL, ch_cpu_select_waiter, &c);
        pthread_join(t, NULL);
        cr_assert_eq(c.result, -ETIMEDOUT);
        cr_assert_lt(c.cpu_ms, 5.0, "cap %zu: %.2f ms CPU in select", ch_caps[k], c.cpu_ms);
        weft_sender_close(tx);
        weft_receiver_close(rx);
    }
}
