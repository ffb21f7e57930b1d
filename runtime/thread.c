/* thread.c: 1:1 OS threads (std::thread in C): spawn with a name, a stack size and an
 * optional CPU; join (blocking, timed, non-blocking) for the result; or detach.
 *
 * Invariants:
 *  - A handle is shared by two owners, the thread itself and the caller's handle, and
 *    `refs` counts them (2 at spawn). The thread drops its reference when it finishes;
 *    join or detach drops the caller's. Whoever drops the last one frees the block, so
 *    a detached handle is freed exactly once whichever of (detach, thread exit) comes
 *    last, and never while the other side still uses it.
 *  - `done` (a weft_latch of count 1) reaches zero exactly once, after `result` is
 *    written; every join waits on it first, so a join that saw it at zero only waits in
 *    pthread_join for the thread's last few instructions. On -ETIMEDOUT / -EAGAIN the
 *    handle is untouched and still owned by the caller.
 *  - The thread's name lives in thread-local storage (no global mutable state); an
 *    unnamed thread whose id equals the process id is the initial thread: "main".
 *  - On a spawn error nothing leaks and *out is untouched.
 *  - Debug builds: a handle is in the live set (handles.c) from spawn until the join
 *    or detach that consumes it, which leaves the set before dropping its reference;
 *    every call on a handle not in the set returns -EINVAL without reading it. */
#include <weft/runtime.h>
#include <weft/sync.h>

#include "handles_internal.h"
#include "thread_internal.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The kernel shows (and pthread_setname_np accepts) 15 bytes plus the NUL. */
#define OS_NAME_MAX 15

struct weft_thread {
    pthread_t tid;
    weft_thread_fn fn;
    void *arg;
    void *result;          /* fn's return value; written before `done` is released */
    weft_latch done;       /* 1 while running; 0 once the thread is finishing */
    _Atomic uint32_t refs; /* owners left: the thread and the handle (see above) */
    weft_handle_link live; /* debug builds: membership of the live set */
    char name[WEFT_THREAD_NAME_MAX + 1]; /* "" if spawned unnamed */
};

/* The calling thread's name. tls_named false: never named, so "main" or "". */
static _Thread_local char tls_name[WEFT_THREAD_NAME_MAX + 1];
static _Thread_local bool tls_named;

/* Copy at most WEFT_THREAD_NAME_MAX bytes of src into dst (NUL-terminated). */
static void copy_name(char dst[static WEFT_THREAD_NAME_MAX + 1], const char *src)
{
    size_t n = strnlen(src, WEFT_THREAD_NAME_MAX);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Give the calling thread `name` (already cut to WEFT_THREAD_NAME_MAX) here and, cut
 * to 15 bytes, in the OS. */
static void set_own_name(const char *name)
{
    copy_name(tls_name, name);
    tls_named = true;
    char os_name[OS_NAME_MAX + 1];
    size_t n = strnlen(name, OS_NAME_MAX);
    memcpy(os_name, name, n);
    os_name[n] = '\0';
    /* Only fails with ERANGE (too long), impossible here; the OS name is cosmetic. */
    (void)pthread_setname_np(pthread_self(), os_name);
}

/* Drop one of the two references; the last one frees the handle. */
static void thread_unref(weft_thread *t)
{
    /* acq_rel: the release half publishes this owner's last uses of *t to whoever
     * drops the final reference; the acquire half (on that final drop) pairs with the
     * other owner's release, so free() runs after every use of *t by both owners. */
    if (atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) == 1)
        free(t);
}

/* Runs when the thread ends, whether fn returned or the thread left by pthread_exit
 * or cancellation: publish completion, then let go of the handle. */
static void thread_finish(void *p)
{
    weft_thread *t = p;
    /* The latch releases: it pairs with the acquire in a joiner's latch wait, which
     * then sees t->result. */
    weft_latch_count_down(&t->done, 1);
    thread_unref(t); /* after this, *t may be gone: do not touch it */
}

