#include "cuda/dynload/dynamic_library.h"

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <dlfcn.h>
#include <link.h>
#include <sys/stat.h>

#include <cstdlib>
#include <set>
#include <sstream>

namespace sdn::dynload {

namespace {

bool is_dir(const std::string & p) {
    struct stat st {};
    return stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool is_file(const std::string & p) {
    struct stat st {};
    return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::vector<std::string> split_paths(const char * value) {
    std::vector<std::string> out;
    if (value == nullptr) return out;
    std::stringstream ss(value);
    std::string item;
    while (std::getline(ss, item, ':'))
        if (!item.empty()) out.push_back(item);
    return out;
}

std::vector<std::string> list_dir(const std::string & dir) {
    std::vector<std::string> out;
    DIR * d = opendir(dir.c_str());
    if (d == nullptr) return out;
    while (dirent * e = readdir(d)) {
        std::string name = e->d_name;
        if (name != "." && name != "..") out.push_back(name);
    }
    closedir(d);
    return out;
}

// <prefix>/lib/python3.*/{site,dist}-packages/nvidia/<pkg>/lib
void add_python_prefix(const std::string & prefix, const std::string & pkg, std::vector<std::string> & out) {
    for (const char * libdir : {"/lib", "/lib64"}) {
        const std::string base = prefix + libdir;
        for (const auto & entry : list_dir(base)) {
            if (entry.rfind("python3", 0) != 0) continue;
            for (const char * sp : {"/site-packages", "/dist-packages"}) {
                const std::string nvidia = base + "/" + entry + sp + "/nvidia";
                if (!is_dir(nvidia)) continue;
                out.push_back(nvidia + "/" + pkg + "/lib");
                // CUDA 13 wheels also ship a combined layout: nvidia/cu13/lib
                for (const auto & sub : list_dir(nvidia))
                    if (sub.rfind("cu", 0) == 0) out.push_back(nvidia + "/" + sub + "/lib");
            }
        }
    }
}

}  // namespace

std::vector<std::string> search_directories(const std::string & pkg) {
    std::vector<std::string> dirs;
    for (const auto & d : split_paths(std::getenv("SDN_CUDA_LIBS"))) dirs.push_back(d);
    for (const auto & d : split_paths(std::getenv("LD_LIBRARY_PATH"))) dirs.push_back(d);
    for (const char * var : {"CUDA_HOME", "CUDA_PATH"}) {
        if (const char * v = std::getenv(var)) {
            dirs.push_back(std::string(v) + "/lib64");
            dirs.push_back(std::string(v) + "/lib");
        }
    }
    dirs.push_back("/usr/local/cuda/lib64");
    dirs.push_back("/usr/local/cuda/targets/x86_64-linux/lib");
    for (const char * var : {"VIRTUAL_ENV", "CONDA_PREFIX"})
        if (const char * v = std::getenv(var)) add_python_prefix(v, pkg, dirs);
    for (const auto & p : split_paths(std::getenv("PATH"))) {
        if (p.size() > 4 && p.compare(p.size() - 4, 4, "/bin") == 0) add_python_prefix(p.substr(0, p.size() - 4), pkg, dirs);
    }
    add_python_prefix("/usr", pkg, dirs);
    add_python_prefix("/usr/local", pkg, dirs);
    add_python_prefix("/opt/conda", pkg, dirs);
    if (const char * home = std::getenv("HOME")) add_python_prefix(std::string(home) + "/.local", pkg, dirs);

    std::vector<std::string> unique;
    std::set<std::string> seen;
    for (auto & d : dirs)
        if (seen.insert(d).second) unique.push_back(d);
    return unique;
}

LoadResult load_library(const std::vector<std::string> & names, const std::string & pkg) {
    LoadResult result;
    std::string last_error;
    int dirs_tried = 0;
    for (const auto & dir : search_directories(pkg)) {
        if (!is_dir(dir)) continue;
        ++dirs_tried;
        for (const auto & name : names) {
            const std::string path = dir + "/" + name;
            if (!is_file(path)) continue;
            void * h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
            if (h != nullptr) {
                result.handle = h;
                result.path = path;
                return result;
            }
            const char * e = dlerror();
            last_error = e ? e : "dlopen failed";
        }
    }
    for (const auto & name : names) {
        void * h = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (h != nullptr) {
            result.handle = h;
            result.path = name;
            struct link_map * map = nullptr;
            if (dlinfo(h, RTLD_DI_LINKMAP, &map) == 0 && map != nullptr && map->l_name != nullptr && *map->l_name)
                result.path = map->l_name;
            return result;
        }
        const char * e = dlerror();
        if (last_error.empty() && e != nullptr) last_error = e;
    }
    std::string joined;
    for (const auto & n : names) joined += (joined.empty() ? "" : ", ") + n;
    result.reason = "none of [" + joined + "] found in " + std::to_string(dirs_tried) +
                    " existing search directories (SDN_CUDA_LIBS, LD_LIBRARY_PATH, CUDA install, python site-packages/nvidia/" +
                    pkg + "/lib) nor by the system loader";
    if (!last_error.empty()) result.reason += "; last loader error: " + last_error;
    return result;
}

void preload_from_directory(const std::string & loaded_path, const std::vector<std::string> & names) {
    const size_t slash = loaded_path.rfind('/');
    if (slash == std::string::npos) return;
    const std::string dir = loaded_path.substr(0, slash);
    for (const auto & name : names) {
        const std::string path = dir + "/" + name;
        if (is_file(path) && dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL) == nullptr) dlerror();
    }
}

void * find_symbol(void * handle, const char * name) { return handle ? dlsym(handle, name) : nullptr; }

}  // namespace sdn::dynload
