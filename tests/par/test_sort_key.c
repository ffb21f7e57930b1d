/* test_sort_key.c: Criterion suite for weft_par_sort_by_u64_key and
 * weft_par_sort_by_u32_key: every input pattern at sizes around the insertion, MSD
 * and parallel cut-offs, records of 1 to 100 bytes with keys of 1, 4 and 8 bytes,
 * checked to be a stable sorted permutation of the input — from the main thread and
 * inside pools of 1, 2, 3 and 8 workers; keys that share their top digit (one big
 * bucket, sorted in parallel chunks); the key function called once per element; one
 * 10^7-record run equal to the stable comparator sort's; argument errors and -ENOMEM
 * leaving the input. */
#include "loops_testlib.h"
#include "sort_testlib.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdatomic.h>
#include <weft/par.h>
#include <weft/runtime.h>

#ifdef __SANITIZE_ADDRESS__
#define KEY_BIG 100000u /* ASan+UBSan runs ~5-10x slower */
#define KEY_HUGE 1000000u
#else
#define KEY_BIG 1000000u
#define KEY_HUGE 10000000u
#endif

static void key_case(size_t n, sortt_layout l, sortt_pattern p, uint64_t seed)
{
    void *a = malloc(n * l.size + 1), *ref = NULL;
    cr_assert_not_null(a);
    sortt_fill(a, n, l, p, seed);
    if (!sortt_has_index(l)) {
        ref = malloc(n * l.size + 1);
        cr_assert_not_null(ref);
        memcpy(ref, a, n * l.size);
        cr_assert_eq(weft_par_sort_stable(ref, n, l.size, sortt_cmp_for(l)), 0);
    }
    int rc = sortt_sort_by_key(a, n, l);
    cr_assert_eq(rc, 0, "sort returned %d", rc);
    const char *err = sortt_check(a, n, l, p, seed, true, ref);
    cr_assert_null(err, "%s: n=%zu size=%zu key=%zu pattern=%d", err, n, l.size, l.key_width, (int)p);
    free(ref);
    free(a);
}

static const size_t key_sizes[] = {0, 1, 2, 31, 32, 33, 1000, 32767, 32768, 65536, 200000, KEY_BIG};
static const sortt_layout key_layouts[] = {{8, 8}, {12, 4}, {24, 8}, {16, 8}, {13, 1}, {100, 8}, {4, 4}};

typedef struct all_cases {
    size_t max_n;
    bool done;
} all_cases;

static void all_patterns(void *arg)
{
    all_cases *c = arg;
    for (size_t s = 0; s < sizeof key_sizes / sizeof key_sizes[0]; s++) {
        if (key_sizes[s] > c->max_n)
            continue;
        for (size_t li = 0; li < sizeof key_layouts / sizeof key_layouts[0]; li++)
            for (int p = 0; p < SORTT_NPATTERNS; p++) {
                if (key_sizes[s] >= KEY_BIG && (li > 2 || (p != SORTT_RANDOM && p != SORTT_FEW_UNIQUE)))
                    continue; /* the largest size: a few cases, to keep the suite short */
                key_case(key_sizes[s], key_layouts[li], (sortt_pattern)p, s * 7 + li);
            }
    }
    c->done = true;
}

Test(sort_key, every_pattern_from_main)
{
    all_cases c = {KEY_BIG, false};
    all_patterns(&c);
    cr_assert(c.done);
}

Test(sort_key, in_pools)
{
    for (size_t t = 1; t < N_COUNTS; t++) {
        all_cases c = {200000, false};
        loops_run_on(loop_thread_counts[t], all_patterns, &c);
        cr_assert(c.done);
    }
}

/* 90% of the keys share their top byte (one bucket holds them, sorted in chunks),
 * the rest are spread; and keys that vary only in their low byte. */
typedef struct skew {
    size_t n;
    bool low_only;
} skew;

static void skew_run(void *arg)
{
    const skew *sk = arg;
    size_t n = sk->n;
    sortt_layout l = {24, 8};
    unsigned char *a = malloc(n * l.size);
    cr_assert_not_null(a);
    for (size_t i = 0; i < n; i++) {
        uint64_t k = sortt_mix(i);
        if (sk->low_only)
            k &= 0xff;
        else if (k % 10 != 0)
            k = (UINT64_C(0x42) << 56) | (k >> 20);
        memcpy(a + i * l.size, &k, 8);
        uint32_t idx = (uint32_t)i;
        memcpy(a + i * l.size + 8, &idx, 4);
        memset(a + i * l.size + 12, 0, 12);
    }
    cr_assert_eq(weft_par_sort_by_u64_key(a, n, l.size, sortt_key_u64), 0);
    for (size_t i = 1; i < n; i++) {
        uint64_t x, y;
        uint32_t ix, iy;
        memcpy(&x, a + (i - 1) * l.size, 8);
        memcpy(&y, a + i * l.size, 8);
        memcpy(&ix, a + (i - 1) * l.size + 8, 4);
        memcpy(&iy, a + i * l.size + 8, 4);
        cr_assert(x < y || (x == y && ix < iy), "order or stability broken at %zu", i);
    }
    free(a);
}

