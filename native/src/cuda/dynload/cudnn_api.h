// The subset of cuDNN's C API that sd-native calls (the "legacy" convolution API, present in cuDNN 8 and
// 9), declared here so cuDNN is never needed at build time (it is dlopen'ed at run time, see
// cuda_libraries.h). `sdn_dynload_conformance` (CMake option SDN_CUDA_LIB_HEADERS) checks every
// declaration below against the real cudnn.h when its headers are available.
//
// ABI notes: handles and descriptors are pointers (void * here); enums are 32-bit ints; the algorithm
// performance record is filled in caller memory, so its layout is declared exactly.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sdn::dynload::dnn {

using Status = int;            // cudnnStatus_t; 0 = CUDNN_STATUS_SUCCESS
using Handle = void *;         // cudnnHandle_t
using TensorDesc = void *;     // cudnnTensorDescriptor_t
using FilterDesc = void *;     // cudnnFilterDescriptor_t
using ConvDesc = void *;       // cudnnConvolutionDescriptor_t
using Stream = void *;         // cudaStream_t

constexpr Status kSuccess = 0;

// cudnnTensorFormat_t
constexpr int32_t kFormatNchw = 0;  // CUDNN_TENSOR_NCHW
constexpr int32_t kFormatNhwc = 1;  // CUDNN_TENSOR_NHWC

// cudnnDataType_t
constexpr int32_t kFloat = 0;  // CUDNN_DATA_FLOAT
constexpr int32_t kHalf = 2;   // CUDNN_DATA_HALF

// cudnnConvolutionMode_t
constexpr int32_t kCrossCorrelation = 1;  // CUDNN_CROSS_CORRELATION (what deep-learning "convolution" means)

// cudnnMathType_t
constexpr int32_t kTensorOpMath = 1;  // CUDNN_TENSOR_OP_MATH

// cudnnConvolutionFwdAlgoPerf_t
struct ConvFwdAlgoPerf {
    int32_t algo;         // cudnnConvolutionFwdAlgo_t
    Status status;
    float time;           // milliseconds (Find) or -1 (heuristics)
    size_t memory;        // workspace bytes
    int32_t determinism;  // cudnnDeterminism_t
    int32_t math_type;    // cudnnMathType_t
    int reserved[3];
};

using GetVersionFn = size_t (*)();                                              // cudnnGetVersion
using GetErrorStringFn = const char * (*)(Status);                              // cudnnGetErrorString
using CreateFn = Status (*)(Handle *);                                          // cudnnCreate
using DestroyFn = Status (*)(Handle);                                           // cudnnDestroy
using SetStreamFn = Status (*)(Handle, Stream);                                 // cudnnSetStream
using CreateTensorDescFn = Status (*)(TensorDesc *);                            // cudnnCreateTensorDescriptor
using DestroyTensorDescFn = Status (*)(TensorDesc);                             // cudnnDestroyTensorDescriptor
using SetTensor4dDescFn = Status (*)(TensorDesc, int32_t format, int32_t type, int n, int c, int h, int w);  // cudnnSetTensor4dDescriptor
using CreateFilterDescFn = Status (*)(FilterDesc *);                            // cudnnCreateFilterDescriptor
using DestroyFilterDescFn = Status (*)(FilterDesc);                             // cudnnDestroyFilterDescriptor
using SetFilter4dDescFn = Status (*)(FilterDesc, int32_t type, int32_t format, int k, int c, int h, int w);  // cudnnSetFilter4dDescriptor
using CreateConvDescFn = Status (*)(ConvDesc *);                                // cudnnCreateConvolutionDescriptor
using DestroyConvDescFn = Status (*)(ConvDesc);                                 // cudnnDestroyConvolutionDescriptor
using SetConv2dDescFn = Status (*)(ConvDesc, int pad_h, int pad_w, int stride_h, int stride_w, int dilation_h, int dilation_w,
                                   int32_t mode, int32_t compute_type);          // cudnnSetConvolution2dDescriptor
using SetConvMathTypeFn = Status (*)(ConvDesc, int32_t math_type);              // cudnnSetConvolutionMathType
using GetConv2dFwdOutputDimFn = Status (*)(ConvDesc, TensorDesc x, FilterDesc w, int * n, int * c, int * h, int * w_out);  // cudnnGetConvolution2dForwardOutputDim
using GetConvFwdAlgoV7Fn = Status (*)(Handle, TensorDesc x, FilterDesc w, ConvDesc, TensorDesc y, int requested, int * returned,
                                      ConvFwdAlgoPerf * results);                // cudnnGetConvolutionForwardAlgorithm_v7
using FindConvFwdAlgoExFn = Status (*)(Handle, TensorDesc x_desc, const void * x, FilterDesc w_desc, const void * w, ConvDesc,
                                       TensorDesc y_desc, void * y, int requested, int * returned, ConvFwdAlgoPerf * results,
                                       void * workspace, size_t workspace_size);  // cudnnFindConvolutionForwardAlgorithmEx
using GetConvFwdWorkspaceSizeFn = Status (*)(Handle, TensorDesc x, FilterDesc w, ConvDesc, TensorDesc y, int32_t algo,
                                             size_t * bytes);                    // cudnnGetConvolutionForwardWorkspaceSize
using ConvFwdFn = Status (*)(Handle, const void * alpha, TensorDesc x_desc, const void * x, FilterDesc w_desc, const void * w, ConvDesc,
                             int32_t algo, void * workspace, size_t workspace_size, const void * beta, TensorDesc y_desc,
                             void * y);                                          // cudnnConvolutionForward

}  // namespace sdn::dynload::dnn
