/* radix.c: the LSD radix sort engine of radix_internal.h (its comment has the scheme
 * and the invariants). */
#include "radix_internal.h"

#include <weft/runtime.h>

#include <string.h>

/* Chunks per worker (load balance), at most this many in all, and at least this many
 * keys each (a chunk's histogram is WEFT_RADIX_BUCKETS counters to clear and sum). */
#define RADIX_CHUNKS_PER_WORKER 4
#define RADIX_MAX_CHUNKS 256
#define RADIX_CHUNK_MIN (WEFT_RADIX_PAR_MIN / 4)

size_t weft__radix_chunks(size_t n, int threads)
{
    if (n < WEFT_RADIX_PAR_MIN || threads <= 1)
        return 1;
    size_t chunks = (size_t)threads * RADIX_CHUNKS_PER_WORKER;
    if (chunks > RADIX_MAX_CHUNKS)
        chunks = RADIX_MAX_CHUNKS;
    if (chunks > n / RADIX_CHUNK_MIN)
        chunks = n / RADIX_CHUNK_MIN;
    return chunks;
}

/* The per-chunk kernels, one copy per key (and payload) type, so the hot loops are
 * typed. */
#define DIGIT(k, shift) (size_t)(((k) >> (shift)) & (WEFT_RADIX_BUCKETS - 1))
#define RADIX_COUNT(T, sfx)                                                                 \
    static void count_##sfx(const T *src, size_t b, size_t e, unsigned shift, size_t *h)    \
    {                                                                                       \
        for (size_t i = b; i < e; i++)                                                      \
            h[DIGIT(src[i], shift)]++;                                                      \
    }                                                                                       \
    static void scatter_##sfx(const T *src, T *dst, size_t b, size_t e, unsigned shift,    \
                              size_t *off)                                                  \
    {                                                                                       \
        for (size_t i = b; i < e; i++) {                                                    \
            T k = src[i];                                                                   \
            dst[off[DIGIT(k, shift)]++] = k;                                                \
        }                                                                                   \
    }
RADIX_COUNT(uint64_t, u64)
RADIX_COUNT(uint32_t, u32)

/* One chunk: every digit's histogram in one sweep. A pass's offsets are then its
 * digit's prefix sums, whatever order the earlier passes left the keys in. */
#define RADIX_COUNT_ALL(T, sfx)                                                             \
    static void count_all_##sfx(const T *src, size_t n, weft_radix_hist *h)                 \
    {                                                                                       \
        for (size_t i = 0; i < n; i++) {                                                    \
            T k = src[i];                                                                   \
            for (unsigned d = 0; d < sizeof(T); d++)                                        \
                h[d][DIGIT(k, d * WEFT_RADIX_BITS)]++;                                      \
        }                                                                                   \
    }
RADIX_COUNT_ALL(uint64_t, u64)
RADIX_COUNT_ALL(uint32_t, u32)

#define RADIX_SCATTER_PAYLOAD(TK, TP, sfx)                                                  \
    static void scatter_##sfx(const TK *src, TK *dst, const TP *psrc, TP *pdst, size_t b,   \
                              size_t e, unsigned shift, size_t *off)                        \
    {                                                                                       \
        for (size_t i = b; i < e; i++) {                                                    \
            TK k = src[i];                                                                  \
            size_t to = off[DIGIT(k, shift)]++;                                             \
            dst[to] = k;                                                                    \
            pdst[to] = psrc[i];                                                             \
        }                                                                                   \
    }
RADIX_SCATTER_PAYLOAD(uint64_t, uint32_t, u64_p32)
RADIX_SCATTER_PAYLOAD(uint64_t, uint64_t, u64_p64)

