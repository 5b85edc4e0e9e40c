// Built instead of the CUDA sources when the binary is configured with SDN_CUDA=OFF (or AUTO without
// nvcc): the backend reports that it is not compiled in.
#include "core/backend.h"
#include "cuda/cuda_backend.h"
#include "cuda/cuda_runtime_info.h"

namespace sdn {

namespace cuda {
RuntimeInfo query_runtime() {
    RuntimeInfo info;
    info.compiled = false;
    info.unavailable_reason = "this build of sd-native has no CUDA backend (configured with SDN_CUDA=OFF or nvcc was not found)";
    return info;
}
}  // namespace cuda

std::unique_ptr<Backend> make_cuda_backend(int, ThreadPool &, std::string & reason) {
    reason = cuda::query_runtime().unavailable_reason;
    return nullptr;
}

CudaBackendOptions cuda_backend_options_from_env() { return CudaBackendOptions(); }

std::unique_ptr<Backend> make_cuda_backend_with_options(int, ThreadPool &, const CudaBackendOptions &, std::string & reason) {
    reason = cuda::query_runtime().unavailable_reason;
    return nullptr;
}

}  // namespace sdn
