/* test_outside_callers.c: Criterion suite `outside_callers` — par/'s loops called from
 * threads outside every pool, several at once, as an application's own threads call
 * them: each such thread works in the pool in a caller slot (weft_pool_execute), so
 * the loops of different callers share one pool's workers and deques. Checked: every
 * index exactly once with 8 callers in one pool and in the global pool; a loop that
 * starts while another caller's long loop holds the pool; a lock held by an outside
 * caller across an isolated loop is never wanted by a task run on that caller; and
 * reduce, 2-D, map and sorts from 4 threads at once. No timing is asserted. */
#include "loops_testlib.h"
#include "sort_testlib.h"

#include <weft/par.h>
#include <weft/runtime.h>
#include <weft/sync.h>

#include <criterion/criterion.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "pool_testlib.h"

#define SECOND_NS 1000000000ull

/* A counted range: each visit of index i adds 1 to count[i]. */
typedef struct counted {
    _Atomic unsigned char *count;
    unsigned spin;
} counted;

static int counted_body(void *ctx, size_t b, size_t e)
{
    counted *c = ctx;
    for (size_t i = b; i < e; i++) {
        atomic_fetch_add_explicit(&c->count[i], 1, memory_order_relaxed);
        loops_spin(c->spin);
    }
    return 0;
}

/* How many of count[0, n) are not exactly 1; resets them to 0 for the next loop. */
static size_t not_once(_Atomic unsigned char *count, size_t n)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        bad += atomic_load_explicit(&count[i], memory_order_relaxed) != 1;
        atomic_store_explicit(&count[i], 0, memory_order_relaxed);
    }
    return bad;
}

/* ------------------------------------------------------------------------------
 * 8 outside threads at once */

enum { EIGHT = 8, EIGHT_N = 1 << 16 };
static const size_t eight_grains[] = {0, 64, 1};
#define EIGHT_ROUNDS (sizeof eight_grains / sizeof eight_grains[0])

typedef struct eight {
    weft_pool *pool;
    weft_barrier start;
} eight;

typedef struct eight_member {
    eight *e;
    counted c;
    size_t grain;
    int rc;
    int index; /* weft_current_worker_index() inside weft_pool_execute */
} eight_member;

static void loop_in_pool(void *p)
{
    eight_member *m = p;
    m->index = weft_current_worker_index();
    m->rc = weft_par_for(0, EIGHT_N, m->grain, counted_body, &m->c);
}

typedef struct eight_result {
    int pool_rc[EIGHT_ROUNDS], global_rc[EIGHT_ROUNDS];
    size_t pool_bad[EIGHT_ROUNDS], global_bad[EIGHT_ROUNDS];
    int index[EIGHT_ROUNDS];
} eight_result;

typedef struct eight_thread_arg {
    eight_member m;
    eight_result r;
} eight_thread_arg;

static void *eight_thread(void *p)
{
    eight_thread_arg *a = p;
    eight_member *m = &a->m;
    for (size_t k = 0; k < EIGHT_ROUNDS; k++) {
        m->grain = eight_grains[k];
        weft_barrier_wait(&m->e->start); /* all 8 enter the pool together */
        m->rc = -7;
        a->r.pool_rc[k] = weft_pool_execute(m->e->pool, loop_in_pool, m);
        a->r.pool_bad[k] = m->rc == 0 ? not_once(m->c.count, EIGHT_N) : EIGHT_N;
        a->r.index[k] = m->index;
        a->r.global_rc[k] = weft_par_for(0, EIGHT_N, m->grain, counted_body, &m->c); /* the global pool */
        a->r.global_bad[k] = not_once(m->c.count, EIGHT_N);
    }
    return NULL;
}

/* 8 application threads each run a loop over their own array in one 2-thread pool
 * (through weft_pool_execute) and then in the global pool (a plain call), all at the
 * same time: every caller gets a slot of its own, and every index of every array is
 * visited exactly once. */
