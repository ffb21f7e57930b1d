/* bench_loops.c: the loop patterns beyond par_for and reduce, weft beside serial C
 * (and OpenMP or oneTBB where they have the pattern) in the same run:
 *  - for_init: a loop whose every chunk needs 64 KiB of zeroed scratch (a histogram),
 *    with weft_par_for_init (one per worker, "weft") and without it (weft_par_for
 *    with one per chunk, "weft-chunk"); OpenMP's is per thread of its region;
 *  - scan: an inclusive prefix sum of n uint64_t, weft_par_scan beside a serial loop
 *    and oneTBB's parallel_scan;
 *  - find: the first index of a value in n uint32_t, placed at 1%, 50% or the last
 *    index, weft_par_find_first beside a serial loop.
 *
 * Fairness invariants: one kernel function per workload, called by every impl on the
 * same sub-ranges it would get from its scheduler; pools, teams and arenas are made
 * and warmed before the clock, the data made and checked outside it; weft runs with
 * grain 0 (what a user writes first), OpenMP with schedule(static). Every run is
 * checked (see each section). */
#include "bench.h"
#include "bench_tbb.h"

#include <weft/par.h>
#include <weft/runtime.h>
#include <weft/sync.h>

#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------
 * for_init: a histogram of n u32 keys into HIST_BINS bins (the top bits of each key):
 * every chunk needs 64 KiB of zeroed counters, and their sum is the result.
 *  - serial: one histogram;
 *  - weft: weft_par_for_init, a histogram per worker made (zeroed) by init and added
 *    into the result by fini, once per worker per pass;
 *  - weft-chunk: weft_par_for, a histogram per chunk (calloc), added into the result
 *    under a weft_mutex when the chunk is done, then freed: what a per-chunk scratch
 *    costs;
 *  - openmp: a histogram per thread of the parallel region, added under `critical`.
 * weft's rows use an explicit grain, CHUNK_KEYS (the chunk a user picks for such a
 * body: a per-chunk cost wants long chunks), OpenMP schedule(static). `size` passes;
 * ops = keys counted; checked: every bin against the serial count made at setup. */

#define HIST_BINS 16384u /* 64 KiB of uint32_t */
#define HIST_SHIFT 18u   /* 32 - log2(HIST_BINS) */
#define CHUNK_KEYS 16384u

typedef struct hist_param {
    size_t n;
} hist_param;

typedef struct hist_job {
    uint32_t *keys;
    size_t n;
    uint64_t passes;
    uint32_t *result; /* HIST_BINS, summed over the passes */
    uint32_t *want;   /* one pass, serial */
    weft_mutex lock;
    int rc;
} hist_job;

static __attribute__((noinline)) void count_keys(const uint32_t *keys, size_t b, size_t e, uint32_t *hist)
{
    for (size_t i = b; i < e; i++)
        hist[keys[i] >> HIST_SHIFT]++;
}

static void add_hist(uint32_t *to, const uint32_t *from)
{
    for (size_t k = 0; k < HIST_BINS; k++)
        to[k] += from[k];
}

static bool hist_setup(hist_job *h, const hist_param *p, uint64_t passes)
{
    *h = (hist_job){.n = p->n, .passes = passes, .lock = WEFT_MUTEX_INIT};
    h->keys = malloc(p->n * sizeof *h->keys);
    h->result = calloc(HIST_BINS, sizeof *h->result);
    h->want = calloc(HIST_BINS, sizeof *h->want);
    if (!h->keys || !h->result || !h->want)
        return false;
    uint32_t x = 0x9e3779b9u;
    for (size_t i = 0; i < p->n; i++) {
        x ^= x << 13; /* xorshift32 */
        x ^= x >> 17;
        x ^= x << 5;
        h->keys[i] = x;
    }
    count_keys(h->keys, 0, p->n, h->want);
    return true;
}

static bool hist_finish(hist_job *h, bench_result *res)
{
    bool ok = h->keys && h->result && h->want && h->rc == 0;
    for (size_t k = 0; ok && k < HIST_BINS; k++)
        ok = h->result[k] == (uint32_t)(h->want[k] * h->passes);
    free(h->keys);
    free(h->result);
    free(h->want);
    res->ops = h->n * h->passes;
    return ok;
}

static bench_result hist_serial_run(const bench_args *a)
{
    bench_result res = {0};
    hist_job h;
    bool ok = hist_setup(&h, a->arg, a->size);
    if (ok) {
        double t0 = bench_now_s();
        for (uint64_t p = 0; p < h.passes; p++)
            count_keys(h.keys, 0, h.n, h.result);
        res.seconds = bench_now_s() - t0;
    }
    res.ok = hist_finish(&h, &res) && ok;
    return res;
}