Test(sort_key, one_big_bucket_and_low_bits_only)
{
    for (size_t t = 0; t < N_COUNTS; t++) {
        skew a = {KEY_BIG, false}, b = {KEY_BIG / 4, true};
        loops_run_on(loop_thread_counts[t], skew_run, &a);
        loops_run_on(loop_thread_counts[t], skew_run, &b);
    }
}

static _Atomic size_t key_calls;

static uint64_t counting_key(const void *e)
{
    atomic_fetch_add_explicit(&key_calls, 1, memory_order_relaxed);
    return sortt_get_key(e, 8);
}

Test(sort_key, key_called_once_per_element)
{
    static const size_t ns[] = {5, 40, 1000, 100000};
    for (size_t s = 0; s < sizeof ns / sizeof ns[0]; s++) {
        sortt_layout l = {16, 8};
        void *a = malloc(ns[s] * l.size);
        cr_assert_not_null(a);
        sortt_fill(a, ns[s], l, SORTT_RANDOM, s);
        atomic_store(&key_calls, 0);
        cr_assert_eq(weft_par_sort_by_u64_key(a, ns[s], l.size, counting_key), 0);
        cr_assert_eq(atomic_load(&key_calls), ns[s], "%zu calls for %zu elements", atomic_load(&key_calls), ns[s]);
        cr_assert_null(sortt_check(a, ns[s], l, SORTT_RANDOM, s, true, NULL));
        free(a);
    }
}

Test(sort_key, huge_equals_stable_sort, .timeout = 120)
{
    size_t n = KEY_HUGE;
    sortt_layout l = {24, 8};
    void *a = malloc(n * l.size), *b = malloc(n * l.size);
    cr_assert(a && b);
    sortt_fill(a, n, l, SORTT_RANDOM, 99);
    memcpy(b, a, n * l.size);
    cr_assert_eq(weft_par_sort_by_u64_key(a, n, l.size, sortt_key_u64), 0);
    cr_assert_eq(weft_par_sort_stable(b, n, l.size, sortt_cmp8), 0);
    cr_assert(memcmp(a, b, n * l.size) == 0, "keyed and stable comparator sorts differ");
    free(a);
    free(b);
}

Test(sort_key, errors)
{
    uint64_t a[4] = {3, 1, 2, 0};
    cr_assert_eq(weft_par_sort_by_u64_key(NULL, 2, 8, sortt_key_u64), -EINVAL);
    cr_assert_eq(weft_par_sort_by_u64_key(a, 4, 0, sortt_key_u64), -EINVAL);
    cr_assert_eq(weft_par_sort_by_u64_key(a, 4, 8, NULL), -EINVAL);
    cr_assert_eq(weft_par_sort_by_u64_key(a, SIZE_MAX / 4, 8, sortt_key_u64), -EINVAL);
    cr_assert_eq(weft_par_sort_by_u32_key(NULL, 2, 8, sortt_key_u32_of4), -EINVAL);
    cr_assert_eq(weft_par_sort_by_u32_key(a, 4, 0, sortt_key_u32_of4), -EINVAL);
    cr_assert_eq(weft_par_sort_by_u32_key(a, 4, 8, NULL), -EINVAL);
    cr_assert_eq(weft_par_sort_by_u32_key(a, SIZE_MAX / 4, 8, sortt_key_u32_of4), -EINVAL);
    cr_assert_eq(weft_par_sort_by_u64_key(NULL, 0, 8, sortt_key_u64), 0);
    cr_assert_eq(weft_par_sort_by_u32_key(a, 1, 8, sortt_key_u32_of4), 0);
    cr_assert(a[0] == 3 && a[1] == 1 && a[2] == 2 && a[3] == 0, "input touched");
}

#ifndef __SANITIZE_ADDRESS__ /* ASan aborts on impossible allocations instead of NULL */
/* Scratch that cannot be had: -ENOMEM before the input is read or written (n is a lie
 * about the array's length, so only code that never touches it can pass). */
Test(sort_key, enomem_leaves_input)
{
    uint64_t a[4] = {3, 1, 2, 0};
    size_t n = (SIZE_MAX >> 2) / 8; /* n * 8 = 2^62 bytes: no malloc can give it */
    cr_assert_eq(weft_par_sort_by_u64_key(a, n, 8, sortt_key_u64), -ENOMEM);
    cr_assert_eq(weft_par_sort_by_u32_key(a, n, 8, sortt_key_u32_of4), -ENOMEM);
    cr_assert(a[0] == 3 && a[1] == 1 && a[2] == 2 && a[3] == 0, "input touched");
}
#endif
