/* stress_span.c: the claim protocol of par/'s spans (span_internal.h) under contention.
 * One owner claims blocks while thieves take halves of what is left; every index of
 * the span must be claimed exactly once, whatever the interleaving: the invariant the
 * adaptive 1-D loops rest on. Also spans whose base sits just below SIZE_MAX (offsets
 * are 32-bit, absolute indices are not) and spans that are too short to steal from. */
#include "check.h"
#include "span_internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

enum { THIEVES = 3, MAXN = 1 << 14 };

typedef struct round {
    weft_par_span span;
    size_t lo, n, block, min_len;
    _Atomic unsigned char seen[MAXN];
    _Atomic int go, done_owner;
} round;

static void mark(round *r, size_t b, size_t e)
{
    CHECK(b >= r->lo && e <= r->lo + r->n && b < e, "claim [%zu, %zu) outside the span", b, e);
    for (size_t i = b; i < e; i++)
        atomic_fetch_add_explicit(&r->seen[i - r->lo], 1, memory_order_relaxed);
}

static void *thief(void *arg)
{
    round *r = arg;
    while (!atomic_load_explicit(&r->go, memory_order_acquire)) /* pairs with the release in run_round */
        ;
    size_t b, e;
    while (!atomic_load_explicit(&r->done_owner, memory_order_acquire)) { /* pairs with the owner's release */
        if (weft__par_span_steal(&r->span, r->min_len, &b, &e)) {
            CHECK(e - b >= r->min_len, "stole %zu indices, min_len %zu", e - b, r->min_len);
            mark(r, b, e);
        }
    }
    return NULL;
}

static void run_round(round *r, size_t lo, size_t n, size_t block, size_t min_len)
{
    r->lo = lo;
    r->n = n;
    r->block = block;
    r->min_len = min_len;
    for (size_t i = 0; i < n; i++)
        atomic_init(&r->seen[i], 0);
    atomic_init(&r->done_owner, 0);
    atomic_init(&r->go, 0);
    weft__par_span_init(&r->span, lo, lo + n, block);
    pthread_t t[THIEVES];
    for (int i = 0; i < THIEVES; i++)
        CHECK(pthread_create(&t[i], NULL, thief, r) == 0, "pthread_create");
    atomic_store_explicit(&r->go, 1, memory_order_release);
    size_t b, e;
    for (;;) {
        /* Thieves only shrink what is left: the claim sees at most this much. */
        size_t cap = weft__par_span_left(&r->span) / WEFT_PAR_SPAN_BLOCK_SHARE;
        if (!weft__par_span_next(&r->span, &b, &e))
            break;
        CHECK(e - b <= block || e - b <= cap, "block of %zu, asked %zu, a share of the rest %zu", e - b, block,
              cap);
        mark(r, b, e);
    }
    CHECK(weft__par_span_left(&r->span) == 0, "owner stopped with indices left");
    atomic_store_explicit(&r->done_owner, 1, memory_order_release);
    for (int i = 0; i < THIEVES; i++)
        pthread_join(t[i], NULL);
    for (size_t i = 0; i < n; i++)
        CHECK(atomic_load_explicit(&r->seen[i], memory_order_relaxed) == 1,
              "index %zu of %zu claimed %u times (block %zu, min_len %zu)", i, n,
              (unsigned)atomic_load_explicit(&r->seen[i], memory_order_relaxed), block, min_len);
}

int main(void)
{
    round *r = malloc(sizeof *r);
    CHECK(r != NULL, "malloc");
    long rounds = stress_iters(4000);
    uint64_t x = 88172645463325252ull;
    for (long k = 0; k < rounds; k++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t n = 1 + (size_t)(x % MAXN);
        size_t block = 1 + (size_t)((x >> 20) % 64);
        size_t min_len = 1 + (size_t)((x >> 30) % 8);
        size_t lo = k % 3 == 0 ? SIZE_MAX - n : (size_t)(x >> 40);
        run_round(r, lo, n, block, min_len);
    }
    /* Too short to steal: a thief gets nothing, the owner everything. */
    weft_par_span s;
    size_t b, e;
    weft__par_span_init(&s, 10, 13, 5);
    CHECK(!weft__par_span_steal(&s, 2, &b, &e), "stole from a span of 3 with min_len 2");
    CHECK(weft__par_span_steal(&s, 1, &b, &e) && b == 11 && e == 13, "upper half of 3 is [11, 13)");
    CHECK(weft__par_span_next(&s, &b, &e) && b == 10 && e == 11, "owner keeps [10, 11)");
    CHECK(!weft__par_span_next(&s, &b, &e), "nothing left");
    /* Blocks grow from an eighth of the cap, doubling: 2, 4, 8, 16, 16, ... (a 16th of
     * what is left is below the cap throughout) */
    weft__par_span_init(&s, 0, 100, 16);
    size_t want[] = {2, 4, 8, 16, 16, 16, 16, 16, 6};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        CHECK(weft__par_span_next(&s, &b, &e) && e - b == want[i], "block %zu: %zu indices, want %zu", i, e - b, want[i]);
    CHECK(!weft__par_span_next(&s, &b, &e), "nothing left after 100");
    /* A long span: blocks go on doubling past the cap while a 16th of what is left is
     * more (2, 4, ..., 256, never above 16 x the cap), and come back down to the cap
     * for the last 16 x 16 indices. Before, all 100,000 indices went in blocks of 16. */
    weft__par_span_init(&s, 0, 100000, 16);
    size_t blocks = 0, left = 100000, doubling = 2, most = 16 * WEFT_PAR_SPAN_BLOCK_GROWTH;
    while (weft__par_span_next(&s, &b, &e)) {
        size_t share = left / WEFT_PAR_SPAN_BLOCK_SHARE;
        size_t cap = share < 16 ? 16 : share > most ? most : share;
        size_t expect = doubling < cap ? doubling : cap;
        doubling = expect * 2;
        expect = expect < left ? expect : left;
        CHECK(e - b == expect, "block %zu: %zu indices, want %zu (left %zu)", blocks, e - b, expect, left);
        left -= e - b;
        blocks++;
    }
    CHECK(left == 0 && blocks < 100000 / most + 100, "100,000 indices in %zu blocks, %zu left", blocks, left);
    free(r);
    printf("stress_span: %ld rounds ok\n", rounds);
    return 0;
}
