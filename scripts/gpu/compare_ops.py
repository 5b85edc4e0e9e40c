#!/usr/bin/env python3
"""Joins `sdn_bench --cuda-ops` and scripts/gpu/torch_anchors.py output (JSON lines) by (op, shape) and
prints a markdown report: the ceilings of both, one row per op, the torch network anchors, and problems.

    python3 scripts/gpu/compare_ops.py bench_ops.jsonl torch_ops.jsonl > compare.md

Per op: sd-native's "default" variant (what the networks run) in ms, its other variants, PyTorch's fastest
variant and its name, the ratio torch_ms / our_ms (> 1: sd-native is faster), and our share of the
ceiling (matmul ops: of our measured linear peak; memory-bound ops: of our measured copy bandwidth).
Lines that are not JSON (stray log output) are ignored.
"""
import argparse
import json
import os
import sys

SHAPES_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sd15_op_shapes.json")


def read_jsonl(path):
    """The JSON objects of a JSON-lines file; a missing file gives one error record (reported, not fatal)."""
    records = []
    try:
        f = open(path, errors="replace")
    except OSError as e:
        return [{"error": f"cannot read {path}: {e.strerror}"}]
    with f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return records


class Side:
    """The records of one tool: ceilings, op timings by (op, shape) then variant, problems, other lines."""

    def __init__(self, records):
        self.ceilings = {}
        self.ops = {}  # (op, shape) -> {variant: record}
        self.order = []  # (op, shape) in first-seen order
        self.labels = {}
        self.problems = []
        self.failed = {}  # (op, shape) -> error text
        self.models = []
        self.info = []
        for r in records:
            if "ceiling" in r:
                if "error" in r:
                    self.problems.append(f"ceiling {r['ceiling']}: {r['error']}")
                else:
                    self.ceilings[r["ceiling"]] = r
            elif "model" in r:
                self.models.append(r)
            elif "op" in r and "shape" in r and "ms" in r:
                key = (r["op"], r["shape"])
                if key not in self.ops:
                    self.ops[key] = {}
                    self.order.append(key)
                self.ops[key][r.get("variant", "default")] = r
                if r.get("label"):
                    self.labels[key] = r["label"]
            elif "error" in r:
                if "op" in r and "shape" in r:
                    self.failed.setdefault((r["op"], r["shape"]), r["error"])
                where = " ".join(str(r[k]) for k in ("variant", "op", "shape") if k in r)
                self.problems.append(f"{where}: {r['error']}".strip(": "))
            elif "skipped" in r:
                where = " ".join(str(r[k]) for k in ("variant", "op", "shape") if k in r)
                self.problems.append(f"{where} skipped: {r.get('reason', r['skipped'])}".strip())
            else:
                self.info.append(r)

    def best(self, key):
        """(variant, record) with the least ms, or (None, None)."""
        variants = self.ops.get(key, {})
        if not variants:
            return None, None
        name = min(variants, key=lambda v: variants[v]["ms"])
        return name, variants[name]


def fmt_ms(ms):
    if ms is None:
        return "—"
    return f"{ms:.3f}" if ms < 10 else f"{ms:.1f}"


def ceiling_value(side, name, key):
    rec = side.ceilings.get(name)
    return rec.get(key) if rec else None


def fmt_num(v, unit):
    return "—" if v is None else f"{v:.1f} {unit}"


def shape_order(path=SHAPES_FILE):
    """(op, shape) keys and labels in the order of the shared shape list; empty when it cannot be read."""
    try:
        with open(path) as f:
            ops = json.load(f)["ops"]
        return [(o["op"], o["shape"]) for o in ops], {(o["op"], o["shape"]): o.get("label", "") for o in ops}
    except (OSError, ValueError, KeyError, TypeError):
        return [], {}


