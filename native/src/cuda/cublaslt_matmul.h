// Linear layers through cuBLASLt: y[rows, out] = x[rows, in] * W^T + bias (+ residual), f16 x f16 -> f32
// accumulate (or f32 x f32 with CUBLAS_COMPUTE_32F) with the bias in the matmul epilogue and the residual
// through beta = 1. One plan (descriptors + the heuristic's algorithm) per problem shape, cached.
#pragma once

#include "cuda/dynload/cuda_libraries.h"
#include "cuda/kernels/kernel_types.h"

#include <cuda_runtime_api.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

namespace sdn::cuda {

struct LtLinearArgs {
    int64_t rows = 0, in = 0, out = 0;
    const void * x = nullptr;   // [rows, in], F16 when w is F16, F32 when w is F32
    const void * w = nullptr;   // [out, in]
    DevType type = DevType::F16;  // type of x and w
    const float * bias = nullptr;      // [out] or null
    const float * residual = nullptr;  // [rows, out] or null; may equal y
    float * y = nullptr;               // [rows, out] f32
};

class CublasLtMatmul {
public:
    // Creates the cuBLASLt handle; throws Error (SDN_ERR_BACKEND) when it cannot.
    explicit CublasLtMatmul(const dynload::CublasLtApi & api);
    ~CublasLtMatmul();
    CublasLtMatmul(const CublasLtMatmul &) = delete;
    CublasLtMatmul & operator=(const CublasLtMatmul &) = delete;

    // Runs the matmul on `stream`. Returns false (nothing queued) when cuBLASLt has no algorithm for this
    // problem, so the caller can use another kernel; throws Error when a call fails.
    bool run(const LtLinearArgs & a, void * workspace, size_t workspace_bytes, cudaStream_t stream);

    // Why the last problem without a plan has none ("" when every problem so far had one).
    std::string fallback_reason() const;

    // Workspace the plans are made for (cuBLASLt's recommendation for Hopper is 32 MiB).
    static constexpr size_t kWorkspaceBytes = size_t{32} << 20;

private:
    struct Plan {
        bool ok = false;
        dynload::lt::MatmulDesc desc = nullptr;
        dynload::lt::MatrixLayout a = nullptr, b = nullptr, c = nullptr;
        dynload::lt::MatmulAlgo algo {};
        size_t workspace = 0;
        std::string reason;  // why there is no plan (when !ok)
    };
    // rows, in, out, type, bias?, residual?, alignment of x, y and residual (bytes, capped at 256)
    using Key = std::tuple<int64_t, int64_t, int64_t, int, bool, bool, int, int, int>;

    Plan & plan_for(const Key & key, const LtLinearArgs & a);
    void destroy(Plan & p);
    void check(dynload::lt::Status s, const char * what) const;

    const dynload::CublasLtApi & api_;
    dynload::lt::Handle handle_ = nullptr;
    std::map<Key, Plan> plans_;
    std::string fallback_reason_;
    mutable std::mutex mutex_;
};

}  // namespace sdn::cuda
