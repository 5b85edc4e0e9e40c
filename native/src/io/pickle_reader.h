// A restricted unpickler for torch state dicts. It builds plain data and nothing else: there is no code
// to run, so a hostile pickle can at worst be refused. What it understands:
//   - opcodes of protocols 2-5 that pickle emits for dicts, lists, tuples, strings, bytes, numbers,
//     memo, MARK and friends, FRAME, GLOBAL / STACK_GLOBAL, REDUCE / NEWOBJ / NEWOBJ_EX, BUILD, BINPERSID
//     (protocol-0 text opcodes, sets, extension registry, out-of-band buffers and PERSID are refused)
//   - globals from a fixed allowlist, each with a fixed meaning:
//       collections.OrderedDict                   -> a dict
//       torch._utils._rebuild_tensor_v2 / _rebuild_tensor / _rebuild_parameter /
//       _rebuild_parameter_with_state             -> a tensor record (storage, offset, size, stride)
//       torch.{Float,Half,BFloat16,Double,Long,Int,Short,Char,Byte,Bool}Storage
//                                                 -> a storage dtype (only inside persistent ids)
//       torch.device                              -> an inert value
//     and a few data-only classes that real SD checkpoints carry outside their state dict, kept as inert
//     opaque values that can never become tensors: numpy.core.multiarray.scalar / _reconstruct,
//     numpy.dtype, numpy.ndarray, _codecs.encode,
//     pytorch_lightning.callbacks.model_checkpoint.ModelCheckpoint.
//     Every other global is refused by name ("refused to load global 'os.system' from <file>: only torch
//     state-dict types are allowed"); calling an allowlisted global that is not a constructor (a storage
//     class, say) is refused too. torch.storage._load_from_bytes is refused: it would unpickle nested data.
//   - persistent ids ('storage', <storage class>, key, location, numel) -> a storage reference
// Resource limits: objects are owned by an arena (no recursion on destruction, cycles are harmless),
// memo indexes are bounded by the pickle size, integers by 64 bits, object count by kMaxObjects.
#pragma once

#include "sd_native.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace sdn::io::pickle {

enum class Kind : uint8_t { None, Bool, Int, Float, Str, Bytes, Tuple, List, Dict, Global, Storage, Tensor, Opaque };

enum class GlobalId : uint8_t {
    OrderedDict,
    RebuildTensorV2,
    RebuildTensor,
    RebuildParameter,
    RebuildParameterWithState,
    StorageType,
    Device,
    Inert
};

struct Object {
    Kind kind = Kind::None;
    bool boolean = false;
    int64_t integer = 0;
    double real = 0;
    std::string text;             // Str / Bytes contents; Global / Opaque: "module.name"
    std::vector<Object *> items;  // Tuple / List elements; Dict: key0, value0, key1, value1, ...
    GlobalId global = GlobalId::Inert;
    sdn_dtype dtype = SDN_DTYPE_F32;  // Global(StorageType), Storage, Tensor
    // Storage (from a persistent id)
    std::string storage_key;
    std::string location;
    uint64_t storage_numel = 0;
    // Tensor
    Object * storage = nullptr;
    int64_t storage_offset = 0;
    std::vector<int64_t> size, stride;
};

const char * kind_name(Kind kind);

constexpr size_t kMaxObjects = size_t(1) << 24;

class Unpickler {
public:
    // `source` names the input in messages (the checkpoint path).
    Unpickler(const uint8_t * data, size_t size, std::string source);
    // Runs to STOP and returns the root object (owned by the unpickler). Throws sdn::Error:
    // SDN_ERR_FORMAT for malformed or refused input, SDN_ERR_UNSUPPORTED for valid pickle features
    // outside the subset.
    Object * load();

private:
    Object * make(Kind kind);
    [[noreturn]] void error(const std::string & what) const;
    void need(size_t n) const;
    uint8_t byte();
    uint64_t le(int n);
    Object * pop();
    Object * top();
    std::vector<Object *> pop_mark();
    Object * resolve_global(const std::string & module, const std::string & name);
    Object * call(Object * callable, Object * args, const char * opcode);
    void memo_put(uint64_t index, Object * obj);
    Object * memo_get(uint64_t index);
    Object * persistent_load(Object * pid);

    const uint8_t * data_;
    size_t size_;
    size_t pos_ = 0;
    size_t op_pos_ = 0;
    std::string source_;
    std::vector<std::unique_ptr<Object>> arena_;
    std::vector<Object *> stack_;
    std::vector<size_t> marks_;
    std::unordered_map<uint64_t, Object *> memo_;
};

}  // namespace sdn::io::pickle