def report(native, torch, order=None, labels=None):
    out = []
    w = out.append
    w("# sd-native CUDA ops vs PyTorch (SD 1.5 512x512 CFG shapes)")
    w("")
    for r in native.info:
        if "name" in r:
            w(f"- sd-native `{r.get('variant', '?')}`: {r['name']}")
    for r in torch.info:
        if "torch" in r:
            keys = ("torch", "cuda", "cudnn", "device", "capability", "sdpa_backends", "diffusers", "transformers")
            w("- torch: " + ", ".join(f"{k} {r.get(k)}" for k in keys))
    w("")
    w("## Ceilings")
    w("")
    w("| ceiling | sd-native | PyTorch |")
    w("| --- | --- | --- |")
    w(f"| matmul (ours: Backend::linear 8192³ f16 weights; torch: mm 8192³) | "
      f"{fmt_num(ceiling_value(native, 'linear_peak', 'tflops'), 'TFLOP/s')} | "
      f"f16 {fmt_num(ceiling_value(torch, 'matmul_f16', 'tflops'), 'TFLOP/s')}, "
      f"bf16 {fmt_num(ceiling_value(torch, 'matmul_bf16', 'tflops'), 'TFLOP/s')} |")
    w(f"| device copy, read+write bytes | {fmt_num(ceiling_value(native, 'copy_bw', 'gbps'), 'GB/s')} | "
      f"{fmt_num(ceiling_value(torch, 'copy_bw', 'gbps'), 'GB/s')} |")
    w("")
    w("## Ops")
    w("")
    w("ours = sd-native `default` variant (f32 activations, f16 weights); torch = fastest PyTorch variant (f16 unless "
      "named f32). ratio = torch ms / ours ms (> 1: sd-native faster). % ceiling: matmul ops of our linear peak, "
      "memory-bound ops of our copy bandwidth. PyTorch eager pays Python dispatch per call (roughly 5-20 µs): for ops "
      "under ~30 µs the torch time is partly launch overhead.")
    w("")
    w("| op | shape | label | ours ms | ours TFLOP/s or GB/s | % ceiling | torch ms (variant) | ratio | other sd-native variants (ms) |")
    w("| --- | --- | --- | ---: | ---: | ---: | --- | ---: | --- |")
    order, labels = (order or []), (labels or {})
    keys = []
    for k in list(order) + native.order + list(native.failed) + torch.order:
        if k not in keys:
            keys.append(k)
    totals, missing = {}, []
    for key in keys:
        op, shape = key
        ours = native.ops.get(key, {}).get("default")
        tname, trec = torch.best(key)
        if not native.ops.get(key) and not trec and key not in native.failed:
            missing.append(f"{op} {shape}")
            continue
        label = labels.get(key) or native.labels.get(key) or torch.labels.get(key, "")
        ours_ms = ours["ms"] if ours else None
        torch_ms = trec["ms"] if trec else None
        if ours:
            rate = f"{ours['tflops']:.1f}" if "tflops" in ours else f"{ours.get('gbps', 0):.0f} GB/s"
            pct = ours.get("pct_of_peak", ours.get("pct_of_copy_bw"))
            pct = "—" if pct is None else f"{pct:.0f}%"
        else:
            rate = pct = "—"
        if trec:
            picks = f"→{trec['sdpa_picks']}" if trec.get("sdpa_picks") else ""
            tcell = f"{fmt_ms(torch_ms)} ({tname}{picks})"
        else:
            tcell = "—"
        ours_cell = fmt_ms(ours_ms) if ours else ("error" if key in native.failed else "—")
        ratio = f"{torch_ms / ours_ms:.2f}" if ours_ms and torch_ms else "—"
        others = ", ".join(f"{v} {fmt_ms(r['ms'])}" for v, r in native.ops.get(key, {}).items() if v != "default")
        w(f"| {op} | {shape} | {label} | {ours_cell} | {rate} | {pct} | {tcell} | {ratio} | {others or '—'} |")
        if ours_ms and torch_ms:
            t = totals.setdefault(op, [0.0, 0.0, 0])
            t[0] += ours_ms
            t[1] += torch_ms
            t[2] += 1
    w("")
    if missing:
        w(f"Measured on neither side ({len(missing)}): " + "; ".join(missing))
        w("")
    if totals:
        w("Sums over the rows measured on both sides (each shape once; not weighted by how often a network runs it):")
        w("")
        w("| op | rows | ours ms | torch ms | ratio |")
        w("| --- | ---: | ---: | ---: | ---: |")
        for op, (o, t, n) in totals.items():
            w(f"| {op} | {n} | {fmt_ms(o)} | {fmt_ms(t)} | {t / o:.2f} |")
        w("")
    if torch.models:
        w("## PyTorch networks (diffusers / transformers, random weights, f16 eager)")
        w("")
        w("| model | shape | ms | it/s | peak alloc MB | note |")
        w("| --- | --- | ---: | ---: | ---: | --- |")
        for m in torch.models:
            note = m.get("error") or m.get("skipped") or m.get("attn_processor", "")
            w(f"| {m.get('model')} | {m.get('shape', '')} | {fmt_ms(m.get('ms'))} | {m.get('it_per_s', '')} | "
              f"{m.get('peak_alloc_mb', '')} | {str(note)[:160]} |")
        w("")
    problems = [("sd-native", p) for p in native.problems] + [("torch", p) for p in torch.problems]
    if problems:
        w("## Problems")
        w("")
        for who, p in problems:
            w(f"- {who}: {p}")
        w("")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("native", help="sdn_bench --cuda-ops output (JSON lines)")
    ap.add_argument("torch", help="torch_anchors.py output (JSON lines)")
    ap.add_argument("-o", "--output", help="write the report here instead of stdout")
    args = ap.parse_args()
    order, labels = shape_order()
    text = report(Side(read_jsonl(args.native)), Side(read_jsonl(args.torch)), order, labels)
    if args.output:
        with open(args.output, "w") as f:
            f.write(text + "\n")
    else:
        sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
