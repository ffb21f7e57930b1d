/* Criterion suite for runtime/thread.c: spawn and the three joins, detach, names,
 * stack size, CPU pinning, sleep, and the documented errors. Timings are only checked
 * from below (a shared, noisy machine): a timeout or a sleep lasts at least as asked. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <weft/runtime.h>
#include <weft/sync.h>

#define MS 1000000ull

static void *thr_add_one(void *arg)
{
    return (void *)((uintptr_t)arg + 1);
}

Test(thread, spawn_join_returns_the_result)
{
    weft_thread *t = NULL;
    cr_assert_eq(weft_thread_spawn(NULL, thr_add_one, (void *)41, &t), 0);
    cr_assert_not_null(t);
    void *r = NULL;
    cr_assert_eq(weft_thread_join(t, &r), 0);
    cr_assert_eq((uintptr_t)r, 42);

    /* result may be NULL; default options spelled out work the same */
    weft_thread_options o = WEFT_THREAD_OPTIONS_INIT;
    cr_assert_eq(weft_thread_spawn(&o, thr_add_one, NULL, &t), 0);
    cr_assert_eq(weft_thread_join(t, NULL), 0);
}

static void *thr_exit_early(void *arg)
{
    pthread_exit(arg);
}

Test(thread, pthread_exit_value_is_the_result)
{
    weft_thread *t;
    cr_assert_eq(weft_thread_spawn(NULL, thr_exit_early, (void *)7, &t), 0);
    void *r = NULL;
    cr_assert_eq(weft_thread_join(t, &r), 0);
    cr_assert_eq((uintptr_t)r, 7);
    /* detached, it is still freed (ASan's leak check) */
    cr_assert_eq(weft_thread_spawn(NULL, thr_exit_early, NULL, &t), 0);
    cr_assert_eq(weft_thread_detach(t), 0);
}

/* What a thread saw of its own name: weft's and the OS's. */
typedef struct {
    char weft[WEFT_THREAD_NAME_MAX + 2];
    char os[32];
} names;

static void *thr_read_names(void *arg)
{
    names *n = arg;
    snprintf(n->weft, sizeof n->weft, "%s", weft_thread_name());
    cr_assert_eq(pthread_getname_np(pthread_self(), n->os, sizeof n->os), 0);
    return NULL;
}

Test(thread, named_thread_sees_its_name)
{
    names n;
    weft_thread_options o = WEFT_THREAD_OPTIONS_INIT;
    char name[] = "weft-worker-3";
    o.name = name;
    weft_thread *t;
    cr_assert_eq(weft_thread_spawn(&o, thr_read_names, &n, &t), 0);
    name[0] = 'X'; /* copied by spawn: need not outlive the call */
    cr_assert_eq(weft_thread_join(t, NULL), 0);
    cr_assert_str_eq(n.weft, "weft-worker-3");
    cr_assert_str_eq(n.os, "weft-worker-3");

    /* unnamed: "" */
    cr_assert_eq(weft_thread_spawn(NULL, thr_read_names, &n, &t), 0);
    cr_assert_eq(weft_thread_join(t, NULL), 0);
    cr_assert_str_eq(n.weft, "");
}

Test(thread, long_names_are_cut)
{
    char longname[100];
    for (size_t i = 0; i < sizeof longname - 1; i++)
        longname[i] = (char)('a' + i % 26);
    longname[sizeof longname - 1] = '\0';
    names n;
    weft_thread_options o = WEFT_THREAD_OPTIONS_INIT;
    o.name = longname;
    weft_thread *t;
    cr_assert_eq(weft_thread_spawn(&o, thr_read_names, &n, &t), 0, "a long name does not fail");
    cr_assert_eq(weft_thread_join(t, NULL), 0);
    cr_assert_eq(strlen(n.weft), WEFT_THREAD_NAME_MAX);
    cr_assert_eq(strncmp(n.weft, longname, WEFT_THREAD_NAME_MAX), 0);
    cr_assert_eq(strlen(n.os), 15);
    cr_assert_eq(strncmp(n.os, longname, 15), 0);
}

static void *thr_rename(void *arg)
{
    names *n = arg;
    cr_assert_eq(weft_thread_set_name(NULL), -EINVAL);
    cr_assert_eq(weft_thread_set_name("renamed-thread-with-a-long-name"), 0);
    return thr_read_names(n);
}

Test(thread, set_name_renames_the_caller)
{
    names n;
    weft_thread_options o = WEFT_THREAD_OPTIONS_INIT;
    o.name = "before";
    weft_thread *t;
    cr_assert_eq(weft_thread_spawn(&o, thr_rename, &n, &t), 0);
    cr_assert_eq(weft_thread_join(t, NULL), 0);
    cr_assert_str_eq(n.weft, "renamed-thread-with-a-long-name");
    cr_assert_str_eq(n.os, "renamed-thread-");
}

