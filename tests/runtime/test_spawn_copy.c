/* Criterion suite for spawns that copy their argument (weft_scope_spawn_copy,
 * weft_spawn_copy): each task sees its own copy of the bytes as they were at the call,
 * whatever the caller does with its variable afterwards; copies inside the task's
 * block (up to WEFT_SPAWN_COPY_INLINE bytes) and beyond it; every size up to 129, byte
 * for byte; size 0; alignment for any type; bad input; nesting; from outside a pool
 * and from its workers. Every copy is freed on every path (ASan's leak check runs on
 * this suite). Races between spawners and the workers that free the blocks:
 * tests/runtime/stress_spawn_copy.c (TSan). */
#include <criterion/criterion.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <weft/runtime.h>
#include "pool_testlib.h"

enum { LOOP_TASKS = 100000 };

/* A struct the spawning loop rewrites every iteration; `check` ties its fields
 * together, so a torn or stale copy shows. */
typedef struct item {
    uint64_t index;
    uint64_t check;
    double weight;
    char name[24];
} item;

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

static item make_item(uint64_t i)
{
    item it;
    memset(&it, 0, sizeof it);
    it.index = i;
    it.check = mix(i);
    it.weight = (double)i * 0.5;
    snprintf(it.name, sizeof it.name, "item-%llu", (unsigned long long)i);
    return it;
}

static bool item_ok(const item *it)
{
    char name[24];
    snprintf(name, sizeof name, "item-%llu", (unsigned long long)it->index);
    return it->index < LOOP_TASKS && it->check == mix(it->index) && it->weight == (double)it->index * 0.5 &&
           strcmp(it->name, name) == 0;
}

typedef struct tally {
    _Atomic uint32_t seen[LOOP_TASKS];
    _Atomic long bad;
} tally;

static tally *tally_new(void)
{
    tally *t = calloc(1, sizeof *t);
    cr_assert_not_null(t);
    return t;
}

/* Every index seen exactly once, and no copy was wrong. */
static void tally_check(tally *t)
{
    cr_assert_eq(atomic_load(&t->bad), 0, "%ld tasks saw a wrong copy", atomic_load(&t->bad));
    for (long i = 0; i < LOOP_TASKS; i++)
        cr_assert_eq(atomic_load(&t->seen[i]), 1, "index %ld seen %u times", i, atomic_load(&t->seen[i]));
    free(t);
}

static void tally_see(tally *t, item *it)
{
    if (!item_ok(it)) {
        atomic_fetch_add(&t->bad, 1);
        return;
    }
    atomic_fetch_add_explicit(&t->seen[it->index], 1, memory_order_relaxed);
    memset(it, 0xA5, sizeof *it); /* the copy is the task's own: writable */
}

/* The scope task reads its tally from a global: the argument is the item alone. */
static tally *scope_tally;

static int see_item(weft_scope *s, void *arg)
{
    (void)s;
    tally_see(scope_tally, arg);
    return 0;
}

/* One variable on the stack, changed every iteration: each task has its own copy. */
static void spawn_loop(void *arg)
{
    (void)arg;
    weft_scope s;
    cr_assert_eq(weft_scope_init(&s, NULL), 0);
    item it;
    for (uint64_t i = 0; i < LOOP_TASKS; i++) {
        it = make_item(i);
        cr_assert_eq(weft_scope_spawn_copy(&s, see_item, &it, sizeof it), 0);
        memset(&it, 0, sizeof it); /* the caller reuses its variable at once */
    }
    cr_assert_eq(weft_scope_wait(&s), 0);
}

Test(spawn_copy, loop_from_a_worker)
{
    weft_pool *p = make_pool(2);
    scope_tally = tally_new();
    cr_assert_eq(weft_pool_run(p, spawn_loop, NULL), 0);
    tally_check(scope_tally);
    cr_assert_eq(weft_pool_destroy(p), 0);
}

Test(spawn_copy, loop_from_outside_the_pool)
{
    /* The scope on the global pool, spawned from main: every task goes through the
     * injector and every block is allocated by a thread that is not a worker. */
    scope_tally = tally_new();
    spawn_loop(NULL);
    tally_check(scope_tally);
}

/* weft_spawn_copy, detached: the same loop, the tally reached through the item. */
typedef struct task_item {
    item it;
    tally *t;
} task_item;

static void *see_task_item(void *arg)
{
    task_item *ti = arg;
    tally_see(ti->t, &ti->it);
    return NULL;
}

