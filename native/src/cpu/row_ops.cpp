#include "cpu/row_ops.h"

namespace sdn::cpu {

const RowOps & row_ops(SimdLevel level) {
    switch (level) {
        case SimdLevel::Avx512: return row_ops_avx512();
        case SimdLevel::Avx2: return row_ops_avx2();
        default: return row_ops_portable();
    }
}

}  // namespace sdn::cpu
