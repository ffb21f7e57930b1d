/* test_pool: weft::pool, the RAII pool handle. run() and execute() return their
 * callable's value and rethrow its exception; parallel calls inside use the pool;
 * wait_idle; move; a bad configuration throws weft::error with the C error (-EINVAL)
 * as err() and EINVAL as code(). */
#include "cpp_check.hpp"

#include <atomic>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

int main()
{
    weft::pool p(3);
    CHECK(p.num_threads() == 3, "num_threads %u", p.num_threads());
    CHECK(p.run([] { return weft_pool_num_threads(nullptr); }) == 3, "run uses the pool");
    int idx = p.run([] { return weft_current_worker_index(); });
    CHECK(idx >= 0 && idx < 3, "ran on a worker: %d", idx);
    CHECK(p.execute([] { return 5; }) == 5, "execute value");
    CHECK(throws<std::runtime_error>([&] { p.run([]() -> int { throw std::runtime_error("x"); }); }), "run throws");
    CHECK(throws<std::runtime_error>([&] { p.execute([] { throw std::runtime_error("x"); }); }), "execute throws");

    std::atomic<int> done{0};
    p.run([&] {
        for (int i = 0; i < 100; i++)
            weft_spawn(nullptr, [](void *arg) -> void * {
                static_cast<std::atomic<int> *>(arg)->fetch_add(1);
                return nullptr;
            }, &done, nullptr);
    });
    p.wait_idle();
    CHECK(done == 100, "wait_idle: %d", done.load());
    CHECK(p.wait_idle_for(std::chrono::seconds(1)), "wait_idle_for");

    weft::pool q = std::move(p);
    CHECK(p.native_handle() == nullptr && q.native_handle() != nullptr, "moved");
    q = weft::pool(1);
    CHECK(q.num_threads() == 1, "move-assigned");

    weft_pool_config cfg = WEFT_POOL_CONFIG_INIT;
    cfg.num_threads = WEFT_POOL_MAX_THREADS + 1;
    try {
        weft::pool bad(cfg);
        CHECK(false, "a bad config did not throw");
    } catch (const weft::error &e) {
        CHECK(e.err() == -EINVAL && e.code() == std::errc::invalid_argument, "err %d", e.err());
        CHECK(std::string(e.what()).find("weft_pool_create") != std::string::npos, "what: %s", e.what());
    }
    CHECK(throws<std::system_error>([&] { weft::pool bad(cfg); }), "a std::system_error");
    return 0;
}
