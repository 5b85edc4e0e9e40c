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

}  // namespace sdn::cpu
