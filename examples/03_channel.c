/* 03_channel.c: message passing over a channel (Rust's mpsc::channel).
 *
 *   1. one producer thread sends several messages with pauses; main receives them
 *      until the producer has closed its sender (WEFT_CHAN_FOREACH: `for received in rx`);
 *   2. two producers, the second sending through a clone of the first sender.
 *
 * A channel copies fixed-size messages (here a small struct holding text). Each
 * message is received exactly once, and messages from one sender arrive in the order
 * it sent them; messages from different senders interleave in whatever order they
 * happen to be sent. So part 2 groups what it received by producer before printing:
 * the output is deterministic, and it checks the per-sender order on the way.
 *
 * Disconnection ends the loop: when the last sender is closed, the receiver still
 * gets every message left, then weft_chan_recv returns -EPIPE and FOREACH stops. So
 * every sender handle must be closed, or the loop waits forever: here each producer
 * closes the one it was given (main keeps none for itself). */
#include <weft.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void must(int rc, const char *what)
{
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", what, weft_strerror(rc));
        exit(1);
    }
}

typedef struct msg {
    int from;      /* which producer */
    char text[24]; /* copied into the channel: no pointer to share or free */
} msg;

typedef struct producer {
    weft_sender *tx; /* owned by the producer: it closes it */
    int id;
    const char *const *words;
} producer;

static void *produce(void *arg)
{
    producer *p = arg;
    for (int i = 0; p->words[i]; i++) {
        msg m = {p->id, ""};
        snprintf(m.text, sizeof m.text, "%s", p->words[i]);
        must(weft_chan_send(p->tx, &m), "send");
        weft_thread_sleep(5 * 1000 * 1000); /* 5 ms between messages */
    }
    weft_sender_close(p->tx); /* our last act: this may disconnect the channel */
    return NULL;
}

static const char *const words_a[] = {"hi", "from", "the", "thread", NULL};
static const char *const words_b[] = {"more", "messages", "for", "you", NULL};

int main(void)
{
    /* 1. One producer. */
    weft_sender *tx;
    weft_receiver *rx;
    must(weft_chan_open(sizeof(msg), WEFT_UNBOUNDED, NULL, &tx, &rx), "open");
    producer p1 = {tx, 1, words_a}; /* tx moves to the producer */
    weft_thread *t1;
    must(weft_thread_spawn(NULL, produce, &p1, &t1), "spawn");

    msg m;
    WEFT_CHAN_FOREACH(rx, m) /* blocks between messages; ends once tx is closed */
        printf("got: %s\n", m.text);
    printf("producer hung up\n");
    must(weft_thread_join(t1, NULL), "join");
    weft_receiver_close(rx);

    /* 2. Two producers: clone the sender for the second one. */
    must(weft_chan_open(sizeof(msg), WEFT_UNBOUNDED, NULL, &tx, &rx), "open");
    weft_sender *tx2;
    must(weft_sender_clone(tx, &tx2), "clone");
    producer pa = {tx, 1, words_a}, pb = {tx2, 2, words_b};
    weft_thread *ta, *tb;
    must(weft_thread_spawn(NULL, produce, &pa, &ta), "spawn");
    must(weft_thread_spawn(NULL, produce, &pb, &tb), "spawn");

    char line[2][128] = {"", ""};
    int next[2] = {0, 0};
    WEFT_CHAN_FOREACH(rx, m) {
        int k = m.from - 1;
        const char *const *expect = k == 0 ? words_a : words_b;
        if (strcmp(m.text, expect[next[k]]) != 0) { /* per-sender order holds */
            fprintf(stderr, "out of order: %s\n", m.text);
            return 1;
        }
        next[k]++;
        strcat(line[k], " ");
        strcat(line[k], m.text);
    }
    printf("from producer 1:%s\n", line[0]);
    printf("from producer 2:%s\n", line[1]);
    must(weft_thread_join(ta, NULL), "join");
    must(weft_thread_join(tb, NULL), "join");
    weft_receiver_close(rx);
    return 0;
}
