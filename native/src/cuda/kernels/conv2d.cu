#include "cuda/kernels/conv2d.cuh"
#include "cuda/kernels/gemm_tiles.cuh"

#include <climits>

namespace sdn::cuda {

cudaError_t launch_conv2d(const Conv2dLaunch & a, GemmPath path, cudaStream_t stream) {
    // The geometry is held in 32-bit ints inside the kernel (per-image offsets stay 64-bit).
    const int64_t k = a.in_c * a.kh * a.kw;
    if (a.in_c > INT_MAX || a.h > INT_MAX || a.w > INT_MAX || a.oh > INT_MAX || a.ow > INT_MAX || k > INT_MAX ||
        a.oh * a.ow > INT_MAX || a.kh > INT_MAX || a.kw > INT_MAX || a.stride > INT_MAX || a.pad > INT_MAX)
        return cudaErrorInvalidValue;
    gemm::Problem p;
    p.M = a.batch * a.oh * a.ow;
    p.N = a.out_c;
    p.K = k;
    p.a = a.x;
    p.w = a.weight;
    p.bias = a.bias;
    p.residual = a.residual;
    p.out = a.y;
    p.C = static_cast<int>(a.in_c);
    p.H = static_cast<int>(a.h);
    p.W = static_cast<int>(a.w);
    p.KH = static_cast<int>(a.kh);
    p.KW = static_cast<int>(a.kw);
    p.stride = static_cast<int>(a.stride);
    p.pad = static_cast<int>(a.pad);
    p.OH = static_cast<int>(a.oh);
    p.OW = static_cast<int>(a.ow);
    return gemm::launch_gemm<gemm::AMode::Im2col>(p, a.w_type, path, stream);
}

}  // namespace sdn::cuda
