// Safetensors writer: in-memory form (data pointers) and a streaming form that pulls each tensor's bytes
// in chunks, so multi-GB files (full-size random-weight models) are written with one chunk of memory.
// Tensors are laid out in the given order, contiguously; the JSON header is padded with spaces to a
// multiple of 8 bytes. Output goes to "<path>.partial" and is renamed over `path` only when complete.
#pragma once

#include "sd_native.h"

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace sdn::io {

struct TensorSpec {
    std::string name;
    sdn_dtype dtype = SDN_DTYPE_F32;
    std::vector<int64_t> shape;
};

using Metadata = std::vector<std::pair<std::string, std::string>>;

// Validates the specs (names non-empty, unique, not "__metadata__", no NUL; known dtypes; dims >= 0,
// at most SDN_MAX_DIMS; no size overflow) and returns each tensor's byte size. Throws SDN_ERR_INVALID_ARGUMENT.
std::vector<uint64_t> validate_specs(const std::vector<TensorSpec> & specs);

// The header JSON (without the 8-byte length), padded with spaces to a multiple of 8.
std::string safetensors_header(const std::vector<TensorSpec> & specs, const Metadata & metadata);

class SafetensorsStreamWriter {
public:
    // Creates "<path>.partial" and writes the length and header.
    SafetensorsStreamWriter(const std::string & path, std::vector<TensorSpec> specs, const Metadata & metadata);
    ~SafetensorsStreamWriter();  // not finished: closes and removes the partial file
    SafetensorsStreamWriter(const SafetensorsStreamWriter &) = delete;
    SafetensorsStreamWriter & operator=(const SafetensorsStreamWriter &) = delete;

    size_t tensor_count() const { return specs_.size(); }
    uint64_t tensor_bytes(size_t index) const { return sizes_[index]; }
    // Appends the next bytes of the data section (tensor after tensor, in order). Throws when more bytes
    // are written than the specs describe.
    void write(const void * data, size_t size);
    // Checks every byte was written, flushes, closes and renames over the final path.
    void finish();

private:
    std::string path_, partial_;
    std::vector<TensorSpec> specs_;
    std::vector<uint64_t> sizes_;
    uint64_t total_ = 0, written_ = 0;
    int fd_ = -1;
    bool finished_ = false;
};

// Writes all tensors from memory: data[i] holds tensor_bytes(i) bytes (may be nullptr when that is 0).
void write_safetensors(const std::string & path, const std::vector<TensorSpec> & specs,
                       const std::vector<const void *> & data, const Metadata & metadata);

// fill(index, offset, buffer, size) fills the chunk [offset, offset + size) of tensor `index` and returns
// true, or false to abort (then SDN_ERR_ABORTED is thrown and no file is left).
using FillFunction = std::function<bool(size_t index, uint64_t offset, void * buffer, size_t size)>;
constexpr size_t kWriteChunk = 16u << 20;
void write_safetensors_stream(const std::string & path, const std::vector<TensorSpec> & specs,
                              const Metadata & metadata, const FillFunction & fill);

}  // namespace sdn::io