static void count_chunk(void *ctx, size_t c)
{
    weft_radix *r = ctx;
    size_t b = weft__radix_chunk_begin(r->n, r->chunks, c), e = weft__radix_chunk_begin(r->n, r->chunks, c + 1);
    size_t *h = r->hist[c];
    memset(h, 0, sizeof(weft_radix_hist));
    if (r->key_width == 8)
        count_u64(r->src, b, e, r->shift, h);
    else
        count_u32(r->src, b, e, r->shift, h);
}

static void scatter_chunk(void *ctx, size_t c)
{
    weft_radix *r = ctx;
    size_t b = weft__radix_chunk_begin(r->n, r->chunks, c), e = weft__radix_chunk_begin(r->n, r->chunks, c + 1);
    size_t *h = r->hist[c];
    if (!r->payload) {
        if (r->key_width == 8)
            scatter_u64(r->src, r->dst, b, e, r->shift, h);
        else
            scatter_u32(r->src, r->dst, b, e, r->shift, h);
    } else if (r->payload_width == 4) {
        scatter_u64_p32(r->src, r->dst, r->psrc, r->pdst, b, e, r->shift, h);
    } else {
        scatter_u64_p64(r->src, r->dst, r->psrc, r->pdst, b, e, r->shift, h);
    }
}

typedef struct chunk_range {
    void (*fn)(void *ctx, size_t c);
    void *ctx;
    size_t c0, c1;
} chunk_range;

/* Run fn on chunks [c0, c1), halving the range with weft_join. */
static void run_chunks(void *arg)
{
    chunk_range *cr = arg;
    if (cr->c1 - cr->c0 == 1) {
        cr->fn(cr->ctx, cr->c0);
        return;
    }
    size_t mid = cr->c0 + (cr->c1 - cr->c0) / 2;
    chunk_range a = {cr->fn, cr->ctx, cr->c0, mid}, b = {cr->fn, cr->ctx, mid, cr->c1};
    weft_join(run_chunks, &a, run_chunks, &b); /* fails only on NULL functions */
}

void weft__radix_for_chunks(size_t chunks, void (*fn)(void *ctx, size_t c), void *ctx)
{
    if (chunks == 1) {
        fn(ctx, 0);
        return;
    }
    chunk_range all = {fn, ctx, 0, chunks};
    run_chunks(&all);
}

void weft__radix_count(weft_radix *r)
{
    weft__radix_for_chunks(r->chunks, count_chunk, r);
}

bool weft__radix_offsets(weft_radix *r)
{
    size_t sum = 0;
    for (unsigned d = 0; d < WEFT_RADIX_BUCKETS; d++) {
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

void weft__radix_sort(weft_radix *r)
{
    r->src = r->keys;
    r->dst = r->keys_tmp;
    r->psrc = r->payload;
    r->pdst = r->payload_tmp;
    r->in_tmp = false;
    /* One chunk: count every digit at once (a chunk's counts per pass depend on the
     * order the previous pass left, but one chunk's are just the whole set's). */
    weft_radix_hist all[8];
    bool counted = r->chunks == 1;
    if (counted) {
        memset(all, 0, r->key_width * sizeof(weft_radix_hist));
        if (r->key_width == 8)
            count_all_u64(r->src, r->n, all);
        else
            count_all_u32(r->src, r->n, all);
    }
    for (unsigned shift = 0; shift < 8 * r->key_width; shift += WEFT_RADIX_BITS) {
        if (((r->vary >> shift) & (WEFT_RADIX_BUCKETS - 1)) == 0)
            continue;
        r->shift = shift;
        if (counted)
            memcpy(r->hist[0], all[shift / WEFT_RADIX_BITS], sizeof(weft_radix_hist));
        else
            weft__radix_count(r);
        if (!weft__radix_offsets(r))
            continue;
        weft__radix_for_chunks(r->chunks, scatter_chunk, r);
        const void *t = r->src;
        r->src = r->dst;
        r->dst = (void *)t;
        t = r->psrc;
        r->psrc = r->pdst;
        r->pdst = (void *)t;
        r->in_tmp = !r->in_tmp;
    }
}
