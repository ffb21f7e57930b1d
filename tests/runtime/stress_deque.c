/* stress_deque: the work-stealing deque under real concurrency (standalone, so it
 * also runs under ThreadSanitizer). Invariant checked: every item pushed is executed
 * exactly once, by the owner's pop or by one thief's steal, with the contents the
 * owner wrote before pushing it.
 *
 * Each item is a slot of an array: a plain `payload` the owner writes before pushing
 * and the executor checks, a plain `executor` the executor writes (two executions on
 * two threads would be a data race TSan reports, besides the count), and an atomic
 * run count that must end at exactly 1.
 *
 * The deque is a split deque (runtime/deque.md): pushed items are private until a
 * thief's failed steal raises a split request that the owner answers at its next
 * push or pop, or until the owner publishes them. Thieves here raise requests all the
 * time, so the owner shares, takes back (pop into the public part) and races thieves
 * for the last public item over and over.
 *
 * Scenarios:
 *   1. stream: the owner pushes a random mix of single items and bursts (bursts force
 *      the buffer to grow while thieves read it), some public at once
 *      (weft__deque_push_public, as a spawn), publishes now and then and pops
 *      some, while 3, 5 or 7 thieves steal; at the end the owner drains its deque.
 *   2. last items: the owner pushes 1-3 items (published or not) and pops them at
 *      once, many times, while thieves steal: each time exactly one of them gets
 *      each item (pop's CAS vs steal's for the last one, pop's fence vs steal's for
 *      the others).
 *   3. batches: the owner pushes 2-64 items (a quarter of the batches each public at
 *      once, as a spawner's), publishes half the time, and pops them
 *      all while hot thieves steal: pops take back half of a public part that
 *      thieves are emptying (the take-back-fewer retry, the last-item CAS), and the
 *      split requests make pops share private items in between.
 *   4. answers: the owner pushes one item privately and then only pushes and pops
 *      fillers: the item must still get executed (the owner answers split requests;
 *      it may pop the item back itself when a thief took a shared filler instead).
 *   5. deep: the owner spawns 32-512 items (public at once) and pops them all
 *      straight away: its take-backs cut deep into public parts that thieves taking
 *      up to WEFT_DEQUE_STEAL_MAX items at a time are emptying (the bound on a
 *      take-back, and the claim of the last items by CAS, with items moved).
 *
 * Thieves take one item or several per steal, at random (weft__deque_steal_some).
 * The program is built twice: as it is, and as runtime_stress_deque_paused, which
 * compiles runtime/deque.c with WEFT_DEQUE_TEST_PAUSE so that a thief pauses at
 * random between reading top and split and its CAS (weft__deque_test_pause below):
 * the owner then takes back and pops many times while a thief holds an old split,
 * the case a take-back's bound is for; and the owner pauses between its first look at
 * top and its take-back, so that thieves move top in between. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <weft/sync.h>

#include "check.h"
#include "test_rng.h"
#include "deque_internal.h"

#define MAX_THIEVES 7

typedef struct item {
    uint64_t payload;        /* plain: written by the owner before push */
    int executor;            /* plain: written by whoever runs the item (0 = owner) */
    _Atomic uint32_t runs;   /* how many times the item was executed */
} item;

typedef struct shared {
    weft_deque deque;
    item *items;
    size_t n_items;
    bool hot_thieves;         /* thieves spin on EMPTY instead of yielding */
    _Atomic bool done;        /* owner: no more pushes and the deque is empty */
    _Atomic size_t executed;  /* total executions */
    _Atomic size_t stolen;    /* executions by thieves */
    pthread_barrier_t start;
} shared;

typedef struct thief_arg {
    shared *s;
    int id; /* 1..MAX_THIEVES */
} thief_arg;

static uint64_t expected_payload(size_t i) { return (uint64_t)i * 0x9e3779b97f4a7c15u + 1; }

/* A filler the owner of scenario 4 pushes and pops to give the deque chances to
 * answer split requests; executing it does nothing (it is pushed many times). */
static item filler;

static void execute(shared *s, item *it, int who)
{
    if (it == &filler)
        return;
    size_t i = (size_t)(it - s->items);
    CHECK(i < s->n_items, "item pointer %p outside the array", (void *)it);
    /* Plain read of what the owner wrote before pushing: ordered by the release store
     * of split that shared it and steal's acquire load (or program order for the
     * owner). */
    CHECK(it->payload == expected_payload(i), "item %zu: payload %llu, expected %llu", i,
          (unsigned long long)it->payload, (unsigned long long)expected_payload(i));
    it->executor = who;
    uint32_t before = atomic_fetch_add_explicit(&it->runs, 1, memory_order_relaxed);
    CHECK(before == 0, "item %zu executed twice (now by %d)", i, who);
    atomic_fetch_add_explicit(&s->executed, 1, memory_order_relaxed);
    if (who != 0)
        atomic_fetch_add_explicit(&s->stolen, 1, memory_order_relaxed);
}

