// libFuzzer target: torch zip checkpoints. The first input byte picks the mode:
//   even: the rest is the whole file (zip parsing, zip64, local headers, CRC, then the pickle)
//   odd:  the rest is data.pkl, wrapped in a valid archive with storages "0" (256 bytes) and "1"
//         (24 bytes), so mutations reach the restricted unpickler and the tensor checks past the CRC.
// Every input must end in success or a clean sdn::Error (FORMAT / UNSUPPORTED); views must lie inside
// the input or in buffers the reader owns. Build: see native/fuzz/README.md.
#include "core/error.h"
#include "io/torch_checkpoint.h"
#include "io/zip_writer.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    if (size == 0) return 0;
    std::vector<uint8_t> bytes;
    if (data[0] & 1) {
        static const std::vector<uint8_t> storage(256, 0x3f);
        sdn::io::ZipWriter z;
        z.add("archive/data.pkl", data + 1, size - 1);
        z.add("archive/data/0", storage.data(), 256);
        z.add("archive/data/1", storage.data(), 24);
        bytes = z.finish((data[0] & 2) != 0);
    } else {
        bytes.assign(data + 1, data + size);
    }
    auto file = sdn::io::MappedFile::from_bytes("fuzz.ckpt", bytes.data(), bytes.size());
    try {
        sdn::io::TensorSet set = sdn::io::read_torch_checkpoint(file);
        volatile uint8_t sink = 0;
        for (const auto & t : set.tensors)
            for (uint64_t i = 0; i < t.nbytes; ++i) sink ^= t.data[i];
    } catch (const sdn::Error & e) {
        if (e.status() != SDN_ERR_FORMAT && e.status() != SDN_ERR_UNSUPPORTED) std::abort();
    }
    return 0;
}
