/* test_sort.c: Criterion suite `sort` for weft_par_sort, weft_par_sort_stable and the
 * typed weft_par_sort_u64/u32: every input pattern (random, sorted, reversed, all
 * equal, 4 unique keys, sawtooth, organ pipe) at sizes 0 .. 10^6, records of 1, 4, 8,
 * 12, 24 and 100 bytes, checked to be a sorted permutation of the input (and stable
 * where promised) — from the main thread and inside pools of 1, 2, 3 and 8 workers —
 * plus one 10^7-key run and the argument errors. */
#include "sort_testlib.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <weft/par.h>
#include <weft/runtime.h>

#ifdef __SANITIZE_ADDRESS__
#define SORT_BIG 100000u /* ASan+UBSan runs ~5-10x slower */
#define SORT_HUGE 1000000u
#else
#define SORT_BIG 1000000u
#define SORT_HUGE 10000000u
#endif

static const size_t sort_sizes[] = {0, 1, 2, 3, 100, 10000, 100000, SORT_BIG};
#define SORT_NSIZES (sizeof sort_sizes / sizeof sort_sizes[0])

typedef enum sort_kind { SORT_UNSTABLE, SORT_STABLE } sort_kind;

/* Sort n records of layout l in pattern p with the given sort and check the result. */
static void sort_case(sort_kind kind, size_t n, sortt_layout l, sortt_pattern p, uint64_t seed)
{
    void *a = malloc(n * l.size + 1), *ref = NULL;
    cr_assert_not_null(a);
    sortt_fill(a, n, l, p, seed);
    if (!sortt_has_index(l)) {
        ref = malloc(n * l.size + 1);
        cr_assert_not_null(ref);
        memcpy(ref, a, n * l.size);
        qsort(ref, n, l.size, sortt_cmp_for(l));
    }
    int rc = kind == SORT_STABLE ? weft_par_sort_stable(a, n, l.size, sortt_cmp_for(l))
                                 : weft_par_sort(a, n, l.size, sortt_cmp_for(l));
    cr_assert_eq(rc, 0, "sort returned %d", rc);
    const char *err = sortt_check(a, n, l, p, seed, kind == SORT_STABLE, ref);
    cr_assert_null(err, "%s: n=%zu size=%zu key=%zu pattern=%d %s", err, n, l.size, l.key_width,
                   (int)p, kind == SORT_STABLE ? "stable" : "unstable");
    free(ref);
    free(a);
}

/* Whether to run pattern p at size n: at the largest size only the patterns that
 * stress different paths (random, few unique keys, sawtooth), to keep the suite short. */
static bool sort_pattern_at(size_t n, int p)
{
    return n < SORT_BIG || p == SORTT_RANDOM || p == SORTT_FEW_UNIQUE || p == SORTT_SAWTOOTH;
}

/* Every pattern at every size up to max_n. */
static void sort_all_patterns(sort_kind kind, sortt_layout l, size_t max_n)
{
    for (size_t s = 0; s < SORT_NSIZES; s++)
        if (sort_sizes[s] <= max_n)
            for (int p = 0; p < SORTT_NPATTERNS; p++)
                if (sort_pattern_at(sort_sizes[s], p))
                    sort_case(kind, sort_sizes[s], l, (sortt_pattern)p, s + 1);
}

Test(sort, unstable_u64_records)
{
    sort_all_patterns(SORT_UNSTABLE, (sortt_layout){8, 8}, SIZE_MAX);
}

Test(sort, unstable_indexed_records)
{
    sort_all_patterns(SORT_UNSTABLE, (sortt_layout){12, 4}, SIZE_MAX);
    sort_all_patterns(SORT_UNSTABLE, (sortt_layout){24, 8}, 100000);
    sort_all_patterns(SORT_UNSTABLE, (sortt_layout){100, 4}, 100000);
}

Test(sort, unstable_small_elements)
{
    sort_all_patterns(SORT_UNSTABLE, (sortt_layout){1, 1}, SIZE_MAX);
    sort_all_patterns(SORT_UNSTABLE, (sortt_layout){4, 4}, SIZE_MAX);
}

Test(sort, stable_records)
{
    sort_all_patterns(SORT_STABLE, (sortt_layout){12, 4}, SIZE_MAX);
    sort_all_patterns(SORT_STABLE, (sortt_layout){24, 8}, 100000);
    sort_all_patterns(SORT_STABLE, (sortt_layout){100, 4}, 100000);
    sort_all_patterns(SORT_STABLE, (sortt_layout){5, 1}, 100000); /* 1-byte keys: many equal */
}

