/* test_lock: weft::mutex, rwlock and condvar with the standard lock types:
 * std::lock_guard and std::scoped_lock around a counter that parallel loop bodies
 * increment; std::unique_lock with try_to_lock and a timed try_lock_for (false while
 * another thread holds it); std::shared_lock readers beside a writer; a condvar
 * hand-off with a predicate and a wait_for timeout. */
#include "cpp_check.hpp"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <shared_mutex>
#include <thread>

int main()
{
    weft::mutex m;
    long counter = 0;
    weft::par_for(0, 100000, [&](size_t b, size_t e) {
        for (size_t i = b; i < e; i++) {
            std::lock_guard<weft::mutex> g(m);
            counter++;
        }
    }, 100);
    CHECK(counter == 100000, "lock_guard counter %ld", counter);

    weft::mutex m2;
    {
        std::scoped_lock both(m, m2);
        counter++;
    }
    {
        std::unique_lock<weft::mutex> held(m);
        std::thread t([&] {
            std::unique_lock<weft::mutex> tl(m, std::try_to_lock);
            CHECK(!tl.owns_lock(), "try_to_lock while held");
            CHECK(!m.try_lock_for(std::chrono::milliseconds(2)), "try_lock_for while held");
            CHECK(!m.try_lock_until(std::chrono::steady_clock::now() + std::chrono::milliseconds(1)), "until");
        });
        t.join();
    }
    CHECK(m.try_lock(), "free again");
    m.unlock();

    weft::rwlock rw;
    int shared_value = 0;
    weft::par_for(0, 1000, [&](size_t b, size_t) {
        if (b % 10 == 0) {
            std::unique_lock<weft::rwlock> w(rw);
            shared_value++;
        } else {
            std::shared_lock<weft::rwlock> r(rw);
            CHECK(shared_value >= 0, "read");
        }
    }, 1);
    CHECK(shared_value == 100, "writers %d", shared_value);
    {
        std::shared_lock<weft::rwlock> r1(rw);
        CHECK(rw.try_lock_shared() && !rw.try_lock(), "readers share, exclude a writer");
        rw.unlock_shared();
    }

    weft::condvar cv;
    bool ready = false;
    std::thread producer([&] {
        std::lock_guard<weft::mutex> g(m);
        ready = true;
        cv.notify_all();
    });
    {
        std::unique_lock<weft::mutex> lk(m);
        cv.wait(lk, [&] { return ready; });
        CHECK(lk.owns_lock() && ready, "condvar hand-off");
        CHECK(!cv.wait_for(lk, std::chrono::milliseconds(2), [] { return false; }), "wait_for times out");
    }
    producer.join();
    return 0;
}
