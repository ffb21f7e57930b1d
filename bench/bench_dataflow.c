/* bench_dataflow.c: the shapes fork-join cannot express, weft beside OpenMP and
 * oneTBB: tasks with dependencies (dep_task, sparselu) and pipelines (pipeline).
 *
 *  - dep_task: one task spawns n empty tasks, task i with depend(inout: cell[i % 64])
 *    (64 independent chains), then waits: ns per task, the dependency bookkeeping
 *    included. weft: weft_scope_spawn_dep; openmp: `task depend(inout:)` in a
 *    `single`, then `taskwait`. Each task increments its cell (plain memory, ordered
 *    by the dependencies): the cells must sum to n.
 *  - sparselu: BOTS's sparse LU (the same sparsity pattern, initial values and the
 *    four kernels lu0 / fwd / bdiv / bmod, in doubles), nb x nb blocks of bs x bs. A
 *    missing block that a bmod fills is allocated by the spawning thread in all
 *    versions (untimed work of the same size everywhere). serial: the loop; weft: one
 *    scope, every kernel a weft_scope_spawn_dep task with its blocks; weft-forkjoin:
 *    a scope per phase (fwd + bdiv, then bmod), waited; openmp: `task depend` in a
 *    `single`; openmp-forkjoin: tasks + `taskwait` per phase (BOTS's sparselu_for).
 *    Each block gets the same operations in the same order in every version, so the
 *    result must equal the serial one bit for bit (checked by a checksum). The matrix
 *    is made before the clock; the row times the factorisation. The weft rows run on
 *    the calling thread working in the pool (weft_pool_execute), as OpenMP's master
 *    thread runs the `single`: the spawning thread, which also allocates the filled
 *    blocks and the task records, is the program's main thread in both.
 *  - pipeline: a buffer of records -> a compute-heavy transform (parallel) -> an
 *    in-order checksum writer, whose checksum depends on the order (checked against
 *    the serial one). weft: weft_pipeline_run with 4 tokens per thread; tbb:
 *    tbb::parallel_pipeline, the same stages and tokens (bench_tbb.cpp);
 *    weft-chan: the pipeline by hand, guide section 11's way: `threads` worker tasks
 *    on a pool of `threads`, blocking on a bounded channel of record indices, results
 *    on a second channel, the calling thread reading and writing (reordering by
 *    index) with the same token bound.
 * Pools and teams are started before the clock, as in bench_runtime.c. */
#include "bench.h"
#include "bench_tbb.h"

#include <weft/chan.h>
#include <weft/par.h>
#include <weft/runtime.h>

#include <omp.h>
#include <stdlib.h>
#include <string.h>

#define SCALING {.min = 1}
#define ONE_THREAD {.min = 1, .max = 1, .defaults = {1}}

/* ------------------------------------------------------------------------------
 * dep_task */

enum { DEP_CELLS = 64 };

typedef struct dep_args {
    uint64_t n;
    uint64_t cell[DEP_CELLS];
    bool ok;
} dep_args;

static int dep_empty(weft_scope *s, void *arg)
{
    (void)s;
    ++*(uint64_t *)arg;
    return 0;
}

static void dep_root(void *arg)
{
    dep_args *d = arg;
    weft_scope s;
    bool ok = weft_scope_init(&s, NULL) == 0;
    for (uint64_t i = 0; i < d->n; i++) {
        weft_dep dep = {&d->cell[i % DEP_CELLS], WEFT_DEP_INOUT};
        ok = weft_scope_spawn_dep(&s, dep_empty, &d->cell[i % DEP_CELLS], &dep, 1) == 0 && ok;
    }
    d->ok = weft_scope_wait(&s) == 0 && ok;
}

static bool dep_sum_ok(const dep_args *d)
{
    uint64_t sum = 0;
    for (int k = 0; k < DEP_CELLS; k++)
        sum += d->cell[k];
    return sum == d->n;
}

