// Activation memory for one forward pass. A stack allocator over one backend block: tensors are taken
// with alloc() and given back in LIFO order with a Scope. The first pass at a new shape may overflow into
// extra blocks; end_pass() then resizes the main block to the high-water mark, so every later pass at
// that shape runs with no allocation at all.
#pragma once

#include "core/tensor.h"

#include <cstddef>
#include <vector>

namespace sdn {

class Backend;

class Arena {
public:
    explicit Arena(Backend & backend) : backend_(backend) {}
    ~Arena();
    Arena(const Arena &) = delete;
    Arena & operator=(const Arena &) = delete;

    // A float32 tensor of `shape` (64-byte aligned). Contents are undefined.
    Tensor tensor(const Shape & shape);
    float * alloc_floats(int64_t count);

    size_t mark() const { return used_; }
    void release(size_t mark);

    void begin_pass();
    void end_pass();

    size_t capacity() const { return capacity_; }
    const void * base() const { return block_; }
    size_t high_water() const { return high_water_; }

    // Releases everything allocated after its construction.
    class Scope {
    public:
        explicit Scope(Arena & a) : arena_(a), mark_(a.mark()) {}
        ~Scope() { arena_.release(mark_); }
        Scope(const Scope &) = delete;
        Scope & operator=(const Scope &) = delete;

    private:
        Arena & arena_;
        size_t mark_;
    };

private:
    struct Overflow {
        size_t start;  // virtual offset
        void * ptr;
    };
    Backend & backend_;
    void * block_ = nullptr;
    size_t capacity_ = 0;
    size_t used_ = 0;
    size_t high_water_ = 0;
    std::vector<Overflow> overflow_;
};

}  // namespace sdn
