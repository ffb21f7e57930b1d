/* fuzz_par.c: libFuzzer target for the loops (weft/par.h), also built as a corpus
 * replay test (replay_main.c) in the ordinary builds.
 *
 * The input decodes to (op, threads 1..4, lo, hi, grain, stop points) and runs the op
 * on a pool of that many workers, checking it against the serial answer:
 *  - par_for: a coverage count per index (every index of [lo, hi) exactly once, no
 *    body range outside it, none empty or reversed); with an explicit grain every
 *    body (and fold) range has a length in [grain, 2 x grain), or is the whole range
 *    when that is shorter than grain;
 *  - par_reduce: a wrapping sum, plus a "range" monoid (the accumulator is the span
 *    [a, b) it covers; fold and combine demand contiguity, so left and right can never
 *    be swapped or overlap) and a small or a large (heap) accumulator;
 *  - par_reduce_deterministic: as par_reduce, and the leaf sequence (a position-
 *    dependent hash of every leaf's bounds) and an order-sensitive floating-point sum
 *    must be bit-identical to the run on a 1-worker pool;
 *  - early exit: a body returns 7 (or 9) on reaching chosen indices: the call returns
 *    one of those statuses, no index is visited twice, and the stopping index was
 *    visited; par_reduce with a stopping fold returns its status;
 *  - par_for_2d: coverage of a rows x cols grid, each side of a tile at least its
 *    explicit grain (unless the grid's side is shorter), below twice it when both
 *    grains are explicit; par_sort (u64, u32, generic unstable, stable) against
 *    qsort, stability checked on an index payload.
 * lo is near 0 or near SIZE_MAX; hi - lo <= 1 << 16, so a run stays short. A flag
 * swaps lo and hi: the calls must then return -EINVAL and run nothing.
 *
 * Pools: one per thread count, created on first use and kept for the process (a
 * libFuzzer entry point has no context to hang them on; this is test code). */
#include "check.h"
#include <errno.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <weft/par.h>
#include <weft/runtime.h>

#define MAX_LEN (1u << 16)
#define MAX_THREADS 4
#define BIG_ACC 320 /* above reduce.c's inline accumulator size: heap path */

typedef struct pz_in {
    const uint8_t *p;
    size_t n, at;
} pz_in;

static uint64_t pz_take(pz_in *in, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = v << 8 | (in->at < in->n ? in->p[in->at++] : 0);
    return v;
}

enum { OP_FOR, OP_REDUCE, OP_REDUCE_DET, OP_FOR_STOP, OP_REDUCE_STOP, OP_FOR_2D, OP_SORT, OP_COUNT };

typedef struct pz_case {
    int op;
    unsigned threads;
    size_t lo, hi, grain;
    bool swapped;      /* lo > hi: expect -EINVAL */
    size_t stop[2];    /* absolute indices that stop the loop (SIZE_MAX - 0: none) */
    bool has_stop[2];
    bool big_acc;
    const uint8_t *rest; /* payload for sort */
    size_t rest_n;
    uint8_t sort_kind;
    size_t rows, cols, row_grain, col_grain; /* OP_FOR_2D */
} pz_case;

typedef struct pz_ctx {
    const pz_case *c;
    _Atomic uint8_t *visits;    /* per index - lo */
    _Atomic uint32_t bad;       /* a body range out of bounds or reversed */
    _Atomic uint32_t off_grain; /* a body range whose length the grain does not allow */
    _Atomic uint32_t after;     /* a body running after the call returned */
    _Atomic bool returned;
} pz_ctx;

/* A chunk of `len` out of a range of `n` is what a grain > 0 promises: [grain,
 * 2 x grain), or the whole range if it is shorter than grain. */
static bool pz_grain_ok(size_t len, size_t n, size_t grain)
{
    if (n < grain)
        return len == n;
    return len >= grain && len / 2 < grain;
}

static int pz_visit(pz_ctx *x, size_t b, size_t e)
{
    const pz_case *c = x->c;
    /* Relaxed: only a flag for the checks after the call; the call's return orders it. */
    if (atomic_load_explicit(&x->returned, memory_order_relaxed))
        atomic_fetch_add_explicit(&x->after, 1, memory_order_relaxed);
    if (b >= e || b < c->lo || e > c->hi) {
        atomic_fetch_add_explicit(&x->bad, 1, memory_order_relaxed);
        return 0;
    }
    if (c->grain && !pz_grain_ok(e - b, c->hi - c->lo, c->grain))
        atomic_fetch_add_explicit(&x->off_grain, 1, memory_order_relaxed);
    for (size_t i = b; i < e; i++) {
        atomic_fetch_add_explicit(&x->visits[i - c->lo], 1, memory_order_relaxed);
        for (int k = 0; k < 2; k++)
            if (c->has_stop[k] && i == c->stop[k])
                return k ? 9 : 7;
    }
    return 0;
}

