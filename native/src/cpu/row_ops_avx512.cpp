// Row primitives, avx512 build (see row_ops_impl.h).
#include "cpu/simd_avx512.h"
#define SDN_ROW_NS isa_avx512
#include "cpu/row_ops_impl.h"

namespace sdn::cpu {
const RowOps & row_ops_avx512() { return isa_avx512::Rows<isa_avx512::V>::table(); }
}  // namespace sdn::cpu
