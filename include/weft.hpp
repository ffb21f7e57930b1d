/* weft.hpp: weft for C++ (17 and later), header-only, over the C API of <weft.h>:
 * lambdas for fork-join, the parallel loops, reductions, sorting and scopes; RAII
 * handles for pools, channels and locks. It adds no symbol to libweft: link libweft
 * as for C (find_package(weft) -> weft::weft, or pkg-config weft).
 *
 *     weft::join([&] { left(); }, [&] { right(); });
 *     weft::par_for(0, n, [&](size_t b, size_t e) { for (size_t i = b; i < e; i++) y[i] = f(x[i]); });
 *     double s = weft::par_reduce(0, n, 0.0,
 *                                 [&](size_t b, size_t e, double acc) { for (; b < e; b++) acc += x[b]; return acc; },
 *                                 [](double a, double c) { return a + c; });
 *     weft::par_sort(v.begin(), v.end(), [](const auto &a, const auto &b) { return a.key < b.key; });
 *     auto at = weft::par_find_first(0, n, [&](size_t i) { return x[i] < 0; }); // std::optional<size_t>
 *     weft::scope([&](weft::scope_ref s) { for (auto &item : items) s.spawn([&item] { work(item); }); });
 *     weft::mutex m; { std::lock_guard<weft::mutex> g(m); ... }
 *
 * Errors: a C call that fails throws weft::error, a std::system_error whose code() is
 * the errno in std::generic_category() and whose err() is weft's negative value (the
 * C convention, weft/common.h). Outcomes that are not failures are return values:
 * try_lock false (-EBUSY), try_recv / try_send empty or false (-EAGAIN), a timed call
 * false or empty (-ETIMEDOUT), recv empty once the channel is drained and every sender
 * is gone (-EPIPE). Destructors and unlock() do not throw: a failure there is a misuse
 * that libweft reports only in its debug builds (unlocking a lock the caller does not
 * hold, destroying a pool from its own worker) and ends the program (std::terminate),
 * as an exception escaping a destructor would.
 *
 * Exceptions from user code: the callables given to a parallel call run on weft's C
 * frames, on any worker; an exception must not unwind through them (undefined
 * behaviour), so it is caught where it is thrown, and the call then stops what it can
 * (a loop starts no further chunk, a scope runs no further task; weft::join, and so
 * par_sort's halves, run both halves to their end), waits for everything still
 * running, and rethrows the exception on the calling thread when it returns. When
 * several throw, the first one caught wins and the others are dropped (as rayon and
 * oneTBB do).
 *
 * Cost: the wrappers pass a small struct on the caller's stack (the callable, or a
 * reference to it, its result and the slot for its exception; a join's one struct
 * holds both halves) as the C call's void *ctx, and call the callable through a
 * function instantiated for its type (the compiler sees and may inline its body
 * there); the exception handling costs nothing until something throws (table-based
 * unwinding), plus one flag word per call, set before the call and tested with its
 * result. So a join through weft::join costs what a weft_join whose halves take a
 * struct costs, plus that word (bench row join_overhead, impl weft-cpp;
 * docs/perf-log.md). A join of two noexcept callables that return nothing, each
 * trivially copyable and no larger than a pointer (`[p]() noexcept { ... }`,
 * `[&x]() noexcept { ... }`), passes each callable's bytes as the ctx itself, as a
 * weft_join of two C functions given their pointer does (impl weft-cpp-noexcept;
 * docs/perf-log.md).
 *
 * Thread-safety: as the C calls each wrapper makes (weft/runtime.h, par.h, chan.h,
 * sync.h): a handle object is used by one thread at a time, as its C handle is. */
#ifndef WEFT_HPP
#define WEFT_HPP

#include <weft.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <system_error>
#include <type_traits>
#include <utility>

namespace weft {

/* ------------------------------------------------------------------------------
 * Errors */

/* A failed C call: code() is {errno, std::generic_category()}, err() the negative
 * value the C call returned, what() names the call and the error. */
class error : public std::system_error {
public:
    error(int err, const char *call) : std::system_error(err < 0 ? -err : err, std::generic_category(), call) {}
    int err() const noexcept { return -code().value(); }
};

namespace detail {

/* Throw weft::error for a negative C result; other results pass. */
inline int check(int rc, const char *call)
{
    if (rc < 0)
        throw error(rc, call);
    return rc;
}

/* The status a wrapped callable returns to a C loop or scope when it threw: non-zero
 * stops the loop (cancels the scope). The caller rethrows the exception instead of
 * reporting this value. */
constexpr int thrown_status = 1;

/* The first exception thrown by the callables of one parallel call, kept until the call
 * returns on the thread that made it, then rethrown there. `state_`: 0 none, 1 being
 * stored, 2 stored. While callables run, they reach it with relaxed __atomic builtins
 * (as weft/common.h's inline functions do their fields): the compare-exchange only
 * elects one writer among the callables, and what the winner wrote reaches the
 * rethrowing thread through the C call's own completion (a join, loop or scope wait
 * returns after every callable of the call has returned, and their writes are visible
 * then), not through this word. So once the call has returned nothing writes it, and
 * the caller reads it plainly: the compiler may fold that read into the test of the
 * call's result (a std::atomic load it would keep as a load of its own). */
class exception_slot {
public:
    exception_slot() noexcept = default;
    exception_slot(const exception_slot &) = delete;
    exception_slot &operator=(const exception_slot &) = delete;
    /* Trivial: every wrapper calls rethrow() (or rethrow_or_check()) once its C call
     * has returned, before anything else that could throw, so no exception is left
     * here to destroy (a destructor re-reading the word would cost every join a load). */
    ~exception_slot() = default;
    /* In a catch block: keep the exception being handled unless one is kept already. */
    void capture() noexcept
    {
        int none = 0;
        if (__atomic_compare_exchange_n(&state_, &none, 1, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
            ::new (static_cast<void *>(buf_)) std::exception_ptr(std::current_exception());
            __atomic_store_n(&state_, 2, __ATOMIC_RELAXED);
        }
    }
    /* Has a callable thrown? (A loop body's early-out; relaxed: advisory.) */
    bool thrown() const noexcept { return __atomic_load_n(&state_, __ATOMIC_RELAXED) != 0; }
    /* After the call: rethrow the kept exception, if any. */
    void rethrow()
    {
        if (state_ == 2) {
            std::exception_ptr e = std::move(*ptr());
            ptr()->~exception_ptr();
            state_ = 0;
            std::rethrow_exception(e);
        }
    }
    /* After the call: rethrow the kept exception, if any, else throw weft::error for
     * a negative rc. The usual outcome, rc 0 and nothing kept, is one test of both. */
    void rethrow_or_check(int rc, const char *call)
    {
        if (int either = rc | state_)
            rethrow_or_throw(either, call);
    }

private:
    /* Out of line, so that the call site keeps only the test (and no copy of rc):
     * `either` is rc when nothing was kept. */
    [[gnu::noinline, gnu::cold]] void rethrow_or_throw(int either, const char *call)
    {
        rethrow();
        check(either, call);
    }
    std::exception_ptr *ptr() noexcept { return std::launder(reinterpret_cast<std::exception_ptr *>(buf_)); }
    int state_ = 0;
    alignas(std::exception_ptr) unsigned char buf_[sizeof(std::exception_ptr)];
};

/* What a callable returned, kept for the caller (nothing for void). */
template <class R>
struct result_box {
    std::optional<R> value;
    template <class F>
    void call(F &f) { value.emplace(std::invoke(f)); }
    R take() { return std::move(*value); }
};
template <>
struct result_box<void> {
    template <class F>
    void call(F &f) { std::invoke(f); }
    void take() {}
};

/* Whether a wrapper keeps a copy of the callable rather than a reference: a small,
 * trivially copyable one whose call does not change it (a lambda capturing a few
 * pointers or references, not `mutable`): calling the copy is calling it, and the
 * trampoline then reaches the captures in one load instead of two (a join's cost). */
template <class F>
constexpr bool copy_callable_v =
    std::is_trivially_copyable_v<F> && std::is_invocable_v<const F &> && sizeof(F) <= 4 * sizeof(void *);
template <class F>
using held_t = std::conditional_t<copy_callable_v<F>, std::remove_const_t<F>, F &>;
template <class F>
using result_t = std::decay_t<std::invoke_result_t<F &>>;

/* Call f, its result into out; its exception into slot, so that none unwinds into
 * the C frames below. */
template <class H, class R>
void run_into(H &f, result_box<R> &out, exception_slot &slot) noexcept
{
    try {
        out.call(f);
    } catch (...) {
        slot.capture();
    }
}

/* One callable, run once by a C call through `run` (a weft_fn) with this as ctx: its
 * result and its exception go to this struct on the caller's stack. */
template <class F>
struct invocation {
    held_t<F> f;
    exception_slot slot;
    result_box<result_t<F>> out;

