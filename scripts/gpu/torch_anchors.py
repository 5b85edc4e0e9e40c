#!/usr/bin/env python3
"""PyTorch anchors for the CUDA op benchmarks: the ops of scripts/gpu/sd15_op_shapes.json timed in PyTorch
(f16 on the GPU), plus the two ceilings (f16 / bf16 matmul 8192^3, device copy bandwidth) and, when
diffusers is importable, whole SD networks built from native/bench/configs with random weights.

    python3 scripts/gpu/torch_anchors.py > torch_ops.jsonl        # on a GPU machine with torch
    python3 scripts/gpu/torch_anchors.py --list                    # the shape list (no torch needed)
    python3 scripts/gpu/torch_anchors.py --check                   # shape strings vs their numbers
    python3 scripts/gpu/torch_anchors.py --verify-native FILE      # FILE = `sdn_bench --cuda-ops --list` output

Output: JSON lines with the keys of `sdn_bench --cuda-ops` ("op", "shape", "variant", "ms", "tflops" or
"gbps"), "backend": "torch". scripts/gpu/compare_ops.py joins the two by (op, shape).

Timing (as in native/bench/bench_cuda_ops.cpp): warm-up, then runs of `reps` back-to-back calls between
two CUDA events, `reps` chosen so a run lasts a few ms, runs repeated for --seconds; the median per-call
time is reported (and the minimum). Ops whose buffers total less than 128 MiB get several buffer sets used
in turn (at most 8), so repeated calls are not served from the 50 MB L2. Inputs are random, never zeros.
One failing op prints an {"error": ...} line and the script goes on; --budget bounds the whole run.
"""
import argparse
import json
import math
import os
import statistics
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SHAPES_FILE = os.path.join(HERE, "sd15_op_shapes.json")
CONFIG_DIR = os.path.join(REPO, "native", "bench", "configs")

ROTATE_BYTES = 128 * 1024 * 1024  # buffer sets cover at least this much (L2 of an H100: 50 MB)
CEILING_N = 8192  # matmul ceiling: CEILING_N^3
COPY_ELEMS = 128 << 20  # copy ceiling: f32 elements per buffer (512 MiB)
MAX_ROTATE = 8
OPS = ("conv2d", "linear", "attention", "group_norm", "layer_norm", "geglu", "add")
MATMUL_OPS = ("conv2d", "linear", "attention")
DEVICE = "cuda"  # a CPU smoke test of this script (test_gpu_scripts.py --torch-smoke) sets "cpu"

# --------------------------------------------------------------------------------------------------
# Shape list: pure Python (no torch), shared with the native bench
# --------------------------------------------------------------------------------------------------


def load_specs(path=SHAPES_FILE):
    with open(path) as f:
        doc = json.load(f)
    specs = doc["ops"]
    for i, s in enumerate(specs):
        if s.get("op") not in OPS:
            raise ValueError(f"{path} ops[{i}]: unknown op {s.get('op')!r}")
    return specs


def out_hw(s):
    """Output height/width of a conv2d spec."""
    k, st, p = s["k"], s["stride"], s["pad"]
    return (s["h"] + 2 * p - k) // st + 1, (s["w"] + 2 * p - k) // st + 1


def derive_shape(s):
    """The "shape" string a spec must carry, derived from its numbers (the format is documented in the JSON)."""
    op = s["op"]
    if op == "conv2d":
        text = f"{s['batch']}x{s['in_c']}x{s['h']}x{s['w']}->{s['out_c']} k{s['k']}"
        return text + (f" s{s['stride']}" if s["stride"] != 1 else "")
    if op == "linear":
        return f"{s['rows']}x{s['in']}->{s['out']}"
    if op == "attention":
        seq = f"n{s['nq']}" if s["nq"] == s["nk"] else f"nq{s['nq']} nk{s['nk']}"
        return f"b{s['batch']} h{s['heads']} {seq} d{s['head_dim']}" + (" causal" if s["causal"] else "")
    if op == "group_norm":
        return f"{s['batch']}x{s['channels']}x{s['h']}x{s['w']} g{s['groups']}" + (" silu" if s["silu"] else "")
    if op == "layer_norm":
        return f"{s['rows']}x{s['dim']}"
    if op == "geglu":
        return f"{s['rows']}x{2 * s['dim']}->{s['dim']}"
    if op == "add":
        return f"{s['batch']}x{s['channels']}x{s['h']}x{s['w']}"
    raise ValueError(f"unknown op {op!r}")