/* weft_par_for_init: a histogram per worker. */
static int hist_init(void *ctx, void **state)
{
    (void)ctx;
    *state = calloc(HIST_BINS, sizeof(uint32_t));
    return *state ? 0 : -ENOMEM;
}

static int hist_body(void *ctx, void *state, size_t b, size_t e)
{
    const hist_job *h = ctx;
    count_keys(h->keys, b, e, state);
    return 0;
}

static void hist_fini(void *ctx, void *state)
{
    hist_job *h = ctx; /* on the calling thread, after the loop: no lock */
    add_hist(h->result, state);
    free(state);
}

static void hist_weft_root(void *arg)
{
    hist_job *h = arg;
    for (uint64_t p = 0; p < h->passes && h->rc == 0; p++)
        h->rc = weft_par_for_init(0, h->n, CHUNK_KEYS, hist_init, hist_body, hist_fini, h);
}

/* weft_par_for: a histogram per chunk. */
static int hist_chunk_body(void *ctx, size_t b, size_t e)
{
    hist_job *h = ctx;
    uint32_t *hist = calloc(HIST_BINS, sizeof *hist);
    if (!hist)
        return -ENOMEM;
    count_keys(h->keys, b, e, hist);
    int rc = weft_mutex_lock(&h->lock);
    if (rc == 0) {
        add_hist(h->result, hist);
        rc = weft_mutex_unlock(&h->lock);
    }
    free(hist);
    return rc;
}

static void hist_chunk_root(void *arg)
{
    hist_job *h = arg;
    for (uint64_t p = 0; p < h->passes && h->rc == 0; p++)
        h->rc = weft_par_for(0, h->n, CHUNK_KEYS, hist_chunk_body, h);
}

static bench_result hist_weft_common(const bench_args *a, void (*root)(void *))
{
    bench_result res = {0};
    hist_job h;
    bool ok = hist_setup(&h, a->arg, a->size) && bench_weft_timed(a, root, &h, &res.seconds);
    res.ok = hist_finish(&h, &res) && ok;
    return res;
}

static bench_result hist_weft_run(const bench_args *a)
{
    return hist_weft_common(a, hist_weft_root);
}

static bench_result hist_chunk_run(const bench_args *a)
{
    return hist_weft_common(a, hist_chunk_root);
}

static bench_result hist_omp_run(const bench_args *a)
{
    bench_result res = {0};
    hist_job h;
    bool ok = hist_setup(&h, a->arg, a->size);
    if (ok) {
        bench_omp_warm(a->threads);
        long n = (long)h.n;
        int failed = 0;
        double t0 = bench_now_s();
        for (uint64_t p = 0; p < h.passes; p++) {
#pragma omp parallel reduction(| : failed)
            {
                uint32_t *hist = calloc(HIST_BINS, sizeof *hist);
                failed = !hist;
#pragma omp for schedule(static)
                for (long i = 0; i < n; i++)
                    if (hist)
                        hist[h.keys[i] >> HIST_SHIFT]++;
                if (hist) {
#pragma omp critical
                    add_hist(h.result, hist);
                }
                free(hist);
            }
        }
        res.seconds = bench_now_s() - t0;
        h.rc = failed ? -ENOMEM : 0;
    }
    res.ok = hist_finish(&h, &res) && ok;
    return res;
}

/* ------------------------------------------------------------------------------
 * scan: out[i] = in[0] + ... + in[i] over n uint64_t, `passes` times (one for the
 * full size: the size is the workload). One kernel, scan_kernel, folds a sub-range
 * (and writes it when final) for every impl: the serial loop calls it once on the
 * whole range, weft_par_scan and tbb::parallel_scan per sub-range. ops = elements
 * scanned; checked: every output of the last pass, and the total. */

typedef struct scan_param {
    size_t n;
    unsigned passes;
} scan_param;

typedef struct scan_job {
    uint64_t *in, *out;
    size_t n;
    unsigned passes;
    uint64_t total;
    int rc;
} scan_job;

static __attribute__((noinline)) uint64_t scan_kernel(void *ctx, size_t b, size_t e, uint64_t acc, bool final)
{
    const scan_job *s = ctx;
    const uint64_t *restrict in = s->in;
    uint64_t *restrict out = s->out;
    if (final) {
        for (size_t i = b; i < e; i++) {
            acc += in[i];
            out[i] = acc;
        }
    } else {
        for (size_t i = b; i < e; i++)
            acc += in[i];
    }
    return acc;
}

