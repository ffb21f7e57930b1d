/* stress_scope_dep: tasks with dependencies by address (runtime/scope_dep.c) under
 * load, and under ThreadSanitizer, where every task's data is plain memory so a
 * missing order is a reported race as well as a wrong result.
 *  - Random DAGs of 10^4 tasks over 64 addresses, spawned by the scope's owner from
 *    outside the pool: final values, each address's writer order and what every
 *    task read equal a serial run of the same spawn order.
 *  - Several spawners into one scope: tasks of the scope each spawn a DAG of their
 *    own (each equal to its serial run: one thread's spawns keep program order), and
 *    all of them also increment shared counters (INOUT) and read them (IN, the value
 *    must not change while the reader runs): the count is exact.
 *  - A blocked Cholesky factorisation of a 1024x1024 matrix in 64x64 blocks (smaller
 *    under TSan) equal, bit for bit, to the serial one. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <weft/runtime.h>
#include "check.h"
#include "dep_testlib.h"

enum { SPAWNERS = 4, SHARED = 4 };

typedef struct shared_cells {
    uint64_t count[SHARED];     /* plain: INOUT tasks increment them */
    _Atomic int changed;         /* a reader saw its cell change while it ran */
} shared_cells;

typedef struct shared_op {
    shared_cells *sh;
    int cell;
    bool write;
} shared_op;

static int shared_task(weft_scope *s, void *arg)
{
    (void)s;
    shared_op *op = arg;
    uint64_t *c = &op->sh->count[op->cell];
    if (op->write) {
        (*c)++;
    } else {
        uint64_t before = *c;
        for (volatile int i = 0; i < 100; i++) {
        }
        if (*c != before)
            atomic_store_explicit(&op->sh->changed, 1, memory_order_relaxed);
    }
    free(op);
    return 0;
}

typedef struct spawner {
    dag g;
    shared_cells *sh;
    uint64_t seed;
    uint32_t writes; /* shared increments it spawned, per cell in total */
} spawner;

static int spawner_task(weft_scope *s, void *arg)
{
    spawner *sp = arg;
    uint64_t r = sp->seed;
    for (uint32_t i = 0; i < sp->g.ntasks; i++) {
        dag_task *t = &sp->g.tasks[i];
        CHECK(weft_scope_spawn_dep(s, dag_task_fn, t, t->deps, t->ndeps) == 0, "spawn");
        r = dag_mix(r + i);
        if (r % 4 == 0) {
            shared_op *op = malloc(sizeof *op);
            *op = (shared_op){sp->sh, (int)((r >> 8) % SHARED), (r >> 16) % 3 == 0};
            weft_dep d = {&sp->sh->count[op->cell], op->write ? WEFT_DEP_INOUT : WEFT_DEP_IN};
            sp->writes += op->write;
            CHECK(weft_scope_spawn_dep(s, shared_task, op, &d, 1) == 0, "spawn");
        }
    }
    return 0;
}

static void many_spawners(weft_pool *pool, uint32_t ntasks, uint64_t seed)
{
    static spawner sp[SPAWNERS];
    static dag ser[SPAWNERS];
    shared_cells sh = {{0}, 0};
    for (int k = 0; k < SPAWNERS; k++) {
        dag_init(&sp[k].g, ntasks, seed + (uint64_t)k);
        dag_init(&ser[k], ntasks, seed + (uint64_t)k);
        dag_serial(&ser[k]);
        sp[k].sh = &sh;
        sp[k].seed = seed * 31 + (uint64_t)k;
        sp[k].writes = 0;
    }
    weft_scope s;
    CHECK(weft_scope_init(&s, pool) == 0, "init");
    for (int k = 0; k < SPAWNERS; k++)
        CHECK(weft_scope_spawn(&s, spawner_task, &sp[k]) == 0, "spawn");
    CHECK(weft_scope_wait(&s) == 0, "wait");
    uint64_t writes = 0, counted = 0;
    for (int k = 0; k < SPAWNERS; k++) {
        CHECK(dag_equal(&sp[k].g, &ser[k]), "spawner %d's DAG differs from its serial run", k);
        writes += sp[k].writes;
        dag_fini(&sp[k].g);
        dag_fini(&ser[k]);
    }
    for (int c = 0; c < SHARED; c++)
        counted += sh.count[c];
    CHECK(counted == writes, "shared increments: %llu of %llu", (unsigned long long)counted,
          (unsigned long long)writes);
    CHECK(atomic_load(&sh.changed) == 0, "a reader's cell changed while it ran");
}

int main(void)
{
    weft_pool_config cfg = WEFT_POOL_CONFIG_INIT;
    cfg.num_threads = 4;
    cfg.pin = WEFT_PIN_NONE;
    weft_pool *pool;
    CHECK(weft_pool_create(&cfg, &pool) == 0, "pool");
    long rounds = stress_iters(8);
    for (long r = 0; r < rounds; r++)
        CHECK(dag_against_serial(pool, 10000, (uint64_t)r + 1) == 0, "DAG %ld differs from its serial run", r);
    for (long r = 0; r < rounds; r++)
        many_spawners(pool, (uint32_t)stress_iters(5000), (uint64_t)r + 100);
    /* 1024 x 1024 in 64 x 64 blocks (256 in 32 under TSan) */
    CHECK(chol_against_serial(pool, 16, WEFT_TSAN_OR(16, 64), 17) == 0, "Cholesky differs from the serial one");
    CHECK(weft_pool_destroy(pool) == 0, "destroy");
    return 0;
}
