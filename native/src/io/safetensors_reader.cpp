#include "io/safetensors_reader.h"

#include "core/error.h"
#include "io/json.h"

#include <algorithm>
#include <cstring>

namespace sdn::io {

namespace {

uint64_t read_u64le(const uint8_t * p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}

uint64_t field_uint(const std::string & where, const JsonValue & v, const std::string & field) {
    if (v.type != JsonValue::Type::Number || !v.is_uint)
        fail(SDN_ERR_FORMAT, where + ": " + field + " must be a non-negative integer, got " +
                                 (v.type == JsonValue::Type::Number ? "a negative or fractional number"
                                                                    : std::string("a ") + json_type_name(v.type)));
    return v.uint_value;
}

}  // namespace

TensorSet read_safetensors(const std::string & path) { return read_safetensors(MappedFile::open(path)); }

TensorSet read_safetensors(std::shared_ptr<const MappedFile> mapping) {
    TensorSet set;
    set.path = mapping->path();
    set.format = SDN_WEIGHT_FORMAT_SAFETENSORS;
    const std::string & path = set.path;
    const uint8_t * base = mapping->data();
    const uint64_t file_size = mapping->size();

    require(file_size >= 8, SDN_ERR_FORMAT,
            path + ": file is too small (" + std::to_string(file_size) +
                " bytes) to be safetensors: the 8-byte header length is missing");
    const uint64_t header_len = read_u64le(base);
    require(header_len != 0, SDN_ERR_FORMAT, path + ": safetensors header length is 0");
    require(header_len <= kSafetensorsMaxHeader, SDN_ERR_FORMAT,
            path + ": safetensors header length " + std::to_string(header_len) + " is absurd (limit " +
                std::to_string(kSafetensorsMaxHeader) + " bytes); not a safetensors file?");
    require(header_len <= file_size - 8, SDN_ERR_FORMAT,
            path + ": safetensors header length " + std::to_string(header_len) + " exceeds the file size (" +
                std::to_string(file_size) + " bytes): file truncated?");
    const char * header = reinterpret_cast<const char *>(base + 8);
    require(header[0] == '{', SDN_ERR_FORMAT, path + ": safetensors header does not start with '{'");

    JsonValue root;
    try {
        root = parse_json(header, header_len);
    } catch (const Error & e) {
        fail(SDN_ERR_FORMAT, path + ": safetensors header is not valid JSON: " + e.what());
    }
    require(root.is_object(), SDN_ERR_FORMAT, path + ": safetensors header is not a JSON object");

    const uint64_t data_begin = 8 + header_len;
    const uint64_t data_size = file_size - data_begin;

    struct Range {
        uint64_t begin, end;
        size_t tensor;
    };
    std::vector<Range> ranges;
    ranges.reserve(root.object.size());

    for (const auto & kv : root.object) {
        const std::string & name = kv.first;
        const JsonValue & entry = kv.second;
        if (name == "__metadata__") {
            require(entry.is_object(), SDN_ERR_FORMAT,
                    path + ": __metadata__ must be an object of strings, got a " + json_type_name(entry.type));
            for (const auto & m : entry.object) {
                require(m.second.is_string(), SDN_ERR_FORMAT,
                        path + ": __metadata__ value '" + display_name(m.first) + "' must be a string, got a " +
                            json_type_name(m.second.type));
                set.metadata.emplace_back(m.first, m.second.string);
            }
            continue;
        }
        const std::string where = path + ": tensor '" + display_name(name) + "'";
        require(!name.empty(), SDN_ERR_FORMAT, path + ": a tensor has an empty name");
        require(name.find('\0') == std::string::npos, SDN_ERR_FORMAT, where + ": name contains a NUL character");
        require(entry.is_object(), SDN_ERR_FORMAT,
                where + ": entry must be an object, got a " + json_type_name(entry.type));

        const JsonValue * dtype = entry.get("dtype");
        const JsonValue * shape = entry.get("shape");
        const JsonValue * offsets = entry.get("data_offsets");
        require(dtype != nullptr, SDN_ERR_FORMAT, where + ": missing field 'dtype'");
        require(shape != nullptr, SDN_ERR_FORMAT, where + ": missing field 'shape'");
        require(offsets != nullptr, SDN_ERR_FORMAT, where + ": missing field 'data_offsets'");
        require(dtype->is_string(), SDN_ERR_FORMAT,
                where + ": field 'dtype' must be a string, got a " + json_type_name(dtype->type));
        require(shape->is_array(), SDN_ERR_FORMAT,
                where + ": field 'shape' must be an array, got a " + json_type_name(shape->type));
        require(offsets->is_array(), SDN_ERR_FORMAT,
                where + ": field 'data_offsets' must be an array, got a " + json_type_name(offsets->type));

        TensorView t;
        t.name = name;
        if (!dtype_from_name(dtype->string, &t.dtype))
            fail(SDN_ERR_UNSUPPORTED, where + ": unknown dtype '" + dtype->string + "'");
        require(shape->array.size() <= SDN_MAX_DIMS, SDN_ERR_UNSUPPORTED,
                where + ": " + std::to_string(shape->array.size()) + " dimensions; at most " +
                    std::to_string(SDN_MAX_DIMS) + " are supported");
        uint64_t numel = 1;
        for (size_t i = 0; i < shape->array.size(); ++i) {
            const uint64_t d = field_uint(where, shape->array[i], "shape[" + std::to_string(i) + "]");
            require(d <= static_cast<uint64_t>(INT64_MAX), SDN_ERR_FORMAT,
                    where + ": shape[" + std::to_string(i) + "] is too large");
            t.shape.push_back(static_cast<int64_t>(d));
            require(!mul_overflow_u64(numel, d, &numel), SDN_ERR_FORMAT, where + ": shape product overflows");
        }
        uint64_t nbytes = 0;
        require(!mul_overflow_u64(numel, dtype_size(t.dtype), &nbytes), SDN_ERR_FORMAT,
                where + ": byte size of the shape overflows");

        require(offsets->array.size() == 2, SDN_ERR_FORMAT,
                where + ": field 'data_offsets' must have 2 entries, got " + std::to_string(offsets->array.size()));
        const uint64_t b = field_uint(where, offsets->array[0], "data_offsets[0]");
        const uint64_t e = field_uint(where, offsets->array[1], "data_offsets[1]");
        require(b <= e, SDN_ERR_FORMAT,
                where + ": data_offsets [" + std::to_string(b) + ", " + std::to_string(e) + "] end before they begin");
        require(e - b == nbytes, SDN_ERR_FORMAT,
                where + ": shape " + shape_string(t.shape) + " x " + dtype_name(t.dtype) + " is " +
                    std::to_string(nbytes) + " bytes but data_offsets [" + std::to_string(b) + ", " +
                    std::to_string(e) + "] hold " + std::to_string(e - b));
        require(e <= data_size, SDN_ERR_FORMAT,
                where + ": data_offsets [" + std::to_string(b) + ", " + std::to_string(e) +
                    "] lie outside the data section (" + std::to_string(data_size) + " bytes): file truncated?");
        t.nbytes = nbytes;
        t.data = nbytes ? base + data_begin + b : nullptr;
        ranges.push_back({b, e, set.tensors.size()});
        set.tensors.push_back(std::move(t));
    }

    std::sort(ranges.begin(), ranges.end(), [](const Range & x, const Range & y) {
        return x.begin != y.begin ? x.begin < y.begin : x.end < y.end;
    });
    uint64_t expected = 0;
    const TensorView * prev = nullptr;
    for (const Range & r : ranges) {
        const TensorView & t = set.tensors[r.tensor];
        if (r.begin < expected)
            fail(SDN_ERR_FORMAT, path + ": tensor '" + display_name(t.name) + "' data_offsets [" + std::to_string(r.begin) +
                                     ", " + std::to_string(r.end) + "] overlap tensor '" +
                                     (prev ? display_name(prev->name) : std::string("?")) + "'");
        if (r.begin > expected)
            fail(SDN_ERR_FORMAT, path + ": tensor '" + display_name(t.name) + "' starts at data offset " + std::to_string(r.begin) +
                                     " leaving a gap of " + std::to_string(r.begin - expected) +
                                     " unindexed bytes before it");
        expected = r.end;
        prev = &t;
    }
    require(expected == data_size, SDN_ERR_FORMAT,
            path + ": the data section has " + std::to_string(data_size - expected) +
                " trailing bytes not covered by any tensor");

    set.mapping = std::move(mapping);
    set.build_index();
    return set;
}

}  // namespace sdn::io
