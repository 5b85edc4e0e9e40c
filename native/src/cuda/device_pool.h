// Device memory of one CUDA backend: plain cudaMalloc underneath (never managed memory), with freed
// blocks cached by size class for reuse. All work of a backend runs on its one stream, so a block freed
// after launching work that uses it can be handed out again at once: any later use is ordered after
// that work on the same stream.
//
// Size classes: multiples of 512 bytes up to 1 MiB, then 8 steps per power of two (<= 12.5% slack).
// Weights use alloc_exact (rounded to 256 bytes, not cached: freed for real when released).
// When cudaMalloc fails, the cache is released and the allocation retried once; a second failure throws
// sdn::Error(SDN_ERR_OUT_OF_MEMORY) naming the request and the device's free / total memory.
#pragma once

#include <cstddef>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace sdn::cuda {

class DevicePool {
public:
    explicit DevicePool(int device) : device_(device) {}
    ~DevicePool();  // frees every block still held (cached or live)
    DevicePool(const DevicePool &) = delete;
    DevicePool & operator=(const DevicePool &) = delete;

    void * alloc(size_t bytes);        // size-class block, from the cache when possible
    void * alloc_exact(size_t bytes);  // not cached on free
    // Returns a block to the cache (class blocks) or cudaFree's it (exact blocks). Unknown pointers are
    // cudaFree'd as they are (they came from cudaMalloc elsewhere); nullptr is ignored.
    void free(void * p);
    void release_cached();

    size_t bytes_in_use() const;
    size_t bytes_cached() const;
    // High-water mark of bytes_in_use() since construction or the last reset_peak() (class blocks count
    // their class size, exact blocks their rounded size: what the caller holds on the device).
    size_t peak_bytes_in_use() const;
    void reset_peak();  // peak := current bytes in use
    // Bytes this pool holds from cudaMalloc: in use plus cached.
    size_t bytes_reserved() const;

    static size_t size_class(size_t bytes);

    // Graph capture (CUDA graphs address the blocks their kernels used, so those blocks must stay theirs):
    // between begin_capture and end_capture, blocks the caller frees are not returned to the cache but
    // parked (still counted in use), and later allocations of the same capture reuse parked blocks first.
    // end_capture hands the parked blocks to the caller (the graph), who gives them back with
    // release_held when the graph is destroyed.
    void begin_capture();
    std::vector<void *> end_capture();
    void release_held(const std::vector<void *> & blocks);

private:
    struct Block {
        size_t bytes;
        bool cached_class;
    };
    void * malloc_with_retry(size_t bytes, size_t requested);
    void release_cached_locked();

    int device_;
    mutable std::mutex mutex_;
    std::unordered_map<size_t, std::vector<void *>> cache_;
    std::unordered_map<void *, Block> live_;
    size_t in_use_ = 0;
    size_t peak_ = 0;  // max of in_use_ since the last reset_peak
    size_t cached_ = 0;
    bool capturing_ = false;
    std::unordered_map<size_t, std::vector<void *>> parked_;  // freed during the capture, by block size
};

}  // namespace sdn::cuda
