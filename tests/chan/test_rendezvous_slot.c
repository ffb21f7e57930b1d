/* Criterion suite for the rendezvous channel's lone-waiter slot (chan/zero.c): what a
 * waiter sitting in the slot must still be to everyone else. A partner past its
 * deadline still meets it; a second waiter of its side, an observer, select and
 * disconnection all see it; a waiter that timed out is gone; messages above the
 * inline size go through the caller's buffer. The races (a timeout while being
 * claimed, many parties) are in stress_rendezvous_slot.c. Test atomics are relaxed:
 * results are read after pthread_join. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <weft/chan.h>
#include <weft/sync.h>

static void rs_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

typedef struct rs_big {
    unsigned char b[40]; /* above the inline size */
} rs_big;

typedef struct rs_party {
    weft_sender *tx;
    weft_receiver *rx;
    rs_big msg; /* sent, or received */
    int result;
} rs_party;

static void *rs_recv(void *arg)
{
    rs_party *p = arg;
    p->result = weft_chan_recv(p->rx, &p->msg);
    return NULL;
}

static void *rs_send(void *arg)
{
    rs_party *p = arg;
    p->result = weft_chan_send(p->tx, &p->msg);
    return NULL;
}

/* Wait until op (on its own) is possible: a partner waits (or disconnected). */
static void rs_until_ready(weft_select_op *op)
{
    while (weft_try_select_ready(op, 1) == -EAGAIN)
        rs_sleep_ms(1);
}

static void rs_open(size_t size, weft_sender **tx, weft_receiver **rx)
{
    cr_assert_eq(weft_chan_open(size, 0, NULL, tx, rx), 0);
}

Test(rendezvous_slot, expired_timeout_meets_waiter)
{
    weft_sender *tx;
    weft_receiver *rx;
    rs_open(sizeof(int), &tx, &rx);
    int v = 5;
    /* nobody waits: a zero timeout times out */
    cr_assert_eq(weft_chan_send_timeout(tx, &v, 0), -ETIMEDOUT);
    rs_party p = {.rx = rx};
    pthread_t t;
    pthread_create(&t, NULL, rs_recv, &p);
    weft_select_op op = {WEFT_SELECT_SEND, tx, NULL, &v, 0};
    rs_until_ready(&op);
    /* too late to wait, not to meet a receiver already waiting */
    cr_assert_eq(weft_chan_send_timeout(tx, &v, 0), 0);
    pthread_join(t, NULL);
    cr_assert_eq(p.result, 0);
    int got;
    memcpy(&got, p.msg.b, sizeof got);
    cr_assert_eq(got, 5);
    weft_sender_close(tx);
    weft_receiver_close(rx);
}

Test(rendezvous_slot, second_waiter_both_served)
{
    weft_sender *tx;
    weft_receiver *rx, *rx2;
    rs_open(sizeof(int), &tx, &rx);
    cr_assert_eq(weft_receiver_clone(rx, &rx2), 0);
    rs_party a = {.rx = rx}, b = {.rx = rx2};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, rs_recv, &a);
    rs_sleep_ms(20); /* a waits (in the slot), then b arrives and sends it to a list */
    pthread_create(&tb, NULL, rs_recv, &b);
    rs_sleep_ms(20);
    for (int i = 1; i <= 2; i++) {
        int r;
        while ((r = weft_chan_try_send(tx, &i)) == -EAGAIN)
            rs_sleep_ms(1);
        cr_assert_eq(r, 0);
    }
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    cr_assert_eq(a.result, 0);
    cr_assert_eq(b.result, 0);
    int va, vb;
    memcpy(&va, a.msg.b, sizeof va);
    memcpy(&vb, b.msg.b, sizeof vb);
    cr_assert_eq(va + vb, 3, "each receiver one message: got %d and %d", va, vb);
    /* both served, nobody waits: the fast path is open again and try finds nobody */
    int v = 3;
    cr_assert_eq(weft_chan_try_send(tx, &v), -EAGAIN);
    weft_sender_close(tx);
    weft_receiver_close(rx);
    weft_receiver_close(rx2);
}

