/* bench_uts.c: `uts`, Unbalanced Tree Search (the tree: bench_uts.h) — count the nodes
 * of a T3-shaped binomial tree, forking once per child: serial C (recursive DFS),
 * weft, OpenMP tasks (gcc's libgomp) and, when built with it, oneTBB (bench_tbb.cpp).
 * The unit is nodes/s.
 *
 * Fairness invariants:
 *  - Every implementation walks the same tree (bench_uts.h) and forks at every node:
 *    a node's children are found by hashing, each child (leaf or not) is a unit of
 *    parallel work that learns its own number of children, as in UTS's reference and
 *    BOTS's OpenMP version. No cutoff anywhere.
 *  - Each is written the way its users write it: weft, the children's index range
 *    split in halves with weft_join down to one child (rayon's
 *    `(0..k).into_par_iter().map(visit).sum()`); weft-scope, OpenMP's shape with a
 *    scope per node (a weft_scope_spawn_copy per child but the last); OpenMP, one `task` per child writing
 *    its count into a shared array, the last child inline, `taskwait` (the BOTS uts
 *    shape; libgomp treats BOTS's `untied` as tied anyway); TBB, the same with one
 *    tbb::task_group per node.
 *  - Parallel rows time only the walk: the weft pool, OpenMP team or TBB arena is made
 *    and warmed before the clock starts.
 *  - Every run's node count must equal the tree's known count (the serial DFS's, kept
 *    in the param); a mismatch fails the row and is reported on stderr.
 *
 * Sizes: the default tree (T3 shape, seed 129: 22,142,089 nodes, depth 2461) takes
 * ~0.15 s serially on a 2020s x86-64; --quick walks UTS's own T3 parameters (seed 42:
 * with this hash 1,718,425 nodes, depth 1152, ~10 ms serial). A run walks the tree
 * `size` times. */
#include "bench.h"
#include "bench_tbb.h"
#include "bench_uts.h"

#include <weft/runtime.h>
#include <weft/sync.h>

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>


/* The row's result: ops = nodes visited; ok only if every walk counted p->nodes. */
static bench_result uts_result(const bench_args *a, const char *impl, uint64_t walks_ok,
                               uint64_t last_count, double seconds, bool ran)
{
    const uts_param *p = a->arg;
    bench_result res = {0};
    res.ok = ran && walks_ok == a->size;
    if (ran && !res.ok)
        fprintf(stderr, "uts/%s: counted %llu nodes, the tree has %llu\n", impl,
                (unsigned long long)last_count, (unsigned long long)p->nodes);
    res.seconds = seconds;
    res.ops = a->size * p->nodes;
    return res;
}

/* ------------------------------------------------------------------------------
 * serial: recursive depth-first search */

static uint64_t uts_serial(const uts_param *p, uint64_t id, uint32_t k)
{
    uint64_t count = 1;
    for (uint32_t i = 0; i < k; i++) {
        uint64_t c = uts_child(id, i);
        count += uts_serial(p, c, uts_num_children(p, c));
    }
    return count;
}

static bench_result uts_serial_run(const bench_args *a)
{
    const uts_param *p = a->arg;
    uint64_t good = 0, count = 0;
    double t0 = bench_now_s();
    for (uint64_t w = 0; w < a->size; w++) {
        count = uts_serial(p, uts_root(p), p->root_children);
        good += count == p->nodes;
    }
    return uts_result(a, "serial", good, count, bench_now_s() - t0, true);
}

/* ------------------------------------------------------------------------------
 * weft: the children [lo, hi) of `parent`, split in halves with weft_join; a single
 * child is visited (and finds its own children) in place. */

typedef struct uts_range {
    const uts_param *p;
    uint64_t parent;
    uint32_t lo, hi;
    uint64_t count; /* out: nodes in the subtrees of these children */
} uts_range;

static void uts_weft_range(void *ctx)
{
    uts_range *r = ctx;
    if (r->hi - r->lo == 1) {
        uint64_t c = uts_child(r->parent, r->lo);
        uint32_t k = uts_num_children(r->p, c);
        uts_range kids = {r->p, c, 0, k, 0};
        if (k > 0)
            uts_weft_range(&kids);
        r->count = 1 + kids.count;
        return;
    }
    uint32_t mid = r->lo + (r->hi - r->lo) / 2;
    uts_range x = {r->p, r->parent, r->lo, mid, 0}, y = {r->p, r->parent, mid, r->hi, 0};
    /* weft_join only fails on NULL functions */
    weft_join(uts_weft_range, &x, uts_weft_range, &y);
    r->count = x.count + y.count;
}

