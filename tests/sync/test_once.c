/* Criterion suite for weft_once: the semantics and the errors of every call
 * (races on fresh onces are in stress_once.c). */
#include <criterion/criterion.h>
#include <pthread.h>
#include <weft/sync.h>

struct once_ctx {
    _Atomic int runs;
    int value; /* plain: written by fn, read by callers after weft_once_call */
};

static void once_fn(void *p)
{
    struct once_ctx *c = p;
    atomic_fetch_add_explicit(&c->runs, 1, memory_order_relaxed);
    c->value = 42;
}

Test(once, runs_exactly_once)
{
    weft_once o = WEFT_ONCE_INIT;
    struct once_ctx c = {0, 0};
    cr_assert_not(weft_once_is_done(&o));
    cr_assert_eq(weft_once_call(&o, once_fn, &c), 0);
    cr_assert(weft_once_is_done(&o));
    cr_assert_eq(c.value, 42);
    cr_assert_eq(weft_once_call(&o, once_fn, &c), 0);
    cr_assert_eq(weft_once_call_slow_(&o, once_fn, &c), 0, "the slow path also sees DONE");
    cr_assert_eq(atomic_load(&c.runs), 1);
}

Test(once, errors)
{
    weft_once o = WEFT_ONCE_INIT;
    struct once_ctx c = {0, 0};
    cr_assert_eq(weft_once_call(NULL, once_fn, &c), -EINVAL);
    cr_assert_eq(weft_once_call(&o, NULL, &c), -EINVAL);
    cr_assert_not(weft_once_is_done(&o), "a refused call must not complete the once");
    cr_assert_eq(weft_once_call(&o, once_fn, &c), 0);
    cr_assert_eq(weft_once_call(&o, NULL, &c), 0, "done: fn is not needed any more");
    weft_once bad = {7}; /* not a weft_once state */
    cr_assert_eq(weft_once_call(&bad, once_fn, &c), -EINVAL);
    cr_assert_eq(atomic_load(&c.runs), 1);
}

static void once_null_arg(void *p)
{
    cr_assert_null(p);
}

Test(once, null_arg_is_passed_through)
{
    weft_once o = WEFT_ONCE_INIT;
    cr_assert_eq(weft_once_call(&o, once_null_arg, NULL), 0);
    cr_assert(weft_once_is_done(&o));
}

struct slow_ctx {
    struct once_ctx c;
    _Atomic int started;
};

static void once_slow_fn(void *p)
{
    struct slow_ctx *s = p;
    atomic_store_explicit(&s->started, 1, memory_order_relaxed);
    struct timespec ts = {0, 50 * 1000 * 1000}; /* long enough for callers to sleep */
    nanosleep(&ts, NULL);
    once_fn(&s->c);
}

struct once_caller {
    weft_once *o;
    struct slow_ctx *s;
    int rc, seen;
};

static void *once_caller_thread(void *p)
{
    struct once_caller *c = p;
    c->rc = weft_once_call(c->o, once_slow_fn, c->s);
    c->seen = c->s->c.value;
    return NULL;
}

Test(once, callers_wait_for_the_running_fn)
{
    weft_once o = WEFT_ONCE_INIT;
    struct slow_ctx s = {{0, 0}, 0};
    struct once_caller c[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        c[i] = (struct once_caller){&o, &s, -1, 0};
        cr_assert_eq(pthread_create(&t[i], NULL, once_caller_thread, &c[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(pthread_join(t[i], NULL), 0);
        cr_assert_eq(c[i].rc, 0);
        cr_assert_eq(c[i].seen, 42, "every caller returns after fn has run");
    }
    cr_assert_eq(atomic_load(&s.c.runs), 1);
    cr_assert(weft_once_is_done(&o));
}

/* Found by a review of docs/api.md against the code: weft_once_is_done(NULL)
 * dereferenced NULL, against the convention "NULL never crashes". */
Test(once, is_done_null_is_false)
{
    cr_assert_not(weft_once_is_done(NULL));
}