static void detached_loop(void *arg)
{
    tally *t = arg;
    task_item ti;
    for (uint64_t i = 0; i < LOOP_TASKS; i++) {
        ti.it = make_item(i);
        ti.t = t;
        cr_assert_eq(weft_spawn_copy(NULL, see_task_item, &ti, sizeof ti, NULL), 0);
    }
}

Test(spawn_copy, detached_loop_inside_and_outside)
{
    weft_pool *p = make_pool(2);
    tally *t = tally_new();
    cr_assert_eq(weft_pool_run(p, detached_loop, t), 0);
    cr_assert_eq(weft_pool_wait_idle(p), 0);
    tally_check(t);
    t = tally_new();
    task_item ti;
    for (uint64_t i = 0; i < LOOP_TASKS; i++) {
        ti.it = make_item(i);
        ti.t = t;
        cr_assert_eq(weft_spawn_copy(p, see_task_item, &ti, sizeof ti, NULL), 0);
    }
    cr_assert_eq(weft_pool_destroy(p), 0); /* runs what is queued */
    tally_check(t);
}

/* ------------------------------------------------------------------ sizes */

/* The byte at offset k of a copy of `size` bytes for `seed`. */
static unsigned char pattern(size_t seed, size_t size, size_t k)
{
    return (unsigned char)(mix(seed * 1000003u + size) >> (k % 57) ^ k);
}

static void fill(unsigned char *b, size_t seed, size_t size)
{
    for (size_t k = 0; k < size; k++)
        b[k] = pattern(seed, size, k);
}

/* Header of every sized copy: which pattern the rest must hold. */
typedef struct sized {
    size_t seed, size;
    _Atomic long *bad, *ran;
} sized;

static bool sized_ok(const void *arg)
{
    if (((uintptr_t)arg % alignof(max_align_t)) != 0)
        return false;
    sized h;
    memcpy(&h, arg, sizeof h);
    const unsigned char *b = arg;
    for (size_t k = sizeof h; k < h.size; k++)
        if (b[k] != pattern(h.seed, h.size, k))
            return false;
    return true;
}

static int check_sized(weft_scope *s, void *arg)
{
    (void)s;
    sized h;
    memcpy(&h, arg, sizeof h);
    if (!sized_ok(arg))
        atomic_fetch_add(h.bad, 1);
    atomic_fetch_add(h.ran, 1);
    return 0;
}

static void *check_sized_task(void *arg)
{
    check_sized(NULL, arg);
    sized h;
    memcpy(&h, arg, sizeof h);
    return (void *)h.seed;
}

/* Sizes around the inline limit and well beyond it (a page, 4 KiB, 64 KiB). */
static const size_t sizes[] = {sizeof(sized), 48, 64, 100, WEFT_SPAWN_COPY_INLINE - 1, WEFT_SPAWN_COPY_INLINE,
                               WEFT_SPAWN_COPY_INLINE + 1, 200, 256, 1000, 4096, 65536};
enum { NSIZES = sizeof sizes / sizeof sizes[0], PER_SIZE = 64 };

static void spawn_sized(void *arg)
{
    (void)arg;
    _Atomic long bad = 0, ran = 0;
    unsigned char *buf = malloc(65536);
    cr_assert_not_null(buf);
    weft_scope s;
    cr_assert_eq(weft_scope_init(&s, NULL), 0);
    weft_task *tasks[NSIZES][PER_SIZE];
    for (size_t z = 0; z < NSIZES; z++)
        for (size_t j = 0; j < PER_SIZE; j++) {
            size_t seed = z * PER_SIZE + j, size = sizes[z];
            fill(buf, seed, size);
            sized h = {seed, size, &bad, &ran};
            memcpy(buf, &h, sizeof h);
            cr_assert_eq(weft_scope_spawn_copy(&s, check_sized, buf, size), 0);
            cr_assert_eq(weft_spawn_copy(NULL, check_sized_task, buf, size, &tasks[z][j]), 0);
            memset(buf, 0, size);
        }
    cr_assert_eq(weft_scope_wait(&s), 0);
    for (size_t z = 0; z < NSIZES; z++)
        for (size_t j = 0; j < PER_SIZE; j++) {
            void *r = NULL;
            cr_assert_eq(weft_task_join(tasks[z][j], &r), 0);
            cr_assert_eq((size_t)r, z * PER_SIZE + j);
        }
    cr_assert_eq(atomic_load(&bad), 0, "%ld copies wrong or misaligned", atomic_load(&bad));
    cr_assert_eq(atomic_load(&ran), 2 * NSIZES * PER_SIZE);
    free(buf);
}

