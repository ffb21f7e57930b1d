/* stress_thread.c: thread churn for runtime/thread.c, under TSan and ASan/LSan too.
 *
 * Several driver threads at once spawn many short-lived children and end each one a
 * different way: join, join_timeout, a try_join loop, join from another thread, or
 * detach (right away, racing the child's exit, or after it has likely ended). Checks:
 * every joined child's result is its own; every detached child runs exactly once; names
 * reach the right threads; nothing leaks (LSan) and nothing races (TSan). */
#include "check.h"
#include <inttypes.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <weft/runtime.h>
#include <weft/sync.h>

#define DRIVERS 4
#define BATCH 6
#define WAYS 7

typedef struct {
    _Atomic uint64_t detached_ran; /* children that were detached and ran */
    long rounds;
} shared;

/* One child's argument; it outlives the child (freed by main at the very end). */
typedef struct {
    shared *s;
    uint64_t value;
    char name[48];   /* "" if unnamed */
    bool detached;   /* set before spawn, read by the child */
} child_arg;

static uint64_t expected_result(uint64_t value)
{
    return value * 3 + 1;
}

static void *child(void *p)
{
    child_arg *a = p;
    CHECK(strcmp(weft_thread_name(), a->name) == 0, "child sees \"%s\", not \"%s\"",
          weft_thread_name(), a->name);
    for (uint64_t i = 0; i < a->value % 3; i++)
        weft_thread_yield();
    if (a->detached) {
        /* Release: pairs with main's acquire load, so main frees *a only after this
         * child's last read of it. */
        atomic_fetch_add_explicit(&a->s->detached_ran, 1, memory_order_release);
        return NULL; /* a detached child's result goes nowhere */
    }
    return (void *)(uintptr_t)expected_result(a->value);
}

/* Joins the child handed to it (from another thread than its spawner). */
static void *joiner(void *p)
{
    weft_thread *t = p;
    void *r = NULL;
    int rc = weft_thread_join(t, &r);
    CHECK(rc == 0, "join from a third thread: %d", rc);
    return r;
}

static void check_result(void *r, const child_arg *a, const char *how)
{
    CHECK((uint64_t)(uintptr_t)r == expected_result(a->value),
          "%s: child %" PRIu64 " returned %" PRIu64, how, a->value, (uint64_t)(uintptr_t)r);
}

typedef struct {
    shared *s;
    int id;
    child_arg *args; /* rounds * BATCH */
    uint64_t detached;
} driver_arg;

static void *driver(void *p)
{
    driver_arg *d = p;
    char myname[32];
    snprintf(myname, sizeof myname, "driver-%d", d->id);
    CHECK(strcmp(weft_thread_name(), myname) == 0, "driver name \"%s\"", weft_thread_name());
    for (long round = 0; round < d->s->rounds; round++) {
        weft_thread *t[BATCH];
        child_arg *a = &d->args[round * BATCH];
        int way[BATCH];
        for (int i = 0; i < BATCH; i++) {
            a[i].s = d->s;
            a[i].value = ((uint64_t)d->id << 32) | (uint64_t)(round * BATCH + i);
            way[i] = (int)((round + i + d->id) % WAYS);
            a[i].detached = way[i] >= 5;
            weft_thread_options o = WEFT_THREAD_OPTIONS_INIT;
            a[i].name[0] = '\0';
            if (i % 2 == 0) {
                snprintf(a[i].name, sizeof a[i].name, "c%d.%ld.%d", d->id, round, i);
                o.name = a[i].name;
            }
            int rc = weft_thread_spawn(&o, child, &a[i], &t[i]);
            CHECK(rc == 0, "spawn: %d", rc);
            if (way[i] == 5) {
                /* detach at once: races the child's exit */
                CHECK(weft_thread_detach(t[i]) == 0, "detach");
                d->detached++;
            }
        }
        for (int i = 0; i < BATCH; i++) {
            void *r = NULL;
            int rc;
            switch (way[i]) {
            case 0:
                CHECK(weft_thread_join(t[i], &r) == 0, "join");
                check_result(r, &a[i], "join");
                break;
            case 1:
                rc = weft_thread_join_timeout(t[i], 0, &r);
                CHECK(rc == 0 || rc == -ETIMEDOUT, "join_timeout(0): %d", rc);
                if (rc == -ETIMEDOUT)
                    CHECK(weft_thread_join_timeout(t[i], 60ull * 1000000000u, &r) == 0, "join_timeout");
                check_result(r, &a[i], "join_timeout");
                break;
            case 2:
                while ((rc = weft_thread_try_join(t[i], &r)) == -EAGAIN)
                    weft_thread_yield();
                CHECK(rc == 0, "try_join: %d", rc);
                check_result(r, &a[i], "try_join");
                break;
            case 3:
            case 4: {
                /* handed to a joiner thread, which returns the child's result */
                weft_thread *j;
                CHECK(weft_thread_spawn(NULL, joiner, t[i], &j) == 0, "spawn joiner");
                CHECK(weft_thread_join(j, &r) == 0, "join joiner");
                check_result(r, &a[i], "joiner");
                break;
            }
            case 5:
                break; /* detached at spawn */
            case 6:
                /* detach late: the child has often ended by now */
                CHECK(weft_thread_detach(t[i]) == 0, "detach");
                d->detached++;
                break;
            }
        }
    }
    return NULL;
}

int main(void)
{
    shared s = {.rounds = stress_iters(500)};
    atomic_init(&s.detached_ran, 0);
    driver_arg d[DRIVERS];
    weft_thread *t[DRIVERS];
    for (int i = 0; i < DRIVERS; i++) {
        d[i] = (driver_arg){.s = &s, .id = i, .detached = 0};
        d[i].args = calloc((size_t)s.rounds * BATCH, sizeof(child_arg));
        CHECK(d[i].args != NULL, "out of memory");
        char name[32];
        snprintf(name, sizeof name, "driver-%d", i);
        weft_thread_options o = WEFT_THREAD_OPTIONS_INIT;
        o.name = name;
        CHECK(weft_thread_spawn(&o, driver, &d[i], &t[i]) == 0, "spawn driver");
    }
    uint64_t detached = 0;
    for (int i = 0; i < DRIVERS; i++) {
        CHECK(weft_thread_join(t[i], NULL) == 0, "join driver");
        detached += d[i].detached;
    }
    /* Detached children end on their own: wait (bounded) until each has run once. */
    uint64_t deadline = weft_deadline_after(60ull * 1000000000u);
    uint64_t ran;
    /* Acquire: pairs with each child's release increment (its reads of its arg are
     * then done, so the args may be freed). */
    while ((ran = atomic_load_explicit(&s.detached_ran, memory_order_acquire)) < detached &&
           weft_time_now_ns() < deadline)
        weft_thread_sleep(1000000);
    CHECK(ran == detached, "%" PRIu64 " of %" PRIu64 " detached children ran", ran, detached);
    for (int i = 0; i < DRIVERS; i++)
        free(d[i].args);
    printf("stress_thread: %d drivers x %ld rounds x %d children, %" PRIu64 " detached: ok\n",
           DRIVERS, s.rounds, BATCH, detached);
    return 0;
}
