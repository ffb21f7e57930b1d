/* weft/inline.h: inline fork-join — typed tasks whose fork and join are compiled into
 * the calling code, over a worker layout this header exposes. weft_join (runtime.h)
 * is the portable form: one call into libweft per fork, two void * halves. Here a
 * fork writes the task's arguments into a frame on the caller's stack and pushes its
 * address on the worker's deque, and the join pops it back and calls the task
 * function directly (the compiler sees the call, with its types, and may inline it):
 * no call into libweft unless the scheduler is needed (a thief took the task, the
 * deque must grow or share, a worker is idle, the caller is no pool thread).
 *
 *     WEFT_TASK_1(uint64_t, fib, int, n)
 *     {
 *         if (n < 2)
 *             return (uint64_t)n;
 *         WEFT_FRAME(fib) f;
 *         WEFT_FORK(fib, &f, n - 1);      // fib(n - 1) may now run on another worker
 *         uint64_t b = fib(n - 2);        // a plain call
 *         return WEFT_JOIN(fib, &f) + b;  // fib(n - 1)'s result
 *     }
 *
 * Which form: weft_join for everything by default; this form where a fork wraps only
 * a few nanoseconds of work (a fork per call of a fine recursion) and the task can be
 * written as a function of up to four typed arguments in the translation unit that
 * forks it. Both may be mixed freely in one call tree.
 *
 * Contract (the guarantees of weft_join, which the tests check on both forms):
 *  - WEFT_TASK_n(R, name, T1, a1, ..., Tn, an) followed by a function body defines
 *    `static R name(T1 a1, ..., Tn an)`, a plain function that can also be called
 *    directly, and its fork and join; WEFT_VOID_TASK_n(name, ...) the same for a
 *    function returning void. n is 0 to 4 (pass a pointer to a struct for more).
 *    The task is static: fork it in the translation unit that defines it.
 *  - WEFT_FRAME(name) is the type of a frame for one fork of `name`: an automatic
 *    variable of the function that forks (never static, never shared).
 *  - WEFT_FORK(name, &frame, args...) returns at once; name(args...) runs exactly once,
 *    on this thread or another worker, before the matching WEFT_JOIN returns.
 *  - WEFT_JOIN(name, &frame) returns only after name(args...) returned, with its result
 *    (nothing for a void task); the task's writes happen before the join returns. If
 *    nobody took the task, it runs here, now. While a thief runs it, this thread runs
 *    other work (nested parallelism never blocks a worker and never deadlocks).
 *  - Every fork is joined, in the function that forked it, before that function
 *    returns, and joins come in the reverse order of their forks (a loop may fork
 *    into an array of frames, then join them from the last to the first). A frame is
 *    reused only after its join. Anything may run between a fork and its join: other
 *    forks and joins, weft_join, loops, blocking calls.
 *  - From a thread outside every pool, a fork enters the global pool as weft_join
 *    does (the thread works in a caller slot until the join; with every slot taken,
 *    the task is queued to a worker and the join blocks for it). Inside a
 *    weft_isolate region, forked tasks belong to the region.
 *  - Errors: none to handle. When a fork cannot be made parallel (the deque cannot
 *    grow, the global pool cannot start), the task runs at its join, on this thread.
 *  - Statistics (WEFT_STATS, weft_pool_stats) count a task in jobs_run only when the
 *    scheduler ran it (stolen, or run by a waiting worker), not when its join took
 *    it back.
 *
 * ABI: the fork and join read and write the first bytes of libweft's worker
 * (struct weft__worker_view) and build frames the scheduler runs (weft_frame), so a
 * program compiled with this header is bound to that layout. It belongs to the binary
 * interface WEFT_ABI_VERSION (weft/common.h), which is libweft's soname
 * (libweft.so.WEFT_ABI_VERSION): changing the layout bumps it, so a program built for
 * one layout never loads a library of another through its soname. What the soname
 * cannot see (a static libweft, or headers and library from different installs) is
 * caught at startup: every translation unit that includes this header runs a
 * constructor that calls weft_inline_abi_check with the version, sizes and offsets it
 * was compiled with; on a mismatch libweft prints both sides on stderr, as
 *     weft: inline fork-join ABI mismatch: this program was compiled with
 *     <weft/inline.h> for ABI 0 (frame 36 bytes, ...), but the libweft it runs with has
 *     ABI 0 (frame 40, ...). Rebuild the program against the headers of the libweft it
 *     links.
 * and the program aborts (SIGABRT) before main. Only what this header declares without
 * a double underscore is API; weft__* and WEFT__* are its internals. */
