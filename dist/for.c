/* for.c: weft_dist_par_for (chunks dealt dynamically from the shared counter) and
 * weft_dist_par_for_static (one fixed block per rank).
 *
 * Each call: agree on the arguments (one allreduce), run this rank's share with
 * weft_par_for on the calling thread's pool, agree on the status (one allreduce).
 * Invariant: both agreements are made by every rank on every path, so a rank whose
 * arguments were bad or whose body failed never leaves another waiting; every index
 * of [lo, hi) runs exactly once across the ranks, or the call fails on every rank. */
#include "dist_internal.h"

#include <errno.h>

typedef struct for_job {
    size_t lo, grain;
    weft_range_fn body;
    void *ctx;
} for_job;

static int for_chunk(void *arg, size_t b, size_t e)
{
    const for_job *j = arg;
    return weft_par_for(j->lo + b, j->lo + e, weft__dist_chunk_grain(j->grain, e - b), j->body, j->ctx);
}

static int dist_for(weft_dist *d, int kind, size_t lo, size_t hi, size_t grain, weft_range_fn body,
                    void *ctx)
{
    int rc = weft__dist_enter(d);
    if (rc != 0)
        return rc;
    uint64_t args[] = {weft__dist_word(lo), weft__dist_word(hi), weft__dist_word(grain)};
    uint64_t base = 0;
    rc = weft__dist_agree(d, kind, lo > hi || !body, args, 3, &base);
    if (rc != 0)
        return rc;
    for_job j = {lo, grain, body, ctx};
    int status;
    if (kind == WEFT__DIST_FOR) {
        weft__dist_sched s;
        weft__dist_sched_init(&s, hi - lo, (size_t)d->size, grain);
        status = weft__dist_deal(d, &s, base, for_chunk, &j);
    } else {
        /* Block r of size: lengths n / size, the first n % size one longer. */
        size_t n = hi - lo, q = n / (size_t)d->size, r = n % (size_t)d->size, me = (size_t)d->rank;
        size_t b = me * q + (me < r ? me : r);
        status = for_chunk(&j, b, b + q + (me < r));
    }
    return weft__dist_agree_status(d, status);
}

int weft_dist_par_for(weft_dist *d, size_t lo, size_t hi, size_t grain, weft_range_fn body, void *ctx)
{
    return dist_for(d, WEFT__DIST_FOR, lo, hi, grain, body, ctx);
}

int weft_dist_par_for_static(weft_dist *d, size_t lo, size_t hi, size_t grain, weft_range_fn body,
                             void *ctx)
{
    return dist_for(d, WEFT__DIST_FOR_STATIC, lo, hi, grain, body, ctx);
}
