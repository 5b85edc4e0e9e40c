// PyTorch checkpoints written by torch.save (>= 1.6, zip format): .ckpt / .bin / .pt / .pth.
//
// The archive holds `<archive>/data.pkl` (the pickled object) and `<archive>/data/<key>` (one STORED
// entry per storage). The pickle goes through the restricted unpickler (pickle_reader.h); the root must
// be a dict, and a Lightning checkpoint's nested `state_dict` dict is unwrapped. Every tensor value with a
// string key becomes a view; other values (epoch counters, hyper-parameters) are skipped.
//
// Tensors are zero-copy views into the mmap of the zip when they are contiguous. Non-contiguous tensors
// (a saved transpose, say) are materialised once into a contiguous buffer owned by the TensorSet, as long
// as the result is no larger than the storage they view (expanded stride-0 views are refused, which keeps a
// hostile file from asking for terabytes). Offsets, sizes and strides are bounds-checked against the
// storage's zip entry.
//
// Legacy (non-zip) torch files, which start with a pickle, are SDN_ERR_UNSUPPORTED.
#pragma once

#include "io/tensor_set.h"

#include <string>

namespace sdn::io {

TensorSet read_torch_checkpoint(const std::string & path);
TensorSet read_torch_checkpoint(std::shared_ptr<const MappedFile> mapping);

// True when the bytes look like the legacy torch format (a pickle PROTO opcode at the start).
bool looks_like_legacy_torch(const uint8_t * data, size_t size);
// True for a zip archive (local header or empty-archive EOCD signature at the start).
bool looks_like_zip(const uint8_t * data, size_t size);

}  // namespace sdn::io
