/* stress_wake_at_sleep: work published just as the pool's other workers go to sleep
 * is run by one of them. Each round, a spawner publishes one task and then waits for
 * it outside weft (spinning on a flag, so it never runs the task itself): only
 * another worker, which must be awake or woken, can run it. The spawn comes at a
 * random moment from 0 to 1.5 times the idle workers' search (their spin before
 * sleeping, 50 us by default) after the previous round's task ran, so that it often
 * meets a worker announcing its sleep: the window where a publisher that saw nobody
 * idle skips its fence and the sleeper's heavy barrier must cover it (runtime/sleep.md,
 * "The skip"). Spawners: a scope's owner on a worker (weft_scope_spawn), a worker's
 * detached task (weft_spawn) and an outside thread (weft_spawn into the pool: the
 * injector). Pools of 2 and 3 workers. A lost wake-up shows as a round whose task does
 * not run within ROUND_TIMEOUT_NS: reported by its round, not a hang.
 *
 * The same rounds run twice more, each in a child process whose seccomp filter makes
 * the kernel refuse one membarrier command: the registration (pools then keep the
 * publisher's fence), and the barrier itself after a registration that succeeded
 * (sleepers then sleep in slices: sleep.c's fallback, which a working kernel never
 * takes). A system without seccomp skips those two. */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/membarrier.h>
#include <linux/seccomp.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <weft/runtime.h>
#include <weft/sync.h>
#include "check.h"
#include "spin.h"
#include "test_rng.h"
#include "wait_child.h"

#define ROUND_TIMEOUT_NS 2000000000ull
#define SEARCH_NS 50000u /* the default policy's search before sleeping */
#define CHILD_LIMIT_NS 300000000000ull /* a child's rounds: a bound far past their time */

enum { SCOPE_OWNER, WORKER_SPAWN, OUTSIDE_SPAWN, SPAWNERS };

typedef struct round_state {
    _Atomic int ran;
    long rounds;
    int spawner;
    uint64_t rng;
} round_state;

static void *mark(void *p)
{
    atomic_store_explicit(&((round_state *)p)->ran, 1, memory_order_release);
    return NULL;
}

static int mark_scope_task(weft_scope *s, void *p)
{
    (void)s;
    mark(p);
    return 0;
}

/* Wait, outside weft, for the round's task; the round's number names a lost one. */
static void wait_for_task(round_state *r, long round)
{
    uint64_t deadline = weft_time_now_ns() + ROUND_TIMEOUT_NS;
    while (!atomic_load_explicit(&r->ran, memory_order_acquire))
        CHECK(weft_time_now_ns() < deadline, "spawner %d, round %ld: the task did not run (a lost wake-up)",
              r->spawner, round);
}

static void run_rounds(void *p)
{
    round_state *r = p;
    for (long i = 0; i < r->rounds; i++) {
        test_spin_ns(test_next_rand(&r->rng) % (SEARCH_NS * 3 / 2));
        atomic_store_explicit(&r->ran, 0, memory_order_relaxed);
        if (r->spawner == SCOPE_OWNER) {
            weft_scope s;
            CHECK(weft_scope_init(&s, NULL) == 0);
            CHECK(weft_scope_spawn(&s, mark_scope_task, r) == 0);
            wait_for_task(r, i);
            CHECK(weft_scope_wait(&s) == 0);
        } else {
            CHECK(weft_spawn(NULL, mark, r, NULL) == 0);
            wait_for_task(r, i);
        }
    }
}

static void all_rounds(long rounds)
{
    for (unsigned threads = 2; threads <= 3; threads++) {
        weft_pool_config cfg = WEFT_POOL_CONFIG_INIT;
        cfg.num_threads = threads;
        weft_pool *pool;
        CHECK(weft_pool_create(&cfg, &pool) == 0);
        for (int spawner = 0; spawner < SPAWNERS; spawner++) {
            round_state r = {.rounds = rounds, .spawner = spawner, .rng = 0x9E3779B97F4A7C15ull + threads};
            if (spawner == OUTSIDE_SPAWN) {
                for (long i = 0; i < rounds; i++) {
                    test_spin_ns(test_next_rand(&r.rng) % (SEARCH_NS * 3 / 2));
                    atomic_store_explicit(&r.ran, 0, memory_order_relaxed);
                    CHECK(weft_spawn(pool, mark, &r, NULL) == 0);
                    wait_for_task(&r, i);
                }
            } else {
                CHECK(weft_pool_run(pool, run_rounds, &r) == 0);
            }
        }
        CHECK(weft_pool_destroy(pool) == 0);
    }
}

/* Make every thread of this process (TSYNC) get EPERM from membarrier(cmd); false if
 * the system will not install the filter. */
static bool refuse_membarrier(int cmd)
{
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_membarrier, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)cmd, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = sizeof f / sizeof f[0], .filter = f};
    return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
           syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog) == 0;
}

/* The rounds in a child whose kernel refuses membarrier(cmd); false: skipped. */
static bool rounds_refusing(int cmd, long rounds)
{
    pid_t pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        if (!refuse_membarrier(cmd))
            _exit(77);
        CHECK(syscall(__NR_membarrier, cmd, 0u, 0) == -1 && errno == EPERM, "the filter refuses the command");
        all_rounds(rounds);
        _exit(0);
    }
    int status = wait_child_bounded(pid, CHILD_LIMIT_NS, 1000000, "a child refusing membarrier");
    CHECK(WIFEXITED(status) && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 77),
          "the child refusing membarrier command %d failed (status %d)", cmd, status);
    return WEXITSTATUS(status) == 0;
}

int main(void)
{
    long rounds = stress_iters(3000);
    /* Children first: this process has no pool (nor pool threads) when it forks. */
    bool unregistered = rounds_refusing(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, rounds);
    bool no_barrier = rounds_refusing(MEMBARRIER_CMD_PRIVATE_EXPEDITED, rounds);
    all_rounds(rounds);
    printf("stress_wake_at_sleep: %ld rounds per spawner (scope owner, worker spawn, outside spawn) on 2 and 3 "
           "workers, every task run by another thread; membarrier refused: registration %s, barrier %s\n",
           rounds, unregistered ? "ok" : "skipped (no seccomp)", no_barrier ? "ok" : "skipped (no seccomp)");
    return 0;
}
