/* Criterion: timer channels on their own (weft_chan_after, weft_chan_tick,
 * weft_chan_never) through the receiver calls: a message is its due time, never
 * delivered early and not much late; after delivers once in total, whatever the
 * clones; tick keeps its schedule and drops the ticks a slow receiver misses;
 * never never delivers; the snapshots; bad input. Select over timers is in
 * test_timer_select.c, many timers at once in test_timer_many.c. Test atomics are
 * relaxed: results are read after pthread_join. */
#include "timer_testlib.h"
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <weft/chan.h>

/* after(d) for several d: each recv returns the due time (created + d, give or take
 * the clock reads around the call), no earlier than it, and not much later. */
Test(timer, after_accuracy, .timeout = 60)
{
    static const uint64_t delays[] = {0, 1 * MS, 10 * MS, 30 * MS, 60 * MS};
    for (size_t k = 0; k < sizeof delays / sizeof delays[0]; k++) {
        uint64_t d = delays[k];
        uint64_t t0 = weft_time_now_ns();
        weft_receiver *rx;
        cr_assert_eq(weft_chan_after(d, &rx), 0);
        uint64_t t1 = weft_time_now_ns();
        uint64_t ts = 0;
        int r = k % 2 ? weft_chan_recv(rx, &ts) : weft_chan_recv_timeout(rx, &ts, 1000 * MS);
        uint64_t t2 = weft_time_now_ns();
        cr_assert_eq(r, 0, "after(%llu): %d", (unsigned long long)d, r);
        cr_assert(ts >= t0 + d && ts <= t1 + d, "the message is the due time");
        cr_assert_geq(t2, ts, "delivered before it was due");
        cr_assert_leq(t2 - ts, TIMER_LATE_NS, "after(%llu) late by %llu ns", (unsigned long long)d,
                      (unsigned long long)(t2 - ts));
        cr_assert_eq(weft_receiver_close(rx), 0);
    }
}

Test(timer, after_delivers_once, .timeout = 60)
{
    weft_receiver *rx;
    cr_assert_eq(weft_chan_after(20 * MS, &rx), 0);
    uint64_t ts;
    cr_assert_eq(weft_chan_try_recv(rx, &ts), -EAGAIN, "not due yet");
    cr_assert_eq(weft_chan_recv_timeout(rx, &ts, 1 * MS), -ETIMEDOUT, "not due yet");
    cr_assert_eq(weft_chan_recv_timeout(rx, &ts, 1000 * MS), 0);
    /* Spent: empty for ever, never disconnected (crossbeam's after). */
    cr_assert_eq(weft_chan_try_recv(rx, &ts), -EAGAIN);
    uint64_t t0 = weft_time_now_ns();
    cr_assert_eq(weft_chan_recv_timeout(rx, &ts, 20 * MS), -ETIMEDOUT);
    cr_assert_geq(weft_time_now_ns() - t0, 20 * MS, "a timed recv waits its timeout out");
    cr_assert_eq(weft_receiver_is_disconnected(rx), false);
    cr_assert_eq(weft_receiver_close(rx), 0);
}

/* A delay past the clock's range is a timer that never fires (no overflow). */
Test(timer, after_far_future, .timeout = 60)
{
    weft_receiver *rx;
    cr_assert_eq(weft_chan_after(UINT64_MAX, &rx), 0);
    uint64_t ts;
    cr_assert_eq(weft_chan_try_recv(rx, &ts), -EAGAIN);
    cr_assert_eq(weft_chan_recv_timeout(rx, &ts, 5 * MS), -ETIMEDOUT);
    cr_assert_eq(weft_receiver_close(rx), 0);
}

/* An on-time receiver gets the schedule exactly: ticks one period apart (the
 * messages are due times), each delivered no earlier than due. */
Test(timer, tick_period, .timeout = 60)
{
    const uint64_t p = 15 * MS;
    uint64_t t0 = weft_time_now_ns();
    weft_receiver *rx;
    cr_assert_eq(weft_chan_tick(p, &rx), 0);
    uint64_t prev = 0;
    for (int i = 0; i < 6; i++) {
        uint64_t ts;
        cr_assert_eq(weft_chan_recv(rx, &ts), 0);
        uint64_t now = weft_time_now_ns();
        cr_assert_geq(now, ts, "tick %d delivered early", i);
        cr_assert_leq(now - ts, TIMER_LATE_NS, "tick %d late", i);
        if (i == 0)
            cr_assert_geq(ts, t0 + p, "the first tick is one period from the start");
        else
            cr_assert_geq(ts - prev, p, "ticks %d and %d closer than a period", i - 1, i);
        prev = ts;
    }
    cr_assert_eq(weft_receiver_close(rx), 0);
}

/* A receiver that sleeps through ten periods finds one tick, not ten; the next is
 * due a period after it took that one. (Checked by due times, so that a stall of
 * this thread cannot fail it: a queued old tick would be due before the take.) */
