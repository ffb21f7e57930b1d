/* test_chan: weft::channel, sender and receiver. Messages of a struct type arrive in
 * each sender's order; range-for drains until every sender is gone; a full bounded
 * channel refuses try_send; empty try_recv and a recv_for timeout give no value;
 * sending with no receiver left throws weft::error -EPIPE; clones count as senders;
 * handles close on destruction; a timer receiver adopted from C. */
#include "cpp_check.hpp"

#include <chrono>
#include <thread>
#include <tuple>
#include <vector>

struct msg {
    int sender;
    int seq;
};

int main()
{
    {
        auto [tx, rx] = weft::channel<msg>();
        const int senders = 4, per = 10000;
        std::vector<std::thread> threads;
        for (int s = 0; s < senders; s++)
            threads.emplace_back([s, t = tx.clone()]() mutable {
                for (int i = 0; i < per; i++)
                    t.send(msg{s, i});
            });
        tx.close();
        std::vector<int> next(senders, 0);
        long got = 0;
        for (msg m : rx) {
            CHECK(m.seq == next[m.sender]++, "order of sender %d", m.sender);
            got++;
        }
        for (auto &t : threads)
            t.join();
        CHECK(got == senders * per, "received %ld", got);
        CHECK(!rx.recv() && rx.is_disconnected(), "drained and disconnected");
    }
    {
        weft::sender<int> tx; // not a structured binding: lambdas capture it below
        weft::receiver<int> rx;
        std::tie(tx, rx) = weft::channel<int>(2);
        CHECK(tx.capacity() == 2, "capacity");
        CHECK(tx.try_send(1) && tx.try_send(2) && !tx.try_send(3), "full");
        CHECK(tx.is_full() && rx.len() == 2, "len");
        CHECK(rx.try_recv() == 1 && rx.recv() == 2, "values");
        CHECK(!rx.try_recv(), "empty");
        CHECK(!rx.recv_for(std::chrono::milliseconds(5)), "timeout");
        CHECK(!tx.send_for(0, std::chrono::milliseconds(0)) || rx.recv() == 0, "send_for");
        rx.close();
        CHECK(throws_weft(-EPIPE, [&] { tx.send(4); }), "send with no receiver");
        CHECK(throws_weft(-EPIPE, [&] { tx.try_send(4); }), "try_send with no receiver");
    }
    {
        auto [tx, rx] = weft::channel<double>(0); // rendezvous
        std::thread t([&tx = tx] { tx.send(2.5); });
        CHECK(rx.recv() == 2.5, "rendezvous");
        t.join();
    }
    {
        weft_receiver *raw = nullptr;
        CHECK(weft_chan_after(1000000, &raw) == 0, "after");
        weft::receiver<uint64_t> timer(raw);
        auto due = timer.recv();
        CHECK(due && *due <= weft_time_now_ns(), "timer message");
    }
    return 0;
}