def flop(s):
    """2*M*N*K for conv2d / linear, 4*b*h*nq*nk*d for attention (causal counted in full); 0 otherwise."""
    op = s["op"]
    if op == "conv2d":
        oh, ow = out_hw(s)
        return 2.0 * s["batch"] * s["out_c"] * oh * ow * s["in_c"] * s["k"] * s["k"]
    if op == "linear":
        return 2.0 * s["rows"] * s["in"] * s["out"]
    if op == "attention":
        return 4.0 * s["batch"] * s["heads"] * s["nq"] * s["nk"] * s["head_dim"]
    return 0.0


def min_bytes(s, elem):
    """Least traffic of the memory-bound ops (inputs read once, outputs written once) at `elem` bytes each."""
    op = s["op"]
    if op == "group_norm":
        return 2.0 * elem * s["batch"] * s["channels"] * s["h"] * s["w"]
    if op == "layer_norm":
        return 2.0 * elem * s["rows"] * s["dim"]
    if op == "geglu":
        return 3.0 * elem * s["rows"] * s["dim"]
    if op == "add":
        return 3.0 * elem * s["batch"] * s["channels"] * s["h"] * s["w"]
    return 0.0


def list_records(specs):
    """What `--list` prints; the same fields as `sdn_bench --cuda-ops --list`."""
    return [{"op": s["op"], "shape": s["shape"], "label": s["label"], "flop": flop(s), "bytes_f32": min_bytes(s, 4)} for s in specs]


def check_specs(specs):
    """Problems of the shape list: shape strings that do not match their numbers, duplicate keys."""
    problems, seen = [], set()
    for i, s in enumerate(specs):
        try:
            want = derive_shape(s)
        except (KeyError, ValueError) as e:
            problems.append(f"ops[{i}] {s.get('shape')!r}: {e!r}")
            continue
        if s.get("shape") != want:
            problems.append(f"ops[{i}]: shape {s.get('shape')!r} but its numbers say {want!r}")
        if s["op"] == "conv2d" and min(out_hw(s)) < 1:
            problems.append(f"ops[{i}] {want!r}: empty output")
        key = (s["op"], s.get("shape"))
        if key in seen:
            problems.append(f"ops[{i}]: duplicate {key}")
        seen.add(key)
    return problems


def verify_native_list(specs, native_lines):
    """Differences between our list and the native bench's (`sdn_bench --cuda-ops --list` lines)."""
    native = []
    for line in native_lines:
        line = line.strip()
        if line.startswith("{"):
            rec = json.loads(line)
            if "error" in rec:
                return [f"native list error: {rec['error']}"]
            native.append(rec)
    ours = list_records(specs)
    problems = []
    if [(r["op"], r["shape"]) for r in ours] != [(r["op"], r["shape"]) for r in native]:
        problems.append(f"op/shape lists differ: python {len(ours)} entries, native {len(native)}")
    for a, b in zip(ours, native):
        for key in ("flop", "bytes_f32"):
            if not math.isclose(a[key], float(b.get(key, -1)), rel_tol=1e-12, abs_tol=0.5):
                problems.append(f"{a['op']} {a['shape']}: {key} python {a[key]:.17g} native {b.get(key)}")
    return problems


