#!/usr/bin/env python3
"""Captures torch's CUDA randn for the TorchCudaGenerator parity test (run on a GPU machine with PyTorch).

    python3 scripts/gpu/torch_cuda_randn.py > test/fixtures/rng/torch_cuda_randn.json

Records the device (name, SM count, max threads per SM: the CUDA generator's output layout depends on
them), torch's version, and for each seed/shape either every value (small tensors) or the first 256 values
plus sum and sum of squares (large ones). test/rng/philox-cuda-parity.test.ts compares against it.
"""
import json
import sys

import torch

if not torch.cuda.is_available():
    sys.exit("no CUDA device")

props = torch.cuda.get_device_properties(0)
cases = []
for seed in [0, 42, 2**32 - 1, 123456789]:
    for shape in [(3,), (17,), (1, 4, 8, 8), (1, 4, 64, 64), (2, 4, 96, 96)]:
        g = torch.Generator(device="cuda").manual_seed(seed)
        x = torch.randn(shape, generator=g, device="cuda", dtype=torch.float32).cpu().flatten()
        entry = {"seed": seed, "shape": list(shape), "numel": x.numel()}
        if x.numel() <= 4096:
            entry["values"] = [float(v) for v in x]
        else:
            entry["first"] = [float(v) for v in x[:256]]
            entry["sum"] = float(x.double().sum())
            entry["sumsq"] = float((x.double() ** 2).sum())
        cases.append(entry)
    # two consecutive draws from one generator (the Philox offset advances)
    g = torch.Generator(device="cuda").manual_seed(seed)
    a = torch.randn((1, 4, 8, 8), generator=g, device="cuda").cpu().flatten()
    b = torch.randn((1, 4, 8, 8), generator=g, device="cuda").cpu().flatten()
    cases.append({"seed": seed, "shape": [1, 4, 8, 8], "consecutive": True, "values": [float(v) for v in a] + [float(v) for v in b]})

json.dump(
    {
        "generated_by": "scripts/gpu/torch_cuda_randn.py",
        "torch": torch.__version__,
        "device": {"name": props.name, "multiProcessorCount": props.multi_processor_count,
                   "maxThreadsPerMultiProcessor": props.max_threads_per_multi_processor},
        "cases": cases,
    },
    sys.stdout,
)
