// Per-thread scratch buffers for packing (64-byte aligned, grown on demand, kept for the life of the
// thread so repeated kernel calls do not allocate or fault pages again).
#pragma once

#include <cstddef>

namespace sdn::cpu {

// A float buffer of at least `count` elements owned by the calling OS thread. `slot` (0..kScratchSlots-1)
// selects independent buffers so one kernel can hold several at once. Contents are unspecified.
constexpr int kScratchSlots = 4;
float * thread_scratch(int slot, size_t count);

// Bytes currently held by the calling thread's scratch buffers.
size_t thread_scratch_bytes();

// Buffers above this many floats (64 MiB) are not kept per thread: PackBuffer allocates them for one
// call and frees them afterwards, so one huge layer does not pin its packing memory forever.
constexpr size_t kMaxKeptScratchFloats = size_t(16) << 20;

// A packing buffer of `count` floats: the thread's scratch `slot` when small enough, else a temporary
// 64-byte aligned allocation owned by this object.
class PackBuffer {
public:
    PackBuffer(int slot, size_t count);
    ~PackBuffer();
    PackBuffer(const PackBuffer &) = delete;
    PackBuffer & operator=(const PackBuffer &) = delete;
    float * data() const { return data_; }

private:
    float * data_ = nullptr;
    bool owned_ = false;
};

}  // namespace sdn::cpu
