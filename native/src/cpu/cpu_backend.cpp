// The CPU backend: every op runs on the context's thread pool with the selected SIMD level, through the
// kernels in cpu/kernels.h. Backend memory is host memory (64-byte aligned).
#include "core/backend.h"
#include "core/cpu_features.h"
#include "core/half.h"
#include "core/thread_pool.h"
#include "cpu/gemm.h"
#include "cpu/kernels.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <memory>
#include <unordered_map>
#include <unordered_set>

namespace sdn {

namespace {

cpu::DType to_cpu_dtype(WeightType t) { return static_cast<cpu::DType>(static_cast<int>(t)); }

const float * opt_f32(const Weight * w) { return w != nullptr && w->present() ? w->f32() : nullptr; }

class CpuBackend final : public Backend {
public:
    explicit CpuBackend(ThreadPool & pool) : pool_(pool), level_(select_simd_level(detect_cpu_features())) {}

    sdn_backend_kind kind() const override { return SDN_BACKEND_CPU; }
    // "cpu (avx512)", or "cpu (avx512, bf16)" in the bf16 compute mode (SDN_CPU_COMPUTE, cpu/gemm_compute.h).
    std::string name() const override {
        std::string s = std::string("cpu (") + simd_level_name(level_);
        if (cpu::cpu_compute(level_) == cpu::CpuCompute::BF16) s += ", bf16";
        return s + ")";
    }
    size_t host_memory() const override {
        std::lock_guard<std::mutex> lock(mutex_);
        return owned_weight_bytes_ + wino_bytes_;
    }

    void gemm_f32(const GemmF32Args & args, const ExecControl & control) override {
        validate_gemm_args(args);
        cpu::gemm_f32(pool_, level_, args, control);
    }

    // ---- memory ----
    void * alloc_memory(size_t bytes) override {
        const size_t rounded = bytes == 0 ? 64 : (bytes + 63) / 64 * 64;
        void * p = std::aligned_alloc(64, rounded);
        if (p == nullptr) fail(SDN_ERR_OUT_OF_MEMORY, "out of host memory allocating " + std::to_string(bytes) + " bytes");
        // Sizes are remembered so memory_stats can report what is held. Allocations are few and large
        // (arena blocks, weights widened to f32), so a map lookup per call costs nothing measurable.
        std::lock_guard<std::mutex> lock(mem_mutex_);
        sizes_[p] = rounded;
        mem_in_use_ += rounded;
        mem_peak_ = std::max(mem_peak_, mem_in_use_);
        return p;
    }
    void free_memory(void * ptr) override {
        if (ptr == nullptr) return;
        {
            std::lock_guard<std::mutex> lock(mem_mutex_);
            auto it = sizes_.find(ptr);
            if (it != sizes_.end()) {
                mem_in_use_ -= it->second;
                sizes_.erase(it);
            }
        }
        std::free(ptr);
    }
    // Memory from alloc_memory (activation arenas, weights widened to f32). Weights read in place from the
    // memory-mapped file and the GEMM / Winograd packing buffers are not included. Nothing is cached, so
    // reserved equals in_use.
    MemoryStats memory_stats() const override {
        std::lock_guard<std::mutex> lock(mem_mutex_);
        return {mem_in_use_, mem_peak_, mem_in_use_};
    }
    void reset_peak_memory() override {
        std::lock_guard<std::mutex> lock(mem_mutex_);
        mem_peak_ = mem_in_use_;
    }
    void upload(void * dst, const void * src, size_t bytes) override { std::memcpy(dst, src, bytes); }
    void download(void * dst, const void * src, size_t bytes) override { std::memcpy(dst, src, bytes); }
    void synchronize() override {}

    Weight make_weight(const HostWeight & host, bool as_f32) override {
        Weight w;
        w.name = host.name;
        w.shape = host.shape;
        if (!as_f32 || host.type == WeightType::F32) {
            w.data = host.data;
            w.type = host.type;
            return w;
        }
        const int64_t n = host.shape.numel();
        float * out = static_cast<float *>(alloc_memory(static_cast<size_t>(n) * sizeof(float)));
        const uint16_t * src = static_cast<const uint16_t *>(host.data);
        if (host.type == WeightType::F16)
            for (int64_t i = 0; i < n; ++i) out[i] = f16_to_f32(src[i]);
        else
            for (int64_t i = 0; i < n; ++i) out[i] = bf16_to_f32(src[i]);
        w.data = out;
        w.type = WeightType::F32;
        std::lock_guard<std::mutex> lock(mutex_);
        owned_.insert(out);
        owned_weight_bytes_ += static_cast<size_t>(n) * sizeof(float);
        return w;
    }

