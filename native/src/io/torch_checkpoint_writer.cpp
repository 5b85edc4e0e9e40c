#include "io/torch_checkpoint_writer.h"

#include "core/error.h"
#include "io/tensor_set.h"
#include "io/zip_writer.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace sdn::io {

PickleBuilder & PickleBuilder::u32(uint32_t v) {
    for (int i = 0; i < 4; ++i) out_ += static_cast<char>((v >> (8 * i)) & 0xff);
    return *this;
}

PickleBuilder & PickleBuilder::str(const std::string & s) {
    if (s.size() < 256 && protocol_ >= 4) {
        op(0x8c).u8(static_cast<uint8_t>(s.size()));
    } else {
        op('X').u32(static_cast<uint32_t>(s.size()));
    }
    out_ += s;
    return *this;
}

PickleBuilder & PickleBuilder::integer(int64_t v) {
    if (v >= 0 && v < 256) return op('K').u8(static_cast<uint8_t>(v));
    if (v >= 0 && v < 65536) return op('M').u8(static_cast<uint8_t>(v & 0xff)).u8(static_cast<uint8_t>(v >> 8));
    if (v >= INT32_MIN && v <= INT32_MAX) return op('J').u32(static_cast<uint32_t>(static_cast<int32_t>(v)));
    op(0x8a).u8(8);
    for (int i = 0; i < 8; ++i) out_ += static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xff);
    return *this;
}

PickleBuilder & PickleBuilder::put(uint32_t index) {
    if (protocol_ >= 4) return op(0x94);  // MEMOIZE (index implied)
    if (index < 256) return op('q').u8(static_cast<uint8_t>(index));
    return op('r').u32(index);
}

PickleBuilder & PickleBuilder::get(uint32_t index) {
    if (index < 256) return op('h').u8(static_cast<uint8_t>(index));
    return op('j').u32(index);
}

PickleBuilder & PickleBuilder::global(const std::string & module, const std::string & name) {
    const std::string key = module + "\n" + name;
    for (const auto & g : globals_)
        if (g.first == key) return get(g.second);
    if (protocol_ >= 4) {
        str(module);
        put(next_memo_++);
        str(name);
        put(next_memo_++);
        op(0x93);
    } else {
        op('c');
        out_ += module + "\n" + name + "\n";
    }
    globals_.emplace_back(key, next_memo_);
    return put(next_memo_++);
}

PickleBuilder & PickleBuilder::int_tuple(const std::vector<int64_t> & v) {
    if (v.empty()) return empty_tuple();
    if (v.size() <= 3) {
        for (int64_t x : v) integer(x);
        return op(static_cast<uint8_t>(0x84 + v.size()));
    }
    mark();
    for (int64_t x : v) integer(x);
    return tuple();
}

PickleBuilder & PickleBuilder::tensor_v2(const std::string & storage_class, const std::string & key, uint64_t numel,
                                         int64_t offset, const std::vector<int64_t> & size,
                                         const std::vector<int64_t> & stride) {
    global("torch._utils", "_rebuild_tensor_v2");
    mark();
    mark();
    str("storage");
    global("torch", storage_class);
    str(key);
    str("cpu");
    integer(static_cast<int64_t>(numel));
    tuple();
    binpersid();
    integer(offset);
    int_tuple(size);
    int_tuple(stride);
    boolean(false);
    global("collections", "OrderedDict");
    empty_tuple();
    reduce();
    tuple();
    return reduce();
}

const char * torch_storage_class(sdn_dtype dtype) {
    switch (dtype) {
        case SDN_DTYPE_F32: return "FloatStorage";
        case SDN_DTYPE_F16: return "HalfStorage";
        case SDN_DTYPE_BF16: return "BFloat16Storage";
        case SDN_DTYPE_F64: return "DoubleStorage";
        case SDN_DTYPE_I64: return "LongStorage";
        case SDN_DTYPE_I32: return "IntStorage";
        case SDN_DTYPE_I16: return "ShortStorage";
        case SDN_DTYPE_I8: return "CharStorage";
        case SDN_DTYPE_U8: return "ByteStorage";
        case SDN_DTYPE_BOOL: return "BoolStorage";
    }
    return "FloatStorage";
}

std::vector<int64_t> contiguous_strides(const std::vector<int64_t> & shape) {
    std::vector<int64_t> s(shape.size());
    int64_t acc = 1;
    for (size_t i = shape.size(); i-- > 0;) {
        s[i] = acc;
        acc *= shape[i];
    }
    return s;
}

std::string torch_state_dict_pickle(const std::vector<TensorSpec> & specs, const TorchWriteOptions & o) {
    validate_specs(specs);
    PickleBuilder p(o.protocol);
    p.proto();
    auto open_dict = [&] {
        if (o.ordered_dict) {
            p.global("collections", "OrderedDict");
            p.empty_tuple().reduce();
        } else {
            p.empty_dict();
        }
    };
    if (o.lightning) {
        p.empty_dict().mark();
        p.str("epoch").integer(1);
        p.str("global_step").integer(10);
        p.str("pytorch-lightning_version").str("1.9.0");
        p.str("state_dict");
    }
    open_dict();
    if (!specs.empty()) p.mark();
    for (size_t i = 0; i < specs.size(); ++i) {
        const TensorSpec & s = specs[i];
        int64_t numel = 1;
        for (int64_t d : s.shape) numel *= d;
        p.str(s.name);
        if (o.parameters) p.global("torch._utils", "_rebuild_parameter").mark();
        p.tensor_v2(torch_storage_class(s.dtype), std::to_string(i), static_cast<uint64_t>(numel), 0, s.shape,
                    contiguous_strides(s.shape));
        if (o.parameters) {
            p.boolean(true);
            p.global("collections", "OrderedDict").empty_tuple().reduce();
            p.tuple().reduce();
        }
    }
    if (!specs.empty()) p.setitems();
    if (o.lightning) p.setitems();
    p.stop();
    return p.bytes();
}

std::vector<uint8_t> make_torch_checkpoint(const std::vector<TensorSpec> & specs, const std::vector<const void *> & data,
                                           const TorchWriteOptions & o) {
    const std::vector<uint64_t> sizes = validate_specs(specs);
    require(data.size() == specs.size(), SDN_ERR_INVALID_ARGUMENT, "torch checkpoint writer: one data pointer per tensor");
    ZipWriter zip;
    zip.add(o.archive + "/data.pkl", torch_state_dict_pickle(specs, o));
    if (o.write_byteorder) zip.add(o.archive + "/byteorder", std::string("little"));
    for (size_t i = 0; i < specs.size(); ++i) zip.add(o.archive + "/data/" + std::to_string(i), data[i], sizes[i]);
    zip.add(o.archive + "/version", std::string("3\n"));
    return zip.finish(o.zip64);
}

void write_torch_checkpoint(const std::string & path, const std::vector<TensorSpec> & specs,
                            const std::vector<const void *> & data, const TorchWriteOptions & o) {
    const std::vector<uint8_t> bytes = make_torch_checkpoint(specs, data, o);
    FILE * f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) fail(SDN_ERR_IO, "cannot create '" + path + "': " + std::strerror(errno));
    const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
    if (std::fclose(f) != 0 || !ok) fail(SDN_ERR_IO, "cannot write '" + path + "'");
}

}  // namespace sdn::io
