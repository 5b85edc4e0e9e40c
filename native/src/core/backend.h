// The one interface every compute backend implements (CPU first, CUDA second). Networks are written
// against it; a context owns exactly one backend.
#pragma once

#include "core/exec_control.h"
#include "core/tensor.h"
#include "sd_native.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>

namespace sdn {

class ThreadPool;

// Row-major float32 GEMM on host pointers: C = alpha * op(A) * op(B) + beta * C.
struct GemmF32Args {
    bool trans_a = false;
    bool trans_b = false;
    int64_t m = 0, n = 0, k = 0;
    float alpha = 1.0f;
    const float * a = nullptr;
    int64_t lda = 0;
    const float * b = nullptr;
    int64_t ldb = 0;
    float beta = 0.0f;
    float * c = nullptr;
    int64_t ldc = 0;
};

enum class Act : int { Identity = 0, Silu = 1, Gelu = 2, QuickGelu = 3 };

// Attention operands: [batch, seq, heads * head_dim] rows with a row stride (elements), head h at
// column h * head_dim; the layout linear projections produce. A row stride larger than heads*head_dim
// lets q/k/v be column slices of one fused projection.
struct AttnOperand {
    const float * data = nullptr;
    int64_t row_stride = 0;
};

// Memory a backend holds, in bytes. in_use: handed out by alloc_memory / make_weight and not yet freed;
// peak: the highest in_use since creation or the last reset_peak_memory; reserved: what the backend holds
// from the system allocator (cudaMalloc on CUDA), i.e. in_use plus cached free blocks.
struct MemoryStats {
    size_t in_use = 0;
    size_t peak = 0;
    size_t reserved = 0;
};

// Host description of a weight handed to Backend::make_weight (a view into a weight file, usually).
struct HostWeight {
    const void * data = nullptr;
    WeightType type = WeightType::F32;
    Shape shape;
    std::string name;
};

// Every op works on backend memory (Tensor / Weight pointers from this backend). Shapes are checked by
// the networks; ops check what they must for memory safety. Activations are float32 NCHW (images) or
// row-major [rows, features] (token sequences).
class Backend {
public:
    virtual ~Backend() = default;
    virtual sdn_backend_kind kind() const = 0;
    virtual std::string name() const = 0;
    // Host bytes this backend holds (pools, packing buffers), for GC accounting in bindings.
    virtual size_t host_memory() const = 0;
    virtual void gemm_f32(const GemmF32Args & args, const ExecControl & control) = 0;

    // ---- memory ----
    virtual void * alloc_memory(size_t bytes) = 0;
    virtual void free_memory(void * ptr) = 0;
    virtual void upload(void * dst, const void * src, size_t bytes) = 0;    // host -> backend
    virtual void download(void * dst, const void * src, size_t bytes) = 0;  // backend -> host
    virtual void synchronize() = 0;
    // Backend memory held by this backend (device memory on GPUs), for benchmarks and diagnostics.
    // Backends that do not track it report zeros (the default).
    virtual MemoryStats memory_stats() const { return {}; }
    // Starts a new high-water mark: peak becomes the current in_use.
    virtual void reset_peak_memory() {}
    // Makes a weight usable by the ops. `as_f32` forces float32 (biases, norms, embeddings tables used
    // by row). The returned Weight stays valid while the host data stays mapped and the backend lives;
    // memory the backend had to allocate is released by release_weight.
    virtual Weight make_weight(const HostWeight & host, bool as_f32) = 0;
    virtual void release_weight(Weight & w) = 0;

