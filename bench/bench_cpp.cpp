/* bench_cpp.cpp: the weft-cpp rows (bench_cpp.h): the C rows' work written as a C++
 * user writes it with weft.hpp. join_overhead: the C row joins two out-of-line
 * functions that count their call (bench_runtime.c's count_fn); here each half is a
 * lambda with the same body, which the wrapper's trampoline calls (so the row
 * measures weft::join's cost over weft_join's: its context struct, the trampoline's
 * indirection, the exception slot); weft-cpp-noexcept's lambdas are noexcept, so
 * weft::join passes each one's pointer as the ctx itself, as the C row does. */
#include "bench_cpp.h"

#include <weft.hpp>

namespace {

/* count_fn's body: count the call; the asm keeps the count in memory, as in C. */
inline void count(uint64_t *n)
{
    ++*n;
    __asm__ volatile("" : "+m"(*n));
}

/* The joins of both rows: two lambdas that count their call, noexcept or not (with
 * noexcept, weft::join's direct path: each lambda, one pointer, is the C call's ctx,
 * as the C row passes count_fn its counter). */
template <bool NoExcept>
void join_loop(void *loop)
{
    auto *l = static_cast<bench_loop *>(loop);
    uint64_t *done = &l->done;
    uint64_t t0 = weft_time_now_ns();
    try {
        for (uint64_t i = 0; i < l->size; i++)
            weft::join([done]() noexcept(NoExcept) { count(done); }, [done]() noexcept(NoExcept) { count(done); });
        l->ok = true;
    } catch (...) {
        l->ok = false;
    }
    l->seconds = (double)(weft_time_now_ns() - t0) * 1e-9;
}

} // namespace

extern "C" void bench_cpp_join_loop_run(void *loop) { join_loop<false>(loop); }
extern "C" void bench_cpp_join_noexcept_loop_run(void *loop) { join_loop<true>(loop); }