def buffer_sets(set_bytes):
    """How many buffer sets to rotate through so they cover ROTATE_BYTES (1..MAX_ROTATE)."""
    return int(min(MAX_ROTATE, max(1, math.ceil(ROTATE_BYTES / max(1, set_bytes)))))


def emit(obj):
    print(json.dumps(obj), flush=True)


# --------------------------------------------------------------------------------------------------
# GPU part (torch imported lazily so the pure parts run anywhere)
# --------------------------------------------------------------------------------------------------

torch = None
F = None


def import_torch():
    global torch, F
    import torch as _torch  # noqa: WPS433
    import torch.nn.functional as _F

    torch, F = _torch, _F


def time_calls(calls, seconds):
    """Median and minimum per-call milliseconds of `calls` used in turn (see the module docstring)."""
    for c in calls:
        c()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for c in calls:
        c()
    end.record()
    end.synchronize()
    per_call_ms = max(1e-4, start.elapsed_time(end) / len(calls))
    target_ms = min(20.0, max(2.0, seconds * 1000 / 20))
    reps = int(min(20000, max(1, math.ceil(target_ms / per_call_ms))))
    per, nxt, t0 = [], 0, time.perf_counter()
    while True:
        start.record()
        for _ in range(reps):
            calls[nxt]()
            nxt = (nxt + 1) % len(calls)
        end.record()
        end.synchronize()
        per.append(start.elapsed_time(end) / reps)
        if (len(per) >= 5 and time.perf_counter() - t0 >= seconds) or len(per) >= 2000:
            break
    return {"ms": statistics.median(per), "ms_min": min(per), "reps": reps, "runs": len(per)}


def rand(shape, dtype, scale=1.0, memory_format=None):
    t = (torch.rand(shape, device=DEVICE, dtype=torch.float32) * 2 - 1) * scale
    t = t.to(dtype)
    return t.contiguous(memory_format=memory_format) if memory_format is not None else t


def nbytes(*tensors):
    return sum(t.numel() * t.element_size() for t in tensors)


def rotated(make_set):
    """Calls over enough buffer sets: make_set() -> (call, bytes of its tensors)."""
    first, size = make_set()
    calls = [first]
    for _ in range(buffer_sets(size) - 1):
        calls.append(make_set()[0])
    return calls


# Each builder returns (calls, element size in bytes of the activations, context manager factory or None).


def build_conv(s, variant):
    fmt = torch.channels_last if variant == "channels_last" else torch.contiguous_format
    fan_in = s["in_c"] * s["k"] * s["k"]

    def make_set():
        x = rand((s["batch"], s["in_c"], s["h"], s["w"]), torch.float16, 1.0, fmt)
        w = rand((s["out_c"], s["in_c"], s["k"], s["k"]), torch.float16, 1.0 / math.sqrt(fan_in), fmt)
        b = rand((s["out_c"],), torch.float16, 0.1)
        oh, ow = out_hw(s)
        y_bytes = s["batch"] * s["out_c"] * oh * ow * 2
        return (lambda: F.conv2d(x, w, b, stride=s["stride"], padding=s["pad"])), nbytes(x, w, b) + y_bytes

    return rotated(make_set), 2, None


def build_linear(s, variant):
    def make_set():
        x = rand((s["rows"], s["in"]), torch.float16)
        w = rand((s["out"], s["in"]), torch.float16, 1.0 / math.sqrt(s["in"]))
        b = rand((s["out"],), torch.float16, 0.1)
        return (lambda: F.linear(x, w, b)), nbytes(x, w, b) + s["rows"] * s["out"] * 2

    return rotated(make_set), 2, None


def sdpa_backends():
    """Available SDPA backends by name (torch.nn.attention, torch >= 2.3); {} when that API is missing."""
    try:
        from torch.nn.attention import SDPBackend  # noqa: WPS433
    except ImportError:
        return {}
    names = {"flash": "FLASH_ATTENTION", "efficient": "EFFICIENT_ATTENTION", "cudnn": "CUDNN_ATTENTION", "math": "MATH"}
    return {k: getattr(SDPBackend, v) for k, v in names.items() if hasattr(SDPBackend, v)}


