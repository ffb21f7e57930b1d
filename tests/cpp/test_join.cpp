/* test_join: weft::join and weft::isolate. Both halves run once, in parallel when a
 * thief takes one; values come back as a pair; nested joins (fib) give exact
 * results; an exception in either half is rethrown after both ran to their end, the
 * first one winning; noexcept halves work the same. */
#include "cpp_check.hpp"

#include <atomic>
#include <stdexcept>
#include <string>

static long fib(int n)
{
    if (n < 2)
        return n;
    auto [a, b] = weft::join([&] { return fib(n - 1); }, [&] { return fib(n - 2); });
    return a + b;
}

int main()
{
    int x = 0, y = 0;
    weft::join([&] { x = 1; }, [&] { y = 2; });
    CHECK(x == 1 && y == 2, "void halves");

    auto [s, n] = weft::join([] { return std::string("left"); }, [] { return 42; });
    CHECK(s == "left" && n == 42, "values");

    CHECK(fib(24) == 46368, "fib(24) = %ld", fib(24));

    weft::pool pool(4);
    pool.run([] { CHECK(fib(22) == 17711, "fib in a pool"); });

    // An exception from either half, after both finished; the first one wins.
    for (int round = 0; round < (int)stress_iters(200); round++) {
        std::atomic<int> done{0};
        bool caught = false;
        try {
            pool.run([&] {
                weft::join([&] { done++; throw std::runtime_error("a"); },
                           [&] { fib(10); done++; });
            });
        } catch (const std::runtime_error &e) {
            caught = std::string(e.what()) == "a";
        }
        CHECK(caught && done == 2, "left half throws (round %d)", round);

        done = 0;
        std::string which;
        try {
            weft::join([&] { fib(12); done++; throw std::logic_error("left"); },
                       [&] { fib(12); done++; throw std::logic_error("right"); });
        } catch (const std::logic_error &e) {
            which = e.what();
        }
        CHECK(done == 2 && (which == "left" || which == "right"), "both throw: one rethrown");
    }

    // noexcept halves.
    int p = 0, q = 0;
    weft::join([&]() noexcept { p = 3; }, [&]() noexcept { q = 4; });
    CHECK(p == 3 && q == 4, "noexcept halves");

    // isolate: runs, returns, rethrows.
    CHECK(weft::isolate([] { return fib(15); }) == 610, "isolate value");
    CHECK(throws<std::out_of_range>([] { weft::isolate([] { throw std::out_of_range("x"); }); }), "isolate throws");
    return 0;
}
