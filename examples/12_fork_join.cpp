/* 12_fork_join.cpp: 12_fork_join.c in C++, with weft.hpp.
 *
 *   1. weft::join(f, g): runs the two lambdas, maybe in parallel, and returns when
 *      both are done; lambdas that return values give a std::pair. No struct of
 *      arguments, no void *.
 *   2. an inline task (weft/inline.h) is the same macro in C++: WEFT_TASK_1 defines a
 *      typed function and its fork and join, compiled into the caller.
 *   3. a scope: one task per block, spawned in a loop, each adding its block's sum into
 *      its own slot; weft::scope returns when every task is done.
 *
 * An exception thrown in a half, a task or the scope's body comes out of weft::join or
 * weft::scope on the calling thread, after everything they started has finished. */
#include <weft.hpp>

#include <cstdint>
#include <cstdio>
#include <numeric>
#include <stdexcept>
#include <vector>

/* ---- 1. weft::join: lambdas in, results out ------------------------------------ */

static uint64_t fib_join(int n)
{
    if (n < 2)
        return uint64_t(n);
    auto [a, b] = weft::join([n] { return fib_join(n - 1); }, [n] { return fib_join(n - 2); });
    return a + b;
}

/* ---- 2. an inline task --------------------------------------------------------- */

WEFT_TASK_1(uint64_t, fib, int, n)
{
    if (n < 2)
        return uint64_t(n);
    WEFT_FRAME(fib) f;             /* the fork's frame, on this stack */
    WEFT_FORK(fib, &f, n - 1);     /* fib(n - 1) may now run on another worker */
    uint64_t b = fib(n - 2);       /* a plain call, meanwhile */
    return WEFT_JOIN(fib, &f) + b; /* fib(n - 1)'s result, once it is done */
}

/* ---- 3. a scope of tasks -------------------------------------------------------- */

constexpr size_t N = size_t(1) << 22, BLOCKS = 64;

static uint64_t parallel_sum(const std::vector<uint32_t> &a)
{
    std::vector<uint64_t> partial(BLOCKS);
    weft::scope([&](weft::scope_ref s) {
        for (size_t k = 0; k < BLOCKS; k++)
            s.spawn([&a, &partial, k] { /* borrows a and partial: the scope outlives it */
                partial[k] = std::accumulate(a.begin() + k * (N / BLOCKS), a.begin() + (k + 1) * (N / BLOCKS),
                                             uint64_t(0));
            });
    });
    return std::accumulate(partial.begin(), partial.end(), uint64_t(0));
}

int main()
{
    std::printf("weft::join:  fib(30) = %llu\n", (unsigned long long)fib_join(30));
    std::printf("inline task: fib(30) = %llu\n", (unsigned long long)fib(30));

    std::vector<uint32_t> a(N);
    for (size_t i = 0; i < N; i++)
        a[i] = uint32_t(i % 1000);
    uint64_t expect = std::accumulate(a.begin(), a.end(), uint64_t(0));
    uint64_t s = parallel_sum(a);
    std::printf("sum of %zu elements in %zu scope tasks: %llu (%s)\n", N, BLOCKS, (unsigned long long)s,
                s == expect ? "matches the serial sum" : "WRONG");

    /* An exception in one half: the other half finishes, then join rethrows. */
    try {
        weft::join([] { throw std::runtime_error("left half failed"); }, [] { fib_join(20); });
    } catch (const std::runtime_error &e) {
        std::printf("caught from weft::join: %s\n", e.what());
    }
    return s == expect ? 0 : 1;
}
