// C API: the JSON report behind getBackendInfo() / `sd-native info`.
#include "core/cpu_features.h"
#include "core/error.h"
#include "core/json_writer.h"
#include "core/thread_pool.h"
#include "cpu/gemm_compute.h"
#include "cuda/cuda_runtime_info.h"
#include "cuda/dynload/cuda_libraries.h"

#include <cstring>

using namespace sdn;

namespace {

std::string build_backend_info() {
    const CpuFeatures f = detect_cpu_features();
    const cuda::RuntimeInfo rt = cuda::query_runtime();
    JsonWriter w;
    w.begin_object();
    w.field("version", sdn_version());
    w.key("compiledBackends").begin_array().value("cpu");
    if (rt.compiled) w.value("cuda");
    w.end_array();

    w.key("cpu").begin_object();
    w.field("vendor", f.vendor);
    w.field("brand", f.brand);
    w.field("threads", hardware_threads());
    w.field("simdBest", simd_level_name(best_simd_level(f)));
    w.field("simdInUse", simd_level_name(select_simd_level(f)));
    w.field("bf16Available", cpu::cpu_bf16_available());
    w.field("computeInUse", cpu::cpu_compute_name(cpu::cpu_compute(select_simd_level(f))));
    w.field("computeReason", cpu::cpu_compute_reason(select_simd_level(f)));
    w.key("features").begin_array();
    const std::pair<const char *, bool> feats[] = {
        {"sse4.2", f.sse42}, {"avx", f.avx}, {"avx2", f.avx2}, {"fma", f.fma}, {"f16c", f.f16c},
        {"avx512f", f.avx512f}, {"avx512bw", f.avx512bw}, {"avx512vl", f.avx512vl}, {"avx512dq", f.avx512dq},
        {"avx512_bf16", f.avx512_bf16}, {"avx512_vnni", f.avx512_vnni}};
    for (const auto & kv : feats)
        if (kv.second) w.value(kv.first);
    w.end_array();
    w.end_object();

    w.key("cuda").begin_object();
    w.field("compiled", rt.compiled);
    w.field("architectures", rt.architectures);
    w.field("runtimeVersion", cuda::format_cuda_version(rt.runtime_version));
    w.field("driverVersion", cuda::format_cuda_version(rt.driver_version));
    w.field("usable", !rt.devices.empty());
    w.field("reason", rt.unavailable_reason);
    w.key("devices").begin_array();
    for (const auto & d : rt.devices) {
        w.begin_object();
        w.field("index", d.index);
        w.field("name", d.name);
        w.field("computeCapability", std::to_string(d.cc_major) + "." + std::to_string(d.cc_minor));
        w.field("totalMemory", static_cast<double>(d.total_memory));
        w.field("freeMemory", static_cast<double>(d.free_memory));
        w.field("multiprocessors", d.multiprocessors);
        w.end_object();
    }
    w.end_array();
    if (rt.compiled) {
        const auto & lt = dynload::cublaslt();
        w.key("cublasLt").begin_object();
        w.field("loaded", lt.available);
        w.field("version", dynload::format_library_version(lt.version));
        w.field("path", lt.path);
        w.field("reason", lt.available ? std::string() : lt.reason + "; the built-in GEMM kernel is used instead");
        w.end_object();
        const auto & dnn = dynload::cudnn();
        w.key("cudnn").begin_object();
        w.field("loaded", dnn.available);
        w.field("version", dynload::format_library_version(dnn.version));
        w.field("path", dnn.path);
        w.field("reason", dnn.available ? std::string() : dnn.reason + "; built-in kernels are used instead");
        w.end_object();
    } else {
        w.key("cublasLt").begin_object().field("loaded", false).field("version", "").field("path", "")
            .field("reason", "CUDA is not compiled into this build").end_object();
        w.key("cudnn").begin_object().field("loaded", false).field("version", "").field("path", "")
            .field("reason", "CUDA is not compiled into this build").end_object();
    }
    w.end_object();

    w.field("defaultBackend", rt.devices.empty() ? "cpu" : "cuda");
    w.end_object();
    return w.str();
}

}  // namespace

extern "C" sdn_status sdn_backend_info_json(char * buffer, size_t capacity, size_t * required, sdn_error * err) {
    return guarded(err, [&] {
        const std::string json = build_backend_info();
        if (required != nullptr) *required = json.size() + 1;
        require(buffer != nullptr && capacity >= json.size() + 1, SDN_ERR_INVALID_ARGUMENT,
                "sdn_backend_info_json: buffer too small (need " + std::to_string(json.size() + 1) + " bytes)");
        std::memcpy(buffer, json.c_str(), json.size() + 1);
    });
}
