#!/usr/bin/env python3
"""Plain-assert tests of the parts of the GPU scripts that need no GPU and no torch:
torch_anchors.py (shape strings, FLOP / byte formulas, buffer-set rule, native list check) and
compare_ops.py (join and report on small hand-written inputs).

    python3 scripts/gpu/test_gpu_scripts.py [NATIVE_LIST] [--torch-smoke]

NATIVE_LIST: optional `sdn_bench --cuda-ops --list` output to check against the Python list as well.
--torch-smoke: where torch is importable (any version, CPU only is enough), also run torch_anchors.py's
GPU code paths on the CPU at shrunken shapes in float32 (CUDA events replaced by a host clock), so API
misuse shows before a GPU session. Ops the installed torch lacks (SDPA before 2.0) must fail cleanly.
"""
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import compare_ops  # noqa: E402
import torch_anchors as ta  # noqa: E402


def test_shape_strings():
    conv = {"op": "conv2d", "batch": 2, "in_c": 320, "h": 64, "w": 64, "out_c": 320, "k": 3, "stride": 2, "pad": 1}
    assert ta.derive_shape(conv) == "2x320x64x64->320 k3 s2"
    assert ta.out_hw(conv) == (32, 32)
    conv["stride"] = 1
    assert ta.derive_shape(conv) == "2x320x64x64->320 k3"
    assert ta.derive_shape({"op": "linear", "rows": 154, "in": 768, "out": 320}) == "154x768->320"
    att = {"op": "attention", "batch": 2, "heads": 8, "nq": 4096, "nk": 77, "head_dim": 40, "causal": False}
    assert ta.derive_shape(att) == "b2 h8 nq4096 nk77 d40"
    att.update(nk=4096)
    assert ta.derive_shape(att) == "b2 h8 n4096 d40"
    assert ta.derive_shape({"op": "attention", "batch": 2, "heads": 12, "nq": 77, "nk": 77, "head_dim": 64,
                            "causal": True}) == "b2 h12 n77 d64 causal"
    assert ta.derive_shape({"op": "geglu", "rows": 8192, "dim": 1280}) == "8192x2560->1280"
    assert ta.derive_shape({"op": "group_norm", "batch": 2, "channels": 320, "h": 64, "w": 64, "groups": 32,
                            "silu": True}) == "2x320x64x64 g32 silu"


def test_formulas():
    conv = {"op": "conv2d", "batch": 2, "in_c": 320, "h": 64, "w": 64, "out_c": 320, "k": 3, "stride": 1, "pad": 1}
    assert ta.flop(conv) == 2 * 2 * 320 * 64 * 64 * 320 * 9
    conv["stride"] = 2
    assert ta.flop(conv) == 2 * 2 * 320 * 32 * 32 * 320 * 9
    assert ta.flop({"op": "linear", "rows": 8192, "in": 320, "out": 2560}) == 2 * 8192 * 320 * 2560
    assert ta.flop({"op": "attention", "batch": 2, "heads": 8, "nq": 4096, "nk": 77, "head_dim": 40,
                    "causal": False}) == 4 * 2 * 8 * 4096 * 77 * 40
    add = {"op": "add", "batch": 2, "channels": 320, "h": 64, "w": 64}
    assert ta.flop(add) == 0 and ta.min_bytes(add, 4) == 3 * 4 * 2 * 320 * 64 * 64
    assert ta.min_bytes({"op": "geglu", "rows": 10, "dim": 4}, 2) == 2 * (10 * 8 + 10 * 4)
    assert ta.min_bytes({"op": "layer_norm", "rows": 10, "dim": 4}, 4) == 4 * 80
    assert ta.min_bytes({"op": "linear", "rows": 1, "in": 1, "out": 1}, 4) == 0


