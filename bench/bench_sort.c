/* bench_sort.c: the sort benchmark, `sort` of random uint64 keys: libc qsort (serial),
 * weft_par_sort, and an OpenMP task-parallel quicksort, all with the same qsort-style
 * comparator (param "cmp"); and the typed path weft_par_sort_u64 beside qsort (param
 * "u64_typed"; its serial row is the same qsort with a comparator).
 *
 * Fairness invariants:
 *  - every comparator row sorts the same keys with the same out-of-line comparator
 *    (called through a function pointer, as qsort and weft_par_sort must);
 *  - the OpenMP version is the textbook expert one: ninther pivot, Hoare partition,
 *    one `task` per side above the same cut-off weft uses (8192 elements), qsort below
 *    it, `taskwait`; the team is started before the clock;
 *  - weft's pool is created and warmed before the clock; the timed part is the call;
 *  - with oneTBB (WEFT_BENCH_HAVE_TBB), impl "tbb" is tbb::parallel_sort with the same
 *    comparator ("cmp") or std::less ("u64_typed"), its arena warmed before the clock;
 *  - only the sort is timed (filling the array is not); every result is checked sorted
 *    with the checksum of its input.
 * "rec24": records of 24 bytes (a u64 key between two u64 fields) sorted by the key:
 * weft_par_sort_by_u64_key ("weft", with a key function) beside weft_par_sort and
 * weft_par_sort_stable with a comparator on the same field ("weft-cmp",
 * "weft-stable") and qsort (serial); the same out-of-line key access in each; checked
 * sorted by key, with the records' checksum, and stable where the sort promises it.
 * ops = keys sorted, so the unit is keys/s. */
#include "bench.h"
#include "bench_tbb.h"

#include <weft/par.h>
#include <weft/runtime.h>
#include <weft/sync.h>

#include <omp.h>
#include <stdlib.h>
#include <string.h>


__attribute__((noinline)) static int sort_cmp_u64(const void *pa, const void *pb)
{
    uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;
    return (a > b) - (a < b);
}

/* size random keys (a fixed sequence) and their sum. NULL on out of memory. */
static uint64_t *make_keys(uint64_t size, uint64_t *sum)
{
    uint64_t *k = malloc((size ? size : 1) * sizeof *k);
    if (!k)
        return NULL;
    uint64_t x = 0x9e3779b97f4a7c15ull, s = 0;
    for (uint64_t i = 0; i < size; i++) {
        x ^= x << 13; /* xorshift64 */
        x ^= x >> 7;
        x ^= x << 17;
        k[i] = x;
        s += x;
    }
    *sum = s;
    return k;
}

static bool sorted_with_sum(const uint64_t *k, uint64_t size, uint64_t sum)
{
    uint64_t s = 0;
    for (uint64_t i = 0; i < size; i++) {
        if (i > 0 && k[i - 1] > k[i])
            return false;
        s += k[i];
    }
    return s == sum;
}

static bench_result sort_serial_run(const bench_args *a)
{
    bench_result res = {0};
    uint64_t sum, *k = make_keys(a->size, &sum);
    if (!k)
        return res;
    double t0 = bench_now_s();
    qsort(k, a->size, sizeof *k, sort_cmp_u64);
    res.seconds = bench_now_s() - t0;
    res.ok = sorted_with_sum(k, a->size, sum);
    res.ops = a->size;
    free(k);
    return res;
}

typedef struct sort_job {
    uint64_t *keys;
    uint64_t size;
    bool typed;
    int rc;
} sort_job;

static void sort_weft_body(void *ctx)
{
    sort_job *j = ctx;
    j->rc = j->typed ? weft_par_sort_u64(j->keys, j->size)
                     : weft_par_sort(j->keys, j->size, sizeof *j->keys, sort_cmp_u64);
}

static bench_result sort_weft_common(const bench_args *a, bool typed)
{
    bench_result res = {0};
    uint64_t sum, *k = make_keys(a->size, &sum);
    if (k) {
        sort_job j = {k, a->size, typed, -1};
        res.ok = bench_weft_timed(a, sort_weft_body, &j, &res.seconds) && j.rc == 0 &&
                 sorted_with_sum(k, a->size, sum);
        res.ops = a->size;
    }
    free(k);
    return res;
}

static bench_result sort_weft_run(const bench_args *a)
{
    return sort_weft_common(a, false);
}

static bench_result sort_typed_run(const bench_args *a)
{
    return sort_weft_common(a, true);
}

/* OpenMP: parallel quicksort with tasks. */
#define OMP_SORT_CUTOFF 8192

static inline void omp_swap(uint64_t *a, uint64_t *b)
{
    uint64_t t = *a;
    *a = *b;
    *b = t;
}

