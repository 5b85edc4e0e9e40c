// `sdn_bench --cuda-ops`: every network op of the CUDA backend at Stable Diffusion 1.5 512x512 CFG shapes,
// timed through the Backend interface on device buffers, against two ceilings measured in the same run:
//
//   {"backend":"cuda","ceiling":"linear_peak",...,"tflops":T}  Backend::linear, 8192^3, f16 weights (the
//                                                              network matmul path: tensor cores)
//   {"backend":"cuda","ceiling":"copy_bw",...,"gbps":G}        Backend::copy (cudaMemcpyAsync device to
//                                                              device), bytes read + bytes written
//
// then one line per (variant, op):
//
//   {"backend":"cuda","variant":"default","op":"conv2d","shape":"2x320x64x64->320 k3","label":...,
//    "ms":median,"ms_min":..,"tflops":..,"pct_of_peak":..}            (conv2d, linear, attention)
//   {...,"op":"add",...,"bytes":..,"gbps":..,"pct_of_copy_bw":..}      (memory-bound ops)
//
// FLOPs: 2*M*N*K for linear and conv2d, 4*b*h*nq*nk*d for attention (causal counted in full). Bytes: each
// f32 input read once plus each f32 output written once (the least any implementation must move).
//
// Timing: a warm-up call per buffer set, then runs of `reps` back-to-back calls ended by
// Backend::synchronize (the backend's one stream), timed with the host's steady clock; `reps` is chosen so
// a run lasts a few milliseconds (launch and sync overhead amortised), runs repeat for --seconds, and the
// median per-call time is reported. Ops whose buffers are smaller than kRotateBytes get several buffer
// sets (weights included) used in turn, so repeated calls do not just hit the 50 MB L2 of an H100
// (scripts/gpu/torch_anchors.py applies the same rule).
//
// Variants: a small table (kVariants) of CudaBackendOptions tweaks, each run on its own backend over the
// ops it concerns. Add a row when the backend gains a path (cuBLASLt, cuDNN, ...).
#include "bench_cuda_ops.h"
#include "bench_files.h"

#include "core/backend.h"
#include "core/error.h"
#include "core/half.h"
#include "core/linear_peak.h"
#include "core/thread_pool.h"
#include "cuda/cuda_backend.h"
#include "io/json.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace {

using sdn_bench::read_file;


using sdn::Backend;
using sdn::CudaBackendOptions;
using sdn::Weight;
using sdn::WeightType;
using Clock = std::chrono::steady_clock;

// Buffer sets are repeated until they cover this many bytes (at most kMaxRotate sets): more than twice
// the L2 cache of an H100 (50 MB), so each call reads its operands from device memory.
constexpr double kRotateBytes = 128.0 * 1024 * 1024;
constexpr int kMaxRotate = 8;

std::string quote(const std::string & s) {
    std::string out;
    sdn::io::json_quote(out, s);
    return out;
}

// ---------------------------------------------------------------------------------------------------
// Shape list (scripts/gpu/sd15_op_shapes.json)
// ---------------------------------------------------------------------------------------------------

enum class OpKind { Conv2d, Linear, Attention, GroupNorm, LayerNorm, Geglu, Add };

struct OpSpec {
    OpKind kind = OpKind::Add;
    std::string op, shape, label;
    // conv2d / group_norm / add: images [batch, channels, h, w]
    int64_t batch = 0, in_c = 0, h = 0, w = 0, out_c = 0, k = 0, stride = 1, pad = 0, groups = 0;
    bool silu = false;
    // linear: [rows, in] -> [rows, out]; layer_norm [rows, dim]; geglu [rows, 2*dim] -> [rows, dim]
    int64_t rows = 0, in = 0, out = 0, dim = 0;
    // attention
    int64_t heads = 0, nq = 0, nk = 0, head_dim = 0;
    bool causal = false;

    bool matmul() const { return kind == OpKind::Conv2d || kind == OpKind::Linear || kind == OpKind::Attention; }
    int64_t out_h() const { return (h + 2 * pad - k) / stride + 1; }
    int64_t out_w() const { return (w + 2 * pad - k) / stride + 1; }