#ifndef WEFT_INLINE_H
#define WEFT_INLINE_H

#include <weft/common.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#ifndef __cplusplus
#include <stdbool.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------
 * The layout inline code shares with libweft (part of WEFT_ABI_VERSION). Plain
 * integer fields, read and written with the GCC/Clang __atomic builtins where
 * libweft's own code uses atomics, so that this header compiles as C and as C++. */

/* A worker of a pool, or a caller slot (opaque beyond weft__worker_view). */
struct weft_worker;

/* The scheduler's unit of work: `execute` runs it once, on the worker w that popped,
 * stole or dequeued it. Its fields are public for the frame's layout only. */
struct weft_job {
    void (*execute)(struct weft_job *job, struct weft_worker *w);
    uint64_t isolation; /* the weft_isolate region that created it (0: none) */
    struct weft_job *next;
};

/* One fork's frame: the job a thief runs and its completion latch, followed (in
 * WEFT_FRAME(name)) by the task's arguments and result. Fields are libweft's. */
typedef struct weft_frame {
    struct weft_job job_;
    uint32_t state_;              /* the latch: unset, set, an outside thread sleeps */
    struct weft_worker *waiter_;  /* the worker that forked; NULL: forked outside */
    int64_t index_;               /* the deque index the fork pushed it at */
} weft_frame;

/* The first bytes of every struct weft_worker: its deque (three lines of
 * WEFT__LINE bytes: the thieves' line, the split request, the owner's line; see
 * runtime/deque.md) and the two worker fields a fork reads. */
#define WEFT__LINE 128
struct weft__worker_view {
    int64_t top;                            /* thieves' line */
    unsigned char pad0_[WEFT__LINE - 8];
    uint32_t splitreq;                      /* a thief asks the owner to share */
    unsigned char pad1_[WEFT__LINE - 4];
    int64_t bottom;                         /* the owner's line */
    int64_t owner_split;
    int64_t owner_limit;
    void *owner_buffer_;
    void **owner_slots;
    size_t owner_mask;
    bool eager;
    unsigned char pad2_[WEFT__LINE - 6 * 8 - 1];
    uint64_t isolation;                     /* the worker's current isolation tag */
    const uint64_t *idle;                   /* its pool's idle-worker counts */
};

/* A fingerprint of every size and offset above, compared at startup. */
#define WEFT__OFF(type, field) ((uint64_t)offsetof(type, field))
#define WEFT__MIX(h, v) ((h) * UINT64_C(1000003) + (v))
#define WEFT__INLINE_LAYOUT                                                                 \
    WEFT__MIX(WEFT__MIX(WEFT__MIX(WEFT__MIX(WEFT__MIX(WEFT__MIX(WEFT__MIX(WEFT__MIX(        \
    WEFT__MIX(WEFT__MIX(WEFT__MIX(WEFT__MIX(WEFT__MIX(WEFT__MIX(WEFT__MIX(                  \
        (uint64_t)sizeof(struct weft_job),                                                  \
        WEFT__OFF(struct weft_job, isolation)), WEFT__OFF(struct weft_job, next)),          \
        WEFT__OFF(weft_frame, state_)), WEFT__OFF(weft_frame, waiter_) * 64 +              \
        WEFT__OFF(weft_frame, index_)),                                                     \
        WEFT__OFF(struct weft__worker_view, top)),                                          \
        WEFT__OFF(struct weft__worker_view, splitreq)),                                     \
        WEFT__OFF(struct weft__worker_view, bottom)),                                       \
        WEFT__OFF(struct weft__worker_view, owner_split)),                                  \
        WEFT__OFF(struct weft__worker_view, owner_limit)),                                  \
        WEFT__OFF(struct weft__worker_view, owner_slots)),                                  \
        WEFT__OFF(struct weft__worker_view, owner_mask)),                                   \
        WEFT__OFF(struct weft__worker_view, eager)),                                        \
        WEFT__OFF(struct weft__worker_view, isolation)),                                    \
        WEFT__OFF(struct weft__worker_view, idle)),                                         \
        (uint64_t)sizeof(bool))

