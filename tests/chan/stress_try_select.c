/* stress_try_select.c: a non-blocking select never misses a channel that holds a
 * message for the whole call (standalone, runs under ThreadSanitizer too).
 *
 * Each round: thread A sends to c1, then selects without blocking over {recv c1,
 * recv c2}; meanwhile thread B sends to c2, then takes from c1. From A's send on,
 * one of the two channels always holds a message (c1 until B takes it, which B does
 * only after filling c2, whose message only A takes), so the select must complete
 * one of them: -EAGAIN / -ETIMEDOUT is a miss. A single pass misses when it looks at
 * c2 before B fills it and at c1 after B has emptied it. Run on the unbounded and
 * bounded flavors, with weft_try_select, weft_try_select_biased (c2 listed first) and
 * weft_select_timeout at 0 ns. Rendezvous channels hold nothing: a receive is ready
 * while a sender waits in it, so there "A sends to c1" becomes "a helper thread S1 is
 * parked sending on c1" (A waits to see it parked before selecting) and "B sends to
 * c2" becomes "B has S2 park on c2 and waits to see it parked"; B then takes c1's
 * sender. Again one of the two always has a sender waiting during A's select. B's
 * part there takes several thread hand-offs, far longer than A's two looks, so the
 * rendezvous run seldom lands in the window (it did not miss in 6e5 rounds with one
 * pass): it checks the property and the hand-offs; the buffered runs are the ones
 * that catch a single-pass select. */
#include "check.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <weft/chan.h>

enum form { FORM_TRY, FORM_BIASED_TRY, FORM_TIMEOUT_0 };

/* Wait until a round counter reaches round r. Acquire: pairs with the release store
 * that published the round (go) or its end (done), so what came before it is seen. */
static void await_round(_Atomic long *counter, long r)
{
    while (atomic_load_explicit(counter, memory_order_acquire) != r)
        sched_yield();
}

typedef struct pair {
    weft_sender *tx1, *tx2;
    weft_receiver *rx1, *rx2;
    weft_receiver *b_rx1; /* B's own handle of c1 (one thread per handle) */
    long rounds;
    _Atomic long go;   /* round B may start (A publishes it) */
    _Atomic long done; /* round B has finished */
} pair;

static void *thread_b(void *p)
{
    pair *s = p;
    for (long r = 1; r <= s->rounds; r++) {
        await_round(&s->go, r);
        int v = 2;
        CHECK(weft_chan_send(s->tx2, &v) == 0);
        int got;
        int e = weft_chan_try_recv(s->b_rx1, &got);
        CHECK(e == 0 || e == -EAGAIN, "try_recv c1: %d", e);
        /* Release: pairs with A's acquire load of done (B's ops are over). */
        atomic_store_explicit(&s->done, r, memory_order_release);
    }
    return NULL;
}

