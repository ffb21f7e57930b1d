/* stress_topology: pools created at once from several threads share the process's one
 * hwloc topology, which the first of their workers loads while the others wait
 * (runtime/topology.c). Four threads, released together, each create, use and destroy
 * pools of 1 to 3 workers in a loop, pinned by PU, by core or not at all, while the
 * main thread starts the global pool and makes parallel calls on it. Every pool's
 * worker must run its first job already where its policy puts it (one CPU for PU, a
 * subset of the process's CPUs for core, all of them unpinned), every loop must cover
 * its range once, and once all is destroyed every place count must be back at zero:
 * a 1-worker PU-pinned pool then takes the first allowed PU (hwloc's order). Under
 * TSan the first load races with the other workers' waits and with placement; under
 * ASan a pool that leaks anything across the loop is reported at exit. */
#include <hwloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <weft.h>
#include "check.h"

#define CREATORS 4
#define LOOP_N 4096

static cpu_set_t process_cpus;
static pthread_barrier_t start;

static void record_affinity(void *p)
{
    CPU_ZERO((cpu_set_t *)p);
    CHECK(sched_getaffinity(0, sizeof(cpu_set_t), p) == 0);
}

static int count_range(void *ctx, size_t lo, size_t hi)
{
    atomic_fetch_add_explicit((_Atomic size_t *)ctx, hi - lo, memory_order_relaxed);
    return 0;
}

static void loop_in_pool(void *p)
{
    _Atomic size_t *seen = p;
    CHECK(weft_par_for(0, LOOP_N, 1, count_range, (void *)seen) == 0);
}

static void check_place(weft_pin_policy pin, const cpu_set_t *where)
{
    cpu_set_t inside;
    CPU_AND(&inside, where, &process_cpus);
    switch (pin) {
    case WEFT_PIN_PU:
        CHECK(CPU_COUNT(where) == 1 && CPU_EQUAL(&inside, where), "a PU-pinned worker runs on one of our CPUs");
        break;
    case WEFT_PIN_CORE:
        CHECK(CPU_COUNT(where) >= 1 && CPU_EQUAL(&inside, where), "a core-pinned worker runs on our CPUs");
        break;
    default:
        CHECK(CPU_EQUAL(where, &process_cpus), "an unpinned worker may run anywhere");
    }
}

static void *creator(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    static const weft_pin_policy pins[] = {WEFT_PIN_PU, WEFT_PIN_CORE, WEFT_PIN_NONE};
    pthread_barrier_wait(&start);
    long rounds = stress_iters(40);
    for (long i = 0; i < rounds; i++) {
        weft_pool_config cfg = WEFT_POOL_CONFIG_INIT;
        cfg.num_threads = 1 + (unsigned)(id + (unsigned)i) % 3;
        cfg.pin = pins[(id + (unsigned)i / 3) % 3];
        weft_pool *p;
        CHECK(weft_pool_create(&cfg, &p) == 0);
        cpu_set_t where;
        CHECK(weft_pool_run(p, record_affinity, &where) == 0);
        check_place(cfg.pin, &where);
        _Atomic size_t seen = 0;
        CHECK(weft_pool_run(p, loop_in_pool, (void *)&seen) == 0);
        CHECK(seen == LOOP_N, "the loop covered %zu of %d", (size_t)seen, LOOP_N);
        CHECK(weft_pool_destroy(p) == 0);
    }
    return NULL;
}

/* The OS index of the first PU of hwloc's order that we may run on (-1: no hwloc). */
static int first_allowed_pu(void)
{
    hwloc_topology_t topo;
    int first = -1;
    if (hwloc_topology_init(&topo) != 0)
        return -1;
    if (hwloc_topology_load(topo) == 0) {
        hwloc_obj_t pu = NULL;
        while (first < 0 && (pu = hwloc_get_next_obj_by_type(topo, HWLOC_OBJ_PU, pu)) != NULL)
            if (CPU_ISSET(pu->os_index, &process_cpus))
                first = (int)pu->os_index;
    }
    hwloc_topology_destroy(topo);
    return first;
}

int main(void)
{
    CHECK(sched_getaffinity(0, sizeof process_cpus, &process_cpus) == 0);
    CHECK(pthread_barrier_init(&start, NULL, CREATORS + 1) == 0);
    pthread_t t[CREATORS];
    for (unsigned i = 0; i < CREATORS; i++)
        CHECK(pthread_create(&t[i], NULL, creator, (void *)(uintptr_t)i) == 0);
    pthread_barrier_wait(&start);
    long calls = 0;
    for (long i = 0; i < stress_iters(200); i++, calls++) {
        _Atomic size_t seen = 0;
        CHECK(weft_par_for(0, LOOP_N, 1, count_range, (void *)&seen) == 0 && seen == LOOP_N);
    }
    for (unsigned i = 0; i < CREATORS; i++)
        CHECK(pthread_join(t[i], NULL) == 0);
    CHECK(pthread_barrier_destroy(&start) == 0);

    weft_pool_config cfg = WEFT_POOL_CONFIG_INIT;
    cfg.num_threads = 1;
    cfg.pin = WEFT_PIN_PU;
    weft_pool *p;
    cpu_set_t where;
    CHECK(weft_pool_create(&cfg, &p) == 0 && weft_pool_run(p, record_affinity, &where) == 0);
    int first = first_allowed_pu();
    CHECK(first < 0 || (CPU_COUNT(&where) == 1 && CPU_ISSET(first, &where)),
          "with no pinned pool alive, a new one starts on the first PU: place counts leaked");
    CHECK(weft_pool_destroy(p) == 0);
    printf("stress_topology: %d threads x %ld pools, %ld calls on the global pool: ok\n", CREATORS, stress_iters(40),
           calls);
    return 0;
}