/* Compare a program's compiled view of the inline ABI with libweft's: abi is
 * WEFT_ABI_VERSION, frame_size sizeof(weft_frame), view_size
 * sizeof(struct weft__worker_view), layout WEFT__INLINE_LAYOUT, each as the program
 * saw them. Returns 0 when they agree; else prints both sides on stderr and returns
 * -EPROTO. This header calls it at startup (and aborts on -EPROTO); calling it again
 * is harmless. Thread-safe. */
WEFT_API int weft_inline_abi_check(unsigned abi, size_t frame_size, size_t view_size, uint64_t layout);

#if !defined(WEFT_BUILDING)
/* One per translation unit: cheap (a call comparing four numbers) and before main. */
__attribute__((constructor, used)) static void weft__inline_abi_ctor(void)
{
    if (weft_inline_abi_check(WEFT_ABI_VERSION, sizeof(weft_frame), sizeof(struct weft__worker_view),
                              WEFT__INLINE_LAYOUT) != 0)
        abort();
}
#endif

/* The worker this thread runs, or NULL outside every pool (libweft's thread-local;
 * initial-exec: one load from the thread pointer). */
WEFT_API extern __thread struct weft_worker *weft__current_worker __attribute__((tls_model("initial-exec")));

/* The out-of-line halves (runtime/inline.c). fork_slow: push f however the deque
 * needs (grow, share, offer it to idle workers), or fork from outside the pools.
 * join_slow: f was not on top of a private deque part: take it back if nobody took it
 * (true: the caller runs the task now), else wait, helping, until it ran (false).
 * frame_done: a thief ran the task and stored its result: set the latch. */
WEFT_API void weft__frame_fork_slow(weft_frame *f);
WEFT_API bool weft__frame_join_slow(weft_frame *f);
WEFT_API void weft__frame_done(weft_frame *f);

#define WEFT__LIKELY(x) __builtin_expect(!!(x), 1)

/* The fork: the frame's arguments are stored; set up the job and push it on this
 * worker's deque, privately (runtime/deque.md: no fence, no read-modify-write), when
 * that is two stores (the test of weft__deque_push_private) and no worker is idle;
 * everything else is fork_slow. The relaxed accesses are those of the owner's
 * private push; the seq_cst load of the idle word is weft__sleep_any_idle's, which
 * masks out workers asleep while benched for a caller (here they send the fork to
 * fork_slow, which masks them). The
 * index goes in the frame so that the join need not derive it from bottom: then no
 * address the join computes waits for the load of bottom, which the stores of the
 * forks and joins in between feed (a store-to-load round trip per fork otherwise). */
static inline void weft__frame_fork(weft_frame *f, void (*execute)(struct weft_job *, struct weft_worker *))
{
    struct weft_worker *w = weft__current_worker;
    f->job_.execute = execute;
    if (WEFT__LIKELY(w != NULL)) {
        struct weft__worker_view *v = (struct weft__worker_view *)(void *)w;
        f->job_.isolation = v->isolation;
        f->state_ = 0;
        f->waiter_ = w;
        int64_t b = __atomic_load_n(&v->bottom, __ATOMIC_RELAXED);
        f->index_ = b;
        if (WEFT__LIKELY(b < v->owner_limit &&
                         (b != v->owner_split || !v->eager || __atomic_load_n(&v->top, __ATOMIC_RELAXED) < b) &&
                         __atomic_load_n(&v->splitreq, __ATOMIC_RELAXED) == 0 &&
                         __atomic_load_n(v->idle, __ATOMIC_SEQ_CST) == 0)) {
            __atomic_store_n(&v->owner_slots[(size_t)b & v->owner_mask], (void *)&f->job_, __ATOMIC_RELAXED);
            __atomic_store_n(&v->bottom, b + 1, __ATOMIC_RELAXED);
            return;
        }
    }
    weft__frame_fork_slow(f);
}

