// The CUDA backend: one device, one non-blocking stream, every op a kernel launch on that stream.
// Memory comes from a per-backend DevicePool; host<->device transfers go through a pinned, double-
// buffered staging area (upload returns without waiting for the device, download waits); weights are
// uploaded once in make_weight (converted on the host, in parallel on the context's pool). Host syncs
// happen only in download, synchronize and gemm_f32 (a host-pointer API).
#include "cuda/cuda_backend.h"

#include "core/error.h"
#include "core/half.h"
#include "core/thread_pool.h"
#include "cpu/kernels.h"
#include "cuda/cublaslt_matmul.h"
#include "cuda/cuda_check.h"
#include "cuda/cuda_runtime_info.h"
#include "cuda/cudnn_conv.h"
#include "cuda/device_pool.h"
#include "cuda/graph_recorder.h"
#include "cuda/dynload/cuda_libraries.h"
#include "cuda/kernels/attention.cuh"
#include "cuda/kernels/attention_mma.cuh"
#include "cuda/kernels/conv2d.cuh"
#include "cuda/kernels/convert.cuh"
#include "cuda/kernels/elementwise.cuh"
#include "cuda/kernels/embedding.cuh"
#include "cuda/kernels/gemm_f32_simt.cuh"
#include "cuda/kernels/group_norm.cuh"
#include "cuda/kernels/layer_norm.cuh"
#include "cuda/kernels/layout.cuh"
#include "cuda/kernels/linear.cuh"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

