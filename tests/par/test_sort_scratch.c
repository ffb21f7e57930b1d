/* test_sort_scratch: the large scratch buffer a sort keeps for the next
 * (par/sort_scratch.c). Checked: a large sort keeps one, a small one keeps none; the
 * next sorts (of another kind, another size, with the kept buffer's stale contents)
 * are still right; a larger sort replaces the kept buffer with a larger one; sorts from
 * four threads at once, each sorting its own arrays again and again, are all right
 * (no buffer is shared by two sorts). */
#include <weft/par.h>
#include <weft/runtime.h>

#include <criterion/criterion.h>

#include <pthread.h>
#include <stdlib.h>

#include "sort_internal.h"
#include "sort_testlib.h"

/* Sort n records of layout l by key (stable), pattern p, and check them. */
static void sort_and_check(size_t n, sortt_layout l, sortt_pattern p, uint64_t seed)
{
    void *a = malloc(n * l.size);
    cr_assert_not_null(a);
    sortt_fill(a, n, l, p, seed);
    cr_assert_eq(sortt_sort_by_key(a, n, l), 0);
    const char *err = sortt_check(a, n, l, p, seed, true, NULL);
    cr_assert_null(err, "n=%zu size=%zu: %s", n, l.size, err);
    free(a);
}

static void sort_u64_and_check(size_t n, uint64_t seed)
{
    uint64_t *a = malloc(n * sizeof *a);
    cr_assert_not_null(a);
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += a[i] = sortt_key(SORTT_RANDOM, i, n, seed);
    cr_assert_eq(weft_par_sort_u64(a, n), 0);
    for (size_t i = 1; i < n; i++)
        cr_assert_leq(a[i - 1], a[i], "u64 sort of %zu: out of order at %zu", n, i);
    for (size_t i = 0; i < n; i++)
        sum -= a[i];
    cr_assert_eq(sum, 0, "u64 sort of %zu: not a permutation", n);
    free(a);
}

Test(sort_scratch, a_large_sort_keeps_its_scratch_for_the_next)
{
    sortt_layout rec = {16, 8};
    size_t n = (size_t)1 << 18; /* keyed: 18 bytes of scratch per record and the record */
    cr_assert_eq(weft__sort_scratch_kept_(), 0);
    sort_and_check(n, rec, SORTT_RANDOM, 1);
    size_t kept = weft__sort_scratch_kept_();
    cr_assert_geq(kept, n * rec.size, "kept %zu bytes", kept);
    /* Reused with its stale contents, by the same sort and by others. */
    sort_and_check(n, rec, SORTT_REVERSED, 2);
    sort_u64_and_check(n, 3);
    sort_and_check(n / 2, (sortt_layout){24, 4}, SORTT_FEW_UNIQUE, 4);
    cr_assert_eq(weft__sort_scratch_kept_(), kept, "a smaller sort replaced the kept buffer");
    /* A small sort keeps nothing of its own and leaves the kept one. */
    sort_and_check(1000, rec, SORTT_RANDOM, 5);
    cr_assert_eq(weft__sort_scratch_kept_(), kept);
    /* A larger sort needs a larger buffer, and keeps that one. */
    sort_and_check(2 * n, rec, SORTT_SAWTOOTH, 6);
    cr_assert_gt(weft__sort_scratch_kept_(), kept);
}

typedef struct sorter {
    unsigned id;
    int rounds;
} sorter;

static void *sorter_main(void *arg)
{
    sorter *s = arg;
    sortt_layout l = {12 + 4 * s->id, 8}; /* each thread its own record size */
    for (int r = 0; r < s->rounds; r++) {
        size_t n = ((size_t)1 << 17) + (size_t)r * 4099;
        sort_and_check(n, l, (sortt_pattern)((s->id + (unsigned)r) % SORTT_NPATTERNS),
                       (uint64_t)s->id * 1000 + (uint64_t)r);
        sort_u64_and_check(n, (uint64_t)r);
    }
    return NULL;
}

Test(sort_scratch, sorts_from_four_threads_at_once)
{
    pthread_t t[4];
    sorter s[4];
    for (unsigned i = 0; i < 4; i++) {
        s[i] = (sorter){i, 6};
        cr_assert_eq(pthread_create(&t[i], NULL, sorter_main, &s[i]), 0);
    }
    for (unsigned i = 0; i < 4; i++)
        cr_assert_eq(pthread_join(t[i], NULL), 0);
    cr_assert_gt(weft__sort_scratch_kept_(), 0);
}
