// Winograd F(4x4, 3x3) convolution internals shared by the driver (winograd.cpp) and the per-ISA
// transform kernels (winograd_<isa>.cpp, written once in winograd_impl.h).
//
// Interpolation points 0, 1, -1, 1/2, -2 and infinity. Of the point sets tried ({0,+-1,+-2},
// {0,+-1,+-1/2}, {0,+-1,1/2,-2}) this one gave the smallest float32 error (about 2-4x below the classic
// {0,+-1,+-2} on N(0,1) activations), for the same 36 multiplies per 4x4 output tile. The matrices
// (B^T 6x6, G 6x3, A^T 4x6) come from the Toom-Cook construction: y = A^T [(G g G^T) . (B^T d B)] A.
#pragma once

#include "core/cpu_features.h"

#include <cstdint>

namespace sdn::cpu::wino {

constexpr int kM = 4;       // output tile
constexpr int kA = 6;       // input tile (kM + 3 - 1)
constexpr int kXi = kA * kA; // 36 transform positions = 36 GEMMs

// B^T: rows are the polynomials prod_{l != j} (x - a_l) (last row: prod_l (x - a_l)), coefficient k
// multiplying d_k.
constexpr float kBT[kA][kA] = {
    {1.0f, -1.5f, -2.0f, 1.5f, 1.0f, 0.0f},
    {0.0f, -1.0f, 0.5f, 2.5f, 1.0f, 0.0f},
    {0.0f, 1.0f, -2.5f, 0.5f, 1.0f, 0.0f},
    {0.0f, -2.0f, -1.0f, 2.0f, 1.0f, 0.0f},
    {0.0f, 0.5f, -1.0f, -0.5f, 1.0f, 0.0f},
    {0.0f, 1.0f, -1.5f, -2.0f, 1.5f, 1.0f},
};
// A^T: A^T[i][j] = a_j^i, last column e_3.
constexpr float kAT[kM][kA] = {
    {1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 0.0f},
    {0.0f, 1.0f, -1.0f, 0.5f, -2.0f, 0.0f},
    {0.0f, 1.0f, 1.0f, 0.25f, 4.0f, 0.0f},
    {0.0f, 1.0f, -1.0f, 0.125f, -8.0f, 1.0f},
};
// G in double (applied once per weight): G[j][k] = a_j^k / prod_{l != j}(a_j - a_l), last row e_2.
constexpr double kG[kA][3] = {
    {1.0, 0.0, 0.0},
    {1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0},
    {-1.0 / 3.0, 1.0 / 3.0, -1.0 / 3.0},
    {-16.0 / 15.0, -8.0 / 15.0, -4.0 / 15.0},
    {1.0 / 15.0, -2.0 / 15.0, 4.0 / 15.0},
    {0.0, 0.0, 1.0},
};

// Input transform of one block of tiles of one image into the GEMM's packed-B layout:
// tiles t0 .. t0+nt-1 (row-major over the tiles_y x tiles_x grid; tile (ty, tx) reads input rows
// 4ty-1 .. 4ty+4 and columns 4tx-1 .. 4tx+4, zero outside the image), channels [0, c).
// Position xi's matrix (c x nt_pad) lies at v + xi * c * nt_pad, cut in K blocks of kc channels (block at
// k0 * nt_pad) of nr-column panels ([kk][nr], panel q at q * kcb * nr). Columns nt .. nt_pad-1 are zero.
struct InputArgs {
    const float * in;  // [c][h][w]
    int64_t c, h, w, tiles_x, t0, nt, nt_pad, kc, nr;
    float * v;
};

// Output transform: m holds the 36 products for output channels [o0, o0 + mo): position xi, channel o,
// tile t at m[(xi * mo + (o - o0)) * ldm + t]. Writes out[o][y][x] (+ bias[o]) (+ residual[o][y][x]),
// clipped to the image.
struct OutputArgs {
    const float * m;
    int64_t mo, ldm, o0;
    int64_t h, w, tiles_x, t0, nt;
    const float * bias;      // optional, indexed by absolute channel
    const float * residual;  // optional, [channels][h][w] of this image (may equal out)
    float * out;             // [channels][h][w] of this image
};

struct Isa {
    void (*input)(const InputArgs & a);
    void (*output)(const OutputArgs & a);
};

const Isa & isa(SimdLevel level);
const Isa & isa_avx512();
const Isa & isa_avx2();
const Isa & isa_portable();

}  // namespace sdn::cpu::wino
