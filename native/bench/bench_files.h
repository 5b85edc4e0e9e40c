// Small file helpers shared by the benchmark sources.
#pragma once

#include <fstream>
#include <sstream>
#include <string>
#include <sys/stat.h>

namespace sdn_bench {

inline bool is_file(const std::string & p) {
    struct stat st {};
    return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

inline bool is_dir(const std::string & p) {
    struct stat st {};
    return stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// Whole file into `out`; false when it cannot be opened.
inline bool read_file(const std::string & p, std::string & out) {
    std::ifstream f(p, std::ios::binary);
    if (!f) return false;
    std::ostringstream ss;
    ss << f.rdbuf();
    out = ss.str();
    return true;
}

// Whole file, or "" when it cannot be opened.
inline std::string read_text(const std::string & p) {
    std::string out;
    read_file(p, out);
    return out;
}

}  // namespace sdn_bench
