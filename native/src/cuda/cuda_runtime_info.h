// What the CUDA runtime says about this machine: compiled in or not, driver and runtime versions,
// devices. Safe to call on machines with no driver or no GPU (reports why).
#pragma once

#include <string>
#include <vector>

namespace sdn::cuda {

struct DeviceInfo {
    int index = 0;
    std::string name;
    int cc_major = 0;
    int cc_minor = 0;
    size_t total_memory = 0;
    size_t free_memory = 0;
    int multiprocessors = 0;
};

struct RuntimeInfo {
    bool compiled = false;           // CUDA kernels are in this binary
    std::string architectures;       // CUDA_ARCHITECTURES the kernels were built for
    int runtime_version = 0;         // cudaRuntimeGetVersion (e.g. 13000)
    int driver_version = 0;          // cudaDriverGetVersion, 0 without a driver
    std::vector<DeviceInfo> devices;
    std::string unavailable_reason;  // empty when at least one device is usable
};

RuntimeInfo query_runtime();

// "13.0" from 13000 ("" for 0: no runtime / driver).
inline std::string format_cuda_version(int v) {
    if (v <= 0) return "";
    return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10);
}

}  // namespace sdn::cuda
