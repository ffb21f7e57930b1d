/* sort.c: weft_par_sort, the unstable comparator sort (qsort's contract, in parallel).
 *
 * A parallel introsort over a serial one of our own. A piece above SORT_CUTOFF
 * elements is partitioned in place around the median of a sample and its two sides
 * are sorted with weft_join; a piece at or below the cutoff is sorted serially: block
 * partitions (BlockQuicksort, Edelkamp & Weiss 2016) down to SORT_INSERTION elements,
 * then insertion sort. The block partition compares a block of SORT_BLOCK elements
 * with the pivot, only recording the offsets of misplaced ones, then swaps them in
 * pairs: the comparisons' outcomes feed arithmetic instead of branches, so random
 * keys cost no branch mispredictions. Every function is instantiated per element
 * size (SORT_VARIANT: 4, 8, 16 bytes and any size), picked once per call, so element
 * moves are register moves. Invariants:
 *  - in place, no allocation;
 *  - input already sorted, or in non-increasing order (then reversed), is found by
 *    one scan and costs n - 1 comparator calls;
 *  - the partition is Hoare's in block form: an element equal to the pivot counts as
 *    misplaced on either side, so runs of equal keys split evenly (many equal keys
 *    cost n log n, not n^2);
 *  - a piece's recursion depth is bounded by 2 log2(n): past it the piece is
 *    heapsorted, so adversarial inputs cannot make it quadratic, and the serial sort
 *    recurses only into the smaller side, so the stack stays O(log n);
 *  - after partitioning a piece [0, n) around position p, every element of [0, p)
 *    compares <= the pivot and every element of (p, n) >= it; the two sides are
 *    disjoint, so the joined halves never touch the same bytes. */
#include "sort_internal.h"

#include <stdbool.h>

/* Pieces this small (elements) are sorted serially. */
#define SORT_CUTOFF 8192
/* Pieces this small are insertion-sorted (8 rather than 16: fewer comparator calls,
 * 1.111 against 1.133 n log2 n on random keys). */
#define SORT_INSERTION 8
/* The pivot of a piece of n elements: the median of 3 up to SORT_NINTHER, Tukey's
 * ninther up to SORT_SAMPLE, above it the median of a sorted sample of about
 * sqrt(n) / 4 elements (1.050 n log2 n comparator calls against 1.111 with ninthers
 * all the way up, and halves that the parallel levels split evenly). */
#define SORT_NINTHER 128
#define SORT_SAMPLE 1024
/* Elements compared per block of a partition (offsets fit an unsigned char). 32
 * rather than BlockQuicksort's 64 or 128: faster both on u64 keys and with a branchy
 * record comparator, and 16 is slower again (docs/perf-log.md, "chan and par tuning"). */
#define SORT_BLOCK 32

/* The bodies below take the element size as an argument and are always inlined into
 * the SORT_VARIANT functions, which pass a constant where they can. */
#define SORT_INLINE static inline __attribute__((always_inline))

SORT_INLINE char *sort_at(char *base, size_t i, size_t size)
{
    return base + i * size;
}

SORT_INLINE void sort_insertion(char *base, size_t n, size_t size, weft_cmp_fn cmp)
{
    for (size_t i = 1; i < n; i++)
        for (char *p = sort_at(base, i, size); p > base && cmp(p - size, p) > 0; p -= size)
            weft__sort_swap(p - size, p, size);
}

/* Heapsort: the O(n log n) fallback past the depth limit. */
SORT_INLINE void sort_sift_down(char *base, size_t root, size_t n, size_t size, weft_cmp_fn cmp)
{
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= n)
            return;
        if (child + 1 < n && cmp(sort_at(base, child, size), sort_at(base, child + 1, size)) < 0)
            child++;
        if (cmp(sort_at(base, root, size), sort_at(base, child, size)) >= 0)
            return;
        weft__sort_swap(sort_at(base, root, size), sort_at(base, child, size), size);
        root = child;
    }
}

SORT_INLINE void sort_heap(char *base, size_t n, size_t size, weft_cmp_fn cmp)
{
    for (size_t i = n / 2; i-- > 0;)
        sort_sift_down(base, i, n, size, cmp);
    for (size_t end = n - 1; end > 0; end--) {
        weft__sort_swap(base, sort_at(base, end, size), size);
        sort_sift_down(base, 0, end, size, cmp);
    }
}

