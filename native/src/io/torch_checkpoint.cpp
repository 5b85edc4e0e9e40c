#include "io/torch_checkpoint.h"

#include "core/error.h"
#include "io/pickle_reader.h"
#include "io/zip_reader.h"

#include <cstring>
#include <unordered_map>

namespace sdn::io {

using pickle::Kind;
using pickle::Object;

bool looks_like_legacy_torch(const uint8_t * data, size_t size) {
    return size >= 2 && data[0] == 0x80 && data[1] >= 2 && data[1] <= 5;
}

bool looks_like_zip(const uint8_t * data, size_t size) {
    return size >= 4 && data[0] == 'P' && data[1] == 'K' &&
           ((data[2] == 3 && data[3] == 4) || (data[2] == 5 && data[3] == 6));
}

namespace {

constexpr uint64_t kMaxPickleBytes = 1ull << 30;

// Builds the view of one tensor record.
TensorView make_view(const ZipReader & zip, const std::string & prefix, const std::string & name, const Object & t,
                     TensorSet & set) {
    const std::string & path = zip.path();
    const std::string where = path + ": tensor '" + display_name(name) + "'";
    const Object & storage = *t.storage;
    const uint64_t elsize = dtype_size(t.dtype);
    TensorView v;
    v.name = name;
    v.dtype = t.dtype;
    require(t.size.size() <= SDN_MAX_DIMS, SDN_ERR_UNSUPPORTED,
            where + ": " + std::to_string(t.size.size()) + " dimensions; at most " + std::to_string(SDN_MAX_DIMS) +
                " are supported");
    uint64_t numel = 1;
    for (size_t i = 0; i < t.size.size(); ++i) {
        require(t.size[i] >= 0, SDN_ERR_FORMAT, where + ": negative size in " + shape_string(t.size));
        require(t.stride[i] >= 0, SDN_ERR_FORMAT, where + ": negative stride in " + shape_string(t.stride));
        require(!mul_overflow_u64(numel, static_cast<uint64_t>(t.size[i]), &numel), SDN_ERR_FORMAT,
                where + ": shape product overflows");
    }
    v.shape = t.size;
    require(!mul_overflow_u64(numel, elsize, &v.nbytes), SDN_ERR_FORMAT, where + ": byte size overflows");

    const std::string entry_name = prefix + "data/" + storage.storage_key;
    const ZipEntry * entry = zip.find(entry_name);
    require(entry != nullptr, SDN_ERR_FORMAT,
            where + ": its storage '" + display_name(storage.storage_key) + "' (" + display_name(entry_name) + ") is missing from the archive");
    uint64_t storage_bytes = 0;
    require(!mul_overflow_u64(storage.storage_numel, elsize, &storage_bytes) && storage_bytes <= entry->uncompressed_size,
            SDN_ERR_FORMAT,
            where + ": storage '" + display_name(storage.storage_key) + "' claims " + std::to_string(storage.storage_numel) + " " +
                dtype_name(t.dtype) + " elements but its entry holds " + std::to_string(entry->uncompressed_size) +
                " bytes");
    const uint8_t * sdata = zip.stored_data(*entry);
    if (numel == 0) return v;

    // Highest element index touched: offset + sum((size - 1) * stride), all checked.
    uint64_t last = static_cast<uint64_t>(t.storage_offset);
    for (size_t i = 0; i < t.size.size(); ++i) {
        uint64_t span = 0;
        require(!mul_overflow_u64(static_cast<uint64_t>(t.size[i] - 1), static_cast<uint64_t>(t.stride[i]), &span) &&
                    !add_overflow_u64(last, span, &last),
                SDN_ERR_FORMAT, where + ": stride arithmetic overflows");
    }
    require(last < storage.storage_numel, SDN_ERR_FORMAT,
            where + ": shape " + shape_string(t.size) + ", stride " + shape_string(t.stride) + " and offset " +
                std::to_string(t.storage_offset) + " reach element " + std::to_string(last) + " of a storage of " +
                std::to_string(storage.storage_numel));

    bool contiguous = true;
    int64_t expect = 1;
    for (size_t i = t.size.size(); i-- > 0;) {
        if (t.size[i] != 1 && t.stride[i] != expect) contiguous = false;
        expect *= t.size[i];
    }
    const uint8_t * first = sdata + static_cast<uint64_t>(t.storage_offset) * elsize;
    if (contiguous) {
        v.data = first;
        return v;
    }
    require(v.nbytes <= storage_bytes, SDN_ERR_UNSUPPORTED,
            where + ": non-contiguous view (shape " + shape_string(t.size) + ", stride " + shape_string(t.stride) +
                ") is larger than its storage (an expanded tensor); re-save it with .contiguous()");
    std::unique_ptr<uint8_t[]> buf(new uint8_t[v.nbytes]);
    const size_t nd = t.size.size();
    std::vector<int64_t> idx(nd, 0);
    uint8_t * out = buf.get();
    for (uint64_t n = 0; n < numel; ++n) {
        uint64_t off = 0;
        for (size_t d = 0; d < nd; ++d) off += static_cast<uint64_t>(idx[d]) * static_cast<uint64_t>(t.stride[d]);
        std::memcpy(out, first + off * elsize, elsize);
        out += elsize;
        for (size_t d = nd; d-- > 0;) {
            if (++idx[d] < t.size[d]) break;
            idx[d] = 0;
        }
    }
    v.data = buf.get();
    set.owned.push_back(std::move(buf));
    return v;
}

const Object * dict_get(const Object & dict, const std::string & key) {
    const Object * found = nullptr;
    for (size_t i = 0; i + 1 < dict.items.size(); i += 2)
        if (dict.items[i]->kind == Kind::Str && dict.items[i]->text == key) found = dict.items[i + 1];  // last wins
    return found;
}

}  // namespace

TensorSet read_torch_checkpoint(const std::string & path) { return read_torch_checkpoint(MappedFile::open(path)); }

TensorSet read_torch_checkpoint(std::shared_ptr<const MappedFile> mapping) {
    TensorSet set;
    set.path = mapping->path();
    set.format = SDN_WEIGHT_FORMAT_TORCH_ZIP;
    const std::string & path = set.path;
    if (looks_like_legacy_torch(mapping->data(), mapping->size()))
        fail(SDN_ERR_UNSUPPORTED,
             path + ": legacy (non-zip) torch serialization is not supported; re-save with torch >= 1.6");
    require(looks_like_zip(mapping->data(), mapping->size()), SDN_ERR_FORMAT,
            path + ": not a torch checkpoint (no zip signature at the start)");

    ZipReader zip(mapping);
    // Find "<archive>/data.pkl" (one level deep), as torch.load does.
    const ZipEntry * pkl = nullptr;
    std::string prefix;
    for (const ZipEntry & e : zip.entries()) {
        const std::string & n = e.name;
        const size_t slash = n.find('/');
        if (slash != std::string::npos && slash > 0 && n.compare(slash, std::string::npos, "/data.pkl") == 0) {
            if (pkl != nullptr)
                fail(SDN_ERR_FORMAT, path + ": archive holds two pickles ('" + display_name(pkl->name) + "' and '" +
                                         display_name(n) + "')");
            pkl = &e;
            prefix = n.substr(0, slash + 1);
        }
    }
    require(pkl != nullptr, SDN_ERR_FORMAT, path + ": zip archive has no '<archive>/data.pkl': not a torch checkpoint");
    if (const ZipEntry * bo = zip.find(prefix + "byteorder")) {
        const uint8_t * d = zip.stored_data_checked(*bo);
        const std::string order(reinterpret_cast<const char *>(d), static_cast<size_t>(bo->uncompressed_size));
        require(order == "little", SDN_ERR_UNSUPPORTED,
                path + ": byte order '" + display_name(order.substr(0, 16)) + "' is not supported (only little-endian)");
    }
    require(pkl->uncompressed_size <= kMaxPickleBytes, SDN_ERR_FORMAT,
            path + ": '" + display_name(pkl->name) + "' is larger than 1 GiB");
    const uint8_t * pdata = zip.stored_data_checked(*pkl);

    pickle::Unpickler up(pdata, static_cast<size_t>(pkl->uncompressed_size), path);
    const Object * root = up.load();
    require(root->kind == Kind::Dict, SDN_ERR_FORMAT,
            path + ": the checkpoint holds a " + pickle::kind_name(root->kind) + ", not a state dict");
    if (const Object * sd = dict_get(*root, "state_dict")) {
        require(sd->kind == Kind::Dict, SDN_ERR_FORMAT,
                path + ": 'state_dict' is a " + std::string(pickle::kind_name(sd->kind)) + ", not a dict");
        root = sd;
    }

    std::unordered_map<std::string, size_t> seen;
    std::string skipped;
    for (size_t i = 0; i + 1 < root->items.size(); i += 2) {
        const Object * k = root->items[i];
        const Object * v = root->items[i + 1];
        if (v->kind != Kind::Tensor) {
            if (skipped.size() < 200) skipped += (skipped.empty() ? "" : ", ") + (k->kind == Kind::Str ? "'" + display_name(k->text) + "'" : std::string(pickle::kind_name(k->kind)));
            continue;
        }
        require(k->kind == Kind::Str, SDN_ERR_FORMAT,
                path + ": a tensor is keyed by a " + std::string(pickle::kind_name(k->kind)) + ", not a string");
        require(k->text.find('\0') == std::string::npos, SDN_ERR_FORMAT, path + ": a tensor name contains a NUL");
        TensorView view = make_view(zip, prefix, k->text, *v, set);
        auto it = seen.find(k->text);
        if (it != seen.end()) {
            set.tensors[it->second] = std::move(view);  // Python dict semantics: the last value wins
        } else {
            seen.emplace(k->text, set.tensors.size());
            set.tensors.push_back(std::move(view));
        }
    }
    require(!set.tensors.empty() || root->items.empty(), SDN_ERR_FORMAT,
            path + ": no tensors found in the checkpoint (keys: " + skipped + ")");
    set.mapping = std::move(mapping);
    set.build_index();
    return set;
}

}  // namespace sdn::io