static int pz_body(void *ctx, size_t b, size_t e)
{
    return pz_visit(ctx, b, e);
}

/* ---- reductions ---- */

typedef struct pz_acc {
    bool empty;
    uint32_t bad;
    size_t a, b;   /* the span covered, [a, b) */
    uint64_t sum;  /* wrapping sum of pz_val(i) */
    uint64_t h, pk; /* leaf-sequence hash and PZ_P^(leaves) */
    double fsum;
} pz_acc;

#define PZ_P 0x100000001b3ull

static uint64_t pz_val(size_t i)
{
    return (uint64_t)i * 0x9e3779b97f4a7c15ull ^ (uint64_t)i >> 7;
}
/* Values whose float sum depends on the order of addition. */
static double pz_fval(size_t i)
{
    return (i & 3) == 0 ? 1e16 : (i & 3) == 2 ? -1e16 : 1.0 + (double)(i % 7) * 0.1;
}

static int pz_fold(void *ctx, size_t b, size_t e, void *accp)
{
    pz_ctx *x = ctx;
    pz_acc *acc = accp;
    int st = pz_visit(x, b, e);
    if (b >= e || b < x->c->lo || e > x->c->hi)
        return 0;
    if (acc->empty) {
        acc->empty = false;
        acc->a = b;
    } else if (acc->b != b) {
        acc->bad++;
    }
    acc->b = e;
    for (size_t i = b; i < e; i++) {
        acc->sum += pz_val(i);
        acc->fsum += pz_fval(i);
    }
    acc->h = acc->h * PZ_P + ((uint64_t)b * 31 + (uint64_t)e);
    acc->pk *= PZ_P;
    return st;
}

static void pz_combine(void *ctx, void *accp, const void *otherp)
{
    (void)ctx;
    pz_acc *acc = accp;
    const pz_acc *o = otherp;
    acc->bad += o->bad;
    if (o->empty)
        return;
    if (acc->empty) {
        *acc = *o;
        return;
    }
    if (acc->b != o->a)
        acc->bad++;
    acc->b = o->b;
    acc->sum += o->sum;
    acc->fsum += o->fsum;
    acc->h = acc->h * o->pk + o->h;
    acc->pk *= o->pk;
}

/* ---- sorting ---- */

typedef struct pz_rec {
    uint16_t key;
    uint32_t idx;
} pz_rec;

static int pz_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}
static int pz_cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}
static int pz_cmp_rec(const void *a, const void *b)
{
    const pz_rec *x = a, *y = b;
    return x->key < y->key ? -1 : x->key > y->key;
}
static int pz_cmp_rec_idx(const void *a, const void *b)
{
    const pz_rec *x = a, *y = b;
    int k = pz_cmp_rec(a, b);
    return k ? k : (x->idx < y->idx ? -1 : x->idx > y->idx);
}

