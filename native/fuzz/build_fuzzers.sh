#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) without CMake:
#   native/fuzz/build_fuzzers.sh [out_dir]      (default: build-fuzz/)
# Run:  <out_dir>/fuzz_safetensors -max_total_time=120 <scratch_corpus_dir> native/fuzz/corpus/fuzz_safetensors
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:-$root/build-fuzz}"
mkdir -p "$out/obj"
CXX="${CXX:-clang++}"
flags=(-std=c++17 -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined
       -fno-sanitize-recover=undefined -I"$root/native/include" -I"$root/native/src")
objs=()
for src in "$root"/native/src/core/error.cpp "$root"/native/src/io/*.cpp; do
  obj="$out/obj/$(basename "${src%.cpp}").o"
  "$CXX" "${flags[@]}" -c "$src" -o "$obj"
  objs+=("$obj")
done
for target in fuzz_safetensors fuzz_torch_checkpoint; do
  "$CXX" "${flags[@]}" -fsanitize=fuzzer "$root/native/fuzz/$target.cpp" "${objs[@]}" -o "$out/$target"
  echo "built $out/$target"
done