static bench_result dep_weft_run(const bench_args *a)
{
    bench_result res = {0};
    dep_args *d = calloc(1, sizeof *d);
    if (!d)
        return res;
    d->n = a->size;
    res.ok = bench_weft_timed(a, dep_root, d, &res.seconds) && d->ok && dep_sum_ok(d);
    res.ops = a->size;
    free(d);
    return res;
}

static bench_result dep_omp_run(const bench_args *a)
{
    bench_result res = {0};
    dep_args *d = calloc(1, sizeof *d);
    if (!d)
        return res;
    d->n = a->size;
    uint64_t *cell = d->cell;
    bench_omp_warm(a->threads);
    double t0 = bench_now_s();
#pragma omp parallel
#pragma omp single
    {
        for (uint64_t i = 0; i < d->n; i++) {
            uint64_t *c = &cell[i % DEP_CELLS];
#pragma omp task depend(inout: c[0]) firstprivate(c)
            ++*c;
        }
#pragma omp taskwait
    }
    res.seconds = bench_now_s() - t0;
    res.ok = dep_sum_ok(d);
    res.ops = a->size;
    free(d);
    return res;
}

/* ------------------------------------------------------------------------------
 * sparselu */

typedef struct lu_param {
    int nb, bs;
} lu_param;

typedef struct lu_matrix {
    int nb, bs;
    double **blk; /* (i, j) at i * nb + j; NULL: an empty block */
} lu_matrix;

static double *lu_at(const lu_matrix *m, int i, int j) { return m->blk[i * m->nb + j]; }

/* BOTS's genmat: the same pattern and the same pseudo-random values. */
static bool lu_make(lu_matrix *m, const lu_param *p)
{
    m->nb = p->nb;
    m->bs = p->bs;
    m->blk = calloc((size_t)p->nb * p->nb, sizeof *m->blk);
    if (!m->blk)
        return false;
    int init = 1325;
    for (int ii = 0; ii < p->nb; ii++)
        for (int jj = 0; jj < p->nb; jj++) {
            bool null = false;
            if ((ii < jj) && (ii % 3 != 0))
                null = true;
            if ((ii > jj) && (jj % 3 != 0))
                null = true;
            if (ii % 2 == 1 || jj % 2 == 1)
                null = true;
            if (ii == jj || ii == jj - 1 || ii - 1 == jj)
                null = false;
            if (null)
                continue;
            double *b = malloc((size_t)p->bs * p->bs * sizeof *b);
            if (!b)
                return false;
            for (int k = 0; k < p->bs * p->bs; k++) {
                init = (3125 * init) % 65536;
                b[k] = (init - 32768.0) / 16384.0;
            }
            m->blk[ii * p->nb + jj] = b;
        }
    return true;
}

static void lu_free(lu_matrix *m)
{
    for (int k = 0; m->blk && k < m->nb * m->nb; k++)
        free(m->blk[k]);
    free(m->blk);
}

static uint64_t lu_checksum(const lu_matrix *m)
{
    uint64_t h = 1469598103934665603ull;
    for (int k = 0; k < m->nb * m->nb; k++) {
        if (!m->blk[k])
            continue;
        for (int e = 0; e < m->bs * m->bs; e++) {
            uint64_t bits;
            memcpy(&bits, &m->blk[k][e], sizeof bits);
            h = (h ^ bits) * 1099511628211ull;
        }
    }
    return h;
}

static void lu0(double *d, int bs)
{
    for (int k = 0; k < bs; k++)
        for (int i = k + 1; i < bs; i++) {
            d[i * bs + k] /= d[k * bs + k];
            for (int j = k + 1; j < bs; j++)
                d[i * bs + j] -= d[i * bs + k] * d[k * bs + j];
        }
}

