/* shutdown.c: destroying pools and ending the process at awkward moments: no hang,
 * no use-after-free (ASan), nothing lost.
 *  - weft_pool_destroy with detached work still queued: it all runs first;
 *  - with every worker asleep;
 *  - while other threads are blocked in chan recv / mutex lock / condvar wait on
 *    other objects (they are untouched and finish later);
 *  - with a task of the pool blocked on a channel: destroy_timeout gives -ETIMEDOUT
 *    and the pool stays usable; once the task can finish, destroy works;
 *  - process exit (child processes, run with a deadline): returning from main while
 *    the global pool runs (idle, or with detached tasks still queued), and exit()
 *    called from a worker task. weft registers no exit handler: the process ends
 *    with the status given, the workers die with it (queued work is not run);
 *  - a child that calls weft_pool_wait_idle(NULL) before returning from main (issue
 *    19: 20 detached 10 ms tasks, of which none ran before): all of them run. */
#include "check.h"
#include "wait_child.h"
#include "inject.h"

#include <weft.h>

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static weft_pool *new_pool(unsigned n, weft_wait_policy wait)
{
    weft_pool_config cfg = WEFT_POOL_CONFIG_INIT;
    cfg.num_threads = n;
    cfg.pin = WEFT_PIN_NONE;
    cfg.wait = wait;
    weft_pool *p;
    CHECK(weft_pool_create(&cfg, &p) == 0);
    return p;
}

static void *count_task(void *arg)
{
    for (volatile int i = 0; i < 2000; i++)
        ;
    atomic_fetch_add_explicit((_Atomic long *)arg, 1, memory_order_relaxed);
    return NULL;
}

static void destroy_with_queued_work(void)
{
    for (int round = 0; round < 5; round++) {
        _Atomic long ran = 0;
        weft_pool *p = new_pool(2, WEFT_WAIT_DEFAULT);
        for (int i = 0; i < 300; i++)
            CHECK(weft_spawn(p, count_task, (void *)&ran, NULL) == 0);
        CHECK(weft_pool_destroy(p) == 0);
        CHECK(ran == 300, "destroy returned with %ld of 300 tasks run", ran);
    }
}

static void destroy_asleep(void)
{
    weft_pool *p = new_pool(3, WEFT_WAIT_PASSIVE);
    _Atomic long ran = 0;
    weft_task *t;
    CHECK(weft_spawn(p, count_task, (void *)&ran, &t) == 0 && weft_task_join(t, NULL) == 0);
    weft_thread_sleep(50000000); /* every worker goes to sleep */
    CHECK(weft_pool_destroy(p) == 0);
}

/* ---------------------------------------------------------------- blocked bystanders */

typedef struct bystanders {
    weft_sender *tx;
    weft_receiver *rx;
    weft_mutex m, cv_m;
    weft_condvar cv;
    bool go;
    _Atomic int done;
} bystanders;

static void *recv_blocked(void *p)
{
    bystanders *b = p;
    int v;
    CHECK(weft_chan_recv(b->rx, &v) == 0 && v == 9);
    atomic_fetch_add(&b->done, 1);
    return NULL;
}

static void *lock_blocked(void *p)
{
    bystanders *b = p;
    CHECK(weft_mutex_lock(&b->m) == 0 && weft_mutex_unlock(&b->m) == 0);
    atomic_fetch_add(&b->done, 1);
    return NULL;
}

static void *cond_blocked(void *p)
{
    bystanders *b = p;
    CHECK(weft_mutex_lock(&b->cv_m) == 0);
    while (!b->go)
        CHECK(weft_condvar_wait(&b->cv, &b->cv_m) == 0);
    CHECK(weft_mutex_unlock(&b->cv_m) == 0);
    atomic_fetch_add(&b->done, 1);
    return NULL;
}

static void destroy_with_blocked_bystanders(void)
{
    bystanders b = {.m = WEFT_MUTEX_INIT, .cv_m = WEFT_MUTEX_INIT, .cv = WEFT_CONDVAR_INIT};
    CHECK(weft_chan_open(sizeof(int), 0, NULL, &b.tx, &b.rx) == 0);
    CHECK(weft_mutex_lock(&b.m) == 0);
    pthread_t th[3];
    void *(*fns[3])(void *) = {recv_blocked, lock_blocked, cond_blocked};
    for (int i = 0; i < 3; i++)
        CHECK(pthread_create(&th[i], NULL, fns[i], &b) == 0);
    weft_pool *p = new_pool(2, WEFT_WAIT_DEFAULT);
    _Atomic long ran = 0;
    for (int i = 0; i < 50; i++)
        CHECK(weft_spawn(p, count_task, (void *)&ran, NULL) == 0);
    weft_thread_sleep(20000000); /* let them block */
    CHECK(weft_pool_destroy(p) == 0);
    CHECK(ran == 50 && b.done == 0);
    int v = 9;
    CHECK(weft_chan_send(b.tx, &v) == 0);
    CHECK(weft_mutex_unlock(&b.m) == 0);
    CHECK(weft_mutex_lock(&b.cv_m) == 0);
    b.go = true;
    CHECK(weft_condvar_notify_all(&b.cv) == 0 && weft_mutex_unlock(&b.cv_m) == 0);
    for (int i = 0; i < 3; i++)
        CHECK(pthread_join(th[i], NULL) == 0);
    CHECK(b.done == 3);
    CHECK(weft_sender_close(b.tx) == 0 && weft_receiver_close(b.rx) == 0);
}

