// Safetensors reader: memory-maps the file and returns zero-copy views after validating the whole header.
//
// Layout: u64 little-endian header length N, N bytes of JSON (an object starting with '{', possibly
// space-padded), then the data section. Each entry is {"dtype": str, "shape": [uint...],
// "data_offsets": [begin, end]} with offsets relative to the data section; "__metadata__" is an optional
// string->string object. Validation (each failure is SDN_ERR_FORMAT naming the file and the entry/field,
// except unknown dtypes and too many dimensions, which are SDN_ERR_UNSUPPORTED):
//   - the file holds the 8-byte length; 0 < N <= 100 MiB; 8 + N <= file size; the header starts with '{'
//   - strict JSON (see json.h); the root is an object; entries are objects with fields of the right types
//   - product(shape) * dtype size == end - begin (checked for overflow); ranges inside the data section
//   - sorted by offset, ranges neither overlap nor leave holes, and they cover the data section exactly
//     (as the reference implementation requires: a file cannot smuggle unindexed bytes)
// All dtypes of the format are accepted in the listing (F32 F16 BF16 F64 I64 I32 I16 I8 U8 BOOL);
// TensorSet::weight() restricts weights to F32/F16/BF16.
#pragma once

#include "io/tensor_set.h"

#include <string>

namespace sdn::io {

constexpr uint64_t kSafetensorsMaxHeader = 100ull * 1024 * 1024;

// Opens and validates `path`; throws sdn::Error on any problem.
TensorSet read_safetensors(const std::string & path);

// Same validation over an existing mapping (used by the weight-file detector).
TensorSet read_safetensors(std::shared_ptr<const MappedFile> mapping);

}  // namespace sdn::io