Test(spawn_copy, sizes_inline_and_beyond)
{
    weft_pool *p = make_pool(2);
    cr_assert_eq(weft_pool_run(p, spawn_sized, NULL), 0);
    cr_assert_eq(weft_pool_destroy(p), 0);
    spawn_sized(NULL); /* from outside: the global pool */
}

/* ------------------------------------------------------------------ every small size */

/* Sizes 1 to 2 * 64 + 1: every one of the copy's fixed-size paths and each of their
 * edges, from a worker (the spawn's inline path) of a pool of 1 and of 2. The first
 * byte is the size, so the task can check the rest (the copy has no room for more).
 * The caller's buffer is exactly `size` bytes: ASan sees a read past it. */
enum { SMALL_MAX = 2 * 64 + 1, SMALL_ROUNDS = 4 };
static _Atomic long small_bad, small_ran;

static unsigned char small_byte(size_t size, size_t k)
{
    return k == 0 ? (unsigned char)size : (unsigned char)(size * 31 + k * 7 + 1);
}

static int check_every_size(weft_scope *s, void *arg)
{
    (void)s;
    const unsigned char *b = arg;
    size_t size = b[0];
    bool ok = size >= 1;
    for (size_t k = 1; k < size; k++)
        ok = ok && b[k] == small_byte(size, k);
    if (!ok)
        atomic_fetch_add(&small_bad, 1);
    atomic_fetch_add(&small_ran, 1);
    return 0;
}

static void spawn_every_size(void *arg)
{
    (void)arg;
    weft_scope s;
    cr_assert_eq(weft_scope_init(&s, NULL), 0);
    for (int round = 0; round < SMALL_ROUNDS; round++)
        for (size_t size = 1; size <= SMALL_MAX; size++) {
            unsigned char *buf = malloc(size);
            cr_assert_not_null(buf);
            for (size_t k = 0; k < size; k++)
                buf[k] = small_byte(size, k);
            cr_assert_eq(weft_scope_spawn_copy(&s, check_every_size, buf, size), 0);
            free(buf);
        }
    cr_assert_eq(weft_scope_wait(&s), 0);
}

Test(spawn_copy, every_small_size_byte_exact)
{
    for (unsigned threads = 1; threads <= 2; threads++) {
        small_bad = small_ran = 0;
        weft_pool *p = make_pool(threads);
        cr_assert_eq(weft_pool_run(p, spawn_every_size, NULL), 0);
        cr_assert_eq(weft_pool_destroy(p), 0);
        cr_assert_eq(atomic_load(&small_bad), 0, "%ld copies wrong", atomic_load(&small_bad));
        cr_assert_eq(atomic_load(&small_ran), SMALL_ROUNDS * SMALL_MAX);
    }
}

/* ------------------------------------------------------------------ size 0 */

static _Atomic long null_args, nonnull_args;

static int count_arg(weft_scope *s, void *arg)
{
    (void)s;
    atomic_fetch_add(arg ? &nonnull_args : &null_args, 1);
    return 0;
}

static void *count_arg_task(void *arg)
{
    count_arg(NULL, arg);
    return (void *)1;
}

Test(spawn_copy, size_zero_passes_null)
{
    null_args = nonnull_args = 0;
    int x = 7;
    weft_scope s;
    cr_assert_eq(weft_scope_init(&s, NULL), 0);
    cr_assert_eq(weft_scope_spawn_copy(&s, count_arg, NULL, 0), 0);
    cr_assert_eq(weft_scope_spawn_copy(&s, count_arg, &x, 0), 0, "arg is not read");
    cr_assert_eq(weft_scope_wait(&s), 0);
    weft_task *t;
    void *r = NULL;
    cr_assert_eq(weft_spawn_copy(NULL, count_arg_task, NULL, 0, &t), 0);
    cr_assert_eq(weft_task_join(t, &r), 0);
    cr_assert_eq(r, (void *)1);
    cr_assert_eq(weft_spawn_copy(NULL, count_arg_task, &x, 0, &t), 0);
    cr_assert_eq(weft_task_join(t, NULL), 0);
    cr_assert_eq(atomic_load(&null_args), 4);
    cr_assert_eq(atomic_load(&nonnull_args), 0);
}

