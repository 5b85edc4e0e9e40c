// Opens any supported weight file, detecting the format from its content (not its extension).
#pragma once

#include "io/tensor_set.h"

namespace sdn::io {

// zip -> torch checkpoint; pickle at the start -> legacy torch (SDN_ERR_UNSUPPORTED); else safetensors.
TensorSet open_weight_file(const std::string & path);
TensorSet open_weight_file(std::shared_ptr<const MappedFile> file);

}  // namespace sdn::io