static void lu_bdiv(const double *d, double *row, int bs)
{
    for (int i = 0; i < bs; i++)
        for (int k = 0; k < bs; k++) {
            row[i * bs + k] /= d[k * bs + k];
            for (int j = k + 1; j < bs; j++)
                row[i * bs + j] -= row[i * bs + k] * d[k * bs + j];
        }
}

static void lu_bmod(const double *row, const double *col, double *inner, int bs)
{
    for (int i = 0; i < bs; i++)
        for (int k = 0; k < bs; k++) {
            double r = row[i * bs + k];
            for (int j = 0; j < bs; j++)
                inner[i * bs + j] -= r * col[k * bs + j];
        }
}

static void lu_fwd(const double *d, double *col, int bs)
{
    for (int k = 0; k < bs; k++)
        for (int i = k + 1; i < bs; i++) {
            double dik = d[i * bs + k];
            for (int j = 0; j < bs; j++)
                col[i * bs + j] -= dik * col[k * bs + j];
        }
}

enum { LU_LU0, LU_FWD, LU_BDIV, LU_BMOD };

typedef struct lu_op {
    int kind, bs;
    double *a, *b, *c; /* lu0(a); fwd(a, b); bdiv(a, b); bmod(a, b, c) */
} lu_op;

static void lu_op_run(const lu_op *op)
{
    switch (op->kind) {
    case LU_LU0: lu0(op->a, op->bs); break;
    case LU_FWD: lu_fwd(op->a, op->b, op->bs); break;
    case LU_BDIV: lu_bdiv(op->a, op->b, op->bs); break;
    default: lu_bmod(op->a, op->b, op->c, op->bs);
    }
}

static int lu_op_task(weft_scope *s, void *arg)
{
    (void)s;
    lu_op_run(arg);
    return 0;
}

/* The block (i, j) a bmod writes, allocated (zeroed) if missing. */
static double *lu_fill(lu_matrix *m, int i, int j)
{
    double **b = &m->blk[i * m->nb + j];
    if (!*b)
        *b = calloc((size_t)m->bs * m->bs, sizeof **b);
    return *b;
}

static void lu_serial(lu_matrix *m)
{
    int nb = m->nb, bs = m->bs;
    for (int kk = 0; kk < nb; kk++) {
        lu0(lu_at(m, kk, kk), bs);
        for (int jj = kk + 1; jj < nb; jj++)
            if (lu_at(m, kk, jj))
                lu_fwd(lu_at(m, kk, kk), lu_at(m, kk, jj), bs);
        for (int ii = kk + 1; ii < nb; ii++)
            if (lu_at(m, ii, kk))
                lu_bdiv(lu_at(m, kk, kk), lu_at(m, ii, kk), bs);
        for (int ii = kk + 1; ii < nb; ii++)
            if (lu_at(m, ii, kk))
                for (int jj = kk + 1; jj < nb; jj++)
                    if (lu_at(m, kk, jj))
                        lu_bmod(lu_at(m, ii, kk), lu_at(m, kk, jj), lu_fill(m, ii, jj), bs);
    }
}

typedef struct lu_run {
    lu_matrix m;
    lu_op *ops; /* room for every kernel of the factorisation */
    bool ok;
} lu_run;