    explicit invocation(F &fn) noexcept : f(fn) {}

    static void run(void *ctx) noexcept
    {
        invocation *c = static_cast<invocation *>(ctx);
        run_into(c->f, c->out, c->slot);
    }
};

/* A join's two callables, their results and the one slot for their exceptions, in one
 * struct on the caller's stack, given to the C call as both halves' ctx, each half
 * with its own trampoline: a join stores the callables and the slot's word, and no
 * pointer to the slot. */
template <class F, class G>
struct join_frame {
    held_t<F> f;
    held_t<G> g;
    exception_slot slot;
    result_box<result_t<F>> f_out;
    result_box<result_t<G>> g_out;

    join_frame(F &a, G &b) noexcept : f(a), g(b) {}

    static void run_f(void *ctx) noexcept
    {
        join_frame *c = static_cast<join_frame *>(ctx);
        run_into(c->f, c->f_out, c->slot);
    }
    static void run_g(void *ctx) noexcept
    {
        join_frame *c = static_cast<join_frame *>(ctx);
        run_into(c->g, c->g_out, c->slot);
    }
};

/* Whether a callable travels as the C call's void *ctx itself: it returns nothing,
 * cannot throw (declared noexcept), is trivially copyable and no larger than a
 * pointer (a lambda capturing one pointer or reference, or nothing). Its trampoline
 * then copies the bytes back out of ctx and calls it: no struct, no exception slot,
 * the cost of a C function given its pointer as ctx. */
template <class F, class = void>
struct direct_callable : std::false_type {};
template <class F>
struct direct_callable<F, std::enable_if_t<std::is_nothrow_invocable_v<const F &>>>
    : std::bool_constant<std::is_trivially_copyable_v<F> && sizeof(F) <= sizeof(void *) &&
                         alignof(F) <= alignof(void *) && std::is_void_v<std::invoke_result_t<const F &>>> {};
template <class F>
constexpr bool direct_callable_v = direct_callable<F>::value;

template <class F>
struct direct {
    static void *pack(const F &f) noexcept
    {
        void *ctx = nullptr;
        std::memcpy(static_cast<void *>(&ctx), static_cast<const void *>(&f), sizeof(F));
        return ctx;
    }
    static void run(void *ctx) noexcept
    {
        alignas(F) unsigned char buf[sizeof(F)];
        std::memcpy(buf, static_cast<const void *>(&ctx), sizeof(F));
        std::invoke(*std::launder(reinterpret_cast<const F *>(buf)));
    }
};

/* fn(pool or none, run, ctx) with f as the callable; returns f's result or rethrows. */
template <class F, class Call>
decltype(auto) call_once(F &f, Call &&c_call, const char *name)
{
    invocation<F> inv(f);
    int rc = c_call(&invocation<F>::run, static_cast<void *>(&inv));
    inv.slot.rethrow_or_check(rc, name);
    return inv.out.take();
}

/* A relative timeout in nanoseconds for the C calls: negative is 0, beyond the clock's
 * range saturates (a huge timeout means forever, as in C). */
template <class Rep, class Period>
uint64_t to_ns(const std::chrono::duration<Rep, Period> &d)
{
    long double ns = std::chrono::duration<long double, std::nano>(d).count();
    if (!(ns > 0))
        return 0;
    if (ns >= 18446744073709551615.0L)
        return UINT64_MAX;
    return static_cast<uint64_t>(ns);
}

} // namespace detail

/* ------------------------------------------------------------------------------
 * Fork-join */

/* Run f() and g(), potentially in parallel, and return when both are done
 * (weft_join, rayon::join). Both return void (join returns void), or both return a
 * value (join returns std::pair of them). Both run to their end even if one throws;
 * then the first exception is rethrown. Throws weft::error if the global pool cannot
 * start (nothing ran then). Cost: two noexcept halves that return nothing and are
 * trivially copyable and pointer-sized (`[p]() noexcept { walk(p); }`) travel as the
 * C call's ctx, so the join is a weft_join call and nothing more; other halves go
 * through one struct on this stack that holds both and the slot for their exception,
 * whose word is tested with the call's result. */
template <class F, class G>
auto join(F &&f, G &&g)
{
    using RF = std::invoke_result_t<F &>;
    using RG = std::invoke_result_t<G &>;
    static_assert(std::is_void_v<RF> == std::is_void_v<RG>,
                  "weft::join: both callables return void, or both return a value");
    using DF = std::remove_cv_t<std::remove_reference_t<F>>;
    using DG = std::remove_cv_t<std::remove_reference_t<G>>;
    if constexpr (detail::direct_callable_v<DF> && detail::direct_callable_v<DG>) {
        detail::check(weft_join(&detail::direct<DF>::run, detail::direct<DF>::pack(f), &detail::direct<DG>::run,
                                detail::direct<DG>::pack(g)),
                      "weft_join");
    } else {
        using frame = detail::join_frame<std::remove_reference_t<F>, std::remove_reference_t<G>>;
        frame fr(f, g);
        int rc = weft_join(&frame::run_f, &fr, &frame::run_g, &fr);
        fr.slot.rethrow_or_check(rc, "weft_join");
        if constexpr (!std::is_void_v<RF>)
            return std::pair<std::decay_t<RF>, std::decay_t<RG>>(fr.f_out.take(), fr.g_out.take());
    }
}

/* Run f() isolated (weft_isolate): while it waits, this thread runs only work created
 * inside it. Returns f's result; rethrows its exception; weft::error if the global pool
 * cannot start. */
template <class F>
decltype(auto) isolate(F &&f)
{
    return detail::call_once(f, [](weft_fn fn, void *ctx) { return weft_isolate(fn, ctx); }, "weft_isolate");
}

/* ------------------------------------------------------------------------------
 * Pools */

/* An owned pool (weft_pool_create / weft_pool_destroy); move-only. Parallel calls made
 * inside run() or execute() use it; outside, they use the global pool. */
class pool {
public:
    /* num_threads 0: WEFT_NUM_THREADS, else the cores allowed to this process. */
    explicit pool(unsigned num_threads = 0)
    {
        weft_pool_config cfg = WEFT_POOL_CONFIG_INIT;
        cfg.num_threads = num_threads;
        detail::check(weft_pool_create(&cfg, &p_), "weft_pool_create");
    }
    explicit pool(const weft_pool_config &cfg) { detail::check(weft_pool_create(&cfg, &p_), "weft_pool_create"); }
    pool(pool &&o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
    pool &operator=(pool &&o) noexcept
    {
        if (this != &o) {
            reset();
            p_ = std::exchange(o.p_, nullptr);
        }
        return *this;
    }
    pool(const pool &) = delete;
    pool &operator=(const pool &) = delete;
    /* Waits for every job the pool holds, then stops it (weft_pool_destroy). Destroying
     * it from one of its own workers (-EDEADLK) terminates the program. */
    ~pool() { reset(); }

    /* f() on a worker of this pool, waited for (weft_pool_run). Returns its result. */
    template <class F>
    decltype(auto) run(F &&f)
    {
        weft_pool *p = p_;
        return detail::call_once(f, [p](weft_fn fn, void *ctx) { return weft_pool_run(p, fn, ctx); }, "weft_pool_run");
    }
    /* f() on the calling thread as a member of this pool (weft_pool_execute). */
    template <class F>
    decltype(auto) execute(F &&f)
    {
        weft_pool *p = p_;
        return detail::call_once(f, [p](weft_fn fn, void *ctx) { return weft_pool_execute(p, fn, ctx); },
                                 "weft_pool_execute");
    }
    /* Wait until the pool holds no task (weft_pool_wait_idle). */
    void wait_idle() { detail::check(weft_pool_wait_idle(p_), "weft_pool_wait_idle"); }
    /* The same, giving up after `timeout`: false then. */
    template <class Rep, class Period>
    bool wait_idle_for(const std::chrono::duration<Rep, Period> &timeout)
    {
        int rc = weft_pool_wait_idle_timeout(p_, detail::to_ns(timeout));
        return rc != -ETIMEDOUT && detail::check(rc, "weft_pool_wait_idle_timeout") == 0;
    }
    unsigned num_threads() const
    {
        return static_cast<unsigned>(detail::check(weft_pool_num_threads(p_), "weft_pool_num_threads"));
    }
    weft_pool *native_handle() const noexcept { return p_; }
    /* Give up ownership: the caller destroys the returned pool. */
    weft_pool *release() noexcept { return std::exchange(p_, nullptr); }

private:
    void reset() noexcept
    {
        if (p_ && weft_pool_destroy(std::exchange(p_, nullptr)) != 0)
            std::terminate();
    }
    weft_pool *p_ = nullptr;
};

/* ------------------------------------------------------------------------------
 * Loops (weft/par.h). grain as in C: 0 adaptive; else each chunk has [grain, 2 grain)
 * indices. A body returns void, or an int status: non-zero stops the loop, and the
 * call returns it (use positive statuses). A body that throws stops the loop the same
 * way, and the call rethrows. Failures of the call itself throw weft::error. */

namespace detail {

template <class Body>
struct loop_ctx {
    Body &body;
    exception_slot slot;
    std::atomic<bool> stopped{false}; /* a body returned non-zero (relaxed: read after the loop) */

