// 2-D convolutions through cuDNN's tensor-core kernels: NHWC f16 image, KRSC ([out, kh, kw, in]) f16 filter,
// NHWC f16 output, f32 accumulation (cuDNN's "pseudo half" configuration). The algorithm is found once per
// problem shape (cudnnFindConvolutionForwardAlgorithmEx: every candidate timed on the real buffers within the
// workspace limit; the fastest that succeeded wins) and cached with its descriptors.
#pragma once

#include "cuda/dynload/cuda_libraries.h"
#include "cuda/kernels/conv2d.cuh"

#include <cuda_runtime_api.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

namespace sdn::cuda {

class CudnnConv {
public:
    // Creates the cuDNN handle bound to `stream`; throws Error (SDN_ERR_BACKEND) when it cannot.
    CudnnConv(const dynload::CudnnApi & api, cudaStream_t stream);
    ~CudnnConv();
    CudnnConv(const CudnnConv &) = delete;
    CudnnConv & operator=(const CudnnConv &) = delete;

    // Queues y = conv(x, filter) on the handle's stream for the geometry of `shape` (its pointers are not
    // used): x f16 [batch, h, w, in_c], filter f16 [out_c, kh, kw, in_c], y f16 [batch, oh, ow, out_c].
    // Returns false (nothing queued) when cuDNN has no algorithm for the problem within `workspace_bytes`;
    // throws Error when a call fails. With `allow_search` false (during CUDA graph capture, when kernels
    // must not be timed) a problem without a plan returns false instead of running the algorithm search.
    bool run(const Conv2dLaunch & shape, const void * x, const void * filter, void * y, void * workspace, size_t workspace_bytes,
             bool allow_search = true);

    // Why the last problem without a plan has none ("" when every problem so far had one).
    std::string fallback_reason() const;

    // Workspace the algorithm search may use.
    static constexpr size_t kWorkspaceBytes = size_t{64} << 20;

private:
    struct Plan {
        bool ok = false;
        dynload::dnn::TensorDesc x = nullptr, y = nullptr;
        dynload::dnn::FilterDesc f = nullptr;
        dynload::dnn::ConvDesc conv = nullptr;
        int32_t algo = 0;
        size_t workspace = 0;
        std::string reason;  // why there is no plan (when !ok)
    };
    using Key = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t>;

    // The cached plan of the shape, made now (algorithm search on x / filter / y) when allowed; nullptr when
    // there is none and no search is allowed.
    Plan * plan_for(const Conv2dLaunch & a, const void * x, const void * filter, void * y, void * workspace, size_t workspace_bytes,
                    bool allow_search);
    void destroy(Plan & p);
    void check(dynload::dnn::Status s, const char * what) const;

    const dynload::CudnnApi & api_;
    dynload::dnn::Handle handle_ = nullptr;
    std::map<Key, Plan> plans_;
    std::string fallback_reason_;
    mutable std::mutex mutex_;
};

}  // namespace sdn::cuda