Test(outside_callers, eight_threads_loop_at_once_in_one_pool)
{
    eight e = {make_pool(2), WEFT_BARRIER_INIT(EIGHT)};
    eight_thread_arg *a = calloc(EIGHT, sizeof *a);
    cr_assert_not_null(a);
    weft_thread *t[EIGHT];
    for (int i = 0; i < EIGHT; i++) {
        a[i].m = (eight_member){&e, {calloc(EIGHT_N, 1), 30}, 0, -7, -7};
        cr_assert_not_null(a[i].m.c.count);
        cr_assert_eq(weft_thread_spawn(NULL, eight_thread, &a[i], &t[i]), 0);
    }
    for (int i = 0; i < EIGHT; i++)
        cr_assert_eq(weft_thread_join(t[i], NULL), 0);
    for (size_t k = 0; k < EIGHT_ROUNDS; k++) {
        for (int i = 0; i < EIGHT; i++) {
            eight_result *r = &a[i].r;
            cr_assert_eq(r->pool_rc[k], 0);
            cr_assert_eq(r->global_rc[k], 0);
            cr_assert_eq(r->pool_bad[k], 0, "grain %zu, thread %d: %zu indices not visited once in the pool",
                         eight_grains[k], i, r->pool_bad[k]);
            cr_assert_eq(r->global_bad[k], 0, "grain %zu, thread %d: %zu indices not visited once (global)",
                         eight_grains[k], i, r->global_bad[k]);
            /* 8 callers, 8 slots: none is left to run on a worker. */
            cr_assert(r->index[k] >= 2 && r->index[k] < 2 + WEFT_POOL_CALLER_SLOTS, "index %d", r->index[k]);
        }
    }
    for (int i = 0; i < EIGHT; i++)
        free((void *)a[i].m.c.count);
    free(a);
    cr_assert_eq(weft_pool_destroy(e.pool), 0);
}

/* ------------------------------------------------------------------------------
 * A loop that starts while another caller's long loop holds the pool */

enum { LONG_N = 1 << 14, SHORT_N = 1 << 14 };

typedef struct busy_pair {
    weft_pool *pool; /* NULL: the global pool */
    counted long_c, short_c;
    weft_latch long_started;
    _Atomic int long_started_once, short_started, gave_up;
    int long_rc, short_rc;
} busy_pair;

/* The long loop holds its middle chunk until the short loop has started, so the two
 * loops are in the pool together. The short loop's first chunk runs on its caller
 * before that caller could run anything of the long loop, so this wait ends. */
static int long_body(void *ctx, size_t b, size_t e)
{
    busy_pair *bp = ctx;
    /* In the pool (not in the caller's inline probe): the long loop holds it now. */
    if (weft_current_worker_index() >= 0 && atomic_exchange(&bp->long_started_once, 1) == 0)
        weft_latch_count_down(&bp->long_started, 1);
    if (b <= LONG_N / 2 && LONG_N / 2 < e) {
        uint64_t deadline = weft_deadline_after(10 * SECOND_NS); /* liveness guard */
        while (!atomic_load(&bp->short_started))
            if (weft_deadline_passed(deadline)) {
                atomic_store(&bp->gave_up, 1);
                break;
            } else {
                weft_thread_yield();
            }
    }
    return counted_body(&bp->long_c, b, e);
}

static int short_body(void *ctx, size_t b, size_t e)
{
    busy_pair *bp = ctx;
    atomic_store(&bp->short_started, 1);
    return counted_body(&bp->short_c, b, e);
}

static void run_long(void *p)
{
    busy_pair *bp = p;
    bp->long_rc = weft_par_for(0, LONG_N, 0, long_body, bp);
}

static void run_short(void *p)
{
    busy_pair *bp = p;
    bp->short_rc = weft_par_for(0, SHORT_N, 64, short_body, bp);
}

static void *long_caller(void *p)
{
    busy_pair *bp = p;
    int rc = 0;
    if (bp->pool)
        rc = weft_pool_execute(bp->pool, run_long, bp);
    else
        run_long(bp); /* a plain call: the global pool */
    /* Had the loop never reached the pool, the test must fail, not hang. */
    if (atomic_exchange(&bp->long_started_once, 1) == 0)
        weft_latch_count_down(&bp->long_started, 1);
    return (void *)(intptr_t)rc;
}

/* One thread's long loop holds the pool (on 1 thread: its only turn; the global pool:
 * its slot); another thread's loop started meanwhile is not stuck behind it. Both
 * complete, each index once. */