    explicit loop_ctx(Body &b) noexcept : body(b) {}

    template <class... I>
    int call(I &&...i) noexcept
    {
        try {
            if constexpr (std::is_void_v<std::invoke_result_t<Body &, I...>>) {
                std::invoke(body, std::forward<I>(i)...);
                return 0;
            } else {
                int status = static_cast<int>(std::invoke(body, std::forward<I>(i)...));
                if (status != 0)
                    stopped.store(true, std::memory_order_relaxed);
                return status;
            }
        } catch (...) {
            slot.capture();
            return thrown_status;
        }
    }
    static int run_1d(void *ctx, size_t b, size_t e) noexcept { return static_cast<loop_ctx *>(ctx)->call(b, e); }
    static int run_2d(void *ctx, size_t r0, size_t r1, size_t c0, size_t c1) noexcept
    {
        return static_cast<loop_ctx *>(ctx)->call(r0, r1, c0, c1);
    }
    /* The C loop's result: rethrow a body's exception; a body's status passes; any other
     * non-zero result is weft's error. */
    int finish(int rc, const char *name)
    {
        slot.rethrow();
        if (rc != 0 && !stopped.load(std::memory_order_relaxed))
            throw error(rc, name);
        return rc;
    }
};

template <class Body, class... I>
using loop_result = std::conditional_t<std::is_void_v<std::invoke_result_t<Body &, I...>>, void, int>;

} // namespace detail

/* body(b, e) on disjoint sub-ranges covering [lo, hi) (weft_par_for). */
template <class Body>
auto par_for(size_t lo, size_t hi, Body &&body, size_t grain = 0) -> detail::loop_result<Body, size_t, size_t>
{
    detail::loop_ctx<std::remove_reference_t<Body>> c(body);
    int rc = c.finish(weft_par_for(lo, hi, grain, &decltype(c)::run_1d, &c), "weft_par_for");
    if constexpr (!std::is_void_v<detail::loop_result<Body, size_t, size_t>>)
        return rc;
}

/* body(r0, r1, c0, c1) on tiles covering [0, rows) x [0, cols) (weft_par_for_2d). */
template <class Body>
auto par_for_2d(size_t rows, size_t cols, Body &&body, size_t row_grain = 0, size_t col_grain = 0)
    -> detail::loop_result<Body, size_t, size_t, size_t, size_t>
{
    detail::loop_ctx<std::remove_reference_t<Body>> c(body);
    int rc = c.finish(weft_par_for_2d(rows, cols, row_grain, col_grain, &decltype(c)::run_2d, &c),
                      "weft_par_for_2d");
    if constexpr (!std::is_void_v<detail::loop_result<Body, size_t, size_t, size_t, size_t>>)
        return rc;
}

/* ------------------------------------------------------------------------------
 * Per-worker state (weft_par_for_init): init() makes a state S (any movable type) at
 * most once per worker, body(S &, b, e) runs with it (void, or an int status as
 * par_for's bodies), and after the loop, on the calling thread, fini(S &) sees each
 * state once (merge partial results there) before the state is destroyed. Without
 * fini, the states are just destroyed (RAII scratch). An exception from init, body or
 * fini stops the loop as a body's does; every state made is still finished and
 * destroyed, then the first exception is rethrown. */

namespace detail {

template <class S, class Init, class Body, class Fini>
struct for_init_ctx {
    Init &init;
    loop_ctx<Body> loop;
    Fini *fini;