typedef struct uts_walks {
    const uts_param *p;
    uint64_t walks, good, count;
} uts_walks;

static void uts_weft_root(void *ctx)
{
    uts_walks *w = ctx;
    for (uint64_t i = 0; i < w->walks; i++) {
        uts_range r = {w->p, uts_root(w->p), 0, w->p->root_children, 0};
        if (r.hi > 0)
            uts_weft_range(&r);
        w->count = 1 + r.count;
        w->good += w->count == w->p->nodes;
    }
}

static bench_result uts_weft_run(const bench_args *a)
{
    uts_walks w = {a->arg, a->size, 0, 0};
    double seconds = 0;
    bool ran = bench_weft_timed(a, uts_weft_root, &w, &seconds);
    return uts_result(a, "weft", w.good, w.count, seconds, ran);
}

/* ------------------------------------------------------------------------------
 * weft-scope: OpenMP's shape written with a scope per node: weft_scope_spawn_copy of
 * each child but the last (its index and the node), the last inline, weft_scope_wait,
 * sum. The port of BOTS's task code to weft. */

static uint64_t uts_scope(const uts_param *p, uint64_t id, uint32_t k);

typedef struct uts_scope_arg {
    const uts_param *p;
    uint64_t parent;
    uint64_t *counts;
    uint32_t i;
} uts_scope_arg;

static int uts_scope_task(weft_scope *s, void *arg)
{
    (void)s;
    const uts_scope_arg *x = arg;
    uint64_t c = uts_child(x->parent, x->i);
    x->counts[x->i] = uts_scope(x->p, c, uts_num_children(x->p, c));
    return 0;
}

static uint64_t uts_scope_children(const uts_param *p, uint64_t id, uint32_t k, uint64_t *counts)
{
    weft_scope s;
    bool ok = weft_scope_init(&s, NULL) == 0;
    for (uint32_t i = 0; i + 1 < k; i++) {
        uts_scope_arg x = {p, id, counts, i};
        ok = weft_scope_spawn_copy(&s, uts_scope_task, &x, sizeof x) == 0 && ok;
    }
    uint64_t last = uts_child(id, k - 1);
    counts[k - 1] = uts_scope(p, last, uts_num_children(p, last));
    ok = weft_scope_wait(&s) == 0 && ok;
    uint64_t count = 1;
    for (uint32_t i = 0; i < k; i++)
        count += counts[i];
    return ok ? count : 0; /* a failure shows as a wrong count */
}

static uint64_t uts_scope(const uts_param *p, uint64_t id, uint32_t k)
{
    if (k == 0)
        return 1;
    uint64_t counts[UTS_MAX_M];
    return uts_scope_children(p, id, k, counts);
}

typedef struct uts_scope_walks {
    const uts_param *p;
    uint64_t *root_counts;
    uint64_t walks, good, count;
} uts_scope_walks;

static void uts_scope_root(void *ctx)
{
    uts_scope_walks *w = ctx;
    for (uint64_t i = 0; i < w->walks; i++) {
        w->count = w->p->root_children
                       ? uts_scope_children(w->p, uts_root(w->p), w->p->root_children, w->root_counts)
                       : 1;
        w->good += w->count == w->p->nodes;
    }
}

static bench_result uts_scope_run(const bench_args *a)
{
    const uts_param *p = a->arg;
    uts_scope_walks w = {p, malloc((p->root_children ? p->root_children : 1) * sizeof(uint64_t)),
                         a->size, 0, 0};
    if (!w.root_counts)
        return (bench_result){0};
    double seconds = 0;
    bool ran = bench_weft_timed(a, uts_scope_root, &w, &seconds);
    free(w.root_counts);
    return uts_result(a, "weft-scope", w.good, w.count, seconds, ran);
}

/* ------------------------------------------------------------------------------
 * OpenMP: one task per child but the last (run inline), counts in a shared array,
 * taskwait, sum. `counts` has room for k entries. */

