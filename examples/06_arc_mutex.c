/* 06_arc_mutex.c: a counter shared by 10 threads (Rust's Arc<Mutex<i32>>).
 *
 * weft_arc is a reference-counted heap block: each thread gets its own reference
 * (weft_arc_clone) and drops it when done (weft_arc_drop); the last drop runs the
 * destructor and frees the block, whichever thread that happens on. So no thread has
 * to know which one finishes last, and nobody frees the counter too early.
 *
 * The arc shares the memory but does not guard it: the data carries its own lock (a
 * weft_mutex next to the value it protects), exactly as Arc<Mutex<T>> nests them.
 *
 * Prints "Result: 10". */
#include <weft.h>
#include <stdio.h>
#include <stdlib.h>

static void must(int rc, const char *what)
{
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", what, weft_strerror(rc));
        exit(1);
    }
}

typedef struct counter {
    weft_mutex lock; /* guards value */
    int value;
} counter;

/* Runs once, on the last drop. */
static void counter_destroy(void *data)
{
    counter *c = data;
    weft_mutex_destroy(&c->lock);
    printf("last reference dropped: counter freed\n");
}

static void *increment(void *arg)
{
    weft_arc *mine = arg; /* this thread's own reference: it must drop it */
    counter *c = weft_arc_get(mine);
    weft_mutex_lock(&c->lock);
    c->value += 1;
    weft_mutex_unlock(&c->lock);
    weft_arc_drop(mine);
    return NULL;
}

int main(void)
{
    weft_arc *arc;
    must(weft_arc_new(sizeof(counter), counter_destroy, &arc), "arc_new");
    counter *c = weft_arc_get(arc);
    must(weft_mutex_init(&c->lock), "mutex_init");
    c->value = 0;

    weft_thread *threads[10];
    for (int i = 0; i < 10; i++) {
        weft_arc *ref = weft_arc_clone(arc); /* Arc::clone(&counter), moved into the thread */
        must(weft_thread_spawn(NULL, increment, ref, &threads[i]), "spawn");
    }
    for (int i = 0; i < 10; i++)
        must(weft_thread_join(threads[i], NULL), "join");

    weft_mutex_lock(&c->lock);
    printf("Result: %d\n", c->value);
    weft_mutex_unlock(&c->lock);
    printf("references left: %zu\n", weft_arc_count(arc)); /* every thread dropped its own */
    weft_arc_drop(arc); /* ours is the last one: counter_destroy runs now */
    return 0;
}
