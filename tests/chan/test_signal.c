/* Criterion: signal-only channels (elem_size 0), every flavor. Messages are counted,
 * never copied, and the message / out buffers may be NULL: send and receive, len,
 * try forms, disconnection, the drop callback once per undelivered signal, and
 * select (receive and send arms, NULL bufs, mixed with an int channel). A buffer
 * given anyway is left untouched. Test atomics are relaxed: results are read after
 * pthread_join. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <weft/chan.h>

static const size_t sig_caps[] = {WEFT_UNBOUNDED, 1, 16, 0};
#define SIG_NCAPS (sizeof sig_caps / sizeof sig_caps[0])
#define SIG_N 1000

typedef struct sig_partner {
    weft_sender *tx;
    weft_receiver *rx;
    int n;
    int result;
} sig_partner;

static void *sig_send_n(void *p)
{
    sig_partner *a = p;
    for (int i = 0; i < a->n && !a->result; i++)
        a->result = weft_chan_send(a->tx, NULL);
    return NULL;
}

static void *sig_recv_n(void *p)
{
    sig_partner *a = p;
    for (int i = 0; i < a->n && !a->result; i++)
        a->result = weft_chan_recv(a->rx, NULL);
    return NULL;
}

Test(signal, send_recv_every_flavor)
{
    for (size_t k = 0; k < SIG_NCAPS; k++) {
        weft_sender *tx;
        weft_receiver *rx;
        cr_assert_eq(weft_chan_open(0, sig_caps[k], NULL, &tx, &rx), 0, "cap %zu", sig_caps[k]);
        cr_assert_eq(weft_chan_try_recv(rx, NULL), -EAGAIN);
        sig_partner a = {tx, rx, SIG_N, 0};
        pthread_t t;
        cr_assert_eq(pthread_create(&t, NULL, sig_send_n, &a), 0);
        unsigned char guard = 0xA5;
        for (int i = 0; i < SIG_N; i++) {
            int r = i % 2 ? weft_chan_recv(rx, NULL)
                          : weft_chan_recv_timeout(rx, &guard, 1000000000);
            cr_assert_eq(r, 0, "cap %zu recv %d: %d", sig_caps[k], i, r);
        }
        cr_assert_eq(guard, 0xA5, "a 0-byte message wrote into the buffer");
        cr_assert_eq(pthread_join(t, NULL), 0);
        cr_assert_eq(a.result, 0);
        cr_assert_eq(weft_chan_try_recv(rx, NULL), -EAGAIN);
        cr_assert_eq(weft_sender_close(tx), 0);
        cr_assert_eq(weft_chan_recv(rx, NULL), -EPIPE);
        cr_assert_eq(weft_receiver_close(rx), 0);
    }
}

Test(signal, buffered_count_and_disconnect)
{
    for (size_t k = 0; k < SIG_NCAPS; k++) {
        size_t cap = sig_caps[k];
        if (cap == 0)
            continue; /* rendezvous holds nothing: covered by send_recv_every_flavor */
        weft_sender *tx;
        weft_receiver *rx;
        cr_assert_eq(weft_chan_open(0, cap, NULL, &tx, &rx), 0);
        size_t n = cap == WEFT_UNBOUNDED ? 100 : cap; /* unbounded: past a block */
        for (size_t i = 0; i < n; i++)
            cr_assert_eq(weft_chan_try_send(tx, NULL), 0);
        if (cap != WEFT_UNBOUNDED)
            cr_assert_eq(weft_chan_try_send(tx, NULL), -EAGAIN);
        cr_assert_eq(weft_receiver_len(rx), n);
        cr_assert_eq(weft_sender_close(tx), 0);
        for (size_t i = 0; i < n; i++)
            cr_assert_eq(weft_chan_try_recv(rx, NULL), 0);
        cr_assert_eq(weft_chan_try_recv(rx, NULL), -EPIPE);
        cr_assert_eq(weft_receiver_close(rx), 0);
    }
}

static void sig_count_drop(void *ctx, void *msg)
{
    (void)msg;
    (*(int *)ctx)++;
}