/* ------------------------------------------------------------------ alignment */

typedef struct aligned_small {
    char c;
    long double ld;
    max_align_t m;
} aligned_small;

typedef struct aligned_big {
    char c;
    long double ld[300]; /* beyond the inline limit: a block of its own */
} aligned_big;

static _Atomic long misaligned, wrong_value;

static int check_small(weft_scope *s, void *arg)
{
    (void)s;
    aligned_small *a = arg;
    if ((uintptr_t)arg % alignof(max_align_t) != 0 || (uintptr_t)&a->ld % alignof(long double) != 0)
        atomic_fetch_add(&misaligned, 1);
    if (a->c != 'x' || a->ld != 1.5L)
        atomic_fetch_add(&wrong_value, 1);
    a->ld *= 2; /* an aligned long double store (ASan/UBSan see a misaligned one) */
    return 0;
}

static int check_big(weft_scope *s, void *arg)
{
    (void)s;
    aligned_big *a = arg;
    if ((uintptr_t)arg % alignof(max_align_t) != 0)
        atomic_fetch_add(&misaligned, 1);
    if (a->c != 'y' || a->ld[0] != 0.25L || a->ld[299] != 299.25L)
        atomic_fetch_add(&wrong_value, 1);
    a->ld[299] = -1;
    return 0;
}

static void *check_small_task(void *arg)
{
    check_small(NULL, arg);
    return NULL;
}

static void align_body(void *arg)
{
    (void)arg;
    aligned_small small = {.c = 'x', .ld = 1.5L};
    aligned_big *big = calloc(1, sizeof *big);
    cr_assert_not_null(big);
    big->c = 'y';
    for (int i = 0; i < 300; i++)
        big->ld[i] = i + 0.25L;
    weft_scope s;
    cr_assert_eq(weft_scope_init(&s, NULL), 0);
    for (int i = 0; i < 100; i++) {
        cr_assert_eq(weft_scope_spawn_copy(&s, check_small, &small, sizeof small), 0);
        cr_assert_eq(weft_scope_spawn_copy(&s, check_big, big, sizeof *big), 0);
        cr_assert_eq(weft_spawn_copy(NULL, check_small_task, &small, sizeof small, NULL), 0);
    }
    cr_assert_eq(weft_scope_wait(&s), 0);
    free(big);
}

Test(spawn_copy, copies_are_aligned_for_any_type)
{
    misaligned = wrong_value = 0;
    weft_pool *p = make_pool(2);
    cr_assert_eq(weft_pool_run(p, align_body, NULL), 0);
    cr_assert_eq(weft_pool_destroy(p), 0); /* the detached ones too */
    align_body(NULL);
    cr_assert_eq(weft_pool_wait_idle(NULL), 0);
    cr_assert_eq(atomic_load(&misaligned), 0);
    cr_assert_eq(atomic_load(&wrong_value), 0);
}

/* ------------------------------------------------------------------ bad input */

static _Atomic long bad_input_runs;

static int bad_input_task(weft_scope *s, void *arg)
{
    (void)s;
    (void)arg;
    atomic_fetch_add(&bad_input_runs, 1);
    return 0;
}

static void *bad_input_task_fn(void *arg)
{
    bad_input_task(NULL, arg);
    return NULL;
}

Test(spawn_copy, bad_input)
{
    bad_input_runs = 0;
    int x = 1;
    weft_scope s;
    cr_assert_eq(weft_scope_init(&s, NULL), 0);
    cr_assert_eq(weft_scope_spawn_copy(NULL, bad_input_task, &x, sizeof x), -EINVAL);
    cr_assert_eq(weft_scope_spawn_copy(&s, NULL, &x, sizeof x), -EINVAL);
    cr_assert_eq(weft_scope_spawn_copy(&s, bad_input_task, NULL, sizeof x), -EINVAL);
    cr_assert_eq(weft_scope_spawn_copy(&s, bad_input_task, &x, SIZE_MAX), -ENOMEM, "size overflows");
    cr_assert_eq(weft_scope_wait(&s), 0);
    cr_assert_eq(atomic_load(&bad_input_runs), 0, "nothing was queued");
    cr_assert_eq(weft_scope_spawn_copy(&s, bad_input_task, &x, sizeof x), -EINVAL, "after the wait");
    cr_assert_eq(weft_scope_spawn_copy(&s, bad_input_task, NULL, 0), -EINVAL, "after the wait, size 0");

    weft_task *t = (weft_task *)&x;
    cr_assert_eq(weft_spawn_copy(NULL, NULL, &x, sizeof x, &t), -EINVAL);
    cr_assert_eq(weft_spawn_copy(NULL, bad_input_task_fn, NULL, sizeof x, &t), -EINVAL);
    cr_assert_eq(weft_spawn_copy(NULL, bad_input_task_fn, &x, SIZE_MAX, &t), -ENOMEM, "size overflows");
    cr_assert_eq(t, (weft_task *)&x, "*out untouched on error");
    cr_assert_eq(weft_pool_wait_idle(NULL), 0);
    cr_assert_eq(atomic_load(&bad_input_runs), 0, "nothing was queued");
}

