/* test_sort: weft::par_sort. Sorted, reversed, all-equal and random inputs of ints
 * with a custom order, std::string (not trivially copyable: moved, never copied as
 * bytes), the uint64_t / uint32_t fast paths, a deque (random access, not
 * contiguous), and an exception from the comparator (rethrown, the range still a
 * permutation of its input). */
#include "cpp_check.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

template <class C, class Cmp>
static void check_sorted(C v, Cmp cmp, const char *what)
{
    C want = v;
    std::sort(want.begin(), want.end(), cmp);
    weft::par_sort(v.begin(), v.end(), cmp);
    CHECK(v == want, "%s", what);
}

int main()
{
    std::mt19937_64 rng(42);
    const size_t n = 200000;
    std::vector<int> r(n);
    for (auto &x : r)
        x = int(rng() % 1000);
    check_sorted(r, std::greater<>(), "random ints, descending");
    std::vector<int> up(n);
    for (size_t i = 0; i < n; i++)
        up[i] = int(i);
    check_sorted(up, std::less<>(), "sorted");
    check_sorted(up, std::greater<>(), "reversed");
    check_sorted(std::vector<int>(n, 5), std::less<>(), "all equal");
    check_sorted(std::vector<int>{3, 1, 2}, std::less<>(), "short");
    check_sorted(std::vector<int>{}, std::less<>(), "empty");

    std::vector<std::string> s(50000);
    for (auto &x : s)
        x = "key-" + std::to_string(rng() % 100000) + std::string(rng() % 40, 'x'); // some beyond SSO
    check_sorted(s, [](const std::string &a, const std::string &b) { return a < b; }, "strings");

    std::vector<uint64_t> k64(n);
    for (auto &x : k64)
        x = rng();
    check_sorted(k64, std::less<>(), "u64 fast path");
    std::vector<uint32_t> k32(n);
    for (auto &x : k32)
        x = uint32_t(rng());
    check_sorted(k32, std::less<uint32_t>(), "u32 fast path");
    uint64_t raw[5] = {5, 3, 9, 1, 7};
    weft::par_sort(raw, raw + 5);
    CHECK(std::is_sorted(raw, raw + 5), "pointer range");

    std::deque<long> d(r.begin(), r.end());
    check_sorted(d, std::less<>(), "deque");

    std::vector<int> e = r;
    std::atomic<long> calls{0};
    bool caught = throws<std::runtime_error>([&] {
        weft::par_sort(e.begin(), e.end(), [&](int a, int b) {
            if (calls.fetch_add(1, std::memory_order_relaxed) == 100000)
                throw std::runtime_error("cmp");
            return a < b;
        });
    });
    std::vector<int> e_sorted = e, r_sorted = r;
    std::sort(e_sorted.begin(), e_sorted.end());
    std::sort(r_sorted.begin(), r_sorted.end());
    CHECK(caught && e_sorted == r_sorted, "comparator throws: rethrown, a permutation left");
    return 0;
}
