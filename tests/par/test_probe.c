/* test_probe.c: the probe of adaptive loops (splitter_internal.h) estimates a loop's
 * cost per index from its leading chunks. One slow access early on — a cache line
 * last written by another core, a page fault — must not make a cheap loop look dear:
 * the estimate sets the size of every block (and of every steal), and a 10-100x
 * overestimate cut a triad into blocks of a few dozen indices, each paying a CAS and
 * a call. The test's leaf costs ~1 ns per index except for a one-off stall of ~0.5 µs
 * on index 1 (in the probe's second chunk, of 4 indices). Timing is noisy, so the
 * claim is checked on the median of several probes. A stall of milliseconds (a
 * preemption) must not be trusted either. */
#include "splitter_internal.h"
#include "spin.h"

#include <weft/sync.h>

#include <criterion/criterion.h>

#include <stdlib.h>

static int stall_leaf(void *arg, size_t b, size_t e)
{
    (void)arg;
    if (b <= 1 && 1 < e)
        test_spin_ns(500);
    for (volatile size_t i = b; i < e; i++) {
    }
    return 0;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

/* The median min_len of `tries` probes of a 4M-index loop of leaf (at most 7). */
static size_t median_min_len(weft_par_leaf_fn leaf, int tries)
{
    size_t min_lens[7];
    for (int t = 0; t < tries; t++) {
        size_t lo = 0, hi = (size_t)1 << 22, min_len = 0;
        cr_assert_eq(weft__par_probe(&lo, hi, leaf, NULL, NULL, NULL, &min_len), 0);
        cr_assert_lt(lo, hi, "a 4M-index loop was judged short");
        min_lens[t] = min_len;
    }
    qsort(min_lens, (size_t)tries, sizeof min_lens[0], cmp_size);
    return min_lens[tries / 2];
}

Test(probe, one_early_stall_does_not_shrink_blocks)
{
    /* ~1 ns per index makes a ~1 µs piece of ~1000 indices; the stall alone, trusted,
     * would give 1000 / ((500 + 4) / 4), about 8. */
    size_t m = median_min_len(stall_leaf, 7);
    cr_assert_geq(m, 100, "median min_len %zu: the stall was trusted", m);
}

/* A chunk interrupted for milliseconds (a preemption on a loaded machine: the
 * thread is off its CPU, the clock runs on) in the probe's third chunk, of 16
 * indices. Trusted, it made the estimate ~10^5 times too high and the whole loop ran
 * in blocks of one index (a traced par_for under ASan wrapped its trace rings so);
 * the chunk after it must overrule it. */
static int interrupted_leaf(void *arg, size_t b, size_t e)
{
    (void)arg;
    if (b <= 5 && 5 < e)
        test_spin_ns(2000000);
    for (volatile size_t i = b; i < e; i++) {
    }
    return 0;
}

Test(probe, an_interrupted_chunk_does_not_shrink_blocks)
{
    /* ~1 ns per index gives ~1000; trusted, the stall gives 1000 / (2e6 / 16) = 0 -> 1.
     * The low bound (a microsecond lost in the chunk that overrules the stall gives
     * ~10) and the median (a second long interruption there fools any probe) leave
     * room for a loaded, sanitized build. */
    size_t m = median_min_len(interrupted_leaf, 5);
    cr_assert_geq(m, 4, "median min_len %zu: the interrupted chunk was trusted", m);
}

/* A dear loop is still recognised at once: 4 indices of ~2 µs each pass, and 4 more
 * confirm them. */
static int dear_leaf(void *arg, size_t b, size_t e)
{
    size_t *calls = arg;
    (*calls)++;
    test_spin_ns(2000 * (e - b));
    return 0;
}

Test(probe, dear_indices_trusted_after_a_few)
{
    size_t lo = 0, hi = 1000, min_len = 0, calls = 0;
    cr_assert_eq(weft__par_probe(&lo, hi, dear_leaf, &calls, NULL, NULL, &min_len), 0);
    cr_assert_leq(lo, 9, "probed %zu indices of ~2 µs before trusting", lo);
    cr_assert_eq(min_len, 1);
}