static void *thief_main(void *p)
{
    thief_arg *a = p;
    shared *s = a->s;
    pthread_barrier_wait(&s->start);
    weft_backoff bo = WEFT_BACKOFF_INIT;
    uint64_t rng = 0x2545f4914f6cdd1du * (uint64_t)a->id;
    for (;;) {
        void *out[WEFT_DEQUE_STEAL_MAX] = {NULL};
        size_t n = 0;
        /* Steals of one and of several items mixed: a pool's workers take up to
         * WEFT_DEQUE_STEAL_MAX (fewer when their own ring is short), caller slots one. */
        static const size_t maxes[] = {1, 2, 3, 8, WEFT_DEQUE_STEAL_MAX};
        size_t max = maxes[test_next_rand(&rng) % (sizeof maxes / sizeof maxes[0])];
        weft_steal_result r = weft__deque_steal_some(&s->deque, out, max, &n, NULL);
        if (r == WEFT_STEAL_SUCCESS) {
            CHECK(n >= 1 && n <= max, "steal of %zu items with max %zu", n, max);
            for (size_t i = 0; i < n; i++)
                execute(s, out[i], a->id);
            weft_backoff_reset(&bo);
        } else if (r == WEFT_STEAL_RETRY) {
            weft_backoff_spin(&bo);
        } else {
            /* Acquire: pairs with the owner's release store of done; after it the
             * deque is empty for good, so an EMPTY seen after done is final. */
            if (atomic_load_explicit(&s->done, memory_order_acquire)) {
                CHECK(weft__deque_steal(&s->deque, out) == WEFT_STEAL_EMPTY, "item after done");
                break;
            }
            /* Keep polling: the owner will push more. In the last-item scenario,
             * spin without yielding, so that a thief is often running at the very
             * moment the owner pops; in the stream, yield now and then so the owner
             * (sharing a few cores with up to 7 thieves) makes progress. */
            if (s->hot_thieves)
                weft_cpu_relax();
            else if (weft_backoff_is_completed(&bo))
                weft_backoff_reset(&bo);
            else
                weft_backoff_snooze(&bo);
        }
    }
    return NULL;
}

#ifdef WEFT_DEQUE_TEST_PAUSE
/* Called by a thief between reading the public part and its CAS, and by the owner
 * before a take-back (runtime/deque.c): now and then spin a few microseconds, more
 * rarely yield, so the other side runs on. */
void weft__deque_test_pause(void)
{
    static _Thread_local uint64_t rng;
    if (rng == 0)
        rng = (uint64_t)(uintptr_t)&rng | 1;
    uint64_t r = test_next_rand(&rng);
    if (r % 256 == 0)
        sched_yield();
    else if (r % 16 == 0)
        for (uint64_t spin = 0; spin < (r >> 32) % 2048; spin++)
            weft_cpu_relax();
}
#endif

static void push_item(shared *s, size_t i)
{
    s->items[i].payload = expected_payload(i);
    int rc = weft__deque_push(&s->deque, &s->items[i]);
    CHECK(rc == 0, "push: %d", rc);
}

static void pop_and_run(shared *s)
{
    item *it = weft__deque_pop(&s->deque);
    if (it)
        execute(s, it, 0);
    else { /* NULL means empty, and then no thief can take anything: len is exact */
        size_t left = weft__deque_len(&s->deque);
        CHECK(left == 0, "pop gave NULL with %zu items left", left);
    }
}

/* Owner of scenario 1: pushes all items in singles and bursts, popping some. */
static void owner_stream(shared *s, uint64_t seed)
{
    size_t next = 0;
    while (next < s->n_items) {
        uint64_t r = test_next_rand(&seed);
        if (r % 64 == 0) {
            /* A burst: up to 4096 items, enough to make a fresh deque grow 8 times. */
            size_t burst = 1 + (size_t)(r >> 8) % 4096;
            for (size_t k = 0; k < burst && next < s->n_items; k++)
                push_item(s, next++);
        } else if (r % 3 != 0) {
            if (r % 7 == 0) { /* a spawn's push: public at once, no look at top */
                s->items[next].payload = expected_payload(next);
                if (!weft__deque_push_public(&s->deque, &s->items[next]))
                    push_item(s, next); /* no room: the general push grows the ring */
                weft__deque_publish(&s->deque);
                next++;
            } else
                push_item(s, next++);
            if (r % 5 == 0)
                weft__deque_publish(&s->deque);
        } else {
            pop_and_run(s);
        }
    }
}

