/* stress_fork: a child process can use weft after its parent did (a weft_par_for in
 * a child once hung, since the global pool it found had no workers there).
 * Every child checks that it is no worker, then runs par_for, join, spawn (joined
 * and detached, waited for with wait_idle) on a fresh global pool, creates and
 * destroys a pool of its own, and ends with _exit(0): not exit, whose leak check
 * (ASan build) would report what only the parent's other threads referenced, since
 * their stacks do not exist in a child. The parent waits for each child at most
 * CHILD_LIMIT_NS (a hang is killed and fails the test).
 *  - 20 children, one after the other, after the parent used the global pool;
 *  - children forked while the parent's workers are busy with a par_for and another
 *    thread creates and destroys pinned pools (the place counts' lock) and starts
 *    and joins threads (debug builds: the live handle set's lock);
 *  - a child forked from inside a task, by a worker of the global pool: in the child
 *    that thread is a worker no more (and the task never returns there);
 *  - first of all, children forked right after the global pool started, while its
 *    workers load the process's hwloc topology (the fork waits for a load under way;
 *    the child keeps the loaded topology, or loads it itself). Not under ASan: those
 *    workers allocate as they place themselves (see below).
 *
 * Sanitizer builds. The sanitizer runtimes of the supported toolchain (GCC 12's
 * libasan and libtsan) do not take their own allocator's locks around fork (LLVM
 * added that later), so a child forked while another thread is inside malloc can
 * hang in the sanitizer's allocator, whatever weft does; glibc's malloc is fork-safe.
 * Under ASan the bystander that creates pools (hwloc allocates) therefore does not
 * run; the rest does. Under TSan the program is skipped (exit 77): TSan stops
 * checking in a child of a multithreaded process anyway, and its thread registry,
 * copied from the parent, aborts the child when a new thread reuses the id of a
 * thread that did not come along ("dup thread with used id"). */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include <weft.h>
#include "check.h"
#include "wait_child.h"
#include "workloads.h"

#ifdef __SANITIZE_ADDRESS__
#define ALLOCATING_BYSTANDER 0
#else
#define ALLOCATING_BYSTANDER 1
#endif

#define CHILD_LIMIT_NS 30000000000ull
#define CHILDREN 20

static int count_range(void *ctx, size_t lo, size_t hi)
{
    atomic_fetch_add_explicit((_Atomic size_t *)ctx, hi - lo, memory_order_relaxed);
    return 0;
}

static void *times_two(void *p) { return (void *)((uintptr_t)p * 2); }

static void *count_task(void *p)
{
    atomic_fetch_add_explicit((_Atomic int *)p, 1, memory_order_relaxed);
    return NULL;
}

/* par_for, join, spawn joined and detached: what that hung child did, and more. */
static void use_weft(size_t n)
{
    _Atomic size_t seen = 0;
    CHECK(weft_par_for(0, n, 0, count_range, (void *)&seen) == 0);
    CHECK(seen == n, "par_for saw %zu of %zu", (size_t)seen, n);
    fib_arg a = {18, 0}, b = {17, 0};
    CHECK(weft_join(fib_join, &a, fib_join, &b) == 0);
    CHECK(a.r == fib_serial(18) && b.r == fib_serial(17));
    weft_task *t;
    void *r = NULL;
    CHECK(weft_spawn(NULL, times_two, (void *)21, &t) == 0 && weft_task_join(t, &r) == 0 && r == (void *)42);
    _Atomic int ran = 0;
    for (int i = 0; i < 8; i++)
        CHECK(weft_spawn(NULL, count_task, (void *)&ran, NULL) == 0);
    CHECK(weft_pool_wait_idle(NULL) == 0 && ran == 8);
}

static void fib_entry(void *p) { fib_join(p); }

static size_t child_n(int i) { return i % 2 ? 100 : (size_t)stress_iters(1 << 20); }

static _Noreturn void child_main(size_t n)
{
    CHECK(weft_current_worker_index() == -1, "the child's thread is no worker");
    use_weft(n);
    weft_pool *p; /* pinned by default: the child's place counts start from zero */
    CHECK(weft_pool_create(NULL, &p) == 0);
    fib_arg f = {16, 0};
    CHECK(weft_pool_run(p, fib_entry, &f) == 0 && f.r == fib_serial(16));
    CHECK(weft_pool_destroy(p) == 0);
    _exit(0);
}

