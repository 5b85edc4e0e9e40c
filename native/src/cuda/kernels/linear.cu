#include "cuda/kernels/gemm_tiles.cuh"
#include "cuda/kernels/linear.cuh"

namespace sdn::cuda {

cudaError_t launch_linear(const LinearLaunch & a, GemmPath path, cudaStream_t stream) {
    gemm::Problem p;
    p.M = a.rows;
    p.N = a.out;
    p.K = a.in;
    p.a = a.x;
    p.w = a.w;
    p.bias = a.bias;
    p.residual = a.residual;
    p.out = a.y;
    return gemm::launch_gemm<gemm::AMode::Rows>(p, a.w_type, path, stream);
}

}  // namespace sdn::cuda
