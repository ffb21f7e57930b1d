/* sort_key.c: weft_par_sort_by_u64_key and weft_par_sort_by_u32_key, stable sorts of
 * records by an unsigned key that a function extracts (rayon's par_sort_by_cached_key):
 * every key is extracted once, the sort runs on the keys (radix.c), and each record
 * moves twice.
 *
 *  1. extract (chunks in parallel): keys[i] = key(record i), and the key bits that
 *     vary within each chunk: all keys equal means nothing to do;
 *  2. one MSD pass on the highest varying 8-bit digit: radix.c's count and offsets,
 *     and a scatter here that moves each record with its key into the scratch, so
 *     the scratch holds up to 256 buckets, each a contiguous range in input order;
 *  3. each bucket (buckets in parallel): its keys are sorted with their indices in
 *     the bucket (radix.c with a payload) by the varying bits below the MSD digit —
 *     in a core's cache for a bucket of n / 256 records, in parallel chunks for a
 *     big one — then its records are gathered from the scratch into their places in
 *     base (the bucket's range), again from cache.
 * Below KEY_MSD_MIN records step 2 is one bucket: the scratch is a copy of base, and
 * step 3 sorts by every varying bit.
 * Invariants: stable at every step (the extraction keeps input order, the MSD scatter
 * and every radix pass are stable counting sorts, ties keep their bucket indices in
 * order, and the gather writes records in the sorted indices' order); the buffers are
 * allocated before base is touched (-ENOMEM leaves it as it was); buckets are
 * disjoint ranges of every buffer, so their sorts and gathers never meet; key is
 * called exactly once per record. */
#include "radix_internal.h"
#include "sort_internal.h"

#include <stdalign.h>
#include <stdbool.h>
#include <stdlib.h>

/* Up to this many records (and in a bucket), insertion sort on the keys. */
#define KEY_INSERTION_MAX 32
/* Below this many records, no MSD pass: one bucket. */
#define KEY_MSD_MIN 32768

typedef struct key_sort {
    char *base;
    size_t n, size;
    weft_key_u64_fn key64;
    weft_key_u32_fn key32;
    int threads;
    size_t chunks;
    uint64_t *keys, *keys2;  /* n each: input order / bucket order (and a bucket's ping-pong) */
    char *scratch;           /* n records in bucket order */
    void *idx, *idx2;        /* n indices in a bucket each, of idx_width bytes */
    unsigned idx_width;
    weft_radix_hist *hist;   /* chunks */
    uint64_t *vary_of;       /* chunks: bits that vary in the chunk; then the chunk's first key */
    uint64_t vary;           /* the bits that vary over all keys */
    bool msd;                /* step 2 ran */
    size_t bucket[WEFT_RADIX_BUCKETS + 1]; /* bucket d is [bucket[d], bucket[d + 1]) */
    /* Histograms of the buckets sorted in chunks: bucket d's are from hist_at[d]. */
    weft_radix_hist *bucket_hist;
    size_t hist_at[WEFT_RADIX_BUCKETS + 1];
    int rc;
} key_sort;

/* Copy one record: fixed sizes are inlined moves, the rest memcpy. */
static inline void copy_record(char *dst, const char *src, size_t size)
{
    switch (size) {
    case 4: memcpy(dst, src, 4); break;
    case 8: memcpy(dst, src, 8); break;
    case 12: memcpy(dst, src, 12); break;
    case 16: memcpy(dst, src, 16); break;
    case 24: memcpy(dst, src, 24); break;
    case 32: memcpy(dst, src, 32); break;
    default: memcpy(dst, src, size); break;
    }
}

static inline uint64_t key_of(const key_sort *ks, const char *rec)
{
    return ks->key64 ? ks->key64(rec) : ks->key32(rec);
}

static void chunk_bounds(const key_sort *ks, size_t c, size_t *b, size_t *e)
{
    *b = weft__radix_chunk_begin(ks->n, ks->chunks, c);
    *e = weft__radix_chunk_begin(ks->n, ks->chunks, c + 1);
}

