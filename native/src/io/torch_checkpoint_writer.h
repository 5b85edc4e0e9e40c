// Writes small torch.save-compatible zip checkpoints without torch: a pickle emitter producing the
// opcode stream torch's pickler emits for a state dict (protocol 2 GLOBAL, or protocol 4 STACK_GLOBAL),
// plus one 64-byte-aligned STORED entry per storage. Used by tests, fuzz seeds and tools; the whole
// archive is built in memory, so it is meant for small files.
#pragma once

#include "io/safetensors_writer.h"

#include <cstdint>
#include <string>
#include <vector>

namespace sdn::io {

// Low-level pickle opcode emitter (tests build hostile streams with it).
class PickleBuilder {
public:
    explicit PickleBuilder(int protocol = 2) : protocol_(protocol) {}
    PickleBuilder & proto() { return op(0x80).u8(static_cast<uint8_t>(protocol_)); }
    PickleBuilder & op(uint8_t code) { out_ += static_cast<char>(code); return *this; }
    PickleBuilder & u8(uint8_t v) { out_ += static_cast<char>(v); return *this; }
    PickleBuilder & u32(uint32_t v);
    PickleBuilder & raw(const std::string & bytes) { out_ += bytes; return *this; }
    PickleBuilder & mark() { return op('('); }
    PickleBuilder & tuple() { return op('t'); }
    PickleBuilder & empty_tuple() { return op(')'); }
    PickleBuilder & empty_dict() { return op('}'); }
    PickleBuilder & setitems() { return op('u'); }
    PickleBuilder & reduce() { return op('R'); }
    PickleBuilder & binpersid() { return op('Q'); }
    PickleBuilder & stop() { return op('.'); }
    PickleBuilder & none() { return op('N'); }
    PickleBuilder & boolean(bool v) { return op(v ? 0x88 : 0x89); }
    PickleBuilder & str(const std::string & s);
    PickleBuilder & integer(int64_t v);
    // GLOBAL (protocol < 4) or SHORT_BINUNICODE x2 + STACK_GLOBAL (protocol >= 4); memoized like pickle does.
    PickleBuilder & global(const std::string & module, const std::string & name);
    PickleBuilder & put(uint32_t index);
    PickleBuilder & get(uint32_t index);
    PickleBuilder & int_tuple(const std::vector<int64_t> & v);
    // torch._utils._rebuild_tensor_v2(persistent storage, offset, size, stride, False, OrderedDict())
    PickleBuilder & tensor_v2(const std::string & storage_class, const std::string & key, uint64_t numel, int64_t offset,
                              const std::vector<int64_t> & size, const std::vector<int64_t> & stride);
    const std::string & bytes() const { return out_; }
    int protocol() const { return protocol_; }

private:
    int protocol_;
    std::string out_;
    std::vector<std::pair<std::string, uint32_t>> globals_;
    uint32_t next_memo_ = 0;
};

// "FloatStorage", "HalfStorage", ...
const char * torch_storage_class(sdn_dtype dtype);
std::vector<int64_t> contiguous_strides(const std::vector<int64_t> & shape);

struct TorchWriteOptions {
    std::string archive = "archive";  // the folder inside the zip
    int protocol = 2;                 // 2 (torch's default) or 4/5 (STACK_GLOBAL, MEMOIZE, FRAME-free)
    bool ordered_dict = true;         // collections.OrderedDict() as state_dict() returns, else a plain dict
    bool parameters = false;          // wrap tensors in torch._utils._rebuild_parameter
    bool lightning = false;           // {'epoch': 1, 'global_step': 10, 'state_dict': {...}}
    bool zip64 = false;               // force zip64 records
    bool write_byteorder = true;      // "<archive>/byteorder" = "little" (torch >= 2.1)
};

// The pickled state dict; tensor i uses storage key "i".
std::string torch_state_dict_pickle(const std::vector<TensorSpec> & specs, const TorchWriteOptions & options);
// The whole archive (data[i] holds tensor i's contiguous bytes).
std::vector<uint8_t> make_torch_checkpoint(const std::vector<TensorSpec> & specs, const std::vector<const void *> & data,
                                           const TorchWriteOptions & options = TorchWriteOptions());
void write_torch_checkpoint(const std::string & path, const std::vector<TensorSpec> & specs,
                            const std::vector<const void *> & data, const TorchWriteOptions & options = TorchWriteOptions());

}  // namespace sdn::io