Test(timer, tick_slow_receiver, .timeout = 60)
{
    const uint64_t p = 20 * MS;
    weft_receiver *rx;
    uint64_t t0 = weft_time_now_ns();
    cr_assert_eq(weft_chan_tick(p, &rx), 0);
    uint64_t t1 = weft_time_now_ns();
    tl_sleep_ns(10 * p);
    cr_assert_eq(weft_receiver_len(rx), 1, "one tick waits, not ten");
    uint64_t before = weft_time_now_ns(), ts;
    cr_assert_eq(weft_chan_try_recv(rx, &ts), 0);
    uint64_t after = weft_time_now_ns();
    cr_assert(ts >= t0 + p && ts <= t1 + p, "the tick taken is the first one");
    uint64_t next;
    int r = weft_chan_try_recv(rx, &next);
    if (r == -EAGAIN) {
        cr_assert_eq(weft_chan_recv(rx, &next), 0);
    } else {
        cr_assert_eq(r, 0);
        cr_assert_geq(weft_time_now_ns(), before + p, "a missed tick was queued");
    }
    uint64_t got = weft_time_now_ns();
    cr_assert(next >= before + p && next <= after + p,
              "the missed ticks were dropped and the next is due a period after the take");
    cr_assert_geq(got, next);
    /* The schedule goes on from there. */
    uint64_t ts2;
    cr_assert_eq(weft_chan_recv(rx, &ts2), 0);
    cr_assert_geq(ts2 - next, p);
    cr_assert_eq(weft_receiver_close(rx), 0);
}

/* Late by less than a period misses no tick: the schedule is kept. */
Test(timer, tick_keeps_schedule, .timeout = 60)
{
    const uint64_t p = 40 * MS;
    weft_receiver *rx;
    cr_assert_eq(weft_chan_tick(p, &rx), 0);
    uint64_t ts1, ts2, ts3;
    cr_assert_eq(weft_chan_recv(rx, &ts1), 0);
    tl_sleep_ns(p + p / 4); /* the next tick is a quarter period late, or more */
    cr_assert_eq(weft_chan_try_recv(rx, &ts2), 0);
    uint64_t took = weft_time_now_ns();
    cr_assert_eq(ts2, ts1 + p, "the message is the tick's due time");
    cr_assert_eq(weft_chan_recv(rx, &ts3), 0);
    if (took < ts1 + 2 * p) /* less than a period late (this thread was not stalled) */
        cr_assert_eq(ts3, ts1 + 2 * p, "a tick late by less than a period moved the schedule");
    else
        cr_assert_geq(ts3, ts2 + p);
    cr_assert_eq(weft_receiver_close(rx), 0);
}

Test(timer, never, .timeout = 60)
{
    weft_receiver *rx;
    cr_assert_eq(weft_chan_never(&rx), 0);
    uint64_t ts = 42;
    cr_assert_eq(weft_chan_try_recv(rx, &ts), -EAGAIN);
    uint64_t t0 = weft_time_now_ns();
    cr_assert_eq(weft_chan_recv_timeout(rx, &ts, 20 * MS), -ETIMEDOUT);
    cr_assert_geq(weft_time_now_ns() - t0, 20 * MS);
    cr_assert_eq(ts, 42, "nothing written");
    cr_assert_eq(weft_receiver_close(rx), 0);
}

/* The snapshots, and the handle calls. */
Test(timer, snapshots, .timeout = 60)
{
    weft_receiver *a, *t, *n;
    cr_assert_eq(weft_chan_after(30 * MS, &a), 0);
    cr_assert_eq(weft_chan_tick(30 * MS, &t), 0);
    cr_assert_eq(weft_chan_never(&n), 0);
    weft_receiver *rxs[] = {a, t, n};
    for (int i = 0; i < 3; i++) {
        weft_receiver *rx = rxs[i];
        cr_assert_eq(weft_receiver_len(rx), 0);
        cr_assert(weft_receiver_is_empty(rx));
        cr_assert_eq(weft_receiver_capacity(rx), rx == n ? 0u : 1u);
        cr_assert_eq(weft_receiver_is_full(rx), rx == n, "full: len == capacity");
        cr_assert_eq(weft_receiver_is_disconnected(rx), false, "a timer never disconnects");
        cr_assert_eq(weft_receiver_count(rx), 1);
        weft_receiver *c;
        cr_assert_eq(weft_receiver_clone(rx, &c), 0);
        cr_assert_eq(weft_receiver_count(rx), 2);
        cr_assert(weft_receiver_same_channel(rx, c));
        cr_assert_not(weft_receiver_same_channel(rx, rxs[(i + 1) % 3]));
        cr_assert_eq(weft_receiver_close(c), 0);
        cr_assert_eq(weft_receiver_count(rx), 1);
    }
    tl_sleep_ns(30 * MS);
    for (int i = 0; i < 2; i++) { /* after and tick: a message is due */
        cr_assert_eq(weft_receiver_len(rxs[i]), 1);
        cr_assert_not(weft_receiver_is_empty(rxs[i]));
        cr_assert(weft_receiver_is_full(rxs[i]));
        uint64_t ts;
        cr_assert_eq(weft_chan_try_recv(rxs[i], &ts), 0);
        cr_assert_eq(weft_receiver_len(rxs[i]), 0);
    }
    for (int i = 0; i < 3; i++)
        cr_assert_eq(weft_receiver_close(rxs[i]), 0);
}

