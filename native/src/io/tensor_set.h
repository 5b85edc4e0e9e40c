// What every weight-file reader produces: named, typed, shaped, read-only views into a memory map
// (plus, rarely, buffers the reader had to materialise), with the mapping kept alive by shared ownership.
#pragma once

#include "io/mapped_file.h"
#include "sd_native.h"

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace sdn::io {

// Safetensors spelling ("F32", "BF16", "BOOL", ...), "?" for unknown values.
const char * dtype_name(sdn_dtype dtype);
// Bytes per element, 0 for unknown values.
size_t dtype_size(sdn_dtype dtype);
// Parses a safetensors dtype name; false when unknown.
bool dtype_from_name(const std::string & name, sdn_dtype * out);
// F32, F16, BF16.
bool is_weight_dtype(sdn_dtype dtype);

// A name from an untrusted file, made safe for an error message: control bytes become \xNN and long
// names are cut at 200 bytes.
std::string display_name(const std::string & name);

// "[2, 3, 4]"
std::string shape_string(const std::vector<int64_t> & shape);

struct TensorView {
    std::string name;
    sdn_dtype dtype = SDN_DTYPE_F32;
    std::vector<int64_t> shape;
    const uint8_t * data = nullptr;  // nullptr when nbytes == 0
    uint64_t nbytes = 0;

    int64_t numel() const {
        int64_t n = 1;
        for (int64_t d : shape) n *= d;
        return n;
    }
};

class TensorSet {
public:
    std::string path;
    sdn_weight_format format = SDN_WEIGHT_FORMAT_SAFETENSORS;
    std::vector<TensorView> tensors;
    std::vector<std::pair<std::string, std::string>> metadata;  // safetensors __metadata__, in file order
    std::shared_ptr<const MappedFile> mapping;                  // keeps every view alive
    std::vector<std::unique_ptr<uint8_t[]>> owned;              // materialised (copied) tensors, if any

    // Rebuilds the name index; throws SDN_ERR_FORMAT on duplicate names.
    void build_index();
    // nullptr when absent.
    const TensorView * find(const std::string & name) const;
    // Throws SDN_ERR_NOT_FOUND when absent, SDN_ERR_UNSUPPORTED for dtypes other than F32/F16/BF16.
    const TensorView & weight(const std::string & name) const;

private:
    std::unordered_map<std::string, size_t> index_;
};

// Checked arithmetic for sizes from untrusted input.
inline bool mul_overflow_u64(uint64_t a, uint64_t b, uint64_t * out) { return __builtin_mul_overflow(a, b, out); }
inline bool add_overflow_u64(uint64_t a, uint64_t b, uint64_t * out) { return __builtin_add_overflow(a, b, out); }

}  // namespace sdn::io