    for_init_ctx(Init &i, Body &b, Fini *f) noexcept : init(i), loop(b), fini(f) {}

    static int run_init(void *ctx, void **state) noexcept
    {
        for_init_ctx *c = static_cast<for_init_ctx *>(ctx);
        try {
            *state = new S(std::invoke(c->init));
            return 0;
        } catch (...) {
            c->loop.slot.capture();
            return thrown_status;
        }
    }
    static int run_body(void *ctx, void *state, size_t b, size_t e) noexcept
    {
        for_init_ctx *c = static_cast<for_init_ctx *>(ctx);
        return c->loop.call(*static_cast<S *>(state), b, e);
    }
    static void run_fini(void *ctx, void *state) noexcept
    {
        for_init_ctx *c = static_cast<for_init_ctx *>(ctx);
        std::unique_ptr<S> s(static_cast<S *>(state));
        if (c->fini) {
            try {
                std::invoke(*c->fini, *s);
            } catch (...) {
                c->loop.slot.capture();
            }
        }
    }
};

template <class Init>
using init_state_t = std::decay_t<std::invoke_result_t<Init &>>;

template <class Init, class Body, class Fini>
auto for_init(size_t lo, size_t hi, Init &init, Body &body, Fini *fini, size_t grain)
    -> loop_result<Body, init_state_t<Init> &, size_t, size_t>
{
    using S = init_state_t<Init>;
    for_init_ctx<S, Init, Body, Fini> c(init, body, fini);
    int rc = c.loop.finish(weft_par_for_init(lo, hi, grain, &decltype(c)::run_init, &decltype(c)::run_body,
                                             &decltype(c)::run_fini, &c),
                           "weft_par_for_init");
    if constexpr (!std::is_void_v<loop_result<Body, S &, size_t, size_t>>)
        return rc;
}

} // namespace detail

/* body(state, b, e) on disjoint sub-ranges covering [lo, hi), state made by init() at
 * most once per worker; fini(state) for each state after the loop (weft_par_for_init). */
template <class Init, class Body, class Fini,
          class = std::enable_if_t<std::is_invocable_v<Fini &, detail::init_state_t<Init> &>>>
auto par_for_init(size_t lo, size_t hi, Init &&init, Body &&body, Fini &&fini, size_t grain = 0)
{
    return detail::for_init(lo, hi, init, body, &fini, grain);
}

/* The same without fini: each state is destroyed after the loop. */
template <class Init, class Body>
auto par_for_init(size_t lo, size_t hi, Init &&init, Body &&body, size_t grain = 0)
{
    return detail::for_init(lo, hi, init, body, static_cast<void (*)(detail::init_state_t<Init> &)>(nullptr),
                            grain);
}

/* ------------------------------------------------------------------------------
 * Reductions. T is copied as bytes by the C call (accumulators, the identity), so it
 * must be trivially copyable. fold(b, e, acc) folds [b, e) into acc: it returns the
 * new accumulator (T), or returns void and updates acc through a T& parameter.
 * combine(left, right) likewise: returns left (+) right, or returns void and updates
 * left through a T&. A fold or combine that throws stops the reduction (chunks not yet
 * folded are skipped; combines still run) and the call rethrows. */

namespace detail {

template <class T, class Fold, class Combine>
struct reduce_ctx {
    Fold &fold;
    Combine &combine;
    exception_slot slot;

    reduce_ctx(Fold &f, Combine &c) noexcept : fold(f), combine(c) {}

