// cuBLASLt is column-major. The backend's row-major y[rows, out] is the column-major matrix D (out x rows,
// ld = out); W [out, in] row-major is the column-major A0 (in x out, ld = in), used transposed; x [rows, in]
// row-major is the column-major B (in x rows, ld = in). So D = A0^T * B (+ bias per row of D, i.e. per
// output feature, in the epilogue) (+ beta * C with C = the residual).
#include "cuda/cublaslt_matmul.h"

#include "core/error.h"

#include <algorithm>
#include <cstdint>
#include <string>

namespace sdn::cuda {

namespace lt = dynload::lt;

namespace {

int alignment_of(const void * p) {
    const auto v = reinterpret_cast<uintptr_t>(p);
    int a = 256;
    while (a > 1 && v % static_cast<uintptr_t>(a) != 0) a /= 2;
    return a;
}

int32_t lt_type(DevType t) { return t == DevType::F16 ? lt::kR16F : lt::kR32F; }

}  // namespace

CublasLtMatmul::CublasLtMatmul(const dynload::CublasLtApi & api) : api_(api) {
    require(api_.available, SDN_ERR_BACKEND, "cuBLASLt is not available: " + api_.reason);
    check(api_.create(&handle_), "cublasLtCreate");
}

CublasLtMatmul::~CublasLtMatmul() {
    for (auto & kv : plans_) destroy(kv.second);
    if (handle_ != nullptr) api_.destroy(handle_);
}

void CublasLtMatmul::check(lt::Status s, const char * what) const {
    if (s != lt::kSuccess) fail(SDN_ERR_BACKEND, std::string(what) + " failed: " + api_.describe(s));
}

void CublasLtMatmul::destroy(Plan & p) {
    if (p.desc != nullptr) api_.matmul_desc_destroy(p.desc);
    for (lt::MatrixLayout l : {p.a, p.b, p.c})
        if (l != nullptr) api_.matrix_layout_destroy(l);
    p = Plan();
}

CublasLtMatmul::Plan & CublasLtMatmul::plan_for(const Key & key, const LtLinearArgs & a) {
    auto it = plans_.find(key);
    if (it != plans_.end()) return it->second;
    Plan p;
    lt::MatmulPreference pref = nullptr;
    try {
        check(api_.matmul_desc_create(&p.desc, lt::kCompute32F, lt::kR32F), "cublasLtMatmulDescCreate");
        const int32_t trans_a = lt::kOpT, trans_b = lt::kOpN;
        check(api_.matmul_desc_set_attribute(p.desc, lt::kDescTransA, &trans_a, sizeof(trans_a)), "set TRANSA");
        check(api_.matmul_desc_set_attribute(p.desc, lt::kDescTransB, &trans_b, sizeof(trans_b)), "set TRANSB");
        if (a.bias != nullptr) {
            const uint32_t epilogue = lt::kEpilogueBias;
            const int32_t bias_type = lt::kR32F;
            check(api_.matmul_desc_set_attribute(p.desc, lt::kDescEpilogue, &epilogue, sizeof(epilogue)), "set EPILOGUE");
            check(api_.matmul_desc_set_attribute(p.desc, lt::kDescBiasDataType, &bias_type, sizeof(bias_type)), "set BIAS_DATA_TYPE");
            const void * bias = a.bias;
            check(api_.matmul_desc_set_attribute(p.desc, lt::kDescBiasPointer, &bias, sizeof(bias)), "set BIAS_POINTER");
        }
        const int32_t ab_type = lt_type(a.type);
        check(api_.matrix_layout_create(&p.a, ab_type, static_cast<uint64_t>(a.in), static_cast<uint64_t>(a.out), a.in), "A layout");
        check(api_.matrix_layout_create(&p.b, ab_type, static_cast<uint64_t>(a.in), static_cast<uint64_t>(a.rows), a.in), "B layout");
        check(api_.matrix_layout_create(&p.c, lt::kR32F, static_cast<uint64_t>(a.out), static_cast<uint64_t>(a.rows), a.out),
              "C/D layout");

        check(api_.preference_create(&pref), "cublasLtMatmulPreferenceCreate");
        const uint64_t ws = kWorkspaceBytes;
        check(api_.preference_set_attribute(pref, lt::kPrefMaxWorkspaceBytes, &ws, sizeof(ws)), "set MAX_WORKSPACE_BYTES");
        // Pointers can be offsets into larger buffers: tell the heuristic how aligned they really are.
        const uint32_t align_a = static_cast<uint32_t>(alignment_of(a.w)), align_b = static_cast<uint32_t>(std::get<6>(key));
        const uint32_t align_d = static_cast<uint32_t>(std::get<7>(key));
        const uint32_t align_c = a.residual != nullptr ? static_cast<uint32_t>(std::get<8>(key)) : align_d;
        check(api_.preference_set_attribute(pref, lt::kPrefMinAlignmentA, &align_a, sizeof(align_a)), "set MIN_ALIGNMENT_A");
        check(api_.preference_set_attribute(pref, lt::kPrefMinAlignmentB, &align_b, sizeof(align_b)), "set MIN_ALIGNMENT_B");
        check(api_.preference_set_attribute(pref, lt::kPrefMinAlignmentC, &align_c, sizeof(align_c)), "set MIN_ALIGNMENT_C");
        check(api_.preference_set_attribute(pref, lt::kPrefMinAlignmentD, &align_d, sizeof(align_d)), "set MIN_ALIGNMENT_D");

        lt::HeuristicResult result {};
        int returned = 0;
        const lt::Status s = api_.algo_get_heuristic(handle_, p.desc, p.a, p.b, p.c, p.c, pref, 1, &result, &returned);
        // NOT_SUPPORTED (no algorithm for this problem) is an answer, not a failure: the caller falls back.
        if (s == lt::kSuccess && returned > 0 && result.state == lt::kSuccess && result.workspace_size <= kWorkspaceBytes) {
            p.algo = result.algo;
            p.workspace = result.workspace_size;
            p.ok = true;
        }
        if (!p.ok)
            p.reason = "no cuBLASLt algorithm for " + std::to_string(a.rows) + "x" + std::to_string(a.in) + " * " + std::to_string(a.in) +
                       "x" + std::to_string(a.out) + (s != lt::kSuccess ? " (" + api_.describe(s) + ")" : std::string());
    } catch (const Error & e) {
        // A descriptor the installed cuBLASLt refuses is a reason to use the built-in kernel, not to fail.
        p.ok = false;
        p.reason = e.what();
    }
    if (pref != nullptr) api_.preference_destroy(pref);
    const std::string reason = p.reason;
    if (!p.ok) {
        destroy(p);  // keep only the verdict
        p.reason = reason;
    }
    return plans_.emplace(key, p).first->second;
}

std::string CublasLtMatmul::fallback_reason() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return fallback_reason_;
}

