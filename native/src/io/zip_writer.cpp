#include "io/zip_writer.h"

#include "io/zip_reader.h"

namespace sdn::io {

namespace {
void put16(std::vector<uint8_t> & o, uint64_t v) {
    o.push_back(static_cast<uint8_t>(v));
    o.push_back(static_cast<uint8_t>(v >> 8));
}
void put32(std::vector<uint8_t> & o, uint64_t v) {
    put16(o, v & 0xffff);
    put16(o, (v >> 16) & 0xffff);
}
void put64(std::vector<uint8_t> & o, uint64_t v) {
    put32(o, v & 0xffffffffu);
    put32(o, v >> 32);
}
}  // namespace

void ZipWriter::add(const std::string & name, const void * data, size_t size, size_t align) {
    Entry e{name, crc32(static_cast<const uint8_t *>(data), size), size, out_.size()};
    const size_t header_end = out_.size() + 30 + name.size();
    size_t pad = 0;
    if (align > 1) {
        // Extra field "FB" + length + padding, as torch does.
        pad = (align - (header_end + 4) % align) % align;
    }
    put32(out_, 0x04034b50);
    put16(out_, 20);  // version needed
    put16(out_, 0);   // flags
    put16(out_, 0);   // stored
    put16(out_, 0);   // time
    put16(out_, 0x21);  // date
    put32(out_, e.crc);
    put32(out_, size);
    put32(out_, size);
    put16(out_, name.size());
    put16(out_, align > 1 ? pad + 4 : 0);
    out_.insert(out_.end(), name.begin(), name.end());
    if (align > 1) {
        put16(out_, 0x4246);  // "FB"
        put16(out_, pad);
        out_.insert(out_.end(), pad, 'Z');
    }
    const uint8_t * p = static_cast<const uint8_t *>(data);
    if (size) out_.insert(out_.end(), p, p + size);
    entries_.push_back(e);
}

std::vector<uint8_t> ZipWriter::finish(bool force_zip64) {
    const uint64_t cd_offset = out_.size();
    for (const Entry & e : entries_) {
        put32(out_, 0x02014b50);
        put16(out_, force_zip64 ? 45 : 20);  // made by
        put16(out_, force_zip64 ? 45 : 20);  // needed
        put16(out_, 0);
        put16(out_, 0);
        put16(out_, 0);
        put16(out_, 0x21);
        put32(out_, e.crc);
        put32(out_, force_zip64 ? 0xFFFFFFFFu : e.size);
        put32(out_, force_zip64 ? 0xFFFFFFFFu : e.size);
        put16(out_, e.name.size());
        put16(out_, force_zip64 ? 28 : 0);
        put16(out_, 0);  // comment
        put16(out_, 0);  // disk
        put16(out_, 0);  // internal attrs
        put32(out_, 0);  // external attrs
        put32(out_, force_zip64 ? 0xFFFFFFFFu : e.offset);
        out_.insert(out_.end(), e.name.begin(), e.name.end());
        if (force_zip64) {
            put16(out_, 0x0001);
            put16(out_, 24);
            put64(out_, e.size);
            put64(out_, e.size);
            put64(out_, e.offset);
        }
    }
    const uint64_t cd_size = out_.size() - cd_offset;
    if (force_zip64) {
        const uint64_t z64 = out_.size();
        put32(out_, 0x06064b50);
        put64(out_, 44);
        put16(out_, 45);
        put16(out_, 45);
        put32(out_, 0);
        put32(out_, 0);
        put64(out_, entries_.size());
        put64(out_, entries_.size());
        put64(out_, cd_size);
        put64(out_, cd_offset);
        put32(out_, 0x07064b50);
        put32(out_, 0);
        put64(out_, z64);
        put32(out_, 1);
    }
    put32(out_, 0x06054b50);
    put16(out_, 0);
    put16(out_, 0);
    put16(out_, force_zip64 ? 0xFFFF : entries_.size());
    put16(out_, force_zip64 ? 0xFFFF : entries_.size());
    put32(out_, force_zip64 ? 0xFFFFFFFFu : cd_size);
    put32(out_, force_zip64 ? 0xFFFFFFFFu : cd_offset);
    put16(out_, 0);
    std::vector<uint8_t> result;
    result.swap(out_);
    entries_.clear();
    return result;
}

}  // namespace sdn::io
