// Read-only ZIP archive over a memory map, enough for torch.save archives: the central directory
// (zip64 included, for archives and entries past 4 GiB), local headers (torch pads them with an extra
// field to align data to 64 bytes), STORED entries as zero-copy views. Compressed or encrypted entries are
// listed but refused with SDN_ERR_UNSUPPORTED when their data is asked for (torch writes only STORED).
// Every offset and size is checked against the file; failures are SDN_ERR_FORMAT naming file and entry.
#pragma once

#include "io/mapped_file.h"

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace sdn::io {

struct ZipEntry {
    std::string name;
    uint16_t method = 0;  // 0 stored, 8 deflate, ...
    uint16_t flags = 0;
    uint32_t crc32 = 0;
    uint64_t compressed_size = 0;
    uint64_t uncompressed_size = 0;
    uint64_t local_header_offset = 0;
};

class ZipReader {
public:
    explicit ZipReader(std::shared_ptr<const MappedFile> file);

    const std::vector<ZipEntry> & entries() const { return entries_; }
    const ZipEntry * find(const std::string & name) const;
    // Zero-copy view of a STORED entry's bytes; throws UNSUPPORTED for compressed/encrypted entries and
    // FORMAT for a bad local header or a range outside the file.
    const uint8_t * stored_data(const ZipEntry & entry) const;
    // stored_data plus CRC-32 check (for small entries such as data.pkl).
    const uint8_t * stored_data_checked(const ZipEntry & entry) const;

    const std::shared_ptr<const MappedFile> & file() const { return file_; }
    const std::string & path() const { return file_->path(); }

private:
    std::shared_ptr<const MappedFile> file_;
    std::vector<ZipEntry> entries_;
    std::unordered_map<std::string, size_t> index_;
};

uint32_t crc32(const uint8_t * data, size_t size);

}  // namespace sdn::io