static void run(size_t cap, enum form form, long rounds)
{
    pair s = {.rounds = rounds};
    CHECK(weft_chan_open(sizeof(int), cap, NULL, &s.tx1, &s.rx1) == 0);
    CHECK(weft_chan_open(sizeof(int), cap, NULL, &s.tx2, &s.rx2) == 0);
    CHECK(weft_receiver_clone(s.rx1, &s.b_rx1) == 0);
    atomic_init(&s.go, 0);
    atomic_init(&s.done, 0);
    pthread_t b;
    CHECK(pthread_create(&b, NULL, thread_b, &s) == 0);
    long misses = 0;
    for (long r = 1; r <= rounds; r++) {
        int v = 1;
        CHECK(weft_chan_send(s.tx1, &v) == 0);
        /* Release: pairs with B's acquire load of go. */
        atomic_store_explicit(&s.go, r, memory_order_release);
        int g1, g2;
        weft_select_op ops[2] = {
            {.kind = WEFT_SELECT_RECV, .rx = s.rx1, .buf = &g1},
            {.kind = WEFT_SELECT_RECV, .rx = s.rx2, .buf = &g2},
        };
        if (form == FORM_BIASED_TRY) { /* c2 first: the order a single pass misses in */
            weft_select_op t = ops[0];
            ops[0] = ops[1];
            ops[1] = t;
        }
        int k = form == FORM_TRY          ? weft_try_select(ops, 2)
                : form == FORM_BIASED_TRY ? weft_try_select_biased(ops, 2)
                                          : weft_select_timeout(ops, 2, 0);
        if (k == -EAGAIN || k == -ETIMEDOUT)
            misses++;
        else
            CHECK(k >= 0 && ops[k].result == 0, "select: %d", k);
        await_round(&s.done, r);
        int x; /* reset: both channels empty for the next round */
        while (weft_chan_try_recv(s.rx1, &x) == 0)
            ;
        while (weft_chan_try_recv(s.rx2, &x) == 0)
            ;
    }
    CHECK(pthread_join(b, NULL) == 0);
    CHECK(misses == 0, "cap %zu form %d: %ld of %ld rounds missed a ready channel", cap,
          (int)form, misses, rounds);
    CHECK(weft_receiver_close(s.b_rx1) == 0);
    CHECK(weft_sender_close(s.tx1) == 0 && weft_receiver_close(s.rx1) == 0);
    CHECK(weft_sender_close(s.tx2) == 0 && weft_receiver_close(s.rx2) == 0);
}

/* ---- rendezvous: parked senders stand for the messages */
typedef struct parker {
    weft_sender *tx;
    _Atomic long go;   /* round to park in (a blocking send) */
    _Atomic long done; /* round whose send was taken */
    long rounds;
} parker;

static void *parker_thread(void *p)
{
    parker *k = p;
    for (long r = 1; r <= k->rounds; r++) {
        await_round(&k->go, r);
        int v = (int)r;
        CHECK(weft_chan_send(k->tx, &v) == 0);
        /* Release: pairs with the acquire load of done by the round's checker. */
        atomic_store_explicit(&k->done, r, memory_order_release);
    }
    return NULL;
}

/* Until k's sender of round r is parked on rx (a receive is ready; nothing is
 * taken) or was already taken (by A's select). */
static void wait_parked(weft_receiver *rx, parker *k, long r)
{
    weft_select_op op = {.kind = WEFT_SELECT_RECV, .rx = rx, .buf = NULL};
    /* Acquire: pairs with the parker's release store of done. */
    while (weft_try_select_ready(&op, 1) != 0 &&
           atomic_load_explicit(&k->done, memory_order_acquire) != r)
        sched_yield();
}

typedef struct zpair {
    weft_receiver *rx1, *rx2; /* B's own handles (clones of A's) */
    parker *s2;
    long rounds;
    _Atomic long go, done;
    _Atomic bool b_took; /* B took c1's sender this round */
} zpair;

static void *zthread_b(void *p)
{
    zpair *s = p;
    for (long r = 1; r <= s->rounds; r++) {
        await_round(&s->go, r);
        /* Release: pairs with S2's acquire load of go. */
        atomic_store_explicit(&s->s2->go, r, memory_order_release);
        wait_parked(s->rx2, s->s2, r);
        int got;
        int e = weft_chan_try_recv(s->rx1, &got);
        CHECK(e == 0 || e == -EAGAIN, "try_recv c1: %d", e);
        atomic_store_explicit(&s->b_took, e == 0, memory_order_relaxed);
        /* Release: pairs with A's acquire load of done (b_took is written). */
        atomic_store_explicit(&s->done, r, memory_order_release);
    }
    return NULL;
}