/* Step 1 on chunk c. */
static void extract_chunk(void *ctx, size_t c)
{
    key_sort *ks = ctx;
    size_t b, e;
    chunk_bounds(ks, c, &b, &e);
    const char *rec = ks->base + b * ks->size;
    uint64_t first = ks->keys[b] = key_of(ks, rec), vary = 0;
    rec += ks->size;
    for (size_t i = b + 1; i < e; i++, rec += ks->size) {
        uint64_t k = key_of(ks, rec);
        ks->keys[i] = k;
        vary |= k ^ first;
    }
    ks->vary_of[c] = vary;
}

/* Step 2's scatter on chunk c: records and keys to their bucket's next places. */
static void msd_scatter_chunk(void *ctx, size_t c)
{
    key_sort *ks = ctx;
    size_t b, e, size = ks->size, *off = ks->hist[c];
    unsigned shift = (unsigned)(63 - __builtin_clzll(ks->vary)) / WEFT_RADIX_BITS * WEFT_RADIX_BITS;
    chunk_bounds(ks, c, &b, &e);
    const char *rec = ks->base + b * size;
    for (size_t i = b; i < e; i++, rec += size) {
        uint64_t k = ks->keys[i];
        size_t to = off[(k >> shift) & (WEFT_RADIX_BUCKETS - 1)]++;
        ks->keys2[to] = k;
        copy_record(ks->scratch + to * size, rec, size);
    }
}

static void copy_chunk(void *ctx, size_t c)
{
    key_sort *ks = ctx;
    size_t b, e;
    chunk_bounds(ks, c, &b, &e);
    memcpy(ks->scratch + b * ks->size, ks->base + b * ks->size, (e - b) * ks->size);
}

/* Stable insertion sort of keys k[0, m) carrying indices p (of type T). */
#define INSERTION_P(T, sfx)                                                               \
    static void insertion_##sfx(uint64_t *k, T *p, size_t m)                              \
    {                                                                                     \
        for (size_t i = 1; i < m; i++) {                                                  \
            uint64_t key = k[i];                                                          \
            T v = p[i];                                                                   \
            size_t j = i;                                                                 \
            for (; j > 0 && k[j - 1] > key; j--) {                                        \
                k[j] = k[j - 1];                                                          \
                p[j] = p[j - 1];                                                          \
            }                                                                             \
            k[j] = key;                                                                   \
            p[j] = v;                                                                     \
        }                                                                                 \
    }
INSERTION_P(uint32_t, p32)
INSERTION_P(uint64_t, p64)

/* A bucket's gather: base[from + j] = scratch[from + idx[j]] for j in [b, e). */
typedef struct gather {
    const key_sort *ks;
    size_t from;
    const void *idx;
} gather;

static int gather_body(void *ctx, size_t b, size_t e)
{
    const gather *g = ctx;
    const key_sort *ks = g->ks;
    size_t size = ks->size;
    char *dst = ks->base + (g->from + b) * size;
    const char *src = ks->scratch + g->from * size;
    if (ks->idx_width == 4) {
        const uint32_t *p = g->idx;
        for (size_t j = b; j < e; j++, dst += size)
            copy_record(dst, src + (size_t)p[j] * size, size);
    } else {
        const uint64_t *p = g->idx;
        for (size_t j = b; j < e; j++, dst += size)
            copy_record(dst, src + (size_t)p[j] * size, size);
    }
    return 0;
}

