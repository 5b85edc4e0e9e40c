#include "cpu/scratch.h"

#include "core/error.h"

#include <cstdlib>
#include <new>
#include <string>

namespace sdn::cpu {

namespace {

struct Buffer {
    float * data = nullptr;
    size_t capacity = 0;
    ~Buffer() { std::free(data); }
};

thread_local Buffer t_buffers[kScratchSlots];

}  // namespace

float * thread_scratch(int slot, size_t count) {
    require(slot >= 0 && slot < kScratchSlots, SDN_ERR_INTERNAL, "thread_scratch: bad slot " + std::to_string(slot));
    Buffer & b = t_buffers[slot];
    if (count > b.capacity) {
        std::free(b.data);
        b.data = nullptr;
        b.capacity = 0;
        // round up to 64 KiB so small growth steps do not reallocate every call
        const size_t want = (count * sizeof(float) + 65535) & ~static_cast<size_t>(65535);
        void * p = std::aligned_alloc(64, want);
        if (p == nullptr) throw std::bad_alloc();
        b.data = static_cast<float *>(p);
        b.capacity = want / sizeof(float);
    }
    return b.data;
}

PackBuffer::PackBuffer(int slot, size_t count) {
    if (count <= kMaxKeptScratchFloats) {
        data_ = thread_scratch(slot, count);
        return;
    }
    const size_t bytes = (count * sizeof(float) + 63) & ~static_cast<size_t>(63);
    data_ = static_cast<float *>(std::aligned_alloc(64, bytes));
    if (data_ == nullptr) throw std::bad_alloc();
    owned_ = true;
}

PackBuffer::~PackBuffer() {
    if (owned_) std::free(data_);
}

size_t thread_scratch_bytes() {
    size_t n = 0;
    for (const Buffer & b : t_buffers) n += b.capacity * sizeof(float);
    return n;
}

}  // namespace sdn::cpu