    // ---- ops ----
    // y[rows, out] = x[rows, in] * W^T (W: [out, in], or [out, in, 1, 1]) + bias (+ residual)
    virtual void linear(const float * x, int64_t rows, int64_t in, const Weight & w, const Weight * bias, float * y,
                        const float * residual, const ExecControl & ctl) = 0;
    // NCHW convolution, weight [out, in, kh, kw], symmetric zero padding `pad`, optional residual add.
    virtual void conv2d(const float * x, int64_t batch, int64_t in_c, int64_t h, int64_t w, const Weight & weight,
                        const Weight * bias, int64_t stride, int64_t pad, float * y, const float * residual,
                        const ExecControl & ctl) = 0;
    virtual void group_norm(const float * x, float * y, int64_t batch, int64_t channels, int64_t hw, int64_t groups,
                            const Weight & gamma, const Weight & beta, float eps, bool silu, const ExecControl & ctl) = 0;
    virtual void layer_norm(const float * x, float * y, int64_t rows, int64_t dim, const Weight & gamma,
                            const Weight & beta, float eps) = 0;
    // out [batch, nq, heads*d] (dense) = softmax(scale q k^T (+causal)) v, float32 softmax.
    virtual void attention(const AttnOperand & q, const AttnOperand & k, const AttnOperand & v, float * out,
                           int64_t batch, int64_t heads, int64_t nq, int64_t nk, int64_t head_dim, float scale,
                           bool causal, const ExecControl & ctl) = 0;
    virtual void activation(Act act, const float * x, float * y, int64_t n) = 0;
    // y[rows, dim] = x[:, :dim] * gelu(x[:, dim:])
    virtual void geglu(const float * x, float * y, int64_t rows, int64_t dim) = 0;
    virtual void add(const float * a, const float * b, float * y, int64_t n) = 0;
    // y[o][c][i] = x[o][c][i] + bias[o][c] (per-sample channel bias: bias rows of `channels`), bias is an
    // activation (e.g. the projected time embedding).
    virtual void add_channel_bias(const float * x, const float * bias, float * y, int64_t batch, int64_t channels,
                                  int64_t inner) = 0;
    virtual void scale(const float * x, float s, float * y, int64_t n) = 0;
    // Nearest resize of [planes, h, w] to [planes, oh, ow] (torch 'nearest': src = floor(dst * in / out)).
    virtual void resize_nearest(const float * x, float * y, int64_t planes, int64_t h, int64_t w, int64_t oh,
                                int64_t ow) = 0;
    // [batch, channels, hw] <-> [batch, hw, channels]
    virtual void nchw_to_nhwc(const float * x, float * y, int64_t batch, int64_t channels, int64_t hw) = 0;
    virtual void nhwc_to_nchw(const float * x, float * y, int64_t batch, int64_t channels, int64_t hw) = 0;
    // y [batch, ca + cb, hw] = cat(a [batch, ca, hw], b [batch, cb, hw])
    virtual void concat_channels(const float * a, int64_t ca, const float * b, int64_t cb, float * y, int64_t batch,
                                 int64_t hw) = 0;
    // Zero padding of [planes, h, w] by (top, left, bottom, right).
    virtual void pad2d(const float * x, float * y, int64_t planes, int64_t h, int64_t w, int64_t top, int64_t left,
                       int64_t bottom, int64_t right) = 0;
    // y [n, dim] = table[ids[i]] (ids on the host, checked against the table's rows)
    virtual void embedding(const int32_t * host_ids, int64_t n, const Weight & table, float * y) = 0;
    // diffusers get_timestep_embedding for host timesteps -> y [n, dim] (backend memory)
    virtual void timestep_embedding(const float * host_timesteps, int64_t n, int64_t dim, bool flip_sin_to_cos,
                                    float downscale_freq_shift, float * y) = 0;
    // y[i] = x[i] for n floats (backend to backend)
    virtual void copy(const float * x, float * y, int64_t n) = 0;

    // ---- replayable sections (CUDA graphs) ----
    // A network brackets one forward with begin_replay / end_replay (use ReplayScope). `owner` and `key`
    // must determine the exact sequence of ops and their arguments (shapes and backend pointers: the
    // network's arena included), while the host data handed to upload may differ from call to call. A
    // backend that supports it may run the first calls of a key eagerly, record the device work of a later
    // one, and replay the recording afterwards: ops then only check they are the recorded sequence, uploads
    // refill the recorded host inputs, and the first download (or end_replay) launches the recording.
    // `completed` is false when the section ends by an exception. The defaults do nothing.
    virtual void begin_replay(const void * owner, uint64_t key) {
        (void)owner;
        (void)key;
    }
    virtual void end_replay(bool completed) noexcept { (void)completed; }
    // Drops every recording of `owner` (a network being destroyed: its weights go away).
    virtual void forget_replays(const void * owner) noexcept { (void)owner; }

    // Floating-point operations of the matrix ops (linear, conv2d, attention) run so far: what benchmarks
    // divide by time. Counted by the ops themselves (2 per multiply-add).
    double flops() const { return flops_.load(std::memory_order_relaxed); }
    void reset_flops() { flops_.store(0.0, std::memory_order_relaxed); }

protected:
    void count_flops(double f) {
        double cur = flops_.load(std::memory_order_relaxed);
        while (!flops_.compare_exchange_weak(cur, cur + f, std::memory_order_relaxed)) {
        }
    }

private:
    std::atomic<double> flops_{0.0};
};

// RAII bracket for Backend::begin_replay / end_replay.
class ReplayScope {
public:
    ReplayScope(Backend & backend, const void * owner, uint64_t key) : backend_(backend), exceptions_(std::uncaught_exceptions()) {
        backend_.begin_replay(owner, key);
    }
    ~ReplayScope() { backend_.end_replay(std::uncaught_exceptions() == exceptions_); }
    ReplayScope(const ReplayScope &) = delete;
    ReplayScope & operator=(const ReplayScope &) = delete;

private:
    Backend & backend_;
    int exceptions_;
};

// Validates shapes and strides of a GEMM call (same rules for every backend). Throws Error.
void validate_gemm_args(const GemmF32Args & args);

std::unique_ptr<Backend> make_cpu_backend(ThreadPool & pool);

// CUDA backend. Returns nullptr and sets `reason` when CUDA is not compiled in, no driver/device is
// usable, or the device index is out of range.
std::unique_ptr<Backend> make_cuda_backend(int device_index, ThreadPool & pool, std::string & reason);

}  // namespace sdn
