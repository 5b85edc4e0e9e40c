// Compile-time check of sd-native's hand-declared cuBLASLt / cuDNN subsets (cuda/dynload/cublaslt_api.h,
// cudnn_api.h) against the libraries' real headers. Built only when CMake is given the headers' directories
// (-DSDN_CUDA_LIB_HEADERS="<cublas include>;<cudnn include>"), e.g. on a GPU machine from the PyTorch
// environment's nvidia/cublas/include and nvidia/cudnn/include. If this file compiles, every enum value,
// struct layout and entry-point signature sd-native relies on matches the installed headers; running the
// program only prints the versions it was checked against.
//
// Signatures are compared by calling convention class, parameter by parameter: sd-native declares handles
// as void * and enums as int32_t, which pass exactly like the headers' typed handles and enums on the
// supported ABIs (x86-64 / aarch64 SysV).
#include <cublasLt.h>
#include <cudnn.h>

#include "cuda/dynload/cublaslt_api.h"
#include "cuda/dynload/cudnn_api.h"

#include <cstddef>
#include <cstdio>
#include <type_traits>

namespace {

namespace lt = sdn::dynload::lt;
namespace dnn = sdn::dynload::dnn;

// 'p' pointer, 'i' 32-bit integer or enum, 'l' 64-bit integer, 'f' float, 'd' double, 'v' void, '?' other.
template <typename T>
constexpr char abi_class() {
    using U = std::remove_cv_t<T>;
    if constexpr (std::is_void_v<U>) return 'v';
    else if constexpr (std::is_pointer_v<U>) return 'p';
    else if constexpr (std::is_enum_v<U>) return sizeof(U) == 4 ? 'i' : '?';
    else if constexpr (std::is_floating_point_v<U>) return sizeof(U) == 4 ? 'f' : 'd';
    else if constexpr (std::is_integral_v<U>) return sizeof(U) == 8 ? 'l' : sizeof(U) == 4 ? 'i' : '?';
    else return '?';
}

template <typename F>
struct Signature;
template <typename R, typename... A>
struct Signature<R (*)(A...)> {
    static constexpr std::size_t arity = sizeof...(A);
    static constexpr char classes[sizeof...(A) + 2] = {abi_class<R>(), abi_class<A>()..., '\0'};
};

template <typename Real, typename Ours>
constexpr bool same_abi() {
    if (Signature<Real>::arity != Signature<Ours>::arity) return false;
    for (std::size_t i = 0; i <= Signature<Real>::arity; ++i)
        if (Signature<Real>::classes[i] != Signature<Ours>::classes[i] || Signature<Real>::classes[i] == '?') return false;
    return true;
}

#define SDN_SAME_ABI(real_fn, our_type) static_assert(same_abi<decltype(&real_fn), our_type>(), #real_fn " differs from " #our_type)

// ---- cuBLASLt ----
static_assert(std::is_pointer_v<cublasLtHandle_t> && std::is_pointer_v<cublasLtMatmulDesc_t> &&
              std::is_pointer_v<cublasLtMatrixLayout_t> && std::is_pointer_v<cublasLtMatmulPreference_t>);
static_assert(CUBLAS_STATUS_SUCCESS == lt::kSuccess);
static_assert(CUDA_R_32F == lt::kR32F && CUDA_R_16F == lt::kR16F && CUDA_R_16BF == lt::kR16BF);
static_assert(CUBLAS_COMPUTE_32F == lt::kCompute32F);
static_assert(CUBLAS_OP_N == lt::kOpN && CUBLAS_OP_T == lt::kOpT);
static_assert(CUBLASLT_MATMUL_DESC_TRANSA == lt::kDescTransA && CUBLASLT_MATMUL_DESC_TRANSB == lt::kDescTransB);
static_assert(CUBLASLT_MATMUL_DESC_EPILOGUE == lt::kDescEpilogue && CUBLASLT_MATMUL_DESC_BIAS_POINTER == lt::kDescBiasPointer);
static_assert(CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE == lt::kDescBiasDataType);
static_assert(CUBLASLT_EPILOGUE_DEFAULT == lt::kEpilogueDefault && CUBLASLT_EPILOGUE_BIAS == lt::kEpilogueBias);
static_assert(CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES == lt::kPrefMaxWorkspaceBytes);
static_assert(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES == lt::kPrefMinAlignmentA &&
              CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES == lt::kPrefMinAlignmentB &&
              CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES == lt::kPrefMinAlignmentC &&
              CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES == lt::kPrefMinAlignmentD);
static_assert(sizeof(cublasLtMatmulAlgo_t) == sizeof(lt::MatmulAlgo));
static_assert(sizeof(cublasLtMatmulHeuristicResult_t) == sizeof(lt::HeuristicResult));
static_assert(offsetof(cublasLtMatmulHeuristicResult_t, algo) == offsetof(lt::HeuristicResult, algo));
static_assert(offsetof(cublasLtMatmulHeuristicResult_t, workspaceSize) == offsetof(lt::HeuristicResult, workspace_size));
static_assert(offsetof(cublasLtMatmulHeuristicResult_t, state) == offsetof(lt::HeuristicResult, state));
static_assert(offsetof(cublasLtMatmulHeuristicResult_t, wavesCount) == offsetof(lt::HeuristicResult, waves_count));

SDN_SAME_ABI(cublasLtCreate, lt::CreateFn);
SDN_SAME_ABI(cublasLtDestroy, lt::DestroyFn);
SDN_SAME_ABI(cublasLtGetVersion, lt::GetVersionFn);
SDN_SAME_ABI(cublasLtGetStatusString, lt::GetStatusStringFn);
SDN_SAME_ABI(cublasLtMatmulDescCreate, lt::MatmulDescCreateFn);
SDN_SAME_ABI(cublasLtMatmulDescDestroy, lt::MatmulDescDestroyFn);
SDN_SAME_ABI(cublasLtMatmulDescSetAttribute, lt::MatmulDescSetAttributeFn);
SDN_SAME_ABI(cublasLtMatrixLayoutCreate, lt::MatrixLayoutCreateFn);
SDN_SAME_ABI(cublasLtMatrixLayoutDestroy, lt::MatrixLayoutDestroyFn);
SDN_SAME_ABI(cublasLtMatmulPreferenceCreate, lt::MatmulPreferenceCreateFn);
SDN_SAME_ABI(cublasLtMatmulPreferenceDestroy, lt::MatmulPreferenceDestroyFn);
SDN_SAME_ABI(cublasLtMatmulPreferenceSetAttribute, lt::MatmulPreferenceSetAttributeFn);
SDN_SAME_ABI(cublasLtMatmulAlgoGetHeuristic, lt::MatmulAlgoGetHeuristicFn);
SDN_SAME_ABI(cublasLtMatmul, lt::MatmulFn);

// ---- cuDNN ----
static_assert(std::is_pointer_v<cudnnHandle_t> && std::is_pointer_v<cudnnTensorDescriptor_t> &&
              std::is_pointer_v<cudnnFilterDescriptor_t> && std::is_pointer_v<cudnnConvolutionDescriptor_t>);
static_assert(CUDNN_STATUS_SUCCESS == dnn::kSuccess);
static_assert(CUDNN_TENSOR_NCHW == dnn::kFormatNchw && CUDNN_TENSOR_NHWC == dnn::kFormatNhwc);
static_assert(CUDNN_DATA_FLOAT == dnn::kFloat && CUDNN_DATA_HALF == dnn::kHalf);
static_assert(CUDNN_CROSS_CORRELATION == dnn::kCrossCorrelation);
static_assert(CUDNN_TENSOR_OP_MATH == dnn::kTensorOpMath);
static_assert(sizeof(cudnnConvolutionFwdAlgoPerf_t) == sizeof(dnn::ConvFwdAlgoPerf));
static_assert(offsetof(cudnnConvolutionFwdAlgoPerf_t, algo) == offsetof(dnn::ConvFwdAlgoPerf, algo));
static_assert(offsetof(cudnnConvolutionFwdAlgoPerf_t, status) == offsetof(dnn::ConvFwdAlgoPerf, status));
static_assert(offsetof(cudnnConvolutionFwdAlgoPerf_t, time) == offsetof(dnn::ConvFwdAlgoPerf, time));
static_assert(offsetof(cudnnConvolutionFwdAlgoPerf_t, memory) == offsetof(dnn::ConvFwdAlgoPerf, memory));
static_assert(offsetof(cudnnConvolutionFwdAlgoPerf_t, determinism) == offsetof(dnn::ConvFwdAlgoPerf, determinism));
static_assert(offsetof(cudnnConvolutionFwdAlgoPerf_t, mathType) == offsetof(dnn::ConvFwdAlgoPerf, math_type));
static_assert(sizeof(cudnnConvolutionFwdAlgo_t) == sizeof(int32_t) && sizeof(cudnnStatus_t) == sizeof(dnn::Status));

SDN_SAME_ABI(cudnnGetVersion, dnn::GetVersionFn);
SDN_SAME_ABI(cudnnGetErrorString, dnn::GetErrorStringFn);
SDN_SAME_ABI(cudnnCreate, dnn::CreateFn);
SDN_SAME_ABI(cudnnDestroy, dnn::DestroyFn);
SDN_SAME_ABI(cudnnSetStream, dnn::SetStreamFn);
SDN_SAME_ABI(cudnnCreateTensorDescriptor, dnn::CreateTensorDescFn);
SDN_SAME_ABI(cudnnDestroyTensorDescriptor, dnn::DestroyTensorDescFn);
SDN_SAME_ABI(cudnnSetTensor4dDescriptor, dnn::SetTensor4dDescFn);
SDN_SAME_ABI(cudnnCreateFilterDescriptor, dnn::CreateFilterDescFn);
SDN_SAME_ABI(cudnnDestroyFilterDescriptor, dnn::DestroyFilterDescFn);
SDN_SAME_ABI(cudnnSetFilter4dDescriptor, dnn::SetFilter4dDescFn);
SDN_SAME_ABI(cudnnCreateConvolutionDescriptor, dnn::CreateConvDescFn);
SDN_SAME_ABI(cudnnDestroyConvolutionDescriptor, dnn::DestroyConvDescFn);
SDN_SAME_ABI(cudnnSetConvolution2dDescriptor, dnn::SetConv2dDescFn);
SDN_SAME_ABI(cudnnSetConvolutionMathType, dnn::SetConvMathTypeFn);
SDN_SAME_ABI(cudnnGetConvolution2dForwardOutputDim, dnn::GetConv2dFwdOutputDimFn);
SDN_SAME_ABI(cudnnGetConvolutionForwardAlgorithm_v7, dnn::GetConvFwdAlgoV7Fn);
SDN_SAME_ABI(cudnnFindConvolutionForwardAlgorithmEx, dnn::FindConvFwdAlgoExFn);
SDN_SAME_ABI(cudnnGetConvolutionForwardWorkspaceSize, dnn::GetConvFwdWorkspaceSizeFn);
SDN_SAME_ABI(cudnnConvolutionForward, dnn::ConvFwdFn);

}  // namespace

int main() {
    std::printf("sdn_dynload_conformance: declarations match cuBLASLt headers %d.%d.%d and cuDNN headers %d.%d.%d\n", CUBLAS_VER_MAJOR,
                CUBLAS_VER_MINOR, CUBLAS_VER_PATCH, CUDNN_MAJOR, CUDNN_MINOR, CUDNN_PATCHLEVEL);
    return 0;
}