    static int run_fold(void *ctx, size_t b, size_t e, void *acc) noexcept
    {
        reduce_ctx *c = static_cast<reduce_ctx *>(ctx);
        T &a = *static_cast<T *>(acc);
        try {
            if constexpr (std::is_void_v<std::invoke_result_t<Fold &, size_t, size_t, T &>>)
                std::invoke(c->fold, b, e, a);
            else
                a = std::invoke(c->fold, b, e, a);
            return 0;
        } catch (...) {
            c->slot.capture();
            return thrown_status;
        }
    }
    static void run_combine(void *ctx, void *acc, const void *other) noexcept
    {
        reduce_ctx *c = static_cast<reduce_ctx *>(ctx);
        if (c->slot.thrown())
            return;
        T &a = *static_cast<T *>(acc);
        const T &o = *static_cast<const T *>(other);
        try {
            if constexpr (std::is_void_v<std::invoke_result_t<Combine &, T &, const T &>>)
                std::invoke(c->combine, a, o);
            else
                a = std::invoke(c->combine, a, o);
        } catch (...) {
            c->slot.capture();
        }
    }
};

template <class C_reduce, class T, class Fold, class Combine>
T reduce(C_reduce c_reduce, const char *name, size_t lo, size_t hi, const T &identity, Fold &fold,
         Combine &combine, size_t grain)
{
    static_assert(std::is_trivially_copyable_v<T>, "weft::par_reduce: T is copied as bytes, so it must be trivially copyable");
    static_assert(alignof(T) <= alignof(std::max_align_t), "weft::par_reduce: T may not be over-aligned");
    reduce_ctx<T, Fold, Combine> c(fold, combine);
    T result = identity;
    int rc = c_reduce(lo, hi, grain, &identity, &decltype(c)::run_fold, &decltype(c)::run_combine, &c, &result,
                      sizeof(T));
    c.slot.rethrow();
    check(rc, name);
    return result;
}

} // namespace detail

/* The fold of [lo, hi) (weft_par_reduce): combines in a tree whose cut depends on
 * scheduling (a floating-point result may differ run to run). */
template <class T, class Fold, class Combine>
T par_reduce(size_t lo, size_t hi, const T &identity, Fold &&fold, Combine &&combine, size_t grain = 0)
{
    return detail::reduce(&weft_par_reduce, "weft_par_reduce", lo, hi, identity, fold, combine, grain);
}

/* The same with a cut and tree that depend only on (lo, hi, grain): bit-identical
 * results on any number of threads (weft_par_reduce_deterministic). */
template <class T, class Fold, class Combine>
T par_reduce_deterministic(size_t lo, size_t hi, const T &identity, Fold &&fold, Combine &&combine,
                           size_t grain = 0)
{
    return detail::reduce(&weft_par_reduce_deterministic, "weft_par_reduce_deterministic", lo, hi, identity, fold,
                          combine, grain);
}

/* ------------------------------------------------------------------------------
 * Scan (weft_par_scan). scan(b, e, acc, final) folds [b, e) into acc in index order,
 * the same way whether final or not, and when final also writes the outputs of
 * [b, e) (acc enters as everything before b): it returns the new accumulator (T), or
 * returns void and updates acc through a T&. combine as par_reduce's. Returns the
 * total (the last index's final accumulator; the identity for an empty range). The
 * result depends only on (lo, hi, grain): bit-identical on any number of threads. T
 * must be trivially copyable; a throwing scan or combine stops the scan and the call
 * rethrows. */

namespace detail {

template <class T, class Scan, class Combine>
struct scan_ctx : reduce_ctx<T, Scan, Combine> {
    using reduce_ctx<T, Scan, Combine>::reduce_ctx;

    static int run_scan(void *ctx, size_t b, size_t e, void *acc, bool final) noexcept
    {
        scan_ctx *c = static_cast<scan_ctx *>(static_cast<reduce_ctx<T, Scan, Combine> *>(ctx));
        T &a = *static_cast<T *>(acc);
        try {
            if constexpr (std::is_void_v<std::invoke_result_t<Scan &, size_t, size_t, T &, bool>>)
                std::invoke(c->fold, b, e, a, final);
            else
                a = std::invoke(c->fold, b, e, a, final);
            return 0;
        } catch (...) {
            c->slot.capture();
            return thrown_status;
        }
    }
};

} // namespace detail

template <class T, class Scan, class Combine>
T par_scan(size_t lo, size_t hi, const T &identity, Scan &&scan, Combine &&combine, size_t grain = 0)
{
    static_assert(std::is_trivially_copyable_v<T>, "weft::par_scan: T is copied as bytes, so it must be trivially copyable");
    static_assert(alignof(T) <= alignof(std::max_align_t), "weft::par_scan: T may not be over-aligned");
    detail::scan_ctx<T, Scan, Combine> c(scan, combine);
    detail::reduce_ctx<T, Scan, Combine> *base = &c;
    T total = identity;
    int rc = weft_par_scan(lo, hi, grain, &identity, &decltype(c)::run_scan, &decltype(c)::run_combine, base,
                           &total, sizeof(T));
    c.slot.rethrow();
    detail::check(rc, "weft_par_scan");
    return total;
}

/* ------------------------------------------------------------------------------
 * Ordered search (weft_par_find_first / _last): the smallest (largest) index i of
 * [lo, hi) for which pred(i) is true, or std::nullopt. The answer does not depend on
 * scheduling. A throwing pred stops the search (no sub-range beyond it starts) and
 * the call rethrows. */

namespace detail {

template <class Pred, bool Last>
struct find_ctx {
    Pred &pred;
    exception_slot slot;

    explicit find_ctx(Pred &p) noexcept : pred(p) {}