    void release_weight(Weight & w) override {
        void * p = const_cast<void *>(w.data);
        {
            std::lock_guard<std::mutex> lock(mutex_);
            auto wit = wino_cache_.find(w.data);
            if (wit != wino_cache_.end()) {
                wino_bytes_ -= wit->second->bytes();
                wino_cache_.erase(wit);
            }
            auto it = owned_.find(p);
            if (it != owned_.end()) {
                owned_.erase(it);
                owned_weight_bytes_ -= static_cast<size_t>(w.numel()) * sizeof(float);
                free_memory(p);
            }
        }
        w.data = nullptr;
    }

    // ---- ops ----
    void linear(const float * x, int64_t rows, int64_t in, const Weight & w, const Weight * bias, float * y,
                const float * residual, const ExecControl & ctl) override {
        const int64_t out = w.shape[0];
        count_flops(2.0 * static_cast<double>(rows) * static_cast<double>(in) * static_cast<double>(out));
        cpu::GemmArgs g;
        g.m = rows;
        g.n = out;
        g.k = in;
        g.a = x;
        g.a_type = cpu::DType::F32;
        g.lda = in;
        g.b = w.data;
        g.b_type = to_cpu_dtype(w.type);
        g.trans_b = true;
        g.ldb = in;
        g.c = y;
        g.ldc = out;
        g.bias_n = opt_f32(bias);
        if (residual != nullptr) {
            if (residual != y) std::memcpy(y, residual, static_cast<size_t>(rows * out) * sizeof(float));
            g.beta = 1.0f;
        }
        cpu::gemm(pool_, level_, g, &ctl);
    }

    void conv2d(const float * x, int64_t batch, int64_t in_c, int64_t h, int64_t w, const Weight & weight,
                const Weight * bias, int64_t stride, int64_t pad, float * y, const float * residual,
                const ExecControl & ctl) override {
        {
            const int64_t kh = weight.shape[2], kw = weight.shape[3];
            const int64_t oh = cpu::conv2d_out_size(h, kh, stride, pad), ow = cpu::conv2d_out_size(w, kw, stride, pad);
            count_flops(2.0 * static_cast<double>(batch * weight.shape[0] * oh * ow) * static_cast<double>(in_c * kh * kw));
        }
        cpu::Conv2dArgs a;
        a.batch = batch;
        a.in_channels = in_c;
        a.in_h = h;
        a.in_w = w;
        a.out_channels = weight.shape[0];
        a.kernel_h = weight.shape[2];
        a.kernel_w = weight.shape[3];
        a.stride = stride;
        a.pad = pad;
        a.input = x;
        a.weight = weight.data;
        a.weight_type = to_cpu_dtype(weight.type);
        a.bias = opt_f32(bias);
        a.residual = residual;
        a.output = y;
        std::shared_ptr<const cpu::WinogradWeights> wino;
        if (cpu::winograd_eligible(a) && cpu::conv_algo() != cpu::ConvAlgo::Direct) wino = winograd_weights(a, weight);
        a.winograd_weight = wino.get();
        cpu::conv2d(pool_, level_, a, &ctl);
    }

    void group_norm(const float * x, float * y, int64_t batch, int64_t channels, int64_t hw, int64_t groups,
                    const Weight & gamma, const Weight & beta, float eps, bool silu, const ExecControl & ctl) override {
        cpu::group_norm(pool_, level_, x, y, batch, channels, hw, groups, opt_f32(&gamma), opt_f32(&beta), eps, silu, &ctl);
    }

    void layer_norm(const float * x, float * y, int64_t rows, int64_t dim, const Weight & gamma, const Weight & beta,
                    float eps) override {
        cpu::layer_norm(pool_, level_, x, y, rows, dim, opt_f32(&gamma), opt_f32(&beta), eps);
    }

    void attention(const AttnOperand & q, const AttnOperand & k, const AttnOperand & v, float * out, int64_t batch,
                   int64_t heads, int64_t nq, int64_t nk, int64_t head_dim, float scale, bool causal,
                   const ExecControl & ctl) override {
        count_flops(4.0 * static_cast<double>(batch * heads) * static_cast<double>(nq) * static_cast<double>(nk) *
                    static_cast<double>(head_dim));
        cpu::AttentionArgs a;
        a.batch = batch;
        a.heads = heads;
        a.nq = nq;
        a.nk = nk;
        a.head_dim = head_dim;
        a.q = {q.data, nq * q.row_stride, head_dim, q.row_stride};
        a.k = {k.data, nk * k.row_stride, head_dim, k.row_stride};
        a.v = {v.data, nk * v.row_stride, head_dim, v.row_stride};
        a.out = out;
        a.out_stride_b = nq * heads * head_dim;
        a.out_stride_h = head_dim;
        a.out_stride_s = heads * head_dim;
        a.scale = scale;
        a.causal = causal;
        cpu::attention(pool_, level_, a, &ctl);
    }

