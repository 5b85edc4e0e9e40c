#include "core/linear_peak.h"

#include "core/error.h"
#include "core/half.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

namespace sdn {

namespace {

// Backend memory released at scope exit.
class BackendBuffer {
public:
    BackendBuffer(Backend & be, size_t bytes) : be_(be), p_(be.alloc_memory(bytes)) {}
    ~BackendBuffer() { be_.free_memory(p_); }
    BackendBuffer(const BackendBuffer &) = delete;
    BackendBuffer & operator=(const BackendBuffer &) = delete;
    float * f32() const { return static_cast<float *>(p_); }

private:
    Backend & be_;
    void * p_;
};

}  // namespace

double best_gflops(double flop_per_run, double seconds, const std::function<void()> & run) {
    double best = 0;
    const auto start = std::chrono::steady_clock::now();
    for (int runs = 0;; ++runs) {
        const auto t0 = std::chrono::steady_clock::now();
        run();
        const auto t1 = std::chrono::steady_clock::now();
        const double s = std::chrono::duration<double>(t1 - t0).count();
        if (s > 0) best = std::max(best, flop_per_run / s * 1e-9);
        if (runs >= 2 && std::chrono::duration<double>(t1 - start).count() >= seconds) break;
    }
    return best;
}

double measure_linear_peak(Backend & be, int64_t size, WeightType weight_type, double seconds, const ExecControl & control) {
    require(size >= 16 && size <= 16384, SDN_ERR_INVALID_ARGUMENT,
            "linear peak: size must be in [16, 16384], got " + std::to_string(size));
    require(seconds > 0 && seconds <= 600, SDN_ERR_INVALID_ARGUMENT, "linear peak: seconds must be in (0, 600]");
    const size_t elems = static_cast<size_t>(size) * static_cast<size_t>(size);
    // Small exactly-representable values: the result's magnitude does not matter, only the timing.
    std::vector<float> x(elems);
    for (size_t i = 0; i < elems; ++i) x[i] = static_cast<float>(static_cast<int>((i * 7 + 3) % 13) - 6) * 0.0625f;
    std::vector<unsigned char> w(elems * weight_type_size(weight_type));
    for (size_t i = 0; i < elems; ++i) {
        const float v = static_cast<float>(static_cast<int>((i * 5 + 1) % 11) - 5) * 0.0625f;
        if (weight_type == WeightType::F32) std::memcpy(w.data() + i * 4, &v, 4);
        else {
            const uint16_t h = weight_type == WeightType::F16 ? f32_to_f16(v) : f32_to_bf16(v);
            std::memcpy(w.data() + i * 2, &h, 2);
        }
    }
    HostWeight hw;
    hw.data = w.data();
    hw.type = weight_type;
    hw.shape = Shape{size, size};
    hw.name = "linear_peak.weight";

    BackendBuffer dx(be, elems * sizeof(float)), dy(be, elems * sizeof(float));
    be.upload(dx.f32(), x.data(), elems * sizeof(float));
    Weight weight = be.make_weight(hw, false);
    double best = 0;
    try {
        be.linear(dx.f32(), size, size, weight, nullptr, dy.f32(), nullptr, control);  // warm-up (tuning, caches)
        be.synchronize();
        const double flop = 2.0 * static_cast<double>(size) * static_cast<double>(size) * static_cast<double>(size);
        // Device backends queue launches asynchronously: several per timed run keep the queue full.
        const int per_run = be.kind() == SDN_BACKEND_CPU ? 1 : 8;
        best = best_gflops(per_run * flop, seconds, [&] {
            for (int i = 0; i < per_run; ++i) be.linear(dx.f32(), size, size, weight, nullptr, dy.f32(), nullptr, control);
            be.synchronize();
        });
    } catch (...) {
        be.release_weight(weight);
        throw;
    }
    be.release_weight(weight);
    return best;
}

}  // namespace sdn
