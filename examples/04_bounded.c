/* 04_bounded.c: bounded channels (Rust's sync_channel(n)) and back-pressure; a
 * rendezvous channel (sync_channel(0)).
 *
 * A bounded channel holds at most `capacity` messages: a sender that runs ahead of
 * its receiver blocks in weft_chan_send until there is room. That is back-pressure:
 * a fast producer cannot fill memory with work a slow consumer has not taken yet.
 * try_send is the non-blocking twin (-EAGAIN when full).
 *
 * Capacity 0 is a rendezvous: a send completes only when a receiver takes the
 * message, so the two threads meet (a hand-shake that also tells the sender "it has
 * been received").
 *
 * What is checked (and deterministic whatever the scheduling): the producer never
 * gets more than `capacity` messages ahead of the consumer, and a rendezvous send
 * does not return before its message is received. */
#include <weft.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

static void must(int rc, const char *what)
{
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", what, weft_strerror(rc));
        exit(1);
    }
}

#define CAPACITY 2
#define COUNT 6

typedef struct shared {
    weft_sender *tx;
    atomic_int sent; /* sends that have returned */
} shared;

static void *producer(void *arg)
{
    shared *s = arg;
    for (int i = 1; i <= COUNT; i++) {
        must(weft_chan_send(s->tx, &i), "send"); /* blocks while the channel is full */
        /* Release: pairs with main's acquire load (a plain counter would do too; the
         * order only matters for what main concludes from it). */
        atomic_fetch_add_explicit(&s->sent, 1, memory_order_release);
    }
    weft_sender_close(s->tx);
    return NULL;
}

static void *rendezvous_sender(void *arg)
{
    shared *s = arg;
    int v = 42;
    must(weft_chan_send(s->tx, &v), "send"); /* returns only once main has received */
    atomic_store_explicit(&s->sent, 1, memory_order_release); /* pairs with main's load */
    weft_sender_close(s->tx);
    return NULL;
}

int main(void)
{
    weft_sender *tx;
    weft_receiver *rx;

    /* Without any other thread: fill the channel, then try once more. */
    must(weft_chan_open(sizeof(int), CAPACITY, NULL, &tx, &rx), "open");
    int one = 1, two = 2, three = 3;
    must(weft_chan_try_send(tx, &one), "try_send");
    must(weft_chan_try_send(tx, &two), "try_send");
    int rc = weft_chan_try_send(tx, &three);
    printf("capacity %zu, %zu queued; a third try_send: %s\n", weft_sender_capacity(tx),
           weft_sender_len(tx), weft_strerror(rc));
    weft_sender_close(tx);
    weft_receiver_close(rx); /* the two messages inside are discarded */

    /* Back-pressure: a producer that would run ahead, and a slow consumer. */
    must(weft_chan_open(sizeof(int), CAPACITY, NULL, &tx, &rx), "open");
    shared s = {tx, 0};
    weft_thread *t;
    must(weft_thread_spawn(NULL, producer, &s, &t), "spawn");
    weft_thread_sleep(20 * 1000 * 1000); /* 20 ms: the producer fills the channel and waits */
    int received = 0, v, max_ahead = 0;
    printf("received:");
    WEFT_CHAN_FOREACH(rx, v) {
        received++;
        printf(" %d", v);
        /* Acquire: pairs with the producer's release increment. */
        int ahead = atomic_load_explicit(&s.sent, memory_order_acquire) - received;
        if (ahead > max_ahead)
            max_ahead = ahead;
        weft_thread_sleep(2 * 1000 * 1000); /* a slow consumer */
    }
    printf("\n");
    /* After taking message k, at most k + CAPACITY sends can have returned. */
    printf("producer was never more than %d ahead: %s\n", CAPACITY,
           max_ahead <= CAPACITY ? "yes" : "NO");
    must(weft_thread_join(t, NULL), "join");
    weft_receiver_close(rx);

    /* Rendezvous. */
    must(weft_chan_open(sizeof(int), 0, NULL, &tx, &rx), "open");
    rc = weft_chan_try_send(tx, &one); /* nobody is receiving right now */
    printf("rendezvous try_send with no receiver waiting: %s\n", weft_strerror(rc));
    shared r = {tx, 0};
    must(weft_thread_spawn(NULL, rendezvous_sender, &r, &t), "spawn");
    weft_thread_sleep(20 * 1000 * 1000);
    /* Acquire: pairs with the sender's release store. */
    printf("after 20 ms, has the send returned? %s\n",
           atomic_load_explicit(&r.sent, memory_order_acquire) ? "YES (bug)" : "no, it waits for us");
    must(weft_chan_recv(rx, &v), "recv");
    must(weft_thread_join(t, NULL), "join");
    printf("received %d; the send returned: %s\n", v,
           atomic_load_explicit(&r.sent, memory_order_acquire) ? "yes" : "NO");
    weft_receiver_close(rx);
    return max_ahead <= CAPACITY ? 0 : 1;
}