/* weft: every kernel a dependent task of one scope. */
static void lu_weft_dep_root(void *arg)
{
    lu_run *r = arg;
    lu_matrix *m = &r->m;
    int nb = m->nb, bs = m->bs;
    lu_op *op = r->ops;
    weft_scope s;
    bool ok = weft_scope_init(&s, NULL) == 0;
    for (int kk = 0; kk < nb; kk++) {
        double *d = lu_at(m, kk, kk);
        *op = (lu_op){LU_LU0, bs, d, NULL, NULL};
        weft_dep dd = {d, WEFT_DEP_INOUT};
        ok = weft_scope_spawn_dep(&s, lu_op_task, op++, &dd, 1) == 0 && ok;
        for (int jj = kk + 1; jj < nb; jj++)
            if (lu_at(m, kk, jj)) {
                *op = (lu_op){LU_FWD, bs, d, lu_at(m, kk, jj), NULL};
                weft_dep deps[2] = {{d, WEFT_DEP_IN}, {op->b, WEFT_DEP_INOUT}};
                ok = weft_scope_spawn_dep(&s, lu_op_task, op++, deps, 2) == 0 && ok;
            }
        for (int ii = kk + 1; ii < nb; ii++)
            if (lu_at(m, ii, kk)) {
                *op = (lu_op){LU_BDIV, bs, d, lu_at(m, ii, kk), NULL};
                weft_dep deps[2] = {{d, WEFT_DEP_IN}, {op->b, WEFT_DEP_INOUT}};
                ok = weft_scope_spawn_dep(&s, lu_op_task, op++, deps, 2) == 0 && ok;
            }
        for (int ii = kk + 1; ii < nb; ii++)
            if (lu_at(m, ii, kk))
                for (int jj = kk + 1; jj < nb; jj++)
                    if (lu_at(m, kk, jj)) {
                        *op = (lu_op){LU_BMOD, bs, lu_at(m, ii, kk), lu_at(m, kk, jj), lu_fill(m, ii, jj)};
                        weft_dep deps[3] = {{op->a, WEFT_DEP_IN}, {op->b, WEFT_DEP_IN}, {op->c, WEFT_DEP_INOUT}};
                        ok = weft_scope_spawn_dep(&s, lu_op_task, op++, deps, 3) == 0 && ok;
                    }
    }
    r->ok = weft_scope_wait(&s) == 0 && ok;
}

/* weft-forkjoin: lu0 inline, then a scope per phase. */
static void lu_weft_fj_root(void *arg)
{
    lu_run *r = arg;
    lu_matrix *m = &r->m;
    int nb = m->nb, bs = m->bs;
    lu_op *op = r->ops;
    bool ok = true;
    for (int kk = 0; kk < nb; kk++) {
        double *d = lu_at(m, kk, kk);
        lu0(d, bs);
        weft_scope s;
        ok = weft_scope_init(&s, NULL) == 0 && ok;
        for (int jj = kk + 1; jj < nb; jj++)
            if (lu_at(m, kk, jj)) {
                *op = (lu_op){LU_FWD, bs, d, lu_at(m, kk, jj), NULL};
                ok = weft_scope_spawn(&s, lu_op_task, op++) == 0 && ok;
            }
        for (int ii = kk + 1; ii < nb; ii++)
            if (lu_at(m, ii, kk)) {
                *op = (lu_op){LU_BDIV, bs, d, lu_at(m, ii, kk), NULL};
                ok = weft_scope_spawn(&s, lu_op_task, op++) == 0 && ok;
            }
        ok = weft_scope_wait(&s) == 0 && ok;
        ok = weft_scope_init(&s, NULL) == 0 && ok;
        for (int ii = kk + 1; ii < nb; ii++)
            if (lu_at(m, ii, kk))
                for (int jj = kk + 1; jj < nb; jj++)
                    if (lu_at(m, kk, jj)) {
                        *op = (lu_op){LU_BMOD, bs, lu_at(m, ii, kk), lu_at(m, kk, jj), lu_fill(m, ii, jj)};
                        ok = weft_scope_spawn(&s, lu_op_task, op++) == 0 && ok;
                    }
        ok = weft_scope_wait(&s) == 0 && ok;
    }
    r->ok = ok;
}

