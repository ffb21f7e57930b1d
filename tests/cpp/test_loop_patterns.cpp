/* test_loop_patterns: weft::par_for_init, weft::par_scan, weft::par_find_first and
 * par_find_last. A per-worker histogram merged in fini (and RAII states without
 * fini), inclusive and exclusive prefix sums equal to std::inclusive_scan /
 * exclusive_scan, a bit-identical floating-point scan, searches for every kind of
 * position and none, and exceptions from init, body, fini, scan and a predicate
 * rethrown on the calling thread. */
#include "cpp_check.hpp"

#include <atomic>
#include <cstdint>
#include <numeric>
#include <stdexcept>
#include <vector>

int main()
{
    const size_t n = 200000;
    std::vector<uint32_t> keys(n);
    for (size_t i = 0; i < n; i++)
        keys[i] = uint32_t((i * 2654435761u) >> 7);

    // par_for_init: a histogram per worker, merged in fini.
    std::vector<uint64_t> hist(64, 0), want(64, 0);
    for (uint32_t k : keys)
        want[k % 64]++;
    std::atomic<int> states{0};
    int finis = 0;
    weft::par_for_init(
        0, n, [&] { states++; return std::vector<uint64_t>(64, 0); },
        [&](std::vector<uint64_t> &h, size_t b, size_t e) { for (; b < e; b++) h[keys[b] % 64]++; },
        [&](std::vector<uint64_t> &h) { finis++; for (size_t k = 0; k < 64; k++) hist[k] += h[k]; });
    CHECK(hist == want, "merged histogram");
    CHECK(finis == states.load(), "%d states, %d finis", states.load(), finis);

    // Without fini, with a grain and a status.
    std::atomic<size_t> seen{0};
    int rc = weft::par_for_init(
        0, n, [] { return std::vector<char>(4096); },
        [&](std::vector<char> &scratch, size_t b, size_t e) { scratch[0] = 1; seen += e - b; return 0; }, 1000);
    CHECK(rc == 0 && seen.load() == n, "for_init without fini");

    CHECK(throws<std::runtime_error>([] {
        weft::par_for_init(0, 100000, []() -> int { throw std::runtime_error("init"); }, [](int &, size_t, size_t) {});
    }), "init's exception");
    CHECK(throws<std::runtime_error>([] {
        weft::par_for_init(0, 100000, [] { return 0; },
                           [](int &, size_t b, size_t e) { if (b <= 5000 && 5000 < e) throw std::runtime_error("body"); });
    }), "body's exception");
    CHECK(throws<std::logic_error>([] {
        weft::par_for_init(0, 100000, [] { return 0; }, [](int &, size_t, size_t) {},
                           [](int &) { throw std::logic_error("fini"); });
    }), "fini's exception");

    // par_scan: inclusive and exclusive prefix sums, in place too.
    std::vector<uint64_t> in(n), out(n), ref(n);
    for (size_t i = 0; i < n; i++)
        in[i] = keys[i] % 1000;
    uint64_t total = weft::par_scan(0, n, uint64_t(0), [&](size_t b, size_t e, uint64_t acc, bool final) {
        for (size_t i = b; i < e; i++) {
            acc += in[i];
            if (final)
                out[i] = acc;
        }
        return acc;
    }, [](uint64_t a, uint64_t c) { return a + c; });
    std::inclusive_scan(in.begin(), in.end(), ref.begin());
    CHECK(out == ref && total == ref.back(), "inclusive scan");
    std::vector<uint64_t> v = in;
    weft::par_scan(0, n, uint64_t(0), [&](size_t b, size_t e, uint64_t &acc, bool final) {
        for (size_t i = b; i < e; i++) {
            uint64_t x = v[i];
            if (final)
                v[i] = acc;
            acc += x;
        }
    }, [](uint64_t &a, const uint64_t &c) { a += c; }, 777);
    std::exclusive_scan(in.begin(), in.end(), ref.begin(), uint64_t(0));
    CHECK(v == ref, "exclusive scan in place");

    std::vector<double> f(n), g(n);
    auto fscan = [&](std::vector<double> &dst) {
        return weft::par_scan(0, n, 0.0, [&](size_t b, size_t e, double acc, bool final) {
            for (size_t i = b; i < e; i++) {
                acc += 1.0 / double(i + 1);
                if (final)
                    dst[i] = acc;
            }
            return acc;
        }, [](double a, double c) { return a + c; });
    };
    double t1 = fscan(f), t2 = fscan(g);
    CHECK(f == g && t1 == t2, "floating-point scan bit-identical run to run");
    CHECK(throws<std::runtime_error>([&] {
        weft::par_scan(0, n, 0, [](size_t b, size_t e, int acc, bool) {
            if (b <= 100000 && 100000 < e)
                throw std::runtime_error("scan");
            return acc;
        }, [](int a, int c) { return a + c; });
    }), "scan's exception");

    // par_find_first / par_find_last.
    const long where[] = {-1, 0, 1, long(n / 2), long(n - 1)};
    for (long w : where) {
        auto hit = [&](size_t i) { return long(i) == w || (w >= 0 && i == size_t(w) + 7); };
        auto first = weft::par_find_first(0, n, hit);
        auto last = weft::par_find_last(0, n, hit, 100);
        if (w < 0) {
            CHECK(!first && !last, "no match");
        } else {
            CHECK(first && *first == size_t(w), "first at %ld", w);
            size_t l = size_t(w) + 7 < n ? size_t(w) + 7 : size_t(w);
            CHECK(last && *last == l, "last at %ld", w);
        }
    }
    CHECK(throws<std::runtime_error>([] {
        weft::par_find_first(0, 100000, [](size_t i) -> bool { if (i == 50000) throw std::runtime_error("pred"); return false; });
    }), "predicate's exception");
    std::printf("test_loop_patterns: ok\n");
    return 0;
}