/* The join: true when the caller must run the task now (nobody took it), false when
 * it ran elsewhere (its result is in the frame). Inline: pop f if it is the newest
 * private item (bottom is one past its index and its slot holds it) and no split
 * request waits: weft__deque_pop_if's private case. Everything else is join_slow. */
static inline bool weft__frame_join(weft_frame *f)
{
    struct weft_worker *w = f->waiter_;
    if (WEFT__LIKELY(w != NULL)) {
        struct weft__worker_view *v = (struct weft__worker_view *)(void *)w;
        int64_t b = f->index_;
        if (WEFT__LIKELY(__atomic_load_n(&v->owner_slots[(size_t)b & v->owner_mask], __ATOMIC_RELAXED) ==
                             (void *)&f->job_ &&
                         __atomic_load_n(&v->bottom, __ATOMIC_RELAXED) == b + 1 && b >= v->owner_split &&
                         __atomic_load_n(&v->splitreq, __ATOMIC_RELAXED) == 0)) {
            __atomic_store_n(&v->bottom, b, __ATOMIC_RELAXED);
            return true;
        }
    }
    return weft__frame_join_slow(f);
}

/* ------------------------------------------------------------------------------
 * Typed tasks */

/* The frame type of task `name`, its fork and its join (see the file comment). */
#define WEFT_FRAME(name) struct name##_weft_frame_
#define WEFT_FORK(name, ...) name##_weft_fork_(__VA_ARGS__)
#define WEFT_JOIN(name, frame) name##_weft_join_(frame)

/* The parts every arity shares. FIELDS: the argument members; PARAMS: the parameter
 * list; FORK_PARAMS: the fork's parameters after the frame; STORE: copy them into
 * frame weft__f; ARGS: the call's arguments read from weft__f. */