def build_attention(s, variant):
    b, h, nq, nk, d = s["batch"], s["heads"], s["nq"], s["nk"], s["head_dim"]

    def make_set():
        q = rand((b, h, nq, d), torch.float16)
        k = rand((b, h, nk, d), torch.float16)
        v = rand((b, h, nk, d), torch.float16)
        o_bytes = q.numel() * 2
        return (lambda: F.scaled_dot_product_attention(q, k, v, is_causal=s["causal"])), nbytes(q, k, v) + o_bytes

    context = None
    if variant != "default":
        from torch.nn.attention import sdpa_kernel  # noqa: WPS433

        backend = sdpa_backends()[variant]

        def context():
            return sdpa_kernel([backend])

    return rotated(make_set), 2, context


def build_memory_op(s, variant):
    dtype = torch.float16 if variant == "f16" else torch.float32
    op = s["op"]

    def make_set():
        if op == "group_norm":
            x = rand((s["batch"], s["channels"], s["h"], s["w"]), dtype, 2.0)
            g, bt = rand((s["channels"],), dtype), rand((s["channels"],), dtype, 0.5)

            def call():
                y = F.group_norm(x, s["groups"], g, bt, 1e-5)
                return F.silu(y, inplace=True) if s["silu"] else y

            return call, 2 * nbytes(x)
        if op == "layer_norm":
            x = rand((s["rows"], s["dim"]), dtype, 2.0)
            g, bt = rand((s["dim"],), dtype), rand((s["dim"],), dtype, 0.5)
            return (lambda: F.layer_norm(x, (s["dim"],), g, bt, 1e-5)), 2 * nbytes(x)
        if op == "geglu":  # diffusers GEGLU after its projection: hidden * gelu(gate)
            x = rand((s["rows"], 2 * s["dim"]), dtype, 2.0)

            def call():
                hidden, gate = x.chunk(2, dim=-1)
                return hidden * F.gelu(gate)

            return call, nbytes(x) * 3 // 2
        if op == "add":
            a = rand((s["batch"], s["channels"], s["h"], s["w"]), dtype)
            c = rand(a.shape, dtype)
            y = torch.empty_like(a)
            return (lambda: torch.add(a, c, out=y)), 3 * nbytes(a)
        raise ValueError(op)

    return rotated(make_set), (2 if dtype == torch.float16 else 4), None


def variants_of(op):
    if op == "conv2d":
        return ["channels_last", "nchw"]
    if op == "linear":
        return ["f16"]
    if op == "attention":
        return ["default"] + [name for name in ("flash", "efficient", "cudnn", "math") if name in sdpa_backends()]
    return ["f16", "f32"]


BUILDERS = {"conv2d": build_conv, "linear": build_linear, "attention": build_attention}


def sdpa_default_kernels(s):
    """Which kernels plain SDPA launches at this shape (torch.profiler), classified as flash / efficient / cudnn / math."""
    from torch.profiler import ProfilerActivity, profile  # noqa: WPS433

    b, h, nq, nk, d = s["batch"], s["heads"], s["nq"], s["nk"], s["head_dim"]
    q, k, v = (rand((b, h, n, d), torch.float16) for n in (nq, nk, nk))
    F.scaled_dot_product_attention(q, k, v, is_causal=s["causal"])
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        F.scaled_dot_product_attention(q, k, v, is_causal=s["causal"])
        torch.cuda.synchronize()
    names = [e.key for e in prof.key_averages() if getattr(e, "device_type", None) is not None and "CUDA" in str(e.device_type)]
    low = " ".join(names).lower()
    if "flash" in low:
        kind = "flash"
    elif "cudnn" in low:
        kind = "cudnn"
    elif "fmha" in low or "efficient" in low or "mem_eff" in low:
        kind = "efficient"
    elif "softmax" in low:
        kind = "math"
    else:
        kind = "unknown"
    return kind, [n[:120] for n in names[:4]]


