/**
 * One scheduler step on 4x128x128 latents (batch 1, SD 1024px-class latent) for each scheduler, plus the
 * torch-compatible noise draw for that shape. The budget: well under 1% of a UNet step.
 */
import { bench, describe } from "vitest";
import { TorchCpuGenerator } from "../lib/rng/index.js";
import type { AnyScheduler } from "../lib/schedulers/index.js";
import { createScheduler } from "../lib/schedulers/index.js";

const SD1 = {
  _class_name: "PNDMScheduler",
  beta_end: 0.012,
  beta_schedule: "scaled_linear",
  beta_start: 0.00085,
  num_train_timesteps: 1000,
  set_alpha_to_one: false,
  skip_prk_steps: true,
  steps_offset: 1,
  clip_sample: false,
};
const SHAPE = [1, 4, 128, 128];
const NAMES = ["pndm", "ddim", "ddpm", "lms", "euler", "euler-a", "heun", "dpm2", "dpm++2m", "dpm++2m-karras", "unipc"];

const gen = new TorchCpuGenerator(0);
const sample = gen.randn(SHAPE);
const modelOutput = gen.randn(SHAPE);

function prepared(name: string): { s: AnyScheduler; t: number } {
  const s = createScheduler(name, { config: SD1 });
  s.setTimesteps(50);
  // warm the multistep history so the timed step is a typical (higher-order) one
  for (let i = 0; i < 3; i++) s.step(modelOutput, s.timesteps[i]!, sample, { generator: gen, shape: SHAPE });
  return { s, t: s.timesteps[3]! };
}

describe("scheduler step, 4x128x128", () => {
  for (const name of NAMES) {
    let state = prepared(name);
    let calls = 0;
    bench(
      name,
      () => {
        // Re-create periodically so the step index never runs off the schedule.
        if (++calls % 40 === 0) state = prepared(name);
        const { s } = state;
        const t = s.timesteps[s.stepIndex ?? 0]!;
        s.step(modelOutput, t, sample, { generator: gen, shape: SHAPE, eta: 0.5 });
      },
      { time: 300 },
    );
  }
});

describe("noise, 4x128x128", () => {
  bench("TorchCpuGenerator.randn", () => {
    gen.randn(SHAPE);
  }, { time: 300 });
});
