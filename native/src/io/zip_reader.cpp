#include "io/zip_reader.h"

#include "core/error.h"
#include "io/tensor_set.h"

#include <algorithm>

namespace sdn::io {

namespace {

constexpr uint32_t kLocalSig = 0x04034b50;
constexpr uint32_t kCentralSig = 0x02014b50;
constexpr uint32_t kEocdSig = 0x06054b50;
constexpr uint32_t kZip64EocdSig = 0x06064b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;

uint16_t u16(const uint8_t * p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t u32(const uint8_t * p) {
    return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) | (static_cast<uint32_t>(p[2]) << 16) |
           (static_cast<uint32_t>(p[3]) << 24);
}
uint64_t u64(const uint8_t * p) { return static_cast<uint64_t>(u32(p)) | (static_cast<uint64_t>(u32(p + 4)) << 32); }

}  // namespace

uint32_t crc32(const uint8_t * data, size_t size) {
    static const auto table = [] {
        std::vector<uint32_t> t(256);
        for (uint32_t i = 0; i < 256; ++i) {
            uint32_t c = i;
            for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[i] = c;
        }
        return t;
    }();
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < size; ++i) c = table[(c ^ data[i]) & 0xff] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

ZipReader::ZipReader(std::shared_ptr<const MappedFile> file) : file_(std::move(file)) {
    const std::string & path = file_->path();
    const uint8_t * base = file_->data();
    const uint64_t size = file_->size();
    require(size >= 22, SDN_ERR_FORMAT, path + ": zip archive is truncated (no end-of-central-directory record)");

    // The end-of-central-directory record is in the last 22 + 65535 bytes; search backwards.
    uint64_t eocd = UINT64_MAX;
    const uint64_t lowest = size >= 22 + 65535 ? size - 22 - 65535 : 0;
    for (uint64_t pos = size - 22 + 1; pos-- > lowest;) {
        if (u32(base + pos) == kEocdSig && pos + 22 + u16(base + pos + 20) <= size) {
            eocd = pos;
            break;
        }
    }
    require(eocd != UINT64_MAX, SDN_ERR_FORMAT,
            path + ": zip archive is truncated or corrupt (no end-of-central-directory record)");
    const uint8_t * e = base + eocd;
    require(u16(e + 4) == 0 && u16(e + 6) == 0, SDN_ERR_UNSUPPORTED, path + ": multi-disk zip archives are not supported");
    uint64_t count = u16(e + 10);
    uint64_t cd_size = u32(e + 12);
    uint64_t cd_offset = u32(e + 16);

    // zip64: locator right before the EOCD record.
    if (eocd >= 20 && u32(base + eocd - 20) == kZip64LocatorSig) {
        const uint8_t * loc = base + eocd - 20;
        const uint64_t z64 = u64(loc + 8);
        require(z64 <= size && size - z64 >= 56 && z64 + 56 <= eocd - 20, SDN_ERR_FORMAT,
                path + ": zip64 end-of-central-directory record lies outside the file");
        const uint8_t * r = base + z64;
        require(u32(r) == kZip64EocdSig, SDN_ERR_FORMAT, path + ": bad zip64 end-of-central-directory signature");
        count = u64(r + 32);
        cd_size = u64(r + 40);
        cd_offset = u64(r + 48);
    } else {
        require(count != 0xFFFF && cd_size != 0xFFFFFFFFu && cd_offset != 0xFFFFFFFFu, SDN_ERR_FORMAT,
                path + ": zip64 archive without a zip64 end-of-central-directory locator");
    }
    require(cd_offset <= eocd && cd_size <= eocd - cd_offset, SDN_ERR_FORMAT,
            path + ": zip central directory (offset " + std::to_string(cd_offset) + ", " + std::to_string(cd_size) +
                " bytes) lies outside the file");
    require(count <= cd_size / 46, SDN_ERR_FORMAT,
            path + ": zip central directory claims " + std::to_string(count) + " entries in " +
                std::to_string(cd_size) + " bytes");

    entries_.reserve(static_cast<size_t>(count));
    const uint8_t * p = base + cd_offset;
    const uint8_t * end = p + cd_size;
    for (uint64_t i = 0; i < count; ++i) {
        const std::string which = path + ": zip central directory entry " + std::to_string(i);
        require(end - p >= 46 && u32(p) == kCentralSig, SDN_ERR_FORMAT, which + " is corrupt");
        ZipEntry z;
        z.flags = u16(p + 8);
        z.method = u16(p + 10);
        z.crc32 = u32(p + 16);
        z.compressed_size = u32(p + 20);
        z.uncompressed_size = u32(p + 24);
        const uint16_t name_len = u16(p + 28), extra_len = u16(p + 30), comment_len = u16(p + 32);
        z.local_header_offset = u32(p + 42);
        require(static_cast<uint64_t>(end - p) >= 46ull + name_len + extra_len + comment_len, SDN_ERR_FORMAT,
                which + " runs past the central directory");
        z.name.assign(reinterpret_cast<const char *>(p + 46), name_len);
        require(z.name.find('\0') == std::string::npos, SDN_ERR_FORMAT, which + " has a NUL in its name");
        // zip64 extended information: only the fields whose 32-bit value is 0xFFFFFFFF, in order.
        const uint8_t * x = p + 46 + name_len;
        const uint8_t * xend = x + extra_len;
        while (xend - x >= 4) {
            const uint16_t id = u16(x), len = u16(x + 2);
            require(xend - x - 4 >= len, SDN_ERR_FORMAT, which + " ('" + display_name(z.name) + "') has a corrupt extra field");
            if (id == 0x0001) {
                const uint8_t * f = x + 4;
                const uint8_t * fend = f + len;
                auto take = [&](uint64_t & field) {
                    if (field != 0xFFFFFFFFu) return;
                    require(fend - f >= 8, SDN_ERR_FORMAT, which + " ('" + display_name(z.name) + "') has a short zip64 field");
                    field = u64(f);
                    f += 8;
                };
                take(z.uncompressed_size);
                take(z.compressed_size);
                take(z.local_header_offset);
            }
            x += 4 + len;
        }
        require(index_.emplace(z.name, entries_.size()).second, SDN_ERR_FORMAT,
                path + ": zip entry '" + display_name(z.name) + "' appears twice");
        entries_.push_back(std::move(z));
        p += 46 + name_len + extra_len + comment_len;
    }
}

const ZipEntry * ZipReader::find(const std::string & name) const {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : &entries_[it->second];
}

const uint8_t * ZipReader::stored_data(const ZipEntry & z) const {
    const std::string where = path() + ": zip entry '" + display_name(z.name) + "'";
    require((z.flags & 1) == 0, SDN_ERR_UNSUPPORTED, where + " is encrypted; encrypted zip entries are not supported");
    if (z.method != 0)
        fail(SDN_ERR_UNSUPPORTED, where + " is compressed (method " + std::to_string(z.method) +
                                      (z.method == 8 ? ", deflate" : "") +
                                      "); only stored (uncompressed) entries are supported, as torch.save writes them");
    require(z.compressed_size == z.uncompressed_size, SDN_ERR_FORMAT,
            where + " is stored but its compressed and uncompressed sizes differ");
    const uint64_t size = file_->size();
    const uint8_t * base = file_->data();
    require(z.local_header_offset <= size && size - z.local_header_offset >= 30, SDN_ERR_FORMAT,
            where + ": local header lies outside the file");
    const uint8_t * l = base + z.local_header_offset;
    require(u32(l) == kLocalSig, SDN_ERR_FORMAT, where + ": bad local header signature");
    const uint64_t data_offset = z.local_header_offset + 30 + u16(l + 26) + u16(l + 28);
    require(data_offset <= size && z.uncompressed_size <= size - data_offset, SDN_ERR_FORMAT,
            where + ": data (" + std::to_string(z.uncompressed_size) + " bytes at offset " +
                std::to_string(data_offset) + ") runs past the end of the file (" + std::to_string(size) +
                " bytes): file truncated?");
    return base + data_offset;
}

const uint8_t * ZipReader::stored_data_checked(const ZipEntry & z) const {
    const uint8_t * d = stored_data(z);
    require(crc32(d, static_cast<size_t>(z.uncompressed_size)) == z.crc32, SDN_ERR_FORMAT,
            path() + ": zip entry '" + display_name(z.name) + "' fails its CRC-32 check: file corrupt");
    return d;
}

}  // namespace sdn::io
