// Full-size random-weight diffusers folders for the network benchmarks, written by the native code alone
// (no Node, no downloads): the configs and parameter lists of the supported models ship with the sources
// under native/bench/configs/<name>/<component>/{config.json, params.txt}, and the weights are streamed
// into one F16 safetensors file per component through the public C API writer.
#pragma once

#include <string>
#include <vector>

namespace sdn_bench {

// The models `--synthetic` knows: "sd15" (SD1.5, 512^2) and "sd21-v" (SD2.1 768-v).
const std::vector<std::string> & synthetic_model_names();

// The folder holding <name>/<component>/ configs: `override_dir` when non-empty, else the first of
// <binary dir>/configs, <binary dir>/../native/bench/configs, <binary dir>/../../native/bench/configs and
// the source directory baked in at build time (SDN_BENCH_CONFIG_DIR) that holds sd15/unet/params.txt.
// Empty when none does; `tried` lists the candidates for the error message.
std::string find_config_root(const std::string & override_dir, std::string & tried);

// Makes `out_dir`/{unet,vae,text_encoder} with config.json and random F16 weights for model `name`.
// A component whose config.json and weight file already match (same config text, same tensor names,
// shapes and dtype) is reused as is. Prints one JSON line per component. Returns false with `error` set
// on failure.
bool prepare_synthetic_model(const std::string & config_root, const std::string & name, const std::string & out_dir,
                             std::string & error);

// A fresh directory under $TMPDIR (or /tmp) named sdn-bench-<name>-XXXXXX; empty on failure.
std::string make_temp_dir(const std::string & name);
// Removes what prepare_synthetic_model wrote below `dir`, then `dir` itself when it is empty.
void remove_synthetic_model(const std::string & dir);

}  // namespace sdn_bench
