/* pace.h: keeps the threads of a stress test within a few rounds of each other, so
 * that they really meet on the same objects (left alone, on few cores, each thread
 * runs through its whole loop within one time slice and nothing races).
 * Relaxed throughout: pacing only shapes the schedule; it must not add any
 * happens-before edge that would hide a missing one in the code under test. */
#ifndef WEFT_TESTS_PACE_H
#define WEFT_TESTS_PACE_H
#include <sched.h>
#include <stdatomic.h>

#define PACE_MAX_THREADS 16
#define PACE_WINDOW 2

typedef struct pace {
    _Atomic long progress[PACE_MAX_THREADS];
    int threads;
} pace;

static inline void pace_init(pace *p, int threads)
{
    p->threads = threads;
    for (int i = 0; i < PACE_MAX_THREADS; i++)
        atomic_init(&p->progress[i], 0);
}

/* Thread `id` is about to start round r: wait until nobody is more than
 * PACE_WINDOW rounds behind. */
static inline void pace_round(pace *p, int id, long r)
{
    atomic_store_explicit(&p->progress[id], r, memory_order_relaxed);
    for (int t = 0; t < p->threads; t++)
        while (atomic_load_explicit(&p->progress[t], memory_order_relaxed) < r - PACE_WINDOW)
            sched_yield();
}

/* Thread `id` is done: never hold the others back again. */
static inline void pace_done(pace *p, int id)
{
    atomic_store_explicit(&p->progress[id], __LONG_MAX__, memory_order_relaxed);
}
#endif
