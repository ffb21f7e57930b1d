/* sort.c: weft_par_sort, the unstable comparator sort (qsort's contract, in parallel).
 *
 * A parallel introsort: a piece above SORT_CUTOFF elements is partitioned in place
 * around a ninther pivot and its two sides are sorted with weft_join; a piece at or
 * below the cutoff is handed to libc's qsort. Invariants:
 *  - in place, no allocation of our own (libc's qsort may allocate for its pieces);
 *  - the partition is Hoare's, stopping on keys equal to the pivot from both sides, so
 *    runs of equal keys split evenly (all-equal input costs n log n, not n^2);
 *  - a piece's recursion depth is bounded by 2 log2(n): past it the piece goes to
 *    qsort (O(n log n) in glibc), so adversarial inputs cannot make it quadratic and
 *    the stack stays shallow;
 *  - after partitioning a piece [0, n) around position p, every element of [0, p)
 *    compares <= the pivot and every element of (p, n) >= it; the two sides are
 *    disjoint, so the joined halves never touch the same bytes. */
#include "sort_internal.h"

#include <stdlib.h>

/* Pieces this small (elements) are sorted serially by qsort. */
#define SORT_CUTOFF 8192

typedef struct sort_piece {
    char *base;
    size_t n, size;
    weft_cmp_fn cmp;
    int depth; /* partitions left before falling back to qsort */
} sort_piece;

static inline char *at(const sort_piece *p, size_t i)
{
    return p->base + i * p->size;
}

/* The index of the median of elements i, j, k. */
static size_t median3(const sort_piece *p, size_t i, size_t j, size_t k)
{
    weft_cmp_fn cmp = p->cmp;
    char *a = at(p, i), *b = at(p, j), *c = at(p, k);
    if (cmp(a, b) < 0) {
        if (cmp(b, c) < 0)
            return j;
        return cmp(a, c) < 0 ? k : i;
    }
    if (cmp(a, c) < 0)
        return i;
    return cmp(b, c) < 0 ? k : j;
}

/* Tukey's ninther: the median of three medians of three, spread over the piece. */
static size_t ninther(const sort_piece *p)
{
    size_t n = p->n, s = n / 8;
    size_t lo = median3(p, 0, s, 2 * s);
    size_t mid = median3(p, n / 2 - s, n / 2, n / 2 + s);
    size_t hi = median3(p, n - 1 - 2 * s, n - 1 - s, n - 1);
    return median3(p, lo, mid, hi);
}

/* Partition the piece around the ninther; returns the pivot's final index. */
static size_t partition(const sort_piece *p)
{
    size_t size = p->size;
    weft_cmp_fn cmp = p->cmp;
    size_t m = ninther(p);
    if (m != 0)
        weft_sort_swap(p->base, at(p, m), size);
    const char *pivot = p->base; /* stays at index 0 until the end */
    size_t i = 1, j = p->n - 1;
    for (;;) {
        /* [1, i) <= pivot and (j, n) >= pivot throughout */
        while (i <= j && cmp(at(p, i), pivot) < 0)
            i++;
        while (i <= j && cmp(at(p, j), pivot) > 0)
            j--;
        if (i >= j)
            break;
        weft_sort_swap(at(p, i), at(p, j), size);
        i++;
        j--;
    }
    /* here element j <= pivot (or j == 0), and everything after j is >= pivot */
    if (j != 0)
        weft_sort_swap(p->base, at(p, j), size);
    return j;
}

static void sort_rec(void *ctx)
{
    sort_piece *p = ctx;
    if (p->n <= SORT_CUTOFF || p->depth <= 0) {
        qsort(p->base, p->n, p->size, p->cmp);
        return;
    }
    size_t k = partition(p);
    sort_piece left = {p->base, k, p->size, p->cmp, p->depth - 1};
    sort_piece right = {at(p, k + 1), p->n - k - 1, p->size, p->cmp, p->depth - 1};
    /* weft_join fails only on NULL functions */
    weft_join(sort_rec, &left, sort_rec, &right);
}

int weft_par_sort(void *base, size_t n, size_t size, weft_cmp_fn cmp)
{
    int rc = weft_sort_check_args(base, n, size, cmp);
    if (rc != 0 || n <= 1)
        return rc;
    if (n <= SORT_CUTOFF) { /* not worth a worker: no pool start, no hand-off */
        qsort(base, n, size, cmp);
        return 0;
    }
    int depth = 0;
    for (size_t m = n; m > 1; m >>= 1)
        depth += 2;
    sort_piece root = {base, n, size, cmp, depth};
    return weft_sort_on_pool(sort_rec, &root);
}
