/* Criterion: timer channels as select arms. A blocking select wakes for a timer arm
 * at its due time (no caller deadline needed), and a caller's deadline earlier than
 * every timer still ends it; the Go timeout idiom (a data channel beside after()),
 * a heartbeat tick in a select loop, timers in due order, never() arms (a select of
 * them only blocks, or times out), weft_select_ready on a timer (nothing taken),
 * biased and fair choice with timer arms. Test atomics are relaxed unless noted:
 * results are read after pthread_join. */
#include "timer_testlib.h"
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <weft/chan.h>

#define TS_RECV(r, b) {.kind = WEFT_SELECT_RECV, .rx = (r), .buf = (b)}

typedef struct ts_sender {
    weft_sender *tx;
    uint64_t delay_ns; /* before each message */
    int n;             /* messages 0..n-1, then close */
} ts_sender;

static void *ts_send_then_close(void *p)
{
    ts_sender *a = p;
    for (int i = 0; i < a->n; i++) {
        tl_sleep_ns(a->delay_ns);
        cr_assert_eq(weft_chan_send(a->tx, &i), 0);
    }
    cr_assert_eq(weft_sender_close(a->tx), 0);
    return NULL;
}

/* The Go idiom: select { case v := <-data: ...; case <-time.After(d): timeout }. */
Test(timer_select, timeout_beside_data, .timeout = 60)
{
    weft_sender *tx;
    weft_receiver *rx, *to;
    cr_assert_eq(weft_chan_open(sizeof(int), WEFT_UNBOUNDED, NULL, &tx, &rx), 0);
    /* Nothing arrives: a blocking select (no deadline of its own) returns the timer. */
    cr_assert_eq(weft_chan_after(30 * MS, &to), 0);
    int v;
    uint64_t ts;
    weft_select_op ops[2] = {TS_RECV(rx, &v), TS_RECV(to, &ts)};
    cr_assert_eq(weft_select(ops, 2), 1);
    uint64_t now = weft_time_now_ns();
    cr_assert_eq(ops[1].result, 0);
    cr_assert(now >= ts && now - ts <= TIMER_LATE_NS, "woken %lld ns after due",
              (long long)(now - ts));
    cr_assert_eq(weft_receiver_close(to), 0);
    /* The data comes first: the timer stays, unfired. */
    cr_assert_eq(weft_chan_after(2000 * MS, &to), 0);
    ops[1].rx = to;
    ts_sender s = {tx, 10 * MS, 1};
    weft_sender *keep;
    cr_assert_eq(weft_sender_clone(tx, &keep), 0); /* the thread closes its own */
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, ts_send_then_close, &s), 0);
    uint64_t t0 = weft_time_now_ns();
    cr_assert_eq(weft_select(ops, 2), 0);
    cr_assert_eq(v, 0);
    cr_assert_lt(weft_time_now_ns() - t0, 2000 * MS);
    cr_assert_eq(weft_chan_try_recv(to, &ts), -EAGAIN, "the timer did not fire");
    cr_assert_eq(pthread_join(th, NULL), 0);
    cr_assert_eq(weft_receiver_close(to), 0);
    cr_assert_eq(weft_sender_close(keep), 0);
    cr_assert_eq(weft_receiver_close(rx), 0);
}

/* The caller's deadline and the timers' due times: whichever comes first ends the
 * wait. */
Test(timer_select, deadline_versus_timer, .timeout = 60)
{
    weft_receiver *far, *near;
    cr_assert_eq(weft_chan_after(2000 * MS, &far), 0);
    uint64_t ts;
    weft_select_op op = TS_RECV(far, &ts);
    uint64_t t0 = weft_time_now_ns();
    cr_assert_eq(weft_select_timeout(&op, 1, 20 * MS), -ETIMEDOUT);
    uint64_t el = weft_time_now_ns() - t0;
    cr_assert(el >= 20 * MS && el < 20 * MS + TIMER_LATE_NS, "timed out after %llu ns",
              (unsigned long long)el);
    cr_assert_eq(weft_select_biased_timeout(&op, 1, 1 * MS), -ETIMEDOUT);
    cr_assert_eq(weft_try_select(&op, 1), -EAGAIN);
    cr_assert_eq(weft_select_timeout(&op, 1, 0), -ETIMEDOUT);
    cr_assert_eq(weft_chan_after(20 * MS, &near), 0);
    weft_select_op ops[2] = {TS_RECV(far, &ts), TS_RECV(near, &ts)};
    t0 = weft_time_now_ns();
    cr_assert_eq(weft_select_timeout(ops, 2, 5000 * MS), 1);
    el = weft_time_now_ns() - t0;
    cr_assert(el >= 19 * MS && el < 20 * MS + TIMER_LATE_NS, "woken after %llu ns",
              (unsigned long long)el);
    cr_assert_eq(weft_receiver_close(far), 0);
    cr_assert_eq(weft_receiver_close(near), 0);
}

/* Several afters in one select loop: each is chosen once, when due; with the
 * biased form listing them in due order, the timestamps come in order. */
