// Row primitives, portable build (see row_ops_impl.h).
#include "cpu/simd_scalar.h"
#define SDN_ROW_NS isa_portable
#include "cpu/row_ops_impl.h"

namespace sdn::cpu {
const RowOps & row_ops_portable() { return isa_portable::Rows<isa_portable::V>::table(); }
}  // namespace sdn::cpu
