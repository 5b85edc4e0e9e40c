#include "core/backend.h"

#include "core/error.h"

#include <string>

namespace sdn {

void validate_gemm_args(const GemmF32Args & g) {
    require(g.m >= 0 && g.n >= 0 && g.k >= 0, SDN_ERR_INVALID_ARGUMENT,
            "gemm: m, n and k must be non-negative (got m=" + std::to_string(g.m) + " n=" + std::to_string(g.n) +
                " k=" + std::to_string(g.k) + ")");
    if (g.m == 0 || g.n == 0) return;
    require(g.c != nullptr, SDN_ERR_INVALID_ARGUMENT, "gemm: C is NULL");
    require(g.ldc >= g.n, SDN_ERR_INVALID_ARGUMENT, "gemm: ldc (" + std::to_string(g.ldc) + ") < n (" + std::to_string(g.n) + ")");
    if (g.k == 0) return;
    require(g.a != nullptr && g.b != nullptr, SDN_ERR_INVALID_ARGUMENT, "gemm: A or B is NULL");
    const int64_t a_cols = g.trans_a ? g.m : g.k;
    const int64_t b_cols = g.trans_b ? g.k : g.n;
    require(g.lda >= a_cols, SDN_ERR_INVALID_ARGUMENT, "gemm: lda (" + std::to_string(g.lda) + ") < " + std::to_string(a_cols));
    require(g.ldb >= b_cols, SDN_ERR_INVALID_ARGUMENT, "gemm: ldb (" + std::to_string(g.ldb) + ") < " + std::to_string(b_cols));
}

}  // namespace sdn