static void *raw_pthread_name(void *arg)
{
    snprintf(arg, WEFT_THREAD_NAME_MAX + 1, "%s", weft_thread_name());
    return NULL;
}

Test(thread, initial_thread_is_main)
{
    /* Criterion runs each test in a forked child; that child's only thread is its
     * initial thread (tid == pid) in Criterion 2.4, but do not rely on it. */
    const char *expect = getpid() == gettid() ? "main" : "";
    cr_assert_str_eq(weft_thread_name(), expect);

    /* A child process we fork ourselves surely starts on its initial thread. */
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int ok = strcmp(weft_thread_name(), "main") == 0;
        ok = ok && weft_thread_set_name("renamed-main") == 0;
        ok = ok && strcmp(weft_thread_name(), "renamed-main") == 0;
        _exit(ok ? 0 : 1);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    /* A thread weft did not start, never named: "" */
    char seen[WEFT_THREAD_NAME_MAX + 1] = "unset";
    pthread_t p;
    cr_assert_eq(pthread_create(&p, NULL, raw_pthread_name, seen), 0);
    cr_assert_eq(pthread_join(p, NULL), 0);
    cr_assert_str_eq(seen, "");
}

#define STACK_REQUEST (256u * 1024)
#define STACK_TOUCH (200u * 1024)

static void *thr_use_stack(void *arg)
{
    size_t *reported = arg;
    volatile char buf[STACK_TOUCH];
    for (size_t i = 0; i < sizeof buf; i += 512)
        buf[i] = (char)i;
    unsigned sum = 0;
    for (size_t i = 0; i < sizeof buf; i += 512)
        sum += (unsigned char)buf[i];
    pthread_attr_t a;
    cr_assert_eq(pthread_getattr_np(pthread_self(), &a), 0);
    cr_assert_eq(pthread_attr_getstacksize(&a, reported), 0);
    pthread_attr_destroy(&a);
    return (void *)(uintptr_t)sum;
}

Test(thread, custom_stack_size)
{
    weft_thread_options o = WEFT_THREAD_OPTIONS_INIT;
    o.stack_size = STACK_REQUEST;
    size_t reported = 0;
    weft_thread *t;
    cr_assert_eq(weft_thread_spawn(&o, thr_use_stack, &reported, &t), 0);
    cr_assert_eq(weft_thread_join(t, NULL), 0);
    cr_assert_geq(reported, STACK_REQUEST);
    /* glibc rounds up to whole pages; far below the 8 MiB default */
    cr_assert_lt(reported, STACK_REQUEST + 64 * 1024, "reported %zu", reported);
}

Test(thread, bad_options_are_rejected)
{
    weft_thread *t = (weft_thread *)(uintptr_t)0x1234; /* must stay untouched */
    weft_thread_options o = WEFT_THREAD_OPTIONS_INIT;
    o.stack_size = 1024;
    cr_assert_eq(weft_thread_spawn(&o, thr_add_one, NULL, &t), -EINVAL);
    o.stack_size = (size_t)PTHREAD_STACK_MIN - 1;
    cr_assert_eq(weft_thread_spawn(&o, thr_add_one, NULL, &t), -EINVAL);
    o.stack_size = 0;
    o.pin_cpu = 100000;
    cr_assert_eq(weft_thread_spawn(&o, thr_add_one, NULL, &t), -EINVAL);
    o.pin_cpu = -2;
    cr_assert_eq(weft_thread_spawn(&o, thr_add_one, NULL, &t), -EINVAL);
    cr_assert_eq((uintptr_t)t, 0x1234);

    /* the smallest legal stack works */
    o.pin_cpu = -1;
    o.stack_size = (size_t)PTHREAD_STACK_MIN;
    cr_assert_eq(weft_thread_spawn(&o, thr_add_one, NULL, &t), 0);
    cr_assert_eq(weft_thread_join(t, NULL), 0);
}

Test(thread, null_arguments_are_rejected)
{
    weft_thread *t;
    cr_assert_eq(weft_thread_spawn(NULL, NULL, NULL, &t), -EINVAL);
    cr_assert_eq(weft_thread_spawn(NULL, thr_add_one, NULL, NULL), -EINVAL);
    cr_assert_eq(weft_thread_join(NULL, NULL), -EINVAL);
    cr_assert_eq(weft_thread_join_timeout(NULL, 0, NULL), -EINVAL);
    cr_assert_eq(weft_thread_try_join(NULL, NULL), -EINVAL);
    cr_assert_eq(weft_thread_detach(NULL), -EINVAL);
    cr_assert_eq(weft_thread_set_name(NULL), -EINVAL);
}