Test(outside_callers, a_loop_while_another_callers_long_loop_runs)
{
    weft_pool *one = make_pool(1);
    weft_pool *pools[] = {one, NULL};
    for (int k = 0; k < 2; k++) {
        busy_pair *bp = calloc(1, sizeof *bp);
        cr_assert_not_null(bp);
        bp->pool = pools[k];
        bp->long_c = (counted){calloc(LONG_N, 1), 2000};
        bp->short_c = (counted){calloc(SHORT_N, 1), 200};
        cr_assert(bp->long_c.count && bp->short_c.count);
        weft_latch_init(&bp->long_started, 1);
        bp->long_rc = bp->short_rc = -7;
        weft_thread *t;
        cr_assert_eq(weft_thread_spawn(NULL, long_caller, bp, &t), 0);
        weft_latch_wait(&bp->long_started);
        if (bp->pool)
            cr_assert_eq(weft_pool_execute(bp->pool, run_short, bp), 0);
        else
            run_short(bp);
        void *rc = (void *)1;
        cr_assert_eq(weft_thread_join(t, &rc), 0);
        cr_assert_eq((intptr_t)rc, 0);
        cr_assert_eq(atomic_load(&bp->gave_up), 0, "pool %d: the short loop never started", k);
        cr_assert_eq(bp->long_rc, 0);
        cr_assert_eq(bp->short_rc, 0);
        cr_assert_eq(not_once(bp->long_c.count, LONG_N), 0, "pool %d: long loop", k);
        cr_assert_eq(not_once(bp->short_c.count, SHORT_N), 0, "pool %d: short loop", k);
        free((void *)bp->long_c.count);
        free((void *)bp->short_c.count);
        free(bp);
    }
    cr_assert_eq(weft_pool_destroy(one), 0);
}

/* ------------------------------------------------------------------------------
 * Isolation held by an outside caller */

enum { ISO_N = 1 << 14, ISO_GRAIN = ISO_N / 16, ISO_TASKS = 16, ISO_ROUNDS = 8 };

typedef struct iso {
    weft_mutex lock;
    pthread_t holder; /* the thread that holds `lock` across its isolated loop */
    counted c;
    weft_latch loop_running;
    _Atomic int loop_running_once, ran, on_holder;
    int scope_rc, loop_rc, holder_index;
} iso;

/* A task of the second thread that takes the lock. Run on the lock holder's thread it
 * would deadlock (the mutex is not recursive): it records that instead. */
static int locked_task(weft_scope *s, void *p)
{
    (void)s;
    iso *is = p;
    if (pthread_equal(pthread_self(), is->holder)) {
        atomic_fetch_add(&is->on_holder, 1);
        return 0;
    }
    weft_mutex_lock(&is->lock);
    atomic_fetch_add(&is->ran, 1);
    weft_mutex_unlock(&is->lock);
    return 0;
}

static void queue_locked_tasks(void *p)
{
    iso *is = p;
    weft_scope s;
    cr_assert_eq(weft_scope_init(&s, NULL), 0);
    for (int i = 0; i < ISO_TASKS; i++)
        cr_assert_eq(weft_scope_spawn(&s, locked_task, is), 0);
    is->scope_rc = weft_scope_wait(&s); /* runs its tasks, or steals the holder's loop */
}

static void *second_caller(void *p)
{
    iso *is = p;
    weft_latch_wait(&is->loop_running);
    /* In a caller slot of the global pool: its tasks go on the slot's deque, where
     * the workers and the other callers can steal them. */
    weft_pool_execute(NULL, queue_locked_tasks, is);
    return NULL;
}

static int iso_body(void *ctx, size_t b, size_t e)
{
    iso *is = ctx;
    if (atomic_exchange(&is->loop_running_once, 1) == 0)
        weft_latch_count_down(&is->loop_running, 1);
    return counted_body(&is->c, b, e);
}

static void isolated_loop(void *p)
{
    iso *is = p;
    is->holder_index = weft_current_worker_index();
    is->loop_rc = weft_par_for(0, ISO_N, ISO_GRAIN, iso_body, is);
}

/* main holds a lock across a parallel loop inside weft_isolate, as a program holds a
 * lock around a parallel update; while the loop runs, a second outside thread queues
 * tasks that take the same lock. main waits inside its loop whenever a worker has
 * stolen one of its halves, with those tasks in plain sight on the second caller's
 * deque; isolated, it runs only its own loop's work there, never one of them (which
 * would wait for the lock main holds: a deadlock). The global pool has 3 workers here
 * so that one still takes work while two callers are inside. */
