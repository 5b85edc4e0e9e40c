// libFuzzer target: the safetensors reader (header length, strict JSON, entry validation, range checks)
// through the same entry point as sdn_weight_file_open, on an exact-size heap copy of the input so
// AddressSanitizer sees any over-read. Every input must end in success or a clean sdn::Error.
// Build: see native/fuzz/README.md.
#include "core/error.h"
#include "io/safetensors_reader.h"
#include "io/weight_file.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    auto file = sdn::io::MappedFile::from_bytes("fuzz.safetensors", data, size);
    try {
        sdn::io::TensorSet set = sdn::io::read_safetensors(file);
        // Touch every byte of every view: an out-of-range view would be caught by ASan.
        volatile uint8_t sink = 0;
        for (const auto & t : set.tensors)
            for (uint64_t i = 0; i < t.nbytes; ++i) sink ^= t.data[i];
        for (const auto & t : set.tensors) {
            try {
                (void)set.weight(t.name);
            } catch (const sdn::Error & e) {
                if (e.status() != SDN_ERR_UNSUPPORTED) std::abort();
            }
        }
    } catch (const sdn::Error & e) {
        if (e.status() != SDN_ERR_FORMAT && e.status() != SDN_ERR_UNSUPPORTED) std::abort();
    }
    return 0;
}