static pid_t fork_child(size_t n)
{
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0)
        child_main(n);
    return pid;
}

static void wait_child(pid_t pid, const char *what)
{
    int status = wait_child_bounded(pid, CHILD_LIMIT_NS, 1000000, what);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child (%s): %s %d", what,
          WIFEXITED(status) ? "exit status" : "signal", WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}

/* ---------------------------------------------------------------- busy parent */

typedef struct busy {
    _Atomic bool stop;
    long loops, pools;
} busy;

static int burn_range(void *ctx, size_t lo, size_t hi)
{
    (void)ctx;
    volatile size_t sink = 0;
    for (size_t i = lo; i < hi; i++)
        sink += i;
    return 0;
}

static void *par_for_loop(void *p)
{
    busy *b = p;
    while (!atomic_load_explicit(&b->stop, memory_order_relaxed)) {
        CHECK(weft_par_for(0, (size_t)stress_iters(1 << 20), 0, burn_range, NULL) == 0);
        b->loops++;
    }
    return NULL;
}

static void *nothing(void *p) { return p; }

static void *pool_churn(void *p)
{
    busy *b = p;
    while (!atomic_load_explicit(&b->stop, memory_order_relaxed)) {
        weft_pool_config cfg = WEFT_POOL_CONFIG_INIT;
        cfg.num_threads = 1;
        cfg.pin = WEFT_PIN_CORE;
        weft_pool *pool;
        CHECK(weft_pool_create(&cfg, &pool) == 0 && weft_pool_destroy(pool) == 0);
        weft_thread *t;
        CHECK(weft_thread_spawn(NULL, nothing, NULL, &t) == 0 && weft_thread_join(t, NULL) == 0);
        b->pools++;
    }
    return NULL;
}

/* ---------------------------------------------------------------- fork in a task */

static void *fork_in_task(void *p)
{
    (void)p;
    CHECK(weft_current_worker_index() >= 0, "runs on a worker");
    return (void *)(intptr_t)fork_child(child_n(0)); /* the child exits in child_main */
}

int main(void)
{
#ifdef WEFT_TSAN
    puts("stress_fork: skipped under ThreadSanitizer (see the comment at the top)");
    return 77;
#endif
    if (ALLOCATING_BYSTANDER) {
        weft_pool *g;
        CHECK(weft_pool_global(&g) == 0); /* its workers start loading the topology */
        wait_child(fork_child(child_n(1)), "forked while the workers load the topology");
    }
    use_weft((size_t)stress_iters(1 << 20));
    for (int i = 0; i < CHILDREN; i++)
        wait_child(fork_child(child_n(i)), "after the parent used weft");

    busy b = {0};
    weft_thread *th[2];
    int bystanders = 1 + ALLOCATING_BYSTANDER;
    CHECK(weft_thread_spawn(NULL, par_for_loop, &b, &th[0]) == 0);
    if (ALLOCATING_BYSTANDER)
        CHECK(weft_thread_spawn(NULL, pool_churn, &b, &th[1]) == 0);
    for (int i = 0; i < 6; i++) {
        weft_thread_sleep(20 * 1000000ull); /* 20 ms: let the workers get going */
        wait_child(fork_child(child_n(i)), "forked while the workers are busy");
    }
    atomic_store_explicit(&b.stop, true, memory_order_relaxed);
    for (int i = 0; i < bystanders; i++)
        CHECK(weft_thread_join(th[i], NULL) == 0);

    for (int i = 0; i < 3; i++) {
        weft_task *t;
        void *pid = NULL;
        CHECK(weft_spawn(NULL, fork_in_task, NULL, &t) == 0 && weft_task_join(t, &pid) == 0);
        wait_child((pid_t)(intptr_t)pid, "forked by a worker");
    }
    use_weft(100); /* and the parent's pool still works */
    printf("stress_fork: %d + %d + 6 + 3 children ran weft (parent busy: %ld par_for, %ld pools): ok\n",
           ALLOCATING_BYSTANDER, CHILDREN, b.loops, b.pools);
    return 0;
}
