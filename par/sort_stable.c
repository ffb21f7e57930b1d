/* sort_stable.c: weft_par_sort_stable, a parallel stable merge sort.
 *
 * One scratch buffer of n * size bytes, allocated before anything is touched (so
 * -ENOMEM leaves the input as it was). The sort ping-pongs between the input and the
 * scratch: sorting a range "into" one buffer sorts its halves into the other, in
 * parallel with weft_join, then merges them back. Runs of INSERTION_MAX elements or
 * fewer are insertion-sorted; ranges of STABLE_CUTOFF or fewer recurse serially.
 * Merges of more than MERGE_CUTOFF elements are themselves parallel: the longer run is
 * cut at its middle element, the cut point in the other run is found by binary search,
 * and the two sub-merges are joined, so the top merges are not serial.
 * Invariants:
 *  - stability: in every merge, an element of the left run goes before an equal
 *    element of the right run (serial merge: take the right one only when strictly
 *    smaller; parallel cut: lower bound in the right run, upper bound in the left);
 *  - joined halves read and write disjoint byte ranges of the two buffers. */
#include "sort_internal.h"

#include <stdbool.h>
#include <stdlib.h>

/* Ranges up to this many elements sort serially (still by merging). */
#define STABLE_CUTOFF 4096
/* Runs up to this many elements are insertion-sorted. */
#define INSERTION_MAX 16
/* Merges of up to this many elements in total run serially. */
#define MERGE_CUTOFF 8192

/* Shared by every task of one sort. */
typedef struct stable_sort {
    size_t size;
    weft_cmp_fn cmp;
} stable_sort;

static inline char *elem(char *base, size_t i, size_t size)
{
    return base + i * size;
}

/* Insertion sort of [0, n) in place (stable: an element moves left only past strictly
 * greater ones). Adjacent swaps: no temporary of `size` bytes is needed. */
static void insertion_sort(const stable_sort *s, char *a, size_t n)
{
    size_t size = s->size;
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && s->cmp(elem(a, j - 1, size), elem(a, j, size)) > 0; j--)
            weft__sort_swap(elem(a, j - 1, size), elem(a, j, size), size);
}

/* Merge sorted runs l[0, nl) and r[0, nr) into dst (disjoint from both). */
static void merge_serial(const stable_sort *s, const char *l, size_t nl, const char *r, size_t nr,
                         char *dst)
{
    size_t size = s->size;
    const char *le = l + nl * size, *re = r + nr * size;
    while (l < le && r < re) {
        if (s->cmp(r, l) < 0) {
            memcpy(dst, r, size);
            r += size;
        } else {
            memcpy(dst, l, size);
            l += size;
        }
        dst += size;
    }
    if (l < le)
        memcpy(dst, l, (size_t)(le - l));
    if (r < re)
        memcpy(dst, r, (size_t)(re - r));
}

/* The first index i in a[0, n) with a[i] >= key (upper == false) or a[i] > key
 * (upper == true). */
static size_t search(const stable_sort *s, const char *a, size_t n, const char *key, bool upper)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = s->cmp(a + mid * s->size, key);
        if (c < 0 || (upper && c == 0))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

typedef struct merge_task {
    const stable_sort *s;
    const char *l, *r;
    size_t nl, nr;
    char *dst;
} merge_task;

static void merge_par(void *ctx)
{
    merge_task *t = ctx;
    const stable_sort *s = t->s;
    if (t->nl + t->nr <= MERGE_CUTOFF || t->nl == 0 || t->nr == 0) {
        merge_serial(s, t->l, t->nl, t->r, t->nr, t->dst);
        return;
    }
    size_t cl, cr; /* the cut: l[0, cl) and r[0, cr) go to the first sub-merge */
    if (t->nl >= t->nr) {
        cl = t->nl / 2; /* r's elements equal to l[cl] go after it: lower bound */
        cr = search(s, t->r, t->nr, t->l + cl * s->size, false);
    } else {
        cr = t->nr / 2; /* l's elements equal to r[cr] go before it: upper bound */
        cl = search(s, t->l, t->nl, t->r + cr * s->size, true);
    }
    merge_task a = {s, t->l, t->r, cl, cr, t->dst};
    merge_task b = {s, t->l + cl * s->size, t->r + cr * s->size, t->nl - cl, t->nr - cr,
                    t->dst + (cl + cr) * s->size};
    weft_join(merge_par, &a, merge_par, &b); /* fails only on NULL functions */
}

typedef struct sort_task {
    const stable_sort *s;
    char *a, *b; /* the same range in the input and in the scratch */
    size_t n;
    bool into_b; /* the sorted range ends in b (else in a) */
} sort_task;

static void msort(void *ctx);

/* Sort the range serially (no task is created below STABLE_CUTOFF). */
static void msort_serial(const stable_sort *s, char *a, char *b, size_t n, bool into_b)
{
    size_t size = s->size;
    if (n <= INSERTION_MAX) {
        insertion_sort(s, a, n);
        if (into_b)
            memcpy(b, a, n * size);
        return;
    }
    size_t h = n / 2;
    msort_serial(s, a, b, h, !into_b);
    msort_serial(s, a + h * size, b + h * size, n - h, !into_b);
    char *src = into_b ? a : b, *dst = into_b ? b : a;
    merge_serial(s, src, h, src + h * size, n - h, dst);
}

static void msort(void *ctx)
{
    sort_task *t = ctx;
    const stable_sort *s = t->s;
    if (t->n <= STABLE_CUTOFF) {
        msort_serial(s, t->a, t->b, t->n, t->into_b);
        return;
    }
    size_t h = t->n / 2, off = h * s->size;
    sort_task x = {s, t->a, t->b, h, !t->into_b};
    sort_task y = {s, t->a + off, t->b + off, t->n - h, !t->into_b};
    weft_join(msort, &x, msort, &y); /* fails only on NULL functions */
    char *src = t->into_b ? t->a : t->b, *dst = t->into_b ? t->b : t->a;
    merge_task m = {s, src, src + off, h, t->n - h, dst};
    merge_par(&m);
}

int weft_par_sort_stable(void *base, size_t n, size_t size, weft_cmp_fn cmp)
{
    int rc = weft__sort_check_args(base, n, size, cmp);
    if (rc != 0 || n <= 1)
        return rc;
    stable_sort s = {size, cmp};
    if (n <= INSERTION_MAX) { /* no scratch needed */
        insertion_sort(&s, base, n);
        return 0;
    }
    char *scratch = weft__sort_scratch(n * size);
    if (!scratch)
        return -ENOMEM;
    sort_task root = {&s, base, scratch, n, false};
    if (n <= STABLE_CUTOFF) /* not worth a worker: no pool start, no hand-off */
        msort(&root);
    else
        rc = weft_pool_execute(NULL, msort, &root);
    weft__sort_scratch_free(scratch);
    return rc;
}
