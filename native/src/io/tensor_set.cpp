#include "io/tensor_set.h"

#include "core/error.h"

#include <cstring>

namespace sdn::io {

namespace {
struct DTypeRow {
    sdn_dtype dtype;
    const char * name;
    size_t size;
};
constexpr DTypeRow kDTypes[] = {
    {SDN_DTYPE_F32, "F32", 4}, {SDN_DTYPE_F16, "F16", 2}, {SDN_DTYPE_BF16, "BF16", 2}, {SDN_DTYPE_F64, "F64", 8},
    {SDN_DTYPE_I64, "I64", 8}, {SDN_DTYPE_I32, "I32", 4}, {SDN_DTYPE_I16, "I16", 2},  {SDN_DTYPE_I8, "I8", 1},
    {SDN_DTYPE_U8, "U8", 1},   {SDN_DTYPE_BOOL, "BOOL", 1},
};
}  // namespace

const char * dtype_name(sdn_dtype dtype) {
    for (const auto & r : kDTypes)
        if (r.dtype == dtype) return r.name;
    return "?";
}

size_t dtype_size(sdn_dtype dtype) {
    for (const auto & r : kDTypes)
        if (r.dtype == dtype) return r.size;
    return 0;
}

bool dtype_from_name(const std::string & name, sdn_dtype * out) {
    for (const auto & r : kDTypes)
        if (name == r.name) {
            *out = r.dtype;
            return true;
        }
    return false;
}

bool is_weight_dtype(sdn_dtype dtype) {
    return dtype == SDN_DTYPE_F32 || dtype == SDN_DTYPE_F16 || dtype == SDN_DTYPE_BF16;
}

std::string display_name(const std::string & name) {
    std::string out;
    const size_t n = name.size() > 200 ? 200 : name.size();
    for (size_t i = 0; i < n; ++i) {
        const unsigned char c = static_cast<unsigned char>(name[i]);
        if (c < 0x20 || c == 0x7f) {
            static const char hex[] = "0123456789abcdef";
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 15];
        } else {
            out += static_cast<char>(c);
        }
    }
    if (name.size() > n) out += "...";
    return out;
}

std::string shape_string(const std::vector<int64_t> & shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) {
        if (i) s += ", ";
        s += std::to_string(shape[i]);
    }
    return s + "]";
}

void TensorSet::build_index() {
    index_.clear();
    index_.reserve(tensors.size());
    for (size_t i = 0; i < tensors.size(); ++i) {
        if (!index_.emplace(tensors[i].name, i).second)
            fail(SDN_ERR_FORMAT, path + ": tensor '" + display_name(tensors[i].name) + "' appears twice");
    }
}

const TensorView * TensorSet::find(const std::string & name) const {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : &tensors[it->second];
}

const TensorView & TensorSet::weight(const std::string & name) const {
    const TensorView * t = find(name);
    if (t == nullptr) fail(SDN_ERR_NOT_FOUND, path + ": no tensor named '" + display_name(name) + "'");
    if (!is_weight_dtype(t->dtype))
        fail(SDN_ERR_UNSUPPORTED, path + ": tensor '" + display_name(name) + "' has dtype " + dtype_name(t->dtype) +
                                      "; weights must be F32, F16 or BF16");
    return *t;
}

}  // namespace sdn::io
