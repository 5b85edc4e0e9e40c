// Base of every network: the backend it runs on, the weights it holds (released on destruction), the
// activation arena reused across forwards, and the tensors of the weight map it did not use.
#pragma once

#include "core/arena.h"
#include "core/backend.h"
#include "models/weight_map.h"

#include <memory>
#include <string>
#include <vector>

namespace sdn {

class Network {
public:
    Network(Backend & backend, const WeightMap & map) : backend_(backend), arena_(backend), map_(map) {}
    virtual ~Network() {
        backend_.forget_replays(this);
        for (auto & w : weights_) backend_.release_weight(w);
    }
    Network(const Network &) = delete;
    Network & operator=(const Network &) = delete;

    const std::vector<std::string> & unused_tensors() const { return unused_; }
    size_t arena_bytes() const { return arena_.capacity(); }

protected:
    // Call at the end of the derived constructor.
    void finish_loading(const ParamLoader & p) { unused_ = p.unused(); }

    Backend & backend_;
    Arena arena_;
    WeightMap map_;  // keeps the file mappings alive
    std::vector<Weight> weights_;
    std::vector<std::string> unused_;
};

// Runs one forward pass with the arena's pass bracket (so the arena settles at the high-water mark).
template <typename F>
void with_pass(Arena & arena, F && body) {
    arena.begin_pass();
    try {
        body();
    } catch (...) {
        arena.end_pass();
        throw;
    }
    arena.end_pass();
}

}  // namespace sdn