/* Step 3 on bucket d. */
static int bucket_body(void *ctx, size_t d0, size_t d1)
{
    key_sort *ks = ctx;
    for (size_t d = d0; d < d1; d++) {
        size_t from = ks->bucket[d], m = ks->bucket[d + 1] - from;
        if (m == 0)
            continue;
        /* The bits to sort by in the bucket: those below the MSD digit (all of them
         * without an MSD pass). */
        uint64_t bits = ks->vary;
        if (ks->msd) {
            unsigned shift = (unsigned)(63 - __builtin_clzll(ks->vary)) / WEFT_RADIX_BITS * WEFT_RADIX_BITS;
            bits &= shift ? ((uint64_t)1 << shift) - 1 : 0;
        }
        uint64_t *k = (ks->msd ? ks->keys2 : ks->keys) + from, *k2 = (ks->msd ? ks->keys : ks->keys2) + from;
        char *idx = (char *)ks->idx + from * ks->idx_width, *idx2 = (char *)ks->idx2 + from * ks->idx_width;
        if (ks->idx_width == 4)
            for (size_t j = 0; j < m; j++)
                ((uint32_t *)idx)[j] = (uint32_t)j;
        else
            for (size_t j = 0; j < m; j++)
                ((uint64_t *)idx)[j] = j;
        gather g = {ks, from, idx};
        if (bits && m <= KEY_INSERTION_MAX) {
            if (ks->idx_width == 4)
                insertion_p32(k, (uint32_t *)idx, m);
            else
                insertion_p64(k, (uint64_t *)idx, m);
        } else if (bits) {
            size_t chunks = weft__radix_chunks(m, ks->threads);
            weft_radix_hist one;
            weft_radix r = {.keys = k, .keys_tmp = k2, .payload = idx, .payload_tmp = idx2, .n = m,
                            .key_width = 8, .payload_width = ks->idx_width, .vary = bits, .chunks = chunks,
                            .hist = chunks == 1 ? &one : ks->bucket_hist + ks->hist_at[d]};
            weft__radix_sort(&r);
            if (r.in_tmp)
                g.idx = idx2;
        }
        int rc = m >= WEFT_RADIX_PAR_MIN && ks->threads > 1 ? weft_par_for(0, m, 0, gather_body, &g)
                                                           : gather_body(&g, 0, m);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static void key_sort_body(void *ctx)
{
    key_sort *ks = ctx;
    weft__radix_for_chunks(ks->chunks, extract_chunk, ks);
    uint64_t vary = 0, first = ks->keys[0];
    for (size_t c = 0; c < ks->chunks; c++)
        vary |= ks->vary_of[c] | (ks->keys[weft__radix_chunk_begin(ks->n, ks->chunks, c)] ^ first);
    ks->vary = vary;
    if (vary == 0)
        return; /* every key equal: a stable sort moves nothing */
    size_t nb = 1;
    ks->msd = ks->n >= KEY_MSD_MIN;
    if (ks->msd) {
        weft_radix r = {.keys = ks->keys, .n = ks->n, .key_width = 8, .chunks = ks->chunks, .hist = ks->hist};
        r.src = ks->keys;
        r.shift = (unsigned)(63 - __builtin_clzll(vary)) / WEFT_RADIX_BITS * WEFT_RADIX_BITS;
        weft__radix_count(&r);
        weft__radix_offsets(&r); /* true: the digit varies */
        for (unsigned d = 0; d < WEFT_RADIX_BUCKETS; d++)
            ks->bucket[d] = ks->hist[0][d];
        nb = WEFT_RADIX_BUCKETS;
        weft__radix_for_chunks(ks->chunks, msd_scatter_chunk, ks);
    } else {
        ks->bucket[0] = 0;
        weft__radix_for_chunks(ks->chunks, copy_chunk, ks);
    }
    ks->bucket[nb] = ks->n;
    /* The histograms of the buckets sorted in chunks, allocated before base is
     * written (a failure leaves it as it was). */
    size_t total = 0;
    for (size_t d = 0; d < nb; d++) {
        size_t chunks = weft__radix_chunks(ks->bucket[d + 1] - ks->bucket[d], ks->threads);
        ks->hist_at[d] = total;
        total += chunks > 1 ? chunks : 0;
    }
    if (total > 0 && !(ks->bucket_hist = malloc(total * sizeof(weft_radix_hist)))) {
        ks->rc = -ENOMEM;
        return;
    }
    ks->rc = ks->threads > 1 && nb > 1 ? weft_par_for(0, nb, 1, bucket_body, ks) : bucket_body(ks, 0, nb);
    free(ks->bucket_hist);
}

/* Tiny inputs: stable insertion sort of the records by their keys, no scratch. */
static void key_insertion(char *base, size_t n, size_t size, const key_sort *ks)
{
    uint64_t keys[KEY_INSERTION_MAX];
    for (size_t i = 0; i < n; i++)
        keys[i] = key_of(ks, base + i * size);
    for (size_t i = 1; i < n; i++) {
        for (size_t j = i; j > 0 && keys[j - 1] > keys[j]; j--) {
            uint64_t t = keys[j];
            keys[j] = keys[j - 1];
            keys[j - 1] = t;
            weft__sort_swap(base + (j - 1) * size, base + j * size, size);
        }
    }
}

static int key_sort_run(void *base, size_t n, size_t size, weft_key_u64_fn key64, weft_key_u32_fn key32)
{
    if ((!base && n > 0) || size == 0 || (!key64 && !key32) || n > SIZE_MAX / size)
        return -EINVAL;
    key_sort ks = {.base = base, .n = n, .size = size, .key64 = key64, .key32 = key32, .threads = 1};
    if (n <= 1)
        return 0;
    if (n <= KEY_INSERTION_MAX) {
        key_insertion(base, n, size, &ks);
        return 0;
    }
    if (n >= WEFT_RADIX_PAR_MIN) {
        ks.threads = weft_pool_num_threads(NULL);
        if (ks.threads < 0)
            return ks.threads;
    }
    ks.chunks = weft__radix_chunks(n, ks.threads);
    ks.idx_width = n <= UINT32_MAX ? 4 : 8;
    /* One scratch for the keys, the indices and the records (in that order, each part
     * a multiple of 8 bytes long), so that one buffer is kept for the next sort. Per
     * record: 16 bytes of keys, 2 indices, the record rounded up to 8 (n * size does
     * not overflow, checked above). */
    size_t per = 2 * sizeof(uint64_t) + 2 * ks.idx_width + 8;
    if (n > SIZE_MAX / per || n * per > SIZE_MAX - n * size)
        return -ENOMEM;
    size_t keys_bytes = 2 * n * sizeof(uint64_t), idx_bytes = 2 * n * ks.idx_width;
    char *all = weft__sort_scratch(keys_bytes + idx_bytes + (n * size + 7) / 8 * 8);
    ks.hist = malloc(ks.chunks * sizeof(weft_radix_hist));
    ks.vary_of = malloc(ks.chunks * sizeof(uint64_t));
    int rc = 0;
    if (!all || !ks.hist || !ks.vary_of) {
        rc = -ENOMEM;
    } else {
        ks.keys = (uint64_t *)(void *)all;
        ks.idx = all + keys_bytes;
        ks.scratch = all + keys_bytes + idx_bytes;
        ks.keys2 = ks.keys + n;
        ks.idx2 = (char *)ks.idx + n * ks.idx_width;
        if (ks.threads > 1)
            rc = weft_pool_execute(NULL, key_sort_body, &ks);
        else
            key_sort_body(&ks);
        if (rc == 0)
            rc = ks.rc;
    }
    weft__sort_scratch_free(all);
    free(ks.hist);
    free(ks.vary_of);
    return rc;
}

int weft_par_sort_by_u64_key(void *base, size_t n, size_t size, weft_key_u64_fn key)
{
    return key_sort_run(base, n, size, key, NULL);
}

int weft_par_sort_by_u32_key(void *base, size_t n, size_t size, weft_key_u32_fn key)
{
    return key_sort_run(base, n, size, NULL, key);
}