/* Owner of scenario 2: push 1 to 3 items, pause a random moment (a window for the
 * thieves), pop until empty; so pop races the thieves for the last items. With 2 or
 * 3 items it also races two steals in a row, the case pop's seq_cst fence is for. */
static void owner_last_items(shared *s, uint64_t seed)
{
    size_t i = 0;
    while (i < s->n_items) {
        uint64_t r = test_next_rand(&seed);
        size_t k = 1 + (size_t)(r >> 32) % 3;
        bool spawns = ((r >> 21) & 3) == 0; /* a spawner's pushes: each public at once */
        for (size_t j = 0; j < k && i < s->n_items; j++, i++) {
            s->items[i].payload = expected_payload(i);
            if (!spawns || !weft__deque_push_public(&s->deque, &s->items[i]))
                push_item(s, i);
        }
        if ((r >> 20) & 1)
            weft__deque_publish(&s->deque);
        for (uint64_t spin = 0; spin < r % 32; spin++)
            weft_cpu_relax();
        while (weft__deque_len(&s->deque) > 0)
            pop_and_run(s);
        CHECK(weft__deque_pop(&s->deque) == NULL, "item left after popping all");
    }
}

/* Owner of scenario 3: batches of 2-64 items (a spawner's, public at once, or plain),
 * published half the time, then popped
 * all while the thieves steal from the other end. */
static void owner_batches(shared *s, uint64_t seed)
{
    size_t i = 0;
    while (i < s->n_items) {
        uint64_t r = test_next_rand(&seed);
        size_t k = 2 + (size_t)(r >> 32) % 63;
        for (size_t j = 0; j < k && i < s->n_items; j++)
            push_item(s, i++);
        if ((r >> 20) & 1)
            weft__deque_publish(&s->deque);
        for (uint64_t spin = 0; spin < r % 64; spin++)
            weft_cpu_relax();
        /* Pause between pops, and now and then yield in mid-batch: with more
         * thieves than cores, this is what lets them steal while the pops run. */
        size_t pops = 0, yield_at = (r & 15) == 0 ? (size_t)(r >> 8) % k : SIZE_MAX;
        while (weft__deque_len(&s->deque) > 0) {
            if (pops++ == yield_at)
                sched_yield();
            for (uint64_t spin = 0; spin < (r >> 40) % 16; spin++)
                weft_cpu_relax();
            pop_and_run(s);
        }
        CHECK(weft__deque_pop(&s->deque) == NULL, "item left after popping all");
    }
}

/* Owner of scenario 4: push one item privately (never published), then only push and
 * pop fillers until the item has been executed: it must leave the private part
 * because the thieves' split requests are answered at push and pop. Without that
 * answer it would stay private forever and the deadline check fires. */
static void owner_answers_requests(shared *s, uint64_t seed)
{
    (void)seed;
    for (size_t i = 0; i < s->n_items; i++) {
        push_item(s, i);
        uint64_t deadline = weft_time_now_ns() + 20000000000ull; /* 20 s: never on time */
        /* Relaxed: a count; the CHECKs at the end are ordered by pthread_join. */
        while (atomic_load_explicit(&s->items[i].runs, memory_order_relaxed) == 0) {
            CHECK(weft_time_now_ns() < deadline, "item %zu never left the private part", i);
            CHECK(weft__deque_push(&s->deque, &filler) == 0, "push filler");
            item *it = weft__deque_pop(&s->deque);
            if (it)
                execute(s, it, 0);
            weft_cpu_relax();
        }
    }
}

/* Owner of scenario 5: spawn 32-512 items, each public at once, then pop them all
 * (a pause between pops now and then, for the thieves). */
static void owner_deep(shared *s, uint64_t seed)
{
    size_t i = 0;
    while (i < s->n_items) {
        uint64_t r = test_next_rand(&seed);
        size_t k = 32 + (size_t)(r >> 32) % 481;
        for (size_t j = 0; j < k && i < s->n_items; j++, i++) {
            s->items[i].payload = expected_payload(i);
            if (!weft__deque_push_public(&s->deque, &s->items[i])) {
                push_item(s, i); /* no room: the general push grows the ring */
                weft__deque_publish(&s->deque);
            }
        }
        while (weft__deque_len(&s->deque) > 0) {
            uint64_t p = test_next_rand(&seed);
            if (p % 8 == 0)
                for (uint64_t spin = 0; spin < (p >> 40) % 64; spin++)
                    weft_cpu_relax();
            pop_and_run(s);
        }
        CHECK(weft__deque_pop(&s->deque) == NULL, "item left after popping all");
    }
}