    double flop() const {
        switch (kind) {
            case OpKind::Conv2d:
                return 2.0 * static_cast<double>(batch * out_c * out_h() * out_w()) * static_cast<double>(in_c * k * k);
            case OpKind::Linear: return 2.0 * static_cast<double>(rows) * static_cast<double>(in) * static_cast<double>(out);
            case OpKind::Attention:
                return 4.0 * static_cast<double>(batch * heads) * static_cast<double>(nq) * static_cast<double>(nk) *
                       static_cast<double>(head_dim);
            default: return 0;
        }
    }

    // Least f32 traffic of the memory-bound ops: inputs read once, outputs written once.
    double bytes() const {
        const double f = sizeof(float);
        switch (kind) {
            case OpKind::GroupNorm: return 2.0 * f * static_cast<double>(batch * in_c * h * w);
            case OpKind::LayerNorm: return 2.0 * f * static_cast<double>(rows * dim);
            case OpKind::Geglu: return 3.0 * f * static_cast<double>(rows * dim);
            case OpKind::Add: return 3.0 * f * static_cast<double>(batch * in_c * h * w);
            default: return 0;
        }
    }
};

int64_t get_int(const sdn::io::JsonValue & o, const char * key, const std::string & where) {
    const sdn::io::JsonValue * v = o.get(key);
    sdn::require(v != nullptr && v->type == sdn::io::JsonValue::Type::Number && v->is_uint && v->uint_value >= 1 &&
                     v->uint_value <= (uint64_t{1} << 40),
                 SDN_ERR_FORMAT, where + ": \"" + key + "\" must be a positive integer");
    return static_cast<int64_t>(v->uint_value);
}

bool get_bool(const sdn::io::JsonValue & o, const char * key, const std::string & where) {
    const sdn::io::JsonValue * v = o.get(key);
    sdn::require(v != nullptr && v->type == sdn::io::JsonValue::Type::Bool, SDN_ERR_FORMAT,
                 where + ": \"" + key + "\" must be true or false");
    return v->boolean;
}

std::string get_string(const sdn::io::JsonValue & o, const char * key, const std::string & where) {
    const sdn::io::JsonValue * v = o.get(key);
    sdn::require(v != nullptr && v->is_string(), SDN_ERR_FORMAT, where + ": \"" + key + "\" must be a string");
    return v->string;
}

