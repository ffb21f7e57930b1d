/* sort_typed.c: weft_par_sort_u64 and weft_par_sort_u32, ascending sorts of unsigned
 * keys by the parallel LSD radix sort of radix.c (8-bit digits: 8 passes for u64, 4
 * for u32, fewer when a digit is the same in every key).
 * Invariants:
 *  - the keys ping-pong between `keys` and one scratch buffer of n keys, allocated
 *    before anything is touched (-ENOMEM leaves the input untouched); if they ended
 *    in the scratch, they are copied back;
 *  - small inputs (below WEFT_RADIX_PAR_MIN keys) run on the caller without the pool,
 *    and tiny ones (up to RADIX_INSERTION_MAX) by insertion sort without any scratch. */
#include "radix_internal.h"
#include "sort_internal.h"

#include <stdbool.h>
#include <stdlib.h>

/* Up to this many keys, insertion sort. */
#define RADIX_INSERTION_MAX 64

#define INSERTION(T, sfx)                                                                 \
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
INSERTION(uint64_t, u64)
INSERTION(uint32_t, u32)

static void copy_back_chunk(void *ctx, size_t c)
{
    const weft_radix *r = ctx;
    size_t b = weft__radix_chunk_begin(r->n, r->chunks, c), e = weft__radix_chunk_begin(r->n, r->chunks, c + 1);
    memcpy((char *)r->keys + b * r->key_width, (const char *)r->keys_tmp + b * r->key_width,
           (e - b) * r->key_width);
}

static void radix_body(void *ctx)
{
    weft_radix *r = ctx;
    weft__radix_sort(r);
    if (r->in_tmp)
        weft__radix_for_chunks(r->chunks, copy_back_chunk, r);
}

static int radix_sort_keys(void *keys, size_t n, unsigned width)
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
    int threads = 1;
    if (n >= WEFT_RADIX_PAR_MIN) {
        threads = weft_pool_num_threads(NULL);
        if (threads < 0)
            return threads;
    }
    size_t chunks = weft__radix_chunks(n, threads);
    void *scratch = weft__sort_scratch(n * width);
    weft_radix_hist *hist = malloc(chunks * sizeof(weft_radix_hist));
    int rc = 0;
    if (!scratch || !hist) {
        rc = -ENOMEM;
    } else {
        weft_radix r = {.keys = keys, .keys_tmp = scratch, .n = n, .key_width = width,
                        .vary = UINT64_MAX, .chunks = chunks, .hist = hist};
        if (chunks == 1)
            radix_body(&r);
        else
            rc = weft_pool_execute(NULL, radix_body, &r);
    }
    free(hist);
    weft__sort_scratch_free(scratch);
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