bool CublasLtMatmul::run(const LtLinearArgs & a, void * workspace, size_t workspace_bytes, cudaStream_t stream) {
    require(a.type == DevType::F16 || a.type == DevType::F32, SDN_ERR_INTERNAL, "cuBLASLt linear: operands must be F16 or F32");
    if (a.rows <= 0 || a.out <= 0) return true;
    if (a.in <= 0) return false;  // nothing to multiply: the built-in kernel writes bias (+ residual)
    const Key key {a.rows, a.in, a.out, static_cast<int>(a.type), a.bias != nullptr, a.residual != nullptr, alignment_of(a.x),
                   alignment_of(a.y), a.residual != nullptr ? alignment_of(a.residual) : 0};
    std::lock_guard<std::mutex> lock(mutex_);
    Plan & p = plan_for(key, a);
    if (!p.ok || p.workspace > workspace_bytes) {
        fallback_reason_ = p.ok ? "workspace too small" : p.reason;
        return false;
    }
    if (a.bias != nullptr) {
        const void * bias = a.bias;
        check(api_.matmul_desc_set_attribute(p.desc, lt::kDescBiasPointer, &bias, sizeof(bias)), "set BIAS_POINTER");
    }
    const float alpha = 1.0f, beta = a.residual != nullptr ? 1.0f : 0.0f;
    const void * c = a.residual != nullptr ? static_cast<const void *>(a.residual) : static_cast<const void *>(a.y);
    check(api_.matmul(handle_, p.desc, &alpha, a.w, p.a, a.x, p.b, &beta, c, p.c, a.y, p.c, &p.algo, workspace, workspace_bytes,
                      stream),
          "cublasLtMatmul");
    return true;
}

}  // namespace sdn::cuda
