/* dep_testlib.h: workloads for tasks with dependencies (weft_scope_spawn_dep), each
 * with a serial twin: random DAGs (tasks reading and writing a few of a small set of
 * addresses) and a blocked Cholesky factorisation. Shared by the Criterion suite and
 * the stress program; header-only (static functions), so each program gets its own
 * copy.
 *
 * A random DAG: task i reads and writes random addresses among DAG_ADDRS cells; it
 * folds what it reads into its own result, and a writer stores a value made from its
 * id and what it read, and appends its id to the address's writer log. Everything is
 * plain memory: a missing order gives a different result (and a race under TSan). */
#ifndef WEFT_TESTS_DEP_TESTLIB_H
#define WEFT_TESTS_DEP_TESTLIB_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <weft/runtime.h>

enum { DAG_ADDRS = 64, DAG_MAX_DEPS = 6 };

typedef struct dag {
    uint32_t ntasks;
    uint64_t cell[DAG_ADDRS];
    uint32_t *log[DAG_ADDRS]; /* writer ids, in the order they wrote */
    uint32_t nlog[DAG_ADDRS];
    uint64_t *result;         /* per task: what it read */
    struct dag_task *tasks;
} dag;

typedef struct dag_task {
    dag *g;
    uint32_t id, ndeps;
    weft_dep deps[DAG_MAX_DEPS];
} dag_task;

static inline uint64_t dag_mix(uint64_t x)
{
    x ^= x >> 33;
    x *= UINT64_C(0xff51afd7ed558ccd);
    x ^= x >> 33;
    return x;
}

/* ntasks tasks from `seed`; modes IN, OUT and INOUT, addresses maybe repeated. */
static inline void dag_init(dag *g, uint32_t ntasks, uint64_t seed)
{
    g->ntasks = ntasks;
    g->result = calloc(ntasks, sizeof *g->result);
    g->tasks = calloc(ntasks, sizeof *g->tasks);
    for (int a = 0; a < DAG_ADDRS; a++) {
        g->cell[a] = (uint64_t)a;
        g->log[a] = calloc(ntasks, sizeof *g->log[a]);
        g->nlog[a] = 0;
    }
    uint64_t r = seed;
    for (uint32_t i = 0; i < ntasks; i++) {
        dag_task *t = &g->tasks[i];
        t->g = g;
        t->id = i;
        r = dag_mix(r + i + 1);
        t->ndeps = 1 + (uint32_t)(r % DAG_MAX_DEPS);
        for (uint32_t k = 0; k < t->ndeps; k++) {
            r = dag_mix(r + k);
            t->deps[k].addr = &g->cell[r % DAG_ADDRS];
            uint64_t m = (r >> 20) % 8; /* mostly readers, as in real dataflow */
            t->deps[k].mode = m < 5 ? WEFT_DEP_IN : m < 7 ? WEFT_DEP_OUT : WEFT_DEP_INOUT;
        }
    }
}

static inline void dag_fini(dag *g)
{
    for (int a = 0; a < DAG_ADDRS; a++)
        free(g->log[a]);
    free(g->result);
    free(g->tasks);
}

/* The task's work: reads first (IN, INOUT), then writes (OUT, INOUT). */
static inline void dag_run(dag_task *t)
{
    dag *g = t->g;
    uint64_t acc = t->id;
    for (uint32_t k = 0; k < t->ndeps; k++)
        if (t->deps[k].mode & WEFT_DEP_IN)
            acc = dag_mix(acc ^ *(const uint64_t *)t->deps[k].addr);
    g->result[t->id] = acc;
    for (uint32_t k = 0; k < t->ndeps; k++)
        if (t->deps[k].mode & WEFT_DEP_OUT) {
            uint64_t *cell = (uint64_t *)t->deps[k].addr;
            size_t a = (size_t)(cell - g->cell);
            /* An address listed twice is written twice: log once per write. */
            *cell = dag_mix(acc + k);
            g->log[a][g->nlog[a]++] = t->id;
        }
}

static inline int dag_task_fn(weft_scope *s, void *arg)
{
    (void)s;
    dag_run(arg);
    return 0;
}

static inline void dag_serial(dag *g)
{
    for (uint32_t i = 0; i < g->ntasks; i++)
        dag_run(&g->tasks[i]);
}