static void pz_sort(const pz_case *c)
{
    /* n elements from the payload, each repeated to reach up to ~8x the input. */
    size_t reps = 1 + (c->sort_kind >> 2) % 8;
    size_t n = c->rest_n * reps / 2;
    if (n == 0)
        n = c->sort_kind % 5; /* small sizes, even with no payload */
    int kind = c->sort_kind & 3;
    if (kind == 0 || kind == 1) {
        size_t sz = kind == 0 ? 8 : 4;
        unsigned char *a = calloc(n + 1, sz), *b = calloc(n + 1, sz);
        CHECK(a && b);
        for (size_t i = 0; i < n; i++) {
            uint64_t v = 0;
            for (size_t k = 0; k < sz; k++)
                v = v << 8 | (c->rest_n ? c->rest[(i * 2 + k) % c->rest_n] : (uint8_t)i);
            v ^= (uint64_t)(i / (c->rest_n ? c->rest_n : 1)) << 40; /* repeats differ in high bits */
            if (sz == 8)
                memcpy(a + i * 8, &v, 8);
            else {
                uint32_t w = (uint32_t)(v ^ v >> 32);
                memcpy(a + i * 4, &w, 4);
            }
        }
        memcpy(b, a, n * sz);
        int r = sz == 8 ? weft_par_sort_u64((uint64_t *)(void *)a, n) : weft_par_sort_u32((uint32_t *)(void *)a, n);
        CHECK(r == 0, "par_sort_u%zu: %d", sz * 8, r);
        qsort(b, n, sz, sz == 8 ? pz_cmp_u64 : pz_cmp_u32);
        CHECK(memcmp(a, b, n * sz) == 0, "par_sort_u%zu differs from qsort (n %zu)", sz * 8, n);
        free(a);
        free(b);
        return;
    }
    pz_rec *a = calloc(n + 1, sizeof *a), *b = calloc(n + 1, sizeof *b);
    CHECK(a && b);
    for (size_t i = 0; i < n; i++) {
        a[i].key = c->rest_n ? (uint16_t)(c->rest[i % c->rest_n] & 0x1f) : (uint16_t)(i % 3);
        a[i].idx = (uint32_t)i;
    }
    memcpy(b, a, n * sizeof *a);
    qsort(b, n, sizeof *b, pz_cmp_rec_idx); /* the stable order */
    if (kind == 2) {
        CHECK(weft_par_sort(a, n, sizeof *a, pz_cmp_rec) == 0);
        for (size_t i = 0; i < n; i++)
            CHECK(a[i].key == b[i].key, "par_sort: key %zu wrong (n %zu)", i, n);
        qsort(a, n, sizeof *a, pz_cmp_rec_idx); /* a permutation of the input? */
        CHECK(memcmp(a, b, n * sizeof *a) == 0, "par_sort lost or duplicated an element");
    } else {
        CHECK(weft_par_sort_stable(a, n, sizeof *a, pz_cmp_rec) == 0);
        CHECK(memcmp(a, b, n * sizeof *a) == 0, "par_sort_stable: not the stable order (n %zu)", n);
    }
    free(a);
    free(b);
}

/* ---- 2-D ---- */

typedef struct pz_grid {
    size_t rows, cols, row_grain, col_grain;
    _Atomic uint8_t *cells;
    _Atomic uint32_t bad;
    _Atomic uint32_t off_grain; /* a tile side its grain does not allow */
} pz_grid;

/* A tile side of `len` out of `n` for `grain`: no constraint for 0; else at least
 * the grain (or all of n if shorter), and below twice it when both grains are given. */
static bool pz_side_ok(size_t len, size_t n, size_t grain, bool both)
{
    if (grain == 0)
        return true;
    if (!both)
        return len >= (n < grain ? n : grain);
    return pz_grain_ok(len, n, grain);
}

static int pz_body2d(void *ctx, size_t r0, size_t r1, size_t c0, size_t c1)
{
    pz_grid *g = ctx;
    if (r0 >= r1 || c0 >= c1 || r1 > g->rows || c1 > g->cols) {
        atomic_fetch_add_explicit(&g->bad, 1, memory_order_relaxed);
        return 0;
    }
    bool both = g->row_grain && g->col_grain;
    if (!pz_side_ok(r1 - r0, g->rows, g->row_grain, both) || !pz_side_ok(c1 - c0, g->cols, g->col_grain, both))
        atomic_fetch_add_explicit(&g->off_grain, 1, memory_order_relaxed);
    for (size_t r = r0; r < r1; r++)
        for (size_t c = c0; c < c1; c++)
            atomic_fetch_add_explicit(&g->cells[r * g->cols + c], 1, memory_order_relaxed);
    return 0;
}

/* ---- running a case ---- */

static int pz_reduce(const pz_case *c, pz_ctx *x, bool det, void *result)
{
    alignas(max_align_t) unsigned char identity[BIG_ACC];
    memset(identity, 0, sizeof identity);
    pz_acc id = {true, 0, 0, 0, 0, 0, 1, 0.0};
    memcpy(identity, &id, sizeof id);
    size_t size = c->big_acc ? BIG_ACC : sizeof(pz_acc);
    size_t lo = c->swapped ? c->hi : c->lo, hi = c->swapped ? c->lo : c->hi;
    return det ? weft_par_reduce_deterministic(lo, hi, c->grain, identity, pz_fold, pz_combine, x, result, size)
               : weft_par_reduce(lo, hi, c->grain, identity, pz_fold, pz_combine, x, result, size);
}

static void pz_check_visits(const pz_case *c, pz_ctx *x, bool exact)
{
    CHECK(atomic_load_explicit(&x->bad, memory_order_relaxed) == 0, "a body got a range outside [lo, hi)");
    CHECK(atomic_load_explicit(&x->after, memory_order_relaxed) == 0, "a body ran after the call returned");
    CHECK(atomic_load_explicit(&x->off_grain, memory_order_relaxed) == 0,
          "a chunk outside [grain, 2 x grain) (lo %zu hi %zu grain %zu threads %u)", c->lo, c->hi, c->grain,
          c->threads);
    size_t n = c->hi - c->lo;
    for (size_t i = 0; i < n; i++) {
        uint8_t v = atomic_load_explicit(&x->visits[i], memory_order_relaxed);
        CHECK(v <= 1, "index lo+%zu visited %u times (lo %zu hi %zu grain %zu threads %u)", i, v, c->lo, c->hi,
              c->grain, c->threads);
        CHECK(!exact || v == 1, "index lo+%zu not visited (lo %zu hi %zu grain %zu threads %u)", i, c->lo, c->hi,
              c->grain, c->threads);
    }
}

