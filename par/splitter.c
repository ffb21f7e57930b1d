/* splitter.c: the parts of par/'s range splitting that are not inline — the probe
 * that runs short adaptive loops on the caller without touching the pool, and the
 * single pool entry of a loop called from outside the pool.
 *
 * Invariants: the probe runs chunks strictly left to right on the calling thread and
 * never more than [*lo, hi); it decides "inline" only from measured time, so it can
 * only err towards parallelism for a tiny loop whose first chunks were slowed down
 * (e.g. by a page fault), never run a long loop serially beyond ~1 µs of probing plus
 * a rest it estimated at under PROBE_INLINE_NS. */
#include "splitter_internal.h"

#include <weft/sync.h>

/* Run the rest inline when its extrapolated time is below this. */
#define PROBE_INLINE_NS 20000.0
/* Trust the per-index estimate (and go parallel) once the probe has run this long:
 * below it, clock overhead dominates the measure. */
#define PROBE_TRUST_NS 1000u
/* Each probe chunk is this many times the previous one. */
#define PROBE_GROWTH 4u

int weft_par_probe(size_t *lo, size_t hi, weft_par_leaf_fn leaf, void *arg)
{
    size_t b = *lo;
    size_t chunk = 1;
    size_t done = 0;
    /* One clock read per chunk: each chunk is timed from the end of the previous. */
    uint64_t start = weft_time_now_ns();
    while (b < hi) {
        size_t n = hi - b < chunk ? hi - b : chunk;
        int rc = leaf(arg, b, b + n);
        uint64_t elapsed = weft_time_now_ns() - start;
        b += n;
        *lo = b;
        if (rc != 0)
            return rc;
        done += n;
        double rest = (double)elapsed / (double)done * (double)(hi - b);
        if (rest < PROBE_INLINE_NS) {
            if (b < hi) {
                rc = leaf(arg, b, hi);
                *lo = hi;
            }
            return rc;
        }
        if (elapsed >= PROBE_TRUST_NS)
            return 0;
        chunk = chunk > SIZE_MAX / PROBE_GROWTH ? SIZE_MAX : chunk * PROBE_GROWTH;
    }
    return 0;
}

int weft_par_enter(weft_fn fn, void *arg)
{
    return weft_pool_execute(NULL, fn, arg);
}

size_t weft_par_threads(void)
{
    int n = weft_pool_num_threads(NULL);
    return n > 0 ? (size_t)n : 1;
}
