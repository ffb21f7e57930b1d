/* traced_plot.c: a small program for the weft_trace_plot test (run_plot_test.cmake),
 * run with WEFT_TRACE=path: a par_for, a join whose halves a worker may steal, on the
 * global pool, so the trace has jobs, chunks, steals, idle time and waits to draw. */
#include <weft.h>
#include <stdio.h>

enum { N = 1 << 14 };
static double a[N];

static int body(void *ctx, size_t begin, size_t end)
{
    (void)ctx;
    for (size_t i = begin; i < end; i++) {
        double x = 1.0;
        for (size_t k = 0; k < (i & 255); k++)
            x = x * 0.999 + 1.0;
        a[i] = x;
    }
    return 0;
}

static void fib(void *arg)
{
    long *n = arg;
    if (*n < 2)
        return;
    long x = *n - 1, y = *n - 2;
    weft_join(fib, &x, fib, &y);
    *n = x + y;
}

int main(void)
{
    int rc = weft_par_for(0, N, 0, body, NULL);
    long x = 19, y = 18;
    int rc2 = weft_join(fib, &x, fib, &y);
    long n = x + y;
    if (rc != 0 || rc2 != 0 || n != 6765) {
        fprintf(stderr, "traced_plot: par_for %d, join %d, fib(20) = %ld\n", rc, rc2, n);
        return 1;
    }
    return 0;
}
