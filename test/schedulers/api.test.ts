/** Scheduler API: construction, config resolution, typed errors, quadrature, batches (no reference data needed). */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { InvalidArgumentError, ShapeError } from "../../lib/errors.js";
import { TorchCpuGenerator } from "../../lib/rng/index.js";
import {
  alphasCumprodOf,
  createScheduler,
  createSchedulerFromConfig,
  integrate,
  LMSDiscreteScheduler,
  makeBetas,
  resolveConfig,
  swapScheduler,
  validSchedulerNames,
} from "../../lib/schedulers/index.js";
import { repoPath } from "../helpers/reference.js";

/** CompVis/stable-diffusion-v1-4 scheduler/scheduler_config.json (an old file: no timestep_spacing). */
const SD1 = {
  _class_name: "PNDMScheduler",
  _diffusers_version: "0.7.0.dev0",
  beta_end: 0.012,
  beta_schedule: "scaled_linear",
  beta_start: 0.00085,
  num_train_timesteps: 1000,
  set_alpha_to_one: false,
  skip_prk_steps: true,
  steps_offset: 1,
  trained_betas: null,
  clip_sample: false,
};

const FRIENDLY = ["pndm", "ddim", "lms", "euler", "euler-a", "heun", "dpm2", "dpm++2m", "dpm++2m-karras", "unipc", "ddpm"];

describe("construction", () => {
  it("every friendly name builds the expected class and runs a few steps on a batch of 2", () => {
    const expected: Record<string, string> = {
      pndm: "PNDMScheduler",
      ddim: "DDIMScheduler",
      lms: "LMSDiscreteScheduler",
      euler: "EulerDiscreteScheduler",
      "euler-a": "EulerAncestralDiscreteScheduler",
      heun: "HeunDiscreteScheduler",
      dpm2: "KDPM2DiscreteScheduler",
      "dpm++2m": "DPMSolverMultistepScheduler",
      "dpm++2m-karras": "DPMSolverMultistepScheduler",
      unipc: "UniPCMultistepScheduler",
      ddpm: "DDPMScheduler",
    };
    for (const name of FRIENDLY) {
      const s = createScheduler(name, { config: SD1 });
      expect(s.className).toBe(expected[name]);
      s.setTimesteps(8);
      const shape = [2, 4, 8, 8];
      let x: Float32Array = new TorchCpuGenerator(1).randn(shape).map((v) => v * s.initNoiseSigma);
      const gens = [new TorchCpuGenerator(10), new TorchCpuGenerator(11)];
      for (const t of s.timesteps) {
        const xin = s.scaleModelInput(x, t);
        const eps = xin.map((v) => Math.tanh(0.5 * v));
        x = s.step(eps, t, x, { generator: gens, shape }).prevSample;
      }
      expect(x.every(Number.isFinite)).toBe(true);
    }
    expect(createScheduler("dpm++2m-karras").config.use_karras_sigmas).toBe(true);
  });

  it("class names and scheduler_config.json objects work; swapping keeps the training config", () => {
    const pndm = createSchedulerFromConfig(SD1);
    expect(pndm.className).toBe("PNDMScheduler");
    expect(pndm.config.steps_offset).toBe(1);
    const euler = swapScheduler(pndm, "EulerDiscreteScheduler");
    expect(euler.config.beta_schedule).toBe("scaled_linear");
    expect(euler.config.beta_start).toBe(0.00085);
    expect(euler.config.steps_offset).toBe(1);
    // absent in the old config -> the class's own default, like diffusers' from_config
    expect(euler.config.timestep_spacing).toBe("linspace");
    expect(swapScheduler(pndm, "ddim").config.timestep_spacing).toBe("leading");
    expect(swapScheduler(pndm, "ddim").config.set_alpha_to_one).toBe(false);
    // a config that names its spacing keeps it
    expect(createScheduler("euler", { config: { ...SD1, timestep_spacing: "leading" } }).config.timestep_spacing).toBe("leading");
    // explicit camelCase override
    expect(createScheduler("ddim", { config: SD1, overrides: { predictionType: "v_prediction" } }).config.prediction_type).toBe(
      "v_prediction",
    );
    expect(createScheduler("DDIMScheduler").config.clip_sample).toBe(true);
  });

  it("alphas_cumprod follows torch float32 (first/last values of the SD1 schedule)", () => {
    const ac = alphasCumprodOf(makeBetas(resolveConfig("PNDMScheduler", SD1, undefined)));
    expect(ac[0]).toBe(Math.fround(1 - 0.00085));
    expect(ac[999]).toBeCloseTo(0.0046600960195064545, 9);
  });

  it("the 10-step SD1 schedules of several classes", () => {
    const ts = (name: string, n: number) => {
      const s = createScheduler(name, { config: SD1 });
      s.setTimesteps(n);
      return s.timesteps;
    };
    expect(ts("ddim", 10)).toEqual([901, 801, 701, 601, 501, 401, 301, 201, 101, 1]);
    expect(ts("pndm", 10)).toEqual([901, 801, 801, 701, 601, 501, 401, 301, 201, 101, 1]);
    expect(ts("euler", 10)).toEqual([999, 888, 777, 666, 555, 444, 333, 222, 111, 0]);
    expect(ts("unipc", 10)).toEqual([999, 899, 799, 699, 599, 500, 400, 300, 200, 100]);
    const trailing = createScheduler("ddim", { config: SD1, overrides: { timestep_spacing: "trailing" } });
    trailing.setTimesteps(10);
    expect(trailing.timesteps).toEqual([999, 899, 799, 699, 599, 499, 399, 299, 199, 99]);
  });
});

