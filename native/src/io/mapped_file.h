// Read-only memory map of a whole file (mmap, PROT_READ, MAP_PRIVATE). Held through shared_ptr so tensor
// views stay valid as long as any owner (a weight file, a copied view) is alive.
//
// Caveat shared by every mmap reader: if another process truncates the file while it is mapped, touching
// the lost pages raises SIGBUS. Files are validated against the size seen at open time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace sdn::io {

class MappedFile {
public:
    // Throws sdn::Error(SDN_ERR_IO) naming the path when the file cannot be opened, is not a regular file
    // or cannot be mapped. An empty file maps to (nullptr, 0).
    static std::shared_ptr<const MappedFile> open(const std::string & path);
    // A heap copy of `size` bytes standing in for a file called `name` (fuzzers, in-memory tests).
    static std::shared_ptr<const MappedFile> from_bytes(const std::string & name, const void * data, size_t size);

    ~MappedFile();
    MappedFile(const MappedFile &) = delete;
    MappedFile & operator=(const MappedFile &) = delete;

    const uint8_t * data() const { return data_; }
    size_t size() const { return size_; }
    const std::string & path() const { return path_; }

private:
    MappedFile() = default;
    const uint8_t * data_ = nullptr;
    size_t size_ = 0;
    bool mapped_ = false;
    std::string path_;
};

}  // namespace sdn::io