std::vector<OpSpec> parse_shapes(const std::string & text, const std::string & path) {
    const sdn::io::JsonValue doc = sdn::io::parse_json(text.data(), text.size());
    const sdn::io::JsonValue * ops = doc.get("ops");
    sdn::require(ops != nullptr && ops->is_array() && !ops->array.empty(), SDN_ERR_FORMAT, path + ": no \"ops\" array");
    std::vector<OpSpec> specs;
    for (size_t i = 0; i < ops->array.size(); ++i) {
        const sdn::io::JsonValue & o = ops->array[i];
        const std::string where = path + " ops[" + std::to_string(i) + "]";
        sdn::require(o.is_object(), SDN_ERR_FORMAT, where + " is not an object");
        OpSpec s;
        s.op = get_string(o, "op", where);
        s.shape = get_string(o, "shape", where);
        s.label = get_string(o, "label", where);
        if (s.op == "conv2d") {
            s.kind = OpKind::Conv2d;
            s.batch = get_int(o, "batch", where);
            s.in_c = get_int(o, "in_c", where);
            s.h = get_int(o, "h", where);
            s.w = get_int(o, "w", where);
            s.out_c = get_int(o, "out_c", where);
            s.k = get_int(o, "k", where);
            s.stride = get_int(o, "stride", where);
            const sdn::io::JsonValue * pad = o.get("pad");  // may be 0
            sdn::require(pad != nullptr && pad->is_uint && pad->uint_value < 64, SDN_ERR_FORMAT, where + ": bad \"pad\"");
            s.pad = static_cast<int64_t>(pad->uint_value);
            sdn::require(s.h + 2 * s.pad >= s.k && s.w + 2 * s.pad >= s.k, SDN_ERR_FORMAT, where + ": kernel larger than the input");
        } else if (s.op == "linear") {
            s.kind = OpKind::Linear;
            s.rows = get_int(o, "rows", where);
            s.in = get_int(o, "in", where);
            s.out = get_int(o, "out", where);
        } else if (s.op == "attention") {
            s.kind = OpKind::Attention;
            s.batch = get_int(o, "batch", where);
            s.heads = get_int(o, "heads", where);
            s.nq = get_int(o, "nq", where);
            s.nk = get_int(o, "nk", where);
            s.head_dim = get_int(o, "head_dim", where);
            s.causal = get_bool(o, "causal", where);
        } else if (s.op == "group_norm") {
            s.kind = OpKind::GroupNorm;
            s.batch = get_int(o, "batch", where);
            s.in_c = get_int(o, "channels", where);
            s.h = get_int(o, "h", where);
            s.w = get_int(o, "w", where);
            s.groups = get_int(o, "groups", where);
            s.silu = get_bool(o, "silu", where);
            sdn::require(s.in_c % s.groups == 0, SDN_ERR_FORMAT, where + ": channels must split into groups");
        } else if (s.op == "layer_norm") {
            s.kind = OpKind::LayerNorm;
            s.rows = get_int(o, "rows", where);
            s.dim = get_int(o, "dim", where);
        } else if (s.op == "geglu") {
            s.kind = OpKind::Geglu;
            s.rows = get_int(o, "rows", where);
            s.dim = get_int(o, "dim", where);
        } else if (s.op == "add") {
            s.kind = OpKind::Add;
            s.batch = get_int(o, "batch", where);
            s.in_c = get_int(o, "channels", where);
            s.h = get_int(o, "h", where);
            s.w = get_int(o, "w", where);
        } else {
            sdn::fail(SDN_ERR_FORMAT, where + ": unknown op \"" + s.op + "\"");
        }
        specs.push_back(std::move(s));
    }
    return specs;
}

// The explicit --shapes path, else scripts/gpu/sd15_op_shapes.json below the working directory (the repo
// root, where check.sh runs), else relative to the binary (build-*/bin/sdn_bench in the repo).
std::string find_shapes_file(const std::string & explicit_path, std::string & text, std::string & tried) {
    std::vector<std::string> candidates;
    if (!explicit_path.empty()) {
        candidates.push_back(explicit_path);
    } else {
        const char * rel = "scripts/gpu/sd15_op_shapes.json";
        candidates.push_back(rel);
        char exe[4096];
        const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n > 0) {
            exe[n] = '\0';
            std::string dir(exe);
            dir = dir.substr(0, dir.find_last_of('/'));
            candidates.push_back(dir + "/../../" + rel);
            candidates.push_back(dir + "/../../../" + rel);
        }
    }
    for (const auto & c : candidates) {
        if (read_file(c, text)) return c;
        tried += (tried.empty() ? "" : ", ") + c;
    }
    return "";
}

// ---------------------------------------------------------------------------------------------------
// Variants: backend options per measured path
// ---------------------------------------------------------------------------------------------------

bool matmul_ops(OpKind k) { return k == OpKind::Conv2d || k == OpKind::Linear; }
bool attention_ops(OpKind k) { return k == OpKind::Attention; }
bool every_op(OpKind) { return true; }

struct Variant {
    const char * name;                    // printed as "variant"
    bool (*applies)(OpKind);              // which ops it runs
    bool all_paths_only;                  // only with --all-paths (slow reference paths)
    void (*configure)(CudaBackendOptions &);
};

// "default" runs every op with the default options (what the networks use: cuBLASLt / cuDNN when they
// load); the others re-run the ops a path choice affects. Extend this table when CudaBackendOptions gains
// paths.
const Variant kVariants[] = {
    {"default", every_op, false, [](CudaBackendOptions &) {}},
    {"builtin", matmul_ops, false,
     [](CudaBackendOptions & o) {
         o.gemm = sdn::cuda::GemmPath::Builtin;  // built-in WMMA tensor-core kernels, no cuBLASLt
         o.conv = sdn::cuda::ConvPath::Builtin;  // built-in implicit GEMM, no cuDNN
     }},
    {"attn_f32", attention_ops, false, [](CudaBackendOptions & o) { o.attention = sdn::cuda::AttentionPath::F32; }},
    {"simt", matmul_ops, true, [](CudaBackendOptions & o) { o.gemm = sdn::cuda::GemmPath::Simt; }},
};

