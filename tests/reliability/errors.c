/* errors.c: a task failing in the middle of nested work. A task deep inside nested
 * scopes / joins / loops returns an error: the status reaches the outermost wait, no
 * body of that work is still running when the wait returns (a counter of running
 * bodies is 0 then), every spawned scope task still ran (the contract: they always
 * run), and the pool does clean work afterwards. From outside the pool and inside it. */
#include "check.h"
#include "inject.h"

#include <weft.h>

#include <stdatomic.h>

static _Atomic long running;  /* bodies running now */
static _Atomic long spawned;  /* scope tasks queued */
static _Atomic long finished; /* scope tasks that ran */

static void body_enter(void) { atomic_fetch_add_explicit(&running, 1, memory_order_relaxed); }
static void body_leave(void) { atomic_fetch_add_explicit(&running, -1, memory_order_release); }
static long running_now(void) { return atomic_load_explicit(&running, memory_order_acquire); }

static void busy(unsigned n)
{
    for (volatile unsigned i = 0; i < n; i++)
        ;
}

/* ---------------------------------------------------------------- scopes */

enum { FAIL_STATUS = 42 };

typedef struct leaf_arg {
    int fail; /* this leaf returns FAIL_STATUS */
} leaf_arg;

static int leaf(weft_scope *s, void *arg)
{
    body_enter();
    int rc = 0;
    if (!weft_scope_is_cancelled(s))
        busy(20000);
    if (((leaf_arg *)arg)->fail)
        rc = FAIL_STATUS;
    atomic_fetch_add_explicit(&finished, 1, memory_order_relaxed);
    body_leave();
    return rc;
}

static leaf_arg ok_leaf = {0}, bad_leaf = {1};

/* a middle task: an inner scope of 6 leaves (one fails if arg says so), waited inside */
static int middle(weft_scope *outer, void *arg)
{
    (void)outer;
    body_enter();
    weft_scope inner;
    CHECK(weft_scope_init(&inner, NULL) == 0);
    for (int i = 0; i < 6; i++) {
        CHECK(weft_scope_spawn(&inner, leaf, arg && i == 3 ? &bad_leaf : &ok_leaf) == 0);
        atomic_fetch_add_explicit(&spawned, 1, memory_order_relaxed);
    }
    int rc = weft_scope_wait(&inner);
    CHECK(rc == (arg ? FAIL_STATUS : 0), "inner wait: %d", rc);
    atomic_fetch_add_explicit(&finished, 1, memory_order_relaxed);
    body_leave();
    return rc;
}

static void scope_tree(void *arg)
{
    (void)arg;
    atomic_store(&spawned, 0);
    atomic_store(&finished, 0);
    weft_scope s;
    CHECK(weft_scope_init(&s, NULL) == 0);
    for (int i = 0; i < 8; i++) {
        CHECK(weft_scope_spawn(&s, middle, i == 5 ? (void *)1 : NULL) == 0);
        atomic_fetch_add_explicit(&spawned, 1, memory_order_relaxed);
    }
    int rc = weft_scope_wait(&s);
    CHECK(running_now() == 0, "%ld bodies still running after the scope wait", running_now());
    CHECK(rc == FAIL_STATUS, "outer wait: %d", rc);
    CHECK(atomic_load(&finished) == atomic_load(&spawned), "%ld of %ld scope tasks ran", finished, spawned);
}

/* ---------------------------------------------------------------- loops */

static int inner_body(void *ctx, size_t b, size_t e)
{
    body_enter();
    busy(200 * (unsigned)(e - b));
    int rc = 0;
    if (ctx && b <= 300 && 300 < e)
        rc = FAIL_STATUS + 1;
    body_leave();
    return rc;
}

static int outer_body(void *ctx, size_t b, size_t e)
{
    (void)ctx;
    body_enter();
    int rc = 0;
    for (size_t i = b; i < e && rc == 0; i++)
        rc = weft_par_for(0, 1000, 16, inner_body, i == 37 ? (void *)1 : NULL);
    body_leave();
    return rc;
}

static int fold(void *ctx, size_t b, size_t e, void *acc)
{
    (void)ctx;
    body_enter();
    busy(100 * (unsigned)(e - b));
    *(long *)acc += (long)(e - b);
    int rc = b <= 5000 && 5000 < e ? FAIL_STATUS + 2 : 0;
    body_leave();
    return rc;
}

static void combine(void *ctx, void *acc, const void *other)
{
    (void)ctx;
    *(long *)acc += *(const long *)other;
}

static void loops(void *arg)
{
    (void)arg;
    int rc = weft_par_for(0, 64, 1, outer_body, NULL);
    CHECK(running_now() == 0, "%ld bodies still running after par_for", running_now());
    CHECK(rc == FAIL_STATUS + 1, "nested par_for: %d", rc);

    long id = 0, out = 0;
    rc = weft_par_reduce(0, 20000, 64, &id, fold, combine, NULL, &out, sizeof out);
    CHECK(running_now() == 0 && rc == FAIL_STATUS + 2, "par_reduce: %d, %ld running", rc, running_now());
    rc = weft_par_reduce_deterministic(0, 20000, 64, &id, fold, combine, NULL, &out, sizeof out);
    CHECK(running_now() == 0 && rc == FAIL_STATUS + 2, "deterministic: %d, %ld running", rc, running_now());

    /* clean work afterwards */
    rc = weft_par_reduce(0, 4000, 64, &id, fold, combine, NULL, &out, sizeof out);
    CHECK(rc == 0 && out == 4000, "clean reduce after errors: %d %ld", rc, out);
}

/* a spawned task whose scope failed: the handle still joins */
static void *spawned_scope(void *arg)
{
    scope_tree(arg);
    return (void *)1;
}

int main(void)
{
    weft_pool_config cfg = WEFT_POOL_CONFIG_INIT;
    cfg.num_threads = 3;
    cfg.pin = WEFT_PIN_NONE;
    weft_pool *pool;
    CHECK(weft_pool_create(&cfg, &pool) == 0);
    long rounds = stress_iters(40);
    for (long r = 0; r < rounds; r++) {
        scope_tree(NULL);          /* from outside: global pool */
        loops(NULL);
        CHECK(weft_pool_run(pool, scope_tree, NULL) == 0); /* inside a pool */
        CHECK(weft_pool_run(pool, loops, NULL) == 0);
        weft_task *t;
        void *res;
        CHECK(weft_spawn(pool, spawned_scope, NULL, &t) == 0 && weft_task_join(t, &res) == 0 && res);
    }
    CHECK(weft_pool_destroy(pool) == 0);
    printf("errors: %ld rounds of failing nested scopes / par_for / par_reduce: ok\n", rounds);
    return 0;
}
