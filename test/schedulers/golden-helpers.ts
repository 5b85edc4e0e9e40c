/** Loading the scheduler goldens (goldens/schedulers) and running the reference trajectory protocol. */
import { readFileSync } from "node:fs";
import type { Generator } from "../../lib/rng/generator.js";
import { TorchCpuGenerator } from "../../lib/rng/torch-cpu.js";
import type { AnyScheduler } from "../../lib/schedulers/index.js";
import { createScheduler } from "../../lib/schedulers/index.js";
import { referencePath } from "../helpers/reference.js";
import type { GoldenTensor } from "../helpers/safetensors.js";
import { readSafetensors } from "../helpers/safetensors.js";

export interface Img2ImgEntry {
  strength: number;
  t_start: number;
  timesteps: number[];
  num_inference_steps_effective: number;
  latent_timestep: number[];
}

export interface GoldenRun {
  timesteps: number[];
  sigmas?: number[];
  init_noise_sigma: number;
  scale_model_input_factor: number[];
  order: number;
  n_step_calls: number;
  noise_draws: number;
  noise_draw_step_index: number[];
  resolved_config: Record<string, unknown>;
  class: string;
  overrides: Record<string, unknown>;
  step_kwargs: Record<string, number>;
  num_inference_steps: number;
  img2img: Img2ImgEntry[];
}

export interface SchedulerGoldens {
  baseConfig: Record<string, unknown>;
  runs: Record<string, GoldenRun>;
  tensors: Map<string, GoldenTensor>;
  noiseSeed: number;
}

let cache: SchedulerGoldens | null = null;

export function loadSchedulerGoldens(): SchedulerGoldens {
  if (cache) return cache;
  const dir = referencePath("goldens", "schedulers");
  // Python's json writes -Infinity (lambda_min_clipped); JSON.parse does not accept it.
  const text = readFileSync(`${dir}/scheduler_trajectories.json`, "utf8").replace(/-Infinity/g, "-1e999");
  const json = JSON.parse(text) as { base_config: Record<string, unknown>; runs: Record<string, GoldenRun>; noise_generator_seed: number };
  cache = {
    baseConfig: json.base_config,
    runs: json.runs,
    tensors: readSafetensors(`${dir}/scheduler_trajectories.safetensors`),
    noiseSeed: json.noise_generator_seed,
  };
  return cache;
}

/** A Generator that hands out recorded noise tensors in order and records the requested shapes. */
export class ReplayGenerator implements Generator {
  readonly initialSeed = 0n;
  readonly requested: number[][] = [];
  private next = 0;
  constructor(private readonly draws: Float32Array[]) {}
  randn(shape: readonly number[]): Float32Array {
    this.requested.push([...shape]);
    const d = this.draws[this.next++];
    if (!d) throw new Error(`ReplayGenerator: draw ${this.next - 1} requested but only ${this.draws.length} recorded`);
    return d;
  }
  rand(): Float32Array {
    throw new Error("ReplayGenerator.rand not supported");
  }
  get used(): number {
    return this.next;
  }
}

/** Slice k of a stacked golden tensor [K, ...] as float32. */
export function slice(t: GoldenTensor, k: number): Float32Array {
  const per = t.data.length / t.shape[0]!;
  return Float32Array.from(t.data.subarray(k * per, (k + 1) * per));
}

/** max |a - b| / max |b| (relative to the tensor's scale). */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  let s = 0;
  for (let i = 0; i < b.length; i++) {
    m = Math.max(m, Math.abs(a[i]! - b[i]!));
    s = Math.max(s, Math.abs(b[i]!));
  }
  return s === 0 ? m : m / s;
}

/** The reference fake model: tanh(0.5 * x_in) * cos(t / 1000) + 0.1 in float32. */
export function fakeModel(xIn: Float32Array, t: number): Float32Array {
  const f32 = Math.fround;
  const c = f32(Math.cos(t / 1000));
  const out = new Float32Array(xIn.length);
  for (let i = 0; i < out.length; i++) out[i] = f32(f32(Math.tanh(f32(0.5 * xIn[i]!))) * c) + 0.1;
  return out;
}

export function makeScheduler(g: SchedulerGoldens, run: GoldenRun): AnyScheduler {
  return createScheduler(run.class, { config: g.baseConfig, overrides: run.overrides });
}

export interface TrajectoryResult {
  /** max relative error of prev_sample over all step calls. */
  prevErr: number;
  modelOutErr: number;
  factorErr: number;
  noiseRequested: number[][];
  noiseUsed: number;
  /** Whether the noise drawn by our torch generator equals the golden noise bitwise (torch mode only). */
  noiseBitExact: boolean;
  steps: number;
}

/** Runs the protocol; noise from the recorded tensors ("replay") or from TorchCpuGenerator(seed) ("torch"). */
export function runTrajectory(g: SchedulerGoldens, key: string, mode: "replay" | "torch"): TrajectoryResult {
  const run = g.runs[key]!;
  const sched = makeScheduler(g, run);
  sched.setTimesteps(run.num_inference_steps);
  const shape = g.tensors.get("x_init")!.shape;
  const xInit = Float32Array.from(g.tensors.get("x_init")!.data);
  const sigma0 = sched.initNoiseSigma;
  let x: Float32Array = xInit.map((v) => Math.fround(v * sigma0));
  const noiseT = g.tensors.get(`${key}__noise`);
  const recorded: Float32Array[] = [];
  if (noiseT) for (let k = 0; k < noiseT.shape[0]!; k++) recorded.push(slice(noiseT, k));
  const replay = new ReplayGenerator(recorded);
  const torchGen = new TorchCpuGenerator(g.noiseSeed);
  const drawn: Float32Array[] = [];
  const recordingTorch = {
    initialSeed: torchGen.initialSeed,
    randn: (s: readonly number[]) => {
      const v = torchGen.randn(s);
      drawn.push(v);
      return v;
    },
    rand: (s: readonly number[]) => torchGen.rand(s),
  };
  const gen: Generator = mode === "replay" ? replay : recordingTorch;
  const mo = g.tensors.get(`${key}__model_output`)!;
  const ps = g.tensors.get(`${key}__prev_sample`)!;
  let prevErr = 0;
  let modelOutErr = 0;
  let factorErr = 0;
  const ts = sched.timesteps.slice();
  ts.forEach((t, i) => {
    const xIn = sched.scaleModelInput(x, t);
    const factor = xIn[0]! / x[0]!;
    factorErr = Math.max(factorErr, Math.abs(factor - run.scale_model_input_factor[i]!) / run.scale_model_input_factor[i]!);
    const eps = fakeModel(xIn, t);
    modelOutErr = Math.max(modelOutErr, relErr(eps, slice(mo, i)));
    const out = sched.step(eps, t, x, { generator: gen, shape, eta: run.step_kwargs["eta"] });
    x = out.prevSample;
    prevErr = Math.max(prevErr, relErr(x, slice(ps, i)));
  });
  let noiseBitExact = true;
  if (mode === "torch") {
    if (drawn.length !== recorded.length) noiseBitExact = false;
    drawn.forEach((d, k) => {
      const r = recorded[k];
      if (!r || r.length !== d.length || d.some((v, i) => v !== r[i])) noiseBitExact = false;
    });
  }
  return {
    prevErr,
    modelOutErr,
    factorErr,
    noiseRequested: replay.requested,
    noiseUsed: mode === "replay" ? replay.used : drawn.length,
    noiseBitExact,
    steps: ts.length,
  };
}
