// Swapping schedulers keeps the whole source config, including fields the source class does not take
// (diffusers' "hidden" config): DDIM.from_config(pndm.config) sees the file's clip_sample.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createSchedulerFromConfig, swapScheduler } from "../../lib/index.js";
import { describeWithReference, referencePath } from "../helpers/reference.js";

describe("swapScheduler carries fields the current class does not use", () => {
  it("a PNDM config's clip_sample: false reaches DDIM, and survives a second swap", () => {
    const pndm = createSchedulerFromConfig({
      _class_name: "PNDMScheduler",
      beta_schedule: "scaled_linear",
      beta_start: 0.00085,
      beta_end: 0.012,
      clip_sample: false,
      set_alpha_to_one: false,
      skip_prk_steps: true,
      steps_offset: 1,
    });
    const ddim = swapScheduler(pndm, "ddim");
    expect(ddim.config.clip_sample).toBe(false);
    expect(ddim.config.beta_schedule).toBe("scaled_linear");
    const back = swapScheduler(swapScheduler(ddim, "euler"), "ddim");
    expect(back.config.clip_sample).toBe(false);
  });
});

describeWithReference("swapScheduler on a real model's scheduler_config.json", () => {
  it("runwayml/stable-diffusion-v1-5: PNDM -> DDIM keeps clip_sample from the file", () => {
    const raw = JSON.parse(readFileSync(referencePath("configs", "runwayml--stable-diffusion-v1-5", "scheduler", "scheduler_config.json"), "utf8"));
    const ddim = swapScheduler(createSchedulerFromConfig(raw), "ddim");
    expect(ddim.config.clip_sample).toBe(raw.clip_sample);
  });
});
