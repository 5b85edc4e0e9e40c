// The core's own worker pool. One per context; the calling thread takes part in every job, so a pool of
// N threads runs N - 1 workers. No global pool, no OpenMP: the context owns its threads.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace sdn {

class ThreadPool {
public:
    explicit ThreadPool(int n_threads);
    ~ThreadPool();
    ThreadPool(const ThreadPool &) = delete;
    ThreadPool & operator=(const ThreadPool &) = delete;

    int size() const { return n_threads_; }

    // Calls fn(task, thread) for task in [0, n_tasks), spread over the pool; returns when all are done.
    // thread is in [0, size()). The first exception thrown by a task is rethrown here (remaining tasks
    // are skipped). Not reentrant: a task must not call parallel_for on the same pool.
    void parallel_for(int64_t n_tasks, const std::function<void(int64_t task, int thread)> & fn);

private:
    void worker_loop(int thread_index);
    void run_tasks(int thread_index);

    int n_threads_;
    std::vector<std::thread> workers_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable done_;
    const std::function<void(int64_t, int)> * job_ = nullptr;
    int64_t n_tasks_ = 0;
    int64_t next_task_ = 0;
    int64_t tasks_done_ = 0;
    uint64_t generation_ = 0;
    int busy_workers_ = 0;
    bool stopping_ = false;
    std::exception_ptr error_;
};

// Number of online CPU cores (at least 1).
int hardware_threads();

}  // namespace sdn
