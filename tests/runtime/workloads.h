/* workloads.h: recursive workloads shared by the runtime tests (Criterion and
 * stress): fib by join, nqueens by scope, and a pseudo-random tree that mixes join,
 * spawn and scope, each with a serial twin to check against. Header-only (static
 * functions), so each test program gets its own copy. */
#ifndef WEFT_TESTS_WORKLOADS_H
#define WEFT_TESTS_WORKLOADS_H
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <weft/runtime.h>

static inline uint64_t fib_serial(unsigned n) { return n < 2 ? n : fib_serial(n - 1) + fib_serial(n - 2); }

typedef struct fib_arg {
    unsigned n;
    uint64_t r;
} fib_arg;
static inline void fib_join(void *p)
{
    fib_arg *a = p;
    if (a->n < 2) {
        a->r = a->n;
        return;
    }
    fib_arg x = {a->n - 1, 0}, y = {a->n - 2, 0};
    weft_join(fib_join, &x, fib_join, &y);
    a->r = x.r + y.r;
}

/* nqueens: count placements; one scope task per safe column at each row. */
typedef struct nq_arg {
    int n, row;
    uint32_t cols, d1, d2;
    _Atomic uint64_t *count;
} nq_arg;
static inline uint64_t nq_serial(int n, int row, uint32_t cols, uint32_t d1, uint32_t d2)
{
    if (row == n)
        return 1;
    uint64_t c = 0;
    uint32_t avail = ~(cols | d1 | d2) & ((1u << n) - 1);
    while (avail) {
        uint32_t bit = avail & -avail;
        avail ^= bit;
        c += nq_serial(n, row + 1, cols | bit, (d1 | bit) << 1, (d2 | bit) >> 1);
    }
    return c;
}
static inline int nq_task(weft_scope *s, void *p)
{
    nq_arg *a = p;
    if (a->n - a->row <= 5) { /* small subtree: serial, as a user would cut off */
        atomic_fetch_add_explicit(a->count, nq_serial(a->n, a->row, a->cols, a->d1, a->d2), memory_order_relaxed);
        free(a);
        return 0;
    }
    uint32_t avail = ~(a->cols | a->d1 | a->d2) & ((1u << a->n) - 1);
    while (avail) {
        uint32_t bit = avail & -avail;
        avail ^= bit;
        nq_arg *c = malloc(sizeof *c);
        *c = (nq_arg){a->n, a->row + 1, a->cols | bit, (a->d1 | bit) << 1, (a->d2 | bit) >> 1, a->count};
        if (weft_scope_spawn(s, nq_task, c) != 0)
            abort();
    }
    free(a);
    return 0;
}
static inline uint64_t nq_parallel(int n)
{
    _Atomic uint64_t count = 0;
    weft_scope s;
    if (weft_scope_init(&s, NULL) != 0)
        abort();
    nq_arg *a = malloc(sizeof *a);
    *a = (nq_arg){n, 0, 0, 0, 0, &count};
    if (weft_scope_spawn(&s, nq_task, a) != 0 || weft_scope_wait(&s) != 0)
        abort();
    return atomic_load(&count);
}

/* A pseudo-random tree: each node has value seed % 1000 and 1-3 children until depth 0; the
 * parallel walk picks join, spawn or scope per node from its seed. */
static inline uint64_t tree_hash(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}
static inline unsigned tree_kids(uint64_t seed, int depth) { return depth <= 0 ? 0 : 1 + (unsigned)(seed % 3); }
static inline uint64_t tree_serial(uint64_t seed, int depth)
{
    uint64_t v = seed % 1000;
    for (unsigned i = 0; i < tree_kids(seed, depth); i++)
        v += tree_serial(tree_hash(seed + i + 1), depth - 1);
    return v;
}
typedef struct tree_arg {
    uint64_t seed;
    int depth;
    uint64_t r;
} tree_arg;
static inline void tree_walk(void *p);
static inline void *tree_task(void *p)
{
    tree_walk(p);
    return p;
}
static inline int tree_scope_task(weft_scope *s, void *p)
{
    (void)s;
    tree_walk(p);
    return 0;
}
static inline void tree_walk(void *p)
{
    tree_arg *a = p;
    unsigned k = tree_kids(a->seed, a->depth);
    tree_arg kids[3];
    for (unsigned i = 0; i < k; i++)
        kids[i] = (tree_arg){tree_hash(a->seed + i + 1), a->depth - 1, 0};
    a->r = a->seed % 1000;
    if (k == 0)
        return;
    switch ((a->seed >> 8) % 3) {
    case 0: /* join: first kid against the rest, serially */
        if (k == 1)
            tree_walk(&kids[0]);
        else
            weft_join(tree_walk, &kids[0], tree_walk, &kids[1]);
        if (k == 3)
            tree_walk(&kids[2]);
        break;
    case 1: { /* spawn + join handles */
        weft_task *t[3];
        for (unsigned i = 0; i < k; i++)
            if (weft_spawn(NULL, tree_task, &kids[i], &t[i]) != 0)
                abort();
        for (unsigned i = 0; i < k; i++) {
            void *res;
            if (weft_task_join(t[i], &res) != 0 || res != &kids[i])
                abort();
        }
        break;
    }
    default: { /* scope */
        weft_scope s;
        if (weft_scope_init(&s, NULL) != 0)
            abort();
        for (unsigned i = 0; i < k; i++)
            if (weft_scope_spawn(&s, tree_scope_task, &kids[i]) != 0)
                abort();
        if (weft_scope_wait(&s) != 0)
            abort();
    }
    }
    for (unsigned i = 0; i < k; i++)
        a->r += kids[i].r;
}
#endif
