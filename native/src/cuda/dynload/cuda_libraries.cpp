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
    std::string optional_missing;
    bind(r.handle, "cublasLtGetStatusString", api.status_string, optional_missing);
    if (!missing.empty()) {
        api.reason = "cuBLASLt at " + r.path + " lacks symbols: " + missing;
        return api;
    }
    api.version = api.get_version();
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
    std::string missing;
    bind(r.handle, "cudnnGetVersion", api.get_version, missing);
    bind(r.handle, "cudnnCreate", api.create, missing);
    bind(r.handle, "cudnnDestroy", api.destroy, missing);
    bind(r.handle, "cudnnGetErrorString", api.error_string, missing);
    if (!missing.empty()) {
        api.reason = "cuDNN at " + r.path + " lacks symbols: " + missing;
        return api;
    }
    api.version = api.get_version();
    api.available = true;
    return api;
}

}  // namespace

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
