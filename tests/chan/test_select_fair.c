/* Criterion: weft_select is fair when its op list names one channel several times.
 * Five arms on the same channel (all receive, or all send) and a partner thread on
 * the other side: over 10,000 selects each arm must win at least 1,000 (a fair
 * choice gives ~2,000 each). Ops registered in index order were not fair: a partner
 * arriving while the select sleeps takes the first waiter of the channel's list, so
 * arm 0 won most rounds on a rendezvous channel. Every flavor. Test atomics are
 * relaxed: results are read after pthread_join. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <time.h>
#include <weft/chan.h>

#define FAIR_ARMS 5
#define FAIR_ROUNDS 10000
#define FAIR_MIN 1000

static const size_t fair_caps[] = {WEFT_UNBOUNDED, 1, 16, 0};

/* The partner pauses before each operation, so that the select has usually gone to
 * sleep, registered on the channel, when the partner arrives: the order of
 * registration then decides the arm. */
static void fair_pause(void)
{
    struct timespec ts = {0, 20000};
    nanosleep(&ts, NULL);
}

typedef struct fair_partner {
    weft_sender *tx;
    weft_receiver *rx;
} fair_partner;

static void *fair_sender(void *p)
{
    fair_partner *a = p;
    for (int i = 0; i < FAIR_ROUNDS; i++) {
        fair_pause();
        int r = weft_chan_send(a->tx, &i);
        cr_assert_eq(r, 0, "send: %d", r);
    }
    return NULL;
}

static void *fair_receiver(void *p)
{
    fair_partner *a = p;
    for (int i = 0; i < FAIR_ROUNDS; i++) {
        int v;
        fair_pause();
        int r = weft_chan_recv(a->rx, &v);
        cr_assert_eq(r, 0, "recv: %d", r);
    }
    return NULL;
}

static void fair_run(size_t cap, weft_select_kind kind)
{
    weft_sender *tx;
    weft_receiver *rx;
    cr_assert_eq(weft_chan_open(sizeof(int), cap, NULL, &tx, &rx), 0);
    fair_partner a = {tx, rx};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, kind == WEFT_SELECT_RECV ? fair_sender : fair_receiver,
                                &a), 0);
    int bufs[FAIR_ARMS];
    weft_select_op ops[FAIR_ARMS];
    long wins[FAIR_ARMS] = {0};
    for (int i = 0; i < FAIR_ROUNDS; i++) {
        for (int k = 0; k < FAIR_ARMS; k++) {
            bufs[k] = i;
            ops[k] = (weft_select_op){.kind = kind, .tx = tx, .rx = rx, .buf = &bufs[k]};
        }
        int k = weft_select(ops, FAIR_ARMS);
        cr_assert(k >= 0 && k < FAIR_ARMS && ops[k].result == 0, "select: %d", k);
        wins[k]++;
    }
    cr_assert_eq(pthread_join(t, NULL), 0);
    for (int k = 0; k < FAIR_ARMS; k++)
        cr_expect_geq(wins[k], FAIR_MIN, "cap %zu %s: arm %d won %ld of %d (%ld %ld %ld %ld %ld)",
                      cap, kind == WEFT_SELECT_RECV ? "recv" : "send", k, wins[k], FAIR_ROUNDS,
                      wins[0], wins[1], wins[2], wins[3], wins[4]);
    cr_assert_eq(weft_sender_close(tx), 0);
    cr_assert_eq(weft_receiver_close(rx), 0);
}

Test(select_fair, duplicate_recv_arms)
{
    for (size_t c = 0; c < sizeof fair_caps / sizeof fair_caps[0]; c++)
        fair_run(fair_caps[c], WEFT_SELECT_RECV);
}

Test(select_fair, duplicate_send_arms)
{
    for (size_t c = 0; c < sizeof fair_caps / sizeof fair_caps[0]; c++)
        fair_run(fair_caps[c], WEFT_SELECT_SEND);
}
