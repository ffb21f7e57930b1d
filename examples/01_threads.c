/* 01_threads.c: OS threads (std::thread in C).
 *
 *   1. spawn a thread, do work on main and on the thread at the same time, join;
 *   2. a thread that returns a value through join;
 *   3. a named thread with a stack size of our choosing.
 *
 * weft_thread_spawn starts a real 1:1 OS thread: use it for long-lived or blocking
 * work (a producer that sleeps, a server loop). For CPU work that splits into pieces,
 * use the pool (examples 08-11): a pool has one thread per core and balances the load.
 *
 * The output is deterministic: threads never print, they report through memory that
 * main reads after join (join is the synchronisation point: everything the thread
 * wrote before it returned is visible to main after weft_thread_join returns). */
#include <weft.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Stop the example with a message if a weft call failed (weft returns 0 or -errno). */
static void must(int rc, const char *what)
{
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", what, weft_strerror(rc));
        exit(1);
    }
}

/* 1. Work on both sides. The thread fills its own array; main fills another. */
static void *count_up(void *arg)
{
    int *seen = arg; /* borrowed from main, which joins before the array goes away */
    for (int i = 0; i < 5; i++) {
        seen[i] = i + 1;
        weft_thread_sleep(1000 * 1000); /* 1 ms, as if doing real work */
    }
    return NULL;
}

/* 2. A result through join: the thread function's return value is a void *. A small
 * integer fits in it (cast through intptr_t); a bigger result is returned as a
 * pointer to a heap block that the joiner frees. */
static void *sum_to_100(void *arg)
{
    (void)arg;
    intptr_t sum = 0;
    for (intptr_t i = 1; i <= 100; i++)
        sum += i;
    return (void *)sum;
}

/* 3. A named thread reads its own name. weft_thread_name() is valid only while the
 * thread lives, so it returns a heap copy through join. */
static void *report_name(void *arg)
{
    (void)arg;
    char buf[256]; /* some stack use: fine in the 256 KiB we asked for */
    snprintf(buf, sizeof buf, "I am '%s'", weft_thread_name());
    char *copy = malloc(strlen(buf) + 1);
    if (copy)
        strcpy(copy, buf);
    return copy;
}

int main(void)
{
    /* 1. Spawn (NULL options: unnamed, default stack), work here too, then join. */
    int on_thread[5] = {0}, on_main[5] = {0};
    weft_thread *t;
    must(weft_thread_spawn(NULL, count_up, on_thread, &t), "spawn");
    for (int i = 0; i < 5; i++) {
        on_main[i] = 10 * (i + 1);
        weft_thread_sleep(1000 * 1000);
    }
    must(weft_thread_join(t, NULL), "join"); /* without this, main could read too soon */
    printf("thread counted:");
    for (int i = 0; i < 5; i++)
        printf(" %d", on_thread[i]);
    printf("\nmain counted:");
    for (int i = 0; i < 5; i++)
        printf(" %d", on_main[i]);
    printf("\n");

    /* 2. A value back through join. */
    void *result;
    must(weft_thread_spawn(NULL, sum_to_100, NULL, &t), "spawn");
    must(weft_thread_join(t, &result), "join");
    printf("sum 1..100 computed on a thread: %ld\n", (long)(intptr_t)result);

    /* 3. Options: a name (shown by ps, top and gdb: the OS keeps 15 bytes) and a stack
     * size (0 = the system default, usually 8 MiB; a smaller one saves address space
     * when you start many threads, a larger one allows deep recursion). */
    weft_thread_options opts = WEFT_THREAD_OPTIONS_INIT;
    opts.name = "reporter";
    opts.stack_size = 256 * 1024;
    must(weft_thread_spawn(&opts, report_name, NULL, &t), "spawn");
    must(weft_thread_join(t, &result), "join");
    printf("named thread says: %s\n", result ? (char *)result : "(out of memory)");
    free(result);
    printf("main thread is named '%s'\n", weft_thread_name());
    return 0;
}