#define WEFT__X(...) __VA_ARGS__
#define WEFT__TASK_COMMON(R, name, FIELDS, PARAMS, FORK_PARAMS, STORE, ARGS, RESULT_FIELD, RUN) \
    static R name(WEFT__X PARAMS);                                                          \
    WEFT_FRAME(name) {                                                                      \
        weft_frame weft__frame;                                                             \
        WEFT__X FIELDS RESULT_FIELD                                                         \
    };                                                                                      \
    static inline void name##_weft_execute_(struct weft_job *weft__j, struct weft_worker *weft__w) \
    {                                                                                       \
        WEFT_FRAME(name) *weft__f = (WEFT_FRAME(name) *)(void *)weft__j;                    \
        (void)weft__w;                                                                      \
        RUN;                                                                                \
        weft__frame_done(&weft__f->weft__frame);                                            \
    }                                                                                       \
    static inline void name##_weft_fork_(WEFT_FRAME(name) *weft__f WEFT__X FORK_PARAMS)     \
    {                                                                                       \
        WEFT__X STORE                                                                       \
        weft__frame_fork(&weft__f->weft__frame, name##_weft_execute_);                      \
    }

#define WEFT__TASK(R, name, FIELDS, PARAMS, FORK_PARAMS, STORE, ARGS)                        \
    WEFT__TASK_COMMON(R, name, FIELDS, PARAMS, FORK_PARAMS, STORE, ARGS, R weft__result;,  \
                      weft__f->weft__result = name(WEFT__X ARGS))                           \
    static inline R name##_weft_join_(WEFT_FRAME(name) *weft__f)                            \
    {                                                                                       \
        if (weft__frame_join(&weft__f->weft__frame))                                        \
            return name(WEFT__X ARGS);                                                      \
        return weft__f->weft__result;                                                       \
    }                                                                                       \
    static R name(WEFT__X PARAMS)

#define WEFT__VOID_TASK(name, FIELDS, PARAMS, FORK_PARAMS, STORE, ARGS)                      \
    WEFT__TASK_COMMON(void, name, FIELDS, PARAMS, FORK_PARAMS, STORE, ARGS, , name(WEFT__X ARGS)) \
    static inline void name##_weft_join_(WEFT_FRAME(name) *weft__f)                         \
    {                                                                                       \
        if (weft__frame_join(&weft__f->weft__frame))                                        \
            name(WEFT__X ARGS);                                                             \
    }                                                                                       \
    static void name(WEFT__X PARAMS)

/* A task returning R with 0 to 4 arguments; its body follows the macro. */
#define WEFT_TASK_0(R, name) WEFT__TASK(R, name, (), (void), (), (), ())
#define WEFT_TASK_1(R, name, T1, a1)                                                        \
    WEFT__TASK(R, name, (T1 a1;), (T1 a1), (, T1 a1), (weft__f->a1 = a1;), (weft__f->a1))
#define WEFT_TASK_2(R, name, T1, a1, T2, a2)                                                \
    WEFT__TASK(R, name, (T1 a1; T2 a2;), (T1 a1, T2 a2), (, T1 a1, T2 a2),                  \
               (weft__f->a1 = a1; weft__f->a2 = a2;), (weft__f->a1, weft__f->a2))
#define WEFT_TASK_3(R, name, T1, a1, T2, a2, T3, a3)                                        \
    WEFT__TASK(R, name, (T1 a1; T2 a2; T3 a3;), (T1 a1, T2 a2, T3 a3), (, T1 a1, T2 a2, T3 a3), \
               (weft__f->a1 = a1; weft__f->a2 = a2; weft__f->a3 = a3;),                     \
               (weft__f->a1, weft__f->a2, weft__f->a3))
#define WEFT_TASK_4(R, name, T1, a1, T2, a2, T3, a3, T4, a4)                                \
    WEFT__TASK(R, name, (T1 a1; T2 a2; T3 a3; T4 a4;), (T1 a1, T2 a2, T3 a3, T4 a4),        \
               (, T1 a1, T2 a2, T3 a3, T4 a4),                                              \
               (weft__f->a1 = a1; weft__f->a2 = a2; weft__f->a3 = a3; weft__f->a4 = a4;),   \
               (weft__f->a1, weft__f->a2, weft__f->a3, weft__f->a4))

/* A task returning void with 0 to 4 arguments; its body follows the macro. */
#define WEFT_VOID_TASK_0(name) WEFT__VOID_TASK(name, (), (void), (), (), ())
#define WEFT_VOID_TASK_1(name, T1, a1)                                                      \
    WEFT__VOID_TASK(name, (T1 a1;), (T1 a1), (, T1 a1), (weft__f->a1 = a1;), (weft__f->a1))
#define WEFT_VOID_TASK_2(name, T1, a1, T2, a2)                                              \
    WEFT__VOID_TASK(name, (T1 a1; T2 a2;), (T1 a1, T2 a2), (, T1 a1, T2 a2),                \
                    (weft__f->a1 = a1; weft__f->a2 = a2;), (weft__f->a1, weft__f->a2))
#define WEFT_VOID_TASK_3(name, T1, a1, T2, a2, T3, a3)                                      \
    WEFT__VOID_TASK(name, (T1 a1; T2 a2; T3 a3;), (T1 a1, T2 a2, T3 a3), (, T1 a1, T2 a2, T3 a3), \
                    (weft__f->a1 = a1; weft__f->a2 = a2; weft__f->a3 = a3;),                \
                    (weft__f->a1, weft__f->a2, weft__f->a3))
#define WEFT_VOID_TASK_4(name, T1, a1, T2, a2, T3, a3, T4, a4)                              \
    WEFT__VOID_TASK(name, (T1 a1; T2 a2; T3 a3; T4 a4;), (T1 a1, T2 a2, T3 a3, T4 a4),      \
                    (, T1 a1, T2 a2, T3 a3, T4 a4),                                         \
                    (weft__f->a1 = a1; weft__f->a2 = a2; weft__f->a3 = a3; weft__f->a4 = a4;), \
                    (weft__f->a1, weft__f->a2, weft__f->a3, weft__f->a4))

#ifdef __cplusplus
}
#endif
#endif /* WEFT_INLINE_H */
