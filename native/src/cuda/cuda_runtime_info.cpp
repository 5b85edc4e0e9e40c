#include "cuda/cuda_runtime_info.h"

#include <cuda_runtime_api.h>

namespace sdn::cuda {

RuntimeInfo query_runtime() {
    RuntimeInfo info;
    info.compiled = true;
#ifdef SDN_CUDA_ARCHS
    info.architectures = SDN_CUDA_ARCHS;
#endif
    cudaRuntimeGetVersion(&info.runtime_version);
    if (cudaDriverGetVersion(&info.driver_version) != cudaSuccess) info.driver_version = 0;

    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
        info.unavailable_reason = std::string("no usable CUDA device: ") + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")";
        if (info.driver_version == 0) info.unavailable_reason += "; no NVIDIA driver (libcuda.so) was found";
        cudaGetLastError();
        return info;
    }
    if (count == 0) {
        info.unavailable_reason = "the NVIDIA driver reports no CUDA device";
        return info;
    }
    for (int i = 0; i < count; ++i) {
        cudaDeviceProp prop {};
        if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) {
            cudaGetLastError();
            continue;
        }
        DeviceInfo d;
        d.index = i;
        d.name = prop.name;
        d.cc_major = prop.major;
        d.cc_minor = prop.minor;
        d.total_memory = prop.totalGlobalMem;
        d.multiprocessors = prop.multiProcessorCount;
        int previous = 0;
        if (cudaGetDevice(&previous) == cudaSuccess && cudaSetDevice(i) == cudaSuccess) {
            size_t free_b = 0, total_b = 0;
            if (cudaMemGetInfo(&free_b, &total_b) == cudaSuccess) d.free_memory = free_b;
            cudaSetDevice(previous);
        }
        cudaGetLastError();
        info.devices.push_back(d);
    }
    if (info.devices.empty()) info.unavailable_reason = "CUDA devices are present but none could be queried";
    return info;
}

}  // namespace sdn::cuda
