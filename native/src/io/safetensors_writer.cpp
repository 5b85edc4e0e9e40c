#include "io/safetensors_writer.h"

#include "core/error.h"
#include "io/json.h"
#include "io/tensor_set.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <unistd.h>
#include <unordered_set>

namespace sdn::io {

std::vector<uint64_t> validate_specs(const std::vector<TensorSpec> & specs) {
    std::vector<uint64_t> sizes;
    sizes.reserve(specs.size());
    std::unordered_set<std::string> names;
    for (const TensorSpec & s : specs) {
        const std::string where = "tensor '" + s.name + "'";
        require(!s.name.empty(), SDN_ERR_INVALID_ARGUMENT, "safetensors writer: a tensor has an empty name");
        require(s.name != "__metadata__", SDN_ERR_INVALID_ARGUMENT,
                "safetensors writer: '__metadata__' is reserved and cannot name a tensor");
        require(s.name.find('\0') == std::string::npos, SDN_ERR_INVALID_ARGUMENT,
                "safetensors writer: " + where + " has a NUL in its name");
        require(names.insert(s.name).second, SDN_ERR_INVALID_ARGUMENT,
                "safetensors writer: " + where + " appears twice");
        require(dtype_size(s.dtype) != 0, SDN_ERR_INVALID_ARGUMENT,
                "safetensors writer: " + where + " has unknown dtype " + std::to_string(static_cast<int>(s.dtype)));
        require(s.shape.size() <= SDN_MAX_DIMS, SDN_ERR_INVALID_ARGUMENT,
                "safetensors writer: " + where + " has more than " + std::to_string(SDN_MAX_DIMS) + " dimensions");
        uint64_t n = dtype_size(s.dtype);
        for (int64_t d : s.shape) {
            require(d >= 0, SDN_ERR_INVALID_ARGUMENT,
                    "safetensors writer: " + where + " has a negative dimension in " + shape_string(s.shape));
            require(!mul_overflow_u64(n, static_cast<uint64_t>(d), &n), SDN_ERR_INVALID_ARGUMENT,
                    "safetensors writer: " + where + " size overflows");
        }
        sizes.push_back(n);
    }
    return sizes;
}

std::string safetensors_header(const std::vector<TensorSpec> & specs, const Metadata & metadata) {
    const std::vector<uint64_t> sizes = validate_specs(specs);
    std::unordered_set<std::string> keys;
    for (const auto & kv : metadata)
        require(keys.insert(kv.first).second, SDN_ERR_INVALID_ARGUMENT,
                "safetensors writer: metadata key '" + kv.first + "' appears twice");
    std::string h = "{";
    bool first = true;
    if (!metadata.empty()) {
        h += "\"__metadata__\":{";
        for (size_t i = 0; i < metadata.size(); ++i) {
            if (i) h += ',';
            json_quote(h, metadata[i].first);
            h += ':';
            json_quote(h, metadata[i].second);
        }
        h += '}';
        first = false;
    }
    uint64_t offset = 0;
    for (size_t i = 0; i < specs.size(); ++i) {
        if (!first) h += ',';
        first = false;
        json_quote(h, specs[i].name);
        h += ":{\"dtype\":\"";
        h += dtype_name(specs[i].dtype);
        h += "\",\"shape\":[";
        for (size_t d = 0; d < specs[i].shape.size(); ++d) {
            if (d) h += ',';
            h += std::to_string(specs[i].shape[d]);
        }
        h += "],\"data_offsets\":[" + std::to_string(offset) + ',';
        require(!add_overflow_u64(offset, sizes[i], &offset), SDN_ERR_INVALID_ARGUMENT,
                "safetensors writer: total size overflows");
        h += std::to_string(offset) + "]}";
    }
    h += '}';
    while (h.size() % 8 != 0) h += ' ';
    return h;
}

namespace {

void write_all(int fd, const void * data, size_t size, const std::string & path) {
    const char * p = static_cast<const char *>(data);
    while (size > 0) {
        const ssize_t n = ::write(fd, p, size);
        if (n < 0) {
            if (errno == EINTR) continue;
            fail(SDN_ERR_IO, "cannot write '" + path + "': " + std::strerror(errno));
        }
        p += n;
        size -= static_cast<size_t>(n);
    }
}

}  // namespace

SafetensorsStreamWriter::SafetensorsStreamWriter(const std::string & path, std::vector<TensorSpec> specs,
                                                 const Metadata & metadata)
    : path_(path), partial_(path + ".partial"), specs_(std::move(specs)) {
    require(!path.empty(), SDN_ERR_INVALID_ARGUMENT, "safetensors writer: empty path");
    const std::string header = safetensors_header(specs_, metadata);
    sizes_ = validate_specs(specs_);
    for (uint64_t s : sizes_) total_ += s;  // no overflow: checked by safetensors_header
    require(header.size() <= 100ull * 1024 * 1024, SDN_ERR_INVALID_ARGUMENT,
            "safetensors writer: header of " + std::to_string(header.size()) + " bytes is over the 100 MiB limit");
    fd_ = ::open(partial_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) fail(SDN_ERR_IO, "cannot create '" + partial_ + "': " + std::strerror(errno));
    uint8_t len[8];
    uint64_t n = header.size();
    for (int i = 0; i < 8; ++i, n >>= 8) len[i] = static_cast<uint8_t>(n & 0xff);
    write_all(fd_, len, 8, partial_);
    write_all(fd_, header.data(), header.size(), partial_);
}

SafetensorsStreamWriter::~SafetensorsStreamWriter() {
    if (fd_ >= 0) ::close(fd_);
    if (!finished_) ::unlink(partial_.c_str());
}

void SafetensorsStreamWriter::write(const void * data, size_t size) {
    require(!finished_ && fd_ >= 0, SDN_ERR_INVALID_ARGUMENT, "safetensors writer: already finished");
    require(size <= total_ - written_, SDN_ERR_INVALID_ARGUMENT,
            "safetensors writer: more data than the tensors describe (" + std::to_string(total_) + " bytes)");
    write_all(fd_, data, size, partial_);
    written_ += size;
}

void SafetensorsStreamWriter::finish() {
    require(!finished_ && fd_ >= 0, SDN_ERR_INVALID_ARGUMENT, "safetensors writer: already finished");
    require(written_ == total_, SDN_ERR_INVALID_ARGUMENT,
            "safetensors writer: " + std::to_string(written_) + " of " + std::to_string(total_) +
                " data bytes written");
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) fail(SDN_ERR_IO, "cannot write '" + partial_ + "': " + std::strerror(errno));
    if (std::rename(partial_.c_str(), path_.c_str()) != 0)
        fail(SDN_ERR_IO, "cannot rename '" + partial_ + "' to '" + path_ + "': " + std::strerror(errno));
    finished_ = true;
}

