#include "core/thread_pool.h"
#include "test_framework.h"

#include <atomic>
#include <stdexcept>
#include <vector>

TEST(thread_pool_runs_every_task_once) {
    sdn::ThreadPool pool(4);
    for (int round = 0; round < 50; ++round) {
        std::vector<std::atomic<int>> hits(1000);
        pool.parallel_for(1000, [&](int64_t t, int thread) {
            CHECK(thread >= 0 && thread < 4);
            hits[t].fetch_add(1);
        });
        for (auto & h : hits) CHECK(h.load() == 1);
    }
}

TEST(thread_pool_rethrows_task_exception_and_stays_usable) {
    sdn::ThreadPool pool(3);
    bool threw = false;
    try {
        pool.parallel_for(100, [&](int64_t t, int) {
            if (t == 17) throw std::runtime_error("boom");
        });
    } catch (const std::runtime_error &) {
        threw = true;
    }
    CHECK(threw);
    std::atomic<int> n{0};
    pool.parallel_for(10, [&](int64_t, int) { n.fetch_add(1); });
    CHECK(n.load() == 10);
}
