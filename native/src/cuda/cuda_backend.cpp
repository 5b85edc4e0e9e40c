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

    // ---- memory ----
    void * alloc_memory(size_t bytes) override {
        check_cuda(cudaSetDevice(device_), "cudaSetDevice");
        void * p = nullptr;
        check_cuda(cudaMalloc(&p, bytes == 0 ? 256 : bytes), "cudaMalloc");
        return p;
    }
    void free_memory(void * ptr) override {
        if (ptr != nullptr) cudaFree(ptr);
    }
    void upload(void * dst, const void * src, size_t bytes) override {
        check_cuda(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream_), "copy to device");
        check_cuda(cudaStreamSynchronize(stream_), "copy to device");
    }
    void download(void * dst, const void * src, size_t bytes) override {
        check_cuda(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream_), "copy to host");
        check_cuda(cudaStreamSynchronize(stream_), "copy to host");
    }
    void synchronize() override { check_cuda(cudaStreamSynchronize(stream_), "synchronize"); }
    Weight make_weight(const HostWeight & host, bool as_f32) override {
        (void)host;
        (void)as_f32;
        not_ported("weight upload");
    }
    void release_weight(Weight & w) override {
        free_memory(const_cast<void *>(w.data));
        w.data = nullptr;
    }

    // ---- network ops: the device kernels are the CUDA backend issue's work ----
    void linear(const float *, int64_t, int64_t, const Weight &, const Weight *, float *, const float *, const ExecControl &) override {
        not_ported("linear");
    }
    void conv2d(const float *, int64_t, int64_t, int64_t, int64_t, const Weight &, const Weight *, int64_t, int64_t, float *,
                const float *, const ExecControl &) override {
        not_ported("conv2d");
    }
    void group_norm(const float *, float *, int64_t, int64_t, int64_t, int64_t, const Weight &, const Weight &, float, bool,
                    const ExecControl &) override {
        not_ported("group_norm");
    }
    void layer_norm(const float *, float *, int64_t, int64_t, const Weight &, const Weight &, float) override { not_ported("layer_norm"); }
    void attention(const AttnOperand &, const AttnOperand &, const AttnOperand &, float *, int64_t, int64_t, int64_t, int64_t,
                   int64_t, float, bool, const ExecControl &) override {
        not_ported("attention");
    }
    void activation(Act, const float *, float *, int64_t) override { not_ported("activation"); }
    void geglu(const float *, float *, int64_t, int64_t) override { not_ported("geglu"); }
    void add(const float *, const float *, float *, int64_t) override { not_ported("add"); }
    void add_channel_bias(const float *, const float *, float *, int64_t, int64_t, int64_t) override { not_ported("add_channel_bias"); }
    void scale(const float *, float, float *, int64_t) override { not_ported("scale"); }
    void resize_nearest(const float *, float *, int64_t, int64_t, int64_t, int64_t, int64_t) override { not_ported("resize_nearest"); }
    void nchw_to_nhwc(const float *, float *, int64_t, int64_t, int64_t) override { not_ported("nchw_to_nhwc"); }
    void nhwc_to_nchw(const float *, float *, int64_t, int64_t, int64_t) override { not_ported("nhwc_to_nchw"); }
    void concat_channels(const float *, int64_t, const float *, int64_t, float *, int64_t, int64_t) override {
        not_ported("concat_channels");
    }
    void pad2d(const float *, float *, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t) override { not_ported("pad2d"); }
    void embedding(const int32_t *, int64_t, const Weight &, float *) override { not_ported("embedding"); }
    void timestep_embedding(const float *, int64_t, int64_t, bool, float, float *) override { not_ported("timestep_embedding"); }
    void copy(const float * x, float * y, int64_t n) override {
        if (x != y) check_cuda(cudaMemcpyAsync(y, x, static_cast<size_t>(n) * sizeof(float), cudaMemcpyDeviceToDevice, stream_), "copy");
    }

private:
    [[noreturn]] static void not_ported(const char * op) {
        fail(SDN_ERR_UNSUPPORTED, std::string("the CUDA backend does not run networks yet (op '") + op +
                                      "'); create the context with device \"cpu\"");
    }

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
