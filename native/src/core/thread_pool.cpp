#include "core/thread_pool.h"

#include <unistd.h>

namespace sdn {

int hardware_threads() {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) n = static_cast<long>(std::thread::hardware_concurrency());
    return n < 1 ? 1 : static_cast<int>(n);
}

ThreadPool::ThreadPool(int n_threads) : n_threads_(n_threads < 1 ? 1 : n_threads) {
    workers_.reserve(static_cast<size_t>(n_threads_ - 1));
    for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    for (auto & t : workers_) t.join();
}

void ThreadPool::run_tasks(int thread_index) {
    for (;;) {
        int64_t task;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (next_task_ >= n_tasks_ || error_) return;
            task = next_task_++;
        }
        try {
            (*job_)(task, thread_index);
        } catch (...) {
            std::lock_guard<std::mutex> lock(mutex_);
            if (!error_) error_ = std::current_exception();
        }
        {
            std::lock_guard<std::mutex> lock(mutex_);
            ++tasks_done_;
        }
    }
}

void ThreadPool::worker_loop(int thread_index) {
    uint64_t seen = 0;
    for (;;) {
        {
            std::unique_lock<std::mutex> lock(mutex_);
            wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
            if (stopping_) return;
            seen = generation_;
            ++busy_workers_;
        }
        run_tasks(thread_index);
        {
            std::lock_guard<std::mutex> lock(mutex_);
            --busy_workers_;
        }
        done_.notify_all();
    }
}

void ThreadPool::parallel_for(int64_t n_tasks, const std::function<void(int64_t, int)> & fn) {
    if (n_tasks <= 0) return;
    if (n_threads_ == 1 || n_tasks == 1) {
        for (int64_t t = 0; t < n_tasks; ++t) fn(t, 0);
        return;
    }
    {
        std::lock_guard<std::mutex> lock(mutex_);
        job_ = &fn;
        n_tasks_ = n_tasks;
        next_task_ = 0;
        tasks_done_ = 0;
        error_ = nullptr;
        ++generation_;
    }
    wake_.notify_all();
    run_tasks(0);
    std::exception_ptr error;
    {
        std::unique_lock<std::mutex> lock(mutex_);
        // Wait until no worker is still inside this job (tasks_done_ alone is not enough when an error
        // made workers skip tasks).
        done_.wait(lock, [&] { return busy_workers_ == 0 && (tasks_done_ == n_tasks_ || error_); });
        done_.wait(lock, [&] { return busy_workers_ == 0; });
        job_ = nullptr;
        n_tasks_ = 0;
        error = error_;
        error_ = nullptr;
    }
    if (error) std::rethrow_exception(error);
}

}  // namespace sdn
