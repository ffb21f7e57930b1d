/* 17_loop_patterns.c: four loop patterns beyond par_for and reduce, on the global pool.
 *
 *   1. per-worker state: a histogram per worker, merged once at the end
 *      (weft_par_for_init; rayon's for_each_init, oneTBB's enumerable_thread_specific);
 *   2. a prefix scan: where each kept element goes when a filter compacts an array
 *      (weft_par_scan, exclusive; std::exclusive_scan, oneTBB's parallel_scan);
 *   3. an ordered search: the first and last index that match
 *      (weft_par_find_first / _last; rayon's position_first / position_last);
 *   4. sorting records by a key: a radix sort on the extracted key, stable
 *      (weft_par_sort_by_u64_key; rayon's par_sort_by_cached_key).
 *
 * Every result printed here is independent of the number of threads. */
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

#define N 1000000

static uint32_t value(size_t i) /* a fixed pseudo-random sequence */
{
    uint32_t x = (uint32_t)i * 2654435761u;
    return (x ^ (x >> 15)) % 100000;
}

/* ---- 1. per-worker state ------------------------------------------------------- */

typedef struct histogram {
    uint64_t bins[10]; /* by last decimal digit */
} histogram;

static int hist_init(void *ctx, void **state)
{
    (void)ctx;
    *state = calloc(1, sizeof(histogram)); /* once per worker, not per chunk */
    return *state ? 0 : -ENOMEM;
}

static int hist_body(void *ctx, void *state, size_t begin, size_t end)
{
    (void)ctx;
    histogram *h = state; /* this worker's own: no lock */
    for (size_t i = begin; i < end; i++)
        h->bins[value(i) % 10]++;
    return 0;
}

static void hist_fini(void *ctx, void *state)
{
    histogram *total = ctx, *h = state; /* on the calling thread, after the loop */
    for (int d = 0; d < 10; d++)
        total->bins[d] += h->bins[d];
    free(h);
}

/* ---- 2. a prefix scan: compaction offsets --------------------------------------- */

typedef struct compact {
    const uint32_t *in;
    size_t *offset; /* where in[i] goes if it is kept */
} compact;

static int keep(uint32_t v)
{
    return v % 7 == 0;
}

static int count_kept(void *ctx, size_t begin, size_t end, void *acc, bool final)
{
    const compact *c = ctx;
    size_t kept = *(size_t *)acc; /* final: how many were kept before begin */
    for (size_t i = begin; i < end; i++) {
        if (final)
            c->offset[i] = kept; /* exclusive: before counting i itself */
        kept += keep(c->in[i]);
    }
    *(size_t *)acc = kept;
    return 0;
}

static void add_size(void *ctx, void *acc, const void *other)
{
    (void)ctx;
    *(size_t *)acc += *(const size_t *)other;
}

static int write_kept(void *ctx, size_t begin, size_t end)
{
    void **io = ctx;
    const compact *c = io[0];
    uint32_t *out = io[1];
    for (size_t i = begin; i < end; i++)
        if (keep(c->in[i]))
            out[c->offset[i]] = c->in[i];
    return 0;
}

/* ---- 3. an ordered search -------------------------------------------------------- */

static size_t find_first_big(void *ctx, size_t begin, size_t end)
{
    const uint32_t *v = ctx;
    for (size_t i = begin; i < end; i++)
        if (v[i] >= 99990)
            return i;
    return WEFT_NOT_FOUND;
}

static size_t find_last_big(void *ctx, size_t begin, size_t end)
{
    const uint32_t *v = ctx;
    for (size_t i = end; i-- > begin;)
        if (v[i] >= 99990)
            return i;
    return WEFT_NOT_FOUND;
}

/* ---- 4. sorting records by a key ------------------------------------------------- */

typedef struct player {
    uint32_t id;
    uint32_t score;
    char name[8];
} player;

static uint32_t by_score(const void *p)
{
    return ((const player *)p)->score;
}

int main(void)
{
    /* 1. */
    histogram total = {{0}};
    must(weft_par_for_init(0, N, 0, hist_init, hist_body, hist_fini, &total), "par_for_init");
    printf("last digits of %d values:", N);
    for (int d = 0; d < 10; d++)
        printf(" %llu", (unsigned long long)total.bins[d]);
    printf("\n");

    /* 2. */
    uint32_t *in = malloc(N * sizeof *in), *out = malloc(N * sizeof *out);
    size_t *offset = malloc(N * sizeof *offset);
    if (!in || !out || !offset)
        return 1;
    for (size_t i = 0; i < N; i++)
        in[i] = value(i);
    compact c = {in, offset};
    size_t zero = 0, kept;
    must(weft_par_scan(0, N, 0, &zero, count_kept, add_size, &c, &kept, sizeof kept), "par_scan");
    void *io[2] = {&c, out};
    must(weft_par_for(0, N, 0, write_kept, io), "par_for");
    printf("kept %zu multiples of 7, in order: %u %u %u ... %u\n", kept, out[0], out[1], out[2], out[kept - 1]);

    /* 3. */
    size_t first, last;
    must(weft_par_find_first(0, N, 0, find_first_big, in, &first), "find_first");
    must(weft_par_find_last(0, N, 0, find_last_big, in, &last), "find_last");
    printf("first value >= 99990 at %zu (%u), last at %zu (%u)\n", first, in[first], last, in[last]);

    /* 4. */
    player team[8];
    static const char *names[8] = {"ada", "bo", "cy", "di", "ed", "flo", "gus", "hal"};
    static const uint32_t scores[8] = {30, 10, 30, 20, 10, 30, 20, 10};
    for (uint32_t i = 0; i < 8; i++) {
        team[i] = (player){i, scores[i], {0}};
        snprintf(team[i].name, sizeof team[i].name, "%s", names[i]);
    }
    must(weft_par_sort_by_u32_key(team, 8, sizeof team[0], by_score), "sort_by_key");
    printf("by score, ties in their first order:");
    for (int i = 0; i < 8; i++)
        printf(" %s=%u", team[i].name, team[i].score);
    printf("\n");
    free(in);
    free(out);
    free(offset);
    return 0;
}