void write_safetensors(const std::string & path, const std::vector<TensorSpec> & specs,
                       const std::vector<const void *> & data, const Metadata & metadata) {
    require(data.size() == specs.size(), SDN_ERR_INVALID_ARGUMENT, "safetensors writer: one data pointer per tensor");
    const std::vector<uint64_t> sizes = validate_specs(specs);
    for (size_t i = 0; i < specs.size(); ++i)
        require(data[i] != nullptr || sizes[i] == 0, SDN_ERR_INVALID_ARGUMENT,
                "safetensors writer: tensor '" + specs[i].name + "' has no data");
    SafetensorsStreamWriter w(path, specs, metadata);
    for (size_t i = 0; i < specs.size(); ++i)
        if (sizes[i]) w.write(data[i], sizes[i]);
    w.finish();
}

void write_safetensors_stream(const std::string & path, const std::vector<TensorSpec> & specs,
                              const Metadata & metadata, const FillFunction & fill) {
    require(static_cast<bool>(fill), SDN_ERR_INVALID_ARGUMENT, "safetensors writer: no fill callback");
    SafetensorsStreamWriter w(path, specs, metadata);
    uint64_t largest = 0;
    for (size_t i = 0; i < w.tensor_count(); ++i) largest = std::max(largest, w.tensor_bytes(i));
    const size_t chunk = static_cast<size_t>(std::min<uint64_t>(largest, kWriteChunk));
    std::unique_ptr<uint8_t[]> buffer(new uint8_t[chunk > 0 ? chunk : 1]);
    for (size_t i = 0; i < w.tensor_count(); ++i) {
        const uint64_t bytes = w.tensor_bytes(i);
        for (uint64_t off = 0; off < bytes; off += chunk) {
            const size_t n = static_cast<size_t>(std::min<uint64_t>(chunk, bytes - off));
            if (!fill(i, off, buffer.get(), n))
                fail(SDN_ERR_ABORTED, "safetensors writer: the fill callback stopped the write of '" + path +
                                          "' at tensor '" + specs[i].name + "'");
            w.write(buffer.get(), n);
        }
    }
    w.finish();
}

}  // namespace sdn::io