namespace sdn {

using cuda::check_cuda;

namespace {

std::string lower(const char * s) {
    std::string out = s != nullptr ? s : "";
    for (auto & c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// Device block from the pool, returned to it at scope exit (stream-ordered reuse is safe: one stream).
class PoolBuffer {
public:
    PoolBuffer(cuda::DevicePool & pool, size_t bytes) : pool_(pool), ptr_(bytes > 0 ? pool.alloc(bytes) : nullptr) {}
    ~PoolBuffer() { pool_.free(ptr_); }
    PoolBuffer(const PoolBuffer &) = delete;
    PoolBuffer & operator=(const PoolBuffer &) = delete;
    void * get() const { return ptr_; }
    float * f32() const { return static_cast<float *>(ptr_); }

private:
    cuda::DevicePool & pool_;
    void * ptr_;
};

// Argument words for GraphRecorder::skip_op.
inline uint64_t u(const void * p) { return static_cast<uint64_t>(reinterpret_cast<uintptr_t>(p)); }
inline uint64_t u(int64_t v) { return static_cast<uint64_t>(v); }
inline uint64_t u(float f) {
    uint32_t b;
    std::memcpy(&b, &f, 4);
    return b;
}

// Op identities folded into a recording's signature.
enum OpId : uint32_t {
    kOpLinear = 1, kOpConv2d, kOpGroupNorm, kOpLayerNorm, kOpAttention, kOpActivation, kOpGeglu, kOpAdd, kOpChannelBias, kOpScale,
    kOpResize, kOpToNhwc, kOpToNchw, kOpConcat, kOpPad, kOpEmbedding, kOpCopy
};

cuda::DevType dev_type(WeightType t) { return static_cast<cuda::DevType>(static_cast<int>(t)); }

const float * opt_f32(const Weight * w) { return w != nullptr && w->present() ? w->f32() : nullptr; }

// Loads element i of a host weight (possibly unaligned) as float.
inline float host_elem(const unsigned char * base, WeightType t, int64_t i) {
    if (t == WeightType::F32) {
        float v;
        std::memcpy(&v, base + i * 4, 4);
        return v;
    }
    uint16_t h;
    std::memcpy(&h, base + i * 2, 2);
    return t == WeightType::F16 ? f16_to_f32(h) : bf16_to_f32(h);
}

// Weight::layout of conv filters the cuDNN path keeps as [out, kh, kw, in] (KRSC) instead of [out, in, kh, kw].
constexpr int kLayoutOhwi = 1;

constexpr size_t kStagingHalf = size_t{8} << 20;  // two halves of 8 MiB
constexpr int64_t kConvertTask = 1 << 16;         // elements per pool task when converting weights

class CudaBackend final : public Backend {
public:
    CudaBackend(int device, const cuda::DeviceInfo & info, ThreadPool & pool, const CudaBackendOptions & options)
        : device_(device), info_(info), pool_(pool), options_(options), mem_(device) {
        check_cuda(cudaSetDevice(device_), "cudaSetDevice");
        const cudaError_t probe = cuda::probe_kernel_image();
        if (probe != cudaSuccess) {
            const std::string what = "loading kernels for " + info_.name + " (compute capability " + std::to_string(info_.cc_major) +
                                     "." + std::to_string(info_.cc_minor) + "; this build has kernels for " +
                                     cuda::query_runtime().architectures + ")";
            check_cuda(probe, what.c_str());
        }
        check_cuda(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
        for (auto & e : staging_events_) check_cuda(cudaEventCreateWithFlags(&e, cudaEventDisableTiming), "cudaEventCreate");
        rec_ = std::make_unique<cuda::GraphRecorder>(mem_, stream_);
        // WMMA needs compute capability 7.0; older devices (only reachable with custom SDN_CUDA_ARCHS) use SIMT.
        if (info_.cc_major < 7) options_.gemm = cuda::GemmPath::Simt;
        open_libraries();
    }

    ~CudaBackend() override {
        cudaSetDevice(device_);
        if (stream_ != nullptr) cudaStreamSynchronize(stream_);
        rec_.reset();
        lt_.reset();
        dnn_.reset();
        for (auto & e : staging_events_)
            if (e != nullptr) cudaEventDestroy(e);
        if (staging_ != nullptr) {
            if (staging_pinned_) cudaFreeHost(staging_);
            else std::free(staging_);
        }
        if (stream_ != nullptr) cudaStreamDestroy(stream_);
        cudaGetLastError();
    }

    sdn_backend_kind kind() const override { return SDN_BACKEND_CUDA; }

    std::string name() const override {
        const bool simt = options_.gemm == cuda::GemmPath::Simt;
        const std::string builtin_gemm =
            simt ? "built-in SIMT f32 kernel" : "built-in WMMA f16 tensor-core kernel (f32 weights: SIMT f32)";
        std::string linear = builtin_gemm, conv = builtin_gemm + ", implicit GEMM";
        if (lt_) {
            linear = "cuBLASLt " + dynload::format_library_version(dynload::cublaslt().version) + " (f16 x f16 -> f32; f32 weights: f32)";
            if (lt_fallbacks_ > 0)
                linear += ", " + std::to_string(lt_fallbacks_.load()) + " call(s) fell back to the built-in kernel (last: " +
                          lt_->fallback_reason() + ")";
        } else if (!lt_reason_.empty()) {
            linear += " [cuBLASLt not used: " + lt_reason_ + "]";
        }
        if (dnn_) {
            conv = "cuDNN " + dynload::format_library_version(dynload::cudnn().version) +
                   " NHWC f16 for kernels > 1x1 (1x1: as linear layers' built-in kernel)";
            if (dnn_fallbacks_ > 0)
                conv += ", " + std::to_string(dnn_fallbacks_.load()) + " call(s) fell back to the built-in kernel (last: " +
                        dnn_->fallback_reason() + ")";
        } else if (!dnn_reason_.empty()) {
            conv += " [cuDNN not used: " + dnn_reason_ + "]";
        }
        const std::string attention = options_.attention == cuda::AttentionPath::F32 || options_.weights == CudaBackendOptions::Weights::F32
                                          ? "built-in flash f32"
                                          : "built-in tensor-core flash (f16 q/k/v, f32 softmax) for head dims that are multiples of 8 "
                                            "up to 256, flash f32 otherwise";
        return "cuda:" + std::to_string(device_) + " (" + info_.name + ", sm_" + std::to_string(info_.cc_major) +
               std::to_string(info_.cc_minor) + "; weights " +
               (options_.weights == CudaBackendOptions::Weights::F16 ? "f16" : "f32") + "; linear: " + linear + "; conv2d: " + conv +
               "; attention: " + attention + "; norms/elementwise: built-in; CUDA graphs: " +
               (options_.graphs ? "on (" + std::to_string(rec_->graphs()) + " recorded)" : std::string("off")) + ")";
    }

    size_t host_memory() const override { return staging_ != nullptr ? 2 * kStagingHalf : 0; }

    // Device memory from the pool: activations, scratch and weights (alloc_exact) all come from mem_.
    MemoryStats memory_stats() const override { return {mem_.bytes_in_use(), mem_.peak_bytes_in_use(), mem_.bytes_reserved()}; }
    void reset_peak_memory() override { mem_.reset_peak(); }

    // CUDA graphs for replayable sections (when options_.graphs): see cuda/graph_recorder.h.
    void begin_replay(const void * owner, uint64_t key) override {
        if (!options_.graphs) return;
        enter();
        rec_->begin(owner, key);
    }
    void end_replay(bool completed) noexcept override {
        if (options_.graphs) rec_->end(completed);
    }
    void forget_replays(const void * owner) noexcept override {
        if (rec_) rec_->forget(owner);
    }

    void gemm_f32(const GemmF32Args & g, const ExecControl & control) override {
        validate_gemm_args(g);
        if (g.m == 0 || g.n == 0) return;
        control.poll("gemm");
        enter();
        const int64_t a_rows = g.trans_a ? g.k : g.m;
        const int64_t b_rows = g.trans_b ? g.n : g.k;
        const size_t a_bytes = static_cast<size_t>(a_rows * g.lda) * sizeof(float);
        const size_t b_bytes = static_cast<size_t>(b_rows * g.ldb) * sizeof(float);
        const size_t c_bytes = static_cast<size_t>(g.m * g.ldc) * sizeof(float);
        PoolBuffer da(mem_, g.k > 0 ? a_bytes : 0), db(mem_, g.k > 0 ? b_bytes : 0), dc(mem_, c_bytes);
        if (g.k > 0) {
            upload(da.get(), g.a, a_bytes);
            upload(db.get(), g.b, b_bytes);
        }
        if (g.beta != 0.0f) upload(dc.get(), g.c, c_bytes);
        else check_cuda(cudaMemsetAsync(dc.get(), 0, c_bytes, stream_), "clear C");
        check_cuda(cuda::launch_gemm_f32_simt(g.trans_a, g.trans_b, g.m, g.n, g.k, g.alpha, da.f32(), g.lda, db.f32(), g.ldb,
                                              g.beta, dc.f32(), g.ldc, stream_),
                   "gemm kernel launch");
        download(g.c, dc.get(), c_bytes);
        control.report(1, 1);
    }

    // ---- memory ----
    void * alloc_memory(size_t bytes) override {
        enter();
        return mem_.alloc(bytes);
    }
    void free_memory(void * ptr) override { mem_.free(ptr); }

    void upload(void * dst, const void * src, size_t bytes) override {
        if (bytes == 0) return;
        enter();
        if (rec_->upload(dst, src, bytes)) return;
        const unsigned char * s = static_cast<const unsigned char *>(src);
        upload_with(dst, bytes, [s](unsigned char * buf, size_t off, size_t len) { std::memcpy(buf, s + off, len); });
    }

    void download(void * dst, const void * src, size_t bytes) override {
        if (bytes == 0) return;
        enter();
        rec_->before_host_sync();
        ensure_staging();
        const size_t cap = 2 * kStagingHalf;
        for (size_t off = 0; off < bytes; off += cap) {
            const size_t len = std::min(cap, bytes - off);
            check_cuda(cudaMemcpyAsync(staging_, static_cast<const unsigned char *>(src) + off, len, cudaMemcpyDeviceToHost, stream_),
                       "copy to host");
            check_cuda(cudaStreamSynchronize(stream_), "copy to host (a preceding kernel may have failed)");
            std::memcpy(static_cast<unsigned char *>(dst) + off, staging_, len);
        }
    }

    void synchronize() override {
        enter();
        rec_->before_host_sync();
        check_cuda(cudaStreamSynchronize(stream_), "synchronize");
    }

    Weight make_weight(const HostWeight & host, bool as_f32) override {
        enter();
        Weight w;
        w.name = host.name;
        w.shape = host.shape;
        const int64_t n = host.shape.numel();
        require(n >= 0, SDN_ERR_SHAPE, "weight " + host.name + " has a negative size");
        require(n == 0 || host.data != nullptr, SDN_ERR_INVALID_ARGUMENT, "weight " + host.name + " has no data");
        WeightType target;
        if (as_f32) target = WeightType::F32;
        else if (host.type == WeightType::F16) target = WeightType::F16;
        else if (options_.weights == CudaBackendOptions::Weights::F16) target = fits_f16(host, n) ? WeightType::F16 : WeightType::F32;
        else target = WeightType::F32;

        const size_t bytes = static_cast<size_t>(n) * weight_type_size(target);
        // cuDNN's NHWC tensor-core convolutions take [out, kh, kw, in] filters: reorder once, here.
        const bool reorder = dnn_ != nullptr && !as_f32 && target == WeightType::F16 && host.shape.ndim == 4 &&
                             host.shape[2] * host.shape[3] > 1 && n > 0;
        void * d = mem_.alloc_exact(bytes);
        try {
            if (reorder) {
                PoolBuffer natural(mem_, bytes);
                upload_converted(natural.get(), host, target, n);
                check_cuda(cuda::launch_oihw_to_ohwi_f16(natural.get(), d, host.shape[0], host.shape[1], host.shape[2] * host.shape[3],
                                                         stream_),
                           "conv filter reorder");
            } else if (n > 0) {
                upload_converted(d, host, target, n);
            }
        } catch (...) {
            mem_.free(d);
            throw;
        }
        w.data = d;
        w.type = target;
        w.layout = reorder ? kLayoutOhwi : 0;
        return w;
    }

    void release_weight(Weight & w) override {
        if (w.data != nullptr) {
            // The weight may still be read by queued kernels: wait before the memory goes back.
            cudaSetDevice(device_);
            cudaStreamSynchronize(stream_);
            cudaGetLastError();
            mem_.free(const_cast<void *>(w.data));
        }
        w.data = nullptr;
    }

    // ---- ops ----
    void linear(const float * x, int64_t rows, int64_t in, const Weight & w, const Weight * bias, float * y,
                const float * residual, const ExecControl & ctl) override {
        ctl.poll("linear");
        require(w.shape.ndim >= 2 && w.numel() == w.shape[0] * in, SDN_ERR_SHAPE,
                "linear: weight " + w.name + " " + w.shape.str() + " does not have " + std::to_string(in) + " inputs");
        count_flops(2.0 * static_cast<double>(rows) * static_cast<double>(in) * static_cast<double>(w.shape[0]));
        if (rows == 0) return;
        enter();
        if (rec_->skip_op(kOpLinear, {u(x), u(rows), u(in), u(w.data), u(bias != nullptr ? bias->data : nullptr), u(y), u(residual)})) return;
        if (lt_ && (w.type == WeightType::F16 || w.type == WeightType::F32) && linear_on_cublaslt(x, rows, in, w, bias, y, residual))
            return;
        cuda::LinearLaunch a;
        a.rows = rows;
        a.in = in;
        a.out = w.shape[0];
        a.x = x;
        a.w = w.data;
        a.w_type = gemm_weight_type(w);
        a.bias = opt_f32(bias);
        a.residual = residual;
        a.y = y;
        check_cuda(cuda::launch_linear(a, builtin_gemm_path(), stream_), "linear kernel launch");
    }

    void conv2d(const float * x, int64_t batch, int64_t in_c, int64_t h, int64_t w, const Weight & weight, const Weight * bias,
                int64_t stride, int64_t pad, float * y, const float * residual, const ExecControl & ctl) override {
        ctl.poll("conv2d");
        require(weight.shape.ndim == 4 && weight.shape[1] == in_c, SDN_ERR_SHAPE,
                "conv2d: weight " + weight.name + " " + weight.shape.str() + " does not take " + std::to_string(in_c) + " channels");
        require(stride >= 1 && pad >= 0, SDN_ERR_INVALID_ARGUMENT, "conv2d: stride must be >= 1 and pad >= 0");
        cuda::Conv2dLaunch a;
        a.batch = batch;
        a.in_c = in_c;
        a.h = h;
        a.w = w;
        a.out_c = weight.shape[0];
        a.kh = weight.shape[2];
        a.kw = weight.shape[3];
        a.stride = stride;
        a.pad = pad;
        a.oh = (h + 2 * pad - a.kh) / stride + 1;
        a.ow = (w + 2 * pad - a.kw) / stride + 1;
        require(h + 2 * pad >= a.kh && w + 2 * pad >= a.kw, SDN_ERR_SHAPE, "conv2d: the kernel is larger than the padded input");
        count_flops(2.0 * static_cast<double>(batch * a.out_c * a.oh * a.ow) * static_cast<double>(in_c * a.kh * a.kw));
        if (batch == 0) return;
        enter();
        if (rec_->skip_op(kOpConv2d, {u(x), u(batch), u(in_c), u(h), u(w), u(weight.data), u(bias != nullptr ? bias->data : nullptr),
                                      u(stride), u(pad), u(y), u(residual)}))
            return;
        a.x = x;
        a.weight = weight.data;
        a.w_type = gemm_weight_type(weight);
        a.bias = opt_f32(bias);
        a.residual = residual;
        a.y = y;
        if (weight.layout == kLayoutOhwi) {
            if (conv_on_cudnn(a)) return;
            // No cuDNN algorithm for this shape: the built-in kernel on a temporary [out, in, kh, kw] copy.
            ++dnn_fallbacks_;
            PoolBuffer natural(mem_, static_cast<size_t>(weight.numel()) * sizeof(uint16_t));
            check_cuda(cuda::launch_oihw_to_ohwi_f16(weight.data, natural.get(), a.out_c, a.kh * a.kw, a.in_c, stream_),
                       "conv filter reorder");
            a.weight = natural.get();
            check_cuda(cuda::launch_conv2d(a, builtin_gemm_path(), stream_), "conv2d kernel launch");
            return;
        }
        check_cuda(cuda::launch_conv2d(a, builtin_gemm_path(), stream_), "conv2d kernel launch");
    }

    void group_norm(const float * x, float * y, int64_t batch, int64_t channels, int64_t hw, int64_t groups, const Weight & gamma,
                    const Weight & beta, float eps, bool silu, const ExecControl & ctl) override {
        ctl.poll("group_norm");
        require(batch >= 1 && channels >= 1 && hw >= 1 && groups >= 1 && channels % groups == 0, SDN_ERR_SHAPE,
                "group_norm: channels (" + std::to_string(channels) + ") must split into groups (" + std::to_string(groups) + ")");
        enter();
        if (rec_->skip_op(kOpGroupNorm, {u(x), u(y), u(batch), u(channels), u(hw), u(groups), u(gamma.data), u(beta.data), u(eps),
                                         u(static_cast<int64_t>(silu))}))
            return;
        PoolBuffer scratch(mem_, cuda::group_norm_scratch_bytes(batch, channels, hw, groups));
        cuda::GroupNormLaunch a;
        a.x = x;
        a.y = y;
        a.batch = batch;
        a.channels = channels;
        a.hw = hw;
        a.groups = groups;
        a.gamma = opt_f32(&gamma);
        a.beta = opt_f32(&beta);
        a.eps = eps;
        a.silu = silu;
        check_cuda(cuda::launch_group_norm(a, scratch.get(), stream_), "group_norm kernel launch");
    }

    void layer_norm(const float * x, float * y, int64_t rows, int64_t dim, const Weight & gamma, const Weight & beta,
                    float eps) override {
        enter();
        if (rec_->skip_op(kOpLayerNorm, {u(x), u(y), u(rows), u(dim), u(gamma.data), u(beta.data), u(eps)})) return;
        check_cuda(cuda::launch_layer_norm(x, y, rows, dim, opt_f32(&gamma), opt_f32(&beta), eps, stream_), "layer_norm kernel launch");
    }

    void attention(const AttnOperand & q, const AttnOperand & k, const AttnOperand & v, float * out, int64_t batch,
                   int64_t heads, int64_t nq, int64_t nk, int64_t head_dim, float scale, bool causal,
                   const ExecControl & ctl) override {
        ctl.poll("attention");
        require(head_dim >= 1 && head_dim <= cuda::kAttentionMaxHeadDim, SDN_ERR_UNSUPPORTED,
                "attention: head_dim " + std::to_string(head_dim) + " is above the CUDA kernel's limit of " +
                    std::to_string(cuda::kAttentionMaxHeadDim));
        require(q.row_stride >= heads * head_dim && k.row_stride >= heads * head_dim && v.row_stride >= heads * head_dim,
                SDN_ERR_SHAPE, "attention: an operand's row stride is smaller than heads * head_dim");
        count_flops(4.0 * static_cast<double>(batch * heads) * static_cast<double>(nq) * static_cast<double>(nk) *
                    static_cast<double>(head_dim));
        enter();
        if (rec_->skip_op(kOpAttention, {u(q.data), u(q.row_stride), u(k.data), u(k.row_stride), u(v.data), u(v.row_stride), u(out),
                                         u(batch), u(heads), u(nq), u(nk), u(head_dim), u(scale), u(static_cast<int64_t>(causal))}))
            return;
        cuda::AttentionLaunch a;
        a.q = q.data;
        a.q_stride = q.row_stride;
        a.k = k.data;
        a.k_stride = k.row_stride;
        a.v = v.data;
        a.v_stride = v.row_stride;
        a.out = out;
        a.batch = batch;
        a.heads = heads;
        a.nq = nq;
        a.nk = nk;
        a.head_dim = head_dim;
        a.scale = scale;
        a.causal = causal;
        const bool tensor_cores = options_.attention == cuda::AttentionPath::Auto &&
                                  options_.weights == CudaBackendOptions::Weights::F16 && cuda::attention_mma_supported(head_dim);
        if (tensor_cores) check_cuda(cuda::launch_attention_mma(a, stream_), "attention (tensor cores) kernel launch");
        else check_cuda(cuda::launch_attention(a, stream_), "attention kernel launch");
    }

    void activation(Act act, const float * x, float * y, int64_t n) override {
        enter();
        if (rec_->skip_op(kOpActivation, {u(static_cast<int64_t>(act)), u(x), u(y), u(n)})) return;
        check_cuda(cuda::launch_activation(static_cast<int>(act), x, y, n, stream_), "activation kernel launch");
    }

    void geglu(const float * x, float * y, int64_t rows, int64_t dim) override {
        enter();
        if (rec_->skip_op(kOpGeglu, {u(x), u(y), u(rows), u(dim)})) return;
        check_cuda(cuda::launch_geglu(x, y, rows, dim, stream_), "geglu kernel launch");
    }

    void add(const float * a, const float * b, float * y, int64_t n) override {
        enter();
        if (rec_->skip_op(kOpAdd, {u(a), u(b), u(y), u(n)})) return;
        check_cuda(cuda::launch_add(a, b, y, n, stream_), "add kernel launch");
    }

    void add_channel_bias(const float * x, const float * bias, float * y, int64_t batch, int64_t channels, int64_t inner) override {
        enter();
        if (rec_->skip_op(kOpChannelBias, {u(x), u(bias), u(y), u(batch), u(channels), u(inner)})) return;
        check_cuda(cuda::launch_add_channel_bias(x, bias, y, batch, channels, inner, stream_), "add_channel_bias kernel launch");
    }

    void scale(const float * x, float s, float * y, int64_t n) override {
        enter();
        if (rec_->skip_op(kOpScale, {u(x), u(s), u(y), u(n)})) return;
        check_cuda(cuda::launch_scale(x, s, y, n, stream_), "scale kernel launch");
    }

    void resize_nearest(const float * x, float * y, int64_t planes, int64_t h, int64_t w, int64_t oh, int64_t ow) override {
        enter();
        if (rec_->skip_op(kOpResize, {u(x), u(y), u(planes), u(h), u(w), u(oh), u(ow)})) return;
        check_cuda(cuda::launch_resize_nearest(x, y, planes, h, w, oh, ow, stream_), "resize_nearest kernel launch");
    }

    void nchw_to_nhwc(const float * x, float * y, int64_t batch, int64_t channels, int64_t hw) override {
        enter();
        if (rec_->skip_op(kOpToNhwc, {u(x), u(y), u(batch), u(channels), u(hw)})) return;
        check_cuda(cuda::launch_transpose(x, y, batch, channels, hw, stream_), "nchw_to_nhwc kernel launch");
    }

    void nhwc_to_nchw(const float * x, float * y, int64_t batch, int64_t channels, int64_t hw) override {
        enter();
        if (rec_->skip_op(kOpToNchw, {u(x), u(y), u(batch), u(channels), u(hw)})) return;
        check_cuda(cuda::launch_transpose(x, y, batch, hw, channels, stream_), "nhwc_to_nchw kernel launch");
    }

    void concat_channels(const float * a, int64_t ca, const float * b, int64_t cb, float * y, int64_t batch, int64_t hw) override {
        enter();
        if (rec_->skip_op(kOpConcat, {u(a), u(ca), u(b), u(cb), u(y), u(batch), u(hw)})) return;
        check_cuda(cuda::launch_concat_channels(a, ca, b, cb, y, batch, hw, stream_), "concat_channels copy");
    }

    void pad2d(const float * x, float * y, int64_t planes, int64_t h, int64_t w, int64_t top, int64_t left, int64_t bottom,
               int64_t right) override {
        enter();
        if (rec_->skip_op(kOpPad, {u(x), u(y), u(planes), u(h), u(w), u(top), u(left), u(bottom), u(right)})) return;
        check_cuda(cuda::launch_pad2d(x, y, planes, h, w, top, left, bottom, right, stream_), "pad2d kernel launch");
    }

    void embedding(const int32_t * ids, int64_t n, const Weight & table, float * y) override {
        const int64_t rows = table.shape[0], dim = table.shape[1];
        for (int64_t i = 0; i < n; ++i)
            require(ids[i] >= 0 && ids[i] < rows, SDN_ERR_INVALID_ARGUMENT,
                    "token id " + std::to_string(ids[i]) + " is outside the embedding table " + table.name + " (" +
                        std::to_string(rows) + " rows)");
        if (n == 0) return;
        enter();
        if (rec_->skip_op(kOpEmbedding, {u(n), u(table.data), u(y)})) {
            upload(nullptr, ids, static_cast<size_t>(n) * sizeof(int32_t));  // refills the recorded input
            return;
        }
        PoolBuffer dids(mem_, static_cast<size_t>(n) * sizeof(int32_t));
        upload(dids.get(), ids, static_cast<size_t>(n) * sizeof(int32_t));
        check_cuda(cuda::launch_embedding(static_cast<const int32_t *>(dids.get()), n, table.data, dev_type(table.type), dim, y, stream_),
                   "embedding kernel launch");
    }

    void timestep_embedding(const float * t, int64_t n, int64_t dim, bool flip, float shift, float * y) override {
        // n * dim is tiny (batch x 320): the CPU formula, then one upload, so both backends agree bit for bit.
        std::vector<float> host(static_cast<size_t>(n * dim));
        cpu::timestep_embedding(t, n, dim, host.data(), flip, shift);
        upload(y, host.data(), host.size() * sizeof(float));
    }

    void copy(const float * x, float * y, int64_t n) override {
        if (x == y || n <= 0) return;
        enter();
        if (rec_->skip_op(kOpCopy, {u(x), u(y), u(n)})) return;
        const size_t bytes = static_cast<size_t>(n) * sizeof(float);
        const bool overlap = (x < y && y < x + n) || (y < x && x < y + n);
        if (!overlap) {
            check_cuda(cudaMemcpyAsync(y, x, bytes, cudaMemcpyDeviceToDevice, stream_), "copy");
            return;
        }
        PoolBuffer tmp(mem_, bytes);
        check_cuda(cudaMemcpyAsync(tmp.get(), x, bytes, cudaMemcpyDeviceToDevice, stream_), "copy");
        check_cuda(cudaMemcpyAsync(y, tmp.get(), bytes, cudaMemcpyDeviceToDevice, stream_), "copy");
    }

private:
    void enter() const { check_cuda(cudaSetDevice(device_), "cudaSetDevice"); }

    // GemmPath for the built-in kernels (Auto and Builtin both mean tensor cores for f16 weights there).
    cuda::GemmPath builtin_gemm_path() const { return options_.gemm == cuda::GemmPath::Simt ? cuda::GemmPath::Simt : cuda::GemmPath::Auto; }

    // cuBLASLt and cuDNN per the options; a library that cannot be used leaves its reason for name().
    void open_libraries() {
        if (options_.gemm == cuda::GemmPath::Auto) {
            const auto & api = dynload::cublaslt();
            if (!api.available) lt_reason_ = api.reason;
            else {
                try {
                    lt_ = std::make_unique<cuda::CublasLtMatmul>(api);
                } catch (const Error & e) {
                    lt_reason_ = e.what();
                }
            }
        }
        if (options_.conv == cuda::ConvPath::Auto && options_.gemm != cuda::GemmPath::Simt &&
            options_.weights == CudaBackendOptions::Weights::F16) {
            const auto & api = dynload::cudnn();
            if (!api.available) dnn_reason_ = api.reason;
            else {
                try {
                    dnn_ = std::make_unique<cuda::CudnnConv>(api, stream_);
                } catch (const Error & e) {
                    dnn_reason_ = e.what();
                }
            }
        }
    }

    // One workspace for both libraries (they run in stream order on the backend's one stream).
    void * library_workspace() {
        if (workspace_ == nullptr) workspace_ = mem_.alloc_exact(kLibraryWorkspace);
        return workspace_;
    }
    static constexpr size_t kLibraryWorkspace = std::max(cuda::CublasLtMatmul::kWorkspaceBytes, cuda::CudnnConv::kWorkspaceBytes);

    // Returns false (nothing queued) when cuBLASLt has no algorithm for the problem.
    bool linear_on_cublaslt(const float * x, int64_t rows, int64_t in, const Weight & w, const Weight * bias, float * y,
                            const float * residual) {
        cuda::LtLinearArgs a;
        a.rows = rows;
        a.in = in;
        a.out = w.shape[0];
        a.w = w.data;
        a.type = dev_type(w.type);
        a.bias = opt_f32(bias);
        a.residual = residual;
        a.y = y;
        PoolBuffer x16(mem_, w.type == WeightType::F16 ? static_cast<size_t>(rows * in) * sizeof(uint16_t) : 0);
        if (w.type == WeightType::F16) {
            check_cuda(cuda::launch_f32_to_f16(x, x16.get(), rows * in, stream_), "f16 conversion");
            a.x = x16.get();
        } else {
            a.x = x;
        }
        if (lt_->run(a, library_workspace(), kLibraryWorkspace, stream_)) return true;
        ++lt_fallbacks_;
        return false;
    }

    // NHWC f16 in, cuDNN, NHWC f16 out, then one pass back to NCHW f32 with the bias and residual added.
    bool conv_on_cudnn(const cuda::Conv2dLaunch & c) {
        PoolBuffer x16(mem_, static_cast<size_t>(c.batch * c.in_c * c.h * c.w) * sizeof(uint16_t));
        PoolBuffer y16(mem_, static_cast<size_t>(c.batch * c.out_c * c.oh * c.ow) * sizeof(uint16_t));
        check_cuda(cuda::launch_nchw_f32_to_nhwc_f16(c.x, x16.get(), c.batch, c.in_c, c.h * c.w, stream_), "NHWC f16 conversion");
        if (!dnn_->run(c, x16.get(), c.weight, y16.get(), library_workspace(), kLibraryWorkspace, !rec_->capturing())) return false;
        check_cuda(cuda::launch_nhwc_f16_to_nchw_f32(y16.get(), c.y, c.batch, c.out_c, c.oh * c.ow, c.bias, c.residual, stream_),
                   "NCHW f32 conversion");
        return true;
    }

    static cuda::DevType gemm_weight_type(const Weight & w) {
        require(w.type == WeightType::F16 || w.type == WeightType::F32, SDN_ERR_INTERNAL,
                "weight " + w.name + " is " + weight_type_name(w.type) + " on the CUDA backend (expected F16 or F32)");
        return dev_type(w.type);
    }

    void ensure_staging() {
        if (staging_ != nullptr) return;
        void * p = nullptr;
        if (cudaMallocHost(&p, 2 * kStagingHalf) == cudaSuccess) {
            staging_pinned_ = true;
        } else {
            cudaGetLastError();
            p = std::malloc(2 * kStagingHalf);
            if (p == nullptr) fail(SDN_ERR_OUT_OF_MEMORY, "out of host memory allocating the CUDA staging buffer");
            staging_pinned_ = false;
        }
        staging_ = static_cast<unsigned char *>(p);
    }

    // Streams `bytes` to dst through the staging halves: fill(buf, offset, len) writes bytes
    // [offset, offset + len) of the destination image into buf. Returns once the source has been consumed.
    void upload_with(void * dst, size_t bytes, const std::function<void(unsigned char *, size_t, size_t)> & fill) {
        ensure_staging();
        size_t off = 0;
        while (off < bytes) {
            const size_t len = std::min(kStagingHalf, bytes - off);
            const int slot = staging_slot_;
            check_cuda(cudaEventSynchronize(staging_events_[slot]), "waiting for the staging buffer");
            unsigned char * buf = staging_ + static_cast<size_t>(slot) * kStagingHalf;
            fill(buf, off, len);
            check_cuda(cudaMemcpyAsync(static_cast<unsigned char *>(dst) + off, buf, len, cudaMemcpyHostToDevice, stream_),
                       "copy to device");
            check_cuda(cudaEventRecord(staging_events_[slot], stream_), "cudaEventRecord");
            if (!staging_pinned_) check_cuda(cudaStreamSynchronize(stream_), "copy to device");
            staging_slot_ ^= 1;
            off += len;
        }
    }

    // True when every value of an f32 / bf16 weight is representable in f16 without overflow.
    bool fits_f16(const HostWeight & host, int64_t n) {
        if (host.type == WeightType::F16 || n == 0) return true;
        const unsigned char * base = static_cast<const unsigned char *>(host.data);
        std::atomic<bool> ok {true};
        const int64_t tasks = (n + kConvertTask - 1) / kConvertTask;
        pool_.parallel_for(tasks, [&](int64_t t, int) {
            if (!ok.load(std::memory_order_relaxed)) return;
            const int64_t i1 = std::min(n, (t + 1) * kConvertTask);
            for (int64_t i = t * kConvertTask; i < i1; ++i) {
                const float v = std::fabs(host_elem(base, host.type, i));
                if (v > 65504.0f && !std::isnan(v)) {
                    ok.store(false, std::memory_order_relaxed);
                    return;
                }
            }
        });
        return ok.load();
    }

    void upload_converted(void * dst, const HostWeight & host, WeightType target, int64_t n) {
        const unsigned char * base = static_cast<const unsigned char *>(host.data);
        const size_t out_size = weight_type_size(target);
        if (host.type == target) {
            upload_with(dst, static_cast<size_t>(n) * out_size,
                        [base](unsigned char * buf, size_t off, size_t len) { std::memcpy(buf, base + off, len); });
            return;
        }
        const WeightType src_type = host.type;
        upload_with(dst, static_cast<size_t>(n) * out_size, [&](unsigned char * buf, size_t off, size_t len) {
            const int64_t e0 = static_cast<int64_t>(off / out_size), count = static_cast<int64_t>(len / out_size);
            const int64_t tasks = (count + kConvertTask - 1) / kConvertTask;
            pool_.parallel_for(tasks, [&](int64_t t, int) {
                const int64_t j1 = std::min(count, (t + 1) * kConvertTask);
                if (target == WeightType::F32) {
                    float * o = reinterpret_cast<float *>(buf);
                    for (int64_t j = t * kConvertTask; j < j1; ++j) o[j] = host_elem(base, src_type, e0 + j);
                } else {
                    uint16_t * o = reinterpret_cast<uint16_t *>(buf);
                    for (int64_t j = t * kConvertTask; j < j1; ++j) o[j] = f32_to_f16(host_elem(base, src_type, e0 + j));
                }
            });
        });
    }

    int device_;
    cuda::DeviceInfo info_;
    ThreadPool & pool_;
    CudaBackendOptions options_;
    cuda::DevicePool mem_;
    cudaStream_t stream_ = nullptr;
    unsigned char * staging_ = nullptr;
    bool staging_pinned_ = false;
    cudaEvent_t staging_events_[2] = {nullptr, nullptr};
    int staging_slot_ = 0;
    std::unique_ptr<cuda::GraphRecorder> rec_;
    std::unique_ptr<cuda::CublasLtMatmul> lt_;
    std::unique_ptr<cuda::CudnnConv> dnn_;
    std::string lt_reason_, dnn_reason_;
    std::atomic<int64_t> lt_fallbacks_{0}, dnn_fallbacks_{0};
    void * workspace_ = nullptr;  // pool block, released with the pool
};

}  // namespace

CudaBackendOptions cuda_backend_options_from_env() {
    CudaBackendOptions o;
    const std::string w = lower(std::getenv("SDN_CUDA_WEIGHTS"));
    if (w == "f32" || w == "fp32" || w == "float32") o.weights = CudaBackendOptions::Weights::F32;
    const std::string g = lower(std::getenv("SDN_CUDA_GEMM"));
    if (g == "simt") o.gemm = cuda::GemmPath::Simt;
    else if (g == "builtin") o.gemm = cuda::GemmPath::Builtin;
    const std::string c = lower(std::getenv("SDN_CUDA_CONV"));
    if (c == "builtin") o.conv = cuda::ConvPath::Builtin;
    const std::string a = lower(std::getenv("SDN_CUDA_ATTENTION"));
    if (a == "f32") o.attention = cuda::AttentionPath::F32;
    const std::string graphs = lower(std::getenv("SDN_CUDA_GRAPHS"));
    if (graphs == "1" || graphs == "on" || graphs == "true") o.graphs = true;
    return o;
}

std::unique_ptr<Backend> make_cuda_backend_with_options(int device_index, ThreadPool & pool, const CudaBackendOptions & options,
                                                        std::string & reason) {
    cuda::RuntimeInfo info = cuda::query_runtime();
    if (info.devices.empty()) {
        reason = info.unavailable_reason;
        return nullptr;
    }
    if (device_index < 0 || device_index >= static_cast<int>(info.devices.size())) {
        reason = "CUDA device index " + std::to_string(device_index) + " is out of range (" + std::to_string(info.devices.size()) +
                 " device(s) present)";
        return nullptr;
    }
    try {
        return std::make_unique<CudaBackend>(device_index, info.devices[device_index], pool, options);
    } catch (const Error & e) {
        reason = e.what();
        return nullptr;
    }
}

std::unique_ptr<Backend> make_cuda_backend(int device_index, ThreadPool & pool, std::string & reason) {
    return make_cuda_backend_with_options(device_index, pool, cuda_backend_options_from_env(), reason);
}

}  // namespace sdn