/* Spawn every task into s, in id order. Returns the first error. */
static inline int dag_spawn(dag *g, weft_scope *s)
{
    for (uint32_t i = 0; i < g->ntasks; i++) {
        int rc = weft_scope_spawn_dep(s, dag_task_fn, &g->tasks[i], g->tasks[i].deps, g->tasks[i].ndeps);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Same cells, same logs, same results? */
static inline bool dag_equal(const dag *a, const dag *b)
{
    if (memcmp(a->cell, b->cell, sizeof a->cell) != 0 || memcmp(a->nlog, b->nlog, sizeof a->nlog) != 0)
        return false;
    for (int k = 0; k < DAG_ADDRS; k++)
        if (memcmp(a->log[k], b->log[k], a->nlog[k] * sizeof *a->log[k]) != 0)
            return false;
    return memcmp(a->result, b->result, a->ntasks * sizeof *a->result) == 0;
}

/* ---- blocked Cholesky (lower, right-looking): A = L L^T, n = nb * bs, column-major
 * blocks; block (i, j) is bs*bs contiguous doubles. The tasks are the serial loop's
 * kernels with their blocks as dependencies, so the parallel run applies the same
 * operations to each block in the same order: the result is equal bit for bit. */

typedef struct chol {
    int nb, bs;
    double **blk; /* nb * nb block pointers, (i, j) at i * nb + j; i >= j used */
} chol;

static inline double *chol_at(const chol *c, int i, int j) { return c->blk[i * c->nb + j]; }

/* A symmetric positive definite matrix from `seed`. */
static inline void chol_init(chol *c, int nb, int bs, uint64_t seed)
{
    c->nb = nb;
    c->bs = bs;
    c->blk = calloc((size_t)nb * nb, sizeof *c->blk);
    int n = nb * bs;
    for (int i = 0; i < nb; i++)
        for (int j = 0; j <= i; j++) {
            double *b = malloc((size_t)bs * bs * sizeof *b);
            for (int jj = 0; jj < bs; jj++)
                for (int ii = 0; ii < bs; ii++) {
                    int gi = i * bs + ii, gj = j * bs + jj;
                    uint64_t h = dag_mix(seed ^ ((uint64_t)(gi < gj ? gi : gj) << 32 | (uint64_t)(gi < gj ? gj : gi)));
                    double v = (double)(h % 1000) / 1000.0;
                    b[jj * bs + ii] = gi == gj ? v + n : v;
                }
            c->blk[i * nb + j] = b;
        }
}

static inline void chol_fini(chol *c)
{
    for (int k = 0; k < c->nb * c->nb; k++)
        free(c->blk[k]);
    free(c->blk);
}

static inline bool chol_equal(const chol *a, const chol *b)
{
    for (int i = 0; i < a->nb; i++)
        for (int j = 0; j <= i; j++)
            if (memcmp(chol_at(a, i, j), chol_at(b, i, j), (size_t)a->bs * a->bs * sizeof(double)) != 0)
                return false;
    return true;
}

/* sqrt by Newton's iteration (deterministic, and the tests need no libm). */
static inline double chol_sqrt(double x)
{
    double r = x > 1 ? x : 1;
    for (int i = 0; i < 100; i++) {
        double n = 0.5 * (r + x / r);
        if (n == r)
            break;
        r = n;
    }
    return r;
}

/* A = chol(A), lower, in place (the diagonal block). */
static inline void chol_potrf(double *a, int bs)
{
    for (int j = 0; j < bs; j++) {
        double d = a[j * bs + j];
        for (int k = 0; k < j; k++)
            d -= a[k * bs + j] * a[k * bs + j];
        d = chol_sqrt(d);
        a[j * bs + j] = d;
        for (int i = j + 1; i < bs; i++) {
            double s = a[j * bs + i];
            for (int k = 0; k < j; k++)
                s -= a[k * bs + i] * a[k * bs + j];
            a[j * bs + i] = s / d;
        }
    }
}

/* B = B L^-T (L lower, from potrf). */
static inline void chol_trsm(const double *l, double *b, int bs)
{
    for (int i = 0; i < bs; i++)
        for (int j = 0; j < bs; j++) {
            double s = b[j * bs + i];
            for (int k = 0; k < j; k++)
                s -= b[k * bs + i] * l[k * bs + j];
            b[j * bs + i] = s / l[j * bs + j];
        }
}

/* C -= A B^T. */
static inline void chol_gemm(const double *a, const double *b, double *c, int bs)
{
    for (int j = 0; j < bs; j++)
        for (int k = 0; k < bs; k++) {
            double bjk = b[k * bs + j];
            for (int i = 0; i < bs; i++)
                c[j * bs + i] -= a[k * bs + i] * bjk;
        }
}

typedef struct chol_op {
    chol *c;
    int kind, i, j, k; /* 0 potrf(k,k); 1 trsm(i,k); 2 gemm(i,j) -= (i,k)(j,k)^T */
} chol_op;

static inline void chol_op_run(const chol_op *op)
{
    chol *c = op->c;
    switch (op->kind) {
    case 0: chol_potrf(chol_at(c, op->k, op->k), c->bs); break;
    case 1: chol_trsm(chol_at(c, op->k, op->k), chol_at(c, op->i, op->k), c->bs); break;
    default: chol_gemm(chol_at(c, op->i, op->k), chol_at(c, op->j, op->k), chol_at(c, op->i, op->j), c->bs);
    }
}

static inline int chol_op_fn(weft_scope *s, void *arg)
{
    (void)s;
    chol_op_run(arg);
    free(arg);
    return 0;
}

/* The kernels in the serial order; with s, spawned as dependent tasks (each on a
 * malloc'd op the task frees, with the blocks it reads and writes), else run here. */
static inline int chol_factor(chol *c, weft_scope *s)
{
    int nb = c->nb;
    for (int k = 0; k < nb; k++) {
        chol_op op = {c, 0, k, k, k};
        weft_dep d[3] = {{chol_at(c, k, k), WEFT_DEP_INOUT}};
        if (!s)
            chol_op_run(&op);
        else {
            chol_op *p = malloc(sizeof *p);
            *p = op;
            int rc = weft_scope_spawn_dep(s, chol_op_fn, p, d, 1);
            if (rc)
                return rc;
        }
        for (int i = k + 1; i < nb; i++) {
            chol_op t = {c, 1, i, k, k};
            if (!s) {
                chol_op_run(&t);
                continue;
            }
            chol_op *p = malloc(sizeof *p);
            *p = t;
            d[0] = (weft_dep){chol_at(c, k, k), WEFT_DEP_IN};
            d[1] = (weft_dep){chol_at(c, i, k), WEFT_DEP_INOUT};
            int rc = weft_scope_spawn_dep(s, chol_op_fn, p, d, 2);
            if (rc)
                return rc;
        }
        for (int i = k + 1; i < nb; i++)
            for (int j = k + 1; j <= i; j++) {
                chol_op g = {c, 2, i, j, k};
                if (!s) {
                    chol_op_run(&g);
                    continue;
                }
                chol_op *p = malloc(sizeof *p);
                *p = g;
                d[0] = (weft_dep){chol_at(c, i, k), WEFT_DEP_IN};
                d[1] = (weft_dep){chol_at(c, j, k), WEFT_DEP_IN};
                d[2] = (weft_dep){chol_at(c, i, j), WEFT_DEP_INOUT};
                int rc = weft_scope_spawn_dep(s, chol_op_fn, p, d, 3);
                if (rc)
                    return rc;
            }
    }
    return 0;
}

/* Run a workload in a scope on `pool` (NULL: the current or global one) and serially.
 * Returns 0 if both runs agree, 1 if they differ, or the first error of the scope. */
static inline int dag_against_serial(weft_pool *pool, uint32_t ntasks, uint64_t seed)
{
    static dag par, ser; /* large: not on a worker's stack */
    dag_init(&par, ntasks, seed);
    dag_init(&ser, ntasks, seed);
    dag_serial(&ser);
    weft_scope s;
    int rc = weft_scope_init(&s, pool);
    if (rc == 0) {
        rc = dag_spawn(&par, &s);
        int wrc = weft_scope_wait(&s);
        rc = rc ? rc : wrc ? wrc : !dag_equal(&par, &ser);
    }
    dag_fini(&par);
    dag_fini(&ser);
    return rc;
}

static inline int chol_against_serial(weft_pool *pool, int nb, int bs, uint64_t seed)
{
    chol par, ser;
    chol_init(&par, nb, bs, seed);
    chol_init(&ser, nb, bs, seed);
    chol_factor(&ser, NULL);
    weft_scope s;
    int rc = weft_scope_init(&s, pool);
    if (rc == 0) {
        rc = chol_factor(&par, &s);
        int wrc = weft_scope_wait(&s);
        rc = rc ? rc : wrc ? wrc : !chol_equal(&par, &ser);
    }
    chol_fini(&par);
    chol_fini(&ser);
    return rc;
}

#endif /* WEFT_TESTS_DEP_TESTLIB_H */
