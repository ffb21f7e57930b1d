/* test_join: weft::join and weft::isolate. Both halves run once, in parallel when a
 * thief takes one; values come back as a pair; nested joins (fib) give exact
 * results; an exception in either half is rethrown after both ran to their end, the
 * first one winning, also when the half that throws ran on a thief while the other
 * returned a value; noexcept halves work the same, and those small enough to travel
 * as the C call's ctx (the direct path) give the same results, on thieves too. */
#include "cpp_check.hpp"

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>

/* fib over joins of noexcept lambdas capturing one pointer: the direct path (the
 * closure's bytes are the C call's ctx), run by thieves too in a pool. */
struct fib_frame {
    int n;
    long r;
};

static void fib_direct(fib_frame *f) noexcept
{
    if (f->n < 2) {
        f->r = f->n;
        return;
    }
    fib_frame a{f->n - 1, 0}, b{f->n - 2, 0};
    fib_frame *pa = &a, *pb = &b;
    weft::join([pa]() noexcept { fib_direct(pa); }, [pb]() noexcept { fib_direct(pb); });
    f->r = a.r + b.r;
}

/* Which joins take the direct path (weft.hpp, "Cost"). */
static int g_counter;
static void plain_fn() noexcept { g_counter++; }
static void test_direct_rule()
{
    int v = 0, u = 0;
    long w = 0;
    auto by_ref = [&v]() noexcept { v++; };
    auto by_ptr = [p = &u]() noexcept { (*p)++; };
    auto empty = []() noexcept {};
    auto two = [&w, &u]() noexcept { w++, u++; }; // two pointers: too large
    auto throwing = [&w] { w++; };                // not noexcept
    auto valued = [&v]() noexcept { return v; };  // returns a value
    auto mut = [v]() mutable noexcept { v++; };   // changes itself
    static_assert(weft::detail::direct_callable_v<decltype(by_ref)>);
    static_assert(weft::detail::direct_callable_v<decltype(by_ptr)>);
    static_assert(weft::detail::direct_callable_v<decltype(empty)>);
    static_assert(weft::detail::direct_callable_v<decltype(&plain_fn)>);
    static_assert(!weft::detail::direct_callable_v<decltype(two)>);
    static_assert(!weft::detail::direct_callable_v<decltype(throwing)>);
    static_assert(!weft::detail::direct_callable_v<decltype(valued)>);
    static_assert(!weft::detail::direct_callable_v<decltype(mut)>);
    // Each kind once (the two halves of a join touch different variables: they may
    // run at once), and a direct half beside one that is not (the general path).
    weft::join(by_ref, by_ptr);
    CHECK(v == 1 && u == 1, "direct halves by reference and by pointer");
    weft::join(empty, &plain_fn);
    CHECK(g_counter == 1, "an empty lambda beside a function pointer");
    weft::join(by_ref, two);
    CHECK(v == 2 && w == 1 && u == 2, "a direct half beside a two-pointer one");
    weft::join(throwing, by_ref);
    CHECK(v == 3 && w == 2, "a direct half beside one that may throw");
}

/* Halves returning values, the right one run by a thief: the left one waits until
 * the right one has started, which only a thief can do meanwhile (the wait is bounded
 * so that a lost steal fails the check rather than hanging). Then the right half
 * throws (`right`), the left one (`left`), or both; whichever threw is rethrown on the
 * joiner, after both halves ran to their end. */
static void test_thief_throws(weft::pool &pool, bool left, bool right)
{
    std::atomic<bool> started{false};
    std::atomic<int> done{0};
    std::atomic<int> joiner{-1}, thief{-1};
    std::string what;
    try {
        pool.run([&] {
            joiner = weft_current_worker_index();
            auto r = weft::join(
                [&] {
                    uint64_t deadline = weft_time_now_ns() + 20000000000u;
                    while (!started && weft_time_now_ns() < deadline)
                        std::this_thread::yield();
                    done++;
                    if (left)
                        throw std::runtime_error("left");
                    return std::string("value");
                },
                [&] {
                    thief = weft_current_worker_index();
                    started = true;
                    done++;
                    if (right)
                        throw std::runtime_error("right");
                    return 7;
                });
            CHECK(!left && !right && r.first == "value" && r.second == 7, "values from both halves");
        });
    } catch (const std::runtime_error &e) {
        what = e.what();
    }
    CHECK(done == 2 && thief != joiner, "both halves ran, the right one on a thief (worker %d, joiner %d)",
          thief.load(), joiner.load());
    if (left && right)
        CHECK(what == "left" || what == "right", "both throw on two threads: one rethrown (%s)", what.c_str());
    else
        CHECK(what == (left ? "left" : right ? "right" : ""), "left %d right %d: got '%s'", left, right,
              what.c_str());
}

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

    for (int round = 0; round < (int)stress_iters(20); round++) {
        test_thief_throws(pool, false, true);
        test_thief_throws(pool, true, false);
        test_thief_throws(pool, true, true);
        test_thief_throws(pool, false, false);
    }

    // noexcept halves.
    int p = 0, q = 0;
    weft::join([&]() noexcept { p = 3; }, [&]() noexcept { q = 4; });
    CHECK(p == 3 && q == 4, "noexcept halves");

    test_direct_rule();
    fib_frame f{24, 0};
    fib_direct(&f);
    CHECK(f.r == 46368, "direct fib(24) = %ld", f.r);
    pool.run([] {
        fib_frame g{22, 0};
        fib_direct(&g);
        CHECK(g.r == 17711, "direct fib in a pool");
    });

    // isolate: runs, returns, rethrows.
    CHECK(weft::isolate([] { return fib(15); }) == 610, "isolate value");
    CHECK(throws<std::out_of_range>([] { weft::isolate([] { throw std::out_of_range("x"); }); }), "isolate throws");
    return 0;
}