#define ORD_N 5
Test(timer_select, afters_in_order, .timeout = 60)
{
    for (int biased = 0; biased < 2; biased++) {
        /* Due times 10, 35, 60, ... ms; listed in a scrambled order for the fair
         * form, in due order for the biased one. */
        static const int fair_order[ORD_N] = {3, 0, 4, 1, 2};
        weft_receiver *rx[ORD_N];
        uint64_t due[ORD_N], bufs[ORD_N];
        weft_select_op ops[ORD_N];
        for (int k = 0; k < ORD_N; k++) {
            int i = biased ? k : fair_order[k];
            cr_assert_eq(weft_chan_after((10 + 25 * (uint64_t)i) * MS, &rx[i]), 0);
            ops[k] = (weft_select_op)TS_RECV(rx[i], &bufs[k]);
        }
        for (int i = 0; i < ORD_N; i++)
            due[i] = UINT64_MAX;
        size_t n = ORD_N;
        uint64_t prev = 0;
        for (int got = 0; got < ORD_N; got++) {
            int k = biased ? weft_select_biased(ops, n) : weft_select(ops, n);
            uint64_t now = weft_time_now_ns();
            cr_assert(k >= 0 && (size_t)k < n && ops[k].result == 0, "select: %d", k);
            uint64_t ts = *(uint64_t *)ops[k].buf;
            cr_assert_geq(now, ts, "chosen before due");
            cr_assert_leq(now - ts, TIMER_LATE_NS);
            if (biased)
                cr_assert_gt(ts, prev, "timestamps out of order");
            prev = ts;
            for (int i = 0; i < ORD_N; i++)
                if (ops[k].rx == rx[i]) {
                    cr_assert_eq(due[i], UINT64_MAX, "timer %d chosen twice", i);
                    due[i] = ts;
                }
            for (size_t j = (size_t)k; j + 1 < n; j++) /* drop it, keeping the order */
                ops[j] = ops[j + 1];
            n--;
        }
        for (int i = 0; i < ORD_N; i++)
            cr_assert_neq(due[i], UINT64_MAX, "timer %d never chosen", i);
        for (int i = 0; i < ORD_N; i++)
            cr_assert_eq(weft_receiver_close(rx[i]), 0);
    }
}

/* A heartbeat: a tick beside a data channel, until the sender is done. */
Test(timer_select, heartbeat, .timeout = 60)
{
    const uint64_t p = 10 * MS;
    weft_sender *tx;
    weft_receiver *rx, *hb;
    cr_assert_eq(weft_chan_open(sizeof(int), 4, NULL, &tx, &rx), 0);
    cr_assert_eq(weft_chan_tick(p, &hb), 0);
    ts_sender s = {tx, 15 * MS, 6};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, ts_send_then_close, &s), 0);
    int v, next = 0, beats = 0;
    uint64_t ts, last_beat = 0;
    weft_select_op ops[2] = {TS_RECV(hb, &ts), TS_RECV(rx, &v)};
    size_t n = 2;
    for (;;) {
        int k = weft_select(ops, n);
        cr_assert(k == 0 || k == 1, "select: %d", k);
        if (k == 0) {
            cr_assert_geq(weft_time_now_ns(), ts);
            if (beats++)
                cr_assert_geq(ts - last_beat, p, "beats closer than a period");
            last_beat = ts;
        } else if (ops[1].result == 0) {
            cr_assert_eq(v, next++, "data out of order");
        } else {
            cr_assert_eq(ops[1].result, -EPIPE);
            break;
        }
    }
    cr_assert_eq(next, 6);
    cr_assert_geq(beats, 1, "no heartbeat during the exchange");
    cr_assert_eq(pthread_join(th, NULL), 0);
    cr_assert_eq(weft_receiver_close(hb), 0);
    cr_assert_eq(weft_receiver_close(rx), 0);
}

/* never() arms: never chosen; a select of them only times out (or blocks). */
static weft_receiver *nv_forever; /* a static root: the blocked thread outlives the test */
static _Atomic int nv_returned;

static void *nv_select_forever(void *p)
{
    (void)p;
    uint64_t ts;
    weft_select_op ops[2] = {TS_RECV(nv_forever, &ts), TS_RECV(nv_forever, &ts)};
    int k = weft_select(ops, 2);
    atomic_store_explicit(&nv_returned, k + 100, memory_order_relaxed);
    return NULL;
}

