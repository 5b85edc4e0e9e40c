// cuBLASLt and cuDNN, resolved with dlsym from libraries found at run time (the declared subsets are in
// cublaslt_api.h and cudnn_api.h). Only what is declared there is ever called; the CUDA backend checks
// `available` and falls back to its built-in kernels (and says so) when a library or one of the required
// entry points is missing.
#pragma once

#include "cuda/dynload/cublaslt_api.h"
#include "cuda/dynload/cudnn_api.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace sdn::dynload {

struct CublasLtApi {
    bool available = false;
    std::string path;
    std::string reason;   // why not available
    size_t version = 0;   // cublasLtGetVersion(): major*10000 + minor*100 + patch
    lt::CreateFn create = nullptr;
    lt::DestroyFn destroy = nullptr;
    lt::GetVersionFn get_version = nullptr;
    lt::GetStatusStringFn status_string = nullptr;  // optional
    lt::MatmulDescCreateFn matmul_desc_create = nullptr;
    lt::MatmulDescDestroyFn matmul_desc_destroy = nullptr;
    lt::MatmulDescSetAttributeFn matmul_desc_set_attribute = nullptr;
    lt::MatrixLayoutCreateFn matrix_layout_create = nullptr;
    lt::MatrixLayoutDestroyFn matrix_layout_destroy = nullptr;
    lt::MatmulPreferenceCreateFn preference_create = nullptr;
    lt::MatmulPreferenceDestroyFn preference_destroy = nullptr;
    lt::MatmulPreferenceSetAttributeFn preference_set_attribute = nullptr;
    lt::MatmulAlgoGetHeuristicFn algo_get_heuristic = nullptr;
    lt::MatmulFn matmul = nullptr;

    // "cuBLASLt status N (NAME)".
    std::string describe(lt::Status s) const;
};

struct CudnnApi {
    bool available = false;
    std::string path;
    std::string reason;
    size_t version = 0;   // cudnnGetVersion(): major*10000 + minor*100 + patch (cuDNN 9)
    dnn::GetVersionFn get_version = nullptr;
    dnn::GetErrorStringFn error_string = nullptr;
    dnn::CreateFn create = nullptr;
    dnn::DestroyFn destroy = nullptr;
    dnn::SetStreamFn set_stream = nullptr;
    dnn::CreateTensorDescFn create_tensor_desc = nullptr;
    dnn::DestroyTensorDescFn destroy_tensor_desc = nullptr;
    dnn::SetTensor4dDescFn set_tensor_4d_desc = nullptr;
    dnn::CreateFilterDescFn create_filter_desc = nullptr;
    dnn::DestroyFilterDescFn destroy_filter_desc = nullptr;
    dnn::SetFilter4dDescFn set_filter_4d_desc = nullptr;
    dnn::CreateConvDescFn create_conv_desc = nullptr;
    dnn::DestroyConvDescFn destroy_conv_desc = nullptr;
    dnn::SetConv2dDescFn set_conv_2d_desc = nullptr;
    dnn::SetConvMathTypeFn set_conv_math_type = nullptr;
    dnn::GetConv2dFwdOutputDimFn get_conv_2d_fwd_output_dim = nullptr;
    dnn::GetConvFwdAlgoV7Fn get_conv_fwd_algo_v7 = nullptr;
    dnn::FindConvFwdAlgoExFn find_conv_fwd_algo_ex = nullptr;
    dnn::GetConvFwdWorkspaceSizeFn get_conv_fwd_workspace_size = nullptr;
    dnn::ConvFwdFn conv_fwd = nullptr;

    // "cuDNN status N (TEXT)".
    std::string describe(dnn::Status s) const;
};

// Loaded on first call, once per process (library handles are process-wide by nature; the result is
// immutable afterwards). Thread-safe.
const CublasLtApi & cublaslt();
const CudnnApi & cudnn();

// "major.minor.patch" from the libraries' packed version numbers.
std::string format_library_version(size_t packed);

}  // namespace sdn::dynload