enum scenario { STREAM, LAST_ITEMS, BATCHES, ANSWERS, DEEP };
static const char *const scenario_names[] = {"stream", "last-item", "batches", "answers", "deep"};

static void run_round(int n_thieves, size_t n_items, enum scenario sc, uint64_t seed)
{
    /* aligned_alloc, not calloc: the deque inside is cache-line aligned (128). */
    shared *s = aligned_alloc(_Alignof(shared), sizeof *s);
    CHECK(s != NULL, "out of memory");
    memset(s, 0, sizeof *s);
    s->items = calloc(n_items, sizeof *s->items);
    CHECK(s->items != NULL, "out of memory");
    s->n_items = n_items;
    s->hot_thieves = sc != STREAM;
    CHECK(weft__deque_init(&s->deque, 16) == 0, "deque init");
    CHECK(pthread_barrier_init(&s->start, NULL, (unsigned)n_thieves + 1) == 0, "barrier init");

    uint64_t t0 = weft_time_now_ns();
    pthread_t tids[MAX_THIEVES];
    thief_arg args[MAX_THIEVES];
    for (int t = 0; t < n_thieves; t++) {
        args[t] = (thief_arg){s, t + 1};
        CHECK(pthread_create(&tids[t], NULL, thief_main, &args[t]) == 0, "pthread_create");
    }
    pthread_barrier_wait(&s->start);
    if (sc == LAST_ITEMS)
        owner_last_items(s, seed);
    else if (sc == BATCHES)
        owner_batches(s, seed);
    else if (sc == ANSWERS)
        owner_answers_requests(s, seed);
    else if (sc == DEEP)
        owner_deep(s, seed);
    else
        owner_stream(s, seed);
    /* Drain what the thieves left; then the deque stays empty. */
    while (weft__deque_len(&s->deque) > 0)
        pop_and_run(s);
    CHECK(weft__deque_pop(&s->deque) == NULL, "item left after draining");
    /* Release: pairs with the thieves' acquire load of done. */
    atomic_store_explicit(&s->done, true, memory_order_release);
    for (int t = 0; t < n_thieves; t++)
        CHECK(pthread_join(tids[t], NULL) == 0, "pthread_join");

    /* Relaxed loads: every thread has been joined. */
    size_t executed = atomic_load_explicit(&s->executed, memory_order_relaxed);
    CHECK(executed == n_items, "executed %zu of %zu items", executed, n_items);
    for (size_t i = 0; i < n_items; i++) {
        uint32_t runs = atomic_load_explicit(&s->items[i].runs, memory_order_relaxed);
        CHECK(runs == 1, "item %zu ran %u times", i, runs);
        CHECK(s->items[i].executor >= 0 && s->items[i].executor <= n_thieves, "item %zu: executor %d", i,
              s->items[i].executor);
    }
    size_t capacity = atomic_load_explicit(&s->deque.buffer, memory_order_relaxed)->mask + 1;
    printf("%-9s thieves=%d items=%zu stolen=%zu final_capacity=%zu (%.2f s)\n",
           scenario_names[sc], n_thieves, n_items,
           atomic_load_explicit(&s->stolen, memory_order_relaxed), capacity,
           (double)(weft_time_now_ns() - t0) / 1e9);
    weft__deque_destroy(&s->deque);
    pthread_barrier_destroy(&s->start);
    free(s->items);
    free(s);
}

int main(void)
{
    uint64_t t0 = weft_time_now_ns();
    static const int thieves[] = {3, 5, 7};
    for (size_t r = 0; r < sizeof thieves / sizeof thieves[0]; r++)
        run_round(thieves[r], (size_t)stress_iters(1500000), STREAM, 0x1234567u + r);
    for (size_t r = 0; r < sizeof thieves / sizeof thieves[0]; r++)
        run_round(thieves[r], (size_t)stress_iters(150000), LAST_ITEMS, 0x7654321u + r);
    for (size_t r = 0; r < sizeof thieves / sizeof thieves[0]; r++)
        run_round(thieves[r], (size_t)stress_iters(30000), BATCHES, 0x2468ace1u + r);
    for (size_t r = 0; r < sizeof thieves / sizeof thieves[0]; r++)
        run_round(thieves[r], (size_t)stress_iters(1000000), DEEP, 0x13579bdfu + r);
    run_round(1, (size_t)stress_iters(10000), ANSWERS, 0);
    run_round(2, (size_t)stress_iters(5000), ANSWERS, 0);
    printf("stress_deque: ok in %.2f s\n", (double)(weft_time_now_ns() - t0) / 1e9);
    return 0;
}