Test(timer_select, never_arms, .timeout = 60)
{
    weft_receiver *n1, *n2;
    cr_assert_eq(weft_chan_never(&n1), 0);
    cr_assert_eq(weft_chan_never(&n2), 0);
    uint64_t ts;
    weft_select_op ops[2] = {TS_RECV(n1, &ts), TS_RECV(n2, &ts)};
    cr_assert_eq(weft_try_select(ops, 2), -EAGAIN);
    cr_assert_eq(weft_try_select_biased(ops, 2), -EAGAIN);
    cr_assert_eq(weft_try_select_ready(ops, 2), -EAGAIN);
    uint64_t t0 = weft_time_now_ns();
    cr_assert_eq(weft_select_timeout(ops, 2, 20 * MS), -ETIMEDOUT);
    cr_assert_geq(weft_time_now_ns() - t0, 20 * MS);
    cr_assert_eq(weft_select_ready_timeout(ops, 2, 5 * MS), -ETIMEDOUT);
    /* Beside a data channel: the data wins when it comes. */
    weft_sender *tx;
    weft_receiver *rx;
    cr_assert_eq(weft_chan_open(sizeof(int), 0, NULL, &tx, &rx), 0);
    int v;
    weft_select_op mixed[3] = {TS_RECV(n1, &ts), TS_RECV(rx, &v), TS_RECV(n2, &ts)};
    ts_sender s = {tx, 20 * MS, 1};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, ts_send_then_close, &s), 0);
    cr_assert_eq(weft_select(mixed, 3), 1);
    cr_assert_eq(v, 0);
    cr_assert_eq(pthread_join(th, NULL), 0);
    cr_assert_eq(weft_receiver_close(rx), 0);
    cr_assert_eq(weft_receiver_close(n1), 0);
    cr_assert_eq(weft_receiver_close(n2), 0);
    /* Only never() arms and no deadline: the select blocks (for ever; the thread is
     * left blocked when the test process ends). */
    cr_assert_eq(weft_chan_never(&nv_forever), 0);
    pthread_t blocked;
    cr_assert_eq(pthread_create(&blocked, NULL, nv_select_forever, NULL), 0);
    cr_assert_eq(pthread_detach(blocked), 0);
    tl_sleep_ns(100 * MS);
    cr_assert_eq(atomic_load_explicit(&nv_returned, memory_order_relaxed), 0,
                 "a select of never() arms returned");
}

/* weft_select_ready on a timer: the index once due, and the message stays. */
Test(timer_select, ready, .timeout = 60)
{
    weft_sender *tx;
    weft_receiver *rx, *to;
    cr_assert_eq(weft_chan_open(sizeof(int), 1, NULL, &tx, &rx), 0);
    cr_assert_eq(weft_chan_after(30 * MS, &to), 0);
    weft_select_op ops[2] = {TS_RECV(rx, NULL), TS_RECV(to, NULL)};
    cr_assert_eq(weft_try_select_ready(ops, 2), -EAGAIN);
    cr_assert_eq(weft_select_ready_timeout(ops, 2, 1 * MS), -ETIMEDOUT);
    cr_assert_eq(weft_select_ready(ops, 2), 1);
    cr_assert_eq(weft_select_ready(ops, 2), 1, "nothing was taken");
    cr_assert_eq(weft_receiver_len(to), 1);
    uint64_t ts;
    cr_assert_eq(weft_chan_try_recv(to, &ts), 0);
    cr_assert_eq(weft_try_select_ready(ops, 2), -EAGAIN, "a spent after is never ready");
    cr_assert_eq(weft_sender_close(tx), 0);
    cr_assert_eq(weft_try_select_ready(ops, 2), 0, "the disconnected data op is");
    cr_assert_eq(weft_receiver_close(rx), 0);
    cr_assert_eq(weft_receiver_close(to), 0);
}

/* A tick of 1 ns is due at every look: a ready arm for the choice tests. */
Test(timer_select, biased_and_fair, .timeout = 60)
{
    weft_sender *tx;
    weft_receiver *rx, *t1, *t2;
    cr_assert_eq(weft_chan_open(sizeof(int), WEFT_UNBOUNDED, NULL, &tx, &rx), 0);
    cr_assert_eq(weft_chan_tick(1, &t1), 0);
    cr_assert_eq(weft_chan_tick(1, &t2), 0);
    int v = 7;
    uint64_t ts;
    cr_assert_eq(weft_chan_send(tx, &v), 0);
    tl_sleep_ns(1 * MS);
    weft_select_op data_first[2] = {TS_RECV(rx, &v), TS_RECV(t1, &ts)};
    cr_assert_eq(weft_select_biased(data_first, 2), 0);
    cr_assert_eq(weft_chan_send(tx, &v), 0);
    weft_select_op timer_first[2] = {TS_RECV(t1, &ts), TS_RECV(rx, &v)};
    cr_assert_eq(weft_select_biased(timer_first, 2), 0);
    cr_assert_eq(weft_chan_try_recv(rx, &v), 0, "the data stayed");
    /* Fair: two ticks, then one tick named twice; each arm wins its share. */
    for (int dup = 0; dup < 2; dup++) {
        weft_select_op ops[2] = {TS_RECV(t1, &ts), TS_RECV(dup ? t1 : t2, &ts)};
        int wins[2] = {0, 0};
        for (int i = 0; i < 2000; i++) {
            tl_sleep_ns(1000); /* both due again */
            int k = weft_select(ops, 2);
            cr_assert(k == 0 || k == 1, "select: %d", k);
            wins[k]++;
        }
        cr_assert(wins[0] >= 600 && wins[1] >= 600, "dup %d: %d / %d", dup, wins[0], wins[1]);
    }
    cr_assert_eq(weft_sender_close(tx), 0);
    cr_assert_eq(weft_receiver_close(rx), 0);
    cr_assert_eq(weft_receiver_close(t1), 0);
    cr_assert_eq(weft_receiver_close(t2), 0);
}