// ---------------------------------------------------------------------------------------------------
// Device buffers and timing
// ---------------------------------------------------------------------------------------------------

// Deterministic pseudo-random values in [-scale, scale] (never all zeros: METHOD.md, zeros time faster).
void fill_random(std::vector<float> & v, uint64_t seed, float scale) {
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
    for (auto & x : v) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        x = scale * (static_cast<float>(static_cast<int64_t>(s >> 40) - (int64_t{1} << 23)) / static_cast<float>(int64_t{1} << 23));
    }
}

// One buffer set of an op: device buffers and weights owned here, released by the destructor.
class OpInstance {
public:
    explicit OpInstance(Backend & be) : be_(be) { weights_.reserve(kMaxWeights); }
    ~OpInstance() {
        for (auto & w : weights_) be_.release_weight(w);
        for (void * p : buffers_) be_.free_memory(p);
    }
    OpInstance(const OpInstance &) = delete;
    OpInstance & operator=(const OpInstance &) = delete;

    float * buffer(const std::vector<float> & host) {
        void * p = be_.alloc_memory(host.size() * sizeof(float));
        buffers_.push_back(p);
        be_.upload(p, host.data(), host.size() * sizeof(float));
        bytes_ += static_cast<double>(host.size() * sizeof(float));
        return static_cast<float *>(p);
    }
    float * output(int64_t n) {
        void * p = be_.alloc_memory(static_cast<size_t>(n) * sizeof(float));
        buffers_.push_back(p);
        bytes_ += static_cast<double>(n) * sizeof(float);
        return static_cast<float *>(p);
    }
    // Linear / conv weight: host f16 (what SD checkpoints ship), stored by the backend's policy.
    const Weight * weight_f16(const std::vector<uint16_t> & host, sdn::Shape shape, const char * name) {
        return add_weight(host.data(), WeightType::F16, shape, name, false, host.size() * 2);
    }
    // Bias / norm parameters: f32.
    const Weight * weight_f32(const std::vector<float> & host, sdn::Shape shape, const char * name) {
        return add_weight(host.data(), WeightType::F32, shape, name, true, host.size() * 4);
    }
    double bytes() const { return bytes_; }
    std::function<void()> run;

private:
    const Weight * add_weight(const void * data, WeightType type, sdn::Shape shape, const char * name, bool as_f32, size_t bytes) {
        sdn::HostWeight hw;
        hw.data = data;
        hw.type = type;
        hw.shape = shape;
        hw.name = name;
        // Pointers handed out must stay valid: the vector never grows past its reserved capacity.
        sdn::require(weights_.size() < kMaxWeights, SDN_ERR_INTERNAL, "bench: too many weights in one op instance");
        weights_.push_back(be_.make_weight(hw, as_f32));
        bytes_ += static_cast<double>(bytes);
        return &weights_.back();
    }

    static constexpr size_t kMaxWeights = 8;
    Backend & be_;
    std::vector<void *> buffers_;
    std::vector<Weight> weights_;
    double bytes_ = 0;
};

std::vector<uint16_t> to_f16(const std::vector<float> & v) {
    std::vector<uint16_t> h(v.size());
    for (size_t i = 0; i < v.size(); ++i) h[i] = sdn::f32_to_f16(v[i]);
    return h;
}

// Host data of an op, shared by its buffer sets.
struct HostData {
    std::vector<float> x, x2, bias, gamma, beta;
    std::vector<uint16_t> weight;
};