    static size_t run(void *ctx, size_t b, size_t e) noexcept
    {
        find_ctx *c = static_cast<find_ctx *>(ctx);
        try {
            if constexpr (Last) {
                for (size_t i = e; i-- > b;)
                    if (std::invoke(c->pred, i))
                        return i;
            } else {
                for (size_t i = b; i < e; i++)
                    if (std::invoke(c->pred, i))
                        return i;
            }
        } catch (...) {
            c->slot.capture();
            return Last ? e - 1 : b; /* a "match" here: nothing beyond it runs */
        }
        return WEFT_NOT_FOUND;
    }
};

template <bool Last, class Pred>
std::optional<size_t> find(size_t lo, size_t hi, Pred &pred, size_t grain)
{
    find_ctx<Pred, Last> c(pred);
    size_t at = WEFT_NOT_FOUND;
    int rc = (Last ? weft_par_find_last : weft_par_find_first)(lo, hi, grain, &decltype(c)::run, &c, &at);
    c.slot.rethrow();
    check(rc, Last ? "weft_par_find_last" : "weft_par_find_first");
    return at == WEFT_NOT_FOUND ? std::nullopt : std::optional<size_t>(at);
}

} // namespace detail

template <class Pred>
std::optional<size_t> par_find_first(size_t lo, size_t hi, Pred &&pred, size_t grain = 0)
{
    return detail::find<false>(lo, hi, pred, grain);
}

template <class Pred>
std::optional<size_t> par_find_last(size_t lo, size_t hi, Pred &&pred, size_t grain = 0)
{
    return detail::find<true>(lo, hi, pred, grain);
}

/* ------------------------------------------------------------------------------
 * Sorting */

namespace detail {

/* Below this many elements a sub-range is sorted by std::sort on one thread. */
constexpr std::ptrdiff_t sort_serial_below = 4096;

/* Parallel introsort: partition around a median of three, sort both sides with
 * weft::join; std::sort for short ranges, and after 2 log2(n) levels (so bad pivots
 * cost O(n log n) at worst, as in an introsort). */
template <class It, class Cmp>
void par_sort_rec(It first, It last, Cmp &cmp, int depth)
{
    std::ptrdiff_t n = last - first;
    if (n < sort_serial_below || depth == 0) {
        std::sort(first, last, cmp);
        return;
    }
    It mid = first + n / 2, back = last - 1;
    // The median of *first, *mid, *back goes to *first: the pivot.
    if (cmp(*mid, *first))
        std::iter_swap(mid, first);
    if (cmp(*back, *mid)) {
        std::iter_swap(back, mid);
        if (cmp(*mid, *first))
            std::iter_swap(mid, first);
    }
    std::iter_swap(first, mid);
    It cut = std::partition(first + 1, last, [&](const auto &x) { return cmp(x, *first); });
    std::iter_swap(first, cut - 1); // the pivot, in its place
    weft::join([&] { par_sort_rec(first, cut - 1, cmp, depth - 1); },
               [&] { par_sort_rec(cut, last, cmp, depth - 1); });
}

template <class It>
constexpr bool contiguous_v =
#if defined(__cpp_lib_concepts)
    std::contiguous_iterator<It>;
#else
    std::is_pointer_v<It>;
#endif

template <class Cmp, class T>
constexpr bool ascending_v = std::is_same_v<Cmp, std::less<>> || std::is_same_v<Cmp, std::less<T>>;

} // namespace detail

/* Sort [first, last) in place by cmp (a strict weak order, as std::sort), unstably, in
 * parallel; any random-access iterator and any element type std::sort accepts. Keys of
 * uint64_t or uint32_t in contiguous memory in ascending order (std::less) go to
 * weft_par_sort_u64 / _u32. An exception from cmp, or from moving an element, is
 * rethrown once the sort has stopped, leaving the range a permutation of its input
 * (as std::sort). Throws weft::error if the global pool cannot start. */
template <class It, class Cmp = std::less<>>
void par_sort(It first, It last, Cmp cmp = Cmp())
{
    using T = typename std::iterator_traits<It>::value_type;
    std::ptrdiff_t n = last - first;
    if (n < 2)
        return;
    if constexpr (detail::contiguous_v<It> && detail::ascending_v<Cmp, T>) {
        if constexpr (std::is_same_v<T, uint64_t>) {
            detail::check(weft_par_sort_u64(std::addressof(*first), static_cast<size_t>(n)), "weft_par_sort_u64");
            return;
        } else if constexpr (std::is_same_v<T, uint32_t>) {
            detail::check(weft_par_sort_u32(std::addressof(*first), static_cast<size_t>(n)), "weft_par_sort_u32");
            return;
        }
    }
    int depth = 0;
    for (std::ptrdiff_t m = n; m > 1; m >>= 1)
        depth += 2;
    detail::par_sort_rec(first, last, cmp, depth);
}

/* ------------------------------------------------------------------------------
 * Scopes */

class scope_ref;
template <class F>
void scope(F &&f);

namespace detail {

/* A scope and its first exception: the C scope first, so that a task, given the C
 * scope, finds the slot (pointer-interconvertible: standard layout). */
struct scope_state {
    weft_scope c;
    exception_slot slot;
    static scope_state *of(weft_scope *s) noexcept { return reinterpret_cast<scope_state *>(s); }
};

} // namespace detail

/* The scope a weft::scope body and its tasks spawn into. Copyable; valid until the
 * weft::scope call returns. */
class scope_ref {
public:
    /* Queue f() (or f(scope_ref), to spawn siblings) to run in the scope; it may borrow
     * what outlives the weft::scope call (capture by reference). f is copied into the
     * task's own block when trivially copyable (a lambda capturing references and
     * scalars), else moved to the heap. Once a task of the scope threw, tasks not yet
     * started are skipped. Throws weft::error (-ENOMEM: nothing queued). */
    template <class F>
    void spawn(F &&f)
    {
        using Fn = std::decay_t<F>;
        if constexpr (std::is_trivially_copyable_v<Fn> && alignof(Fn) <= alignof(std::max_align_t)) {
            detail::check(weft_scope_spawn_copy(s_, &run_copied<Fn>, static_cast<const void *>(std::addressof(f)),
                                                sizeof(Fn)),
                          "weft_scope_spawn_copy");
        } else {
            std::unique_ptr<Fn> owned(new Fn(std::forward<F>(f)));
            detail::check(weft_scope_spawn(s_, &run_owned<Fn>, owned.get()), "weft_scope_spawn");
            owned.release(); // the task frees it
        }
    }
    /* Has a task of the scope thrown? (Long tasks may check it to stop early.) */
    bool is_cancelled() const noexcept { return weft_scope_is_cancelled(s_); }
    weft_scope *native_handle() const noexcept { return s_; }

private:
    template <class F>
    friend void scope(F &&f);
    explicit scope_ref(weft_scope *s) noexcept : s_(s) {}

    template <class Fn>
    static int run(weft_scope *s, Fn &fn) noexcept
    {
        if (weft_scope_is_cancelled(s))
            return 0;
        try {
            if constexpr (std::is_invocable_v<Fn &, scope_ref>)
                std::invoke(fn, scope_ref(s));
            else
                std::invoke(fn);
            return 0;
        } catch (...) {
            detail::scope_state::of(s)->slot.capture();
            return detail::thrown_status;
        }
    }
    template <class Fn>
    static int run_copied(weft_scope *s, void *copy) noexcept
    {
        return run(s, *static_cast<Fn *>(copy));
    }
    template <class Fn>
    static int run_owned(weft_scope *s, void *arg) noexcept
    {
        std::unique_ptr<Fn> fn(static_cast<Fn *>(arg));
        return run(s, *fn);
    }

