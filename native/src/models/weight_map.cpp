#include "models/weight_map.h"

#include "core/error.h"

namespace sdn {

namespace {

bool to_weight_type(sdn_dtype d, WeightType & out) {
    switch (d) {
        case SDN_DTYPE_F32: out = WeightType::F32; return true;
        case SDN_DTYPE_F16: out = WeightType::F16; return true;
        case SDN_DTYPE_BF16: out = WeightType::BF16; return true;
        default: return false;
    }
}

}  // namespace

void WeightMap::add(const std::string & name, const std::shared_ptr<const io::TensorSet> & file, const io::TensorView & src,
                    int64_t row_begin, int64_t row_end) {
    require(entries_.find(name) == entries_.end(), SDN_ERR_INVALID_ARGUMENT, "weight '" + name + "' was added twice");
    WeightEntry e;
    e.owner = file;
    e.host.name = name;
    require(to_weight_type(src.dtype, e.host.type), SDN_ERR_UNSUPPORTED,
            "tensor '" + src.name + "' in " + (file ? file->path : std::string("?")) + " has dtype " + io::dtype_name(src.dtype) +
                "; weights must be F32, F16 or BF16");
    require(src.shape.size() <= static_cast<size_t>(Shape::kMaxDims), SDN_ERR_UNSUPPORTED,
            "tensor '" + src.name + "' has " + std::to_string(src.shape.size()) + " dimensions");
    for (size_t i = 0; i < src.shape.size(); ++i) e.host.shape.d[i] = src.shape[i];
    e.host.shape.ndim = static_cast<int>(src.shape.size());
    e.host.data = src.data;
    if (row_begin >= 0) {
        require(e.host.shape.ndim >= 1 && row_begin < row_end && row_end <= e.host.shape.d[0], SDN_ERR_SHAPE,
                "rows [" + std::to_string(row_begin) + ", " + std::to_string(row_end) + ") are outside tensor '" + src.name +
                    "' of shape " + e.host.shape.str());
        const int64_t row_elems = e.host.shape.numel() / e.host.shape.d[0];
        e.host.data = src.data + static_cast<size_t>(row_begin * row_elems) * weight_type_size(e.host.type);
        e.host.shape.d[0] = row_end - row_begin;
    }
    entries_.emplace(name, std::move(e));
}

const WeightEntry * WeightMap::find(const std::string & name) const {
    auto it = entries_.find(name);
    return it == entries_.end() ? nullptr : &it->second;
}

Weight ParamLoader::get(const std::string & name, const Shape & shape, bool as_f32) {
    const WeightEntry * e = map_.find(name);
    require(e != nullptr, SDN_ERR_NOT_FOUND, "missing tensor '" + name + "' (expected shape " + shape.str() + ")");
    Shape found = e->host.shape;
    // A [out, in] linear stored as a 1x1 conv [out, in, 1, 1] (or the reverse) is the same matrix.
    auto squeeze = [](Shape s) {
        while (s.ndim > 2 && s.d[s.ndim - 1] == 1) --s.ndim;
        return s;
    };
    require(found == shape || (shape.ndim != found.ndim && squeeze(found) == squeeze(shape)), SDN_ERR_SHAPE,
            "tensor '" + name + "' has shape " + found.str() + ", expected " + shape.str());
    used_[name] = true;
    Weight w = backend_.make_weight(e->host, as_f32);
    w.shape = shape;
    sink_.push_back(w);
    return w;
}

Weight ParamLoader::optional(const std::string & name, const Shape & shape, bool as_f32) {
    if (!has(name)) return Weight{};
    return get(name, shape, as_f32);
}

Shape ParamLoader::shape_of(const std::string & name) const {
    const WeightEntry * e = map_.find(name);
    require(e != nullptr, SDN_ERR_NOT_FOUND, "missing tensor '" + name + "'");
    return e->host.shape;
}

std::vector<std::string> ParamLoader::unused() const {
    std::vector<std::string> out;
    for (const auto & kv : map_.entries())
        if (used_.find(kv.first) == used_.end()) out.push_back(kv.first);
    return out;
}

}  // namespace sdn