def measure_ceilings(seconds):
    ceilings = {}
    n = CEILING_N
    for name, dtype in (("matmul_f16", torch.float16), ("matmul_bf16", torch.bfloat16)):
        try:
            a, b = rand((n, n), dtype), rand((n, n), dtype)
            c = torch.empty_like(a)
            st = time_calls([lambda a=a, b=b, c=c: torch.mm(a, b, out=c)], max(1.0, seconds * 4))
            tflops = 2.0 * n**3 / (st["ms_min"] * 1e-3) * 1e-12
            ceilings[name] = tflops
            emit({"backend": "torch", "ceiling": name, "how": f"torch.mm {n}^3, best run", "tflops": round(tflops, 2),
                  "tflops_median": round(2.0 * n**3 / (st["ms"] * 1e-3) * 1e-12, 2)})
            del a, b, c
        except Exception as e:  # noqa: BLE001 (one failure must not stop the rest)
            emit({"backend": "torch", "ceiling": name, "error": repr(e)})
    try:
        src = rand((COPY_ELEMS,), torch.float32)
        dst = torch.empty_like(src)
        st = time_calls([lambda: dst.copy_(src)], max(0.5, seconds * 2))
        total = 2.0 * src.numel() * 4
        ceilings["copy_bw"] = total / (st["ms_min"] * 1e-3) * 1e-9
        emit({"backend": "torch", "ceiling": "copy_bw", "how": f"Tensor.copy_ of {COPY_ELEMS * 4 >> 20} MiB, read+write bytes, best run",
              "gbps": round(ceilings["copy_bw"], 1), "gbps_median": round(total / (st["ms"] * 1e-3) * 1e-9, 1)})
        del src, dst
    except Exception as e:  # noqa: BLE001
        emit({"backend": "torch", "ceiling": "copy_bw", "error": repr(e)})
    torch.cuda.empty_cache()
    return ceilings


def bench_op(s, variant, ceilings, seconds):
    op = s["op"]
    base = {"backend": "torch", "variant": variant, "op": op, "shape": s["shape"], "label": s["label"]}
    try:
        calls, elem, context = BUILDERS.get(op, build_memory_op)(s, variant)
        if context is not None:
            with context():
                st = time_calls(calls, seconds)
        else:
            st = time_calls(calls, seconds)
        rec = dict(base, ms=round(st["ms"], 5), ms_min=round(st["ms_min"], 5), reps=st["reps"], runs=st["runs"], buffer_sets=len(calls))
        if op in MATMUL_OPS:
            tflops = flop(s) / (st["ms"] * 1e-3) * 1e-12
            rec.update(flop=flop(s), tflops=round(tflops, 3))
            if ceilings.get("matmul_f16"):
                rec["pct_of_peak"] = round(100 * tflops / ceilings["matmul_f16"], 1)
        else:
            by = min_bytes(s, elem)
            gbps = by / (st["ms"] * 1e-3) * 1e-9
            rec.update(bytes=by, gbps=round(gbps, 1))
            if ceilings.get("copy_bw"):
                rec["pct_of_copy_bw"] = round(100 * gbps / ceilings["copy_bw"], 1)
        if op == "attention" and variant == "default":
            try:
                rec["sdpa_picks"], rec["kernels"] = sdpa_default_kernels(s)
            except Exception as e:  # noqa: BLE001
                rec["sdpa_picks"] = f"unknown ({type(e).__name__})"
        emit(rec)
    except Exception as e:  # noqa: BLE001
        msg = str(e).strip().splitlines()
        emit(dict(base, error=f"{type(e).__name__}: {msg[0] if msg else ''}"[:400]))
    finally:
        torch.cuda.synchronize()
        torch.cuda.empty_cache()


