/* stress_broadcast: weft_broadcast makes exactly one call on every worker, whoever
 * broadcasts and whatever the workers are doing, with many broadcasts in progress at
 * once. On pools of 1, 2, 3 and 8 workers (spinning or passive), three outside
 * threads broadcast round after round, each time from a place picked at random:
 * outside the pool, a caller slot (weft_pool_execute, which benches a worker), a
 * worker (weft_pool_run: the caller's own call inline), a worker inside weft_isolate,
 * or a broadcast whose calls broadcast again; meanwhile detached tasks walk random
 * join / spawn / scope trees, and pauses let the workers fall asleep. Checks: every
 * index of every broadcast called once, with the pool's size and on its worker's
 * thread; each call's plain write is read back by the broadcaster after the return
 * (under TSan a missing happens-before is a race); the pool ends idle. A lost
 * wake-up or a deadlock shows as a hang (ctest timeout). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <weft/runtime.h>
#include <weft/sync.h>
#include "check.h"
#include "workloads.h"

enum { MAX_WORKERS = 8, BROADCASTERS = 3 };

typedef struct record {
    _Atomic uint8_t calls[MAX_WORKERS];
    int plain[MAX_WORKERS];
    unsigned n;
    uint64_t tag;
} record;

typedef struct nested_record {
    record outer;
    record inner[MAX_WORKERS];
} nested_record;

static void record_call(void *ctx, unsigned index, unsigned n)
{
    record *r = ctx;
    CHECK(index < r->n && n == r->n, "call %u of %u on a pool of %u", index, n, r->n);
    CHECK(weft_current_worker_index() == (int)index, "call %u ran on index %d", index,
          weft_current_worker_index());
    CHECK(atomic_fetch_add_explicit(&r->calls[index], 1, memory_order_relaxed) == 0,
          "worker %u called twice", index);
    r->plain[index] = (int)(r->tag % 1000) + (int)index;
}

static void record_init(record *r, unsigned n, uint64_t tag)
{
    memset(r, 0, sizeof *r);
    r->n = n;
    r->tag = tag;
}

static void record_check(record *r)
{
    for (unsigned i = 0; i < r->n; i++) {
        CHECK(atomic_load_explicit(&r->calls[i], memory_order_relaxed) == 1, "worker %u made %u calls", i,
              (unsigned)atomic_load_explicit(&r->calls[i], memory_order_relaxed));
        CHECK(r->plain[i] == (int)(r->tag % 1000) + (int)i, "worker %u's write is not visible", i);
    }
}

static void outer_call(void *ctx, unsigned index, unsigned n)
{
    nested_record *nr = ctx;
    record_call(&nr->outer, index, n);
    if (index % 2 == 0) { /* half the workers broadcast again, from inside */
        CHECK(weft_broadcast(NULL, record_call, &nr->inner[index]) == 0, "nested broadcast");
    }
}

typedef struct job {
    weft_pool *pool;
    unsigned n;
    uint64_t seed;
    record r;
} job;

static void broadcast_here(void *p)
{
    job *j = p;
    CHECK(weft_broadcast(j->pool, record_call, &j->r) == 0, "broadcast");
}

static void broadcast_isolated(void *p)
{
    CHECK(weft_isolate(broadcast_here, p) == 0, "isolate");
}

static void *tree_detached(void *p)
{
    tree_arg *a = p;
    uint64_t want = tree_serial(a->seed, a->depth);
    tree_walk(a);
    CHECK(a->r == want, "tree walk");
    free(a);
    return NULL;
}

typedef struct broadcaster {
    weft_pool *pool;
    unsigned n;
    int id;
    long rounds;
} broadcaster;

static void *broadcaster_main(void *p)
{
    broadcaster *b = p;
    uint64_t rng = 0x9E3779B97F4A7C15ull * (uint64_t)(b->id + 1);
    static _Thread_local nested_record nr;
    for (long round = 0; round < b->rounds; round++) {
        rng = tree_hash(rng);
        job j = {.pool = b->pool, .n = b->n, .seed = rng};
        record_init(&j.r, b->n, rng);
        switch (rng % 6) {
        case 0:
            broadcast_here(&j);
            break;
        case 1:
            CHECK(weft_pool_execute(b->pool, broadcast_here, &j) == 0, "execute");
            break;
        case 2:
            CHECK(weft_pool_run(b->pool, broadcast_here, &j) == 0, "run");
            break;
        case 3:
            CHECK(weft_pool_run(b->pool, broadcast_isolated, &j) == 0, "run isolated");
            break;
        case 4: {
            record_init(&nr.outer, b->n, rng);
            for (unsigned i = 0; i < MAX_WORKERS; i++)
                record_init(&nr.inner[i], b->n, rng + i);
            CHECK(weft_broadcast(b->pool, outer_call, &nr) == 0, "outer broadcast");
            record_check(&nr.outer);
            for (unsigned i = 0; i < b->n; i += 2)
                record_check(&nr.inner[i]);
            broadcast_here(&j);
            break;
        }
        default: { /* background work, then a pause: workers busy, then asleep */
            for (int k = 0; k < 4; k++) {
                tree_arg *a = malloc(sizeof *a);
                CHECK(a != NULL, "malloc");
                *a = (tree_arg){tree_hash(rng + (uint64_t)k), 5 + (int)(rng >> 20) % 3, 0};
                CHECK(weft_spawn(b->pool, tree_detached, a, NULL) == 0, "spawn");
            }
            broadcast_here(&j);
            if ((rng >> 12) % 4 == 0)
                weft_thread_sleep(200000 + (rng >> 24) % 800000);
            break;
        }
        }
        if (rng % 6 != 4)
            record_check(&j.r);
    }
    return NULL;
}

int main(void)
{
    static const unsigned sizes[] = {1, 2, 3, 8};
    long rounds = stress_iters(3000);
    for (unsigned s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        for (int passive = 0; passive < 2; passive++) {
            weft_pool_config cfg = WEFT_POOL_CONFIG_INIT;
            cfg.num_threads = sizes[s];
            cfg.pin = WEFT_PIN_NONE;
            cfg.wait = passive ? WEFT_WAIT_PASSIVE : WEFT_WAIT_DEFAULT;
            weft_pool *pool;
            CHECK(weft_pool_create(&cfg, &pool) == 0, "pool_create");
            broadcaster b[BROADCASTERS];
            pthread_t t[BROADCASTERS];
            for (int i = 0; i < BROADCASTERS; i++) {
                b[i] = (broadcaster){pool, sizes[s], i + 10 * (int)s + 100 * passive, rounds / BROADCASTERS};
                CHECK(pthread_create(&t[i], NULL, broadcaster_main, &b[i]) == 0, "pthread_create");
            }
            for (int i = 0; i < BROADCASTERS; i++)
                CHECK(pthread_join(t[i], NULL) == 0, "pthread_join");
            CHECK(weft_pool_wait_idle(pool) == 0, "wait_idle");
            CHECK(weft_pool_destroy(pool) == 0, "destroy");
        }
    }
    return 0;
}
