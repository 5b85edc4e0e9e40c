#include "cuda/cudnn_conv.h"

#include "core/error.h"

#include <climits>
#include <string>

namespace sdn::cuda {

namespace dnn = dynload::dnn;

namespace {

int to_int(int64_t v, const char * what) {
    require(v >= 0 && v <= INT_MAX, SDN_ERR_UNSUPPORTED, std::string("cuDNN convolution: ") + what + " does not fit a 32-bit int");
    return static_cast<int>(v);
}

}  // namespace

CudnnConv::CudnnConv(const dynload::CudnnApi & api, cudaStream_t stream) : api_(api) {
    require(api_.available, SDN_ERR_BACKEND, "cuDNN is not available: " + api_.reason);
    check(api_.create(&handle_), "cudnnCreate");
    const dnn::Status s = api_.set_stream(handle_, stream);
    if (s != dnn::kSuccess) {
        api_.destroy(handle_);
        handle_ = nullptr;
        check(s, "cudnnSetStream");
    }
}

CudnnConv::~CudnnConv() {
    for (auto & kv : plans_) destroy(kv.second);
    if (handle_ != nullptr) api_.destroy(handle_);
}

void CudnnConv::check(dnn::Status s, const char * what) const {
    if (s != dnn::kSuccess) fail(SDN_ERR_BACKEND, std::string(what) + " failed: " + api_.describe(s));
}

void CudnnConv::destroy(Plan & p) {
    if (p.x != nullptr) api_.destroy_tensor_desc(p.x);
    if (p.y != nullptr) api_.destroy_tensor_desc(p.y);
    if (p.f != nullptr) api_.destroy_filter_desc(p.f);
    if (p.conv != nullptr) api_.destroy_conv_desc(p.conv);
    p = Plan();
}

CudnnConv::Plan * CudnnConv::plan_for(const Conv2dLaunch & a, const void * x, const void * filter, void * y, void * workspace,
                                      size_t workspace_bytes, bool allow_search) {
    const Key key {a.batch, a.in_c, a.h, a.w, a.out_c, a.kh, a.kw, a.stride, a.pad};
    auto it = plans_.find(key);
    if (it != plans_.end()) return &it->second;
    if (!allow_search) return nullptr;
    Plan p;
    try {
        const int n = to_int(a.batch, "batch"), c = to_int(a.in_c, "input channels"), h = to_int(a.h, "height"),
                  w = to_int(a.w, "width"), k = to_int(a.out_c, "output channels"), r = to_int(a.kh, "kernel height"),
                  s = to_int(a.kw, "kernel width"), stride = to_int(a.stride, "stride"), pad = to_int(a.pad, "padding");
        check(api_.create_tensor_desc(&p.x), "cudnnCreateTensorDescriptor");
        check(api_.set_tensor_4d_desc(p.x, dnn::kFormatNhwc, dnn::kHalf, n, c, h, w), "input descriptor");
        check(api_.create_filter_desc(&p.f), "cudnnCreateFilterDescriptor");
        check(api_.set_filter_4d_desc(p.f, dnn::kHalf, dnn::kFormatNhwc, k, c, r, s), "filter descriptor");
        check(api_.create_conv_desc(&p.conv), "cudnnCreateConvolutionDescriptor");
        check(api_.set_conv_2d_desc(p.conv, pad, pad, stride, stride, 1, 1, dnn::kCrossCorrelation, dnn::kFloat),
              "convolution descriptor");
        check(api_.set_conv_math_type(p.conv, dnn::kTensorOpMath), "cudnnSetConvolutionMathType");
        int on = 0, oc = 0, oh = 0, ow = 0;
        check(api_.get_conv_2d_fwd_output_dim(p.conv, p.x, p.f, &on, &oc, &oh, &ow), "cudnnGetConvolution2dForwardOutputDim");
        require(on == a.batch && oc == a.out_c && oh == a.oh && ow == a.ow, SDN_ERR_INTERNAL,
                "cuDNN convolution: output " + std::to_string(on) + "x" + std::to_string(oc) + "x" + std::to_string(oh) + "x" +
                    std::to_string(ow) + " differs from the expected " + std::to_string(a.batch) + "x" + std::to_string(a.out_c) + "x" +
                    std::to_string(a.oh) + "x" + std::to_string(a.ow));
        check(api_.create_tensor_desc(&p.y), "cudnnCreateTensorDescriptor");
        check(api_.set_tensor_4d_desc(p.y, dnn::kFormatNhwc, dnn::kHalf, on, oc, oh, ow), "output descriptor");

        // Times every algorithm that fits the workspace on the real buffers (y is overwritten, which is fine:
        // the caller's convolution follows).
        constexpr int kRequested = 16;
        dnn::ConvFwdAlgoPerf perf[kRequested] {};
        int returned = 0;
        check(api_.find_conv_fwd_algo_ex(handle_, p.x, x, p.f, filter, p.conv, p.y, y, kRequested, &returned, perf, workspace,
                                         workspace_bytes),
              "cudnnFindConvolutionForwardAlgorithmEx");
        for (int i = 0; i < returned; ++i) {  // sorted fastest first
            if (perf[i].status == dnn::kSuccess && perf[i].memory <= workspace_bytes) {
                p.algo = perf[i].algo;
                p.workspace = perf[i].memory;
                p.ok = true;
                break;
            }
        }
        if (!p.ok) p.reason = "cuDNN found no algorithm (of " + std::to_string(returned) + " tried) within the workspace";
    } catch (const Error & e) {
        // Descriptors or a search the installed cuDNN refuses: the built-in kernel runs instead.
        p.ok = false;
        p.reason = e.what();
    }
    const std::string reason = p.reason;
    if (!p.ok) {
        destroy(p);
        p.reason = reason;
    }
    return &plans_.emplace(key, p).first->second;
}

std::string CudnnConv::fallback_reason() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return fallback_reason_;
}

bool CudnnConv::run(const Conv2dLaunch & a, const void * x, const void * filter, void * y, void * workspace, size_t workspace_bytes,
                    bool allow_search) {
    if (a.batch <= 0 || a.out_c <= 0 || a.oh <= 0 || a.ow <= 0) return true;
    std::lock_guard<std::mutex> lock(mutex_);
    Plan * p = plan_for(a, x, filter, y, workspace, workspace_bytes, allow_search);
    if (p == nullptr) {
        fallback_reason_ = "no plan for this shape yet and no algorithm search allowed during CUDA graph capture";
        return false;
    }
    if (!p->ok || p->workspace > workspace_bytes) {
        fallback_reason_ = p->ok ? "workspace too small" : p->reason;
        return false;
    }
    const float alpha = 1.0f, beta = 0.0f;  // float scaling factors for half data
    check(api_.conv_fwd(handle_, &alpha, p->x, x, p->f, filter, p->conv, p->algo, workspace, workspace_bytes, &beta, p->y, y),
          "cudnnConvolutionForward");
    return true;
}

}  // namespace sdn::cuda