    void activation(Act act, const float * x, float * y, int64_t n) override {
        cpu::activation(pool_, level_, static_cast<cpu::Activation>(static_cast<int>(act)), x, y, n);
    }

    void geglu(const float * x, float * y, int64_t rows, int64_t dim) override { cpu::geglu(pool_, level_, x, y, rows, dim); }

    void add(const float * a, const float * b, float * y, int64_t n) override { cpu::add(pool_, level_, a, b, y, n); }

    void add_channel_bias(const float * x, const float * bias, float * y, int64_t batch, int64_t channels,
                          int64_t inner) override {
        for (int64_t b = 0; b < batch; ++b)
            cpu::add_bias(pool_, level_, x + b * channels * inner, bias + b * channels, y + b * channels * inner, 1, channels,
                          inner);
    }

    void scale(const float * x, float s, float * y, int64_t n) override {
        for (int64_t i = 0; i < n; ++i) y[i] = x[i] * s;
    }

    void resize_nearest(const float * x, float * y, int64_t planes, int64_t h, int64_t w, int64_t oh, int64_t ow) override {
        if (oh == 2 * h && ow == 2 * w) {
            cpu::upsample_nearest2x(pool_, x, y, planes, h, w);
            return;
        }
        // torch 'nearest' with an explicit size: src = floor(dst * (in / out)) computed in float32.
        const float sy = static_cast<float>(h) / static_cast<float>(oh);
        const float sx = static_cast<float>(w) / static_cast<float>(ow);
        pool_.parallel_for(planes, [&](int64_t p, int) {
            const float * src = x + p * h * w;
            float * dst = y + p * oh * ow;
            for (int64_t i = 0; i < oh; ++i) {
                const int64_t si = std::min(h - 1, static_cast<int64_t>(static_cast<float>(i) * sy));
                for (int64_t j = 0; j < ow; ++j) {
                    const int64_t sj = std::min(w - 1, static_cast<int64_t>(static_cast<float>(j) * sx));
                    dst[i * ow + j] = src[si * w + sj];
                }
            }
        });
    }

    void nchw_to_nhwc(const float * x, float * y, int64_t batch, int64_t channels, int64_t hw) override {
        transpose_blocks(x, y, batch, channels, hw);
    }
    void nhwc_to_nchw(const float * x, float * y, int64_t batch, int64_t channels, int64_t hw) override {
        transpose_blocks(x, y, batch, hw, channels);
    }

    void concat_channels(const float * a, int64_t ca, const float * b, int64_t cb, float * y, int64_t batch,
                         int64_t hw) override {
        for (int64_t n = 0; n < batch; ++n) {
            std::memcpy(y + n * (ca + cb) * hw, a + n * ca * hw, static_cast<size_t>(ca * hw) * sizeof(float));
            std::memcpy(y + (n * (ca + cb) + ca) * hw, b + n * cb * hw, static_cast<size_t>(cb * hw) * sizeof(float));
        }
    }

    void pad2d(const float * x, float * y, int64_t planes, int64_t h, int64_t w, int64_t top, int64_t left,
               int64_t bottom, int64_t right) override {
        const int64_t oh = h + top + bottom, ow = w + left + right;
        pool_.parallel_for(planes, [&](int64_t p, int) {
            float * dst = y + p * oh * ow;
            std::fill(dst, dst + oh * ow, 0.0f);
            for (int64_t i = 0; i < h; ++i)
                std::memcpy(dst + (i + top) * ow + left, x + (p * h + i) * w, static_cast<size_t>(w) * sizeof(float));
        });
    }

    void embedding(const int32_t * ids, int64_t n, const Weight & table, float * y) override {
        const int64_t rows = table.shape[0], dim = table.shape[1];
        for (int64_t i = 0; i < n; ++i) {
            require(ids[i] >= 0 && ids[i] < rows, SDN_ERR_INVALID_ARGUMENT,
                    "token id " + std::to_string(ids[i]) + " is outside the embedding table " + table.name + " (" +
                        std::to_string(rows) + " rows)");
            const int64_t r = ids[i];
            float * dst = y + i * dim;
            if (table.type == WeightType::F32) {
                std::memcpy(dst, static_cast<const float *>(table.data) + r * dim, static_cast<size_t>(dim) * sizeof(float));
            } else {
                const uint16_t * src = static_cast<const uint16_t *>(table.data) + r * dim;
                for (int64_t j = 0; j < dim; ++j) dst[j] = table.type == WeightType::F16 ? f16_to_f32(src[j]) : bf16_to_f32(src[j]);
            }
        }
    }

    void timestep_embedding(const float * t, int64_t n, int64_t dim, bool flip, float shift, float * y) override {
        cpu::timestep_embedding(t, n, dim, y, flip, shift);
    }