HostData make_host_data(const OpSpec & s) {
    HostData d;
    auto rnd = [](size_t n, uint64_t seed, float scale) {
        std::vector<float> v(n);
        fill_random(v, seed, scale);
        return v;
    };
    switch (s.kind) {
        case OpKind::Conv2d: {
            const int64_t fan_in = s.in_c * s.k * s.k;
            d.x = rnd(static_cast<size_t>(s.batch * s.in_c * s.h * s.w), 1, 1.0f);
            d.weight = to_f16(rnd(static_cast<size_t>(s.out_c * fan_in), 2, 1.0f / std::sqrt(static_cast<float>(fan_in))));
            d.bias = rnd(static_cast<size_t>(s.out_c), 3, 0.1f);
            break;
        }
        case OpKind::Linear:
            d.x = rnd(static_cast<size_t>(s.rows * s.in), 1, 1.0f);
            d.weight = to_f16(rnd(static_cast<size_t>(s.out * s.in), 2, 1.0f / std::sqrt(static_cast<float>(s.in))));
            d.bias = rnd(static_cast<size_t>(s.out), 3, 0.1f);
            break;
        case OpKind::Attention: {
            const int64_t width = s.heads * s.head_dim;
            d.x = rnd(static_cast<size_t>(s.batch * s.nq * width), 1, 1.0f);       // q
            d.x2 = rnd(static_cast<size_t>(s.batch * s.nk * width * 2), 2, 1.0f);  // k then v
            break;
        }
        case OpKind::GroupNorm:
            d.x = rnd(static_cast<size_t>(s.batch * s.in_c * s.h * s.w), 1, 2.0f);
            d.gamma = rnd(static_cast<size_t>(s.in_c), 2, 1.0f);
            d.beta = rnd(static_cast<size_t>(s.in_c), 3, 0.5f);
            break;
        case OpKind::LayerNorm:
            d.x = rnd(static_cast<size_t>(s.rows * s.dim), 1, 2.0f);
            d.gamma = rnd(static_cast<size_t>(s.dim), 2, 1.0f);
            d.beta = rnd(static_cast<size_t>(s.dim), 3, 0.5f);
            break;
        case OpKind::Geglu: d.x = rnd(static_cast<size_t>(s.rows * s.dim * 2), 1, 2.0f); break;
        case OpKind::Add:
            d.x = rnd(static_cast<size_t>(s.batch * s.in_c * s.h * s.w), 1, 1.0f);
            d.x2 = rnd(d.x.size(), 2, 1.0f);
            break;
    }
    return d;
}