typedef struct {
    int cpu;
    int cpu_count; /* CPUs in the thread's own affinity mask */
} pinned;

static void *thr_where(void *arg)
{
    pinned *p = arg;
    cpu_set_t set;
    CPU_ZERO(&set);
    cr_assert_eq(sched_getaffinity(0, sizeof set, &set), 0);
    p->cpu_count = CPU_COUNT(&set);
    p->cpu = sched_getcpu();
    return NULL;
}

Test(thread, pinned_thread_runs_on_its_cpu)
{
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    cr_assert_eq(sched_getaffinity(0, sizeof allowed, &allowed), 0);
    int tried = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, &allowed))
            continue;
        weft_thread_options o = WEFT_THREAD_OPTIONS_INIT;
        o.pin_cpu = cpu;
        pinned p = {-1, 0};
        weft_thread *t;
        cr_assert_eq(weft_thread_spawn(&o, thr_where, &p, &t), 0, "cpu %d", cpu);
        cr_assert_eq(weft_thread_join(t, NULL), 0);
        cr_assert_eq(p.cpu, cpu);
        cr_assert_eq(p.cpu_count, 1);
        if (++tried == 4)
            break;
    }
    cr_assert_gt(tried, 0);
}

/* A thread that waits for the test to let it go, then returns arg. */
typedef struct {
    weft_latch go;
    void *value;
} gated;

static void *thr_gated(void *arg)
{
    gated *g = arg;
    cr_assert_eq(weft_latch_wait(&g->go), 0);
    return g->value;
}

Test(thread, join_timeout_times_out_then_joins)
{
    gated g = {WEFT_LATCH_INIT(1), (void *)5};
    weft_thread *t;
    cr_assert_eq(weft_thread_spawn(NULL, thr_gated, &g, &t), 0);
    uint64_t start = weft_time_now_ns();
    void *r = (void *)1;
    cr_assert_eq(weft_thread_join_timeout(t, 20 * MS, &r), -ETIMEDOUT);
    cr_assert_geq(weft_time_now_ns() - start, 20 * MS);
    cr_assert_eq((uintptr_t)r, 1, "untouched on timeout");
    cr_assert_eq(weft_thread_join_timeout(t, 0, &r), -ETIMEDOUT);
    cr_assert_eq(weft_latch_count_down(&g.go, 1), 0);
    cr_assert_eq(weft_thread_join_timeout(t, 60000 * MS, &r), 0);
    cr_assert_eq((uintptr_t)r, 5);
}

Test(thread, try_join_is_eagain_until_done)
{
    gated g = {WEFT_LATCH_INIT(1), (void *)9};
    weft_thread *t;
    cr_assert_eq(weft_thread_spawn(NULL, thr_gated, &g, &t), 0);
    void *r = (void *)1;
    cr_assert_eq(weft_thread_try_join(t, &r), -EAGAIN);
    cr_assert_eq((uintptr_t)r, 1);
    cr_assert_eq(weft_latch_count_down(&g.go, 1), 0);
    int rc;
    while ((rc = weft_thread_try_join(t, &r)) == -EAGAIN)
        weft_thread_sleep(MS);
    cr_assert_eq(rc, 0);
    cr_assert_eq((uintptr_t)r, 9);
}

static void *thr_count_down_finished(void *arg)
{
    cr_assert_eq(weft_latch_count_down(arg, 1), 0);
    return NULL;
}

Test(thread, detach_running_and_finished_threads)
{
    /* static: the threads may outlive this function (each test is its own process) */
    static gated g = {WEFT_LATCH_INIT(1), NULL};
    static weft_latch finished = WEFT_LATCH_INIT(1);

    /* running: detached while blocked, then let go */
    weft_thread *t;
    cr_assert_eq(weft_thread_spawn(NULL, thr_gated, &g, &t), 0);
    cr_assert_eq(weft_thread_detach(t), 0);
    cr_assert_eq(weft_latch_count_down(&g.go, 1), 0);

    /* finished: the thread signals it is done, then has time to exit before detach */
    cr_assert_eq(weft_thread_spawn(NULL, thr_count_down_finished, &finished, &t), 0);
    cr_assert_eq(weft_latch_wait(&finished), 0);
    weft_thread_sleep(20 * MS);
    cr_assert_eq(weft_thread_detach(t), 0);
    /* give the first thread time to end too, so the leak check sees a quiet process */
    weft_thread_sleep(20 * MS);
}

Test(thread, sleep_lasts_at_least_as_asked)
{
    uint64_t start = weft_time_now_ns();
    cr_assert_eq(weft_thread_sleep(15 * MS), 0);
    cr_assert_geq(weft_time_now_ns() - start, 15 * MS);
    cr_assert_eq(weft_thread_sleep(0), 0);
    weft_thread_yield();
}

