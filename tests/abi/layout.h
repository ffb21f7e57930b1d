/* layout.h: the layout of every public struct of weft's headers, as literal numbers
 * (LP64: x86-64, aarch64), asserted at compile time by a C translation unit
 * (layout_c.c) and a C++ one (layout_cpp.cpp). Both must agree with these numbers, so
 * a drift in either language fails the build: in C, a changed layout (then update the
 * numbers here and, for a struct a program compiles against, bump WEFT_ABI_VERSION in
 * weft/common.h); in C++, a header spelling that gives C++ another layout than C
 * (WEFT__ATOMIC and WEFT__ALIGNAS, weft/common.h).
 *
 * WEFT_LAYOUT(S, F): S(type, size, alignment) per struct or enum, F(type, field,
 * offset) per field, every field listed, but for opaque storage (`opaque_`: mutex,
 * rwlock, condvar, barrier, latch, scope), whose size and alignment are the ABI and
 * whose real layout is libweft's (static-asserted to fit, in the module's .c). */
#ifndef WEFT_TESTS_LAYOUT_H
#define WEFT_TESTS_LAYOUT_H

#include <assert.h>
#include <stddef.h>
#include <weft.h>

/* WEFT_CACHE_ALIGNED in a user's struct. */
struct layout_padded {
    char c;
    WEFT_CACHE_ALIGNED uint32_t x;
};

#define WEFT_LAYOUT(S, F)                                                                    \
    S(weft_backoff, 4, 4)                                                                \
    F(weft_backoff, step, 0)                                                             \
    S(weft_mutex, 8, 4)                                                                  \
    S(weft_rwlock, 8, 4)                                                                 \
    S(weft_condvar, 4, 4)                                                                \
    S(weft_barrier, 8, 4)                                                                \
    S(weft_once, 4, 4)                                                                   \
    F(weft_once, state_, 0)                                                              \
    S(weft_latch, 4, 4)                                                                  \
    S(weft_thread_options, 24, 8)                                                        \
    F(weft_thread_options, name, 0)                                                      \
    F(weft_thread_options, stack_size, 8)                                                \
    F(weft_thread_options, pin_cpu, 16)                                                  \
    S(weft_pool_config, 72, 8)                                                           \
    F(weft_pool_config, num_threads, 0)                                                  \
    F(weft_pool_config, pin, 4)                                                          \
    F(weft_pool_config, wait, 8)                                                         \
    F(weft_pool_config, stack_size, 16)                                                  \
    F(weft_pool_config, name_prefix, 24)                                                 \
    F(weft_pool_config, ctx, 32)                                                         \
    F(weft_pool_config, on_start, 40)                                                    \
    F(weft_pool_config, on_exit, 48)                                                     \
    F(weft_pool_config, thread_name, 56)                                                 \
    F(weft_pool_config, on_task_error, 64)                                               \
    S(weft_task_failure, 48, 8)                                                          \
    F(weft_task_failure, task_fn, 0)                                                     \
    F(weft_task_failure, result, 8)                                                      \
    F(weft_task_failure, scope_fn, 16)                                                   \
    F(weft_task_failure, scope, 24)                                                      \
    F(weft_task_failure, status, 32)                                                     \
    F(weft_task_failure, arg, 40)                                                        \
    S(weft_worker_stats, 40, 8)                                                          \
    F(weft_worker_stats, jobs_run, 0)                                                    \
    F(weft_worker_stats, steals, 8)                                                      \
    F(weft_worker_stats, failed_steals, 16)                                              \
    F(weft_worker_stats, sleeps, 24)                                                     \
    F(weft_worker_stats, wakeups, 32)                                                    \
    S(weft_scope, 72, 8)                                                                 \
    S(weft_dep, 16, 8)                                                                   \
    F(weft_dep, addr, 0)                                                                 \
    F(weft_dep, mode, 8)                                                                 \
    S(weft_chan_options, 16, 8)                                                          \
    F(weft_chan_options, drop, 0)                                                        \
    F(weft_chan_options, drop_ctx, 8)                                                    \
    S(weft_select_op, 40, 8)                                                             \
    F(weft_select_op, kind, 0)                                                           \
    F(weft_select_op, tx, 8)                                                             \
    F(weft_select_op, rx, 16)                                                            \
    F(weft_select_op, buf, 24)                                                           \
    F(weft_select_op, result, 32)                                                        \
    S(struct weft_job, 24, 8)                                                            \
    F(struct weft_job, execute, 0)                                                       \
    F(struct weft_job, isolation, 8)                                                     \
    F(struct weft_job, next, 16)                                                         \
    S(weft_frame, 48, 8)                                                                 \
    F(weft_frame, job_, 0)                                                               \
    F(weft_frame, state_, 24)                                                            \
    F(weft_frame, waiter_, 32)                                                           \
    F(weft_frame, index_, 40)                                                            \
    S(struct weft__worker_view, 400, 8)                                                  \
    F(struct weft__worker_view, top, 0)                                                  \
    F(struct weft__worker_view, splitreq, 128)                                           \
    F(struct weft__worker_view, bottom, 256)                                             \
    F(struct weft__worker_view, owner_split, 264)                                        \
    F(struct weft__worker_view, owner_limit, 272)                                        \
    F(struct weft__worker_view, owner_buffer_, 280)                                      \
    F(struct weft__worker_view, owner_slots, 288)                                        \
    F(struct weft__worker_view, owner_mask, 296)                                         \
    F(struct weft__worker_view, eager, 304)                                              \
    F(struct weft__worker_view, isolation, 384)                                          \
    F(struct weft__worker_view, idle, 392)                                               \
    S(weft_pin_policy, 4, 4)                                                             \
    S(weft_wait_policy, 4, 4)                                                            \
    S(weft_select_kind, 4, 4)                                                            \
    S(weft_dep_mode, 4, 4)                                                               \
    S(weft_pipeline_kind, 4, 4)                                                          \
    S(weft_pipeline_stage, 24, 8)                                                        \
    F(weft_pipeline_stage, kind, 0)                                                      \
    F(weft_pipeline_stage, fn, 8)                                                        \
    F(weft_pipeline_stage, cleanup, 16)                                                  \
    S(struct layout_padded, 256, 128)                                                    \
    F(struct layout_padded, c, 0)                                                        \
    F(struct layout_padded, x, 128)

#ifdef __cplusplus
#define LAYOUT_ALIGNOF(T) alignof(T)
#else
#define LAYOUT_ALIGNOF(T) _Alignof(T)
#endif
#if defined(__LP64__)
#define LAYOUT_SIZE(T, size, align)                                                          \
    static_assert(sizeof(T) == (size), "sizeof(" #T ") is not " #size);                      \
    static_assert(LAYOUT_ALIGNOF(T) == (align), "alignof(" #T ") is not " #align);
#define LAYOUT_FIELD(T, field, off)                                                          \
    static_assert(offsetof(T, field) == (off), "offsetof(" #T ", " #field ") is not " #off);
WEFT_LAYOUT(LAYOUT_SIZE, LAYOUT_FIELD)
#else
#error "tests/abi/layout.h lists LP64 layouts: add this ABI's numbers"
#endif

#endif /* WEFT_TESTS_LAYOUT_H */
