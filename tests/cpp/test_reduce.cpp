/* test_reduce: weft::par_reduce and par_reduce_deterministic. Sums over ranges with
 * folds that return the accumulator or update it in place, a struct accumulator, the
 * empty range (the identity), bit-identical floating-point results of the
 * deterministic form, and exceptions from a fold or a combine. */
#include "cpp_check.hpp"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <stdexcept>
#include <vector>

struct minmax {
    long lo, hi;
};

int main()
{
    const size_t n = 1000000;
    uint64_t sum = weft::par_reduce(0, n, uint64_t(0),
        [](size_t b, size_t e, uint64_t acc) { for (; b < e; b++) acc += b; return acc; },
        [](uint64_t a, uint64_t c) { return a + c; });
    CHECK(sum == uint64_t(n) * (n - 1) / 2, "sum %llu", (unsigned long long)sum);

    // In-place forms, a struct, a grain.
    std::vector<long> v(n);
    for (size_t i = 0; i < n; i++)
        v[i] = (long)((i * 7919) % 1000003) - 500000;
    minmax m = weft::par_reduce(0, n, minmax{LONG_MAX, LONG_MIN},
        [&](size_t b, size_t e, minmax &acc) {
            for (; b < e; b++) {
                acc.lo = std::min(acc.lo, v[b]);
                acc.hi = std::max(acc.hi, v[b]);
            }
        },
        [](minmax &acc, const minmax &o) {
            acc.lo = std::min(acc.lo, o.lo);
            acc.hi = std::max(acc.hi, o.hi);
        }, 4096);
    minmax want{LONG_MAX, LONG_MIN};
    for (long x : v) {
        want.lo = std::min(want.lo, x);
        want.hi = std::max(want.hi, x);
    }
    CHECK(m.lo == want.lo && m.hi == want.hi, "minmax");

    CHECK(weft::par_reduce(3, 3, 17, [](size_t, size_t, int a) { return a + 1; }, [](int a, int b) { return a + b; }) == 17,
          "empty range gives the identity");

    // Deterministic: the same bits every time.
    auto fsum = [&] {
        return weft::par_reduce_deterministic(0, n, 0.0,
            [](size_t b, size_t e, double acc) { for (; b < e; b++) acc += 1.0 / double(b + 1); return acc; },
            [](double a, double c) { return a + c; });
    };
    double first = fsum();
    for (int i = 0; i < 5; i++)
        CHECK(fsum() == first, "deterministic sum differs");

    CHECK(throws<std::runtime_error>([] {
        weft::par_reduce(0, 100000, 0,
            [](size_t b, size_t, int acc) { if (b > 50000) throw std::runtime_error("fold"); return acc; },
            [](int a, int c) { return a + c; }, 1000);
    }), "fold throws");
    CHECK(throws<std::runtime_error>([] {
        weft::par_reduce(0, 100000, 0, [](size_t, size_t, int acc) { return acc + 1; },
            [](int, int) -> int { throw std::runtime_error("combine"); }, 1000);
    }), "combine throws");
    return 0;
}
