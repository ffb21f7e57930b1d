/* stress_global_init: weft_pool_global_init racing first uses of the global pool, in
 * every build, ThreadSanitizer's included (the Criterion suite global_init repeats
 * the two-thread races in forked rounds, but cannot run under TSan). Eight threads
 * start at once: half call weft_pool_global_init, each with its own size, the other
 * half use the pool (weft_pool_num_threads(NULL), then a join from outside). Exactly
 * one pool must result: at most one init succeeds, and then the pool has its size,
 * else the environment's; every user sees that same size; every other init gets
 * -EBUSY. One race per process: the global pool is never replaced. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <weft.h>
#include "check.h"

enum { RACERS = 8, ENV_THREADS = 2 };

static pthread_barrier_t go;
static int result[RACERS];

static void nothing(void *arg) { (void)arg; }

static void *racer(void *arg)
{
    int i = (int)(intptr_t)arg;
    weft_pool_config c = WEFT_POOL_CONFIG_INIT;
    c.num_threads = (unsigned)(3 + i / 2); /* 3..6: each init's own size */
    pthread_barrier_wait(&go);
    if (i % 2 == 0) {
        result[i] = weft_pool_global_init(&c);
    } else {
        result[i] = weft_pool_num_threads(NULL);
        CHECK(weft_join(nothing, NULL, nothing, NULL) == 0);
    }
    return NULL;
}

int main(void)
{
    setenv("WEFT_NUM_THREADS", "2", 1);
    CHECK(pthread_barrier_init(&go, NULL, RACERS) == 0);
    pthread_t t[RACERS];
    for (int i = 0; i < RACERS; i++)
        CHECK(pthread_create(&t[i], NULL, racer, (void *)(intptr_t)i) == 0);
    for (int i = 0; i < RACERS; i++)
        CHECK(pthread_join(t[i], NULL) == 0);
    int n = weft_pool_num_threads(NULL), winner = -1;
    for (int i = 0; i < RACERS; i += 2) {
        CHECK(result[i] == 0 || result[i] == -EBUSY, "init %d: %d", i, result[i]);
        if (result[i] == 0) {
            CHECK(winner < 0, "inits %d and %d both started the global pool", winner, i);
            winner = i;
        }
    }
    CHECK(n == (winner >= 0 ? 3 + winner / 2 : ENV_THREADS), "pool of %d, init %d won", n, winner);
    for (int i = 1; i < RACERS; i += 2)
        CHECK(result[i] == n, "user %d saw %d workers, the pool has %d", i, result[i], n);
    weft_pool_config c = WEFT_POOL_CONFIG_INIT;
    CHECK(weft_pool_global_init(&c) == -EBUSY);
    printf("stress_global_init: %s won, pool of %d\n", winner >= 0 ? "an init" : "a first use", n);
    return 0;
}
