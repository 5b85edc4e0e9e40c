// The declared subset of cuBLASLt's and cuDNN's C API that sd-native uses, resolved with dlsym from
// libraries found at run time. Only what is declared here is ever called; the CUDA backend checks
// `available` and falls back to its built-in kernels (and says so) when a library is missing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace sdn::dynload {

// cuBLASLt (opaque handle types are pointers; status 0 = CUBLAS_STATUS_SUCCESS).
struct CublasLtApi {
    bool available = false;
    std::string path;
    std::string reason;   // why not available
    size_t version = 0;   // cublasLtGetVersion(): major*10000 + minor*100 + patch
    using Handle = void *;
    int (*create)(Handle * handle) = nullptr;           // cublasLtCreate
    int (*destroy)(Handle handle) = nullptr;            // cublasLtDestroy
    size_t (*get_version)() = nullptr;                  // cublasLtGetVersion
    const char * (*status_string)(int status) = nullptr;  // cublasLtGetStatusString (optional)
};

// cuDNN (status 0 = CUDNN_STATUS_SUCCESS).
struct CudnnApi {
    bool available = false;
    std::string path;
    std::string reason;
    size_t version = 0;   // cudnnGetVersion(): major*10000 + minor*100 + patch (cuDNN 9)
    using Handle = void *;
    size_t (*get_version)() = nullptr;                  // cudnnGetVersion
    int (*create)(Handle * handle) = nullptr;           // cudnnCreate
    int (*destroy)(Handle handle) = nullptr;            // cudnnDestroy
    const char * (*error_string)(int status) = nullptr; // cudnnGetErrorString
};

// Loaded on first call, once per process (library handles are process-wide by nature; the result is
// immutable afterwards). Thread-safe.
const CublasLtApi & cublaslt();
const CudnnApi & cudnn();

// "major.minor.patch" from the libraries' packed version numbers.
std::string format_library_version(size_t packed);

}  // namespace sdn::dynload
