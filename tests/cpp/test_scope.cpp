/* test_scope: weft::scope. Tasks borrow the caller's stack; tasks spawn siblings
 * through their scope_ref; callables that are not trivially copyable (a std::string
 * and a shared_ptr captured by value) run once and are destroyed once; an exception
 * from a task or from the body cancels the scope (tasks not yet started are skipped),
 * the wait still completes, and the first exception comes out. */
#include "cpp_check.hpp"

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>

static void tree(weft::scope_ref s, std::atomic<int> &count, int depth)
{
    count++;
    if (depth > 0)
        for (int i = 0; i < 2; i++)
            s.spawn([&count, depth](weft::scope_ref t) { tree(t, count, depth - 1); });
}

int main()
{
    std::atomic<int> count{0};
    weft::scope([&](weft::scope_ref s) {
        for (int i = 0; i < 1000; i++)
            s.spawn([&] { count++; });
    });
    CHECK(count == 1000, "1000 tasks: %d", count.load());

    count = 0;
    weft::scope([&](weft::scope_ref s) { tree(s, count, 9); });
    CHECK(count == 1023, "spawned tree: %d", count.load());

    auto token = std::make_shared<int>(7);
    std::string text(100, 'y'); // not an SSO string: a copy owns heap memory
    std::atomic<long> total{0};
    weft::scope([&](weft::scope_ref s) {
        for (int i = 0; i < 100; i++)
            s.spawn([&total, token, text] { total += *token + (long)text.size(); });
    });
    CHECK(total == 100 * 107 && token.use_count() == 1, "owned callables: total %ld, uses %ld", total.load(),
          token.use_count());

    for (int round = 0; round < (int)stress_iters(100); round++) {
        std::atomic<int> ran{0};
        bool caught = throws<std::runtime_error>([&] {
            weft::scope([&](weft::scope_ref s) {
                for (int i = 0; i < 100; i++)
                    s.spawn([&, i] {
                        ran++;
                        if (i == 10)
                            throw std::runtime_error("task");
                    });
            });
        });
        CHECK(caught && ran >= 1 && ran <= 100, "task throws: caught %d, ran %d", caught, ran.load());

        ran = 0;
        caught = throws<std::logic_error>([&] {
            weft::scope([&](weft::scope_ref s) {
                for (int i = 0; i < 10; i++)
                    s.spawn([&] { ran++; });
                throw std::logic_error("body");
            });
        });
        CHECK(caught && ran <= 10, "body throws");
    }
    return 0;
}
