/* bench_cpp.h: the C++ rows of the benchmarks (impl "weft-cpp"): weft through
 * weft.hpp's wrappers, implemented in bench_cpp.cpp and called from the C benchmark
 * files. They exist only when the build has a C++ compiler (WEFT_BENCH_HAVE_CPP, set
 * by bench/CMakeLists.txt); the suite builds and runs without them.
 *
 * Contract: the same work as the C row beside it, through the wrapper instead of the
 * C call, timed the same way; no exception crosses into C (a failure is ok = false). */
#ifndef WEFT_BENCH_CPP_H
#define WEFT_BENCH_CPP_H

/* A table row that exists only with C++: BENCH_CPP_ROW(name, param, "weft-cpp", ...)
 * expands to `{...},` (trailing comma included) or to nothing. */
#ifdef WEFT_BENCH_HAVE_CPP
#define BENCH_CPP_ROW(...) {__VA_ARGS__},
#else
#define BENCH_CPP_ROW(...)
#endif

#ifdef WEFT_BENCH_HAVE_CPP

#include "bench.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A weft_fn over a bench_loop: size weft::join calls of two lambdas that each count
 * their call in loop->done, on the calling worker (run it with weft_pool_run on a
 * 1-worker pool). */
void bench_cpp_join_loop_run(void *loop);
void bench_cpp_join_noexcept_loop_run(void *loop);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_BENCH_HAVE_CPP */
#endif /* WEFT_BENCH_CPP_H */