// Uploads one buffer set of `s` and binds the call.
std::unique_ptr<OpInstance> make_instance(Backend & be, const OpSpec & s, const HostData & d) {
    auto in = std::make_unique<OpInstance>(be);
    OpInstance & i = *in;
    static const sdn::ExecControl ctl;
    switch (s.kind) {
        case OpKind::Conv2d: {
            const float * x = i.buffer(d.x);
            const Weight * w = i.weight_f16(d.weight, sdn::Shape{s.out_c, s.in_c, s.k, s.k}, "bench.conv.weight");
            const Weight * b = i.weight_f32(d.bias, sdn::Shape{s.out_c}, "bench.conv.bias");
            float * y = i.output(s.batch * s.out_c * s.out_h() * s.out_w());
            i.run = [&be, s, x, w, b, y] { be.conv2d(x, s.batch, s.in_c, s.h, s.w, *w, b, s.stride, s.pad, y, nullptr, ctl); };
            break;
        }
        case OpKind::Linear: {
            const float * x = i.buffer(d.x);
            const Weight * w = i.weight_f16(d.weight, sdn::Shape{s.out, s.in}, "bench.linear.weight");
            const Weight * b = i.weight_f32(d.bias, sdn::Shape{s.out}, "bench.linear.bias");
            float * y = i.output(s.rows * s.out);
            i.run = [&be, s, x, w, b, y] { be.linear(x, s.rows, s.in, *w, b, y, nullptr, ctl); };
            break;
        }
        case OpKind::Attention: {
            const int64_t width = s.heads * s.head_dim;
            const float * q = i.buffer(d.x);
            const float * kv = i.buffer(d.x2);
            float * o = i.output(s.batch * s.nq * width);
            const sdn::AttnOperand aq{q, width}, ak{kv, width}, av{kv + s.batch * s.nk * width, width};
            const float scale = 1.0f / std::sqrt(static_cast<float>(s.head_dim));
            i.run = [&be, s, aq, ak, av, o, scale] {
                be.attention(aq, ak, av, o, s.batch, s.heads, s.nq, s.nk, s.head_dim, scale, s.causal, ctl);
            };
            break;
        }
        case OpKind::GroupNorm: {
            const float * x = i.buffer(d.x);
            const Weight * g = i.weight_f32(d.gamma, sdn::Shape{s.in_c}, "bench.norm.weight");
            const Weight * b = i.weight_f32(d.beta, sdn::Shape{s.in_c}, "bench.norm.bias");
            float * y = i.output(static_cast<int64_t>(d.x.size()));
            i.run = [&be, s, x, g, b, y] { be.group_norm(x, y, s.batch, s.in_c, s.h * s.w, s.groups, *g, *b, 1e-5f, s.silu, ctl); };
            break;
        }
        case OpKind::LayerNorm: {
            const float * x = i.buffer(d.x);
            const Weight * g = i.weight_f32(d.gamma, sdn::Shape{s.dim}, "bench.norm.weight");
            const Weight * b = i.weight_f32(d.beta, sdn::Shape{s.dim}, "bench.norm.bias");
            float * y = i.output(static_cast<int64_t>(d.x.size()));
            i.run = [&be, s, x, g, b, y] { be.layer_norm(x, y, s.rows, s.dim, *g, *b, 1e-5f); };
            break;
        }
        case OpKind::Geglu: {
            const float * x = i.buffer(d.x);
            float * y = i.output(s.rows * s.dim);
            i.run = [&be, s, x, y] { be.geglu(x, y, s.rows, s.dim); };
            break;
        }
        case OpKind::Add: {
            const float * a = i.buffer(d.x);
            const float * b = i.buffer(d.x2);
            const int64_t n = static_cast<int64_t>(d.x.size());
            float * y = i.output(n);
            i.run = [&be, a, b, y, n] { be.add(a, b, y, n); };
            break;
        }
    }
    return in;
}

struct Stats {
    double median_s = 0, min_s = 0;
    int reps = 0, runs = 0;
};

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Per-call time of `calls` (buffer sets used in turn), see the file comment.
Stats time_calls(Backend & be, const std::vector<std::function<void()>> & calls, double seconds) {
    const size_t sets = calls.size();
    for (const auto & c : calls) c();  // warm-up: first launches, pool growth, caches
    be.synchronize();
    auto t0 = Clock::now();
    for (const auto & c : calls) c();
    be.synchronize();
    const double per_call = std::max(1e-7, std::chrono::duration<double>(Clock::now() - t0).count() / static_cast<double>(sets));
    const double target_run = std::min(0.02, std::max(0.002, seconds / 20));
    Stats st;
    st.reps = static_cast<int>(std::clamp(std::ceil(target_run / per_call), 1.0, 20000.0));
    std::vector<double> per;
    const auto start = Clock::now();
    size_t next = 0;
    while (true) {
        t0 = Clock::now();
        for (int r = 0; r < st.reps; ++r) {
            calls[next]();
            next = (next + 1) % sets;
        }
        be.synchronize();
        const auto t1 = Clock::now();
        per.push_back(std::chrono::duration<double>(t1 - t0).count() / st.reps);
        const double elapsed = std::chrono::duration<double>(t1 - start).count();
        if ((per.size() >= 5 && elapsed >= seconds) || per.size() >= 2000) break;
    }
    st.runs = static_cast<int>(per.size());
    st.median_s = median(per);
    st.min_s = *std::min_element(per.begin(), per.end());
    return st;
}

struct Ceilings {
    double linear_tflops = 0;  // 0 when the measurement failed
    double copy_gbps = 0;
};

