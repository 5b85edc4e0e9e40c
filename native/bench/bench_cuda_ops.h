// CUDA op benchmarks at Stable Diffusion 1.5 shapes (bench_cuda_ops.cpp), called from bench_main.cpp:
//
//   sdn_bench --cuda-ops [--seconds S] [--only SUBSTR] [--all-paths] [--shapes FILE] [--list]
//
// The shapes come from scripts/gpu/sd15_op_shapes.json (the same file scripts/gpu/torch_anchors.py
// reads). --seconds: timing budget per op and variant (default 0.25). --only: run only ops whose
// "variant op shape label" text contains SUBSTR. --all-paths: also the slower reference variants (SIMT
// GEMM). --list: print the parsed shape list with FLOPs and bytes and exit (needs no GPU).
#pragma once

// Parses its own options out of argv (the ones above; others are ignored). Returns the exit code: 0 also
// when no CUDA device is usable (a {"skipped":true} line says why).
int run_cuda_op_benches(int argc, char ** argv);