static void lu_omp(lu_matrix *m, bool depend)
{
    int nb = m->nb, bs = m->bs;
#pragma omp parallel
#pragma omp single
    for (int kk = 0; kk < nb; kk++) {
        double *d = lu_at(m, kk, kk);
        if (depend) {
#pragma omp task depend(inout: d[0]) firstprivate(d)
            lu0(d, bs);
        } else {
            lu0(d, bs);
        }
        for (int jj = kk + 1; jj < nb; jj++) {
            double *b = lu_at(m, kk, jj);
            if (!b)
                continue;
            if (depend) {
#pragma omp task depend(in: d[0]) depend(inout: b[0]) firstprivate(d, b)
                lu_fwd(d, b, bs);
            } else {
#pragma omp task firstprivate(d, b)
                lu_fwd(d, b, bs);
            }
        }
        for (int ii = kk + 1; ii < nb; ii++) {
            double *b = lu_at(m, ii, kk);
            if (!b)
                continue;
            if (depend) {
#pragma omp task depend(in: d[0]) depend(inout: b[0]) firstprivate(d, b)
                lu_bdiv(d, b, bs);
            } else {
#pragma omp task firstprivate(d, b)
                lu_bdiv(d, b, bs);
            }
        }
        if (!depend) {
#pragma omp taskwait
        }
        for (int ii = kk + 1; ii < nb; ii++) {
            double *row = lu_at(m, ii, kk);
            if (!row)
                continue;
            for (int jj = kk + 1; jj < nb; jj++) {
                double *col = lu_at(m, kk, jj);
                if (!col)
                    continue;
                double *inner = lu_fill(m, ii, jj);
                if (depend) {
#pragma omp task depend(in: row[0], col[0]) depend(inout: inner[0]) firstprivate(row, col, inner)
                    lu_bmod(row, col, inner, bs);
                } else {
#pragma omp task firstprivate(row, col, inner)
                    lu_bmod(row, col, inner, bs);
                }
            }
        }
        if (!depend) {
#pragma omp taskwait
        }
    }
}

enum { LU_SERIAL, LU_WEFT, LU_WEFT_FJ, LU_OMP, LU_OMP_FJ };

typedef struct lu_row {
    lu_param p;
    int impl;
} lu_row;

/* The serial result's checksum, per size (computed once, by whichever row asks first). */
static uint64_t lu_reference(const lu_param *p)
{
    static lu_param done[4];
    static uint64_t sums[4];
    static int n;
    for (int k = 0; k < n; k++)
        if (done[k].nb == p->nb && done[k].bs == p->bs)
            return sums[k];
    lu_matrix m;
    uint64_t h = 0;
    if (lu_make(&m, p)) {
        lu_serial(&m);
        h = lu_checksum(&m);
    }
    lu_free(&m);
    if (n < 4) {
        done[n] = *p;
        sums[n++] = h;
    }
    return h;
}

static bench_result lu_run_row(const bench_args *a)
{
    const lu_row *row = a->arg;
    bench_result res = {0};
    uint64_t want = lu_reference(&row->p);
    lu_run r = {.ok = true};
    size_t nb = (size_t)row->p.nb;
    r.ops = malloc((nb * nb * nb + 2 * nb * nb + nb) * sizeof *r.ops);
    if (!r.ops || !lu_make(&r.m, &row->p)) {
        lu_free(&r.m);
        free(r.ops);
        return res;
    }
    double t0;
    switch (row->impl) {
    case LU_SERIAL:
        t0 = bench_now_s();
        lu_serial(&r.m);
        res.seconds = bench_now_s() - t0;
        break;
    case LU_WEFT:
        r.ok = bench_weft_caller_timed(a, lu_weft_dep_root, &r, &res.seconds) && r.ok;
        break;
    case LU_WEFT_FJ:
        r.ok = bench_weft_caller_timed(a, lu_weft_fj_root, &r, &res.seconds) && r.ok;
        break;
    default:
        bench_omp_warm(a->threads);
        t0 = bench_now_s();
        lu_omp(&r.m, row->impl == LU_OMP);
        res.seconds = bench_now_s() - t0;
    }
    res.ok = r.ok && lu_checksum(&r.m) == want;
    res.ops = 1;
    lu_free(&r.m);
    free(r.ops);
    return res;
}

/* ------------------------------------------------------------------------------
 * pipeline */

enum { PIPE_WORK = 600 }; /* transform iterations per record: a few microseconds */

