// Row primitives, avx2 build (see row_ops_impl.h).
#include "cpu/simd_avx2.h"
#define SDN_ROW_NS isa_avx2
#include "cpu/row_ops_impl.h"

namespace sdn::cpu {
const RowOps & row_ops_avx2() { return isa_avx2::Rows<isa_avx2::V>::table(); }
}  // namespace sdn::cpu
