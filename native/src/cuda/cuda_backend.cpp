// The CUDA backend: one device, one stream. Host-pointer ops stage through device buffers; the device
// memory pool, weight upload and the network kernels arrive with the CUDA backend issue.
#include "core/backend.h"
#include "core/error.h"
#include "cuda/cuda_runtime_info.h"
#include "cuda/kernels/gemm_f32_simt.cuh"

#include <cuda_runtime_api.h>

#include <string>

namespace sdn {

namespace {

void check_cuda(cudaError_t e, const char * what) {
    if (e == cudaSuccess) return;
    cudaGetLastError();
    const sdn_status status = e == cudaErrorMemoryAllocation ? SDN_ERR_OUT_OF_MEMORY : SDN_ERR_BACKEND;
    fail(status, std::string("CUDA: ") + what + " failed: " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
}

// Device allocation owned for the duration of one call.
class DeviceBuffer {
public:
    explicit DeviceBuffer(size_t bytes) {
        if (bytes > 0) check_cuda(cudaMalloc(&ptr_, bytes), "cudaMalloc");
    }
    ~DeviceBuffer() {
        if (ptr_ != nullptr) cudaFree(ptr_);
    }
    DeviceBuffer(const DeviceBuffer &) = delete;
    DeviceBuffer & operator=(const DeviceBuffer &) = delete;
    float * f32() const { return static_cast<float *>(ptr_); }

private:
    void * ptr_ = nullptr;
};

class CudaBackend final : public Backend {
public:
    CudaBackend(int device, std::string device_name) : device_(device), device_name_(std::move(device_name)) {
        check_cuda(cudaSetDevice(device_), "cudaSetDevice");
        check_cuda(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
    }
    ~CudaBackend() override {
        if (stream_ != nullptr) {
            cudaSetDevice(device_);
            cudaStreamDestroy(stream_);
        }
    }

    sdn_backend_kind kind() const override { return SDN_BACKEND_CUDA; }
    std::string name() const override { return "cuda:" + std::to_string(device_) + " (" + device_name_ + ")"; }
    size_t host_memory() const override { return 0; }

    void gemm_f32(const GemmF32Args & g, const ExecControl & control) override {
        validate_gemm_args(g);
        if (g.m == 0 || g.n == 0) return;
        control.poll("gemm");
        check_cuda(cudaSetDevice(device_), "cudaSetDevice");
        const int64_t a_rows = g.trans_a ? g.k : g.m;
        const int64_t b_rows = g.trans_b ? g.n : g.k;
        const size_t a_bytes = static_cast<size_t>(a_rows * g.lda) * sizeof(float);
        const size_t b_bytes = static_cast<size_t>(b_rows * g.ldb) * sizeof(float);
        const size_t c_bytes = static_cast<size_t>(g.m * g.ldc) * sizeof(float);
        DeviceBuffer da(g.k > 0 ? a_bytes : 0), db(g.k > 0 ? b_bytes : 0), dc(c_bytes);
        if (g.k > 0) {
            check_cuda(cudaMemcpyAsync(da.f32(), g.a, a_bytes, cudaMemcpyHostToDevice, stream_), "copy A to device");
            check_cuda(cudaMemcpyAsync(db.f32(), g.b, b_bytes, cudaMemcpyHostToDevice, stream_), "copy B to device");
        }
        if (g.beta != 0.0f) check_cuda(cudaMemcpyAsync(dc.f32(), g.c, c_bytes, cudaMemcpyHostToDevice, stream_), "copy C to device");
        else check_cuda(cudaMemsetAsync(dc.f32(), 0, c_bytes, stream_), "clear C");
        check_cuda(cuda::launch_gemm_f32_simt(g.trans_a, g.trans_b, g.m, g.n, g.k, g.alpha, da.f32(), g.lda, db.f32(), g.ldb,
                                              g.beta, dc.f32(), g.ldc, stream_),
                   "gemm kernel launch");
        check_cuda(cudaMemcpyAsync(g.c, dc.f32(), c_bytes, cudaMemcpyDeviceToHost, stream_), "copy C to host");
        check_cuda(cudaStreamSynchronize(stream_), "gemm");
        control.report(1, 1);
    }

private:
    int device_;
    std::string device_name_;
    cudaStream_t stream_ = nullptr;
};

}  // namespace

std::unique_ptr<Backend> make_cuda_backend(int device_index, ThreadPool &, std::string & reason) {
    cuda::RuntimeInfo info = cuda::query_runtime();
    if (info.devices.empty()) {
        reason = info.unavailable_reason;
        return nullptr;
    }
    if (device_index < 0 || device_index >= static_cast<int>(info.devices.size())) {
        reason = "CUDA device index " + std::to_string(device_index) + " is out of range (" +
                 std::to_string(info.devices.size()) + " device(s) present)";
        return nullptr;
    }
    try {
        return std::make_unique<CudaBackend>(device_index, info.devices[device_index].name);
    } catch (const Error & e) {
        reason = e.what();
        return nullptr;
    }
}

}  // namespace sdn
