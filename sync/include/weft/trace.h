/* weft/trace.h: a timeline of what the pool did, written as Chrome trace-event JSON
 * (Perfetto, ui.perfetto.dev, and chrome://tracing open it).
 *
 * While tracing is on, every thread that runs weft code records spans into a ring of
 * its own: jobs run by the scheduler (named by their function's symbol when dladdr
 * finds one, else by module+offset), par_for chunks, steals, idle searches and
 * sleeps, wake-ups, join and scope waits, pool creation and destruction, and every
 * park in weft_futex_wait (lock, latch and channel waits). weft_trace_stop (or the
 * process's exit) writes them: one track per thread, named like the thread.
 *
 * Tracing is off by default and then costs one predictable branch per recording
 * point. It is turned on by the environment (WEFT_TRACE=path.json, read when libweft
 * is loaded, written at exit) or from code for one region of a program:
 *
 *     weft_trace_start("loop.json");
 *     ... the region ...
 *     weft_trace_stop();
 *
 * Memory is bounded: each thread keeps its last WEFT_TRACE_EVENTS events (default
 * 65536, 40 bytes each); older ones are dropped, and the trace says how many.
 *
 * Thread-safety: start and stop may be called from any thread; they serialise. */
#ifndef WEFT_TRACE_H
#define WEFT_TRACE_H

#include <weft/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Start recording; the trace goes to `path` (created or truncated now) at
 * weft_trace_stop or at exit. Reads WEFT_TRACE_EVENTS (events per thread).
 * Errors: -EINVAL (path NULL or empty), -EBUSY (already tracing), -ENOMEM, -EIO (the
 * file cannot be created), -ENOTSUP (libweft was built with WEFT_TRACING=OFF). */
WEFT_API int weft_trace_start(const char *path);

/* Stop recording and write the trace. Never waits for another thread: events a
 * thread is recording at this instant may be left out. Errors: -EINVAL (not
 * tracing), -EIO (a write failed; the file is incomplete). */
WEFT_API int weft_trace_stop(void);

#ifdef __cplusplus
}
#endif

/* ------------------------------------------------------------------------------
 * libweft's recording points (weft__, not API; compiled into libweft only). */
#if defined(WEFT_BUILDING) && !defined(__cplusplus)
#include <stdatomic.h>
#include <stdbool.h>

/* What a span records; a and b are its arguments (docs/api.md lists them). The
 * waits name what they wait for, and a job span names what waits for it, so a reader
 * can link them (the critical span of tools/trace/trace_critical.h). */
enum weft__trace_kind {
    WEFT__TRACE_JOB = 1,      /* a: the function; b: the job, or its scope | 1 */
    WEFT__TRACE_CHUNK,        /* a, b: par_for's [begin, end) */
    WEFT__TRACE_LOOP,         /* a, b: par_for's whole range */
    WEFT__TRACE_STEAL,        /* a: victim worker index */
    WEFT__TRACE_IDLE,         /* a worker's search for work (sleeps inside); a: searches that found nothing */
    WEFT__TRACE_SLEEP,        /* a: 1 if woken by another thread */
    WEFT__TRACE_WAKE,         /* instant; a: the worker woken */
    WEFT__TRACE_JOIN_WAIT,    /* a: the job another thread runs (a stolen half, a task, a job handed to a pool) */
    WEFT__TRACE_SCOPE_WAIT,   /* a: the scope */
    WEFT__TRACE_POOL_CREATE,  /* a: threads */
    WEFT__TRACE_POOL_DESTROY, /* a: threads */
    WEFT__TRACE_PARK,         /* a: the futex word */
    WEFT__TRACE_KINDS
};

/* Non-zero while tracing (the session's number). Read relaxed: a recorder needs
 * nothing published with it (its ring is its own; trace.c). */
__attribute__((visibility("hidden"))) extern _Atomic uint32_t weft__trace_session;

/* 0 in a build with WEFT_TRACING=OFF (the build defines it): every recording point
 * folds away, weft__trace_on being a constant false. */
#ifndef WEFT__TRACE_POINTS
#define WEFT__TRACE_POINTS 1
#endif

static inline bool weft__trace_on(void)
{
#if WEFT__TRACE_POINTS
    return __builtin_expect(atomic_load_explicit(&weft__trace_session, memory_order_relaxed) != 0, 0);
#else
    return false;
#endif
}

/* A span's start: the time when tracing, else 0 (then weft__trace_end records nothing). */
__attribute__((visibility("hidden"))) uint64_t weft__trace_clock(void);
static inline uint64_t weft__trace_begin(void)
{
    return weft__trace_on() ? weft__trace_clock() : 0;
}

/* Record a span of `kind` from t0 (weft__trace_begin's) to now; nothing if t0 is 0.
 * An instant (WAKE) is a span with t0 == now: weft__trace_instant. */
__attribute__((visibility("hidden"))) void weft__trace_record(unsigned kind, uint64_t t0, uint64_t a, uint64_t b);
static inline void weft__trace_end(unsigned kind, uint64_t t0, uint64_t a, uint64_t b)
{
    if (__builtin_expect(t0 != 0, 0))
        weft__trace_record(kind, t0, a, b);
}
/* Record a span from t0, a time the caller reads anyway, if tracing is on now: a span
 * begun before the trace started is written from the trace's start. */
static inline void weft__trace_end_since(unsigned kind, uint64_t t0, uint64_t a, uint64_t b)
{
    if (weft__trace_on())
        weft__trace_record(kind, t0, a, b);
}
static inline void weft__trace_instant(unsigned kind, uint64_t a, uint64_t b)
{
    if (weft__trace_on())
        weft__trace_record(kind, UINT64_MAX, a, b);
}

/* Job spans: open one around a job's execute (a: the execute function; b: the job);
 * the job's kind names the user's function with weft__trace_job_fn, which sets it
 * once on the innermost open job span of this thread, and a scope task names its
 * scope instead of itself with weft__trace_scope_task (what its waiter waits for).
 * A job whose last act lets a waiter go (a latch set) ends its span just before,
 * with weft__trace_job_done: a waiter that stops the trace next finds it written. */
typedef struct weft__trace_job_span {
    uint64_t t0;
    uint64_t fn;
    uint64_t link;
    const void *job;
    bool named, closed;
    struct weft__trace_job_span *up;
} weft__trace_job_span;
__attribute__((visibility("hidden"))) void weft__trace_job_open(weft__trace_job_span *s, void *job, void *execute);
__attribute__((visibility("hidden"))) void weft__trace_job_close(weft__trace_job_span *s);
__attribute__((visibility("hidden"))) void weft__trace_job_fn_slow(void *fn, const void *scope);
static inline void weft__trace_job_fn(void *fn)
{
    if (weft__trace_on())
        weft__trace_job_fn_slow(fn, NULL);
}
static inline void weft__trace_scope_task(void *fn, const void *scope)
{
    if (weft__trace_on())
        weft__trace_job_fn_slow(fn, scope);
}
__attribute__((visibility("hidden"))) void weft__trace_job_done_slow(const void *job);
static inline void weft__trace_job_done(const void *job)
{
    if (weft__trace_on())
        weft__trace_job_done_slow(job);
}
#endif /* WEFT_BUILDING */

#endif /* WEFT_TRACE_H */
