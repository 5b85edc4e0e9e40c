// Tensors of the compute core. Activations are float32, contiguous, and live in backend memory (host
// RAM for the CPU backend, device memory for CUDA), handed out by an Arena. Weights keep the dtype of
// the file they come from (f32, f16 or bf16) and are widened inside the kernels.
#pragma once

#include "core/error.h"

#include <cstdint>
#include <initializer_list>
#include <string>

namespace sdn {

enum class WeightType : int { F32 = 0, F16 = 1, BF16 = 2 };

inline const char * weight_type_name(WeightType t) {
    switch (t) {
        case WeightType::F32: return "F32";
        case WeightType::F16: return "F16";
        case WeightType::BF16: return "BF16";
    }
    return "?";
}
inline size_t weight_type_size(WeightType t) { return t == WeightType::F32 ? 4 : 2; }

// Up to 6 dimensions, stored inline (no allocation).
struct Shape {
    static constexpr int kMaxDims = 6;
    int ndim = 0;
    int64_t d[kMaxDims] = {};

    Shape() = default;
    Shape(std::initializer_list<int64_t> dims) {
        for (int64_t v : dims) {
            if (ndim < kMaxDims) d[ndim++] = v;
        }
    }
    int64_t numel() const {
        int64_t n = 1;
        for (int i = 0; i < ndim; ++i) n *= d[i];
        return n;
    }
    int64_t operator[](int i) const { return d[i]; }
    bool operator==(const Shape & o) const {
        if (ndim != o.ndim) return false;
        for (int i = 0; i < ndim; ++i)
            if (d[i] != o.d[i]) return false;
        return true;
    }
    bool operator!=(const Shape & o) const { return !(*this == o); }
    std::string str() const {
        std::string s = "[";
        for (int i = 0; i < ndim; ++i) s += (i ? ", " : "") + std::to_string(d[i]);
        return s + "]";
    }
};

// An activation: float32, contiguous, backend memory.
struct Tensor {
    float * data = nullptr;
    Shape shape;
    int64_t numel() const { return shape.numel(); }
    int64_t dim(int i) const { return shape.d[i]; }
};

// A weight in backend memory (CPU: a view into the memory-mapped file, or a widened copy).
struct Weight {
    const void * data = nullptr;
    WeightType type = WeightType::F32;
    Shape shape;
    std::string name;
    // Backend-private storage order: 0 = the natural row-major order of `shape`; a backend may keep a weight
    // reordered for its kernels (the CUDA backend's cuDNN path stores conv filters [out, kh, kw, in]) and
    // records that here. Networks never read the data directly, so they need not care.
    int layout = 0;
    bool present() const { return data != nullptr; }
    int64_t numel() const { return shape.numel(); }
    // Only for F32 weights (biases and norm parameters are always loaded as F32).
    const float * f32() const {
        if (type != WeightType::F32) fail(SDN_ERR_INTERNAL, "weight " + name + " is " + weight_type_name(type) + ", expected F32");
        return static_cast<const float *>(data);
    }
};

}  // namespace sdn