/* glibc's C pthread_cleanup_push is built on setjmp; at -O3 GCC warns that a local of
 * that macro "might be clobbered", wrongly: it is set once, before the setjmp. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wclobbered"
#endif
static void *thread_main(void *p)
{
    weft_thread *t = p;
    if (t->name[0] != '\0')
        set_own_name(t->name);
    else
        tls_named = true; /* unnamed: "" (a spawned thread is never the initial one) */
    /* The handler also runs if fn leaves by pthread_exit or is cancelled, so joiners
     * are still woken and a detached handle still freed. */
    pthread_cleanup_push(thread_finish, t);
    t->result = t->fn(t->arg);
    pthread_cleanup_pop(1);
    /* *t may be freed by now (detached). The value of pthread_join is NULL here, or
     * the v of pthread_exit(v) (see finish_join). */
    return NULL;
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

/* Whether cpu is one this process may run on: -EINVAL if not (or out of range). */
static int check_cpu_allowed(int cpu)
{
    /* The kernel rejects a mask shorter than its own CPU count: grow until accepted. */
    for (size_t ncpus = CPU_SETSIZE; ncpus <= ((size_t)1 << 22); ncpus *= 2) {
        cpu_set_t *set = CPU_ALLOC(ncpus);
        if (!set)
            return -ENOMEM;
        size_t size = CPU_ALLOC_SIZE(ncpus);
        if (sched_getaffinity(0, size, set) == 0) {
            bool ok = (size_t)cpu < size * 8 && CPU_ISSET_S((size_t)cpu, size, set);
            CPU_FREE(set);
            return ok ? 0 : -EINVAL;
        }
        int err = errno;
        CPU_FREE(set);
        if (err != EINVAL)
            return -EINVAL; /* cannot tell which CPUs are ours: treat as not ours */
    }
    return -EINVAL;
}

/* Fill attr from opts (attr already initialised). Returns 0 or a negative errno. */
static int apply_options(pthread_attr_t *attr, const weft_thread_options *opts)
{
    if (opts->stack_size != 0) {
        if (opts->stack_size < (size_t)PTHREAD_STACK_MIN ||
            pthread_attr_setstacksize(attr, opts->stack_size) != 0)
            return -EINVAL;
    }
    if (opts->pin_cpu < -1)
        return -EINVAL;
    if (opts->pin_cpu >= 0) {
        int err = check_cpu_allowed(opts->pin_cpu);
        if (err)
            return err;
        size_t ncpus = (size_t)opts->pin_cpu + 1;
        cpu_set_t *set = CPU_ALLOC(ncpus);
        if (!set)
            return -ENOMEM;
        size_t size = CPU_ALLOC_SIZE(ncpus);
        CPU_ZERO_S(size, set);
        CPU_SET_S((size_t)opts->pin_cpu, size, set);
        int rc = pthread_attr_setaffinity_np(attr, size, set); /* copies the set */
        CPU_FREE(set);
        if (rc != 0)
            return rc == ENOMEM ? -ENOMEM : -EINVAL;
    }
    return 0;
}

/* pthread_create with attr, retried without the start set `set` (if any) when the
 * system refuses it. Returns pthread_create's error. */
static int create(pthread_t *tid, pthread_attr_t *attr, const weft_thread_options *opts, const cpu_set_t *set,
                  size_t size, void *t)
{
    bool on_set = set && opts->pin_cpu < 0 && pthread_attr_setaffinity_np(attr, size, set) == 0;
    int rc = pthread_create(tid, attr, thread_main, t);
    if (rc == EINVAL && on_set) { /* the set, not the rest: apply_options' attr was accepted before */
        pthread_attr_t plain;
        if (pthread_attr_init(&plain) != 0)
            return rc;
        if (apply_options(&plain, opts) == 0)
            rc = pthread_create(tid, &plain, thread_main, t);
        pthread_attr_destroy(&plain);
    }
    return rc;
}

