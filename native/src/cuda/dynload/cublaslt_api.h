// The subset of cuBLASLt's C API that sd-native calls, declared here so the library is never needed at
// build time (it is dlopen'ed at run time, see cuda_libraries.h). Values and signatures follow cuBLASLt
// 11-13 (stable across those versions); `sdn_dynload_conformance` (CMake option SDN_CUDA_LIB_HEADERS)
// checks every declaration below against the real cublasLt.h when its headers are available.
//
// ABI notes: opaque handles are pointers (void * here); enums are 32-bit ints; the heuristic result is
// a plain struct returned by value into caller memory, so its layout is declared exactly.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sdn::dynload::lt {

using Status = int;                    // cublasStatus_t; 0 = CUBLAS_STATUS_SUCCESS
using Handle = void *;                 // cublasLtHandle_t
using MatmulDesc = void *;             // cublasLtMatmulDesc_t
using MatrixLayout = void *;           // cublasLtMatrixLayout_t
using MatmulPreference = void *;       // cublasLtMatmulPreference_t
using Stream = void *;                 // cudaStream_t

constexpr Status kSuccess = 0;

// cudaDataType_t (library_types.h)
constexpr int32_t kR32F = 0;   // CUDA_R_32F
constexpr int32_t kR16F = 2;   // CUDA_R_16F
constexpr int32_t kR16BF = 14; // CUDA_R_16BF

// cublasComputeType_t
constexpr int32_t kCompute32F = 68;  // CUBLAS_COMPUTE_32F: plain f32 accumulation (no TF32 rounding)

// cublasOperation_t
constexpr int32_t kOpN = 0;  // CUBLAS_OP_N
constexpr int32_t kOpT = 1;  // CUBLAS_OP_T

// cublasLtMatmulDescAttributes_t
constexpr int32_t kDescTransA = 3;         // CUBLASLT_MATMUL_DESC_TRANSA (int32_t)
constexpr int32_t kDescTransB = 4;         // CUBLASLT_MATMUL_DESC_TRANSB (int32_t)
constexpr int32_t kDescEpilogue = 7;       // CUBLASLT_MATMUL_DESC_EPILOGUE (uint32_t)
constexpr int32_t kDescBiasPointer = 8;    // CUBLASLT_MATMUL_DESC_BIAS_POINTER (void *)
constexpr int32_t kDescBiasDataType = 26;  // CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE (int32_t, cudaDataType_t)

// cublasLtEpilogue_t
constexpr uint32_t kEpilogueDefault = 1;  // CUBLASLT_EPILOGUE_DEFAULT
constexpr uint32_t kEpilogueBias = 4;     // CUBLASLT_EPILOGUE_BIAS: D += bias broadcast over columns

// cublasLtMatmulPreferenceAttributes_t
constexpr int32_t kPrefMaxWorkspaceBytes = 1;  // CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES (uint64_t)
constexpr int32_t kPrefMinAlignmentA = 5;      // CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES (uint32_t, default 256)
constexpr int32_t kPrefMinAlignmentB = 6;      // CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES
constexpr int32_t kPrefMinAlignmentC = 7;      // CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES
constexpr int32_t kPrefMinAlignmentD = 8;      // CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES

// cublasLtMatmulAlgo_t: opaque 64 bytes, passed by pointer.
struct MatmulAlgo {
    uint64_t data[8];
};

// cublasLtMatmulHeuristicResult_t
struct HeuristicResult {
    MatmulAlgo algo;
    size_t workspace_size;
    Status state;
    float waves_count;
    int reserved[4];
};

// Function pointer types, one per entry point (the real names in the comments).
using CreateFn = Status (*)(Handle *);                                   // cublasLtCreate
using DestroyFn = Status (*)(Handle);                                    // cublasLtDestroy
using GetVersionFn = size_t (*)();                                       // cublasLtGetVersion
using GetStatusStringFn = const char * (*)(Status);                      // cublasLtGetStatusString
using MatmulDescCreateFn = Status (*)(MatmulDesc *, int32_t compute_type, int32_t scale_type);  // cublasLtMatmulDescCreate
using MatmulDescDestroyFn = Status (*)(MatmulDesc);                      // cublasLtMatmulDescDestroy
using MatmulDescSetAttributeFn = Status (*)(MatmulDesc, int32_t attr, const void * buf, size_t size);  // cublasLtMatmulDescSetAttribute
using MatrixLayoutCreateFn = Status (*)(MatrixLayout *, int32_t type, uint64_t rows, uint64_t cols, int64_t ld);  // cublasLtMatrixLayoutCreate
using MatrixLayoutDestroyFn = Status (*)(MatrixLayout);                  // cublasLtMatrixLayoutDestroy
using MatmulPreferenceCreateFn = Status (*)(MatmulPreference *);         // cublasLtMatmulPreferenceCreate
using MatmulPreferenceDestroyFn = Status (*)(MatmulPreference);          // cublasLtMatmulPreferenceDestroy
using MatmulPreferenceSetAttributeFn = Status (*)(MatmulPreference, int32_t attr, const void * buf, size_t size);  // cublasLtMatmulPreferenceSetAttribute
using MatmulAlgoGetHeuristicFn = Status (*)(Handle, MatmulDesc, MatrixLayout a, MatrixLayout b, MatrixLayout c, MatrixLayout d,
                                            MatmulPreference, int requested, HeuristicResult * results, int * returned);  // cublasLtMatmulAlgoGetHeuristic
using MatmulFn = Status (*)(Handle, MatmulDesc, const void * alpha, const void * a, MatrixLayout a_desc, const void * b,
                            MatrixLayout b_desc, const void * beta, const void * c, MatrixLayout c_desc, void * d, MatrixLayout d_desc,
                            const MatmulAlgo * algo, void * workspace, size_t workspace_size, Stream stream);  // cublasLtMatmul

}  // namespace sdn::dynload::lt
