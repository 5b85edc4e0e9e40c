// Continuous batching: generations with different prompts, seeds, guidance, step counts and schedulers run
// concurrently through views sharing one UNetBatcher; their UNet calls merge into shared forwards with
// per-sample timesteps, and every result equals the same generation run alone.
import { expect, it } from "vitest";
import { StableDiffusionPipeline, UNetBatcher, type Txt2ImgOptions } from "../../lib/index.js";
import { describeWithReference, referencePath } from "../helpers/reference.js";

function relDiff(a: Float32Array, b: Float32Array): number {
  let d = 0, m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(b[i]!));
  }
  return d / Math.max(m, 1e-12);
}

describeWithReference("continuous batching across generations (tiny-sd1)", () => {
  it("merged UNet calls give each generation the result it gets alone", async () => {
    await using pipe = await StableDiffusionPipeline.load(referencePath("models", "tiny-sd1"), { safetyChecker: false });
    const jobs: Txt2ImgOptions[] = [
      { prompt: "a red fox in the snow", seed: 1, steps: 4, guidanceScale: 7.5, scheduler: "pndm" },
      { prompt: "a lighthouse at dusk", negativePrompt: "blurry", seed: 2, steps: 3, guidanceScale: 5, scheduler: "ddim" },
      { prompt: "an owl", seed: 3, steps: 5, guidanceScale: 1, scheduler: "euler-a" }, // no CFG: batch 1
      { prompt: "a teapot", seed: 4, steps: 2, guidanceScale: 9, scheduler: "dpm++2m", width: 64, height: 64 },
    ].map((o) => ({ ...o, outputType: "latent" as const }));

    const alone = [];
    for (const o of jobs) alone.push(await pipe.generate(o));

    const batcher = new UNetBatcher(pipe.unet, { maxBatch: 16, maxWaitMs: 50 });
    const together = await Promise.all(jobs.map((o, i) => new Promise((r) => setTimeout(r, i * 3)).then(() => pipe.withBatcher(batcher).generate(o))));
    for (let i = 0; i < jobs.length; i++) {
      expect(relDiff(together[i]!.latents.data, alone[i]!.latents.data), `job ${i}`).toBeLessThan(1e-4);
    }
    expect(batcher.stats.maxCallsMerged).toBeGreaterThanOrEqual(3);
    expect(batcher.stats.forwards).toBeLessThan(batcher.stats.calls);
    expect(batcher.participants).toBe(0);
  });

  it("a generation that is aborted leaves the batch; the others finish", async () => {
    await using pipe = await StableDiffusionPipeline.load(referencePath("models", "tiny-sd1"), { safetyChecker: false });
    const batcher = new UNetBatcher(pipe.unet);
    const controller = new AbortController();
    const base = { prompt: "a cat", steps: 6, outputType: "latent" as const };
    const a = pipe.withBatcher(batcher).generate({ ...base, seed: 1, signal: controller.signal, onProgress: (e) => e.step === 2 && controller.abort() });
    const b = pipe.withBatcher(batcher).generate({ ...base, seed: 2 });
    await expect(a).rejects.toMatchObject({ name: "AbortError" });
    const done = await b;
    const alone = await pipe.generate({ ...base, seed: 2 });
    expect(relDiff(done.latents.data, alone.latents.data)).toBeLessThan(1e-4);
    expect(batcher.participants).toBe(0);
  });
});
