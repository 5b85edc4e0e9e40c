// Shared between the weight-file and model parts of the C API: the TensorSet behind an sdn_weight_file,
// with shared ownership so weight maps (and models) can outlive the file handle.
#pragma once

#include "io/tensor_set.h"
#include "sd_native.h"

#include <memory>

namespace sdn {
std::shared_ptr<const io::TensorSet> weight_file_tensor_set(const sdn_weight_file * file);
}
