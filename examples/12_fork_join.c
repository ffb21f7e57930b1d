/* 12_fork_join.c: divide and conquer with fork-join, in its two forms.
 *
 *   1. weft_join(a, actx, b, bctx): the portable form. It runs a(actx) and b(bctx),
 *      maybe in parallel, and returns when both are done; each half is a
 *      void (*)(void *) with its arguments and result in a struct.
 *   2. an inline task (weft/inline.h): WEFT_TASK_1 defines a typed function and its
 *      fork and join, compiled into the caller. WEFT_FORK offers the call to other
 *      workers and returns at once; WEFT_JOIN returns its result, running it here if
 *      nobody took it. For forks that wrap only nanoseconds of work (here fib's one
 *      addition per call): there is no call into libweft unless a thief took the task.
 *   3. a loop of inline forks: sum a big array in blocks, one frame per block, joined
 *      last to first.
 *
 * Both fib forms fork at every call, with no cutoff, to show the cost of a fork; real
 * code stops forking below some size and recurses serially. Called from main (outside
 * the pools), the first join or fork enters the global pool for the call. */
#include <weft.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- 1. weft_join: halves take a void *; arguments and result go in a struct ---- */

typedef struct fib_args {
    int n;
    uint64_t result;
} fib_args;

static void fib_join(void *p)
{
    fib_args *f = p;
    if (f->n < 2) {
        f->result = (uint64_t)f->n;
        return;
    }
    fib_args a = {f->n - 1, 0}, b = {f->n - 2, 0};
    weft_join(fib_join, &a, fib_join, &b); /* fails only for NULL functions */
    f->result = a.result + b.result;
}

/* ---- 2. an inline task: a typed function with its own fork and join ------------- */

WEFT_TASK_1(uint64_t, fib, int, n)
{
    if (n < 2)
        return (uint64_t)n;
    WEFT_FRAME(fib) f;              /* the fork's frame, on this stack */
    WEFT_FORK(fib, &f, n - 1);      /* fib(n - 1) may now run on another worker */
    uint64_t b = fib(n - 2);        /* a plain call, meanwhile */
    return WEFT_JOIN(fib, &f) + b;  /* fib(n - 1)'s result, once it is done */
}

/* ---- 3. a loop of forks: one frame per block, joined in reverse order ------------ */

WEFT_TASK_3(uint64_t, block_sum, const uint32_t *, a, size_t, lo, size_t, hi)
{
    uint64_t s = 0;
    for (size_t i = lo; i < hi; i++)
        s += a[i];
    return s;
}

#define N (1u << 22)
#define BLOCKS 64

static uint64_t parallel_sum(const uint32_t *a)
{
    WEFT_FRAME(block_sum) f[BLOCKS];
    for (size_t k = 0; k < BLOCKS; k++)
        WEFT_FORK(block_sum, &f[k], a, k * (N / BLOCKS), (k + 1) * (N / BLOCKS));
    uint64_t s = 0;
    for (size_t k = BLOCKS; k-- > 0;) /* joins come in the reverse order of the forks */
        s += WEFT_JOIN(block_sum, &f[k]);
    return s;
}

int main(void)
{
    fib_args f = {30, 0};
    fib_join(&f);
    printf("weft_join:   fib(30) = %llu\n", (unsigned long long)f.result);
    printf("inline task: fib(30) = %llu\n", (unsigned long long)fib(30));

    uint32_t *a = malloc(N * sizeof *a);
    if (!a)
        return 1;
    for (size_t i = 0; i < N; i++)
        a[i] = (uint32_t)(i % 1000);
    uint64_t expect = 0;
    for (size_t i = 0; i < N; i++)
        expect += a[i];
    uint64_t s = parallel_sum(a);
    printf("sum of %u elements in %d forked blocks: %llu (%s)\n", N, BLOCKS, (unsigned long long)s,
           s == expect ? "matches the serial sum" : "WRONG");
    free(a);
    return s == expect ? 0 : 1;
}