static size_t omp_med3(const uint64_t *k, size_t i, size_t j, size_t l)
{
    if (sort_cmp_u64(&k[i], &k[j]) < 0) {
        if (sort_cmp_u64(&k[j], &k[l]) < 0)
            return j;
        return sort_cmp_u64(&k[i], &k[l]) < 0 ? l : i;
    }
    if (sort_cmp_u64(&k[i], &k[l]) < 0)
        return i;
    return sort_cmp_u64(&k[j], &k[l]) < 0 ? l : j;
}

static void omp_qsort(uint64_t *k, size_t n, int depth)
{
    if (n <= OMP_SORT_CUTOFF || depth <= 0) {
        qsort(k, n, sizeof *k, sort_cmp_u64);
        return;
    }
    size_t s = n / 8;
    size_t m = omp_med3(k, omp_med3(k, 0, s, 2 * s), omp_med3(k, n / 2 - s, n / 2, n / 2 + s),
                        omp_med3(k, n - 1 - 2 * s, n - 1 - s, n - 1));
    omp_swap(&k[0], &k[m]);
    size_t i = 1, j = n - 1;
    for (;;) {
        while (i <= j && sort_cmp_u64(&k[i], &k[0]) < 0)
            i++;
        while (i <= j && sort_cmp_u64(&k[j], &k[0]) > 0)
            j--;
        if (i >= j)
            break;
        omp_swap(&k[i++], &k[j--]);
    }
    omp_swap(&k[0], &k[j]);
#pragma omp task firstprivate(k, j, depth)
    omp_qsort(k, j, depth - 1);
    omp_qsort(k + j + 1, n - j - 1, depth - 1);
#pragma omp taskwait
}

static bench_result sort_omp_run(const bench_args *a)
{
    bench_result res = {0};
    uint64_t sum, *k = make_keys(a->size, &sum);
    if (!k)
        return res;
    omp_set_num_threads(a->threads);
#pragma omp parallel
    {
    } /* start the team before the clock */
    int depth = 0;
    for (uint64_t m = a->size; m > 1; m >>= 1)
        depth += 2;
    double t0 = bench_now_s();
#pragma omp parallel
#pragma omp single
    omp_qsort(k, a->size, depth);
    res.seconds = bench_now_s() - t0;
    res.ok = sorted_with_sum(k, a->size, sum);
    res.ops = a->size;
    free(k);
    return res;
}

#ifdef WEFT_BENCH_HAVE_TBB
/* TBB: tbb::parallel_sort, with the same comparator (cmp rows) or std::less (typed). */
static bench_result sort_tbb_common(const bench_args *a, bool typed)
{
    bench_result res = {0};
    uint64_t sum, *k = make_keys(a->size, &sum);
    if (!k)
        return res;
    bool ok = bench_tbb_sort_u64(a->threads, k, a->size, typed ? NULL : sort_cmp_u64,
                                 &res.seconds);
    res.ok = ok && sorted_with_sum(k, a->size, sum);
    res.ops = a->size;
    free(k);
    return res;
}

static bench_result sort_tbb_run(const bench_args *a)
{
    return sort_tbb_common(a, false);
}

static bench_result sort_tbb_typed_run(const bench_args *a)
{
    return sort_tbb_common(a, true);
}
#endif

/* ---- records of 24 bytes sorted by a u64 field ------------------------------------ */

typedef struct rec24 {
    uint64_t index, key, payload;
} rec24;

__attribute__((noinline)) static int rec24_cmp(const void *pa, const void *pb)
{
    uint64_t a = ((const rec24 *)pa)->key, b = ((const rec24 *)pb)->key;
    return (a > b) - (a < b);
}

__attribute__((noinline)) static uint64_t rec24_key(const void *p)
{
    return ((const rec24 *)p)->key;
}

/* size records with make_keys' keys; *sum = their checksum. NULL on out of memory. */
static rec24 *make_records(uint64_t size, uint64_t *sum)
{
    uint64_t ksum, *k = make_keys(size, &ksum);
    rec24 *r = k ? malloc((size ? size : 1) * sizeof *r) : NULL;
    if (r) {
        *sum = 0;
        for (uint64_t i = 0; i < size; i++) {
            r[i] = (rec24){i, k[i], ~i};
            *sum += k[i] ^ (i * 3);
        }
    }
    free(k);
    return r;
}

/* Sorted by key, each record intact (index and payload still match), the checksum
 * kept, and, with `stable`, equal keys in index order. */
static bool records_ok(const rec24 *r, uint64_t size, uint64_t sum, bool stable)
{
    uint64_t s = 0;
    for (uint64_t i = 0; i < size; i++) {
        if (i > 0 && (r[i - 1].key > r[i].key || (stable && r[i - 1].key == r[i].key && r[i - 1].index > r[i].index)))
            return false;
        if (r[i].payload != ~r[i].index)
            return false;
        s += r[i].key ^ (r[i].index * 3);
    }
    return s == sum;
}