void print_error(const char * variant, const OpSpec * s, const std::string & what) {
    if (s != nullptr)
        std::printf("{\"backend\":\"cuda\",\"variant\":\"%s\",\"op\":\"%s\",\"shape\":%s,\"error\":%s}\n", variant, s->op.c_str(),
                    quote(s->shape).c_str(), quote(what).c_str());
    else
        std::printf("{\"backend\":\"cuda\",\"variant\":\"%s\",\"error\":%s}\n", variant, quote(what).c_str());
    std::fflush(stdout);
}

Ceilings measure_ceilings(Backend & be, double seconds) {
    Ceilings c;
    const int64_t size = 8192;
    try {
        const double gflops = sdn::measure_linear_peak(be, size, WeightType::F16, std::max(1.0, seconds * 4), sdn::ExecControl());
        c.linear_tflops = gflops * 1e-3;
        std::printf("{\"backend\":\"cuda\",\"ceiling\":\"linear_peak\",\"how\":\"Backend::linear %lldx%lldx%lld, f16 weight, best run\","
                    "\"tflops\":%.2f}\n",
                    (long long)size, (long long)size, (long long)size, c.linear_tflops);
    } catch (const std::exception & e) {
        print_error("default", nullptr, std::string("linear_peak: ") + e.what());
    }
    std::fflush(stdout);
    try {
        const int64_t n = int64_t{128} << 20;  // 512 MiB per buffer
        std::vector<float> host(static_cast<size_t>(n));
        fill_random(host, 7, 1.0f);
        OpInstance inst(be);
        const float * x = inst.buffer(host);
        float * y = inst.output(n);
        const Stats st = time_calls(be, {[&be, x, y, n] { be.copy(x, y, n); }}, std::max(0.5, seconds * 2));
        const double bytes = 2.0 * static_cast<double>(n) * sizeof(float);
        c.copy_gbps = bytes / st.min_s * 1e-9;
        std::printf("{\"backend\":\"cuda\",\"ceiling\":\"copy_bw\",\"how\":\"Backend::copy (cudaMemcpyAsync D2D) of 512 MiB, "
                    "read+write bytes, best run\",\"gbps\":%.1f,\"gbps_median\":%.1f}\n",
                    c.copy_gbps, bytes / st.median_s * 1e-9);
    } catch (const std::exception & e) {
        print_error("default", nullptr, std::string("copy_bw: ") + e.what());
    }
    std::fflush(stdout);
    return c;
}

void bench_op(Backend & be, const Variant & v, const OpSpec & s, const Ceilings & ceilings, double seconds) {
    try {
        const HostData d = make_host_data(s);
        std::vector<std::unique_ptr<OpInstance>> sets;
        sets.push_back(make_instance(be, s, d));
        const int n_sets = static_cast<int>(std::clamp(std::ceil(kRotateBytes / std::max(1.0, sets[0]->bytes())), 1.0,
                                                       static_cast<double>(kMaxRotate)));
        while (static_cast<int>(sets.size()) < n_sets) sets.push_back(make_instance(be, s, d));
        std::vector<std::function<void()>> calls;
        for (const auto & i : sets) calls.push_back(i->run);
        const Stats st = time_calls(be, calls, seconds);
        std::printf("{\"backend\":\"cuda\",\"variant\":\"%s\",\"op\":\"%s\",\"shape\":%s,\"label\":%s,\"ms\":%.4f,\"ms_min\":%.4f,"
                    "\"reps\":%d,\"runs\":%d,\"buffer_sets\":%d",
                    v.name, s.op.c_str(), quote(s.shape).c_str(), quote(s.label).c_str(), st.median_s * 1e3, st.min_s * 1e3, st.reps,
                    st.runs, n_sets);
        if (s.matmul()) {
            const double tflops = s.flop() / st.median_s * 1e-12;
            std::printf(",\"flop\":%.6g,\"tflops\":%.3f", s.flop(), tflops);
            if (ceilings.linear_tflops > 0) std::printf(",\"pct_of_peak\":%.1f", 100.0 * tflops / ceilings.linear_tflops);
        } else {
            const double gbps = s.bytes() / st.median_s * 1e-9;
            std::printf(",\"bytes\":%.6g,\"gbps\":%.1f", s.bytes(), gbps);
            if (ceilings.copy_gbps > 0) std::printf(",\"pct_of_copy_bw\":%.1f", 100.0 * gbps / ceilings.copy_gbps);
        }
        std::printf("}\n");
        std::fflush(stdout);
    } catch (const std::exception & e) {
        print_error(v.name, &s, e.what());
        try {
            be.synchronize();  // surface (and clear, where possible) an asynchronous failure before the next op
        } catch (const std::exception &) {
        }
    }
}