# --------------------------------------------------------------------------------------------------
# Whole networks (diffusers / transformers), random weights from the bench configs
# --------------------------------------------------------------------------------------------------


def read_config(model, part):
    path = os.path.join(CONFIG_DIR, model, part, "config.json")
    if not os.path.exists(path):
        return None, path
    with open(path) as f:
        cfg = json.load(f)
    return {k: v for k, v in cfg.items() if not k.startswith("_")}, path


def time_model(fn, warmup=3, iters=10):
    with torch.inference_mode():
        for _ in range(warmup):
            fn()
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        times = []
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        for _ in range(iters):
            start.record()
            fn()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end))
    return statistics.median(times), min(times), torch.cuda.max_memory_allocated()


def bench_networks(deadline):
    """UNet and VAE through diffusers, the CLIP text encoder through transformers, each when importable."""
    try:
        from diffusers import AutoencoderKL, UNet2DConditionModel  # noqa: WPS433
    except ImportError:
        AutoencoderKL = UNet2DConditionModel = None
        emit({"backend": "torch", "model": "diffusers", "skipped": "diffusers not installed"})
    try:
        from transformers import CLIPTextConfig, CLIPTextModel  # noqa: WPS433
    except ImportError:
        CLIPTextConfig = CLIPTextModel = None
        emit({"backend": "torch", "model": "transformers", "skipped": "transformers not installed"})
    available = {"unet": UNet2DConditionModel is not None, "vae": AutoencoderKL is not None, "text_encoder": CLIPTextModel is not None}

    # (model folder, latent size): SD1.5 at 512^2 (64x64 latents), SD2.1-v at 768^2 (96x96). Text first: cheapest.
    for model, latent in (("sd15", 64), ("sd21-v", 96)):
        for part in ("text_encoder", "unet", "vae"):
            if not available[part]:
                continue
            if time.perf_counter() > deadline:
                emit({"backend": "torch", "model": f"{model}_{part}", "skipped": "time budget spent"})
                continue
            cfg, path = read_config(model, part)
            if cfg is None:
                emit({"backend": "torch", "model": f"{model}_{part}", "skipped": f"no config {path}"})
                continue
            net = None
            try:
                rec = {"backend": "torch", "model": f"{model}_{part}", "dtype": "f16", "mode": "eager", "weights": "random"}
                with torch.device(DEVICE):
                    if part == "unet":
                        net = UNet2DConditionModel.from_config(cfg)
                    elif part == "vae":
                        net = AutoencoderKL.from_config(cfg)
                    else:
                        net = CLIPTextModel(CLIPTextConfig(**cfg))
                net = net.to(device=DEVICE, dtype=torch.float16).eval()
                torch.cuda.synchronize()
                if part == "unet":
                    x = torch.randn((2, cfg.get("in_channels", 4), latent, latent), device=DEVICE, dtype=torch.float16)
                    ctx = torch.randn((2, 77, cfg["cross_attention_dim"]), device=DEVICE, dtype=torch.float16)
                    t = torch.tensor([500.0, 500.0], device=DEVICE)
                    ms, ms_min, peak = time_model(lambda: net(x, t, encoder_hidden_states=ctx).sample)
                    rec.update(shape=f"b2 {latent}x{latent} (one CFG step)", it_per_s=round(1000 / ms, 2))
                    try:
                        rec["attn_processor"] = type(next(iter(net.attn_processors.values()))).__name__
                    except Exception:  # noqa: BLE001
                        pass
                elif part == "vae":
                    z = torch.randn((1, cfg.get("latent_channels", 4), latent, latent), device=DEVICE, dtype=torch.float16)
                    ms, ms_min, peak = time_model(lambda: net.decode(z).sample, warmup=2, iters=5)
                    rec.update(shape=f"b1 decode {latent}x{latent} -> {latent * 8}x{latent * 8}")
                else:
                    ids = torch.randint(0, cfg.get("vocab_size", 49408), (2, 77), device=DEVICE)
                    ms, ms_min, peak = time_model(lambda: net(ids).last_hidden_state)
                    rec.update(shape="b2 n77")
                rec.update(ms=round(ms, 3), ms_min=round(ms_min, 3), peak_alloc_mb=round(peak / 2**20, 1))
                emit(rec)
            except Exception as e:  # noqa: BLE001
                emit({"backend": "torch", "model": f"{model}_{part}", "error": f"{type(e).__name__}: {str(e)[:300]}"})
            finally:
                del net
                torch.cuda.empty_cache()