Test(sort, stable_plain_elements)
{
    sort_all_patterns(SORT_STABLE, (sortt_layout){1, 1}, 100000);
    sort_all_patterns(SORT_STABLE, (sortt_layout){4, 4}, 100000);
    sort_all_patterns(SORT_STABLE, (sortt_layout){8, 8}, SIZE_MAX);
}

/* Typed sorts against qsort. */
static int sort_cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static void typed_case(size_t n, sortt_pattern p, uint64_t seed, bool wide)
{
    size_t w = wide ? 8 : 4;
    sortt_layout l = {w, w};
    void *a = malloc(n * w + 1), *ref = malloc(n * w + 1);
    cr_assert(a && ref);
    sortt_fill(a, n, l, p, seed);
    memcpy(ref, a, n * w);
    qsort(ref, n, w, wide ? sortt_cmp8 : sort_cmp_u32);
    int rc = wide ? weft_par_sort_u64(a, n) : weft_par_sort_u32(a, n);
    cr_assert_eq(rc, 0);
    cr_assert(n == 0 || memcmp(a, ref, n * w) == 0, "typed u%zu n=%zu pattern=%d", 8 * w, n, (int)p);
    free(a);
    free(ref);
}

Test(sort, typed_all_patterns)
{
    for (size_t s = 0; s < SORT_NSIZES; s++)
        for (int p = 0; p < SORTT_NPATTERNS; p++) {
            if (!sort_pattern_at(sort_sizes[s], p))
                continue;
            typed_case(sort_sizes[s], (sortt_pattern)p, s + 7, true);
            typed_case(sort_sizes[s], (sortt_pattern)p, s + 7, false);
        }
}

/* Keys that differ only in their top byte (only the last radix pass moves them), and
 * sizes around the radix sort's cut-offs. */
Test(sort, typed_edges)
{
    size_t n = 200000;
    uint64_t *a = malloc(n * 8);
    cr_assert_not_null(a);
    for (size_t i = 0; i < n; i++)
        a[i] = (sortt_mix(i) & 0xff00000000000000ull) | 5;
    cr_assert_eq(weft_par_sort_u64(a, n), 0);
    for (size_t i = 1; i < n; i++)
        cr_assert(a[i - 1] <= a[i]);
    free(a);
    static const size_t edge_sizes[] = {63, 64, 65, 65535, 65536, 65537, 131071};
    for (size_t s = 0; s < sizeof edge_sizes / sizeof edge_sizes[0]; s++) {
        typed_case(edge_sizes[s], SORTT_RANDOM, s, true);
        typed_case(edge_sizes[s], SORTT_RANDOM, s, false);
    }
}

/* One big run of each: 10^7 random uint64 (10^6 under ASan). */
Test(sort, huge_u64, .timeout = 120)
{
    size_t n = SORT_HUGE;
    uint64_t *a = malloc(n * 8), *b = malloc(n * 8);
    cr_assert(a && b);
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += a[i] = b[i] = sortt_mix(i);
    cr_assert_eq(weft_par_sort_u64(a, n), 0);
    cr_assert_eq(weft_par_sort(b, n, 8, sortt_cmp8), 0);
    uint64_t sa = a[0], sb = b[0];
    for (size_t i = 1; i < n; i++) {
        cr_assert(a[i - 1] <= a[i] && b[i - 1] <= b[i], "not sorted at %zu", i);
        sa += a[i];
        sb += b[i];
    }
    cr_assert(sa == sum && sb == sum, "checksum changed");
    cr_assert(memcmp(a, b, n * 8) == 0);
    free(a);
    free(b);
}

/* The same sorts inside pools of several sizes (the call nests in the worker). */
typedef struct sort_in_pool {
    bool done;
} sort_in_pool;

static void sort_pool_body(void *ctx)
{
    sort_in_pool *s = ctx;
    static const size_t ns[] = {3, 10000, 100000};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        sort_case(SORT_UNSTABLE, ns[i], (sortt_layout){12, 4}, SORTT_RANDOM, i);
        sort_case(SORT_UNSTABLE, ns[i], (sortt_layout){8, 8}, SORTT_FEW_UNIQUE, i);
        sort_case(SORT_STABLE, ns[i], (sortt_layout){12, 4}, SORTT_FEW_UNIQUE, i);
        sort_case(SORT_STABLE, ns[i], (sortt_layout){24, 8}, SORTT_SAWTOOTH, i);
        typed_case(ns[i], SORTT_RANDOM, i, true);
        typed_case(ns[i], SORTT_RANDOM, i, false);
    }
    s->done = true;
}

