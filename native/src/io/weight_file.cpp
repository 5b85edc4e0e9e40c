#include "io/weight_file.h"

#include "core/error.h"
#include "io/safetensors_reader.h"
#include "io/torch_checkpoint.h"

namespace sdn::io {

TensorSet open_weight_file(const std::string & path) { return open_weight_file(MappedFile::open(path)); }

TensorSet open_weight_file(std::shared_ptr<const MappedFile> m) {
    const std::string path = m->path();
    require(m->size() > 0, SDN_ERR_FORMAT, path + ": file is empty");
    if (looks_like_zip(m->data(), m->size()) || looks_like_legacy_torch(m->data(), m->size()))
        return read_torch_checkpoint(std::move(m));
    return read_safetensors(std::move(m));
}

}  // namespace sdn::io