static bool scan_setup(scan_job *s, const scan_param *p)
{
    *s = (scan_job){.n = p->n, .passes = p->passes};
    s->in = malloc(p->n * sizeof *s->in);
    s->out = malloc(p->n * sizeof *s->out);
    if (!s->in || !s->out)
        return false;
    for (size_t i = 0; i < p->n; i++) {
        s->in[i] = i % 1000;
        s->out[i] = 1; /* touched before the clock, not a prefix sum */
    }
    return true;
}

static bool scan_finish(scan_job *s, bench_result *res, bool check_total)
{
    bool ok = s->in && s->out && s->rc == 0;
    uint64_t acc = 0;
    for (size_t i = 0; ok && i < s->n; i++) {
        acc += s->in[i];
        ok = s->out[i] == acc;
    }
    ok = ok && (!check_total || s->total == acc);
    free(s->in);
    free(s->out);
    res->ops = (uint64_t)s->n * s->passes;
    return ok;
}

static bench_result scan_serial_run(const bench_args *a)
{
    bench_result res = {0};
    scan_job s;
    bool ok = scan_setup(&s, a->arg);
    if (ok) {
        double t0 = bench_now_s();
        for (unsigned p = 0; p < s.passes; p++)
            s.total = scan_kernel(&s, 0, s.n, 0, true);
        res.seconds = bench_now_s() - t0;
    }
    res.ok = scan_finish(&s, &res, true) && ok;
    return res;
}

static int scan_weft_fn(void *ctx, size_t b, size_t e, void *acc, bool final)
{
    *(uint64_t *)acc = scan_kernel(ctx, b, e, *(uint64_t *)acc, final);
    return 0;
}

static void scan_add(void *ctx, void *acc, const void *other)
{
    (void)ctx;
    *(uint64_t *)acc += *(const uint64_t *)other;
}

static void scan_weft_root(void *arg)
{
    scan_job *s = arg;
    const uint64_t zero = 0;
    for (unsigned p = 0; p < s->passes && s->rc == 0; p++)
        s->rc = weft_par_scan(0, s->n, 0, &zero, scan_weft_fn, scan_add, s, &s->total, sizeof s->total);
}

static bench_result scan_weft_run(const bench_args *a)
{
    bench_result res = {0};
    scan_job s;
    bool ok = scan_setup(&s, a->arg) && bench_weft_timed(a, scan_weft_root, &s, &res.seconds);
    res.ok = scan_finish(&s, &res, true) && ok;
    return res;
}

#ifdef WEFT_BENCH_HAVE_TBB
static bench_result scan_tbb_run(const bench_args *a)
{
    bench_result res = {0};
    scan_job s;
    bool ok = scan_setup(&s, a->arg) &&
              bench_tbb_scan_u64(a->threads, s.n, s.passes, scan_kernel, &s, &res.seconds);
    res.ok = scan_finish(&s, &res, false) && ok;
    return res;
}
#endif

/* ------------------------------------------------------------------------------
 * find: the first index i with a[i] == FIND_VALUE in n uint32_t, where exactly one
 * element holds it, at `at_permille` / 1000 of the range (1000: the last index).
 * `size` searches per run; ops = searches. One kernel, find_kernel (the serial loop
 * calls it on the whole range, weft on its sub-ranges). Checked: every search's
 * answer. */

#define FIND_VALUE 0xffffffffu

typedef struct find_param {
    size_t n;
    unsigned at_permille;
} find_param;

typedef struct find_job {
    uint32_t *a;
    size_t n, at;
    uint64_t searches, bad;
    int rc;
} find_job;

static __attribute__((noinline)) size_t find_kernel(void *ctx, size_t b, size_t e)
{
    const uint32_t *a = ((const find_job *)ctx)->a;
    for (size_t i = b; i < e; i++)
        if (a[i] == FIND_VALUE)
            return i;
    return WEFT_NOT_FOUND;
}

static bool find_setup(find_job *f, const find_param *p, uint64_t searches)
{
    *f = (find_job){.n = p->n, .searches = searches};
    f->a = malloc(p->n * sizeof *f->a);
    if (!f->a)
        return false;
    for (size_t i = 0; i < p->n; i++)
        f->a[i] = (uint32_t)(i * 2654435761u) >> 1; /* never FIND_VALUE */
    f->at = p->at_permille >= 1000 ? p->n - 1 : p->n / 1000 * p->at_permille;
    f->a[f->at] = FIND_VALUE;
    return true;
}