    weft_scope *s_;
};

/* Run body(scope_ref) and wait for every task it and its tasks spawned, then return
 * (rayon::scope, oneTBB's task_group). If the body or a task throws, the scope is
 * cancelled, the wait still completes (tasks borrow the caller's stack), and the first
 * exception is rethrown. Throws weft::error if the scope cannot start. */
template <class F>
void scope(F &&f)
{
    static_assert(std::is_standard_layout_v<detail::scope_state>, "scope_state must be standard-layout");
    detail::scope_state st;
    detail::check(weft_scope_init(&st.c, nullptr), "weft_scope_init");
    try {
        std::invoke(f, scope_ref(&st.c));
    } catch (...) {
        st.slot.capture();
        weft_scope_cancel(&st.c, detail::thrown_status);
    }
    int rc = weft_scope_wait(&st.c);
    st.slot.rethrow();
    if (rc != 0)
        throw error(rc < 0 ? rc : -ECANCELED, "weft_scope_wait");
}

/* ------------------------------------------------------------------------------
 * Locks: the standard library's lock requirements, so std::lock_guard,
 * std::unique_lock, std::scoped_lock and std::shared_lock work with them. Not copyable
 * or movable (threads share them by address). */

/* weft_mutex: Lockable and TimedLockable. */
class mutex {
public:
    constexpr mutex() noexcept = default;
    mutex(const mutex &) = delete;
    mutex &operator=(const mutex &) = delete;
    void lock() { detail::check(weft_mutex_lock(&m_), "weft_mutex_lock"); }
    bool try_lock() { return try_result(weft_mutex_try_lock(&m_), -EBUSY, "weft_mutex_try_lock"); }
    template <class Rep, class Period>
    bool try_lock_for(const std::chrono::duration<Rep, Period> &timeout)
    {
        return try_result(weft_mutex_lock_timeout(&m_, detail::to_ns(timeout)), -ETIMEDOUT, "weft_mutex_lock_timeout");
    }
    template <class Clock, class Duration>
    bool try_lock_until(const std::chrono::time_point<Clock, Duration> &deadline)
    {
        return try_lock_for(deadline - Clock::now());
    }
    void unlock() noexcept
    {
        if (weft_mutex_unlock(&m_) != 0)
            std::terminate();
    }
    weft_mutex *native_handle() noexcept { return &m_; }

private:
    static bool try_result(int rc, int no, const char *name)
    {
        return rc != no && detail::check(rc, name) == 0;
    }
    weft_mutex m_ = WEFT_MUTEX_INIT;
};

/* weft_rwlock: SharedMutex (lock / try_lock exclusive; lock_shared / try_lock_shared). */
class rwlock {
public:
    constexpr rwlock() noexcept = default;
    rwlock(const rwlock &) = delete;
    rwlock &operator=(const rwlock &) = delete;
    void lock() { detail::check(weft_rwlock_write_lock(&l_), "weft_rwlock_write_lock"); }
    bool try_lock()
    {
        int rc = weft_rwlock_try_write_lock(&l_);
        return rc != -EBUSY && detail::check(rc, "weft_rwlock_try_write_lock") == 0;
    }
    void unlock() noexcept
    {
        if (weft_rwlock_unlock(&l_) != 0)
            std::terminate();
    }
    void lock_shared() { detail::check(weft_rwlock_read_lock(&l_), "weft_rwlock_read_lock"); }
    bool try_lock_shared()
    {
        int rc = weft_rwlock_try_read_lock(&l_);
        return rc != -EBUSY && detail::check(rc, "weft_rwlock_try_read_lock") == 0;
    }
    void unlock_shared() noexcept { unlock(); }
    weft_rwlock *native_handle() noexcept { return &l_; }

private:
    weft_rwlock l_ = WEFT_RWLOCK_INIT;
};

/* weft_condvar, waited on with a std::unique_lock<weft::mutex> (as
 * std::condition_variable with std::unique_lock<std::mutex>). Spurious wake-ups
 * happen: use the predicate forms, or loop. */
class condvar {
public:
    constexpr condvar() noexcept = default;
    condvar(const condvar &) = delete;
    condvar &operator=(const condvar &) = delete;
    void notify_one() noexcept { weft_condvar_notify_one(&cv_); }
    void notify_all() noexcept { weft_condvar_notify_all(&cv_); }
    void wait(std::unique_lock<mutex> &lk)
    {
        detail::check(weft_condvar_wait(&cv_, lk.mutex()->native_handle()), "weft_condvar_wait");
    }
    template <class Pred>
    void wait(std::unique_lock<mutex> &lk, Pred pred)
    {
        while (!pred())
            wait(lk);
    }
    /* false: the time ran out (std::cv_status::timeout). */
    template <class Rep, class Period>
    bool wait_for(std::unique_lock<mutex> &lk, const std::chrono::duration<Rep, Period> &timeout)
    {
        int rc = weft_condvar_wait_timeout(&cv_, lk.mutex()->native_handle(), detail::to_ns(timeout));
        return rc != -ETIMEDOUT && detail::check(rc, "weft_condvar_wait_timeout") == 0;
    }
    /* The predicate's last value: false only if the time ran out with pred() false. */
    template <class Rep, class Period, class Pred>
    bool wait_for(std::unique_lock<mutex> &lk, const std::chrono::duration<Rep, Period> &timeout, Pred pred)
    {
        uint64_t deadline = weft_deadline_after(detail::to_ns(timeout));
        while (!pred()) {
            int rc = weft_condvar_wait_until(&cv_, lk.mutex()->native_handle(), deadline);
            if (rc == -ETIMEDOUT)
                return pred();
            detail::check(rc, "weft_condvar_wait_until");
        }
        return true;
    }
    weft_condvar *native_handle() noexcept { return &cv_; }

private:
    weft_condvar cv_ = WEFT_CONDVAR_INIT;
};

/* ------------------------------------------------------------------------------
 * Channels of T (weft/chan.h). Messages are copied as bytes, so T must be trivially
 * copyable. Handles are move-only and close on destruction; clone() opens another. */

/* capacity of a channel without a bound. */
inline constexpr size_t unbounded = WEFT_UNBOUNDED;

namespace detail {

/* An owned channel handle: move-only, closed (Close) by close() and the destructor. */
template <class H, int (*Close)(H *)>
class chan_handle {
public:
    chan_handle() noexcept = default;
    explicit chan_handle(H *adopt) noexcept : h_(adopt) {}
    chan_handle(chan_handle &&o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
    chan_handle &operator=(chan_handle &&o) noexcept
    {
        if (this != &o) {
            close();
            h_ = std::exchange(o.h_, nullptr);
        }
        return *this;
    }
    ~chan_handle() { close(); }
    /* Close now (closing the last sender, or receiver, disconnects the channel). */
    void close() noexcept
    {
        if (h_)
            Close(std::exchange(h_, nullptr));
    }
    explicit operator bool() const noexcept { return h_ != nullptr; }
    H *native_handle() const noexcept { return h_; }
    /* Give up ownership: the caller closes the returned handle. */
    H *release() noexcept { return std::exchange(h_, nullptr); }

protected:
    H *h_ = nullptr;
};

} // namespace detail

template <class T>
class sender : public detail::chan_handle<weft_sender, &weft_sender_close> {
    static_assert(std::is_trivially_copyable_v<T>, "weft::sender<T>: messages are copied as bytes, so T must be trivially copyable");

public:
    sender() noexcept = default;
    /* Adopt a C handle (it is closed with this object). */
    explicit sender(weft_sender *adopt) noexcept : chan_handle(adopt) {}

