// Portable GEMM kernels (scalar traits, any CPU): 4 x 8 tile the compiler may vectorise with the
// baseline ISA.
#include "cpu/simd_scalar.h"
#define SDN_GEMM_NS isa_portable
#include "cpu/gemm_kernel_impl.h"

namespace sdn::cpu {
const GemmIsa & gemm_isa_portable() { return isa_portable::make_isa<isa_portable::V, 4, 8>(); }
}  // namespace sdn::cpu
