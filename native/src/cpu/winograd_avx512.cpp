// Winograd F(4x4, 3x3) transforms, avx512 instantiation (see winograd_impl.h).
#include "cpu/simd_avx512.h"
#define SDN_WINO_NS isa_avx512
#include "cpu/winograd_impl.h"

namespace sdn::cpu::wino {
const Isa & isa_avx512() { return sdn::cpu::isa_avx512::make_wino_isa(); }
}  // namespace sdn::cpu::wino