/* The index of the median of elements i, j, k. */
SORT_INLINE size_t sort_median3(char *base, size_t size, weft_cmp_fn cmp, size_t i, size_t j,
                                size_t k)
{
    char *a = sort_at(base, i, size), *b = sort_at(base, j, size), *c = sort_at(base, k, size);
    if (cmp(a, b) < 0) {
        if (cmp(b, c) < 0)
            return j;
        return cmp(a, c) < 0 ? k : i;
    }
    if (cmp(a, c) < 0)
        return i;
    return cmp(b, c) < 0 ? k : j;
}

/* Move the pivot to index 0: the median of elements n/4, n/2 and 3n/4, or above
 * SORT_NINTHER Tukey's ninther (the median of the medians of three triples around
 * them). Not the ends: a partition leaves the largest element of its left side at
 * that side's index 0 (the pivot's swap), after a sorted run on reversed or
 * organ-pipe input, so the median of 0, n/2, n-1 split such pieces badly (reversed
 * 10^7 keys: 1.15 against 1.00 n log2 n comparator calls). n > SORT_INSERTION. */
SORT_INLINE void sort_ninther_to_front(char *base, size_t n, size_t size, weft_cmp_fn cmp)
{
    size_t m;
    if (n > SORT_NINTHER) {
        size_t s = n / 8, q = n / 4;
        size_t lo = sort_median3(base, size, cmp, q - s, q, q + s);
        size_t mid = sort_median3(base, size, cmp, n / 2 - s, n / 2, n / 2 + s);
        size_t hi = sort_median3(base, size, cmp, n - q - s, n - q, n - q + s);
        m = sort_median3(base, size, cmp, lo, mid, hi);
    } else {
        m = sort_median3(base, size, cmp, n / 4, n / 2, n - n / 4);
    }
    if (m != 0)
        weft__sort_swap(base, sort_at(base, m, size), size);
}

/* Classify the next element from the left (misplaced: >= pivot) or from the right
 * (misplaced: <= pivot), recording its offset in its block; no branch on the result. */
#define SORT_LEFT(i)                                                                      \
    do {                                                                                  \
        offl[numl] = (unsigned char)(i);                                                  \
        numl += !(cmp(first, pivot) < 0);                                                 \
        first += size;                                                                    \
    } while (0)
#define SORT_RIGHT(i)                                                                     \
    do {                                                                                  \
        last -= size;                                                                     \
        offr[numr] = (unsigned char)((i) + 1);                                            \
        numr += !(cmp(last, pivot) > 0);                                                  \
    } while (0)

/* Partition [0, n) around the pivot at index 0 (n >= 2); returns its final index.
 * [first, last) is what is left to classify; the left block in progress starts at
 * basel, with numl misplaced elements at offsets offl[startl ..] from it; the right
 * block ends at baser, its misplaced ones at baser - offr[startr ..] * size. At most
 * one side has misplaced elements left over after a round of swaps. (The block loop
 * and its end game follow pdqsort's partition_right_branchless, with Hoare's
 * symmetric treatment of keys equal to the pivot.) */
/* Classify a whole block with STEP (SORT_LEFT or SORT_RIGHT), unrolled x4, or the
 * last `split` < SORT_BLOCK elements one by one. */
#define SORT_SCAN(STEP, split)                                                            \
    do {                                                                                  \
        if ((split) >= SORT_BLOCK) {                                                      \
            for (size_t i = 0; i < SORT_BLOCK; i += 4) {                                  \
                STEP(i);                                                                  \
                STEP(i + 1);                                                              \
                STEP(i + 2);                                                              \
                STEP(i + 3);                                                              \
            }                                                                             \
        } else {                                                                          \
            for (size_t i = 0; i < (split); i++)                                          \
                STEP(i);                                                                  \
        }                                                                                 \
    } while (0)