int weft__thread_spawn_on(const weft_thread_options *opts, const cpu_set_t *set, size_t size, weft_thread_fn fn,
                          void *arg, weft_thread **out)
{
    static const weft_thread_options defaults = WEFT_THREAD_OPTIONS_INIT;
    if (!fn || !out)
        return -EINVAL;
    if (!opts)
        opts = &defaults;

    pthread_attr_t attr;
    int rc = pthread_attr_init(&attr);
    if (rc != 0)
        return rc == ENOMEM ? -ENOMEM : -EAGAIN;
    int err = apply_options(&attr, opts);
    if (err) {
        pthread_attr_destroy(&attr);
        return err;
    }

    weft_thread *t = malloc(sizeof *t);
    if (!t) {
        pthread_attr_destroy(&attr);
        return -ENOMEM;
    }
    t->fn = fn;
    t->arg = arg;
    t->result = NULL;
    weft_latch_init(&t->done, 1);
    /* Relaxed: pthread_create publishes the whole block to the new thread. */
    atomic_init(&t->refs, 2);
    copy_name(t->name, opts->name ? opts->name : "");

    rc = create(&t->tid, &attr, opts, set, size, t);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        free(t);
        switch (rc) {
        case EAGAIN: return -EAGAIN;
        case ENOMEM: return -ENOMEM;
        case EINVAL: return -EINVAL; /* e.g. the CPU went offline meanwhile */
        default: return -EAGAIN;     /* EPERM and kin: a system limit */
        }
    }
    weft__handle_register(&t->live);
    *out = t;
    return 0;
}

int weft_thread_spawn(const weft_thread_options *opts, weft_thread_fn fn, void *arg, weft_thread **out)
{
    return weft__thread_spawn_on(opts, NULL, 0, fn, arg, out);
}

/* The end of every join: `done` has been seen at zero. Reap the OS thread, hand out
 * the result, drop the caller's reference (the last one: the thread has exited). */
static int finish_join(weft_thread *t, void **result)
{
    void *exit_value = NULL;
    int rc = pthread_join(t->tid, &exit_value);
    if (rc != 0)
        return -rc; /* not joinable: misuse (already joined or detached) */
    if (result)
        /* fn returned: thread_main returned NULL and t->result holds the value;
         * fn called pthread_exit(v): t->result is still NULL, v is in exit_value. */
        *result = t->result ? t->result : exit_value;
    weft__handle_unregister(&t->live);
    thread_unref(t);
    return 0;
}

int weft_thread_join(weft_thread *t, void **result)
{
    if (!t || !weft__handle_is_live(&t->live)) /* debug builds: joined or detached already */
        return -EINVAL;
    if (pthread_equal(t->tid, pthread_self()))
        return -EDEADLK;
    int err = weft_latch_wait(&t->done);
    if (err)
        return err;
    return finish_join(t, result);
}

int weft_thread_join_timeout(weft_thread *t, uint64_t timeout_ns, void **result)
{
    if (!t || !weft__handle_is_live(&t->live)) /* debug builds: joined or detached already */
        return -EINVAL;
    if (pthread_equal(t->tid, pthread_self()))
        return -EDEADLK;
    int err = weft_latch_wait_timeout(&t->done, timeout_ns);
    if (err)
        return err; /* -ETIMEDOUT: the handle stays valid */
    return finish_join(t, result);
}

int weft_thread_try_join(weft_thread *t, void **result)
{
    if (!t || !weft__handle_is_live(&t->live)) /* debug builds: joined or detached already */
        return -EINVAL;
    if (pthread_equal(t->tid, pthread_self()))
        return -EDEADLK;
    int err = weft_latch_try_wait(&t->done);
    if (err)
        return err; /* -EAGAIN: still running, the handle stays valid */
    return finish_join(t, result);
}

int weft_thread_detach(weft_thread *t)
{
    if (!t || !weft__handle_is_live(&t->live)) /* debug builds: joined or detached already */
        return -EINVAL;
    int rc = pthread_detach(t->tid); /* before the unref: reads t->tid */
    if (rc != 0)
        return -rc;
    weft__handle_unregister(&t->live);
    thread_unref(t);
    return 0;
}

int weft_thread_sleep(uint64_t ns)
{
    uint64_t deadline = weft_deadline_after(ns);
    struct timespec ts = {
        .tv_sec = (time_t)(deadline / 1000000000u),
        .tv_nsec = (long)(deadline % 1000000000u),
    };
    /* An absolute deadline: a signal only costs the time of its handler. */
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
    return 0;
}

void weft_thread_yield(void)
{
    sched_yield();
}

const char *weft_thread_name(void)
{
    if (tls_named)
        return tls_name;
    return getpid() == gettid() ? "main" : "";
}

int weft_thread_set_name(const char *name)
{
    if (!name)
        return -EINVAL;
    char cut[WEFT_THREAD_NAME_MAX + 1];
    copy_name(cut, name);
    set_own_name(cut);
    return 0;
}