describe("typed errors", () => {
  it("unknown names list the valid ones", () => {
    expect(() => createScheduler("k_euler_magic")).toThrow(InvalidArgumentError);
    try {
      createScheduler("nope");
    } catch (e) {
      for (const n of validSchedulerNames()) expect((e as Error).message).toContain(n);
    }
    expect(() => createSchedulerFromConfig({ _class_name: "FlowMatchScheduler" })).toThrow(InvalidArgumentError);
  });

  it("steps < 1 or > num_train_timesteps, non-integers", () => {
    for (const name of FRIENDLY) {
      const s = createScheduler(name, { config: SD1 });
      expect(() => s.setTimesteps(0)).toThrow(InvalidArgumentError);
      expect(() => s.setTimesteps(1001)).toThrow(InvalidArgumentError);
      expect(() => s.setTimesteps(2.5)).toThrow(InvalidArgumentError);
    }
  });

  it("strength outside [0, 1]", () => {
    const s = createScheduler("euler", { config: SD1 });
    expect(() => s.getImg2ImgTimesteps(20, 1.5)).toThrow(InvalidArgumentError);
    expect(() => s.getImg2ImgTimesteps(20, -0.1)).toThrow(InvalidArgumentError);
    expect(() => s.getImg2ImgTimesteps(20, Number.NaN)).toThrow(InvalidArgumentError);
    expect(s.getImg2ImgTimesteps(20, 1).timesteps.length).toBe(20);
    expect(s.getImg2ImgTimesteps(20, 0).timesteps.length).toBe(0);
  });

  it("incompatible options (Karras sigmas on PNDM / DDIM / DDPM / Euler ancestral, unknown fields, bad values)", () => {
    for (const name of ["pndm", "ddim", "ddpm", "euler-a"]) {
      expect(() => createScheduler(name, { config: SD1, overrides: { use_karras_sigmas: true } })).toThrow(InvalidArgumentError);
    }
    expect(() => createScheduler("euler", { overrides: { eta: 1 } })).toThrow(InvalidArgumentError);
    expect(() => createScheduler("euler", { overrides: { prediction_type: "x0" } })).toThrow(InvalidArgumentError);
    expect(() => createScheduler("euler", { overrides: { timestep_spacing: "log" } })).toThrow(InvalidArgumentError);
    expect(() => createScheduler("euler", { overrides: { beta_schedule: "sigmoid" } })).toThrow(InvalidArgumentError);
    expect(() => createScheduler("ddim", { config: { ...SD1, num_train_timesteps: -5 } })).toThrow(InvalidArgumentError);
    expect(() => createScheduler("dpm++2m", { overrides: { solver_order: 7 } })).toThrow(InvalidArgumentError);
    expect(() => createScheduler("dpm++2m", { overrides: { algorithm_type: "dpmsolver", final_sigmas_type: "zero" } })).toThrow(
      InvalidArgumentError,
    );
  });

  it("wrong latent lengths and stepping before setTimesteps", () => {
    for (const name of FRIENDLY) {
      const s = createScheduler(name, { config: SD1 });
      expect(() => s.step(new Float32Array(64), 1, new Float32Array(64))).toThrow(InvalidArgumentError);
      s.setTimesteps(10);
      const t = s.timesteps[0]!;
      expect(() => s.step(new Float32Array(63), t, new Float32Array(64))).toThrow(ShapeError);
      expect(() => s.step(new Float32Array(64), t, new Float32Array(64), { shape: [1, 4, 4, 5] })).toThrow(ShapeError);
      expect(() => s.addNoise(new Float32Array(64), new Float32Array(32), t)).toThrow(ShapeError);
    }
  });
});

describe("adaptive Gauss-Kronrod quadrature vs scipy.integrate.quad", () => {
  const fx = JSON.parse(readFileSync(repoPath("test", "fixtures", "schedulers", "quad_scipy.json"), "utf8")) as {
    cases: { kind: string; sigmas?: number[]; order?: number; t?: number; current?: number; epsrel?: number; a?: number; b?: number; value: number }[];
  };
  it(`matches ${fx.cases.length} scipy results to 1e-10`, () => {
    for (const c of fx.cases) {
      let got: number;
      if (c.kind === "lagrange") {
        const s = c.sigmas!;
        const f = (tau: number) => {
          let p = 1;
          for (let k = 0; k < c.order!; k++) {
            if (k === c.current) continue;
            p *= (tau - s[c.t! - k]!) / (s[c.t! - c.current!]! - s[c.t! - k]!);
          }
          return p;
        };
        got = integrate(f, s[c.t!]!, s[c.t! + 1]!, { epsrel: c.epsrel }).value;
      } else {
        const f = c.kind === "exp" ? Math.exp : c.kind === "cos" ? Math.cos : (x: number) => 3 * x ** 5 - 2 * x ** 3 + x - 7;
        got = integrate(f, c.a!, c.b!).value;
      }
      expect(Math.abs(got - c.value)).toBeLessThanOrEqual(1e-10 * Math.max(1, Math.abs(c.value)));
    }
  });

  it("LMS coefficients: float32 integrand (diffusers' behaviour) vs float64 differ only at float32 level", () => {
    const a = createScheduler("lms", { config: SD1 }) as LMSDiscreteScheduler;
    const b = new LMSDiscreteScheduler(a.config as never, { float32Integrand: false });
    a.setTimesteps(10);
    b.setTimesteps(10);
    for (let t = 3; t < 9; t++) {
      for (let k = 0; k < 4; k++) {
        const x = a.lmsCoefficient(4, t, k);
        const y = b.lmsCoefficient(4, t, k);
        expect(Math.abs(x - y)).toBeLessThan(1e-5 * Math.max(1, Math.abs(y)));
      }
    }
  });
});
