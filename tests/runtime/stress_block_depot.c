/* stress_block_depot: a pool's depot of free job blocks (runtime/block_cache_internal.h,
 * "The depot") keeps a burst's blocks for the next burst, within its bound. Reads the
 * pool's depot fields, so it includes pool_internal.h.
 *  - reuse: on a one-worker pool a task queues a burst of scope tasks (plain, in tiny
 *    blocks, and with copied arguments of the small and large sizes) and waits, twice; the second burst
 *    mallocs no block (the depot's room, which counts the workers' mallocs, does not
 *    grow), and every task runs once with its own argument;
 *  - bound: after each burst the depot holds at most its room;
 *  - outside spawns: blocks malloc'd by a thread that is not a worker and freed by the
 *    workers stay out of the depot (its room stays 0, so it keeps none);
 *  - on two workers a spawner streams tasks the other worker runs: the blocks go round
 *    and the bound holds. LeakSanitizer (ASan build) finds no block left after the
 *    pools are destroyed. */
#include <stdatomic.h>
#include <string.h>
#include <weft/runtime.h>

#include "check.h"
#include "pool_internal.h"

typedef struct burst {
    long n;                /* tasks a burst spawns */
    size_t copy;           /* bytes copied per task (0: weft_scope_spawn) */
    _Atomic long runs, bad;
} burst;

static int count(weft_scope *s, void *arg)
{
    (void)s;
    burst *b = arg;
    atomic_fetch_add_explicit(&b->runs, 1, memory_order_relaxed);
    return 0;
}

/* Copied argument: the burst and a word pattern derived from the index. */
typedef struct copied {
    burst *b;
    long i;
    unsigned char fill[WEFT_SPAWN_COPY_INLINE - 16]; /* the largest copy of a large block */
} copied;

static int check_copy(weft_scope *s, void *arg)
{
    (void)s;
    copied *c = arg;
    size_t tail = c->b->copy - offsetof(copied, fill);
    for (size_t k = 0; k < tail; k++)
        if (c->fill[k] != (unsigned char)(c->i + (long)k))
            atomic_fetch_add_explicit(&c->b->bad, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->b->runs, 1, memory_order_relaxed);
    return 0;
}

static void spawn_burst(void *arg)
{
    burst *b = arg;
    weft_scope s;
    CHECK(weft_scope_init(&s, NULL) == 0, "scope init");
    for (long i = 0; i < b->n; i++) {
        if (b->copy == 0) {
            CHECK(weft_scope_spawn(&s, count, b) == 0, "spawn");
        } else {
            copied c = {.b = b, .i = i};
            for (size_t k = 0; k < b->copy - offsetof(copied, fill); k++)
                c.fill[k] = (unsigned char)(i + (long)k);
            CHECK(weft_scope_spawn_copy(&s, check_copy, &c, b->copy) == 0, "spawn_copy");
        }
    }
    CHECK(weft_scope_wait(&s) == 0, "wait");
}

static size_t room(weft_pool *p, unsigned kind)
{
    return atomic_load_explicit(&p->block_depot_room[kind], memory_order_relaxed);
}

static size_t held(weft_pool *p, unsigned kind)
{
    return atomic_load_explicit(&p->block_depot_len[kind], memory_order_relaxed) * WEFT_JOB_BLOCK_CACHE;
}

static void check_bound(weft_pool *p, const char *what)
{
    for (unsigned kind = 0; kind < WEFT_BLOCK_CACHED_KINDS; kind++)
        CHECK(held(p, kind) <= room(p, kind), "%s: depot of kind %u holds %zu blocks, room %zu", what, kind,
              held(p, kind), room(p, kind));
}

static weft_pool *new_pool(unsigned threads)
{
    weft_pool_config cfg = WEFT_POOL_CONFIG_INIT;
    cfg.num_threads = threads;
    weft_pool *p = NULL;
    CHECK(weft_pool_create(&cfg, &p) == 0, "pool");
    return p;
}

static void run_burst(weft_pool *p, burst *b)
{
    atomic_store(&b->runs, 0);
    CHECK(weft_pool_run(p, spawn_burst, b) == 0, "run");
    CHECK(atomic_load(&b->runs) == b->n, "runs %ld of %ld", atomic_load(&b->runs), b->n);
    CHECK(atomic_load(&b->bad) == 0, "%ld copies changed", atomic_load(&b->bad));
}

/* One worker: the second burst of each size takes every block from the depot. */
static void reuse(void)
{
    weft_pool *p = new_pool(1);
    size_t sizes[] = {0, sizeof(copied) - (WEFT_SPAWN_COPY_INLINE - 24), sizeof(copied)}; /* none (tiny), small, large */
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        burst b = {.n = stress_iters(40000), .copy = sizes[k]};
        unsigned kind = sizes[k] == 0                ? WEFT_BLOCK_TINY
                        : sizes[k] == sizeof(copied) ? WEFT_BLOCK_LARGE
                                                     : WEFT_BLOCK_SMALL;
        run_burst(p, &b);
        size_t first = room(p, kind);
        CHECK(first > 0, "the first burst of size %zu malloc'd nothing", sizes[k]);
        check_bound(p, "first burst");
        CHECK(held(p, kind) + 2 * WEFT_JOB_BLOCK_CACHE >= first,
              "the depot kept %zu of the %zu blocks malloc'd", held(p, kind), first);
        run_burst(p, &b);
        CHECK(room(p, kind) == first, "the second burst malloc'd %zu blocks", room(p, kind) - first);
        check_bound(p, "second burst");
    }
    CHECK(weft_pool_destroy(p) == 0, "destroy");
}

static void *leaf(void *arg)
{
    atomic_fetch_add_explicit((_Atomic long *)arg, 1, memory_order_relaxed);
    return NULL;
}

/* Tasks spawned from outside: their blocks are malloc'd there and freed by workers. */
static void outside(void)
{
    weft_pool *p = new_pool(2);
    _Atomic long runs = 0;
    long n = stress_iters(20000);
    for (long i = 0; i < n; i++)
        CHECK(weft_spawn(p, leaf, &runs, NULL) == 0, "spawn");
    CHECK(weft_pool_wait_idle(p) == 0, "wait idle");
    CHECK(atomic_load(&runs) == n, "runs");
    for (unsigned kind = 0; kind < WEFT_BLOCK_CACHED_KINDS; kind++)
        CHECK(room(p, kind) == 0 && held(p, kind) == 0, "kind %u: room %zu, %zu blocks kept from outside spawns",
              kind, room(p, kind), held(p, kind));
    CHECK(weft_pool_destroy(p) == 0, "destroy");
}

/* Two workers: one spawns, both run; repeated, the bound holds after each. */
static void stream(void)
{
    weft_pool *p = new_pool(2);
    for (int round = 0; round < 4; round++) {
        burst b = {.n = stress_iters(50000), .copy = round % 2 ? sizeof(copied) : 0};
        run_burst(p, &b);
        check_bound(p, "stream");
    }
    CHECK(weft_pool_destroy(p) == 0, "destroy");
}

int main(void)
{
    reuse();
    outside();
    stream();
    puts("stress_block_depot: ok");
    return 0;
}
