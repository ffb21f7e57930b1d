/* stress_select_try.c: a non-blocking select never misses a channel that holds a
 * message for the whole call (standalone, runs under ThreadSanitizer too).
 *
 * Each round: thread A sends to c1, then selects without blocking over {recv c1,
 * recv c2}; meanwhile thread B sends to c2, then takes from c1. From A's send on,
 * one of the two channels always holds a message (c1 until B takes it, which B does
 * only after filling c2, whose message only A takes), so the select must complete
 * one of them: -EAGAIN / -ETIMEDOUT is a miss. A single pass misses when it looks at
 * c2 before B fills it and at c1 after B has emptied it. Run on the unbounded and
 * bounded flavors, with weft_select_try, weft_select_biased_try (c2 listed first) and
 * weft_select_timeout at 0 ns. Rendezvous channels hold nothing: one of their ops is
 * ready only while a partner waits in it, and "a message sent before the call" does
 * not exist there, so the program has no rendezvous counterpart. */
#include "check.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <weft/chan.h>

enum form { FORM_TRY, FORM_BIASED_TRY, FORM_TIMEOUT_0 };

typedef struct pair {
    weft_sender *tx1, *tx2;
    weft_receiver *rx1, *rx2;
    long rounds;
    _Atomic long go;   /* round B may start (A publishes it) */
    _Atomic long done; /* round B has finished */
} pair;

static void *thread_b(void *p)
{
    pair *s = p;
    for (long r = 1; r <= s->rounds; r++) {
        /* Acquire: pairs with A's release store of go (the channels are reset). */
        while (atomic_load_explicit(&s->go, memory_order_acquire) != r)
            sched_yield();
        int v = 2;
        CHECK(weft_chan_send(s->tx2, &v) == 0);
        int got;
        int e = weft_chan_try_recv(s->rx1, &got);
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
        int k = form == FORM_TRY          ? weft_select_try(ops, 2)
                : form == FORM_BIASED_TRY ? weft_select_biased_try(ops, 2)
                                          : weft_select_timeout(ops, 2, 0);
        if (k == -EAGAIN || k == -ETIMEDOUT)
            misses++;
        else
            CHECK(k >= 0 && ops[k].result == 0, "select: %d", k);
        /* Acquire: pairs with B's release store of done. */
        while (atomic_load_explicit(&s.done, memory_order_acquire) != r)
            sched_yield();
        int x; /* reset: both channels empty for the next round */
        while (weft_chan_try_recv(s.rx1, &x) == 0)
            ;
        while (weft_chan_try_recv(s.rx2, &x) == 0)
            ;
    }
    CHECK(pthread_join(b, NULL) == 0);
    CHECK(misses == 0, "cap %zu form %d: %ld of %ld rounds missed a ready channel", cap,
          (int)form, misses, rounds);
    CHECK(weft_sender_close(s.tx1) == 0 && weft_receiver_close(s.rx1) == 0);
    CHECK(weft_sender_close(s.tx2) == 0 && weft_receiver_close(s.rx2) == 0);
}

int main(void)
{
    long rounds = stress_iters(200000);
    static const size_t caps[] = {WEFT_UNBOUNDED, 1, 16};
    static const enum form forms[] = {FORM_TRY, FORM_BIASED_TRY, FORM_TIMEOUT_0};
    for (size_t c = 0; c < sizeof caps / sizeof caps[0]; c++)
        for (size_t f = 0; f < sizeof forms / sizeof forms[0]; f++)
            run(caps[c], forms[f], rounds);
    puts("stress_select_try: ok");
    return 0;
}
