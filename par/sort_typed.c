/* sort_typed.c: weft_par_sort_u64 and weft_par_sort_u32, ascending sorts of unsigned
 * keys by a parallel LSD radix sort (8-bit digits: 8 passes for u64, 4 for u32).
 *
 * The keys are cut into `chunks` contiguous chunks (a few per worker). Each pass:
 * every chunk counts its digits (in parallel), one thread turns the counts into each
 * chunk's output offsets per digit, then every chunk scatters its keys (in parallel)
 * into the other buffer. A pass whose digit is the same for every key is skipped.
 * The fork over chunks is a recursive weft_join over chunk ranges.
 * Invariants:
 *  - each pass is a stable counting sort: chunk c's keys of digit d go, in chunk order,
 *    to [off[c][d], off[c][d] + count[c][d]), ranges that are disjoint across all
 *    (c, d) and cover [0, n): the parallel scatters never write the same slot;
 *  - the keys ping-pong between `keys` and one scratch buffer of n keys, allocated
 *    before anything is touched (-ENOMEM leaves the input untouched); if an odd number
 *    of passes ran, the result is copied back;
 *  - small inputs (below RADIX_PAR_MIN keys) run on the caller without the pool, and
 *    tiny ones (up to RADIX_INSERTION_MAX) by insertion sort without any scratch. */
#include "sort_internal.h"

#include <stdbool.h>
#include <stdlib.h>

#define RADIX_BITS 8
#define RADIX_BUCKETS (1u << RADIX_BITS)
/* Below this many keys, one chunk on the calling thread. */
#define RADIX_PAR_MIN 65536
/* Up to this many keys, insertion sort. */
#define RADIX_INSERTION_MAX 64
/* Chunks per worker (load balance) and at most this many in all. */
#define RADIX_CHUNKS_PER_WORKER 4
#define RADIX_MAX_CHUNKS 256

typedef size_t radix_hist[RADIX_BUCKETS];

typedef struct radix_sort {
    void *keys, *scratch;
    size_t n, width; /* width: 8 (u64) or 4 (u32) bytes per key */
    size_t chunks;
    radix_hist *hist; /* [chunks]: counts, then offsets, of the current pass */
    /* the current pass */
    const void *src;
    void *dst;
    unsigned shift;
} radix_sort;

static inline size_t chunk_begin(const radix_sort *r, size_t c)
{
    return r->n / r->chunks * c + (c < r->n % r->chunks ? c : r->n % r->chunks);
}

/* The per-chunk kernels, one copy per key type, so the hot loops are typed. */
#define RADIX_KERNELS(T, sfx)                                                             \
    static void count_##sfx(const T *src, size_t b, size_t e, unsigned shift, size_t *h)  \
    {                                                                                     \
        for (size_t i = b; i < e; i++)                                                    \
            h[(src[i] >> shift) & (RADIX_BUCKETS - 1)]++;                                 \
    }                                                                                     \
    static void scatter_##sfx(const T *src, T *dst, size_t b, size_t e, unsigned shift,  \
                              size_t *off)                                                \
    {                                                                                     \
        for (size_t i = b; i < e; i++) {                                                  \
            T k = src[i];                                                                 \
            dst[off[(k >> shift) & (RADIX_BUCKETS - 1)]++] = k;                           \
        }                                                                                 \
    }                                                                                     \
    static void insertion_##sfx(T *a, size_t n)                                           \
    {                                                                                     \
        for (size_t i = 1; i < n; i++) {                                                  \
            T k = a[i];                                                                   \
            size_t j = i;                                                                 \
            for (; j > 0 && a[j - 1] > k; j--)                                            \
                a[j] = a[j - 1];                                                          \
            a[j] = k;                                                                     \
        }                                                                                 \
    }
RADIX_KERNELS(uint64_t, u64)
RADIX_KERNELS(uint32_t, u32)

typedef enum radix_phase { PHASE_COUNT, PHASE_SCATTER, PHASE_COPY } radix_phase;

