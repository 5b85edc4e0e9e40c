#include "io/mapped_file.h"

#include "core/error.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace sdn::io {

std::shared_ptr<const MappedFile> MappedFile::open(const std::string & path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail(SDN_ERR_IO, "cannot open '" + path + "': " + std::strerror(errno));
    struct stat st;
    if (::fstat(fd, &st) != 0) {
        const int e = errno;
        ::close(fd);
        fail(SDN_ERR_IO, "cannot stat '" + path + "': " + std::strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        fail(SDN_ERR_IO, "'" + path + "' is not a regular file");
    }
    std::shared_ptr<MappedFile> m(new MappedFile());
    m->path_ = path;
    m->size_ = static_cast<size_t>(st.st_size);
    if (m->size_ > 0) {
        void * p = ::mmap(nullptr, m->size_, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            const int e = errno;
            ::close(fd);
            m->size_ = 0;
            fail(e == ENOMEM ? SDN_ERR_OUT_OF_MEMORY : SDN_ERR_IO,
                 "cannot memory-map '" + path + "' (" + std::to_string(st.st_size) + " bytes): " + std::strerror(e));
        }
        m->data_ = static_cast<const uint8_t *>(p);
        m->mapped_ = true;
    }
    ::close(fd);  // the mapping keeps its own reference to the file
    return m;
}

std::shared_ptr<const MappedFile> MappedFile::from_bytes(const std::string & name, const void * data, size_t size) {
    std::shared_ptr<MappedFile> m(new MappedFile());
    m->path_ = name;
    m->size_ = size;
    if (size > 0) {
        uint8_t * copy = new uint8_t[size];  // exactly `size` bytes, so sanitizers see any over-read
        std::memcpy(copy, data, size);
        m->data_ = copy;
    }
    return m;
}

MappedFile::~MappedFile() {
    if (data_ == nullptr) return;
    if (mapped_)
        ::munmap(const_cast<uint8_t *>(data_), size_);
    else
        delete[] data_;
}

}  // namespace sdn::io