Test(rendezvous_slot, withdrawn_waiter_is_gone)
{
    weft_sender *tx;
    weft_receiver *rx;
    rs_open(sizeof(int), &tx, &rx);
    int v = 0;
    cr_assert_eq(weft_chan_recv_timeout(rx, &v, 5000000), -ETIMEDOUT);
    v = 1;
    cr_assert_eq(weft_chan_try_send(tx, &v), -EAGAIN, "a timed-out receiver still took a message");
    cr_assert_eq(weft_chan_send_timeout(tx, &v, 5000000), -ETIMEDOUT);
    cr_assert_eq(weft_chan_try_recv(rx, &v), -EAGAIN, "a timed-out sender still gave a message");
    /* and the channel still works */
    rs_party p = {.tx = tx};
    memcpy(p.msg.b, &(int){7}, sizeof(int));
    pthread_t t;
    pthread_create(&t, NULL, rs_send, &p);
    cr_assert_eq(weft_chan_recv(rx, &v), 0);
    cr_assert_eq(v, 7);
    pthread_join(t, NULL);
    cr_assert_eq(p.result, 0);
    weft_sender_close(tx);
    weft_receiver_close(rx);
}

Test(rendezvous_slot, observers_and_select_see_waiter)
{
    weft_sender *tx;
    weft_receiver *rx;
    rs_open(sizeof(int), &tx, &rx);
    rs_party p = {.tx = tx};
    memcpy(p.msg.b, &(int){11}, sizeof(int));
    pthread_t t;
    pthread_create(&t, NULL, rs_send, &p);
    int v = 0;
    weft_select_op op = {WEFT_SELECT_RECV, NULL, rx, &v, 99};
    /* a blocking observer returns at once for the waiting sender, twice over: it
     * completes nothing */
    cr_assert_eq(weft_select_ready(&op, 1), 0);
    cr_assert_eq(weft_select_ready(&op, 1), 0);
    cr_assert_eq(weft_try_select(&op, 1), 0);
    cr_assert_eq(op.result, 0);
    cr_assert_eq(v, 11);
    pthread_join(t, NULL);
    cr_assert_eq(p.result, 0);
    cr_assert_eq(weft_try_select(&op, 1), -EAGAIN);
    weft_sender_close(tx);
    weft_receiver_close(rx);
}

Test(rendezvous_slot, close_reaches_waiter)
{
    weft_sender *tx;
    weft_receiver *rx;
    rs_open(sizeof(int), &tx, &rx);
    rs_party p = {.rx = rx};
    pthread_t t;
    pthread_create(&t, NULL, rs_recv, &p);
    weft_select_op op = {WEFT_SELECT_SEND, tx, NULL, &(int){0}, 0};
    rs_until_ready(&op);
    rs_sleep_ms(20); /* past its spin: asleep on the futex */
    weft_sender_close(tx);
    pthread_join(t, NULL);
    cr_assert_eq(p.result, -EPIPE);
    int v;
    cr_assert_eq(weft_chan_recv(rx, &v), -EPIPE);
    weft_receiver_close(rx);
}

Test(rendezvous_slot, large_messages_through_buffer)
{
    weft_sender *tx;
    weft_receiver *rx;
    rs_open(sizeof(rs_big), &tx, &rx);
    for (int dir = 0; dir < 2; dir++) {
        /* dir 0: the receiver waits; 1: the sender waits */
        rs_party p = {.tx = tx, .rx = rx};
        rs_big m;
        for (size_t i = 0; i < sizeof m.b; i++)
            m.b[i] = (unsigned char)(i * 7 + (size_t)dir);
        if (dir == 1)
            p.msg = m;
        pthread_t t;
        pthread_create(&t, NULL, dir == 0 ? rs_recv : rs_send, &p);
        rs_sleep_ms(10);
        rs_big got;
        if (dir == 0)
            cr_assert_eq(weft_chan_send(tx, &m), 0);
        else
            cr_assert_eq(weft_chan_recv(rx, &got), 0);
        pthread_join(t, NULL);
        cr_assert_eq(p.result, 0);
        cr_assert(memcmp(dir == 0 ? &p.msg : &got, &m, sizeof m) == 0, "bytes changed (dir %d)",
                  dir);
    }
    weft_sender_close(tx);
    weft_receiver_close(rx);
}
