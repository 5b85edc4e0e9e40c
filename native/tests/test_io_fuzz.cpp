// Deterministic mutation fuzzing of the weight-file readers (runs in CI): valid safetensors files and
// torch checkpoints are mutated thousands of times (bit flips, byte overwrites, truncations, insertions,
// deletions, length-field edits, JSON-token swaps; for torch, also mutations of data.pkl re-wrapped in a
// valid zip so the CRC check does not hide the unpickler) and every outcome must be OK or a clean
// SDN_ERR_FORMAT / SDN_ERR_UNSUPPORTED: no crash, no other exception, and every returned view lies
// inside the file (or in a buffer the reader owns). The libFuzzer targets in native/fuzz/ go further.
#include "io/safetensors_writer.h"
#include "io/torch_checkpoint_writer.h"
#include "io/weight_file.h"
#include "io/zip_writer.h"
#include "sd_native.h"
#include "test_framework.h"

#include "core/error.h"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

using Bytes = std::vector<uint8_t>;

struct Stats {
    int ok = 0, format = 0, unsupported = 0, other = 0;
};

Bytes read_all(const std::string & path) {
    Bytes b;
    FILE * f = std::fopen(path.c_str(), "rb");
    if (!f) return b;
    uint8_t buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) b.insert(b.end(), buf, buf + n);
    std::fclose(f);
    return b;
}

// Opens `bytes` through the in-memory path and checks the outcome.
void check_one(const Bytes & bytes, Stats & stats, const char * what, int iteration) {
    auto file = sdn::io::MappedFile::from_bytes("fuzz-input", bytes.data(), bytes.size());
    try {
        sdn::io::TensorSet set = sdn::io::open_weight_file(file);
        ++stats.ok;
        const uint8_t * lo = file->data();
        const uint8_t * hi = lo + file->size();
        uint32_t sum = 0;
        for (const auto & t : set.tensors) {
            if (t.nbytes == 0) continue;
            bool owned = false;
            for (const auto & o : set.owned) owned = owned || o.get() == t.data;
            const bool inside = t.data >= lo && t.nbytes <= static_cast<uint64_t>(hi - t.data);
            CHECK_MSG(owned || inside, std::string(what) + " iteration " + std::to_string(iteration) + ": tensor '" +
                                           t.name + "' view lies outside the file");
            if (!(owned || inside)) continue;
            for (uint64_t i = 0; i < t.nbytes; i += 61) sum += t.data[i];
            sum += t.data[t.nbytes - 1];
        }
        (void)sum;
    } catch (const sdn::Error & e) {
        if (e.status() == SDN_ERR_FORMAT) {
            ++stats.format;
        } else if (e.status() == SDN_ERR_UNSUPPORTED) {
            ++stats.unsupported;
        } else {
            ++stats.other;
            CHECK_MSG(false, std::string(what) + " iteration " + std::to_string(iteration) + ": unexpected status " +
                                 sdn_status_name(e.status()) + ": " + e.what());
        }
        CHECK_MSG(std::strlen(e.what()) > 0 && std::string(e.what()).find("fuzz-input") != std::string::npos,
                  std::string("error does not name the file: ") + e.what());
    } catch (const std::exception & e) {
        ++stats.other;
        CHECK_MSG(false, std::string(what) + " iteration " + std::to_string(iteration) + ": non-sdn exception: " + e.what());
    }
}

class Mutator {
public:
    explicit Mutator(uint64_t seed) : rng_(seed) {}
    uint64_t next() { return rng_(); }
    size_t below(size_t n) { return n ? static_cast<size_t>(rng_() % n) : 0; }

