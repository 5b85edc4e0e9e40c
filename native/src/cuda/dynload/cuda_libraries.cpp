#include "cuda/dynload/cuda_libraries.h"

#include "cuda/dynload/dynamic_library.h"

#include <mutex>

namespace sdn::dynload {

namespace {

template <typename Fn>
bool bind(void * handle, const char * name, Fn & slot, std::string & missing) {
    slot = reinterpret_cast<Fn>(find_symbol(handle, name));
    if (slot == nullptr) {
        missing += (missing.empty() ? "" : ", ") + std::string(name);
        return false;
    }
    return true;
}

CublasLtApi load_cublaslt() {
    CublasLtApi api;
    LoadResult r = load_library({"libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so.11", "libcublasLt.so"}, "cublas");
    if (r.handle == nullptr) {
        api.reason = "cuBLASLt not loaded: " + r.reason;
        return api;
    }
    api.path = r.path;
    std::string missing;
    bind(r.handle, "cublasLtCreate", api.create, missing);
    bind(r.handle, "cublasLtDestroy", api.destroy, missing);
    bind(r.handle, "cublasLtGetVersion", api.get_version, missing);
    bind(r.handle, "cublasLtMatmulDescCreate", api.matmul_desc_create, missing);
    bind(r.handle, "cublasLtMatmulDescDestroy", api.matmul_desc_destroy, missing);
    bind(r.handle, "cublasLtMatmulDescSetAttribute", api.matmul_desc_set_attribute, missing);
    bind(r.handle, "cublasLtMatrixLayoutCreate", api.matrix_layout_create, missing);
    bind(r.handle, "cublasLtMatrixLayoutDestroy", api.matrix_layout_destroy, missing);
    bind(r.handle, "cublasLtMatmulPreferenceCreate", api.preference_create, missing);
    bind(r.handle, "cublasLtMatmulPreferenceDestroy", api.preference_destroy, missing);
    bind(r.handle, "cublasLtMatmulPreferenceSetAttribute", api.preference_set_attribute, missing);
    bind(r.handle, "cublasLtMatmulAlgoGetHeuristic", api.algo_get_heuristic, missing);
    bind(r.handle, "cublasLtMatmul", api.matmul, missing);
    std::string optional_missing;
    bind(r.handle, "cublasLtGetStatusString", api.status_string, optional_missing);
    if (!missing.empty()) {
        api.reason = "cuBLASLt at " + r.path + " lacks symbols: " + missing;
        return api;
    }
    api.version = api.get_version();
    // The matmul attributes used here (bias data type, CUBLAS_COMPUTE_32F) exist from cuBLASLt 11.3 on.
    if (api.version < 110300) {
        api.reason = "cuBLASLt " + format_library_version(api.version) + " at " + r.path + " is older than 11.3";
        return api;
    }
    api.available = true;
    return api;
}

CudnnApi load_cudnn() {
    CudnnApi api;
    LoadResult r = load_library({"libcudnn.so.9", "libcudnn.so.8", "libcudnn.so"}, "cudnn");
    if (r.handle == nullptr) {
        api.reason = "cuDNN not loaded: " + r.reason;
        return api;
    }
    api.path = r.path;
    // cuDNN 9's libcudnn.so is a front that opens its sub-libraries by soname on first use; opening them
    // now from the same directory (when they are there, as in the pip wheels) makes that lookup succeed
    // even when the directory is not on the loader's search path.
    preload_from_directory(r.path, {"libcudnn_graph.so.9", "libcudnn_engines_precompiled.so.9", "libcudnn_engines_runtime_compiled.so.9",
                                    "libcudnn_heuristic.so.9", "libcudnn_ops.so.9", "libcudnn_cnn.so.9"});
    std::string missing;
    bind(r.handle, "cudnnGetVersion", api.get_version, missing);
    bind(r.handle, "cudnnGetErrorString", api.error_string, missing);
    bind(r.handle, "cudnnCreate", api.create, missing);
    bind(r.handle, "cudnnDestroy", api.destroy, missing);
    bind(r.handle, "cudnnSetStream", api.set_stream, missing);
    bind(r.handle, "cudnnCreateTensorDescriptor", api.create_tensor_desc, missing);
    bind(r.handle, "cudnnDestroyTensorDescriptor", api.destroy_tensor_desc, missing);
    bind(r.handle, "cudnnSetTensor4dDescriptor", api.set_tensor_4d_desc, missing);
    bind(r.handle, "cudnnCreateFilterDescriptor", api.create_filter_desc, missing);
    bind(r.handle, "cudnnDestroyFilterDescriptor", api.destroy_filter_desc, missing);
    bind(r.handle, "cudnnSetFilter4dDescriptor", api.set_filter_4d_desc, missing);
    bind(r.handle, "cudnnCreateConvolutionDescriptor", api.create_conv_desc, missing);
    bind(r.handle, "cudnnDestroyConvolutionDescriptor", api.destroy_conv_desc, missing);
    bind(r.handle, "cudnnSetConvolution2dDescriptor", api.set_conv_2d_desc, missing);
    bind(r.handle, "cudnnSetConvolutionMathType", api.set_conv_math_type, missing);
    bind(r.handle, "cudnnGetConvolution2dForwardOutputDim", api.get_conv_2d_fwd_output_dim, missing);
    bind(r.handle, "cudnnGetConvolutionForwardAlgorithm_v7", api.get_conv_fwd_algo_v7, missing);
    bind(r.handle, "cudnnFindConvolutionForwardAlgorithmEx", api.find_conv_fwd_algo_ex, missing);
    bind(r.handle, "cudnnGetConvolutionForwardWorkspaceSize", api.get_conv_fwd_workspace_size, missing);
    bind(r.handle, "cudnnConvolutionForward", api.conv_fwd, missing);
    if (!missing.empty()) {
        api.reason = "cuDNN at " + r.path + " lacks symbols: " + missing;
        return api;
    }
    api.version = api.get_version();
    api.available = true;
    return api;
}

}  // namespace

std::string CublasLtApi::describe(lt::Status s) const {
    std::string out = "cuBLASLt status " + std::to_string(s);
    if (status_string != nullptr)
        if (const char * name = status_string(s)) out += std::string(" (") + name + ")";
    return out;
}

std::string CudnnApi::describe(dnn::Status s) const {
    std::string out = "cuDNN status " + std::to_string(s);
    if (error_string != nullptr)
        if (const char * text = error_string(s)) out += std::string(" (") + text + ")";
    return out;
}

const CublasLtApi & cublaslt() {
    static std::once_flag once;
    static CublasLtApi api;
    std::call_once(once, [] { api = load_cublaslt(); });
    return api;
}

const CudnnApi & cudnn() {
    static std::once_flag once;
    static CudnnApi api;
    std::call_once(once, [] { api = load_cudnn(); });
    return api;
}

std::string format_library_version(size_t v) {
    if (v == 0) return "";
    // cuDNN >= 9 and cuBLAS use major*10000 + minor*100 + patch; cuDNN 8 used major*1000 + minor*100 + patch.
    size_t major = v / 10000, minor = (v / 100) % 100, patch = v % 100;
    if (v < 10000) {
        major = v / 1000;
        minor = (v / 100) % 10;
    }
    return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

}  // namespace sdn::dynload
