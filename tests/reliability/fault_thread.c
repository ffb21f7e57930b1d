/* fault_thread.c: thread creation failure (pthread_create, wrapped by inject.c, fails
 * with EAGAIN from the k-th call on).
 *  - weft_pool_create: for every k, -EAGAIN, every started worker stopped again (after
 *    running the pool's on_start and on_exit hooks), no leak, no hang; a later create
 *    works.
 *  - weft_thread_spawn: -EAGAIN, *out untouched, no leak.
 *  - the global pool: runs with the workers it could start, after exactly one warning
 *    on stderr; if even the retry cannot start one, weft_pool_global fails and a later
 *    call starts it;
 *  - while the global pool cannot start, every entry point that needs it returns that
 *    error ("an error starting the global pool") and runs nothing of the caller's. */
#include "capture_stderr.h"
#include "check.h"
#include "inject.h"

#include <weft.h>
#include "topology_internal.h" /* weft__topology_load_shared */

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

/* The pool's hooks: every worker that started runs on_start and on_exit once, even
 * when the creation fails after it started. */
typedef struct hook_counts {
    _Atomic int starts, exits;
} hook_counts;

static void count_start(void *ctx, unsigned i)
{
    (void)i;
    atomic_fetch_add(&((hook_counts *)ctx)->starts, 1);
}

static void count_exit(void *ctx, unsigned i)
{
    (void)i;
    atomic_fetch_add(&((hook_counts *)ctx)->exits, 1);
}

static void pool_sweep(bool sticky)
{
    long live0 = inject_live();
    long k = 1;
    for (;; k++) {
        hook_counts hc = {0, 0};
        weft_pool_config cfg = WEFT_POOL_CONFIG_INIT;
        cfg.num_threads = 4;
        cfg.pin = WEFT_PIN_NONE;
        cfg.ctx = &hc;
        cfg.on_start = count_start;
        cfg.on_exit = count_exit;
        weft_pool *p = NULL;
        inject_arm(INJECT_THREAD, k, sticky);
        int rc = weft_pool_create(&cfg, &p);
        long fired = inject_disarm(INJECT_THREAD);
        if (fired == 0) {
            CHECK(rc == 0, "create: %s", weft_strerror(rc));
            CHECK(weft_pool_num_threads(p) == 4);
            CHECK(weft_pool_destroy(p) == 0);
            CHECK(atomic_load(&hc.starts) == 4 && atomic_load(&hc.exits) == 4, "hooks: %d starts, %d exits",
                  atomic_load(&hc.starts), atomic_load(&hc.exits));
            break;
        }
        CHECK(rc == -EAGAIN, "k=%ld: create: %s", k, weft_strerror(rc));
        CHECK(p == NULL);
        CHECK(atomic_load(&hc.starts) == k - 1 && atomic_load(&hc.exits) == k - 1,
              "k=%ld: the %ld started workers ran %d on_start, %d on_exit", k, k - 1, atomic_load(&hc.starts),
              atomic_load(&hc.exits));
        CHECK(inject_live() == live0, "k=%ld: a failed create leaks %ld allocations", k, inject_live() - live0);
    }
    CHECK(k == 5, "4 workers, 4 thread starts, not %ld", k - 1);
    CHECK(inject_live() == live0);
}

static void *nothing(void *arg) { return arg; }

static void thread_spawn_fails(void)
{
    long live0 = inject_live();
    weft_thread *t = (weft_thread *)&live0; /* must stay untouched */
    inject_arm(INJECT_THREAD, 1, false);
    CHECK(weft_thread_spawn(NULL, nothing, NULL, &t) == -EAGAIN);
    CHECK(inject_disarm(INJECT_THREAD) == 1);
    CHECK(t == (weft_thread *)&live0);
    CHECK(inject_live() == live0);
    CHECK(weft_thread_spawn(NULL, nothing, NULL, &t) == 0 && weft_thread_join(t, NULL) == 0);
}

typedef struct global_start {
    long k;
    bool sticky;
    int rc;
} global_start;

static void global_start_failing(void *p)
{
    global_start *g = p;
    weft_pool *pool = NULL;
    inject_arm(INJECT_THREAD, g->k, g->sticky);
    g->rc = weft_pool_global(&pool);
    inject_disarm(INJECT_THREAD);
}

/* Run weft_pool_global with the k-th thread start failing; return its error and how
 * many lines it wrote on stderr (in `text`). */
static int global_with_failure(long k, bool sticky, char *text, size_t cap, int *lines)
{
    global_start g = {k, sticky, 0};
    CHECK(test_capture_stderr(global_start_failing, &g, text, cap));
    *lines = 0;
    for (const char *c = text; *c; c++)
        *lines += *c == '\n';
    fputs(text, stderr); /* keep it visible in the test log */
    return g.rc;
}

