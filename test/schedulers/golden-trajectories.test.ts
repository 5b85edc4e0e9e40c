/**
 * Every run of goldens/schedulers (13 variants x {epsilon, v_prediction} x {10, 20, 50} steps, diffusers
 * 0.27.2): schedule, init_noise_sigma, scale_model_input factors, every prev_sample through the fake model
 * with the recorded noise injected and with noise drawn from our torch generator (seed 4321), and img2img.
 */
import { expect, it } from "vitest";
import { describeWithReference } from "../helpers/reference.js";
import { loadSchedulerGoldens, makeScheduler, relErr, runTrajectory } from "./golden-helpers.js";

/** Tolerance: max |ours - diffusers| / max |diffusers| per tensor (diffusers itself computes in float32). */
const TOL = 1e-6;

describeWithReference("scheduler goldens (diffusers 0.27.2)", () => {
  const g = loadSchedulerGoldens();
  const keys = Object.keys(g.runs);

  it("covers all 78 runs", () => {
    expect(keys.length).toBe(78);
  });

  for (const key of keys) {
    const run = g.runs[key]!;

    it(`${key}: timesteps, sigmas, init_noise_sigma, order`, () => {
      const s = makeScheduler(g, run);
      s.setTimesteps(run.num_inference_steps);
      expect(s.timesteps.length).toBe(run.timesteps.length);
      expect(s.timesteps.length).toBe(run.n_step_calls);
      s.timesteps.forEach((t, i) => {
        const ref = run.timesteps[i]!;
        if (Number.isInteger(ref) && Number.isInteger(t)) expect(t).toBe(ref);
        else expect(Math.abs(t - ref) / Math.max(1, Math.abs(ref))).toBeLessThan(1e-6);
      });
      if (run.sigmas) {
        expect(s.sigmas!.length).toBe(run.sigmas.length);
        expect(relErr(s.sigmas!, run.sigmas)).toBeLessThan(1e-7);
      }
      expect(Math.abs(s.initNoiseSigma - run.init_noise_sigma) / run.init_noise_sigma).toBeLessThan(1e-7);
      expect(s.order).toBe(run.order);
    });

    it(`${key}: resolved config equals diffusers' from_config result`, () => {
      const s = makeScheduler(g, run);
      const ours = s.toJSON();
      for (const [k, v] of Object.entries(ours)) {
        if (k === "_class_name") continue;
        if (k === "_use_default_values") {
          expect([...(v as string[])].sort()).toEqual([...(run.resolved_config["_use_default_values"] as string[])].sort());
          continue;
        }
        const ref = run.resolved_config[k];
        if (k === "lambda_min_clipped") expect(v).toBe(-Infinity);
        else expect(v, k).toEqual(ref);
      }
      expect(ours["_class_name"]).toBe(run.class);
    });

    it(`${key}: trajectory with the recorded noise`, () => {
      const r = runTrajectory(g, key, "replay");
      expect(r.steps).toBe(run.n_step_calls);
      expect(r.factorErr).toBeLessThan(TOL);
      expect(r.modelOutErr).toBeLessThan(2 * TOL);
      expect(r.prevErr).toBeLessThan(TOL);
      expect(r.noiseUsed).toBe(run.noise_draws);
      for (const shape of r.noiseRequested) expect(shape).toEqual([1, 4, 4, 4]);
    });

    it(`${key}: trajectory with noise from TorchCpuGenerator(${g.noiseSeed})`, () => {
      const r = runTrajectory(g, key, "torch");
      expect(r.noiseUsed).toBe(run.noise_draws);
      expect(r.noiseBitExact).toBe(true);
      expect(r.prevErr).toBeLessThan(TOL);
    });

    it(`${key}: img2img timesteps, t_start and add_noise`, () => {
      const x0 = Float32Array.from(g.tensors.get("img2img_x0")!.data);
      const noise = Float32Array.from(g.tensors.get("img2img_noise")!.data);
      for (const entry of run.img2img) {
        const s = makeScheduler(g, run);
        const res = s.getImg2ImgTimesteps(run.num_inference_steps, entry.strength);
        expect(res.tStart).toBe(entry.t_start);
        expect(res.numInferenceSteps).toBe(entry.num_inference_steps_effective);
        expect(res.timesteps.length).toBe(entry.timesteps.length);
        res.timesteps.forEach((t, i) => expect(Math.abs(t - entry.timesteps[i]!)).toBeLessThan(1e-3));
        expect(res.latentTimestep).toBe(res.timesteps[0]);
        const noised = s.addNoise(x0, noise, res.latentTimestep!);
        const ref = g.tensors.get(`${key}__img2img_s${entry.strength}_noised`)!.data;
        expect(relErr(noised, ref)).toBeLessThan(TOL);
      }
    });
  }
});