static uint64_t uts_omp(const uts_param *p, uint64_t id, uint32_t k);

static uint64_t uts_omp_children(const uts_param *p, uint64_t id, uint32_t k, uint64_t *counts)
{
    for (uint32_t i = 0; i + 1 < k; i++) {
#pragma omp task firstprivate(p, id, i) shared(counts)
        {
            uint64_t c = uts_child(id, i);
            counts[i] = uts_omp(p, c, uts_num_children(p, c));
        }
    }
    uint64_t last = uts_child(id, k - 1);
    counts[k - 1] = uts_omp(p, last, uts_num_children(p, last));
#pragma omp taskwait
    uint64_t count = 1;
    for (uint32_t i = 0; i < k; i++)
        count += counts[i];
    return count;
}

static uint64_t uts_omp(const uts_param *p, uint64_t id, uint32_t k)
{
    if (k == 0)
        return 1;
    uint64_t counts[UTS_MAX_M];
    return uts_omp_children(p, id, k, counts);
}

static bench_result uts_omp_run(const bench_args *a)
{
    const uts_param *p = a->arg;
    uint64_t *root_counts = malloc((p->root_children ? p->root_children : 1) * sizeof(uint64_t));
    if (!root_counts)
        return (bench_result){0};
    omp_set_num_threads(a->threads);
#pragma omp parallel
    {
    } /* start the team before the clock */
    uint64_t good = 0, count = 0;
    double t0 = bench_now_s();
#pragma omp parallel
#pragma omp single
    for (uint64_t w = 0; w < a->size; w++) {
        count = p->root_children ? uts_omp_children(p, uts_root(p), p->root_children, root_counts)
                                 : 1;
        good += count == p->nodes;
    }
    double seconds = bench_now_s() - t0;
    free(root_counts);
    return uts_result(a, "openmp", good, count, seconds, true);
}

/* ------------------------------------------------------------------------------
 * TBB (bench_tbb.cpp) */

#ifdef WEFT_BENCH_HAVE_TBB
static bench_result uts_tbb_run(const bench_args *a)
{
    const uts_param *p = a->arg;
    uint64_t good = 0, count = 0;
    double seconds = 0;
    bool ran = bench_tbb_uts(a->threads, p, a->size, &good, &count, &seconds);
    return uts_result(a, "tbb", good, count, seconds, ran);
}
#endif

/* ------------------------------------------------------------------------------
 * Registration */

/* floor(0.124875 * 2^64): UTS's T3 q. */
#define UTS_Q_T3 0x1ff7ced916872b02ull

static const uts_param uts_t3_129 = {2000, 8, UTS_Q_T3, 129, 22142089};
static const uts_param uts_t3_42 = {2000, 8, UTS_Q_T3, 42, 1718425};

#define UTS_SCALING {.min = 1}
#define UTS_SERIAL {.min = 1, .max = 1, .defaults = {1}}
/* One walk of the tree per run (fixed: the tree is the problem). */
#define UTS_ROWS(P, PARAM)                                                                   \
    {"uts", PARAM, "serial", UTS_SERIAL, "nodes/s", uts_serial_run, 1, 1, true, &P},         \
    {"uts", PARAM, "weft", UTS_SCALING, "nodes/s", uts_weft_run, 1, 1, true, &P},            \
    {"uts", PARAM, "weft-scope", UTS_SCALING, "nodes/s", uts_scope_run, 1, 1, true, &P},     \
    {"uts", PARAM, "openmp", UTS_SCALING, "nodes/s", uts_omp_run, 1, 1, true, &P},           \
    BENCH_TBB_ROW("uts", PARAM, "tbb", UTS_SCALING, "nodes/s", uts_tbb_run, 1, 1, true, &P)

static const bench_def uts_benches[] = {UTS_ROWS(uts_t3_129, "T3 r=129 n=22.1M")};
static const bench_def uts_benches_quick[] = {UTS_ROWS(uts_t3_42, "T3 r=42 n=1.7M")};

void bench_register_uts(bench_registry *r)
{
    if (bench_registry_quick(r))
        bench_registry_add(r, uts_benches_quick, sizeof uts_benches_quick / sizeof uts_benches_quick[0]);
    else
        bench_registry_add(r, uts_benches, sizeof uts_benches / sizeof uts_benches[0]);
}