typedef struct pz_job {
    const pz_case *c;
    pz_acc det_result; /* OP_REDUCE_DET: the result of this run */
    int status;
} pz_job;

static void pz_run(void *arg)
{
    pz_job *job = arg;
    const pz_case *c = job->c;
    size_t n = c->hi - c->lo;
    pz_ctx x = {c, NULL, 0, 0, 0, false};
    x.visits = calloc(n + 1, 1);
    CHECK(x.visits);
    int r;
    switch (c->op) {
    case OP_FOR:
    case OP_FOR_STOP:
        r = c->swapped ? weft_par_for(c->hi, c->lo, c->grain, pz_body, &x)
                       : weft_par_for(c->lo, c->hi, c->grain, pz_body, &x);
        atomic_store_explicit(&x.returned, true, memory_order_relaxed);
        job->status = r;
        if (c->swapped) {
            CHECK(r == -EINVAL, "par_for(hi, lo): %d", r);
            pz_check_visits(c, &x, false);
            for (size_t i = 0; i < n; i++)
                CHECK(atomic_load_explicit(&x.visits[i], memory_order_relaxed) == 0);
            break;
        }
        bool stops = false;
        for (int k = 0; k < 2; k++)
            stops |= c->has_stop[k];
        if (!stops) {
            CHECK(r == 0, "par_for: %d", r);
            pz_check_visits(c, &x, true);
        } else {
            CHECK(r == 7 || r == 9, "par_for with stops: %d", r);
            CHECK(c->has_stop[r == 9], "status %d from a stop that is not there", r);
            pz_check_visits(c, &x, false);
            CHECK(atomic_load_explicit(&x.visits[c->stop[r == 9] - c->lo], memory_order_relaxed) == 1);
        }
        break;
    case OP_REDUCE:
    case OP_REDUCE_DET:
    case OP_REDUCE_STOP: {
        alignas(max_align_t) unsigned char res[BIG_ACC];
        memset(res, 0xa5, sizeof res);
        r = pz_reduce(c, &x, c->op == OP_REDUCE_DET, res);
        atomic_store_explicit(&x.returned, true, memory_order_relaxed);
        job->status = r;
        if (c->swapped) {
            CHECK(r == -EINVAL, "par_reduce(hi, lo): %d", r);
            pz_check_visits(c, &x, false);
            break;
        }
        if (c->op == OP_REDUCE_STOP && (c->has_stop[0] || c->has_stop[1])) {
            CHECK(r == 7 || r == 9, "par_reduce with stops: %d", r);
            CHECK(c->has_stop[r == 9]);
            pz_check_visits(c, &x, false);
            break;
        }
        CHECK(r == 0, "par_reduce: %d", r);
        pz_check_visits(c, &x, true);
        pz_acc acc;
        memcpy(&acc, res, sizeof acc);
        CHECK(acc.bad == 0, "reduce: combine saw non-contiguous or swapped parts");
        uint64_t sum = 0;
        for (size_t i = c->lo; i < c->hi; i++)
            sum += pz_val(i);
        CHECK(acc.sum == sum, "reduce sum %llu, serial %llu", (unsigned long long)acc.sum,
              (unsigned long long)sum);
        if (n == 0)
            CHECK(acc.empty, "reduce of an empty range is not the identity");
        else
            CHECK(!acc.empty && acc.a == c->lo && acc.b == c->hi, "reduce span [%zu, %zu) of [%zu, %zu)", acc.a,
                  acc.b, c->lo, c->hi);
        job->det_result = acc;
        break;
    }
    case OP_FOR_2D: {
        size_t rows = c->rows, cols = c->cols, rg = c->row_grain, cg = c->col_grain;
        pz_grid g = {rows, cols, rg, cg, calloc(rows * cols + 1, 1), 0, 0};
        CHECK(g.cells);
        r = weft_par_for_2d(rows, cols, rg, cg, pz_body2d, &g);
        job->status = r;
        CHECK(r == 0, "par_for_2d: %d", r);
        CHECK(atomic_load_explicit(&g.bad, memory_order_relaxed) == 0, "par_for_2d: a tile out of the grid");
        CHECK(atomic_load_explicit(&g.off_grain, memory_order_relaxed) == 0,
              "par_for_2d %zux%zu grains %zu,%zu: a tile side off its grain", rows, cols, rg, cg);
        for (size_t i = 0; i < rows * cols; i++)
            CHECK(atomic_load_explicit(&g.cells[i], memory_order_relaxed) == 1,
                  "par_for_2d %zux%zu grains %zu,%zu: cell %zu visited %u times", rows, cols, rg, cg, i,
                  atomic_load_explicit(&g.cells[i], memory_order_relaxed));
        free((void *)g.cells);
        break;
    }
    default:
        pz_sort(c);
        job->status = 0;
        break;
    }
    free((void *)x.visits);
}

