// Winograd F(4x4, 3x3) transforms, portable (scalar traits) instantiation (see winograd_impl.h).
#include "cpu/simd_scalar.h"
#define SDN_WINO_NS isa_portable
#include "cpu/winograd_impl.h"

namespace sdn::cpu::wino {
const Isa & isa_portable() { return sdn::cpu::isa_portable::make_wino_isa(); }
}  // namespace sdn::cpu::wino
