// Random-weight model folders for sdn_bench --synthetic (see synthetic_model.h).
//
// Weight values. The benchmarks only time the networks, but the values still matter: a weight set that
// lets activations blow up turns the f16 paths of the GPU backend into inf/NaN arithmetic, which can run
// at a different speed and hides real failures. So the rule keeps activations O(1) the way standard
// initialisers do:
//   * tensors with >= 2 dims (linear, convolution, embedding tables): uniform in +-sqrt(3 / fan_in),
//     fan_in = product of the dims after the first, i.e. variance 1 / fan_in, so a layer maps unit-variance
//     inputs to unit-variance outputs;
//   * 1-D normalisation scales (GroupNorm / LayerNorm ".weight" of a module whose name contains "norm"): 1;
//   * every other 1-D tensor (biases, norm shifts): uniform in +-0.01.
// Each value is a pure function of (seed, tensor name, element index) — a counter-based generator — so the
// file is identical however the writer chunks it and however many threads fill a chunk.
#include "synthetic_model.h"
#include "bench_files.h"

#include "core/half.h"
#include "sd_native.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits.h>
#include <map>
#include <sstream>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace sdn_bench {

namespace {

constexpr uint64_t kSeed = 20261123;
// Written into each file's __metadata__; a kept folder is reused only when it carries the same marker
// (bump the version when the value rule changes).
constexpr const char * kMarkerKey = "sdn_bench_synthetic";
constexpr const char * kMarkerValue = "init-v1 seed 20261123";

struct Component {
    const char * folder;
    const char * weights_file;
};
constexpr Component kComponents[] = {
    {"unet", "diffusion_pytorch_model.safetensors"},
    {"vae", "diffusion_pytorch_model.safetensors"},
    {"text_encoder", "model.safetensors"},
};

struct Param {
    std::string name;
    std::vector<int64_t> shape;
};

bool write_file(const std::string & p, const std::string & text) {
    std::ofstream f(p, std::ios::binary | std::ios::trunc);
    f << text;
    return static_cast<bool>(f);
}

// params.txt: one tensor per line, "name dim0 dim1 ...".
bool read_params(const std::string & path, std::vector<Param> & out, std::string & error) {
    std::ifstream f(path);
    if (!f) {
        error = "cannot read " + path;
        return false;
    }
    std::string line;
    while (std::getline(f, line)) {
        std::istringstream ls(line);
        Param p;
        if (!(ls >> p.name)) continue;  // blank line
        int64_t d = 0;
        while (ls >> d) p.shape.push_back(d);
        if (p.shape.empty() || p.shape.size() > SDN_MAX_DIMS) {
            error = path + ": bad line \"" + line + "\"";
            return false;
        }
        out.push_back(std::move(p));
    }
    if (out.empty()) error = path + " lists no tensors";
    return !out.empty();
}

// ---- values ---------------------------------------------------------------------------------------

uint64_t mix64(uint64_t z) {  // splitmix64's finaliser: a good 64-bit bijective hash
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t name_hash(const std::string & s) {  // FNV-1a
    uint64_t h = 0xcbf29ce484222325ull;
    for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
    return h;
}

bool is_norm_scale(const std::string & name) {
    const std::string suffix = ".weight";
    if (name.size() <= suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) return false;
    const std::string module = name.substr(0, name.size() - suffix.size());
    const size_t dot = module.rfind('.');
    const std::string last = dot == std::string::npos ? module : module.substr(dot + 1);
    return last.find("norm") != std::string::npos;
}

// How one tensor is filled: `constant` when bound == 0, else uniform in [-bound, bound).
struct Rule {
    float constant = 0.0f;
    float bound = 0.0f;
    uint64_t stream = 0;
};

Rule rule_for(const Param & p) {
    Rule r;
    r.stream = mix64(name_hash(p.name) ^ kSeed);
    if (p.shape.size() >= 2) {
        double fan_in = 1;
        for (size_t i = 1; i < p.shape.size(); ++i) fan_in *= static_cast<double>(p.shape[i]);
        r.bound = static_cast<float>(std::sqrt(3.0 / std::max(fan_in, 1.0)));
    } else if (is_norm_scale(p.name)) {
        r.constant = 1.0f;
    } else {
        r.bound = 0.01f;
    }
    return r;
}

void fill_values(const Rule & r, uint64_t first, size_t count, uint16_t * out) {
    if (r.bound == 0.0f) {
        std::fill(out, out + count, sdn::f32_to_f16(r.constant));
        return;
    }
    for (size_t i = 0; i < count; ++i) {
        const uint64_t x = mix64(r.stream + (first + i + 1) * 0x9e3779b97f4a7c15ull);
        const float u = static_cast<float>(x >> 40) * (1.0f / 16777216.0f);  // [0, 1), 24 bits
        out[i] = sdn::f32_to_f16((2.0f * u - 1.0f) * r.bound);
    }
}

struct FillState {
    const std::vector<Rule> * rules;
    unsigned threads;
};

// sdn_tensor_fill_callback: bytes [offset, offset + size) of tensor `index`, F16.
int fill_chunk(size_t index, uint64_t offset, void * buffer, size_t size, void * user) {
    const FillState & st = *static_cast<const FillState *>(user);
    const Rule & r = (*st.rules)[index];
    uint16_t * out = static_cast<uint16_t *>(buffer);
    const uint64_t first = offset / 2;
    const size_t count = size / 2;
    const size_t per_thread = (count + st.threads - 1) / st.threads;
    if (st.threads <= 1 || count < (size_t{1} << 16)) {
        fill_values(r, first, count, out);
        return 0;
    }
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < st.threads; ++t) {
        const size_t b = t * per_thread, e = std::min(count, b + per_thread);
        if (b >= e) break;
        pool.emplace_back([&, b, e] { fill_values(r, first + b, e - b, out + b); });
    }
    for (auto & th : pool) th.join();
    return 0;
}

// The existing weight file matches the parameter list and carries our marker.
bool weights_match(const std::string & path, const std::vector<Param> & params) {
    if (!is_file(path)) return false;
    sdn_weight_file * f = nullptr;
    if (sdn_weight_file_open(path.c_str(), &f, nullptr) != SDN_OK) return false;
    bool ok = sdn_weight_file_count(f) == params.size();
    std::string meta(4096, '\0');
    size_t need = 0;
    if (ok && sdn_weight_file_metadata_json(f, meta.data(), meta.size(), &need, nullptr) == SDN_OK)
        ok = meta.find(kMarkerValue) != std::string::npos;
    else
        ok = false;
    std::map<std::string, const Param *> by_name;
    for (const Param & p : params) by_name[p.name] = &p;
    for (size_t i = 0; ok && i < sdn_weight_file_count(f); ++i) {
        sdn_tensor_info t;
        if (sdn_weight_file_tensor_info(f, i, &t, nullptr) != SDN_OK) {
            ok = false;
            break;
        }
        auto it = by_name.find(t.name);
        ok = it != by_name.end() && t.dtype == SDN_DTYPE_F16 && t.ndim == static_cast<int>(it->second->shape.size()) &&
             std::equal(it->second->shape.begin(), it->second->shape.end(), t.shape);
    }
    sdn_weight_file_free(f);
    return ok;
}

std::string binary_dir() {
    char buf[PATH_MAX];
    const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return "";
    buf[n] = '\0';
    std::string p(buf);
    const size_t slash = p.rfind('/');
    return slash == std::string::npos ? "." : p.substr(0, slash);
}

}  // namespace

