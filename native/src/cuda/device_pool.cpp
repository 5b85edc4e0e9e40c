#include "cuda/device_pool.h"

#include "core/error.h"
#include "cuda/cuda_check.h"

#include <cuda_runtime_api.h>

#include <cstdio>
#include <string>

namespace sdn::cuda {

namespace {

std::string mib(size_t bytes) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
    return buf;
}

}  // namespace

DevicePool::~DevicePool() {
    int previous = -1;
    cudaGetDevice(&previous);
    cudaSetDevice(device_);
    for (auto & kv : cache_)
        for (void * p : kv.second) cudaFree(p);
    for (auto & kv : live_) cudaFree(kv.first);
    cudaGetLastError();
    if (previous >= 0) cudaSetDevice(previous);
}

size_t DevicePool::size_class(size_t bytes) {
    if (bytes <= 512) return 512;
    if (bytes <= (size_t{1} << 20)) return (bytes + 511) / 512 * 512;
    size_t p = size_t{1} << 20;
    while (p * 2 <= bytes) p *= 2;
    const size_t step = p / 8;
    return (bytes + step - 1) / step * step;
}

void * DevicePool::malloc_with_retry(size_t bytes, size_t requested) {
    check_cuda(cudaSetDevice(device_), "cudaSetDevice");
    void * p = nullptr;
    cudaError_t e = cudaMalloc(&p, bytes);
    if (e == cudaErrorMemoryAllocation) {
        cudaGetLastError();
        release_cached_locked();
        e = cudaMalloc(&p, bytes);
    }
    if (e == cudaSuccess) return p;
    cudaGetLastError();
    if (e == cudaErrorMemoryAllocation) {
        size_t free_b = 0, total_b = 0;
        cudaMemGetInfo(&free_b, &total_b);
        cudaGetLastError();
        fail(SDN_ERR_OUT_OF_MEMORY, "CUDA out of memory: cannot allocate " + mib(requested) + " on device " + std::to_string(device_) +
                                        " (device free " + mib(free_b) + " of " + mib(total_b) + "; this backend holds " +
                                        mib(in_use_) + " in use)");
    }
    check_cuda(e, "cudaMalloc");
    return nullptr;
}

void * DevicePool::alloc(size_t bytes) {
    const size_t cls = size_class(bytes);
    std::lock_guard<std::mutex> lock(mutex_);
    if (capturing_) {
        auto pk = parked_.find(cls);
        if (pk != parked_.end() && !pk->second.empty()) {  // still live and counted: hand it out again
            void * p = pk->second.back();
            pk->second.pop_back();
            return p;
        }
    }
    auto it = cache_.find(cls);
    void * p = nullptr;
    if (it != cache_.end() && !it->second.empty()) {
        p = it->second.back();
        it->second.pop_back();
        cached_ -= cls;
    } else {
        p = malloc_with_retry(cls, bytes);
    }
    live_[p] = {cls, true};
    in_use_ += cls;
    if (in_use_ > peak_) peak_ = in_use_;
    return p;
}

void * DevicePool::alloc_exact(size_t bytes) {
    const size_t rounded = bytes == 0 ? 256 : (bytes + 255) / 256 * 256;
    std::lock_guard<std::mutex> lock(mutex_);
    void * p = malloc_with_retry(rounded, bytes);
    live_[p] = {rounded, false};
    in_use_ += rounded;
    if (in_use_ > peak_) peak_ = in_use_;
    return p;
}

void DevicePool::free(void * p) {
    if (p == nullptr) return;
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = live_.find(p);
    if (it == live_.end()) {
        cudaSetDevice(device_);
        cudaFree(p);
        cudaGetLastError();
        return;
    }
    const Block b = it->second;
    if (capturing_) {
        parked_[b.bytes].push_back(p);
        return;
    }
    live_.erase(it);
    in_use_ -= b.bytes;
    if (b.cached_class) {
        cache_[b.bytes].push_back(p);
        cached_ += b.bytes;
    } else {
        cudaSetDevice(device_);
        cudaFree(p);
        cudaGetLastError();
    }
}

void DevicePool::begin_capture() {
    std::lock_guard<std::mutex> lock(mutex_);
    capturing_ = true;
    parked_.clear();
}

std::vector<void *> DevicePool::end_capture() {
    std::lock_guard<std::mutex> lock(mutex_);
    capturing_ = false;
    std::vector<void *> held;
    for (auto & kv : parked_) held.insert(held.end(), kv.second.begin(), kv.second.end());
    parked_.clear();
    return held;
}

void DevicePool::release_held(const std::vector<void *> & blocks) {
    for (void * p : blocks) free(p);
}

void DevicePool::release_cached_locked() {
    if (cached_ == 0) return;
    cudaSetDevice(device_);
    for (auto & kv : cache_) {
        for (void * p : kv.second) cudaFree(p);
        kv.second.clear();
    }
    cache_.clear();
    cached_ = 0;
    cudaGetLastError();
}

void DevicePool::release_cached() {
    std::lock_guard<std::mutex> lock(mutex_);
    release_cached_locked();
}

size_t DevicePool::bytes_in_use() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return in_use_;
}

size_t DevicePool::bytes_cached() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return cached_;
}

size_t DevicePool::peak_bytes_in_use() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return peak_;
}

void DevicePool::reset_peak() {
    std::lock_guard<std::mutex> lock(mutex_);
    peak_ = in_use_;
}

size_t DevicePool::bytes_reserved() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return in_use_ + cached_;
}

}  // namespace sdn::cuda