static bool find_finish(find_job *f, bench_result *res)
{
    bool ok = f->a && f->bad == 0 && f->rc == 0;
    free(f->a);
    res->ops = f->searches;
    return ok;
}

static bench_result find_serial_run(const bench_args *a)
{
    bench_result res = {0};
    find_job f;
    bool ok = find_setup(&f, a->arg, a->size);
    if (ok) {
        double t0 = bench_now_s();
        for (uint64_t k = 0; k < f.searches; k++) {
            __asm__ volatile("" ::: "memory"); /* as far as the compiler knows, a changed */
            f.bad += find_kernel(&f, 0, f.n) != f.at;
        }
        res.seconds = bench_now_s() - t0;
    }
    res.ok = find_finish(&f, &res) && ok;
    return res;
}

static void find_weft_root(void *arg)
{
    find_job *f = arg;
    for (uint64_t k = 0; k < f->searches; k++) {
        size_t at = WEFT_NOT_FOUND;
        int rc = weft_par_find_first(0, f->n, 0, find_kernel, f, &at);
        if (rc != 0)
            f->rc = rc;
        f->bad += at != f->at;
    }
}

static bench_result find_weft_run(const bench_args *a)
{
    bench_result res = {0};
    find_job f;
    bool ok = find_setup(&f, a->arg, a->size) && bench_weft_timed(a, find_weft_root, &f, &res.seconds);
    res.ok = find_finish(&f, &res) && ok;
    return res;
}

/* ------------------------------------------------------------------------------
 * Registration */

#define SCALING {.min = 1}
#define SERIAL {.min = 1, .max = 1, .defaults = {1}}

static const hist_param hist_full = {(size_t)1 << 22}, hist_quick = {(size_t)1 << 18};
static const scan_param scan_full = {100000000, 1}, scan_quick = {1000000, 8};
static const find_param find_full[] = {{(size_t)1 << 25, 10}, {(size_t)1 << 25, 500}, {(size_t)1 << 25, 1000}},
                        find_quick[] = {{(size_t)1 << 20, 10}, {(size_t)1 << 20, 500}, {(size_t)1 << 20, 1000}};

#define FIND_ROWS(FP, PARAM)                                                                  \
    {"find", PARAM, "serial", SERIAL, "us/search", find_serial_run, 16, 16, false, &FP},      \
    {"find", PARAM, "weft", SCALING, "us/search", find_weft_run, 16, 16, false, &FP}

#define LOOP_ROWS(HIST, HP, SCAN, SP)                                                         \
    {"for_init", HP, "serial", SERIAL, "keys/s", hist_serial_run, 4, 1, false, &HIST},        \
    {"for_init", HP, "weft", SCALING, "keys/s", hist_weft_run, 4, 1, false, &HIST},           \
    {"for_init", HP, "weft-chunk", SCALING, "keys/s", hist_chunk_run, 4, 1, false, &HIST},    \
    {"for_init", HP, "openmp", SCALING, "keys/s", hist_omp_run, 4, 1, false, &HIST},          \
    {"scan", SP, "serial", SERIAL, "elem/s", scan_serial_run, 1, 1, true, &SCAN},             \
    {"scan", SP, "weft", SCALING, "elem/s", scan_weft_run, 1, 1, true, &SCAN},                \
    BENCH_TBB_ROW("scan", SP, "tbb", SCALING, "elem/s", scan_tbb_run, 1, 1, true, &SCAN)

/* LOOP_ROWS last: its TBB row brings its own trailing comma, or nothing. */
static const bench_def loop_benches[] = {
    FIND_ROWS(find_full[0], "at=1% n=2^25"),
    FIND_ROWS(find_full[1], "at=50% n=2^25"),
    FIND_ROWS(find_full[2], "at=100% n=2^25"),
    LOOP_ROWS(hist_full, "hist64KiB n=2^22", scan_full, "u64 n=1e8")
};
static const bench_def loop_benches_quick[] = {
    FIND_ROWS(find_quick[0], "at=1% n=2^20"),
    FIND_ROWS(find_quick[1], "at=50% n=2^20"),
    FIND_ROWS(find_quick[2], "at=100% n=2^20"),
    LOOP_ROWS(hist_quick, "hist64KiB n=2^18", scan_quick, "u64 n=1e6 x8")
};

void bench_register_loops(bench_registry *r)
{
    if (bench_registry_quick(r))
        bench_registry_add(r, loop_benches_quick, sizeof loop_benches_quick / sizeof loop_benches_quick[0]);
    else
        bench_registry_add(r, loop_benches, sizeof loop_benches / sizeof loop_benches[0]);
}
