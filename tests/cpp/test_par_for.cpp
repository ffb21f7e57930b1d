/* test_par_for: weft::par_for and weft::par_for_2d. Every index (cell) visited once,
 * adaptive and with a grain; an int body's status stops the loop and is returned; a
 * throwing body stops the loop and the exception comes out of the call, with no body
 * running after it returns. */
#include "cpp_check.hpp"

#include <atomic>
#include <stdexcept>
#include <vector>

int main()
{
    const size_t n = 100000;
    for (size_t grain : {size_t(0), size_t(1), size_t(1000)}) {
        std::vector<std::atomic<int>> seen(n);
        weft::par_for(0, n, [&](size_t b, size_t e) {
            for (size_t i = b; i < e; i++)
                seen[i].fetch_add(1, std::memory_order_relaxed);
        }, grain);
        for (size_t i = 0; i < n; i++)
            CHECK(seen[i].load() == 1, "index %zu seen %d times (grain %zu)", i, seen[i].load(), grain);
    }
    weft::par_for(5, 5, [](size_t, size_t) { CHECK(false, "empty range ran a body"); });

    // A status stops the loop.
    int rc = weft::par_for(0, n, [](size_t b, size_t e) { return (b <= 500 && 500 < e) ? 7 : 0; }, 100);
    CHECK(rc == 7, "status %d", rc);
    CHECK(weft::par_for(0, n, [](size_t, size_t) { return 0; }) == 0, "status 0");

    // An exception stops it; nothing runs after the call returns.
    std::atomic<long> after{0};
    std::atomic<bool> returned{false};
    bool caught = throws<std::runtime_error>([&] {
        weft::par_for(0, n, [&](size_t b, size_t) {
            if (returned.load())
                after++;
            if (b >= n / 2)
                throw std::runtime_error("body");
        }, 64);
    });
    returned = true;
    CHECK(caught && after == 0, "exception from a body");

    // Misuse is weft's error: lo > hi.
    CHECK(throws_weft(-EINVAL, [] { weft::par_for(10, 0, [](size_t, size_t) {}); }), "lo > hi");

    // 2-D: every cell once.
    const size_t rows = 300, cols = 200;
    std::vector<std::atomic<int>> cells(rows * cols);
    weft::par_for_2d(rows, cols, [&](size_t r0, size_t r1, size_t c0, size_t c1) {
        for (size_t r = r0; r < r1; r++)
            for (size_t c = c0; c < c1; c++)
                cells[r * cols + c]++;
    }, 16, 16);
    for (size_t i = 0; i < rows * cols; i++)
        CHECK(cells[i].load() == 1, "cell %zu seen %d times", i, cells[i].load());
    CHECK(throws<std::logic_error>([] {
        weft::par_for_2d(64, 64, [](size_t r0, size_t, size_t, size_t) {
            if (r0 == 0)
                throw std::logic_error("tile");
        }, 8, 8);
    }), "exception from a tile");
    return 0;
}
