/* 02_ownership.c: handing data to a thread (Rust's `thread::spawn(move || ...)`).
 *
 * A thread function gets one void *. In Rust, a `move` closure takes ownership of
 * what it captures, so the data lives as long as the thread needs it. The C
 * equivalent: put what the thread needs in a heap block, pass the pointer, and from
 * then on the block belongs to the thread, which frees it when done. The spawning
 * function may return right away; nothing the thread uses lives on its stack.
 *
 * The bug this prevents (and which C does not catch for you):
 *
 *     weft_thread *start_job_WRONG(size_t count, long *values)
 *     {
 *         job ctx = {count, values};       // lives in THIS stack frame ...
 *         weft_thread *t;
 *         weft_thread_spawn(NULL, run_job, &ctx, &t);
 *         return t;                        // ... which dies here, while the thread
 *     }                                    // may not even have read ctx yet
 *
 * The thread then reads whatever the next function call writes over that stack
 * memory: wrong numbers, or a crash, depending on timing (AddressSanitizer reports it
 * as stack-use-after-return when run with ASAN_OPTIONS=detect_stack_use_after_return=1).
 * Passing &local is fine only when the spawner joins the thread before the variable
 * goes out of scope (example 01 does that). */
#include <weft.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static void must(int rc, const char *what)
{
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", what, weft_strerror(rc));
        exit(1);
    }
}

/* Everything the thread needs, owned by the thread once it is started. */
typedef struct job {
    size_t count;
    long *values; /* owned too: freed with the job */
} job;

static void *run_job(void *arg)
{
    job *j = arg; /* ours now */
    long sum = 0;
    for (size_t i = 0; i < j->count; i++)
        sum += j->values[i];
    free(j->values); /* the thread owns the job: it frees it */
    free(j);
    return (void *)(intptr_t)sum;
}

/* Start a job and return at once; the caller joins the thread later. */
static weft_thread *start_job(long first, size_t count)
{
    job *j = malloc(sizeof *j);
    long *values = malloc(count * sizeof *values);
    if (!j || !values) {
        free(j);
        free(values);
        return NULL;
    }
    j->count = count;
    j->values = values;
    for (size_t i = 0; i < count; i++)
        values[i] = first + (long)i;

    weft_thread *t;
    int rc = weft_thread_spawn(NULL, run_job, j, &t);
    if (rc != 0) {
        /* No thread was started, so ownership never moved: it is still ours. */
        free(values);
        free(j);
        fprintf(stderr, "spawn: %s\n", weft_strerror(rc));
        return NULL;
    }
    /* From here on, do not touch *j: the thread may already have freed it. */
    return t;
}

/* Something that uses the stack between the spawns and the joins (with the WRONG
 * version above, this is what would overwrite the threads' contexts). */
static long busy_stack(void)
{
    volatile long scratch[64];
    for (int i = 0; i < 64; i++)
        scratch[i] = -1;
    return scratch[63];
}

int main(void)
{
    weft_thread *a = start_job(1, 100);   /* 1 + ... + 100   */
    weft_thread *b = start_job(101, 100); /* 101 + ... + 200 */
    if (!a || !b)
        return 1;
    busy_stack();

    void *ra, *rb;
    must(weft_thread_join(a, &ra), "join a");
    must(weft_thread_join(b, &rb), "join b");
    printf("job a: %ld\n", (long)(intptr_t)ra);
    printf("job b: %ld\n", (long)(intptr_t)rb);
    printf("total: %ld\n", (long)(intptr_t)ra + (long)(intptr_t)rb);
    return 0;
}
