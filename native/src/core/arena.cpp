#include "core/arena.h"

#include "core/backend.h"

namespace sdn {

namespace {
constexpr size_t kAlign = 64;
size_t round_up(size_t v) { return (v + kAlign - 1) / kAlign * kAlign; }
}  // namespace

Arena::~Arena() {
    for (auto & o : overflow_) backend_.free_memory(o.ptr);
    if (block_ != nullptr) backend_.free_memory(block_);
}

float * Arena::alloc_floats(int64_t count) {
    require(count >= 0, SDN_ERR_INTERNAL, "arena: negative allocation");
    const size_t bytes = round_up(static_cast<size_t>(count) * sizeof(float) + (count == 0 ? kAlign : 0));
    if (used_ + bytes <= capacity_) {
        float * p = reinterpret_cast<float *>(static_cast<char *>(block_) + used_);
        used_ += bytes;
        if (used_ > high_water_) high_water_ = used_;
        return p;
    }
    // Overflow: a separate block for this allocation (kept until the end of the pass).
    void * p = backend_.alloc_memory(bytes);
    overflow_.push_back({used_, p});
    used_ = (used_ < capacity_ ? capacity_ : used_) + bytes;
    if (used_ > high_water_) high_water_ = used_;
    return static_cast<float *>(p);
}

Tensor Arena::tensor(const Shape & shape) {
    Tensor t;
    t.shape = shape;
    t.data = alloc_floats(shape.numel());
    return t;
}

void Arena::release(size_t mark) {
    while (!overflow_.empty() && overflow_.back().start >= mark) {
        backend_.free_memory(overflow_.back().ptr);
        overflow_.pop_back();
    }
    used_ = mark;
}

void Arena::begin_pass() {
    release(0);
    high_water_ = 0;
}

void Arena::end_pass() {
    release(0);
    if (high_water_ > capacity_) {
        if (block_ != nullptr) backend_.free_memory(block_);
        block_ = nullptr;
        capacity_ = 0;
        block_ = backend_.alloc_memory(high_water_);
        capacity_ = high_water_;
    }
}

}  // namespace sdn