def test_buffer_sets():
    assert ta.buffer_sets(1) == ta.MAX_ROTATE
    assert ta.buffer_sets(ta.ROTATE_BYTES) == 1
    assert ta.buffer_sets(ta.ROTATE_BYTES // 2) == 2
    assert ta.buffer_sets(ta.ROTATE_BYTES // 2 - 1) == 3
    assert ta.buffer_sets(10 * ta.ROTATE_BYTES) == 1


def test_shape_file():
    specs = ta.load_specs()
    assert ta.check_specs(specs) == [], ta.check_specs(specs)
    ops = {s["op"] for s in specs}
    assert ops == set(ta.OPS), ops
    # the brief's shapes are all there
    keys = {(s["op"], s["shape"]) for s in specs}
    for key in [("conv2d", "2x4x64x64->320 k3"), ("conv2d", "1x128x512x512->3 k3"), ("linear", "512x1280->10240"),
                ("attention", "b1 h1 n4096 d512"), ("attention", "b2 h12 n77 d64 causal"), ("geglu", "8192x2560->1280")]:
        assert key in keys, key
    bad = [dict(specs[0], shape="2x320x64x64->321 k3")]
    assert len(ta.check_specs(bad)) == 1
    assert len(ta.check_specs(specs[:2] + specs[:1])) == 1  # duplicate


def test_verify_native_list(native_list=None):
    specs = ta.load_specs()
    lines = [json.dumps(r) for r in ta.list_records(specs)]
    assert ta.verify_native_list(specs, lines) == []
    broken = lines[:-1]
    assert ta.verify_native_list(specs, broken)
    wrong = [json.dumps(dict(json.loads(lines[0]), flop=1.0))] + lines[1:]
    assert ta.verify_native_list(specs, wrong)
    if native_list:
        with open(native_list) as f:
            problems = ta.verify_native_list(specs, f)
        assert problems == [], problems


NATIVE = """\
{"backend":"cuda","shapes_file":"scripts/gpu/sd15_op_shapes.json","ops":3,"seconds_per_op":0.25}
{"backend":"cuda","ceiling":"linear_peak","how":"...","tflops":400.0}
{"backend":"cuda","ceiling":"copy_bw","how":"...","gbps":3000.0,"gbps_median":2950.0}
{"backend":"cuda","variant":"default","name":"cuda:0 (NVIDIA H100; cuBLASLt)"}
{"backend":"cuda","variant":"default","op":"conv2d","shape":"2x320x64x64->320 k3","label":"unet resnet 64x64","ms":0.1,"ms_min":0.09,"reps":10,"runs":5,"buffer_sets":2,"flop":15099494400,"tflops":151.0,"pct_of_peak":37.7}
{"backend":"cuda","variant":"default","op":"add","shape":"2x320x64x64","label":"unet residual add 64x64","ms":0.02,"ms_min":0.019,"reps":10,"runs":5,"buffer_sets":4,"bytes":31457280,"gbps":1572.9,"pct_of_copy_bw":52.4}
{"backend":"cuda","variant":"default","op":"attention","shape":"b2 h8 n4096 d40","error":"attention kernel launch: invalid argument"}
{"backend":"cuda","variant":"builtin","op":"conv2d","shape":"2x320x64x64->320 k3","label":"unet resnet 64x64","ms":0.3,"ms_min":0.29,"reps":10,"runs":5,"buffer_sets":2,"tflops":50.3,"pct_of_peak":12.6}
not json at all
"""

TORCH = """\
{"backend": "torch", "torch": "2.5.1", "cuda": "12.4", "cudnn": 90100, "device": "NVIDIA H100 80GB HBM3", "capability": "9.0", "sdpa_backends": ["cudnn", "efficient", "flash", "math"], "diffusers": null, "transformers": null}
{"backend": "torch", "ceiling": "matmul_f16", "how": "...", "tflops": 700.0}
{"backend": "torch", "ceiling": "matmul_bf16", "error": "RuntimeError('x')"}
{"backend": "torch", "ceiling": "copy_bw", "how": "...", "gbps": 2900.0}
{"backend": "torch", "variant": "channels_last", "op": "conv2d", "shape": "2x320x64x64->320 k3", "label": "unet resnet 64x64", "ms": 0.05, "tflops": 302.0}
{"backend": "torch", "variant": "nchw", "op": "conv2d", "shape": "2x320x64x64->320 k3", "label": "unet resnet 64x64", "ms": 0.08, "tflops": 188.0}
{"backend": "torch", "variant": "f16", "op": "add", "shape": "2x320x64x64", "ms": 0.012, "gbps": 1300}
{"backend": "torch", "variant": "f32", "op": "add", "shape": "2x320x64x64", "ms": 0.022, "gbps": 1400}
{"backend": "torch", "variant": "default", "op": "attention", "shape": "b2 h8 n4096 d40", "ms": 0.4, "tflops": 107.0, "sdpa_picks": "flash"}
{"backend": "torch", "variant": "f16", "op": "layer_norm", "shape": "8192x320", "ms": 0.01}
{"backend": "torch", "model": "diffusers", "skipped": "diffusers not installed"}
"""


def test_compare():
    with tempfile.TemporaryDirectory() as d:
        n, t = os.path.join(d, "native.jsonl"), os.path.join(d, "torch.jsonl")
        with open(n, "w") as f:
            f.write(NATIVE)
        with open(t, "w") as f:
            f.write(TORCH)
        native, torch = compare_ops.Side(compare_ops.read_jsonl(n)), compare_ops.Side(compare_ops.read_jsonl(t))
        assert native.ceilings["linear_peak"]["tflops"] == 400.0
        assert torch.best(("conv2d", "2x320x64x64->320 k3"))[0] == "channels_last"
        assert torch.best(("add", "2x320x64x64"))[0] == "f16"
        text = compare_ops.report(native, torch)
        rows = {line.split(" | ")[1]: line for line in text.splitlines() if line.startswith("| conv2d") or line.startswith("| add")
                or line.startswith("| attention") or line.startswith("| layer_norm")}
        conv = rows["2x320x64x64->320 k3"]
        assert "| 0.100 |" in conv and "0.050 (channels_last)" in conv and "| 0.50 |" in conv, conv
        assert "builtin 0.300" in conv and "38%" in conv, conv
        add = rows["2x320x64x64"]
        assert "0.012 (f16)" in add and "| 0.60 |" in add and "52%" in add, add
        att = rows["b2 h8 n4096 d40"]  # our default failed: no ratio, torch still shown
        assert "| error |" in att and "0.400 (default→flash)" in att, att
        assert "8192x320" in rows  # torch-only row kept
        assert "Measured on neither side" not in text  # no shape list given: only rows with data
        ordered = compare_ops.report(native, torch, *compare_ops.shape_order())
        n_missing = len(ta.load_specs()) - 4  # 4 shapes have data in the samples above
        assert f"Measured on neither side ({n_missing})" in ordered and "| unet self 64x64 |" in ordered
        assert "400.0 TFLOP/s" in text and "f16 700.0 TFLOP/s" in text and "bf16 —" in text
        assert "attention kernel launch: invalid argument" in text and "matmul_bf16" in text
        assert "diffusers not installed" in text
        # a missing input file is reported, not fatal
        text2 = compare_ops.report(native, compare_ops.Side(compare_ops.read_jsonl(os.path.join(d, "missing.jsonl"))))
        assert "cannot read" in text2


def shrink(s):
    """A CPU-sized copy of a spec (the shape string, the join key, is kept)."""
    s = dict(s)
    for key, cap in (("batch", 1), ("h", 12), ("w", 12), ("rows", 48), ("nq", 40), ("nk", 24)):
        if key in s:
            s[key] = min(s[key], cap)
    for key in ("in_c", "out_c", "in", "out", "dim", "channels"):
        if key in s:
            s[key] = max(3 if key == "out_c" else 1, min(s[key], 64))
    if "channels" in s:
        s["channels"] = 64  # divisible by the 32 groups
    if "head_dim" in s:
        s["head_dim"] = min(s["head_dim"], 16)
    return s


def torch_smoke():
    import torch  # noqa: WPS433

    class HostEvent:
        """torch.cuda.Event stand-in timed with the host clock."""

        def __init__(self, enable_timing=False):
            self.t = 0.0

        def record(self):
            self.t = time.perf_counter()

        def synchronize(self):
            pass

        def elapsed_time(self, other):
            return (other.t - self.t) * 1e3

    ta.import_torch()
    ta.DEVICE = "cpu"
    ta.CEILING_N, ta.COPY_ELEMS = 96, 1 << 16
    torch.cuda.Event = HostEvent
    torch.cuda.synchronize = lambda: None
    torch.cuda.empty_cache = lambda: None
    real_rand = ta.rand
    ta.rand = lambda shape, dtype, scale=1.0, memory_format=None: real_rand(shape, torch.float32, scale, memory_format)
    records = []
    ta.emit = records.append
    ceilings = ta.measure_ceilings(0.01)
    assert set(ceilings) == {"matmul_f16", "matmul_bf16", "copy_bw"}, records
    has_sdpa = hasattr(torch.nn.functional, "scaled_dot_product_attention")
    specs = [shrink(s) for s in ta.load_specs()]
    for s in specs:
        for variant in ta.variants_of(s["op"]):
            ta.bench_op(s, variant, ceilings, 0.005)
    ops = [r for r in records if "op" in r]
    assert len(ops) == sum(len(ta.variants_of(s["op"])) for s in specs)
    for r in ops:
        if r["op"] == "attention" and not has_sdpa:
            assert "error" in r, r
            continue
        assert "error" not in r, r
        assert r["ms"] > 0 and r["runs"] >= 5 and r["reps"] >= 1 and r["buffer_sets"] >= 1, r
        assert ("tflops" in r) == (r["op"] in ta.MATMUL_OPS) and ("gbps" in r) != ("tflops" in r), r
    records.clear()
    ta.bench_networks(time.perf_counter() + 5)
    assert records and all(("skipped" in r) or ("ms" in r) or ("error" in r) for r in records), records
    return f"torch {torch.__version__}: {len(ops)} op timings on the CPU" + ("" if has_sdpa else " (no SDPA: attention failed cleanly)")


def main():
    smoke = "--torch-smoke" in sys.argv
    args = [a for a in sys.argv[1:] if a != "--torch-smoke"]
    native_list = args[0] if args else None
    tests = [test_shape_strings, test_formulas, test_buffer_sets, test_shape_file, test_compare,
             lambda: test_verify_native_list(native_list)]
    for t in tests:
        t()
    print(f"ok: {len(tests)} test groups" + (f" (native list {native_list} matches)" if native_list else ""))
    if smoke:
        print("ok: torch smoke:", torch_smoke())
    return 0


if __name__ == "__main__":
    sys.exit(main())