/* "Resumed after signals": a signal handler interrupts the sleep (clock_nanosleep is
 * never restarted by SA_RESTART), and the sleep still lasts the whole time asked. */
static volatile sig_atomic_t signals_handled;
static void count_signal(int sig)
{
    (void)sig;
    signals_handled++;
}

typedef struct {
    weft_latch ready;
    _Atomic int done;
    int rc;
    uint64_t slept;
} long_sleep;

static void *thr_long_sleep(void *arg)
{
    long_sleep *ls = arg;
    uint64_t t0 = weft_time_now_ns();
    weft_latch_count_down(&ls->ready, 1);
    ls->rc = weft_thread_sleep(100 * MS);
    ls->slept = weft_time_now_ns() - t0;
    atomic_store(&ls->done, 1);
    return NULL;
}

Test(thread, sleep_is_resumed_after_signals)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = count_signal;
    sigemptyset(&sa.sa_mask);
    cr_assert_eq(sigaction(SIGUSR1, &sa, NULL), 0);
    long_sleep ls = {.ready = WEFT_LATCH_INIT(1)};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, thr_long_sleep, &ls), 0);
    weft_latch_wait(&ls.ready);
    while (!atomic_load(&ls.done)) {
        pthread_kill(t, SIGUSR1);
        nanosleep(&(struct timespec){0, 2 * 1000 * 1000}, NULL);
    }
    cr_assert_eq(pthread_join(t, NULL), 0);
    cr_assert_eq(ls.rc, 0);
    cr_assert_geq(signals_handled, 1);
    cr_assert_geq(ls.slept, 100 * MS, "slept %llu ns of 100 ms", (unsigned long long)ls.slept);
}

/* The handle reaches the thread only after spawn returned: through `ready`. */
typedef struct {
    weft_latch ready;
    weft_thread *self;
    int join, join_timeout, try_join;
} self_join;

static void *thr_join_self(void *arg)
{
    self_join *s = arg;
    cr_assert_eq(weft_latch_wait(&s->ready), 0);
    s->join = weft_thread_join(s->self, NULL);
    s->join_timeout = weft_thread_join_timeout(s->self, MS, NULL);
    s->try_join = weft_thread_try_join(s->self, NULL);
    return NULL;
}

Test(thread, joining_oneself_is_edeadlk)
{
    self_join s = {.ready = WEFT_LATCH_INIT(1)};
    cr_assert_eq(weft_thread_spawn(NULL, thr_join_self, &s, &s.self), 0);
    cr_assert_eq(weft_latch_count_down(&s.ready, 1), 0);
    cr_assert_eq(weft_thread_join(s.self, NULL), 0);
    cr_assert_eq(s.join, -EDEADLK);
    cr_assert_eq(s.join_timeout, -EDEADLK);
    cr_assert_eq(s.try_join, -EDEADLK);
}

#ifndef NDEBUG
/* Debug builds catch a handle used again after the join or detach that freed it: a
 * second join crashed (it read the freed handle). Every call on it is -EINVAL. */
Test(thread, debug_handle_used_after_join_or_detach_is_einval)
{
    weft_thread *t;
    cr_assert_eq(weft_thread_spawn(NULL, thr_add_one, NULL, &t), 0);
    cr_assert_eq(weft_thread_join(t, NULL), 0);
    cr_assert_eq(weft_thread_join(t, NULL), -EINVAL);
    cr_assert_eq(weft_thread_join_timeout(t, MS, NULL), -EINVAL);
    cr_assert_eq(weft_thread_try_join(t, NULL), -EINVAL);
    cr_assert_eq(weft_thread_detach(t), -EINVAL);

    cr_assert_eq(weft_thread_spawn(NULL, thr_add_one, NULL, &t), 0);
    while (weft_thread_try_join(t, NULL) == -EAGAIN)
        weft_thread_yield();
    cr_assert_eq(weft_thread_join(t, NULL), -EINVAL);

    static gated g = {WEFT_LATCH_INIT(1), NULL}; /* static: as in detach_running_... */
    cr_assert_eq(weft_thread_spawn(NULL, thr_gated, &g, &t), 0);
    cr_assert_eq(weft_thread_detach(t), 0);
    cr_assert_eq(weft_thread_join(t, NULL), -EINVAL); /* still running, but not ours */
    cr_assert_eq(weft_thread_detach(t), -EINVAL);
    cr_assert_eq(weft_latch_count_down(&g.go, 1), 0);
    weft_thread_sleep(20 * MS); /* let it end before the leak check */
}
#endif
