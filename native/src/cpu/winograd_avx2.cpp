// Winograd F(4x4, 3x3) transforms, avx2 instantiation (see winograd_impl.h).
#include "cpu/simd_avx2.h"
#define SDN_WINO_NS isa_avx2
#include "cpu/winograd_impl.h"

namespace sdn::cpu::wino {
const Isa & isa_avx2() { return sdn::cpu::isa_avx2::make_wino_isa(); }
}  // namespace sdn::cpu::wino