SORT_INLINE size_t sort_partition(char *base, size_t n, size_t size, weft_cmp_fn cmp)
{
    const char *pivot = base;
    char *first = base + size, *last = sort_at(base, n, size);
    char *basel = first, *baser = last;
    unsigned char offl[SORT_BLOCK], offr[SORT_BLOCK];
    size_t numl = 0, numr = 0, startl = 0, startr = 0;
    while (first < last) {
        size_t unknown = (size_t)(last - first) / size;
        size_t lsplit = numl == 0 ? (numr == 0 ? unknown / 2 : unknown) : 0;
        size_t rsplit = numr == 0 ? unknown - lsplit : 0;
        SORT_SCAN(SORT_LEFT, lsplit);
        SORT_SCAN(SORT_RIGHT, rsplit);
        size_t num = numl < numr ? numl : numr;
        for (size_t i = 0; i < num; i++)
            weft__sort_swap(sort_at(basel, offl[startl + i], size),
                           baser - offr[startr + i] * size, size);
        numl -= num;
        numr -= num;
        startl += num;
        startr += num;
        if (numl == 0) {
            startl = 0;
            basel = first;
        }
        if (numr == 0) {
            startr = 0;
            baser = last;
        }
    }
    /* Everything is classified; move the leftover misplaced elements of one side
     * (highest offset first) to the boundary. */
    while (numl > 0) {
        numl--;
        last -= size;
        weft__sort_swap(sort_at(basel, offl[startl + numl], size), last, size);
        first = last;
    }
    while (numr > 0) {
        numr--;
        weft__sort_swap(baser - offr[startr + numr] * size, first, size);
        first += size;
    }
    char *p = first - size; /* the last element <= pivot */
    if (p != base)
        weft__sort_swap(base, p, size);
    return (size_t)(p - base) / size;
}

#undef SORT_LEFT
#undef SORT_RIGHT

typedef void (*sort_serial_fn)(char *base, size_t n, size_t size, weft_cmp_fn cmp, int depth);

/* Choose a pivot for [0, n) (n > SORT_INSERTION) and partition around it; returns the
 * pivot's final index. Above SORT_SAMPLE, k = 2^j - 1 elements, one per stride of
 * n / k (2^j the power of two >= sqrt(n), divided by 4), are swapped to its front and
 * sorted with `serial`; their median is the pivot, the k / 2 below it are already on
 * its side, and the rest [k / 2, n) is partitioned around it. The offset r into the
 * strides comes from n: a child piece often has its parent's stride, and at the
 * parent's positions lie the parent's front elements, swapped there; sampling them
 * again picked the 254th of 247904 sorted keys as a pivot. */
SORT_INLINE size_t sort_split(char *base, size_t n, size_t size, weft_cmp_fn cmp, int depth,
                              sort_serial_fn serial)
{
    if (n <= SORT_SAMPLE) {
        sort_ninther_to_front(base, n, size, cmp);
        return sort_partition(base, n, size, cmp);
    }
    size_t k = 1;
    while (k < n / k) /* k * k < n, without overflow */
        k <<= 1;
    k = k / 4 - 1;
    size_t step = n / k;
    size_t r = (size_t)(((uint64_t)n * 0x9e3779b97f4a7c15ull) >> 32) % step;
    for (size_t i = 0; i < k; i++)
        weft__sort_swap(sort_at(base, i, size), sort_at(base, i * step + r, size), size);
    serial(base, k, size, cmp, depth);
    size_t h = k / 2;
    return h + sort_partition(sort_at(base, h, size), n - h, size, cmp);
}

/* The serial introsort: partition while above SORT_INSERTION elements and within the
 * depth budget, recursing (through self) into the smaller side and looping on the
 * larger; heapsort past the budget. */
SORT_INLINE void sort_serial(char *base, size_t n, size_t size, weft_cmp_fn cmp, int depth,
                             sort_serial_fn self)
{
    while (n > SORT_INSERTION) {
        if (depth-- <= 0) {
            sort_heap(base, n, size, cmp);
            return;
        }
        size_t k = sort_split(base, n, size, cmp, depth, self);
        char *right = sort_at(base, k + 1, size);
        size_t nright = n - k - 1;
        if (k < nright) {
            self(base, k, size, cmp, depth);
            base = right;
            n = nright;
        } else {
            self(right, nright, size, cmp, depth);
            n = k;
        }
    }
    sort_insertion(base, n, size, cmp);
}