static bench_result rec_serial_run(const bench_args *a)
{
    bench_result res = {0};
    uint64_t sum;
    rec24 *r = make_records(a->size, &sum);
    if (!r)
        return res;
    double t0 = bench_now_s();
    qsort(r, a->size, sizeof *r, rec24_cmp);
    res.seconds = bench_now_s() - t0;
    res.ok = records_ok(r, a->size, sum, false);
    res.ops = a->size;
    free(r);
    return res;
}

typedef enum rec_sort { REC_KEY, REC_CMP, REC_STABLE } rec_sort;

typedef struct rec_job {
    rec24 *r;
    uint64_t size;
    rec_sort how;
    int rc;
} rec_job;

static void rec_weft_body(void *ctx)
{
    rec_job *j = ctx;
    switch (j->how) {
    case REC_KEY: j->rc = weft_par_sort_by_u64_key(j->r, j->size, sizeof *j->r, rec24_key); break;
    case REC_CMP: j->rc = weft_par_sort(j->r, j->size, sizeof *j->r, rec24_cmp); break;
    case REC_STABLE: j->rc = weft_par_sort_stable(j->r, j->size, sizeof *j->r, rec24_cmp); break;
    }
}

static bench_result rec_weft_common(const bench_args *a, rec_sort how)
{
    bench_result res = {0};
    uint64_t sum;
    rec24 *r = make_records(a->size, &sum);
    if (r) {
        rec_job j = {r, a->size, how, -1};
        res.ok = bench_weft_timed(a, rec_weft_body, &j, &res.seconds) && j.rc == 0 &&
                 records_ok(r, a->size, sum, how != REC_CMP);
        res.ops = a->size;
    }
    free(r);
    return res;
}

static bench_result rec_key_run(const bench_args *a)
{
    return rec_weft_common(a, REC_KEY);
}

static bench_result rec_cmp_run(const bench_args *a)
{
    return rec_weft_common(a, REC_CMP);
}

static bench_result rec_stable_run(const bench_args *a)
{
    return rec_weft_common(a, REC_STABLE);
}

#define SORT_THREADS {.min = 1}
#define SORT_ONE_THREAD {.min = 1, .max = 1, .defaults = {1}}
/* One table per problem size (--quick sorts 10^5 keys, under its own params). */
#define SORT_ROWS(N, CMP, TYPED, REC)                                                            \
    {"sort", CMP, "serial", SORT_ONE_THREAD, "keys/s", sort_serial_run, N, N, true, NULL},  \
    {"sort", CMP, "weft", SORT_THREADS, "keys/s", sort_weft_run, N, N, true, NULL},         \
    {"sort", CMP, "openmp", SORT_THREADS, "keys/s", sort_omp_run, N, N, true, NULL},        \
    BENCH_TBB_ROW("sort", CMP, "tbb", SORT_THREADS, "keys/s", sort_tbb_run, N, N, true, NULL)\
    {"sort", TYPED, "serial", SORT_ONE_THREAD, "keys/s", sort_serial_run, N, N, true, NULL},\
    {"sort", TYPED, "weft", SORT_THREADS, "keys/s", sort_typed_run, N, N, true, NULL},      \
    BENCH_TBB_ROW("sort", TYPED, "tbb", SORT_THREADS, "keys/s", sort_tbb_typed_run, N, N,   \
                  true, NULL)                                                                \
    {"sort", REC, "serial", SORT_ONE_THREAD, "keys/s", rec_serial_run, N, N, true, NULL},   \
    {"sort", REC, "weft", SORT_THREADS, "keys/s", rec_key_run, N, N, true, NULL},           \
    {"sort", REC, "weft-cmp", SORT_THREADS, "keys/s", rec_cmp_run, N, N, true, NULL},       \
    {"sort", REC, "weft-stable", SORT_THREADS, "keys/s", rec_stable_run, N, N, true, NULL}

static const bench_def sort_benches[] = {SORT_ROWS(10000000, "cmp n=1e7", "u64_typed n=1e7", "rec24_by_key n=1e7")};
static const bench_def sort_benches_quick[] = {
    SORT_ROWS(100000, "cmp n=1e5", "u64_typed n=1e5", "rec24_by_key n=1e5")};

void bench_register_sort(bench_registry *r)
{
    if (bench_registry_quick(r))
        bench_registry_add(r, sort_benches_quick,
                           sizeof sort_benches_quick / sizeof sort_benches_quick[0]);
    else
        bench_registry_add(r, sort_benches, sizeof sort_benches / sizeof sort_benches[0]);
}