    // One random structural or byte-level edit; `length_field` is the offset of a length to tweak.
    void mutate(Bytes & b, const std::vector<size_t> & length_fields, const std::string & tokens) {
        static const uint8_t interesting[] = {0x00, 0xff, 0x7f, 0x80, 0x01, 0x20, '{', '}', '[', ']', '"', ':', ',', '-', '0', '9', 'e', '.'};
        static const uint64_t lengths[] = {0, 1, 7, 8, 0x7f, 0xff, 0xffff, 0x7fffffff, 0xffffffff, 0xffffffffffffffffull, 1ull << 40};
        switch (below(9)) {
            case 0:  // bit flips
                for (size_t k = 1 + below(4); k-- > 0 && !b.empty();) b[below(b.size())] ^= static_cast<uint8_t>(1u << below(8));
                break;
            case 1:  // interesting byte
                if (!b.empty()) b[below(b.size())] = interesting[below(sizeof interesting)];
                break;
            case 2:  // truncation
                b.resize(below(b.size() + 1));
                break;
            case 3: {  // insertion
                const size_t at = below(b.size() + 1);
                const size_t n = 1 + below(16);
                Bytes ins(n);
                for (auto & x : ins) x = static_cast<uint8_t>(next());
                b.insert(b.begin() + static_cast<std::ptrdiff_t>(at), ins.begin(), ins.end());
                break;
            }
            case 4: {  // deletion
                if (b.empty()) break;
                const size_t at = below(b.size());
                const size_t n = std::min(b.size() - at, 1 + below(16));
                b.erase(b.begin() + static_cast<std::ptrdiff_t>(at), b.begin() + static_cast<std::ptrdiff_t>(at + n));
                break;
            }
            case 5:
            case 6: {  // length field edit: small delta or an interesting value, 2/4/8 bytes wide
                if (length_fields.empty()) break;
                const size_t at = length_fields[below(length_fields.size())];
                const int width = 1 << (1 + below(3));
                if (at + static_cast<size_t>(width) > b.size()) break;
                uint64_t v = 0;
                for (int i = width - 1; i >= 0; --i) v = (v << 8) | b[at + static_cast<size_t>(i)];
                v = below(2) ? v + static_cast<uint64_t>(static_cast<int64_t>(below(33)) - 16) : lengths[below(sizeof lengths / 8)];
                for (int i = 0; i < width; ++i) b[at + static_cast<size_t>(i)] = static_cast<uint8_t>(v >> (8 * i));
                break;
            }
            case 7: {  // token swap (JSON punctuation, pickle opcodes)
                if (b.empty() || tokens.empty()) break;
                b[below(b.size())] = static_cast<uint8_t>(tokens[below(tokens.size())]);
                break;
            }
            case 8: {  // duplicate a chunk (repeats JSON entries, pickle ops)
                if (b.size() < 2) break;
                const size_t at = below(b.size());
                const size_t n = std::min(b.size() - at, 1 + below(64));
                Bytes chunk(b.begin() + static_cast<std::ptrdiff_t>(at), b.begin() + static_cast<std::ptrdiff_t>(at + n));
                const size_t to = below(b.size() + 1);
                b.insert(b.begin() + static_cast<std::ptrdiff_t>(to), chunk.begin(), chunk.end());
                break;
            }
        }
    }

private:
    std::mt19937_64 rng_;
};

Bytes make_safetensors_seed() {
    char tmpl[] = "/tmp/sdn_io_fuzz_XXXXXX";
    const char * dir = mkdtemp(tmpl);
    const std::string path = std::string(dir ? dir : "/tmp") + "/seed.safetensors";
    std::vector<float> a(12, 0.5f);
    std::vector<uint16_t> b(6, 0x3c00);
    std::vector<int64_t> c(3, 7);
    uint8_t d[2] = {1, 0};
    sdn::io::write_safetensors(path,
                               {{"a.weight", SDN_DTYPE_F32, {3, 4}}, {"b", SDN_DTYPE_F16, {2, 3}},
                                {"c", SDN_DTYPE_I64, {3}}, {"d", SDN_DTYPE_BOOL, {2}}, {"e", SDN_DTYPE_BF16, {0}}},
                               {a.data(), b.data(), c.data(), d, nullptr}, {{"format", "pt"}, {"k", "v"}});
    Bytes bytes = read_all(path);
    ::unlink(path.c_str());
    if (dir) ::rmdir(dir);
    return bytes;
}

const std::string kJsonTokens = "{}[]\":,0123456789-.eE \\u\x7f\xc3";
const std::string kPickleTokens = "().0125NJKMXqhjrcRbtsuae}])\x80\x85\x86\x87\x88\x89\x8a\x8c\x93\x94\x95QG";

std::vector<Bytes> torch_seeds(std::vector<std::string> * pickles) {
    std::vector<float> a(12);
    for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(i);
    std::vector<uint16_t> b(6, 0x3c00);
    const std::vector<sdn::io::TensorSpec> specs = {{"a.weight", SDN_DTYPE_F32, {3, 4}}, {"b", SDN_DTYPE_F16, {2, 3}}};
    std::vector<Bytes> seeds;
    for (int variant = 0; variant < 4; ++variant) {
        sdn::io::TorchWriteOptions o;
        o.protocol = variant % 2 ? 4 : 2;
        o.lightning = variant >= 2;
        o.parameters = variant == 1;
        o.zip64 = variant == 3;
        seeds.push_back(sdn::io::make_torch_checkpoint(specs, {a.data(), b.data()}, o));
        pickles->push_back(sdn::io::torch_state_dict_pickle(specs, o));
    }
    return seeds;
}

// Offsets of the length/offset fields of a zip built by ZipWriter (EOCD, central and local headers).
std::vector<size_t> zip_fields(const Bytes & b) {
    std::vector<size_t> f;
    for (size_t i = 0; i + 4 <= b.size(); ++i) {
        const uint32_t sig = b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (static_cast<uint32_t>(b[i + 3]) << 24);
        if (sig == 0x06054b50) for (size_t o : {8, 10, 12, 16, 20}) f.push_back(i + o);
        if (sig == 0x02014b50) for (size_t o : {8, 10, 20, 24, 28, 30, 42, 46}) f.push_back(i + o);
        if (sig == 0x04034b50) for (size_t o : {18, 22, 26, 28}) f.push_back(i + o);
        if (sig == 0x06064b50) for (size_t o : {24, 32, 40, 48}) f.push_back(i + o);
        if (sig == 0x07064b50) f.push_back(i + 8);
    }
    return f;
}

}  // namespace