    void copy(const float * x, float * y, int64_t n) override {
        if (x != y) std::memmove(y, x, static_cast<size_t>(n) * sizeof(float));
    }

private:
    // Transformed Winograd weights of a 3x3 conv, cached by weight pointer (evicted by release_weight) when
    // the conv takes the Winograd path with few enough tiles that transforming the weights on every call
    // would cost more than a few percent (batch x tiles < kWinogradPerCallTiles: the transform of a
    // 512x512 conv costs ~13 ms on 2 Zen 4 cores, ~30% of that conv at 64x64 and ~3% at 256x256), and while
    // the cache stays under its budget (SDN_WINOGRAD_CACHE_MB, default 0 = off, which keeps a 512x512 SD1.5 txt2img within weights + 1.5 GB; transformed f32 weights take
    // 16 bytes per 3x3 weight parameter, so the SD1.5 VAE decoder's 64x64 / 128x128 convs alone would take
    // ~650 MB). Otherwise conv2d transforms per call (large images, where it is cheap) or runs direct.
    static constexpr int64_t kWinogradPerCallTiles = 2048;

    static size_t winograd_budget() {
        static const size_t budget = [] {
            const char * v = std::getenv("SDN_WINOGRAD_CACHE_MB");
            if (v == nullptr || *v == '\0') return static_cast<size_t>(0);
            const long long mb = std::atoll(v);
            return mb > 0 ? static_cast<size_t>(mb) << 20 : static_cast<size_t>(0);
        }();
        return budget;
    }

    std::shared_ptr<const cpu::WinogradWeights> winograd_weights(const cpu::Conv2dArgs & a, const Weight & weight) {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            auto it = wino_cache_.find(weight.data);
            if (it != wino_cache_.end()) {
                const cpu::WinogradWeights & w = *it->second;
                if (w.out_channels == a.out_channels && w.in_channels == a.in_channels && w.level == level_ &&
                    w.bf16 == cpu::gemm_isa(level_).bf16)
                    return it->second;
                wino_bytes_ -= w.bytes();
                wino_cache_.erase(it);
            }
        }
        const int64_t tiles = a.batch * ((a.in_h + 3) / 4) * ((a.in_w + 3) / 4);
        const bool forced = cpu::conv_algo() == cpu::ConvAlgo::Winograd;
        if (tiles >= kWinogradPerCallTiles || !(forced || cpu::winograd_pays(a, true))) return nullptr;
        const size_t bytes =
            static_cast<size_t>(cpu::winograd_weight_floats(level_, a.out_channels, a.in_channels)) * sizeof(float);
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (wino_bytes_ + bytes > winograd_budget()) return nullptr;
        }
        auto w = std::make_shared<cpu::WinogradWeights>(
            cpu::winograd_transform_weights(pool_, level_, weight.data, to_cpu_dtype(weight.type), a.out_channels, a.in_channels));
        std::lock_guard<std::mutex> lock(mutex_);
        auto ins = wino_cache_.emplace(weight.data, w);
        if (!ins.second) return ins.first->second;  // another thread cached it meanwhile
        wino_bytes_ += w->bytes();
        return w;
    }

    // y[b][j][i] = x[b][i][j] for x [batch, rows, cols]
    void transpose_blocks(const float * x, float * y, int64_t batch, int64_t rows, int64_t cols) {
        constexpr int64_t T = 32;
        const int64_t tiles_r = (rows + T - 1) / T, tiles_c = (cols + T - 1) / T;
        pool_.parallel_for(batch * tiles_r, [&](int64_t task, int) {
            const int64_t b = task / tiles_r, r0 = (task % tiles_r) * T;
            const float * src = x + b * rows * cols;
            float * dst = y + b * rows * cols;
            for (int64_t tc = 0; tc < tiles_c; ++tc) {
                const int64_t c0 = tc * T;
                for (int64_t i = r0; i < std::min(rows, r0 + T); ++i)
                    for (int64_t j = c0; j < std::min(cols, c0 + T); ++j) dst[j * rows + i] = src[i * cols + j];
            }
        });
    }

    ThreadPool & pool_;
    SimdLevel level_;
    mutable std::mutex mutex_;
    std::unordered_set<void *> owned_;
    size_t owned_weight_bytes_ = 0;
    std::unordered_map<const void *, std::shared_ptr<const cpu::WinogradWeights>> wino_cache_;
    size_t wino_bytes_ = 0;
    // alloc_memory bookkeeping. Its own mutex: free_memory is called with mutex_ held (release_weight),
    // so the lock order is always mutex_ before mem_mutex_.
    mutable std::mutex mem_mutex_;
    std::unordered_map<void *, size_t> sizes_;
    size_t mem_in_use_ = 0;
    size_t mem_peak_ = 0;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(ThreadPool & pool) { return std::make_unique<CpuBackend>(pool); }

}  // namespace sdn