Test(outside_callers, an_isolated_outside_caller_holding_a_lock_runs_no_task_that_takes_it, .timeout = 60)
{
    setenv("WEFT_NUM_THREADS", "3", 1);
    cr_assert_eq(weft_pool_num_threads(NULL), 3, "the global pool started before this test set its size");
    iso *is = calloc(1, sizeof *is);
    cr_assert_not_null(is);
    is->c = (counted){calloc(ISO_N, 1), 300};
    cr_assert_not_null(is->c.count);
    weft_mutex_init(&is->lock);
    is->holder = pthread_self();
    for (int round = 0; round < ISO_ROUNDS; round++) {
        atomic_store(&is->ran, 0);
        atomic_store(&is->loop_running_once, 0);
        weft_latch_init(&is->loop_running, 1);
        is->scope_rc = is->loop_rc = is->holder_index = -7;
        weft_thread *t;
        cr_assert_eq(weft_thread_spawn(NULL, second_caller, is, &t), 0);
        cr_assert_eq(weft_mutex_lock(&is->lock), 0);
        cr_assert_eq(weft_isolate(isolated_loop, is), 0);
        cr_assert_eq(weft_mutex_unlock(&is->lock), 0);
        cr_assert_eq(weft_thread_join(t, NULL), 0);
        cr_assert_eq(atomic_load(&is->on_holder), 0, "round %d: a task that takes the lock ran on its holder",
                     round);
        cr_assert_eq(is->loop_rc, 0);
        cr_assert_eq(not_once(is->c.count, ISO_N), 0, "round %d", round);
        cr_assert(is->holder_index >= 3 && is->holder_index < 3 + WEFT_POOL_CALLER_SLOTS,
                  "round %d: index %d: main did not work in a caller slot", round, is->holder_index);
        cr_assert_eq(is->scope_rc, 0);
        cr_assert_eq(atomic_load(&is->ran), ISO_TASKS);
    }
    free((void *)is->c.count);
    free(is);
}

/* ------------------------------------------------------------------------------
 * reduce, 2-D, map and sorts from 4 outside threads at once */

enum { FOUR = 4, RED_N = 1 << 18, ROWS = 300, COLS = 700, MAP_N = 1 << 17, SORT_N = 1 << 16 };

static int fold_sum(void *ctx, size_t b, size_t e, void *acc)
{
    (void)ctx;
    uint64_t s = 0;
    for (size_t i = b; i < e; i++)
        s += i;
    *(uint64_t *)acc += s;
    return 0;
}

static void combine_sum(void *ctx, void *acc, const void *other)
{
    (void)ctx;
    *(uint64_t *)acc += *(const uint64_t *)other;
}

static int tile_body(void *ctx, size_t r0, size_t r1, size_t c0, size_t c1)
{
    _Atomic unsigned char *count = ctx;
    for (size_t r = r0; r < r1; r++)
        for (size_t c = c0; c < c1; c++)
            atomic_fetch_add_explicit(&count[r * COLS + c], 1, memory_order_relaxed);
    return 0;
}

static void square(void *ctx, const void *in, void *out)
{
    (void)ctx;
    uint32_t x = *(const uint32_t *)in;
    *(uint64_t *)out = (uint64_t)x * x;
}

static const sortt_layout REC = {16, 8}; /* an 8-byte key and its original index */

typedef struct four_member {
    weft_barrier *start;
    uint64_t seed;
    /* results, checked by the test's thread */
    int red_rc[2], for2d_rc[2], map_rc, sort_rc, stable_rc, u64_rc;
    uint64_t sum[2];
    size_t tiles_bad[2];
    size_t map_bad;
    const char *sort_err, *stable_err;
    size_t u64_unsorted;
    uint64_t u64_sum_before, u64_sum_after;
} four_member;