static _Atomic int ran; /* calls of the callbacks below */
static void count_v(void *a)
{
    (void)a;
    ran++;
}
static void count_ctx(void *a, bool migrated)
{
    (void)a;
    (void)migrated;
    ran++;
}
static void *count_task(void *a)
{
    ran++;
    return a;
}
static int count_range(void *c, size_t b, size_t e)
{
    (void)c;
    (void)b;
    (void)e;
    ran++;
    return 0;
}
static int count_range2d(void *c, size_t r0, size_t r1, size_t c0, size_t c1)
{
    (void)c;
    (void)r0;
    (void)r1;
    (void)c0;
    (void)c1;
    ran++;
    return 0;
}
static int count_fold(void *c, size_t b, size_t e, void *acc)
{
    (void)c;
    (void)b;
    (void)e;
    (void)acc;
    ran++;
    return 0;
}
static void no_combine(void *c, void *acc, const void *other)
{
    (void)c;
    (void)acc;
    (void)other;
}
static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

enum { BIG_SORT = 70000 }; /* above every sort's serial cut-off (the pool is needed) */
static uint32_t keys32[BIG_SORT];
static uint64_t keys64[BIG_SORT];

/* No worker thread can start, so the global pool cannot: each entry point that needs
 * it (called from outside every pool, with work big enough not to run inline) returns
 * -EAGAIN, the error of starting it, and calls none of the caller's functions. */
static void global_unavailable(void)
{
    long live0 = inject_live();
    for (size_t i = 0; i < BIG_SORT; i++) {
        keys32[i] = (uint32_t)(i * 2654435761u);
        keys64[i] = keys32[i];
    }
    weft_task *t = (weft_task *)&live0; /* must stay untouched */
    weft_scope s;
    weft_worker_stats st;
    long acc = 0, id = 0;
    inject_arm(INJECT_THREAD, 1, true);
    CHECK(weft_pool_global(&(weft_pool *){NULL}) == -EAGAIN);
    CHECK(weft_pool_num_threads(NULL) == -EAGAIN);
    CHECK(weft_pool_stats(NULL, 0, &st) == -EAGAIN);
    CHECK(weft_join(count_v, NULL, count_v, NULL) == -EAGAIN);
    CHECK(weft_join_context(count_ctx, NULL, count_ctx, NULL) == -EAGAIN);
    CHECK(weft_pool_run(NULL, count_v, NULL) == -EAGAIN);
    CHECK(weft_isolate(count_v, NULL) == -EAGAIN);
    CHECK(weft_spawn(NULL, count_task, NULL, &t) == -EAGAIN);
    CHECK(weft_spawn(NULL, count_task, NULL, NULL) == -EAGAIN);
    CHECK(weft_spawn_copy(NULL, count_task, &live0, sizeof live0, &t) == -EAGAIN);
    CHECK(t == (weft_task *)&live0, "*out written on error");
    CHECK(weft_scope_init(&s, NULL) == -EAGAIN);
    CHECK(weft_par_for(0, 100, 1, count_range, NULL) == -EAGAIN);
    CHECK(weft_par_for_2d(10, 10, 1, 1, count_range2d, NULL) == -EAGAIN);
    CHECK(weft_par_reduce(0, 100, 1, &id, count_fold, no_combine, NULL, &acc, sizeof acc) == -EAGAIN);
    CHECK(weft_par_sort(keys32, BIG_SORT, sizeof keys32[0], cmp_u32) == -EAGAIN);
    CHECK(weft_par_sort_stable(keys32, BIG_SORT, sizeof keys32[0], cmp_u32) == -EAGAIN);
    CHECK(weft_par_sort_u32(keys32, BIG_SORT) == -EAGAIN);
    CHECK(weft_par_sort_u64(keys64, BIG_SORT) == -EAGAIN);
    CHECK(inject_disarm(INJECT_THREAD) > 0);
    CHECK(ran == 0, "%d callbacks ran", (int)ran);
    CHECK(inject_live() == live0, "%ld allocations leaked", inject_live() - live0);
}

static void global_fallback(void)
{
    char text[4096];
    int lines;
    CHECK(setenv("WEFT_NUM_THREADS", "4", 1) == 0);
    /* not even one worker: the error, no fallback, no warning */
    int rc = global_with_failure(1, true, text, sizeof text, &lines);
    CHECK(rc == -EAGAIN && lines == 0, "rc %s, %d lines", weft_strerror(rc), lines);
    /* 2 of 4 start, then the retry with 2 cannot start any: the error, one warning */
    rc = global_with_failure(3, true, text, sizeof text, &lines);
    CHECK(rc == -EAGAIN && lines == 1, "rc %s, %d lines", weft_strerror(rc), lines);
    /* 2 of 4 start, the retry with 2 works: one warning, a pool of 2 */
    rc = global_with_failure(3, false, text, sizeof text, &lines);
    CHECK(rc == 0 && lines == 1, "rc %s, %d lines", weft_strerror(rc), lines);
    CHECK(strstr(text, "global pool") && strstr(text, "2 of 4"), "warning: %s", text);
    CHECK(weft_pool_num_threads(NULL) == 2);
    weft_task *t;
    void *r;
    CHECK(weft_spawn(NULL, nothing, (void *)7, &t) == 0 && weft_task_join(t, &r) == 0 && r == (void *)7);
}

int main(void)
{
    /* The machine's description is read once per process and kept: read it before
     * the allocations are counted. */
    CHECK(weft__topology_load_shared(), "the machine is described");
    pool_sweep(false);
    pool_sweep(true);
    thread_spawn_fails();
    global_unavailable();
    global_fallback();
    puts("thread start failures: pool create, thread spawn, global pool unavailable, global pool fallback: ok");
    return 0;
}