const std::vector<std::string> & synthetic_model_names() {
    static const std::vector<std::string> names = {"sd15", "sd21-v"};
    return names;
}

std::string find_config_root(const std::string & override_dir, std::string & tried) {
    std::vector<std::string> candidates;
    if (!override_dir.empty()) {
        candidates.push_back(override_dir);
    } else {
        const std::string bin = binary_dir();
        if (!bin.empty())
            for (const char * rel : {"/configs", "/../native/bench/configs", "/../../native/bench/configs"}) candidates.push_back(bin + rel);
#ifdef SDN_BENCH_CONFIG_DIR
        candidates.push_back(SDN_BENCH_CONFIG_DIR);
#endif
    }
    tried.clear();
    for (const std::string & c : candidates) {
        tried += (tried.empty() ? "" : ", ") + c;
        if (is_file(c + "/sd15/unet/params.txt")) return c;
    }
    return "";
}

bool prepare_synthetic_model(const std::string & config_root, const std::string & name, const std::string & out_dir,
                             std::string & error) {
    const std::string src = config_root + "/" + name;
    if (!is_dir(src)) {
        error = "no configs for model '" + name + "' in " + config_root;
        return false;
    }
    if (!is_dir(out_dir) && mkdir(out_dir.c_str(), 0755) != 0) {
        error = "cannot create " + out_dir;
        return false;
    }
    const unsigned hw = std::thread::hardware_concurrency();
    const unsigned threads = hw == 0 ? 1 : std::min(hw, 64u);
    for (const Component & c : kComponents) {
        std::string config;
        std::vector<Param> params;
        if (!read_file(src + "/" + c.folder + "/config.json", config)) {
            error = "cannot read " + src + "/" + c.folder + "/config.json";
            return false;
        }
        if (!read_params(src + "/" + c.folder + "/params.txt", params, error)) return false;
        const std::string dir = out_dir + "/" + c.folder;
        const std::string weights = dir + "/" + c.weights_file;
        if (!is_dir(dir) && mkdir(dir.c_str(), 0755) != 0) {
            error = "cannot create " + dir;
            return false;
        }
        uint64_t n_params = 0;
        for (const Param & p : params) {
            uint64_t n = 1;
            for (int64_t d : p.shape) n *= static_cast<uint64_t>(d);
            n_params += n;
        }
        std::string existing;
        const bool reuse = read_file(dir + "/config.json", existing) && existing == config && weights_match(weights, params);
        const auto t0 = std::chrono::steady_clock::now();
        if (!reuse) {
            if (!write_file(dir + "/config.json", config)) {
                error = "cannot write " + dir + "/config.json";
                return false;
            }
            std::vector<sdn_tensor_desc> descs(params.size());
            std::vector<Rule> rules(params.size());
            for (size_t i = 0; i < params.size(); ++i) {
                sdn_tensor_desc & d = descs[i];
                std::memset(&d, 0, sizeof d);
                d.name = params[i].name.c_str();
                d.dtype = SDN_DTYPE_F16;
                d.ndim = static_cast<int>(params[i].shape.size());
                std::copy(params[i].shape.begin(), params[i].shape.end(), d.shape);
                d.data = nullptr;
                rules[i] = rule_for(params[i]);
            }
            const char * keys[] = {"format", kMarkerKey};
            const char * values[] = {"pt", kMarkerValue};
            FillState st{&rules, threads};
            sdn_error err;
            if (sdn_safetensors_write_stream(weights.c_str(), descs.data(), descs.size(), keys, values, 2, fill_chunk, &st, &err) !=
                SDN_OK) {
                error = std::string("writing ") + weights + ": " + err.message;
                return false;
            }
        }
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::printf("{\"stage\":\"synthetic_weights\",\"model\":\"%s\",\"component\":\"%s\",\"tensors\":%zu,\"params\":%llu,"
                    "\"bytes\":%llu,\"reused\":%s,\"seconds\":%.1f}\n",
                    name.c_str(), c.folder, params.size(), static_cast<unsigned long long>(n_params),
                    static_cast<unsigned long long>(2 * n_params), reuse ? "true" : "false", s);
        std::fflush(stdout);
    }
    return true;
}

std::string make_temp_dir(const std::string & name) {
    const char * env = std::getenv("TMPDIR");
    std::string tmpl = std::string(env != nullptr && *env != '\0' ? env : "/tmp") + "/sdn-bench-" + name + "-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (mkdtemp(buf.data()) == nullptr) return "";
    return buf.data();
}

void remove_synthetic_model(const std::string & dir) {
    for (const Component & c : kComponents) {
        const std::string d = dir + "/" + c.folder;
        std::remove((d + "/" + c.weights_file).c_str());
        std::remove((d + "/" + c.weights_file + ".partial").c_str());
        std::remove((d + "/config.json").c_str());
        rmdir(d.c_str());
    }
    rmdir(dir.c_str());
}

}  // namespace sdn_bench
