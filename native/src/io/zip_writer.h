// Minimal in-memory ZIP writer (STORED entries only) for torch-style archives: tests, fuzz seeds and
// tools that need a small .ckpt. Entry data can be aligned (torch aligns storages to 64 bytes with a
// padding extra field) and zip64 records can be forced to exercise that path without 4 GiB of data.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sdn::io {

class ZipWriter {
public:
    // Adds a STORED entry whose data starts at a multiple of `align` bytes (1 = no padding).
    void add(const std::string & name, const void * data, size_t size, size_t align = 64);
    void add(const std::string & name, const std::string & data, size_t align = 64) { add(name, data.data(), data.size(), align); }
    // Central directory + end records; `force_zip64` writes zip64 extra fields and the zip64 EOCD/locator.
    std::vector<uint8_t> finish(bool force_zip64 = false);

private:
    struct Entry {
        std::string name;
        uint32_t crc;
        uint64_t size;
        uint64_t offset;
    };
    std::vector<uint8_t> out_;
    std::vector<Entry> entries_;
};

}  // namespace sdn::io
