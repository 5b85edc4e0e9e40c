// Every diffusers 0.27.2 pipeline golden (goldens/pipelines/index.json) reproduced through the public API:
// final latents within 1e-4 x max|latents|, images within 1/255 per channel, nsfw flags equal. Each run is
// checked with the recorded randn draws injected (a replaying Generator) and, where the run used a CPU
// seed, from the seed through TorchCpuGenerator. The PNDM run is also compared after every step.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  loadImageRGB, StableDiffusionImg2ImgPipeline, type AnyPipeline, type Generator, type PipelineResult, type Tensor,
} from "../../lib/index.js";
import { describeWithReference, referenceDir, referencePath } from "../helpers/reference.js";
import {
  diffStats, disposeShared, f32Tensor, goldenIndex, goldenRun, imageDiff, ReplayGenerator, sharedPipeline,
} from "./helpers.js";

const LATENT_REL_TOL = 1e-4;
const runs = referenceDir() ? goldenIndex() : [];
const report: string[] = [];

type Mode = "injected" | "seeded";

async function runGolden(name: string, mode: Mode, extra: { onStepEnd?: (s: number, t: number, l: Tensor) => void } = {}) {
  const { run, file, tensors } = goldenRun(name);
  const k = run.call_kwargs;
  const pipe = await sharedPipeline(run.model);
  let generator: Generator | undefined;
  let replay: ReplayGenerator | null = null;
  if (mode === "injected") {
    replay = new ReplayGenerator(run.rng_draws.map((d) => f32Tensor(file, tensors, `rng_draw_${d.index}`)));
    generator = replay;
  }
  const u8 = (key: string, channels: 1 | 3) => {
    const t = tensors.get(key)!;
    return { data: Uint8Array.from(t.data), width: t.shape[1]!, height: t.shape[0]!, channels };
  };
  const opts: Record<string, unknown> = {
    ...(k.prompt !== undefined ? { prompt: k.prompt } : {}),
    ...(k.negative_prompt !== undefined ? { negativePrompt: k.negative_prompt } : {}),
    ...(k.height !== undefined ? { height: k.height, width: k.width } : {}),
    steps: k.num_inference_steps,
    guidanceScale: k.guidance_scale,
    ...(k.strength !== undefined ? { strength: k.strength } : {}),
    ...(k.noise_level !== undefined ? { noiseLevel: k.noise_level } : {}),
    ...(tensors.has("input_latents") ? { latents: f32Tensor(file, tensors, "input_latents") } : {}),
    ...(tensors.has("input_image_uint8") ? { image: u8("input_image_uint8", 3) } : {}),
    ...(tensors.has("input_mask_image_uint8") ? { maskImage: u8("input_mask_image_uint8", 1) } : {}),
    ...(tensors.has("input_depth_map") ? { depthMap: f32Tensor(file, tensors, "input_depth_map") } : {}),
    scheduler: run.scheduler_config,
    outputType: mode === "injected" ? "raw" : "png",
    ...(generator ? { generator } : run.generator_seed !== null ? { seed: run.generator_seed } : {}),
    ...extra,
  };
  let res: PipelineResult;
  if (run.pipeline === "StableDiffusionImg2ImgPipeline") {
    // the same weights as the text-to-image pipeline: through .img2img() and through the explicit class
    const base = pipe as Extract<AnyPipeline, { img2img: unknown }>;
    res = mode === "injected" ? await base.img2img(opts as never) : await StableDiffusionImg2ImgPipeline.fromPipeline(base).generate(opts as never);
  } else {
    expect(pipe.pipelineClass).toBe(run.pipeline);
    res = await (pipe as { generate(o: unknown): Promise<PipelineResult> }).generate(opts);
  }
  if (replay) expect(replay.used, "every recorded draw consumed").toBe(run.rng_draws.length);
  return { run, file, tensors, res };
}

async function pixelsOf(res: PipelineResult): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (const img of res.images) out.push(Buffer.isBuffer(img) ? (await loadImageRGB(img)).data : img.data);
  return out;
}

describeWithReference("pipeline parity with diffusers 0.27.2 goldens", () => {
  afterAll(async () => {
    await disposeShared();
    if (report.length) console.log(["run | mode | latents max|diff| / max|ref| | image max diff (of 255)", ...report].join("\n"));
  });

  beforeAll(async () => {
    // load every model once up front (shared by all tests of this file)
    await Promise.all([...new Set(runs.map((r) => r.model))].map((m) => sharedPipeline(m)));
  });

  for (const entry of runs) {
    const modes: Mode[] = entry.generator_seed !== null ? ["injected", "seeded"] : ["injected"];
    describe(entry.name, () => {
      for (const mode of modes) {
        it(`${mode === "injected" ? "recorded noise injected" : `seed ${entry.generator_seed} through TorchCpuGenerator`}`, async () => {
          const steps: Tensor[] = [];
          const forced = entry.name === "txt2img_sd1_forced_nsfw";
          const pipe = await sharedPipeline(entry.model);
          const concepts = forced ? pipe.safetyChecker!.concepts.conceptWeights : null;
          const saved = concepts?.slice();
          if (concepts) concepts.fill(-2); // the golden's mutation: every concept fires
          let out;
          try {
            out = await runGolden(entry.name, mode, { onStepEnd: (_s, _t, l) => steps.push(l) });
          } finally {
            if (concepts && saved) concepts.set(saved);
          }
          const { run, file, tensors, res } = out;
          const lat = diffStats(res.latents.data, f32Tensor(file, tensors, "final_latents").data);
          expect(res.latents.shape).toEqual(tensors.get("final_latents")!.shape);
          expect(lat.rel, "final latents").toBeLessThanOrEqual(LATENT_REL_TOL);
          const image = f32Tensor(file, tensors, "image").data;
          const pix = await pixelsOf(res);
          expect(pix.length).toBe(run.image_shape[0]);
          const per = image.length / pix.length;
          let worst = 0;
          pix.forEach((p, i) => (worst = Math.max(worst, imageDiff(p, image.subarray(i * per, (i + 1) * per)))));
          expect(worst, "decoded image (uint8)").toBeLessThanOrEqual(1);
          expect(res.nsfwContentDetected).toEqual(run.nsfw_content_detected);
          if (forced) for (const p of pix) expect(p.every((v) => v === 0), "flagged image is black").toBe(true);
          if (mode === "seeded") {
            // PNG output also matches diffusers' numpy_to_pil PNG
            const png = await loadImageRGB(referencePath("goldens", "pipelines", `${entry.name}__image0.png`));
            expect(imageDiff(pix[0]!, Float32Array.from(png.data, (v) => v / 255))).toBeLessThanOrEqual(1);
          }
          if (tensors.has("per_step_latents")) {
            const ps = f32Tensor(file, tensors, "per_step_latents");
            const n = ps.shape[0]!;
            expect(steps.length).toBe(n);
            const size = ps.data.length / n;
            let worstStep = 0;
            for (let s = 0; s < n; s++) {
              const d = diffStats(steps[s]!.data, ps.data.subarray(s * size, (s + 1) * size));
              expect(d.rel, `latents after step ${s}`).toBeLessThanOrEqual(LATENT_REL_TOL);
              worstStep = Math.max(worstStep, d.rel);
            }
            report.push(`${entry.name} | per-step (${n}) | worst ${worstStep.toExponential(2)} |`);
          }
          report.push(`${entry.name} | ${mode} | ${lat.maxAbs.toExponential(2)} / ${lat.maxRef.toFixed(3)} = ${lat.rel.toExponential(2)} | ${worst}`);
        });
      }
    });
  }
});
