/* 13_trace.c: why doesn't my loop scale? Trace two runs of a skewed loop (index i
 * costs i steps) and read them with `weft-trace summary` or ui.perfetto.dev:
 *
 *   1. cut by hand into two equal halves (grain 1024 of 2048): equal counts, unequal
 *      work; at best one thread finishes the cheap half early and sleeps while the
 *      other runs the dear one (or the caller runs both);
 *   2. with grain 0: weft cuts it adaptively, both threads busy to the end.
 *
 * The traces go to 13_trace_halves.json and 13_trace_adaptive.json in the current
 * directory (or under $TMPDIR when set). What is printed is independent of timing
 * and of the number of threads; the traces are not. */
#include <weft.h>
#include <stdio.h>
#include <stdlib.h>

enum { N = 2048 };
static double a[N];

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

static int traced(const char *name, size_t grain)
{
    const char *dir = getenv("TMPDIR");
    char path[512];
    snprintf(path, sizeof path, "%s%s%s", dir && *dir ? dir : "", dir && *dir ? "/" : "", name);
    int rc = weft_trace_start(path);
    if (rc != 0) { /* -EBUSY: WEFT_TRACE already traces the whole run; -ENOTSUP: no tracing in this libweft */
        fprintf(stderr, "weft_trace_start: %s (running untraced)\n", weft_strerror(rc));
        return weft_par_for(0, N, grain, skewed, NULL);
    }
    rc = weft_par_for(0, N, grain, skewed, NULL);
    int wrc = weft_trace_stop();
    if (rc == 0 && wrc != 0)
        fprintf(stderr, "weft_trace_stop: %s\n", weft_strerror(wrc));
    return rc;
}

int main(void)
{
    /* Start the global pool and let its workers settle first: the trace is about the
     * loop, not about starting threads. */
    if (weft_par_for(0, N, 0, skewed, NULL) != 0)
        return 1;
    if (traced("13_trace_halves.json", N / 2) != 0 || traced("13_trace_adaptive.json", 0) != 0)
        return 1;
    printf("traced a skewed loop of %d indices twice: in two halves, and adaptively\n", N);
    printf("a[%d] = %.3f\n", N - 1, a[N - 1]);
    printf("read them with: weft-trace summary 13_trace_halves.json\n");
    return 0;
}
