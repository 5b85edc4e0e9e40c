#include "io/json.h"

#include "core/error.h"

#include <charconv>
#include <cstdio>
#include <unordered_set>

namespace sdn::io {

const JsonValue * JsonValue::get(const std::string & key) const {
    if (type != Type::Object) return nullptr;
    for (const auto & kv : object)
        if (kv.first == key) return &kv.second;
    return nullptr;
}

const char * json_type_name(JsonValue::Type type) {
    switch (type) {
        case JsonValue::Type::Null: return "null";
        case JsonValue::Type::Bool: return "boolean";
        case JsonValue::Type::Number: return "number";
        case JsonValue::Type::String: return "string";
        case JsonValue::Type::Array: return "array";
        case JsonValue::Type::Object: return "object";
    }
    return "?";
}

namespace {

class Parser {
public:
    Parser(const char * data, size_t size, int max_depth) : p_(data), begin_(data), end_(data + size), max_depth_(max_depth) {}

    JsonValue parse_document() {
        skip_ws();
        JsonValue v = parse_value(0);
        skip_ws();
        if (p_ != end_) error("unexpected data after the JSON value");
        return v;
    }

private:
    [[noreturn]] void error(const std::string & what) const {
        fail(SDN_ERR_FORMAT, what + " at byte " + std::to_string(static_cast<size_t>(p_ - begin_)));
    }

    void skip_ws() {
        while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
    }

    bool literal(const char * word) {
        const char * q = p_;
        for (; *word; ++word, ++q)
            if (q >= end_ || *q != *word) return false;
        p_ = q;
        return true;
    }

    JsonValue parse_value(int depth) {
        if (p_ >= end_) error("unexpected end of JSON");
        JsonValue v;
        switch (*p_) {
            case '{': parse_object(v, depth); break;
            case '[': parse_array(v, depth); break;
            case '"':
                v.type = JsonValue::Type::String;
                parse_string(v.string);
                break;
            case 't':
                if (!literal("true")) error("invalid literal");
                v.type = JsonValue::Type::Bool;
                v.boolean = true;
                break;
            case 'f':
                if (!literal("false")) error("invalid literal");
                v.type = JsonValue::Type::Bool;
                break;
            case 'n':
                if (!literal("null")) error("invalid literal");
                break;
            default:
                if (*p_ == '-' || (*p_ >= '0' && *p_ <= '9')) {
                    parse_number(v);
                } else {
                    error(std::string("unexpected character ") + describe(*p_));
                }
        }
        return v;
    }

    static std::string describe(char c) {
        const unsigned char u = static_cast<unsigned char>(c);
        char buf[16];
        if (u >= 0x20 && u < 0x7f)
            std::snprintf(buf, sizeof buf, "'%c'", c);
        else
            std::snprintf(buf, sizeof buf, "0x%02x", u);
        return buf;
    }

    void parse_object(JsonValue & v, int depth) {
        if (depth >= max_depth_) error("JSON nested deeper than " + std::to_string(max_depth_) + " levels");
        v.type = JsonValue::Type::Object;
        ++p_;  // '{'
        skip_ws();
        if (p_ < end_ && *p_ == '}') {
            ++p_;
            return;
        }
        std::unordered_set<std::string> seen;
        for (;;) {
            skip_ws();
            if (p_ >= end_ || *p_ != '"') error("expected a string key");
            std::string key;
            parse_string(key);
            if (!seen.insert(key).second) error("duplicate key \"" + key + "\"");
            skip_ws();
            if (p_ >= end_ || *p_ != ':') error("expected ':'");
            ++p_;
            skip_ws();
            JsonValue child = parse_value(depth + 1);
            v.object.emplace_back(std::move(key), std::move(child));
            skip_ws();
            if (p_ >= end_) error("unterminated object");
            if (*p_ == ',') {
                ++p_;
                continue;
            }
            if (*p_ == '}') {
                ++p_;
                return;
            }
            error("expected ',' or '}'");
        }
    }

    void parse_array(JsonValue & v, int depth) {
        if (depth >= max_depth_) error("JSON nested deeper than " + std::to_string(max_depth_) + " levels");
        v.type = JsonValue::Type::Array;
        ++p_;  // '['
        skip_ws();
        if (p_ < end_ && *p_ == ']') {
            ++p_;
            return;
        }
        for (;;) {
            skip_ws();
            v.array.push_back(parse_value(depth + 1));
            skip_ws();
            if (p_ >= end_) error("unterminated array");
            if (*p_ == ',') {
                ++p_;
                continue;
            }
            if (*p_ == ']') {
                ++p_;
                return;
            }
            error("expected ',' or ']'");
        }
    }

