/* bench_uts.h: the tree of the `uts` benchmark (Unbalanced Tree Search, Olivier, Huan,
 * Liu, Prins, Dinan, Sadayappan, Tseng, LCPC 2006), shared by its C implementations
 * (bench_uts.c) and its C++ TBB peer (bench_tbb.cpp), so every implementation walks the
 * very same tree.
 *
 * The tree is UTS's binomial one (type 0, the T3 family): the root has `b` children;
 * every other node has `m` children with probability `q`, else none (qm < 1, so the
 * tree is finite; near qm = 1 its subtrees are wildly unbalanced). The tree is never
 * stored: a node is a 64-bit id, and everything about it follows from that id.
 *
 * Deliberate difference from the reference: UTS derives ids with SHA-1 (~0.5 us a
 * node); here child i (0-based) of a node with id p gets
 *     id = splitmix64_mix(p + (i + 1) * 0x9e3779b97f4a7c15)
 * i.e. the (i+1)-th output of a splitmix64 generator seeded with p (Steele, Lea,
 * Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014), and the root
 * id is splitmix64_mix(r) for the seed r. A non-root node has children iff its id is
 * below q * 2^64 (an integer threshold: no floating point, so every compiler and
 * every implementation gets the same tree). A node thus costs a few ns: the benchmark
 * measures the scheduler's forking and load balancing, not hashing. Tree sizes differ
 * from the SHA-1 trees of the same parameters (the counts in bench_uts.c are this
 * hash's).
 *
 * Invariant: uts_child / uts_num_children are pure functions of their arguments. */
#ifndef WEFT_BENCH_UTS_H
#define WEFT_BENCH_UTS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One tree shape. */
/* Non-root nodes have at most this many children (m <= UTS_MAX_M), so the parallel
 * versions can keep a node's child results in a fixed array on the stack. */
#define UTS_MAX_M 16

typedef struct uts_param {
    uint32_t root_children; /* b */
    uint32_t m;             /* children of a non-leaf non-root node */
    uint64_t threshold;     /* q * 2^64: a non-root node is a non-leaf iff id < threshold */
    uint64_t seed;          /* r */
    uint64_t nodes;         /* the tree's node count (root included), for the check */
} uts_param;

static inline uint64_t uts_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline uint64_t uts_root(const uts_param *p)
{
    return uts_mix(p->seed);
}

/* The id of child i (0-based) of node `id`. */
static inline uint64_t uts_child(uint64_t id, uint32_t i)
{
    return uts_mix(id + (uint64_t)(i + 1) * 0x9e3779b97f4a7c15ull);
}

/* How many children a non-root node has: m or 0. */
static inline uint32_t uts_num_children(const uts_param *p, uint64_t id)
{
    return id < p->threshold ? p->m : 0;
}

#ifdef __cplusplus
}
#endif

#endif /* WEFT_BENCH_UTS_H */