/* One element size's functions: the serial sort, and the pivot choice + partition
 * of one parallel step. SIZE is a constant, or `size` for the generic variant. */
typedef struct sort_ops {
    sort_serial_fn serial;
    size_t (*split)(char *base, size_t n, size_t size, weft_cmp_fn cmp, int depth);
} sort_ops;

#define SORT_VARIANT(name, SIZE)                                                          \
    static void sort_serial_##name(char *base, size_t n, size_t size, weft_cmp_fn cmp,    \
                                   int depth)                                             \
    {                                                                                     \
        (void)size;                                                                       \
        sort_serial(base, n, SIZE, cmp, depth, sort_serial_##name);                       \
    }                                                                                     \
    static size_t sort_split_##name(char *base, size_t n, size_t size, weft_cmp_fn cmp,   \
                                    int depth)                                            \
    {                                                                                     \
        (void)size;                                                                       \
        return sort_split(base, n, SIZE, cmp, depth, sort_serial_##name);                 \
    }                                                                                     \
    static const sort_ops sort_ops_##name = {sort_serial_##name, sort_split_##name};

SORT_VARIANT(4, 4)
SORT_VARIANT(8, 8)
SORT_VARIANT(16, 16)
SORT_VARIANT(any, size)

typedef struct sort_piece {
    char *base;
    size_t n, size;
    weft_cmp_fn cmp;
    const sort_ops *ops;
    int depth; /* partitions left before heapsort */
} sort_piece;

static void sort_rec(void *ctx)
{
    sort_piece *p = ctx;
    if (p->n <= SORT_CUTOFF || p->depth <= 0) {
        p->ops->serial(p->base, p->n, p->size, p->cmp, p->depth);
        return;
    }
    size_t k = p->ops->split(p->base, p->n, p->size, p->cmp, p->depth);
    sort_piece left = {p->base, k, p->size, p->cmp, p->ops, p->depth - 1};
    sort_piece right = {sort_at(p->base, k + 1, p->size), p->n - k - 1, p->size, p->cmp, p->ops,
                        p->depth - 1};
    /* weft_join fails only on NULL functions */
    weft_join(sort_rec, &left, sort_rec, &right);
}

/* Whether the whole input [0, n) (n >= 2) is sorted, after reversing it if it was in
 * non-increasing order (equal keys may swap: the sort is unstable). The scan stops
 * at the first element out of its order, so shuffled input pays a few comparator
 * calls, and sorted or reversed input costs n instead of n log2 n (oneTBB's
 * parallel_sort checks for sorted input too). */
static bool sort_presorted(char *base, size_t n, size_t size, weft_cmp_fn cmp)
{
    size_t i = 1;
    int c = 0;
    while (i < n && (c = cmp(sort_at(base, i - 1, size), sort_at(base, i, size))) == 0)
        i++; /* a leading run of equal keys says neither */
    if (i == n)
        return true;
    for (i++; i < n; i++) {
        int d = cmp(sort_at(base, i - 1, size), sort_at(base, i, size));
        if (c < 0 ? d > 0 : d < 0)
            return false;
    }
    if (c > 0)
        for (size_t lo = 0, hi = n - 1; lo < hi; lo++, hi--)
            weft__sort_swap(sort_at(base, lo, size), sort_at(base, hi, size), size);
    return true;
}

int weft_par_sort(void *base, size_t n, size_t size, weft_cmp_fn cmp)
{
    int rc = weft__sort_check_args(base, n, size, cmp);
    if (rc != 0 || n <= 1 || sort_presorted(base, n, size, cmp))
        return rc;
    const sort_ops *ops = size == 4    ? &sort_ops_4
                          : size == 8  ? &sort_ops_8
                          : size == 16 ? &sort_ops_16
                                       : &sort_ops_any;
    int depth = 0;
    for (size_t m = n; m > 1; m >>= 1)
        depth += 2;
    if (n <= SORT_CUTOFF) { /* not worth a worker: no pool start, no hand-off */
        ops->serial(base, n, size, cmp, depth);
        return 0;
    }
    sort_piece root = {base, n, size, cmp, ops, depth};
    return weft_pool_execute(NULL, sort_rec, &root);
}
