/* stress_inline: inline fork-join (weft/inline.h) under steals. A pseudo-random tree
 * whose nodes fork 0-4 children inline into an array of frames (some nodes put two of
 * them through weft_join instead), spin a random while, and join in reverse; many
 * small tasks and a few long ones, so thieves take frames at every depth and joins
 * find them stolen, taken back, or run by their own wait loop. Every node counts
 * itself in its own slot (exactly once: the counts, and the subtree sizes the joins
 * return, are checked against the tree computed serially) and writes its slot's owner
 * word without atomics, so that a node run twice is also a ThreadSanitizer race. Runs
 * on pools of 1, 2, 3 and 8 workers (8 oversubscribes on purpose) and from 10 outside
 * threads at once into the global pool (more than its caller slots: some forks are
 * queued to a worker). Standalone (plain main) so that it also runs under TSan. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <weft.h>
#include "check.h"

enum { FAN = 4, TOP_DEPTH = 40 };

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

/* A tree built serially from a seed, nodes numbered in preorder: node i has nkids[i]
 * children, kids[first[i] ...]; work[i] is its spin. At most `cap` nodes. */
typedef struct tree {
    uint32_t n, cap, pending, used;
    uint32_t *nkids, *first, *kids, *work;
    _Atomic uint8_t *ran; /* per node: times it ran */
    unsigned long *owner; /* per node: written plainly by the node (TSan sees a second run) */
} tree;

static uint32_t build(tree *t, uint64_t h, int depth)
{
    uint32_t id = t->n++;
    uint32_t r = (uint32_t)(h % 16), k = depth == 0 ? 0 : r < 9 ? 2 : r < 11 ? 4 : r < 13 ? 1 : 0;
    if (depth > TOP_DEPTH - 3)
        k = FAN; /* a bushy top: no tree ends after a few nodes */
    if (t->n + t->pending + k > t->cap)
        k = 0;
    t->work[id] = h % 64 == 0 ? 5000 : (uint32_t)(h >> 8) % 100; /* a few long ones */
    t->nkids[id] = k;
    t->first[id] = t->used;
    t->used += k;
    t->pending += k;
    for (uint32_t i = 0; i < k; i++) {
        t->pending--;
        uint32_t kid = build(t, mix(h + i + 1), depth - 1);
        t->kids[t->first[id] + i] = kid;
    }
    return id;
}

static void spin(uint32_t n, uint64_t x)
{
    for (uint32_t i = 0; i < n; i++)
        x = mix(x);
    __asm__ volatile("" : : "r"(x));
}

typedef struct pair_arg {
    const tree *t;
    uint32_t id;
    uint64_t size;
} pair_arg;

static void node_join_half(void *p);

/* The subtree's size; each node counts itself once in t->ran. */
WEFT_TASK_2(uint64_t, node, const tree *, t, uint32_t, id)
{
    CHECK(atomic_fetch_add_explicit(&t->ran[id], 1, memory_order_relaxed) == 0, "node %u ran twice", id);
    t->owner[id] = (unsigned long)pthread_self();
    uint32_t k = t->nkids[id];
    const uint32_t *kid = &t->kids[t->first[id]];
    bool pair = k >= 2 && mix(id) % 3 == 0; /* children 0 and 1 by weft_join */
    uint32_t from = pair ? 2 : 0;
    WEFT_FRAME(node) f[FAN];
    for (uint32_t i = from; i < k; i++)
        WEFT_FORK(node, &f[i], t, kid[i]);
    uint64_t size = 1;
    if (pair) {
        pair_arg a = {t, kid[0], 0}, b = {t, kid[1], 0};
        CHECK(weft_join(node_join_half, &a, node_join_half, &b) == 0);
        size += a.size + b.size;
    }
    spin(t->work[id], id);
    for (uint32_t i = k; i-- > from;)
        size += WEFT_JOIN(node, &f[i]);
    return size;
}

static void node_join_half(void *p)
{
    pair_arg *a = p;
    a->size = node(a->t, a->id);
}

typedef struct run_arg {
    tree *t;
    uint64_t size;
} run_arg;

static void run_tree(void *p)
{
    run_arg *r = p;
    r->size = node(r->t, 0);
}

/* Build a tree of at most cap nodes from seed, run it (on `pool`, or directly from
 * this thread when NULL) and check that every node ran once. */
static void check_tree(weft_pool *pool, uint64_t seed, uint32_t cap)
{
    tree t = {0, cap, 0, 0, calloc(cap, 4), calloc(cap, 4), calloc(cap, 4), calloc(cap, 4), calloc(cap, 1),
              calloc(cap, sizeof(unsigned long))};
    CHECK(t.nkids && t.first && t.kids && t.work && t.ran && t.owner);
    build(&t, mix(seed), TOP_DEPTH);
    if (getenv("STRESS_INLINE_VERBOSE"))
        fprintf(stderr, "seed %llu: %u nodes\n", (unsigned long long)seed, t.n);
    run_arg r = {&t, 0};
    if (pool)
        CHECK(weft_pool_run(pool, run_tree, &r) == 0);
    else
        run_tree(&r);
    uint64_t counted = 0;
    for (uint32_t i = 0; i < t.n; i++) {
        CHECK(t.ran[i] == 1, "seed %llu: node %u ran %d times", (unsigned long long)seed, i, (int)t.ran[i]);
        counted += t.ran[i];
    }
    CHECK(r.size == t.n && counted == t.n, "seed %llu: size %llu, counted %llu, nodes %u",
          (unsigned long long)seed, (unsigned long long)r.size, (unsigned long long)counted, t.n);
    free(t.nkids);
    free(t.first);
    free(t.kids);
    free(t.work);
    free((void *)t.ran);
    free(t.owner);
}

static uint32_t tree_cap(void) { return WEFT_TSAN_OR(3000, 20000); }

static void *outside_thread(void *p)
{
    uint64_t seed = (uint64_t)(uintptr_t)p;
    for (int i = 0; i < 3; i++)
        check_tree(NULL, seed * 31 + (uint64_t)i, tree_cap() / 4);
    return NULL;
}

int main(void)
{
    const unsigned sizes[] = {1, 2, 3, 8};
    const int rounds = (int)stress_iters(16);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        weft_pool_config cfg = WEFT_POOL_CONFIG_INIT;
        cfg.num_threads = sizes[s];
        weft_pool *pool;
        CHECK(weft_pool_create(&cfg, &pool) == 0);
        for (int i = 0; i < rounds; i++)
            check_tree(pool, (uint64_t)i * 7919 + sizes[s], tree_cap());
        CHECK(weft_pool_destroy(pool) == 0);
    }
    enum { OUTSIDE = 10 }; /* more than the global pool's caller slots */
    pthread_t th[OUTSIDE];
    for (uintptr_t k = 0; k < OUTSIDE; k++)
        CHECK(pthread_create(&th[k], NULL, outside_thread, (void *)(k + 1)) == 0);
    for (int k = 0; k < OUTSIDE; k++)
        CHECK(pthread_join(th[k], NULL) == 0);
    printf("stress_inline: ok\n");
    return 0;
}