typedef struct pipe_rec {
    uint64_t seed;
    double out;
} pipe_rec;

typedef struct pipe_job {
    pipe_rec *recs;
    uint64_t n, next, written, sum;
} pipe_job;

/* The compute-heavy part: a chain of dependent multiplies and adds. */
static double pipe_transform_rec(uint64_t seed)
{
    double x = (double)(seed % 1000) / 1000.0 + 0.5, acc = 0;
    for (int k = 0; k < PIPE_WORK; k++) {
        x = x * 1.0000001 + 0.25;
        x = x - (double)(int64_t)x + 0.5;
        acc += x;
    }
    return acc;
}

static void pipe_write_rec(pipe_job *j, const pipe_rec *r)
{
    uint64_t bits;
    memcpy(&bits, &r->out, sizeof bits);
    j->sum = (j->sum ^ bits) * 1099511628211ull;
    j->written++;
}

static void pipe_init(pipe_job *j, pipe_rec *recs, uint64_t n)
{
    *j = (pipe_job){.recs = recs, .n = n, .sum = 1469598103934665603ull};
    for (uint64_t i = 0; i < n; i++)
        recs[i] = (pipe_rec){i * 2654435761u, 0};
}

static void *pipe_read_cb(void *ctx)
{
    pipe_job *j = ctx;
    return j->next < j->n ? &j->recs[j->next++] : NULL;
}

static void pipe_transform_cb(void *ctx, void *item)
{
    (void)ctx;
    pipe_rec *r = item;
    r->out = pipe_transform_rec(r->seed);
}

static void pipe_write_cb(void *ctx, void *item) { pipe_write_rec(ctx, item); }

static int pipe_read(void *ctx, void **item)
{
    *item = pipe_read_cb(ctx);
    return 0;
}

static int pipe_transform(void *ctx, void **item)
{
    pipe_transform_cb(ctx, *item);
    return 0;
}

static int pipe_write(void *ctx, void **item)
{
    pipe_write_rec(ctx, *item);
    return 0;
}

typedef struct pipe_root_arg {
    pipe_job *j;
    size_t tokens;
    bool ok;
} pipe_root_arg;

static void pipe_weft_root(void *arg)
{
    pipe_root_arg *pa = arg;
    weft_pipeline_stage st[3] = {{WEFT_PIPELINE_SERIAL_IN_ORDER, pipe_read, NULL},
                                 {WEFT_PIPELINE_PARALLEL, pipe_transform, NULL},
                                 {WEFT_PIPELINE_SERIAL_IN_ORDER, pipe_write, NULL}};
    pa->ok = weft_pipeline_run(st, 3, pa->tokens, pa->j) == 0;
}

/* weft-chan: the worker tasks of the hand-made pipeline. */
typedef struct chan_worker {
    pipe_rec *recs;
    weft_receiver *in;
    weft_sender *out;
} chan_worker;

static int chan_worker_task(weft_scope *s, void *arg)
{
    (void)s;
    chan_worker *w = arg;
    uint64_t i;
    int rc;
    while ((rc = weft_chan_recv(w->in, &i)) == 0) {
        w->recs[i].out = pipe_transform_rec(w->recs[i].seed);
        if ((rc = weft_chan_send(w->out, &i)) != 0)
            break;
    }
    weft_receiver_close(w->in);
    weft_sender_close(w->out);
    return rc == -EPIPE ? 0 : rc;
}

