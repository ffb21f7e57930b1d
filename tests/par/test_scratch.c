/* test_scratch: the per-thread scratch idiom of par.h, as OpenMP code indexes
 * scratch[omp_get_thread_num()]: a loop gets weft_pool_num_threads(NULL) +
 * WEFT_POOL_CALLER_SLOTS + 1 partial sums, and a body adds into
 * scratch[weft_current_worker_index() + 1]. Checked: the index is always in range,
 * no two bodies of one loop use a slot at the same time (an in-use flag per slot,
 * taken by exchange), and the partial sums add up to the loop's sum. Run from the
 * main thread (the probe's inline chunks: index 0; then the caller slot), from four
 * outside threads at once (each with its own loop and scratch), and from workers. */
#include <weft/par.h>
#include <weft/runtime.h>

#include <criterion/criterion.h>

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "loops_testlib.h"

typedef struct scratch {
    int slots;
    _Atomic int *in_use;
    uint64_t *sum;
    _Atomic int collisions, out_of_range;
} scratch;

static bool scratch_init(scratch *s)
{
    s->slots = weft_pool_num_threads(NULL) + WEFT_POOL_CALLER_SLOTS + 1;
    s->in_use = calloc((size_t)s->slots, sizeof *s->in_use);
    s->sum = calloc((size_t)s->slots, sizeof *s->sum);
    atomic_init(&s->collisions, 0);
    atomic_init(&s->out_of_range, 0);
    return s->in_use && s->sum;
}

static uint64_t scratch_total(scratch *s)
{
    uint64_t t = 0;
    for (int i = 0; i < s->slots; i++)
        t += s->sum[i];
    free(s->sum);
    free((void *)s->in_use);
    return t;
}

static int add_indices(void *ctx, size_t b, size_t e)
{
    scratch *s = ctx;
    int slot = weft_current_worker_index() + 1;
    if (slot < 0 || slot >= s->slots) {
        atomic_fetch_add(&s->out_of_range, 1);
        return 0;
    }
    if (atomic_exchange(&s->in_use[slot], 1) != 0)
        atomic_fetch_add(&s->collisions, 1);
    for (size_t i = b; i < e; i++) {
        s->sum[slot] += i;
        if (i % 64 == 0)
            loops_spin(50); /* long enough that the loop goes to the pool */
    }
    atomic_store(&s->in_use[slot], 0);
    return 0;
}

/* Failures, counted rather than asserted: the loops also run on threads Criterion
 * did not start. */
static _Atomic int failures;

static void fail(const char *what, size_t n)
{
    fprintf(stderr, "test_scratch: %s (n=%zu)\n", what, n);
    atomic_fetch_add(&failures, 1);
}

static void check_loop(size_t n)
{
    scratch s;
    if (!scratch_init(&s))
        return fail("out of memory", n);
    if (weft_par_for(0, n, 0, add_indices, &s) != 0)
        fail("par_for failed", n);
    if (atomic_load(&s.out_of_range) != 0)
        fail("an index outside the scratch", n);
    if (atomic_load(&s.collisions) != 0)
        fail("two bodies shared a slot at once", n);
    if (scratch_total(&s) != (uint64_t)n * (n - 1) / 2)
        fail("partial sums do not add up", n);
}

static void loops_of_every_size(void *arg)
{
    (void)arg;
    for (size_t n = 1; n <= (1u << 16); n *= 4)
        check_loop(n);
}

Test(scratch, from_main_and_from_workers)
{
    for (size_t k = 0; k < N_COUNTS; k++)
        loops_run_on(loop_thread_counts[k], loops_of_every_size, NULL);
    cr_assert_eq(atomic_load(&failures), 0);
}

static void *outside_thread(void *arg)
{
    (void)arg;
    for (int round = 0; round < 4; round++)
        loops_of_every_size(NULL);
    return NULL;
}

Test(scratch, from_four_outside_threads_at_once)
{
    weft_thread *t[4];
    for (int i = 0; i < 4; i++)
        cr_assert_eq(weft_thread_spawn(NULL, outside_thread, NULL, &t[i]), 0);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(weft_thread_join(t[i], NULL), 0);
    cr_assert_eq(atomic_load(&failures), 0);
}
