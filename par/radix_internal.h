/* radix_internal.h: the LSD radix sort engine the typed sorts (sort_typed.c) and the
 * keyed sorts (sort_key.c) run on: unsigned keys of 4 or 8 bytes, optionally each
 * with a payload of 4 or 8 bytes that moves with it, sorted stably by the bits of the
 * key the caller names.
 *
 * The keys are cut into `chunks` contiguous chunks. Each pass (8-bit digits, lowest
 * first): every chunk counts its digits, one thread turns the counts into each
 * chunk's output offsets per digit, then every chunk scatters its keys (and payloads)
 * into the other buffer. A digit outside `vary` is skipped without a pass, and so is a
 * pass whose digit is the same for every key. With chunks > 1 the chunks of a phase
 * are forked with weft_join: run the sort as a member of a pool (weft_pool_execute).
 *
 * Invariants: each pass is a stable counting sort: chunk c's keys of digit d go, in
 * chunk order, to [off[c][d], off[c][d] + count[c][d]), ranges disjoint across all
 * (c, d) that cover [0, n), so the parallel scatters never write the same slot; the
 * keys ping-pong between keys and keys_tmp (payloads likewise) and `in_tmp` says where
 * they ended. */
#ifndef WEFT_PAR_RADIX_INTERNAL_H
#define WEFT_PAR_RADIX_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WEFT_RADIX_BITS 8
#define WEFT_RADIX_BUCKETS (1u << WEFT_RADIX_BITS)

typedef size_t weft_radix_hist[WEFT_RADIX_BUCKETS];

typedef struct weft_radix {
    /* The caller's: */
    void *keys, *keys_tmp;       /* n keys of key_width bytes, and as much room */
    void *payload, *payload_tmp; /* NULL, or n payloads of payload_width bytes */
    size_t n;
    unsigned key_width;          /* 4 or 8 */
    unsigned payload_width;      /* 4 or 8 (with a payload) */
    uint64_t vary;               /* the key bits to sort by (digits without one are skipped) */
    size_t chunks;               /* >= 1 */
    weft_radix_hist *hist;       /* chunks of them */
    /* The result: */
    bool in_tmp;                 /* the sorted keys (and payloads) are in the _tmp buffers */
    /* The current pass: */
    const void *src, *psrc;
    void *dst, *pdst;
    unsigned shift;
} weft_radix;

/* Chunks for n keys on `threads` threads: a few per thread, each long enough for its
 * histogram to pay (1 below WEFT_RADIX_PAR_MIN keys: run on the calling thread). */
#define WEFT_RADIX_PAR_MIN 65536
size_t weft__radix_chunks(size_t n, int threads);

/* Chunk c's first key. */
static inline size_t weft__radix_chunk_begin(size_t n, size_t chunks, size_t c)
{
    return n / chunks * c + (c < n % chunks ? c : n % chunks);
}

/* Sort r's keys (and payloads) by the bits of r->vary; sets r->in_tmp. */
void weft__radix_sort(weft_radix *r);

/* One pass's first two steps, for a caller that scatters more than keys (the keyed
 * sorts' records): count r->src's digits at r->shift per chunk into r->hist, then turn
 * the counts into offsets (digit-major, chunk order); false, with nothing changed,
 * when one digit holds every key. */
void weft__radix_count(weft_radix *r);
bool weft__radix_offsets(weft_radix *r);

/* fn(ctx, c) for every chunk c < chunks, forked with weft_join when chunks > 1. */
void weft__radix_for_chunks(size_t chunks, void (*fn)(void *ctx, size_t c), void *ctx);

#endif /* WEFT_PAR_RADIX_INTERNAL_H */