static bool pipe_chan(int threads, pipe_job *j, size_t tokens, double *seconds)
{
    weft_pool *pool = bench_pool_new(threads);
    if (!pool)
        return false;
    weft_sender *in_tx, *out_tx;
    weft_receiver *in_rx, *out_rx;
    bool ok = weft_chan_open(sizeof(uint64_t), tokens, NULL, &in_tx, &in_rx) == 0 &&
              weft_chan_open(sizeof(uint64_t), WEFT_UNBOUNDED, NULL, &out_tx, &out_rx) == 0;
    chan_worker *w = calloc((size_t)threads, sizeof *w);
    bool *ready = calloc(j->n + 1, sizeof *ready);
    ok = ok && w && ready;
    for (int k = 0; ok && k < threads; k++) {
        w[k].recs = j->recs;
        ok = weft_receiver_clone(in_rx, &w[k].in) == 0 && weft_sender_clone(out_tx, &w[k].out) == 0;
    }
    weft_scope s;
    double t0 = bench_now_s();
    ok = ok && weft_scope_init(&s, pool) == 0;
    if (ok) {
        for (int k = 0; k < threads; k++)
            ok = weft_scope_spawn(&s, chan_worker_task, &w[k]) == 0 && ok;
        weft_receiver_close(in_rx);
        weft_sender_close(out_tx);
        uint64_t sent = 0;
        while (ok && j->written < j->n) {
            while (ok && sent < j->n && sent - j->written < tokens) {
                ok = weft_chan_send(in_tx, &sent) == 0;
                sent++;
            }
            uint64_t i;
            ok = ok && weft_chan_recv(out_rx, &i) == 0;
            if (ok)
                ready[i] = true;
            while (ok && j->written < j->n && ready[j->written])
                pipe_write_rec(j, &j->recs[j->written]);
        }
        weft_sender_close(in_tx);
        ok = weft_scope_wait(&s) == 0 && ok;
        weft_receiver_close(out_rx);
    }
    *seconds = bench_now_s() - t0;
    free(w);
    free(ready);
    return weft_pool_destroy(pool) == 0 && ok;
}

enum { PIPE_SERIAL, PIPE_WEFT, PIPE_TBB, PIPE_CHAN };

typedef struct pipe_row {
    int impl;
} pipe_row;

static bench_result pipe_run(const bench_args *a)
{
    const pipe_row *row = a->arg;
    bench_result res = {0};
    pipe_rec *recs = malloc(a->size * sizeof *recs);
    if (!recs)
        return res;
    pipe_job ref, j;
    pipe_init(&ref, recs, a->size);
    for (uint64_t i = 0; i < a->size; i++) { /* the serial checksum, untimed */
        recs[i].out = pipe_transform_rec(recs[i].seed);
        pipe_write_rec(&ref, &recs[i]);
    }
    pipe_init(&j, recs, a->size);
    size_t tokens = 4 * (size_t)a->threads;
    bool ok = true;
    double t0;
    switch (row->impl) {
    case PIPE_SERIAL:
        t0 = bench_now_s();
        for (pipe_rec *r; (r = pipe_read_cb(&j)) != NULL;) {
            pipe_transform_cb(&j, r);
            pipe_write_cb(&j, r);
        }
        res.seconds = bench_now_s() - t0;
        break;
    case PIPE_WEFT: {
        pipe_root_arg pa = {&j, tokens, false};
        ok = bench_weft_timed(a, pipe_weft_root, &pa, &res.seconds) && pa.ok;
        break;
    }
#ifdef WEFT_BENCH_HAVE_TBB
    case PIPE_TBB:
        ok = bench_tbb_pipeline(a->threads, tokens, pipe_read_cb, pipe_transform_cb, pipe_write_cb, &j,
                                &res.seconds);
        break;
#endif
    default:
        ok = pipe_chan(a->threads, &j, tokens, &res.seconds);
    }
    res.ok = ok && j.written == a->size && j.sum == ref.sum;
    res.ops = a->size;
    free(recs);
    return res;
}

/* ------------------------------------------------------------------------------ */

static const lu_row lu_serial_row = {{32, 64}, LU_SERIAL}, lu_weft_row = {{32, 64}, LU_WEFT},
                    lu_weft_fj_row = {{32, 64}, LU_WEFT_FJ}, lu_omp_row = {{32, 64}, LU_OMP},
                    lu_omp_fj_row = {{32, 64}, LU_OMP_FJ};
