#pragma once
#include <string>
// Times the networks of a diffusers folder (text encoder, UNet, VAE decode) on the CPU backend; JSON lines.
int run_network_benches(const std::string & model_dir, int repeats, double peak_seconds);