static weft_pool *pz_pool(unsigned threads)
{
    static weft_pool *pools[MAX_THREADS + 1]; /* see the file comment */
    if (!pools[threads]) {
        weft_pool_config cfg = WEFT_POOL_CONFIG_INIT;
        cfg.num_threads = threads;
        cfg.pin = WEFT_PIN_NONE;
        cfg.wait = WEFT_WAIT_PASSIVE; /* idle pools of other sizes must not spin */
        cfg.name_prefix = "fuzz";
        CHECK(weft_pool_create(&cfg, &pools[threads]) == 0);
    }
    return pools[threads];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pz_in in = {data, size, 0};
    pz_case c;
    memset(&c, 0, sizeof c);
    uint8_t b0 = (uint8_t)pz_take(&in, 1), b1 = (uint8_t)pz_take(&in, 1);
    c.op = b0 % OP_COUNT;
    c.swapped = (b0 >> 3) == 0x1f; /* rare: 1 in 32 */
    c.big_acc = b0 & 0x80;
    c.threads = 1 + (b1 & 3);
    uint64_t base = pz_take(&in, 4);
    size_t n = (size_t)pz_take(&in, 2) + ((b1 >> 2) & 1 ? 1 : 0); /* 0 .. 1 << 16 */
    switch ((b1 >> 3) & 3) {
    case 0: c.lo = (size_t)(base & 0xffff); break;
    case 1: c.lo = (size_t)base; break;
    default: c.lo = SIZE_MAX - n - (size_t)(base & 0xff); break; /* hi at or just below SIZE_MAX */
    }
    c.hi = c.lo + n;
    if (c.hi < c.lo)
        c.hi = SIZE_MAX, n = c.hi - c.lo;
    uint64_t g = pz_take(&in, 2);
    switch (b1 >> 5) {
    case 0: case 1: c.grain = 0; break;
    case 2: c.grain = 1; break;
    case 3: c.grain = SIZE_MAX; break;
    case 4: c.grain = n ? (size_t)(g % n) + 1 : 1; break;
    default: c.grain = (size_t)g; break;
    }
    for (int k = 0; k < 2; k++) {
        uint64_t s = pz_take(&in, 2);
        c.has_stop[k] = n && (c.op == OP_FOR_STOP || c.op == OP_REDUCE_STOP) && (k == 0 || (s & 1));
        c.stop[k] = n ? c.lo + (size_t)(s % n) : 0;
    }
    if (c.has_stop[0] && c.has_stop[1] && c.stop[0] == c.stop[1])
        c.has_stop[1] = false;
    if (c.swapped && c.lo == c.hi)
        c.swapped = false;
    c.rows = (size_t)base % 257;
    c.cols = (size_t)((base >> 16) ^ n) % 257;
    c.row_grain = (size_t)g % 64;
    c.col_grain = (size_t)(g >> 8) % 64;
    c.sort_kind = (uint8_t)pz_take(&in, 1);
    c.rest = data + in.at;
    c.rest_n = in.at < size ? size - in.at : 0;

    pz_job job = {&c, {0}, 0};
    CHECK(weft_pool_run(pz_pool(c.threads), pz_run, &job) == 0);
    if (c.op == OP_REDUCE_DET && !c.swapped && c.threads != 1) {
        /* The same tree on one worker: bit-identical leaves and float sum. */
        pz_job one = {&c, {0}, 0};
        CHECK(weft_pool_run(pz_pool(1), pz_run, &one) == 0);
        CHECK(one.det_result.h == job.det_result.h && one.det_result.pk == job.det_result.pk,
              "deterministic reduce: leaves differ between 1 and %u workers", c.threads);
        CHECK(memcmp(&one.det_result.fsum, &job.det_result.fsum, sizeof(double)) == 0,
              "deterministic reduce: float sum differs between 1 and %u workers", c.threads);
    }
    return 0;
}
