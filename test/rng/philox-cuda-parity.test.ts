// TorchCudaGenerator against real torch CUDA randn, from fixtures captured on a GPU machine by
// scripts/gpu/torch_cuda_randn.py (test/fixtures/rng/torch_cuda_randn.json). Skipped, with a notice, until
// such a fixture exists: no GPU has been available to this project yet.
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { TorchCudaGenerator } from "../../lib/index.js";
import { repoPath } from "../helpers/reference.js";

interface Case {
  seed: number;
  shape: number[];
  numel: number;
  consecutive?: boolean;
  values?: number[];
  first?: number[];
  sum?: number;
  sumsq?: number;
}

const fixture = repoPath("test", "fixtures", "rng", "torch_cuda_randn.json");
const present = existsSync(fixture);

describe("TorchCudaGenerator vs torch CUDA randn (GPU-captured fixture)", () => {
  it.skipIf(!present)("reproduces every captured case", () => {
    const f = JSON.parse(readFileSync(fixture, "utf8")) as { device: { multiProcessorCount: number; maxThreadsPerMultiProcessor: number }; cases: Case[] };
    for (const c of f.cases) {
      const g = new TorchCudaGenerator(BigInt(c.seed), f.device);
      let got: number[];
      if (c.consecutive) got = [...g.randn(c.shape), ...g.randn(c.shape)];
      else got = Array.from(g.randn(c.shape));
      const want = c.values ?? c.first!;
      for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!), `seed ${c.seed} shape ${c.shape} [${i}]`).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(want[i]!)));
      if (c.sum !== undefined) {
        let s = 0, s2 = 0;
        for (const v of got) {
          s += v;
          s2 += v * v;
        }
        expect(Math.abs(s - c.sum)).toBeLessThan(1e-2);
        expect(Math.abs(s2 - c.sumsq!) / c.sumsq!).toBeLessThan(1e-5);
      }
    }
  });
  if (!present) it.skip("needs test/fixtures/rng/torch_cuda_randn.json (run scripts/gpu/torch_cuda_randn.py on a GPU machine)", () => undefined);
});
