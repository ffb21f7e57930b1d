/* stress_sort.c: the sorts under concurrency (a standalone program, so it also runs
 * under ThreadSanitizer): several outside threads sort at once on the global pool,
 * and sorts nest inside a join on a pool's workers (two sorts forked side by side,
 * each forking its own halves); the keyed sorts too. Every result is checked to be a sorted permutation of
 * its input (stable where promised); timings are never checked. */
#include "check.h"
#include "sort_testlib.h"

#include <pthread.h>
#include <weft/par.h>
#include <weft/runtime.h>

/* Sizes big enough that every sort goes parallel (above its serial cut-offs). */
#define STRESS_N WEFT_TSAN_OR(20000, 200000)

/* One round of every sort on its own arrays, seeded by `seed`. */
static void sort_round(uint64_t seed, size_t n)
{
    /* the generic element size of weft_par_sort (12, 24) and a specialised one (16) */
    static const sortt_layout layouts[] = {{12, 4}, {24, 8}, {16, 8}};
    for (size_t li = 0; li < sizeof layouts / sizeof layouts[0]; li++) {
        sortt_layout l = layouts[li];
        sortt_pattern p = (sortt_pattern)(seed % SORTT_NPATTERNS);
        void *a = malloc(n * l.size);
        CHECK(a != NULL, "out of memory");
        sortt_fill(a, n, l, p, seed);
        CHECK(weft_par_sort(a, n, l.size, sortt_cmp_for(l)) == 0, "par_sort failed");
        const char *err = sortt_check(a, n, l, p, seed, false, NULL);
        CHECK(err == NULL, "unstable n=%zu: %s", n, err);
        sortt_fill(a, n, l, p, seed);
        CHECK(weft_par_sort_stable(a, n, l.size, sortt_cmp_for(l)) == 0, "stable failed");
        err = sortt_check(a, n, l, p, seed, true, NULL);
        CHECK(err == NULL, "stable n=%zu: %s", n, err);
        sortt_fill(a, n, l, p, seed);
        CHECK(sortt_sort_by_key(a, n, l) == 0, "keyed sort failed");
        err = sortt_check(a, n, l, p, seed, true, NULL);
        CHECK(err == NULL, "keyed n=%zu: %s", n, err);
        free(a);
    }
    uint64_t *k = malloc(n * 8);
    CHECK(k != NULL, "out of memory");
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += k[i] = sortt_mix(i + seed) >> (seed % 64);
    CHECK(weft_par_sort_u64(k, n) == 0, "sort_u64 failed");
    uint64_t s2 = k[0];
    for (size_t i = 1; i < n; i++) {
        CHECK(k[i - 1] <= k[i], "u64 out of order at %zu", i);
        s2 += k[i];
    }
    CHECK(s2 == sum, "u64 checksum");
    uint32_t *k32 = (uint32_t *)k;
    uint32_t sum32 = 0;
    for (size_t i = 0; i < n; i++)
        sum32 += k32[i] = (uint32_t)sortt_mix(i ^ seed);
    CHECK(weft_par_sort_u32(k32, n) == 0, "sort_u32 failed");
    uint32_t t32 = k32[0];
    for (size_t i = 1; i < n; i++) {
        CHECK(k32[i - 1] <= k32[i], "u32 out of order at %zu", i);
        t32 += k32[i];
    }
    CHECK(t32 == sum32, "u32 checksum");
    free(k);
}

typedef struct outside_arg {
    uint64_t seed;
    long rounds;
} outside_arg;

static void *outside_thread(void *p)
{
    outside_arg *a = p;
    for (long r = 0; r < a->rounds; r++)
        sort_round(a->seed * 1000 + (uint64_t)r, STRESS_N);
    return NULL;
}

typedef struct nested_arg {
    uint64_t seed;
} nested_arg;

static void nested_half(void *p)
{
    nested_arg *a = p;
    sort_round(a->seed, STRESS_N / 2);
}

static void nested_root(void *p)
{
    long rounds = *(long *)p;
    for (long r = 0; r < rounds; r++) {
        nested_arg x = {(uint64_t)(2 * r)}, y = {(uint64_t)(2 * r + 1)};
        CHECK(weft_join(nested_half, &x, nested_half, &y) == 0, "join failed");
    }
}

int main(void)
{
    enum { OUTSIDE = 3 };
    long rounds = stress_iters(5);
    pthread_t th[OUTSIDE];
    outside_arg args[OUTSIDE];
    for (int i = 0; i < OUTSIDE; i++) {
        args[i] = (outside_arg){(uint64_t)i + 1, rounds};
        CHECK(pthread_create(&th[i], NULL, outside_thread, &args[i]) == 0, "pthread_create");
    }
    for (int i = 0; i < OUTSIDE; i++)
        CHECK(pthread_join(th[i], NULL) == 0, "pthread_join");

    static const unsigned threads[] = {1, 3};
    for (size_t t = 0; t < 2; t++) {
        weft_pool_config cfg = WEFT_POOL_CONFIG_INIT;
        cfg.num_threads = threads[t];
        weft_pool *pool = NULL;
        CHECK(weft_pool_create(&cfg, &pool) == 0, "pool_create");
        CHECK(weft_pool_run(pool, nested_root, &rounds) == 0, "pool_run");
        CHECK(weft_pool_destroy(pool) == 0, "pool_destroy");
    }
    printf("stress_sort: ok\n");
    return 0;
}
