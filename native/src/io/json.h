// A small strict JSON parser (RFC 8259) for untrusted headers: no extensions (no comments, trailing
// commas, NaN, single quotes), UTF-8 validated, surrogate pairs checked, duplicate object keys rejected,
// nesting depth limited. Integers without fraction/exponent are also kept exactly as uint64 when they fit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace sdn::io {

struct JsonValue {
    enum class Type { Null, Bool, Number, String, Array, Object };
    Type type = Type::Null;
    bool boolean = false;
    double number = 0;
    bool is_uint = false;   // a non-negative integer literal that fits uint64 (no '.', no exponent)
    uint64_t uint_value = 0;
    std::string string;
    std::vector<JsonValue> array;
    std::vector<std::pair<std::string, JsonValue>> object;  // in document order, keys unique

    bool is_object() const { return type == Type::Object; }
    bool is_array() const { return type == Type::Array; }
    bool is_string() const { return type == Type::String; }
    // nullptr when absent (or not an object).
    const JsonValue * get(const std::string & key) const;
};

const char * json_type_name(JsonValue::Type type);

// Parses exactly one JSON value spanning [data, data + size) (surrounding whitespace allowed).
// Throws sdn::Error(SDN_ERR_FORMAT, "<what> at byte <offset>") on any violation.
JsonValue parse_json(const char * data, size_t size, int max_depth = 64);

// Appends `s` as a JSON string literal (quotes included).
void json_quote(std::string & out, const std::string & s);

}  // namespace sdn::io
