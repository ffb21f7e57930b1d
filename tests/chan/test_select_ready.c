/* Criterion: weft_select_ready and its try / timeout forms, every flavor. Ready
 * returns the index of an op that could complete without performing it (the
 * message stays in the channel, or with the rendezvous sender, for the follow-up
 * try op); it blocks until a message (or a partner) arrives; a disconnected op
 * counts as ready; -EAGAIN / -ETIMEDOUT when none is; NULL bufs are fine. A waiting
 * observer must not swallow the wake of a receiver blocked on the same channel.
 * Test atomics are relaxed: results are read after pthread_join. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <time.h>
#include <weft/chan.h>

#define MS 1000000ull

static const size_t rd_caps[] = {WEFT_UNBOUNDED, 1, 16, 0};
#define RD_NCAPS (sizeof rd_caps / sizeof rd_caps[0])

static void rd_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

typedef struct rd_arg {
    weft_sender *tx;
    weft_receiver *rx;
    long delay_ms;
    int value;
    int result;
    weft_select_op *ops;
    size_t n;
} rd_arg;

static void *rd_delayed_send(void *p)
{
    rd_arg *a = p;
    rd_sleep_ms(a->delay_ms);
    a->result = weft_chan_send(a->tx, &a->value);
    return NULL;
}

static void *rd_recv(void *p)
{
    rd_arg *a = p;
    a->result = weft_chan_recv_timeout(a->rx, &a->value, 5000 * MS);
    return NULL;
}

static void *rd_ready(void *p)
{
    rd_arg *a = p;
    a->result = weft_select_ready_timeout(a->ops, a->n, 5000 * MS);
    return NULL;
}

Test(select_ready, ready_does_not_take)
{
    for (size_t k = 0; k < RD_NCAPS; k++) {
        size_t cap = rd_caps[k];
        weft_sender *tx[2];
        weft_receiver *rx[2];
        for (int c = 0; c < 2; c++)
            cr_assert_eq(weft_chan_open(sizeof(int), cap, NULL, &tx[c], &rx[c]), 0);
        weft_select_op ops[2] = {
            {.kind = WEFT_SELECT_RECV, .rx = rx[0], .buf = NULL},
            {.kind = WEFT_SELECT_RECV, .rx = rx[1], .buf = NULL},
        };
        cr_assert_eq(weft_try_select_ready(ops, 2), -EAGAIN, "cap %zu", cap);
        cr_assert_eq(weft_select_ready_timeout(ops, 2, MS), -ETIMEDOUT, "cap %zu", cap);
        /* a message arrives on channel 1 later: blocking ready wakes for it */
        rd_arg a = {.tx = tx[1], .delay_ms = 30, .value = 42};
        pthread_t t;
        cr_assert_eq(pthread_create(&t, NULL, rd_delayed_send, &a), 0);
        cr_assert_eq(weft_select_ready(ops, 2), 1, "cap %zu", cap);
        if (cap != 0) {
            cr_assert_eq(pthread_join(t, NULL), 0);
            cr_assert_eq(weft_receiver_len(rx[1]), 1, "ready took the message");
            cr_assert_eq(weft_try_select_ready(ops, 2), 1);
        }
        int v = 0;
        cr_assert_eq(weft_chan_try_recv(rx[1], &v), 0, "cap %zu", cap);
        cr_assert_eq(v, 42);
        if (cap == 0)
            cr_assert_eq(pthread_join(t, NULL), 0);
        cr_assert_eq(a.result, 0);
        /* send side: ready while there is room (always, unbounded), or a receiver */
        weft_select_op sops[1] = {{.kind = WEFT_SELECT_SEND, .tx = tx[0], .buf = NULL}};
        if (cap == 0) {
            cr_assert_eq(weft_try_select_ready(sops, 1), -EAGAIN);
            rd_arg r = {.rx = rx[0]};
            cr_assert_eq(pthread_create(&t, NULL, rd_recv, &r), 0);
            cr_assert_eq(weft_select_ready(sops, 1), 0);
            v = 7;
            cr_assert_eq(weft_chan_try_send(tx[0], &v), 0);
            cr_assert_eq(pthread_join(t, NULL), 0);
            cr_assert(r.result == 0 && r.value == 7);
        } else {
            cr_assert_eq(weft_try_select_ready(sops, 1), 0);
            if (cap != WEFT_UNBOUNDED) {
                for (size_t i = 0; i < cap; i++)
                    cr_assert_eq(weft_chan_try_send(tx[0], &v), 0);
                cr_assert_eq(weft_try_select_ready(sops, 1), -EAGAIN);
                cr_assert_eq(weft_chan_try_recv(rx[0], &v), 0);
                cr_assert_eq(weft_try_select_ready(sops, 1), 0);
            }
        }
        while (weft_chan_try_recv(rx[0], &v) == 0) /* channel 0 empty again */
            ;
        /* disconnected counts as ready */
        cr_assert_eq(weft_sender_close(tx[1]), 0);
        cr_assert_eq(weft_select_ready_timeout(ops, 2, 1000 * MS), 1, "cap %zu", cap);
        cr_assert_eq(weft_chan_try_recv(rx[1], &v), -EPIPE);
        cr_assert_eq(weft_receiver_close(rx[1]), 0);
        cr_assert_eq(weft_sender_close(tx[0]), 0);
        cr_assert_eq(weft_receiver_close(rx[0]), 0);
    }
}

/* An observer asleep on a channel before a blocked receiver must not take the only
 * wake of the message: the receiver gets it. */
Test(select_ready, observer_does_not_swallow_wake)
{
    for (size_t k = 0; k < RD_NCAPS; k++) {
        size_t cap = rd_caps[k];
        weft_sender *tx;
        weft_receiver *rx, *rx2;
        cr_assert_eq(weft_chan_open(sizeof(int), cap, NULL, &tx, &rx), 0);
        cr_assert_eq(weft_receiver_clone(rx, &rx2), 0);
        weft_select_op ops[1] = {{.kind = WEFT_SELECT_RECV, .rx = rx, .buf = NULL}};
        rd_arg obs = {.ops = ops, .n = 1};
        rd_arg recv = {.rx = rx2};
        pthread_t to, tr;
        cr_assert_eq(pthread_create(&to, NULL, rd_ready, &obs), 0);
        rd_sleep_ms(50); /* the observer registers first */
        cr_assert_eq(pthread_create(&tr, NULL, rd_recv, &recv), 0);
        rd_sleep_ms(50);
        int v = 5;
        cr_assert_eq(weft_chan_send_timeout(tx, &v, 5000 * MS), 0, "cap %zu", cap);
        cr_assert_eq(pthread_join(tr, NULL), 0);
        cr_assert_eq(recv.result, 0, "cap %zu: the receiver missed its wake: %d", cap,
                     recv.result);
        cr_assert_eq(recv.value, 5);
        cr_assert_eq(weft_sender_close(tx), 0); /* ends the observer if still asleep */
        cr_assert_eq(pthread_join(to, NULL), 0);
        cr_assert_eq(obs.result, 0, "cap %zu", cap);
        cr_assert_eq(weft_receiver_close(rx2), 0);
        cr_assert_eq(weft_receiver_close(rx), 0);
    }
}

Test(select_ready, bad_input)
{
    cr_assert_eq(weft_select_ready(NULL, 1), -EINVAL);
    weft_select_op op = {.kind = WEFT_SELECT_RECV};
    cr_assert_eq(weft_try_select_ready(&op, 0), -EINVAL);
    cr_assert_eq(weft_try_select_ready(&op, 1), -EINVAL);
}