TEST(io_fuzz_safetensors_mutations) {
    const Bytes seed = make_safetensors_seed();
    CHECK(seed.size() > 64);
    Stats stats;
    check_one(seed, stats, "seed", -1);
    CHECK(stats.ok == 1);
    Mutator m(0x5eed5afe);
    const int iterations = 10000;
    for (int it = 0; it < iterations; ++it) {
        Bytes b = seed;
        const int edits = 1 + static_cast<int>(m.below(3));
        for (int e = 0; e < edits; ++e) m.mutate(b, {0, 8 + m.below(64)}, kJsonTokens);
        check_one(b, stats, "safetensors", it);
    }
    std::printf("    safetensors: %d mutants: %d ok, %d FORMAT, %d UNSUPPORTED, %d other\n", iterations, stats.ok,
                stats.format, stats.unsupported, stats.other);
    CHECK(stats.other == 0);
    CHECK(stats.format > iterations / 2);
}

TEST(io_fuzz_torch_checkpoint_mutations) {
    std::vector<std::string> pickles;
    const std::vector<Bytes> seeds = torch_seeds(&pickles);
    Stats stats;
    for (const Bytes & s : seeds) check_one(s, stats, "seed", -1);
    CHECK(stats.ok == static_cast<int>(seeds.size()));
    Mutator m(0x70c4c4);
    const int raw_iterations = 8000;
    for (int it = 0; it < raw_iterations; ++it) {
        Bytes b = seeds[m.below(seeds.size())];
        const std::vector<size_t> fields = zip_fields(b);
        const int edits = 1 + static_cast<int>(m.below(3));
        for (int e = 0; e < edits; ++e) m.mutate(b, fields, "PK\x03\x04\x01\x02\x05\x06");
        check_one(b, stats, "torch zip", it);
    }
    // Pickle-level mutations, re-wrapped in a valid archive so the CRC passes and the unpickler is reached.
    std::vector<float> storage(64, 1.0f);
    const int pickle_iterations = 12000;
    Stats pstats;
    for (int it = 0; it < pickle_iterations; ++it) {
        const std::string & p = pickles[m.below(pickles.size())];
        Bytes b(p.begin(), p.end());
        const int edits = 1 + static_cast<int>(m.below(3));
        for (int e = 0; e < edits; ++e) m.mutate(b, {}, kPickleTokens);
        sdn::io::ZipWriter z;
        z.add("archive/data.pkl", b.data(), b.size());
        z.add("archive/data/0", storage.data(), 48 * m.below(2) + 48);
        z.add("archive/data/1", storage.data(), 12 * m.below(3) + 8);
        check_one(z.finish(m.below(4) == 0), pstats, "torch pickle", it);
    }
    std::printf("    torch zip: %d mutants: %d ok, %d FORMAT, %d UNSUPPORTED, %d other\n", raw_iterations, stats.ok,
                stats.format, stats.unsupported, stats.other);
    std::printf("    torch pickle: %d mutants: %d ok, %d FORMAT, %d UNSUPPORTED, %d other\n", pickle_iterations,
                pstats.ok, pstats.format, pstats.unsupported, pstats.other);
    CHECK(stats.other == 0 && pstats.other == 0);
    CHECK(pstats.format > pickle_iterations / 4);
}

TEST(io_fuzz_c_api_files) {
    // The same mutants through files and the C API (mmap path, status + message at the boundary).
    const Bytes seed = make_safetensors_seed();
    std::vector<std::string> pickles;
    const std::vector<Bytes> tseeds = torch_seeds(&pickles);
    char tmpl[] = "/tmp/sdn_io_fuzzc_XXXXXX";
    const char * dir = mkdtemp(tmpl);
    const std::string path = std::string(dir ? dir : "/tmp") + "/mutant.bin";
    Mutator m(42);
    int failures = 0;
    for (int it = 0; it < 600; ++it) {
        Bytes b = it % 2 ? seed : tseeds[m.below(tseeds.size())];
        m.mutate(b, {0}, kJsonTokens);
        FILE * f = std::fopen(path.c_str(), "wb");
        if (!f) break;
        std::fwrite(b.data(), 1, b.size(), f);
        std::fclose(f);
        sdn_weight_file * wf = nullptr;
        sdn_error err;
        const sdn_status st = sdn_weight_file_open(path.c_str(), &wf, &err);
        if (st != SDN_OK && st != SDN_ERR_FORMAT && st != SDN_ERR_UNSUPPORTED) {
            ++failures;
            CHECK_MSG(false, std::string(sdn_status_name(st)) + ": " + err.message);
        }
        CHECK(st == err.status);
        CHECK((st == SDN_OK) == (wf != nullptr));
        CHECK(st == SDN_OK || std::strstr(err.message, path.c_str()) != nullptr);
        for (size_t i = 0; i < sdn_weight_file_count(wf); ++i) {
            sdn_tensor_info info;
            CHECK(sdn_weight_file_tensor_info(wf, i, &info, &err) == SDN_OK);
        }
        sdn_weight_file_free(wf);
    }
    ::unlink(path.c_str());
    if (dir) ::rmdir(dir);
    CHECK(failures == 0);
}
