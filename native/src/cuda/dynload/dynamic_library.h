// Finding and opening a shared library at run time (dlopen), so the CUDA libraries that are large and
// optional (cuBLASLt, cuDNN) are never link-time dependencies of the binary.
#pragma once

#include <string>
#include <vector>

namespace sdn::dynload {

struct LoadResult {
    void * handle = nullptr;     // dlopen handle, or nullptr when nothing loaded
    std::string path;            // the file that was loaded
    std::string reason;          // why nothing loaded (every place tried, and dlerror of the closest miss)
};

// Directories searched, in order: $SDN_CUDA_LIBS (':'-separated), $LD_LIBRARY_PATH, the CUDA install
// ($CUDA_HOME, $CUDA_PATH, /usr/local/cuda), and Python environments' site-packages/nvidia/<pkg>/lib
// ($VIRTUAL_ENV, $CONDA_PREFIX, python prefixes next to each $PATH entry, /usr/lib, /usr/local/lib,
// ~/.local/lib). `nvidia_package` names the pip package folder (e.g. "cublas", "cudnn").
std::vector<std::string> search_directories(const std::string & nvidia_package);

// Tries each candidate file name in each directory, then the bare names (system loader search).
LoadResult load_library(const std::vector<std::string> & names, const std::string & nvidia_package);

// Opens each of `names` that exists in the directory of `loaded_path` (RTLD_NOW | RTLD_GLOBAL), in order,
// and keeps it open for the life of the process: companions a library opens by soname later (cuDNN 9's
// sub-libraries) are then found already loaded. Missing or unloadable ones are skipped.
void preload_from_directory(const std::string & loaded_path, const std::vector<std::string> & names);

// dlsym wrapper; nullptr if absent.
void * find_symbol(void * handle, const char * name);

}  // namespace sdn::dynload
