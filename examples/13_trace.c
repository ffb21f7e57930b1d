/* 13_trace.c: why doesn't my loop scale? Trace the two usual stories, and their
 * fixes, then read them with `weft-trace summary` (or plot them with `weft-trace
 * plot`, or open them in ui.perfetto.dev):
 *
 *   1. load imbalance: a skewed loop (index i costs i steps) cut by hand into two
 *      equal halves (grain 1024 of 2048): equal counts, unequal work; one thread
 *      finishes the cheap half early and sleeps while the other runs the dear one;
 *      13_trace_halves.json. With grain 0 weft cuts it adaptively, both threads busy
 *      to the end: 13_trace_adaptive.json;
 *   2. too fine a grain: a loop of four multiply-adds per index cut into chunks of 16
 *      (grain 16): each chunk costs less than handing it out; 13_trace_fine.json.
 *      With grain 0: 13_trace_fine_adaptive.json.
 *
 * The traces go to the current directory (or under $TMPDIR when set); docs/guide.md,
 * section 13, shows them. What
 * is printed is independent of timing and of the number of threads; the traces are
 * not. */
#include <weft.h>
#include <stdio.h>
#include <stdlib.h>

enum { N = 2048, FINE_N = 1 << 18 };
static double a[N], b[FINE_N];

static int skewed(void *ctx, size_t begin, size_t end)
{
    (void)ctx;
    for (size_t i = begin; i < end; i++) {
        double x = 1.0;
        for (size_t k = 0; k < i; k++)
            x = x * 0.999 + 1.0;
        a[i] = x;
    }
    return 0;
}

static int cheap(void *ctx, size_t begin, size_t end)
{
    (void)ctx;
    for (size_t i = begin; i < end; i++) {
        double x = b[i];
        for (int k = 0; k < 4; k++)
            x = x * 0.5 + 1.0;
        b[i] = x;
    }
    return 0;
}

/* Run one loop, traced into `name` when tracing can start (not under WEFT_TRACE,
 * which traces the whole run already, nor in a libweft built without tracing). */
static int traced(const char *name, size_t n, size_t grain, weft_range_fn body)
{
    const char *dir = getenv("TMPDIR");
    char path[512];
    snprintf(path, sizeof path, "%s%s%s", dir && *dir ? dir : "", dir && *dir ? "/" : "", name);
    int rc = weft_trace_start(path);
    if (rc != 0) { /* -EBUSY: WEFT_TRACE already traces the whole run; -ENOTSUP: no tracing here */
        fprintf(stderr, "weft_trace_start: %s (running untraced)\n", weft_strerror(rc));
        return weft_par_for(0, n, grain, body, NULL);
    }
    rc = weft_par_for(0, n, grain, body, NULL);
    int wrc = weft_trace_stop();
    if (rc == 0 && wrc != 0)
        fprintf(stderr, "weft_trace_stop: %s\n", weft_strerror(wrc));
    return rc;
}

int main(void)
{
    /* Start the global pool, let its workers settle, and touch the arrays first: the
     * traces are about the loops, not about starting threads or faulting pages in. */
    if (weft_par_for(0, N, 0, skewed, NULL) != 0 || weft_par_for(0, FINE_N, 0, cheap, NULL) != 0)
        return 1;
    if (traced("13_trace_halves.json", N, N / 2, skewed) != 0 || traced("13_trace_adaptive.json", N, 0, skewed) != 0)
        return 1;
    printf("traced a skewed loop of %d indices twice: in two halves, and adaptively\n", N);
    printf("a[%d] = %.3f\n", N - 1, a[N - 1]);
    if (traced("13_trace_fine.json", FINE_N, 16, cheap) != 0 ||
        traced("13_trace_fine_adaptive.json", FINE_N, 0, cheap) != 0)
        return 1;
    double sum = 0; /* every b[i] went from 0 to 4095/2048 in twelve steps: exact in binary */
    for (size_t i = 0; i < FINE_N; i++)
        sum += b[i];
    printf("traced a loop of %d x 4 multiply-adds twice: in chunks of 16, and adaptively\n", FINE_N);
    printf("sum of b = %.1f\n", sum);
    printf("read them with: weft-trace summary 13_trace_halves.json\n");
    return 0;
}