static const lu_row lu_serial_q = {{8, 32}, LU_SERIAL}, lu_weft_q = {{8, 32}, LU_WEFT},
                    lu_weft_fj_q = {{8, 32}, LU_WEFT_FJ}, lu_omp_q = {{8, 32}, LU_OMP},
                    lu_omp_fj_q = {{8, 32}, LU_OMP_FJ};
static const pipe_row pipe_serial_row = {PIPE_SERIAL}, pipe_weft_row = {PIPE_WEFT}, pipe_chan_row = {PIPE_CHAN};
#ifdef WEFT_BENCH_HAVE_TBB
static const pipe_row pipe_tbb_row = {PIPE_TBB};
#endif

#define DATAFLOW_COMMON_ROWS                                                                 \
    {"dep_task", "inout64", "weft", SCALING, "ns/task", dep_weft_run, 1000000, 100000, false, NULL}, \
    {"dep_task", "inout64", "openmp", SCALING, "ns/task", dep_omp_run, 1000000, 100000, false, NULL}, \
    {"pipeline", "3stages", "serial", ONE_THREAD, "rec/s", pipe_run, 100000, 10000, false, &pipe_serial_row}, \
    {"pipeline", "3stages", "weft", SCALING, "rec/s", pipe_run, 100000, 10000, false, &pipe_weft_row}, \
    BENCH_TBB_ROW("pipeline", "3stages", "tbb", SCALING, "rec/s", pipe_run, 100000, 10000, false, \
                  &pipe_tbb_row)                                                             \
    {"pipeline", "3stages", "weft-chan", SCALING, "rec/s", pipe_run, 100000, 10000, false,   \
     &pipe_chan_row}

static const bench_def dataflow_benches[] = {
    {"sparselu", "nb=32,bs=64", "serial", ONE_THREAD, "us/lu", lu_run_row, 1, 1, true, &lu_serial_row},
    {"sparselu", "nb=32,bs=64", "weft", SCALING, "us/lu", lu_run_row, 1, 1, true, &lu_weft_row},
    {"sparselu", "nb=32,bs=64", "weft-forkjoin", SCALING, "us/lu", lu_run_row, 1, 1, true, &lu_weft_fj_row},
    {"sparselu", "nb=32,bs=64", "openmp", SCALING, "us/lu", lu_run_row, 1, 1, true, &lu_omp_row},
    {"sparselu", "nb=32,bs=64", "openmp-forkjoin", SCALING, "us/lu", lu_run_row, 1, 1, true, &lu_omp_fj_row},
    DATAFLOW_COMMON_ROWS,
};

static const bench_def dataflow_benches_quick[] = {
    {"sparselu", "nb=8,bs=32", "serial", ONE_THREAD, "us/lu", lu_run_row, 1, 1, true, &lu_serial_q},
    {"sparselu", "nb=8,bs=32", "weft", SCALING, "us/lu", lu_run_row, 1, 1, true, &lu_weft_q},
    {"sparselu", "nb=8,bs=32", "weft-forkjoin", SCALING, "us/lu", lu_run_row, 1, 1, true, &lu_weft_fj_q},
    {"sparselu", "nb=8,bs=32", "openmp", SCALING, "us/lu", lu_run_row, 1, 1, true, &lu_omp_q},
    {"sparselu", "nb=8,bs=32", "openmp-forkjoin", SCALING, "us/lu", lu_run_row, 1, 1, true, &lu_omp_fj_q},
    DATAFLOW_COMMON_ROWS,
};

void bench_register_dataflow(bench_registry *r)
{
    if (bench_registry_quick(r))
        bench_registry_add(r, dataflow_benches_quick, sizeof dataflow_benches_quick / sizeof dataflow_benches_quick[0]);
    else
        bench_registry_add(r, dataflow_benches, sizeof dataflow_benches / sizeof dataflow_benches[0]);
}