/* a task of the pool itself blocks on a channel: destroy must wait for it */
static void *task_recv(void *p)
{
    int v;
    CHECK(weft_chan_recv((weft_receiver *)p, &v) == 0 && v == 5);
    return NULL;
}

static void destroy_with_blocked_task(void)
{
    weft_sender *tx;
    weft_receiver *rx;
    CHECK(weft_chan_open(sizeof(int), 0, NULL, &tx, &rx) == 0);
    weft_pool *p = new_pool(2, WEFT_WAIT_DEFAULT);
    CHECK(weft_spawn(p, task_recv, rx, NULL) == 0);
    CHECK(weft_pool_destroy_timeout(p, 30000000) == -ETIMEDOUT);
    _Atomic long ran = 0;
    weft_task *t;
    CHECK(weft_spawn(p, count_task, (void *)&ran, &t) == 0 && weft_task_join(t, NULL) == 0 && ran == 1,
          "the pool is usable after a timed-out destroy");
    int v = 5;
    CHECK(weft_chan_send(tx, &v) == 0);
    CHECK(weft_pool_destroy(p) == 0);
    CHECK(weft_sender_close(tx) == 0 && weft_receiver_close(rx) == 0);
}

/* ---------------------------------------------------------------- process exit */

static int visit(void *ctx, size_t b, size_t e)
{
    (void)ctx;
    (void)b;
    (void)e;
    return 0;
}

static void *exit_task(void *arg)
{
    (void)arg;
    exit(3);
}

static void *long_task(void *arg)
{
    (void)arg;
    weft_thread_sleep(2000000);
    return NULL;
}

static _Atomic int detached_ran;

static void *sleep_then_count(void *arg)
{
    (void)arg;
    weft_thread_sleep(10000000);
    atomic_fetch_add(&detached_ran, 1);
    return NULL;
}

static int child(const char *mode)
{
    CHECK(weft_par_for(0, 100000, 0, visit, NULL) == 0);
    if (strcmp(mode, "return") == 0)
        return 0;
    if (strcmp(mode, "return-busy") == 0) {
        for (int i = 0; i < 1000; i++)
            CHECK(weft_spawn(NULL, long_task, NULL, NULL) == 0);
        return 0;
    }
    if (strcmp(mode, "wait-idle") == 0) { /* the exit status says how many ran */
        for (int i = 0; i < 20; i++)
            CHECK(weft_spawn(NULL, sleep_then_count, NULL, NULL) == 0);
        CHECK(weft_pool_wait_idle(NULL) == 0);
        return atomic_load(&detached_ran);
    }
    if (strcmp(mode, "exit-in-task") == 0) {
        CHECK(weft_spawn(NULL, exit_task, NULL, NULL) == 0);
        for (;;)
            weft_thread_sleep(1000000000);
    }
    return 99;
}

/* Run ourselves with `mode`; return its exit status (it must end within 20 s). */
static int run_child(const char *self, const char *mode)
{
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        execl(self, self, mode, (char *)NULL);
        _exit(127);
    }
    int status = wait_child_bounded(pid, 20000000000ull, 2000000, mode);
    CHECK(WIFEXITED(status), "child '%s' died of signal %d", mode, WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    return WEXITSTATUS(status);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        return child(argv[1]);
    destroy_with_queued_work();
    destroy_asleep();
    destroy_with_blocked_bystanders();
    destroy_with_blocked_task();
    const char *self = "/proc/self/exe";
    CHECK(run_child(self, "return") == 0);
    CHECK(run_child(self, "return-busy") == 0);
    CHECK(run_child(self, "exit-in-task") == 3);
    int ran = run_child(self, "wait-idle");
    CHECK(ran == 20, "%d of 20 detached tasks ran before main returned", ran);
    puts("shutdown: destroy with queued / sleeping / blocked work, process exit: ok");
    return 0;
}