Test(sort, in_pools)
{
    static const unsigned threads[] = {1, 2, 3, 8};
    for (size_t t = 0; t < sizeof threads / sizeof threads[0]; t++) {
        weft_pool_config cfg = WEFT_POOL_CONFIG_INIT;
        cfg.num_threads = threads[t];
        weft_pool *pool = NULL;
        cr_assert_eq(weft_pool_create(&cfg, &pool), 0);
        sort_in_pool s = {false};
        cr_assert_eq(weft_pool_run(pool, sort_pool_body, &s), 0);
        cr_assert(s.done);
        cr_assert_eq(weft_pool_destroy(pool), 0);
    }
}

/* Stability with records (key, original index) and few keys, checked directly. */
typedef struct sort_rec {
    uint32_t key, index;
} sort_rec;

static int sort_rec_cmp(const void *a, const void *b)
{
    const sort_rec *x = a, *y = b;
    return (x->key > y->key) - (x->key < y->key);
}

Test(sort, stable_few_keys)
{
    size_t n = 500000;
    sort_rec *r = malloc(n * sizeof *r);
    cr_assert_not_null(r);
    for (size_t i = 0; i < n; i++)
        r[i] = (sort_rec){(uint32_t)(sortt_mix(i) % 3), (uint32_t)i};
    cr_assert_eq(weft_par_sort_stable(r, n, sizeof *r, sort_rec_cmp), 0);
    for (size_t i = 1; i < n; i++) {
        cr_assert(r[i - 1].key <= r[i].key);
        if (r[i - 1].key == r[i].key)
            cr_assert(r[i - 1].index < r[i].index, "unstable at %zu", i);
    }
    free(r);
}

Test(sort, errors)
{
    uint64_t a[4] = {3, 1, 2, 0};
    cr_assert_eq(weft_par_sort(NULL, 2, 8, sortt_cmp8), -EINVAL);
    cr_assert_eq(weft_par_sort(a, 4, 0, sortt_cmp8), -EINVAL);
    cr_assert_eq(weft_par_sort(a, 4, 8, NULL), -EINVAL);
    cr_assert_eq(weft_par_sort(a, SIZE_MAX / 4, 8, sortt_cmp8), -EINVAL);
    cr_assert_eq(weft_par_sort_stable(NULL, 2, 8, sortt_cmp8), -EINVAL);
    cr_assert_eq(weft_par_sort_stable(a, 4, 0, sortt_cmp8), -EINVAL);
    cr_assert_eq(weft_par_sort_stable(a, 4, 8, NULL), -EINVAL);
    cr_assert_eq(weft_par_sort_stable(a, SIZE_MAX / 4, 8, sortt_cmp8), -EINVAL);
    cr_assert_eq(weft_par_sort_u64(NULL, 2), -EINVAL);
    cr_assert_eq(weft_par_sort_u32(NULL, 2), -EINVAL);
    /* empty ranges and single elements are no-ops */
    cr_assert_eq(weft_par_sort(NULL, 0, 8, sortt_cmp8), 0);
    cr_assert_eq(weft_par_sort_stable(NULL, 0, 8, sortt_cmp8), 0);
    cr_assert_eq(weft_par_sort_u64(NULL, 0), 0);
    cr_assert_eq(weft_par_sort_u32(NULL, 0), 0);
    cr_assert_eq(weft_par_sort(a, 1, 8, sortt_cmp8), 0);
    cr_assert_eq(weft_par_sort_stable(a, 1, 8, sortt_cmp8), 0);
    cr_assert(a[0] == 3 && a[1] == 1 && a[2] == 2 && a[3] == 0, "input touched");
}

#ifndef __SANITIZE_ADDRESS__ /* ASan aborts on impossible allocations instead of NULL */
/* Scratch that cannot be had: -ENOMEM before the input is read or written (n is a lie
 * about the array's length, so only code that never touches it can pass). */
Test(sort, enomem_leaves_input)
{
    uint64_t a[4] = {3, 1, 2, 0};
    size_t n = (SIZE_MAX >> 2) / 8; /* n * 8 = 2^62 bytes: no malloc can give it */
    cr_assert_eq(weft_par_sort_stable(a, n, 8, sortt_cmp8), -ENOMEM);
    cr_assert_eq(weft_par_sort_u64(a, n), -ENOMEM);
    cr_assert(a[0] == 3 && a[1] == 1 && a[2] == 2 && a[3] == 0, "input touched");
}
#endif