    static void put_utf8(std::string & out, uint32_t cp) {
        if (cp < 0x80) {
            out += static_cast<char>(cp);
        } else if (cp < 0x800) {
            out += static_cast<char>(0xC0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out += static_cast<char>(0xE0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
            out += static_cast<char>(0xF0 | (cp >> 18));
            out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        }
    }

    uint32_t hex4() {
        if (end_ - p_ < 4) error("truncated \\u escape");
        uint32_t v = 0;
        for (int i = 0; i < 4; ++i, ++p_) {
            const char c = *p_;
            v <<= 4;
            if (c >= '0' && c <= '9') v |= static_cast<uint32_t>(c - '0');
            else if (c >= 'a' && c <= 'f') v |= static_cast<uint32_t>(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F') v |= static_cast<uint32_t>(c - 'A' + 10);
            else error("invalid hex digit in \\u escape");
        }
        return v;
    }

    // Validates one UTF-8 sequence starting at p_ (a byte >= 0x80) and copies it.
    void copy_utf8(std::string & out) {
        const unsigned char b0 = static_cast<unsigned char>(*p_);
        int len;
        uint32_t cp, min;
        if (b0 >= 0xC2 && b0 <= 0xDF) { len = 2; cp = b0 & 0x1F; min = 0x80; }
        else if (b0 >= 0xE0 && b0 <= 0xEF) { len = 3; cp = b0 & 0x0F; min = 0x800; }
        else if (b0 >= 0xF0 && b0 <= 0xF4) { len = 4; cp = b0 & 0x07; min = 0x10000; }
        else error("invalid UTF-8 byte " + describe(static_cast<char>(b0)));
        if (end_ - p_ < len) error("truncated UTF-8 sequence");
        for (int i = 1; i < len; ++i) {
            const unsigned char b = static_cast<unsigned char>(p_[i]);
            if ((b & 0xC0) != 0x80) error("invalid UTF-8 continuation byte");
            cp = (cp << 6) | (b & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) error("invalid UTF-8 sequence");
        out.append(p_, static_cast<size_t>(len));
        p_ += len;
    }

    void parse_string(std::string & out) {
        ++p_;  // opening quote
        for (;;) {
            if (p_ >= end_) error("unterminated string");
            const unsigned char c = static_cast<unsigned char>(*p_);
            if (c == '"') {
                ++p_;
                return;
            }
            if (c < 0x20) error("unescaped control character in string");
            if (c >= 0x80) {
                copy_utf8(out);
                continue;
            }
            if (c != '\\') {
                out += static_cast<char>(c);
                ++p_;
                continue;
            }
            ++p_;
            if (p_ >= end_) error("unterminated escape");
            const char e = *p_++;
            switch (e) {
                case '"': out += '"'; break;
                case '\\': out += '\\'; break;
                case '/': out += '/'; break;
                case 'b': out += '\b'; break;
                case 'f': out += '\f'; break;
                case 'n': out += '\n'; break;
                case 'r': out += '\r'; break;
                case 't': out += '\t'; break;
                case 'u': {
                    uint32_t cp = hex4();
                    if (cp >= 0xDC00 && cp <= 0xDFFF) error("unpaired low surrogate in \\u escape");
                    if (cp >= 0xD800 && cp <= 0xDBFF) {
                        if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') error("unpaired high surrogate in \\u escape");
                        p_ += 2;
                        const uint32_t lo = hex4();
                        if (lo < 0xDC00 || lo > 0xDFFF) error("invalid low surrogate in \\u escape");
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    }
                    put_utf8(out, cp);
                    break;
                }
                default: --p_; error(std::string("invalid escape \\") + describe(e));
            }
        }
    }

    void parse_number(JsonValue & v) {
        const char * start = p_;
        bool negative = false, integral = true;
        if (*p_ == '-') {
            negative = true;
            ++p_;
        }
        if (p_ >= end_) error("truncated number");
        if (*p_ == '0') {
            ++p_;
            if (p_ < end_ && *p_ >= '0' && *p_ <= '9') error("leading zero in number");
        } else if (*p_ >= '1' && *p_ <= '9') {
            while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
        } else {
            error("invalid number");
        }
        if (p_ < end_ && *p_ == '.') {
            integral = false;
            ++p_;
            if (p_ >= end_ || !(*p_ >= '0' && *p_ <= '9')) error("digit expected after '.'");
            while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
        }
        if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
            integral = false;
            ++p_;
            if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
            if (p_ >= end_ || !(*p_ >= '0' && *p_ <= '9')) error("digit expected in exponent");
            while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
        }
        v.type = JsonValue::Type::Number;
        double d = 0;
        auto r = std::from_chars(start, p_, d);
        if (r.ec == std::errc::result_out_of_range) {
            // Over- or underflow: keep the parse strict but give a finite value (it is never used for sizes).
            d = 0;
        } else if (r.ec != std::errc() || r.ptr != p_) {
            error("invalid number");
        }
        v.number = d;
        if (integral && !negative) {
            uint64_t u = 0;
            auto ri = std::from_chars(start, p_, u);
            if (ri.ec == std::errc() && ri.ptr == p_) {
                v.is_uint = true;
                v.uint_value = u;
            }
        }
    }

    const char * p_;
    const char * begin_;
    const char * end_;
    int max_depth_;
};

}  // namespace

JsonValue parse_json(const char * data, size_t size, int max_depth) {
    Parser parser(data, size, max_depth);
    return parser.parse_document();
}

void json_quote(std::string & out, const std::string & s) {
    out += '"';
    for (unsigned char ch : s) {
        switch (ch) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            default:
                if (ch < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", ch);
                    out += buf;
                } else {
                    out += static_cast<char>(ch);
                }
        }
    }
    out += '"';
}

}  // namespace sdn::io