Test(signal, drop_once_per_undelivered)
{
    for (size_t k = 0; k < SIG_NCAPS; k++) {
        size_t cap = sig_caps[k];
        if (cap == 0)
            continue;
        int drops = 0;
        weft_chan_options o = {sig_count_drop, &drops};
        weft_sender *tx;
        weft_receiver *rx;
        cr_assert_eq(weft_chan_open(0, cap, &o, &tx, &rx), 0);
        size_t n = cap == WEFT_UNBOUNDED ? 70 : cap;
        for (size_t i = 0; i < n; i++)
            cr_assert_eq(weft_chan_send(tx, NULL), 0);
        cr_assert_eq(weft_chan_recv(rx, NULL), 0);
        cr_assert_eq(weft_receiver_close(rx), 0);
        cr_assert_eq(weft_chan_send(tx, NULL), -EPIPE);
        cr_assert_eq(weft_sender_close(tx), 0);
        cr_assert_eq(drops, (int)n - 1, "cap %zu", cap);
    }
}

Test(signal, select_recv_and_send)
{
    for (size_t k = 0; k < SIG_NCAPS; k++) {
        size_t cap = sig_caps[k];
        weft_sender *stx, *itx;
        weft_receiver *srx, *irx;
        cr_assert_eq(weft_chan_open(0, cap, NULL, &stx, &srx), 0);
        cr_assert_eq(weft_chan_open(sizeof(int), WEFT_UNBOUNDED, NULL, &itx, &irx), 0);
        /* receive arms: a signal from a partner, beside an int channel kept empty */
        sig_partner a = {stx, srx, SIG_N, 0};
        pthread_t t;
        cr_assert_eq(pthread_create(&t, NULL, sig_send_n, &a), 0);
        int v;
        for (int i = 0; i < SIG_N; i++) {
            weft_select_op ops[2] = {
                {.kind = WEFT_SELECT_RECV, .rx = srx, .buf = NULL},
                {.kind = WEFT_SELECT_RECV, .rx = irx, .buf = &v},
            };
            int r = weft_select(ops, 2);
            cr_assert(r == 0 && ops[0].result == 0, "cap %zu select recv: %d", cap, r);
        }
        cr_assert_eq(pthread_join(t, NULL), 0);
        cr_assert_eq(a.result, 0);
        /* send arms: a partner receives the signals */
        a = (sig_partner){stx, srx, SIG_N, 0};
        cr_assert_eq(pthread_create(&t, NULL, sig_recv_n, &a), 0);
        for (int i = 0; i < SIG_N; i++) {
            weft_select_op ops[2] = {
                {.kind = WEFT_SELECT_SEND, .tx = stx, .buf = NULL},
                {.kind = WEFT_SELECT_RECV, .rx = irx, .buf = &v},
            };
            int r = weft_select(ops, 2);
            cr_assert(r == 0 && ops[0].result == 0, "cap %zu select send: %d", cap, r);
        }
        cr_assert_eq(pthread_join(t, NULL), 0);
        cr_assert_eq(a.result, 0);
        /* a NULL buf is still refused where the message has bytes */
        weft_select_op bad = {.kind = WEFT_SELECT_RECV, .rx = irx, .buf = NULL};
        cr_assert_eq(weft_try_select(&bad, 1), -EINVAL);
        cr_assert_eq(weft_chan_send(itx, NULL), -EINVAL);
        /* done/quit: closing the signal channel's sender wakes a select with -EPIPE */
        cr_assert_eq(weft_sender_close(stx), 0);
        weft_select_op ops[2] = {
            {.kind = WEFT_SELECT_RECV, .rx = srx, .buf = NULL},
            {.kind = WEFT_SELECT_RECV, .rx = irx, .buf = &v},
        };
        cr_assert_eq(weft_select(ops, 2), 0);
        cr_assert_eq(ops[0].result, -EPIPE);
        cr_assert_eq(weft_receiver_close(srx), 0);
        cr_assert_eq(weft_sender_close(itx), 0);
        cr_assert_eq(weft_receiver_close(irx), 0);
    }
}
