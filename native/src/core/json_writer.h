// Minimal JSON emitter for reports (backend info, benchmark rows). Not a parser.
#pragma once

#include <cstdio>
#include <string>

namespace sdn {

class JsonWriter {
public:
    JsonWriter & begin_object() { comma(); out_ += '{'; first_ = true; return *this; }
    JsonWriter & end_object() { out_ += '}'; first_ = false; return *this; }
    JsonWriter & begin_array() { comma(); out_ += '['; first_ = true; return *this; }
    JsonWriter & end_array() { out_ += ']'; first_ = false; return *this; }
    JsonWriter & key(const std::string & k) {
        comma();
        quote(k);
        out_ += ':';
        first_ = true;  // the value that follows takes no comma
        return *this;
    }
    JsonWriter & value(const std::string & s) { comma(); quote(s); return *this; }
    JsonWriter & value(const char * s) { return value(std::string(s ? s : "")); }
    JsonWriter & value(bool b) { comma(); out_ += b ? "true" : "false"; return *this; }
    JsonWriter & value(int v) { return number(static_cast<double>(v)); }
    JsonWriter & value(long v) { return number(static_cast<double>(v)); }
    JsonWriter & value(long long v) { return number(static_cast<double>(v)); }
    JsonWriter & value(unsigned long v) { return number(static_cast<double>(v)); }
    JsonWriter & value(unsigned long long v) { return number(static_cast<double>(v)); }
    JsonWriter & value(double v) { return number(v); }
    JsonWriter & null() { comma(); out_ += "null"; return *this; }

    template <typename T>
    JsonWriter & field(const std::string & k, const T & v) { key(k); return value(v); }

    const std::string & str() const { return out_; }

private:
    void comma() {
        if (!first_) out_ += ',';
        first_ = false;
    }
    JsonWriter & number(double v) {
        comma();
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.17g", v);
        out_ += buf;
        return *this;
    }
    void quote(const std::string & s) {
        out_ += '"';
        for (unsigned char ch : s) {
            switch (ch) {
                case '"': out_ += "\\\""; break;
                case '\\': out_ += "\\\\"; break;
                case '\n': out_ += "\\n"; break;
                case '\r': out_ += "\\r"; break;
                case '\t': out_ += "\\t"; break;
                default:
                    if (ch < 0x20) {
                        char buf[8];
                        std::snprintf(buf, sizeof buf, "\\u%04x", ch);
                        out_ += buf;
                    } else {
                        out_ += static_cast<char>(ch);
                    }
            }
        }
        out_ += '"';
    }

    std::string out_;
    bool first_ = true;
};

}  // namespace sdn