static void *four_thread(void *p)
{
    four_member *m = p;
    _Atomic unsigned char *tiles = calloc(ROWS * COLS, 1);
    uint32_t *in = malloc(MAP_N * sizeof *in);
    uint64_t *out = malloc(MAP_N * sizeof *out);
    unsigned char *recs = malloc(SORT_N * REC.size), *recs2 = malloc(SORT_N * REC.size);
    uint64_t *keys = malloc(SORT_N * sizeof *keys);
    if (!tiles || !in || !out || !recs || !recs2 || !keys)
        abort();
    for (size_t i = 0; i < MAP_N; i++)
        in[i] = (uint32_t)(i * 2654435761u);
    sortt_fill(recs, SORT_N, REC, SORTT_RANDOM, m->seed);
    sortt_fill(recs2, SORT_N, REC, SORTT_FEW_UNIQUE, m->seed);
    m->u64_sum_before = 0;
    for (size_t i = 0; i < SORT_N; i++)
        m->u64_sum_before += keys[i] = sortt_mix(i + m->seed);

    weft_barrier_wait(m->start); /* the four threads call into the global pool together */
    const size_t red_grain[2] = {0, 1000}, row_grain[2] = {0, 8}, col_grain[2] = {0, 16};
    for (int k = 0; k < 2; k++) {
        const uint64_t zero = 0;
        m->red_rc[k] = weft_par_reduce(0, RED_N, red_grain[k], &zero, fold_sum, combine_sum, NULL, &m->sum[k],
                                       sizeof m->sum[k]);
        m->for2d_rc[k] = weft_par_for_2d(ROWS, COLS, row_grain[k], col_grain[k], tile_body, (void *)tiles);
        m->tiles_bad[k] = not_once(tiles, ROWS * COLS);
    }
    m->map_rc = weft_par_map(in, out, MAP_N, sizeof *in, sizeof *out, square, NULL);
    m->sort_rc = weft_par_sort(recs, SORT_N, REC.size, sortt_cmp_for(REC));
    m->stable_rc = weft_par_sort_stable(recs2, SORT_N, REC.size, sortt_cmp_for(REC));
    m->u64_rc = weft_par_sort_u64(keys, SORT_N);

    m->map_bad = 0;
    for (size_t i = 0; i < MAP_N; i++)
        m->map_bad += out[i] != (uint64_t)in[i] * in[i];
    m->sort_err = sortt_check(recs, SORT_N, REC, SORTT_RANDOM, m->seed, false, NULL);
    m->stable_err = sortt_check(recs2, SORT_N, REC, SORTT_FEW_UNIQUE, m->seed, true, NULL);
    m->u64_unsorted = 0;
    m->u64_sum_after = keys[0];
    for (size_t i = 1; i < SORT_N; i++) {
        m->u64_unsorted += keys[i - 1] > keys[i];
        m->u64_sum_after += keys[i];
    }
    free((void *)tiles);
    free(in);
    free(out);
    free(recs);
    free(recs2);
    free(keys);
    return NULL;
}

/* Four application threads call reduce, 2-D loops, map and three sorts into the
 * global pool at the same time (each in a caller slot, sharing its workers): every
 * result is what a serial run gives. */
Test(outside_callers, reduce_2d_map_and_sorts_from_four_threads_at_once)
{
    weft_barrier start = WEFT_BARRIER_INIT(FOUR);
    four_member m[FOUR];
    weft_thread *t[FOUR];
    for (int i = 0; i < FOUR; i++) {
        m[i] = (four_member){.start = &start, .seed = 1000u + (uint64_t)i};
        cr_assert_eq(weft_thread_spawn(NULL, four_thread, &m[i], &t[i]), 0);
    }
    for (int i = 0; i < FOUR; i++)
        cr_assert_eq(weft_thread_join(t[i], NULL), 0);
    const uint64_t want = (uint64_t)RED_N * (RED_N - 1) / 2;
    for (int i = 0; i < FOUR; i++) {
        for (int k = 0; k < 2; k++) {
            cr_assert_eq(m[i].red_rc[k], 0);
            cr_assert_eq(m[i].sum[k], want, "thread %d, reduce %d: %llu", i, k, (unsigned long long)m[i].sum[k]);
            cr_assert_eq(m[i].for2d_rc[k], 0);
            cr_assert_eq(m[i].tiles_bad[k], 0, "thread %d, 2-D %d: %zu cells not covered once", i, k,
                         m[i].tiles_bad[k]);
        }
        cr_assert_eq(m[i].map_rc, 0);
        cr_assert_eq(m[i].map_bad, 0, "thread %d: %zu wrong map outputs", i, m[i].map_bad);
        cr_assert_eq(m[i].sort_rc, 0);
        cr_assert_null(m[i].sort_err, "thread %d, sort: %s", i, m[i].sort_err);
        cr_assert_eq(m[i].stable_rc, 0);
        cr_assert_null(m[i].stable_err, "thread %d, stable sort: %s", i, m[i].stable_err);
        cr_assert_eq(m[i].u64_rc, 0);
        cr_assert_eq(m[i].u64_unsorted, 0, "thread %d: u64 keys out of order", i);
        cr_assert_eq(m[i].u64_sum_after, m[i].u64_sum_before, "thread %d: u64 keys lost or changed", i);
    }
}