/* ------------------------------------------------------------------ nesting */

enum { TREE_DEPTH = 12 }; /* 2^13 - 1 nodes */

typedef struct node {
    uint32_t depth, id; /* id: heap numbering, root 1 */
    _Atomic uint32_t *seen;
} node;

/* Each node spawns its two children with spawn_copy from one variable on its own
 * stack, changed between the two calls. */
static int tree_node(weft_scope *s, void *arg)
{
    node *n = arg;
    atomic_fetch_add_explicit(&n->seen[n->id], 1, memory_order_relaxed);
    if (n->depth == TREE_DEPTH)
        return 0;
    node child = {n->depth + 1, 2 * n->id, n->seen};
    int rc = weft_scope_spawn_copy(s, tree_node, &child, sizeof child);
    child.id++;
    return rc != 0 ? rc : weft_scope_spawn_copy(s, tree_node, &child, sizeof child);
}

static void tree_body(void *arg)
{
    _Atomic uint32_t *seen = arg;
    weft_scope s;
    cr_assert_eq(weft_scope_init(&s, NULL), 0);
    node root = {0, 1, seen};
    cr_assert_eq(weft_scope_spawn_copy(&s, tree_node, &root, sizeof root), 0);
    cr_assert_eq(weft_scope_wait(&s), 0);
}

Test(spawn_copy, nested_from_inside_tasks)
{
    size_t nodes = (size_t)1 << (TREE_DEPTH + 1);
    _Atomic uint32_t *seen = calloc(nodes, sizeof *seen);
    cr_assert_not_null(seen);
    weft_pool *p = make_pool(3);
    cr_assert_eq(weft_pool_run(p, tree_body, seen), 0);
    cr_assert_eq(weft_pool_destroy(p), 0);
    tree_body(seen); /* the root spawned from outside */
    for (size_t i = 1; i < nodes; i++)
        cr_assert_eq(atomic_load(&seen[i]), 2, "node %zu seen %u times", i, atomic_load(&seen[i]));
    free(seen);
}

/* ------------------------------------------------------------------ cancellation */

typedef struct payload {
    int index;
    int full;                            /* copied whole, else its first 16 bytes */
    char bytes[4096 - 2 * sizeof(int)]; /* beyond the inline limit */
} payload;

static _Atomic long cancelled_runs;

static int fail_one(weft_scope *s, void *arg)
{
    payload *pl = arg;
    atomic_fetch_add(&cancelled_runs, 1);
    if (pl->index == 3)
        return 42;
    if (weft_scope_is_cancelled(s) || !pl->full)
        return 0;
    return pl->bytes[pl->index] == (char)pl->index ? 0 : -EIO;
}

/* Every task runs (so every copy is freed, which ASan's leak check sees), whether
 * the scope failed before it started or not. */
Test(spawn_copy, copies_freed_when_the_scope_fails)
{
    cancelled_runs = 0;
    weft_pool *p = make_pool(2);
    weft_scope s;
    cr_assert_eq(weft_scope_init(&s, p), 0);
    payload *pl = calloc(1, sizeof *pl);
    cr_assert_not_null(pl);
    for (int i = 0; i < 200; i++) {
        pl->index = i;
        pl->full = i % 2;
        pl->bytes[i] = (char)i;
        cr_assert_eq(weft_scope_spawn_copy(&s, fail_one, pl, pl->full ? sizeof *pl : 16), 0);
    }
    free(pl);
    cr_assert_eq(weft_scope_wait(&s), 42);
    cr_assert_eq(atomic_load(&cancelled_runs), 200);
    cr_assert_eq(weft_pool_destroy(p), 0);
}