static void run_chunk(radix_sort *r, radix_phase ph, size_t c)
{
    size_t b = chunk_begin(r, c), e = chunk_begin(r, c + 1);
    size_t *h = r->hist[c];
    switch (ph) {
    case PHASE_COUNT:
        memset(h, 0, sizeof(radix_hist));
        if (r->width == 8)
            count_u64(r->src, b, e, r->shift, h);
        else
            count_u32(r->src, b, e, r->shift, h);
        break;
    case PHASE_SCATTER:
        if (r->width == 8)
            scatter_u64(r->src, r->dst, b, e, r->shift, h);
        else
            scatter_u32(r->src, r->dst, b, e, r->shift, h);
        break;
    case PHASE_COPY: /* scratch -> keys */
        memcpy((char *)r->keys + b * r->width, (const char *)r->scratch + b * r->width,
               (e - b) * r->width);
        break;
    }
}

typedef struct chunk_range {
    radix_sort *r;
    radix_phase ph;
    size_t c0, c1;
} chunk_range;

/* Run the phase on chunks [c0, c1), halving the range with weft_join. */
static void run_chunks(void *ctx)
{
    chunk_range *cr = ctx;
    if (cr->c1 - cr->c0 == 1) {
        run_chunk(cr->r, cr->ph, cr->c0);
        return;
    }
    size_t mid = cr->c0 + (cr->c1 - cr->c0) / 2;
    chunk_range a = {cr->r, cr->ph, cr->c0, mid}, b = {cr->r, cr->ph, mid, cr->c1};
    weft_join(run_chunks, &a, run_chunks, &b); /* fails only on NULL functions */
}

static void phase(radix_sort *r, radix_phase ph)
{
    chunk_range all = {r, ph, 0, r->chunks};
    if (r->chunks == 1)
        run_chunk(r, ph, 0);
    else
        run_chunks(&all);
}

/* Counts -> offsets, digit-major then chunk order. Returns false (nothing changed)
 * when one digit holds every key: the pass would not move anything. */
static bool offsets(radix_sort *r)
{
    size_t sum = 0;
    for (unsigned d = 0; d < RADIX_BUCKETS; d++) {
        size_t total = 0;
        for (size_t c = 0; c < r->chunks; c++)
            total += r->hist[c][d];
        if (total == r->n)
            return false;
        for (size_t c = 0; c < r->chunks; c++) {
            size_t k = r->hist[c][d];
            r->hist[c][d] = sum;
            sum += k;
        }
    }
    return true;
}

static void radix_body(void *ctx)
{
    radix_sort *r = ctx;
    r->src = r->keys;
    r->dst = r->scratch;
    for (unsigned shift = 0; shift < 8 * r->width; shift += RADIX_BITS) {
        r->shift = shift;
        phase(r, PHASE_COUNT);
        if (!offsets(r))
            continue;
        phase(r, PHASE_SCATTER);
        void *t = (void *)r->src;
        r->src = r->dst;
        r->dst = t;
    }
    if (r->src != r->keys)
        phase(r, PHASE_COPY);
}

static int radix_sort_keys(void *keys, size_t n, size_t width)
{
    /* n * width overflowing: no such array can exist (like weft_par_sort's n * size) */
    if ((!keys && n > 0) || n > SIZE_MAX / width)
        return -EINVAL;
    if (n <= RADIX_INSERTION_MAX) {
        if (width == 8)
            insertion_u64(keys, n);
        else
            insertion_u32(keys, n);
        return 0;
    }
    size_t chunks = 1;
    if (n >= RADIX_PAR_MIN) {
        int threads = weft_pool_num_threads(NULL);
        if (threads < 0)
            return threads;
        chunks = (size_t)threads * RADIX_CHUNKS_PER_WORKER;
        if (chunks > RADIX_MAX_CHUNKS)
            chunks = RADIX_MAX_CHUNKS;
        if (chunks > n / (RADIX_PAR_MIN / 4))
            chunks = n / (RADIX_PAR_MIN / 4);
    }
    void *scratch = weft__sort_scratch(n * width);
    radix_hist *hist = malloc(chunks * sizeof(radix_hist));
    int rc = 0;
    if (!scratch || !hist) {
        rc = -ENOMEM;
    } else {
        radix_sort r = {keys, scratch, n, width, chunks, hist, NULL, NULL, 0};
        if (chunks == 1)
            radix_body(&r);
        else
            rc = weft_pool_execute(NULL, radix_body, &r);
    }
    free(hist);
    free(scratch);
    return rc;
}

int weft_par_sort_u64(uint64_t *keys, size_t n)
{
    return radix_sort_keys(keys, n, 8);
}

int weft_par_sort_u32(uint32_t *keys, size_t n)
{
    return radix_sort_keys(keys, n, 4);
}