static void run_rendezvous(enum form form, long rounds)
{
    weft_sender *tx1, *tx2;
    weft_receiver *rx1, *rx2;
    CHECK(weft_chan_open(sizeof(int), 0, NULL, &tx1, &rx1) == 0);
    CHECK(weft_chan_open(sizeof(int), 0, NULL, &tx2, &rx2) == 0);
    parker s1 = {.tx = tx1, .rounds = rounds}, s2 = {.tx = tx2, .rounds = rounds};
    atomic_init(&s1.go, 0);
    atomic_init(&s1.done, 0);
    atomic_init(&s2.go, 0);
    atomic_init(&s2.done, 0);
    zpair s = {.s2 = &s2, .rounds = rounds};
    CHECK(weft_receiver_clone(rx1, &s.rx1) == 0 && weft_receiver_clone(rx2, &s.rx2) == 0);
    atomic_init(&s.go, 0);
    atomic_init(&s.done, 0);
    atomic_init(&s.b_took, false);
    pthread_t t1, t2, b;
    CHECK(pthread_create(&t1, NULL, parker_thread, &s1) == 0);
    CHECK(pthread_create(&t2, NULL, parker_thread, &s2) == 0);
    CHECK(pthread_create(&b, NULL, zthread_b, &s) == 0);
    long misses = 0;
    for (long r = 1; r <= rounds; r++) {
        /* Release: pairs with S1's acquire load of go. */
        atomic_store_explicit(&s1.go, r, memory_order_release);
        wait_parked(rx1, &s1, r);
        /* Release: pairs with B's acquire load of go. */
        atomic_store_explicit(&s.go, r, memory_order_release);
        int g1, g2;
        weft_select_op ops[2] = {
            {.kind = WEFT_SELECT_RECV, .rx = rx1, .buf = &g1},
            {.kind = WEFT_SELECT_RECV, .rx = rx2, .buf = &g2},
        };
        if (form == FORM_BIASED_TRY) {
            weft_select_op t = ops[0];
            ops[0] = ops[1];
            ops[1] = t;
        }
        int k = form == FORM_TRY          ? weft_try_select(ops, 2)
                : form == FORM_BIASED_TRY ? weft_try_select_biased(ops, 2)
                                          : weft_select_timeout(ops, 2, 0);
        bool a_took1 = false, a_took2 = false;
        if (k == -EAGAIN || k == -ETIMEDOUT) {
            misses++;
        } else {
            CHECK(k >= 0 && ops[k].result == 0, "select: %d", k);
            a_took1 = ops[k].rx == rx1;
            a_took2 = !a_took1;
        }
        await_round(&s.done, r);
        bool b_took = atomic_load_explicit(&s.b_took, memory_order_relaxed);
        CHECK(!(a_took1 && b_took), "c1's one sender taken twice");
        int x; /* reset: release the senders still parked */
        if (!a_took1 && !b_took)
            CHECK(weft_chan_recv(rx1, &x) == 0);
        if (!a_took2)
            CHECK(weft_chan_recv(rx2, &x) == 0);
        /* Acquire: pairs with the parkers' release stores of done. */
        while (atomic_load_explicit(&s1.done, memory_order_acquire) != r ||
               atomic_load_explicit(&s2.done, memory_order_acquire) != r)
            sched_yield();
    }
    CHECK(pthread_join(b, NULL) == 0 && pthread_join(t1, NULL) == 0 &&
          pthread_join(t2, NULL) == 0);
    CHECK(weft_receiver_close(s.rx1) == 0 && weft_receiver_close(s.rx2) == 0);
    CHECK(misses == 0, "rendezvous form %d: %ld of %ld rounds missed a ready channel",
          (int)form, misses, rounds);
    CHECK(weft_sender_close(tx1) == 0 && weft_receiver_close(rx1) == 0);
    CHECK(weft_sender_close(tx2) == 0 && weft_receiver_close(rx2) == 0);
}

int main(void)
{
    long rounds = stress_iters(200000);
    static const size_t caps[] = {WEFT_UNBOUNDED, 1, 16};
    static const enum form forms[] = {FORM_TRY, FORM_BIASED_TRY, FORM_TIMEOUT_0};
    for (size_t c = 0; c < sizeof caps / sizeof caps[0]; c++)
        for (size_t f = 0; f < sizeof forms / sizeof forms[0]; f++)
            run(caps[c], forms[f], rounds);
    for (size_t f = 0; f < sizeof forms / sizeof forms[0]; f++)
        run_rendezvous(forms[f], rounds / 10); /* four threads meet per round */
    puts("stress_try_select: ok");
    return 0;
}