void print_list(const std::vector<OpSpec> & specs) {
    for (const auto & s : specs) {
        std::printf("{\"op\":\"%s\",\"shape\":%s,\"label\":%s,\"flop\":%.17g,\"bytes_f32\":%.17g}\n", s.op.c_str(),
                    quote(s.shape).c_str(), quote(s.label).c_str(), s.flop(), s.bytes());
    }
}

}  // namespace

int run_cuda_op_benches(int argc, char ** argv) {
    double seconds = 0.25;
    std::string only, shapes_path;
    bool all_paths = false, list = false;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = std::atof(argv[++i]);
        else if (!std::strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
        else if (!std::strcmp(argv[i], "--shapes") && i + 1 < argc) shapes_path = argv[++i];
        else if (!std::strcmp(argv[i], "--all-paths")) all_paths = true;
        else if (!std::strcmp(argv[i], "--list")) list = true;
    }
    seconds = std::clamp(seconds, 0.01, 60.0);

    std::vector<OpSpec> specs;
    std::string text, tried;
    const std::string path = find_shapes_file(shapes_path, text, tried);
    std::string shapes_error;
    if (path.empty()) {
        shapes_error = "shape list not found (tried " + tried + "); run from the repository root or pass --shapes FILE";
    } else {
        try {
            specs = parse_shapes(text, path);
        } catch (const std::exception & e) {
            shapes_error = e.what();
        }
    }
    if (list) {
        if (!shapes_error.empty()) {
            std::printf("{\"error\":%s}\n", quote(shapes_error).c_str());
            return 1;
        }
        print_list(specs);
        return 0;
    }

    sdn::ThreadPool pool(sdn::hardware_threads());
    std::string reason;
    std::unique_ptr<Backend> be = sdn::make_cuda_backend_with_options(0, pool, CudaBackendOptions(), reason);
    if (!be) {
        std::printf("{\"backend\":\"cuda\",\"skipped\":true,\"reason\":%s}\n", quote(reason).c_str());
        return 0;
    }
    if (!shapes_error.empty()) {
        print_error("default", nullptr, shapes_error);
        return 1;
    }
    std::printf("{\"backend\":\"cuda\",\"shapes_file\":%s,\"ops\":%zu,\"seconds_per_op\":%.3f}\n", quote(path).c_str(), specs.size(),
                seconds);
    std::fflush(stdout);

    const Ceilings ceilings = measure_ceilings(*be, seconds);
    for (const Variant & v : kVariants) {
        if (v.all_paths_only && !all_paths) continue;
        std::vector<const OpSpec *> todo;
        for (const auto & s : specs) {
            const std::string text_key = std::string(v.name) + " " + s.op + " " + s.shape + " " + s.label;
            if (v.applies(s.kind) && (only.empty() || text_key.find(only) != std::string::npos)) todo.push_back(&s);
        }
        if (todo.empty()) continue;
        // The default backend is the one the ceilings were measured on; every other variant gets its own.
        std::unique_ptr<Backend> own;
        Backend * vb = be.get();
        if (std::strcmp(v.name, "default") != 0) {
            CudaBackendOptions opts;
            v.configure(opts);
            own = sdn::make_cuda_backend_with_options(0, pool, opts, reason);
            if (!own) {
                print_error(v.name, nullptr, "backend not created: " + reason);
                continue;
            }
            vb = own.get();
        }
        std::printf("{\"backend\":\"cuda\",\"variant\":\"%s\",\"name\":%s}\n", v.name, quote(vb->name()).c_str());
        std::fflush(stdout);
        for (const OpSpec * s : todo) bench_op(*vb, v, *s, ceilings, seconds);
    }
    return 0;
}
