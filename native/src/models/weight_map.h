// Diffusers-named weights for one network, gathered from one or more weight files (renamed from the
// original checkpoint naming by the caller, row slices for fused projections). Keeps the files' memory
// maps alive for as long as the map (and every model built from it) lives.
#pragma once

#include "core/backend.h"
#include "io/tensor_set.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace sdn {

struct WeightEntry {
    HostWeight host;
    std::shared_ptr<const io::TensorSet> owner;  // keeps the mapping alive
};

class WeightMap {
public:
    // Adds `name` as a view of rows [row_begin, row_end) of `source` (the whole tensor when row_begin < 0).
    // Throws for duplicates, non-weight dtypes and out-of-range rows.
    void add(const std::string & name, const std::shared_ptr<const io::TensorSet> & file, const io::TensorView & source,
             int64_t row_begin = -1, int64_t row_end = -1);
    const WeightEntry * find(const std::string & name) const;
    const std::map<std::string, WeightEntry> & entries() const { return entries_; }
    size_t size() const { return entries_.size(); }

private:
    std::map<std::string, WeightEntry> entries_;
};

// Binds weights of a WeightMap to a backend while a network is built: checks names and shapes (errors
// name the tensor, expected and found shapes), and records what was used.
class ParamLoader {
public:
    ParamLoader(const WeightMap & map, Backend & backend, std::vector<Weight> & sink)
        : map_(map), backend_(backend), sink_(sink) {}

    // A required weight of exactly `shape`; `as_f32` for biases/norms/tables read by row.
    Weight get(const std::string & name, const Shape & shape, bool as_f32 = false);
    // Same, but returns an absent Weight when the tensor is not in the map.
    Weight optional(const std::string & name, const Shape & shape, bool as_f32 = false);
    bool has(const std::string & name) const { return map_.find(name) != nullptr; }
    // The shape stored for `name` (throws NOT_FOUND when missing).
    Shape shape_of(const std::string & name) const;
    // Names in the map that no get() used.
    std::vector<std::string> unused() const;

private:
    const WeightMap & map_;
    Backend & backend_;
    std::vector<Weight> & sink_;
    std::map<std::string, bool> used_;
};

}  // namespace sdn