    /* Block until sent. Throws weft::error: -EPIPE (no receiver left: not sent), -ENOMEM. */
    void send(const T &msg) { detail::check(weft_chan_send(h_, &msg), "weft_chan_send"); }
    /* false if the channel is full (would block); throws as send. */
    bool try_send(const T &msg)
    {
        int rc = weft_chan_try_send(h_, &msg);
        return rc != -EAGAIN && detail::check(rc, "weft_chan_try_send") == 0;
    }
    /* false if not sent within timeout; throws as send. */
    template <class Rep, class Period>
    bool send_for(const T &msg, const std::chrono::duration<Rep, Period> &timeout)
    {
        int rc = weft_chan_send_timeout(h_, &msg, detail::to_ns(timeout));
        return rc != -ETIMEDOUT && detail::check(rc, "weft_chan_send_timeout") == 0;
    }
    sender clone() const
    {
        weft_sender *c = nullptr;
        detail::check(weft_sender_clone(h_, &c), "weft_sender_clone");
        return sender(c);
    }
    size_t len() const noexcept { return weft_sender_len(h_); }
    size_t capacity() const noexcept { return weft_sender_capacity(h_); }
    bool is_empty() const noexcept { return weft_sender_is_empty(h_); }
    bool is_full() const noexcept { return weft_sender_is_full(h_); }
    bool is_disconnected() const noexcept { return weft_sender_is_disconnected(h_); }
};

template <class T>
class receiver : public detail::chan_handle<weft_receiver, &weft_receiver_close> {
    static_assert(std::is_trivially_copyable_v<T>, "weft::receiver<T>: messages are copied as bytes, so T must be trivially copyable");

public:
    receiver() noexcept = default;
    /* Adopt a C handle (e.g. a timer of weft_chan_after / tick, T = uint64_t). */
    explicit receiver(weft_receiver *adopt) noexcept : chan_handle(adopt) {}

    /* The next message; empty once the channel is drained and no sender is left. */
    std::optional<T> recv()
    {
        return receive([this](void *buf) { return weft_chan_recv(h_, buf); }, -EPIPE, "weft_chan_recv");
    }
    /* A message if one is there now; empty if not (or drained and disconnected: ask
     * is_disconnected()). */
    std::optional<T> try_recv()
    {
        return receive([this](void *buf) { return weft_chan_try_recv(h_, buf); }, -EAGAIN, "weft_chan_try_recv");
    }
    /* A message within timeout; empty if none came (or drained and disconnected). */
    template <class Rep, class Period>
    std::optional<T> recv_for(const std::chrono::duration<Rep, Period> &timeout)
    {
        uint64_t ns = detail::to_ns(timeout);
        return receive([this, ns](void *buf) { return weft_chan_recv_timeout(h_, buf, ns); }, -ETIMEDOUT,
                       "weft_chan_recv_timeout");
    }
    receiver clone() const
    {
        weft_receiver *c = nullptr;
        detail::check(weft_receiver_clone(h_, &c), "weft_receiver_clone");
        return receiver(c);
    }
    size_t len() const noexcept { return weft_receiver_len(h_); }
    size_t capacity() const noexcept { return weft_receiver_capacity(h_); }
    bool is_empty() const noexcept { return weft_receiver_is_empty(h_); }
    bool is_full() const noexcept { return weft_receiver_is_full(h_); }
    bool is_disconnected() const noexcept { return weft_receiver_is_disconnected(h_); }

    /* `for (T msg : rx)`: every message until the channel is drained and disconnected
     * (WEFT_CHAN_FOREACH). An input range: one pass. */
    class iterator {
    public:
        using iterator_category = std::input_iterator_tag;
        using value_type = T;
        using difference_type = std::ptrdiff_t;
        using pointer = const T *;
        using reference = const T &;
        iterator() noexcept = default;
        explicit iterator(receiver *rx) : rx_(rx) { ++*this; }
        const T &operator*() const noexcept { return *cur_; }
        const T *operator->() const noexcept { return &*cur_; }
        iterator &operator++()
        {
            cur_ = rx_->recv();
            if (!cur_)
                rx_ = nullptr;
            return *this;
        }
        void operator++(int) { ++*this; }
        friend bool operator==(const iterator &a, const iterator &b) noexcept { return a.rx_ == b.rx_; }
        friend bool operator!=(const iterator &a, const iterator &b) noexcept { return a.rx_ != b.rx_; }

    private:
        receiver *rx_ = nullptr;
        std::optional<T> cur_;
    };
    iterator begin() { return iterator(this); }
    iterator end() noexcept { return iterator(); }

private:
    /* call(buf) is one C receive into buf: the message, or empty for `none` and for
     * -EPIPE (disconnected), or weft::error. */
    template <class Call>
    std::optional<T> receive(Call call, int none, const char *name)
    {
        alignas(T) unsigned char buf[sizeof(T)]; /* T need not be default-constructible */
        int rc = call(static_cast<void *>(buf));
        if (rc == none || rc == -EPIPE)
            return std::nullopt;
        detail::check(rc, name);
        return *std::launder(reinterpret_cast<const T *>(buf)); /* the bytes the C call wrote */
    }
};

/* Open a channel of T (weft_chan_open): capacity weft::unbounded (the default), N > 0
 * (bounded: send blocks while full) or 0 (rendezvous). Throws weft::error
 * (-EINVAL, -ENOMEM). */
template <class T>
std::pair<sender<T>, receiver<T>> channel(size_t capacity = unbounded)
{
    weft_sender *tx = nullptr;
    weft_receiver *rx = nullptr;
    detail::check(weft_chan_open(sizeof(T), capacity, nullptr, &tx, &rx), "weft_chan_open");
    return {sender<T>(tx), receiver<T>(rx)};
}

} // namespace weft

#endif /* WEFT_HPP */