def environment():
    info = {"backend": "torch", "torch": torch.__version__, "cuda": torch.version.cuda,
            "cudnn": torch.backends.cudnn.version(), "device": torch.cuda.get_device_name(0),
            "capability": ".".join(map(str, torch.cuda.get_device_capability(0))), "sdpa_backends": sorted(sdpa_backends())}
    for mod in ("diffusers", "transformers"):
        try:
            info[mod] = __import__(mod).__version__
        except Exception:  # noqa: BLE001
            info[mod] = None
    return info


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shapes", default=SHAPES_FILE)
    ap.add_argument("--list", action="store_true", help="print the shape list (as `sdn_bench --cuda-ops --list`) and exit")
    ap.add_argument("--check", action="store_true", help="check the shape list and exit")
    ap.add_argument("--verify-native", metavar="FILE", help="compare with `sdn_bench --cuda-ops --list` output and exit")
    ap.add_argument("--seconds", type=float, default=0.25, help="timing budget per op and variant")
    ap.add_argument("--only", default="", help="only ops whose 'variant op shape label' contains this")
    ap.add_argument("--budget", type=float, default=150.0, help="seconds for the whole run (networks last, if time is left)")
    ap.add_argument("--no-networks", action="store_true", help="skip the diffusers network anchors")
    args = ap.parse_args()

    specs = load_specs(args.shapes)
    if args.list:
        for rec in list_records(specs):
            emit(rec)
        return 0
    problems = check_specs(specs)
    if args.verify_native:
        with open(args.verify_native) as f:
            problems += verify_native_list(specs, f)
    if args.check or args.verify_native:
        for p in problems:
            print("MISMATCH:", p, file=sys.stderr)
        print(f"{len(specs)} ops, {len(problems)} problem(s)", file=sys.stderr)
        return 1 if problems else 0
    if problems:
        for p in problems:
            print("MISMATCH:", p, file=sys.stderr)
        return 1

    t_start = time.perf_counter()
    deadline = t_start + args.budget
    try:
        import_torch()
    except ImportError as e:
        emit({"backend": "torch", "skipped": True, "reason": f"torch not importable: {e}"})
        return 0
    if not torch.cuda.is_available():
        emit({"backend": "torch", "skipped": True, "reason": "torch.cuda.is_available() is False"})
        return 0
    torch.backends.cudnn.benchmark = True
    emit(environment())
    ceilings = measure_ceilings(args.seconds)
    # Leave about 40 s of the budget for the networks.
    ops_deadline = deadline - (0 if args.no_networks else 40)
    for s in specs:
        for variant in variants_of(s["op"]):
            key = f"{variant} {s['op']} {s['shape']} {s['label']}"
            if args.only and args.only not in key:
                continue
            if time.perf_counter() > ops_deadline:
                emit({"backend": "torch", "variant": variant, "op": s["op"], "shape": s["shape"], "skipped": "time budget spent"})
                continue
            bench_op(s, variant, ceilings, args.seconds)
    if not args.no_networks and not args.only:
        try:
            bench_networks(deadline)
        except Exception:  # noqa: BLE001
            emit({"backend": "torch", "model": "networks", "error": traceback.format_exc(limit=3)[-400:]})
    emit({"backend": "torch", "done": True, "seconds": round(time.perf_counter() - t_start, 1)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
