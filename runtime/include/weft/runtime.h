/* weft/runtime.h: threads and (coming with the scheduler) pools, join, spawn, scopes.
 *
 * Section 1, threads: 1:1 OS threads with a name, a stack size and an optional CPU,
 * joined for their result (std::thread in C). */
#ifndef WEFT_RUNTIME_H
#define WEFT_RUNTIME_H

#include <weft/common.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------
 * Threads */

/* An OS thread started by weft_thread_spawn. Opaque; freed by a successful join or
 * by detach. */
typedef struct weft_thread weft_thread;

typedef void *(*weft_thread_fn)(void *arg);

/* Longest name kept (bytes, without the terminating NUL); longer names are cut.
 * The OS (ps, top, gdb) sees only the first 15 bytes. */
#define WEFT_THREAD_NAME_MAX 63

typedef struct weft_thread_options {
    const char *name;  /* NULL: unnamed; copied, need not outlive the call */
    size_t stack_size; /* 0: the system default; else at least PTHREAD_STACK_MIN */
    int pin_cpu;       /* -1: not pinned; else the OS index of the CPU to run on */
} weft_thread_options;
#define WEFT_THREAD_OPTIONS_INIT {NULL, 0, -1}

/* Start fn(arg) on a new thread; *out is its handle. opts NULL means defaults.
 * Returns 0; -EINVAL (fn or out NULL, stack_size too small, pin_cpu not a CPU this
 * process may use); -EAGAIN (a system limit on threads or memory); -ENOMEM. On error
 * no thread was started and *out is untouched. Thread-safe. */
WEFT_API int weft_thread_spawn(const weft_thread_options *opts, weft_thread_fn fn, void *arg,
                               weft_thread **out);

/* Wait for the thread to finish, store fn's return value in *result (if result is
 * not NULL) and free the handle. Returns 0; -EINVAL (NULL); -EDEADLK (a thread
 * joining itself). Call once per handle. */
WEFT_API int weft_thread_join(weft_thread *t, void **result);
/* Like join, giving up after timeout_ns: on -ETIMEDOUT the handle stays valid. */
WEFT_API int weft_thread_join_timeout(weft_thread *t, uint64_t timeout_ns, void **result);
/* Join if finished, else -EAGAIN (the handle stays valid). Never blocks. */
WEFT_API int weft_thread_try_join(weft_thread *t, void **result);
/* Let the thread run on unjoined; its resources go when it ends. Frees the handle.
 * Returns 0 or -EINVAL. */
WEFT_API int weft_thread_detach(weft_thread *t);

/* Sleep at least ns nanoseconds (resumed after signals). Returns 0. */
WEFT_API int weft_thread_sleep(uint64_t ns);
/* Offer the CPU to another runnable thread. */
WEFT_API void weft_thread_yield(void);
/* The calling thread's name: as given to spawn or set_name, "main" for the process's
 * initial thread, "" for other unnamed threads. Valid until the thread renames
 * itself or exits. */
WEFT_API const char *weft_thread_name(void);
/* Rename the calling thread (cut to WEFT_THREAD_NAME_MAX bytes; the OS sees 15).
 * Returns 0 or -EINVAL (NULL). */
WEFT_API int weft_thread_set_name(const char *name);

#ifdef __cplusplus
}
#endif
#endif /* WEFT_RUNTIME_H */