/* Clones share the timer: of two threads receiving on clones of one after(),
 * exactly one gets its message. Each tries (blocking in short slices, or spinning
 * on try_recv) until it has it or the other thread has, or for two seconds. */
typedef struct race_arg {
    weft_receiver *rx;
    bool blocking;
    int result;
    uint64_t ts;
    _Atomic int *winners; /* relaxed: only a signal to stop trying */
} race_arg;

static void *race_recv(void *p)
{
    race_arg *a = p;
    uint64_t end = weft_time_now_ns() + 2000 * MS;
    do {
        a->result = a->blocking ? weft_chan_recv_timeout(a->rx, &a->ts, 5 * MS)
                                : weft_chan_try_recv(a->rx, &a->ts);
        if (a->result == 0) {
            atomic_fetch_add_explicit(a->winners, 1, memory_order_relaxed);
            break;
        }
    } while (!atomic_load_explicit(a->winners, memory_order_relaxed) &&
             weft_time_now_ns() < end);
    return NULL;
}

Test(timer, clones_race_after, .timeout = 60)
{
    for (int round = 0; round < 40; round++) {
        weft_receiver *rx[2];
        _Atomic int winners = 0;
        cr_assert_eq(weft_chan_after(2 * MS, &rx[0]), 0);
        cr_assert_eq(weft_receiver_clone(rx[0], &rx[1]), 0);
        race_arg a[2];
        pthread_t th[2];
        for (int i = 0; i < 2; i++) {
            a[i] = (race_arg){rx[i], (round + i) % 3 != 0, 1, 0, &winners};
            cr_assert_eq(pthread_create(&th[i], NULL, race_recv, &a[i]), 0);
        }
        for (int i = 0; i < 2; i++)
            cr_assert_eq(pthread_join(th[i], NULL), 0);
        int won = (a[0].result == 0) + (a[1].result == 0);
        cr_assert_eq(won, 1, "round %d: %d, %d", round, a[0].result, a[1].result);
        for (int i = 0; i < 2; i++)
            cr_assert(a[i].result == 0 || a[i].result == -ETIMEDOUT || a[i].result == -EAGAIN);
        cr_assert_eq(weft_receiver_close(rx[1]), 0);
        cr_assert_eq(weft_receiver_close(rx[0]), 0);
    }
}

/* A clone closed early does not end the timer; the last close frees it (ASan). */
Test(timer, close_order, .timeout = 60)
{
    weft_receiver *rx, *c;
    cr_assert_eq(weft_chan_after(1 * MS, &rx), 0);
    cr_assert_eq(weft_receiver_clone(rx, &c), 0);
    cr_assert_eq(weft_receiver_close(rx), 0);
    uint64_t ts;
    cr_assert_eq(weft_chan_recv_timeout(c, &ts, 1000 * MS), 0);
    cr_assert_eq(weft_receiver_close(c), 0);
}

Test(timer, bad_input, .timeout = 60)
{
    weft_receiver *rx = (weft_receiver *)0x1;
    cr_assert_eq(weft_chan_after(1, NULL), -EINVAL);
    cr_assert_eq(weft_chan_tick(1, NULL), -EINVAL);
    cr_assert_eq(weft_chan_never(NULL), -EINVAL);
    cr_assert_eq(weft_chan_tick(0, &rx), -EINVAL);
    cr_assert_eq(rx, (weft_receiver *)0x1, "*rx untouched on error");
    cr_assert_eq(weft_chan_after(0, &rx), 0);
    cr_assert_eq(weft_chan_recv(rx, NULL), -EINVAL);
    cr_assert_eq(weft_chan_try_recv(rx, NULL), -EINVAL);
    cr_assert_eq(weft_chan_recv_timeout(rx, NULL, 1), -EINVAL);
    weft_select_op op = {.kind = WEFT_SELECT_RECV, .rx = rx, .buf = NULL};
    cr_assert_eq(weft_try_select(&op, 1), -EINVAL, "an 8-byte message needs a buffer");
    cr_assert_eq(weft_try_select_ready(&op, 1), 0, "ready needs none");
    op.kind = WEFT_SELECT_SEND; /* a timer has no sender handle to name */
    cr_assert_eq(weft_try_select(&op, 1), -EINVAL);
    uint64_t ts;
    cr_assert_eq(weft_chan_recv(rx, &ts), 0, "still usable");
    cr_assert_eq(weft_receiver_close(rx), 0);
}
