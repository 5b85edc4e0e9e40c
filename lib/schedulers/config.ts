/**
 * Scheduler configuration: diffusers' `__init__` defaults per class (diffusers 0.27.2), resolution of a
 * model's `scheduler_config.json` like `Cls.from_config(config, **overrides)` (keys the class does not take
 * are ignored; missing keys get the class default), and strict validation of explicit overrides.
 */
import { InvalidArgumentError } from "../errors.js";
import { BETA_SCHEDULES, TIMESTEP_SPACINGS } from "./numeric.js";
import type { BetaSchedule, TimestepSpacing } from "./numeric.js";

export type SchedulerClassName =
  | "PNDMScheduler"
  | "DDIMScheduler"
  | "DDPMScheduler"
  | "LMSDiscreteScheduler"
  | "EulerDiscreteScheduler"
  | "EulerAncestralDiscreteScheduler"
  | "HeunDiscreteScheduler"
  | "KDPM2DiscreteScheduler"
  | "DPMSolverMultistepScheduler"
  | "UniPCMultistepScheduler";

export type PredictionType = "epsilon" | "v_prediction" | "sample";

/** Every config field any supported scheduler reads (snake_case, as in scheduler_config.json). */
export interface SchedulerConfig {
  num_train_timesteps: number;
  beta_start: number;
  beta_end: number;
  beta_schedule: BetaSchedule;
  trained_betas: number[] | null;
  prediction_type: PredictionType;
  timestep_spacing: TimestepSpacing;
  steps_offset: number;
  // PNDM
  skip_prk_steps: boolean;
  // PNDM / DDIM
  set_alpha_to_one: boolean;
  // DDIM / DDPM / Heun
  clip_sample: boolean;
  clip_sample_range: number;
  // DDIM / DDPM / DPM / UniPC
  thresholding: boolean;
  dynamic_thresholding_ratio: number;
  sample_max_value: number;
  rescale_betas_zero_snr: boolean;
  // DDPM
  variance_type: string | null;
  // Karras-capable schedulers
  use_karras_sigmas: boolean;
  // Euler
  interpolation_type: "linear" | "log_linear";
  sigma_min: number | null;
  sigma_max: number | null;
  timestep_type: "discrete" | "continuous";
  // DPM-Solver / UniPC
  solver_order: number;
  algorithm_type: "dpmsolver++" | "dpmsolver" | "sde-dpmsolver++" | "sde-dpmsolver";
  solver_type: string;
  lower_order_final: boolean;
  euler_at_final: boolean;
  use_lu_lambdas: boolean;
  final_sigmas_type: "zero" | "sigma_min";
  lambda_min_clipped: number;
  predict_x0: boolean;
  disable_corrector: number[];
  solver_p: unknown;
  /**
   * Fields that took the class default (not given by the config or overrides). Like diffusers'
   * `_use_default_values`, they are not carried over when the scheduler is swapped for another class.
   */
  _use_default_values?: string[];
  /**
   * Fields of the source config this class does not take (diffusers keeps them as "hidden" config, so
   * `OtherScheduler.from_config(this.config)` still sees e.g. a PNDM file's `clip_sample: false`).
   */
  _hidden?: Record<string, unknown>;
}

type Defaults = Partial<SchedulerConfig>;

const COMMON_OLD: Defaults = {
  num_train_timesteps: 1000,
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: "linear",
  trained_betas: null,
  prediction_type: "epsilon",
  steps_offset: 0,
};
const THRESH: Defaults = { thresholding: false, dynamic_thresholding_ratio: 0.995, sample_max_value: 1.0 };

/** diffusers 0.27.2 `__init__` defaults; the keys of each entry are exactly the fields the class accepts. */
export const CLASS_DEFAULTS: Readonly<Record<SchedulerClassName, Readonly<Defaults>>> = {
  PNDMScheduler: { ...COMMON_OLD, skip_prk_steps: false, set_alpha_to_one: false, timestep_spacing: "leading" },
  DDIMScheduler: {
    ...COMMON_OLD,
    clip_sample: true,
    set_alpha_to_one: true,
    ...THRESH,
    clip_sample_range: 1.0,
    timestep_spacing: "leading",
    rescale_betas_zero_snr: false,
  },
  DDPMScheduler: {
    ...COMMON_OLD,
    variance_type: "fixed_small",
    clip_sample: true,
    ...THRESH,
    clip_sample_range: 1.0,
    timestep_spacing: "leading",
    rescale_betas_zero_snr: false,
  },
  LMSDiscreteScheduler: { ...COMMON_OLD, use_karras_sigmas: false, timestep_spacing: "linspace" },
  EulerDiscreteScheduler: {
    ...COMMON_OLD,
    interpolation_type: "linear",
    use_karras_sigmas: false,
    sigma_min: null,
    sigma_max: null,
    timestep_spacing: "linspace",
    timestep_type: "discrete",
    rescale_betas_zero_snr: false,
  },
  EulerAncestralDiscreteScheduler: { ...COMMON_OLD, timestep_spacing: "linspace", rescale_betas_zero_snr: false },
  HeunDiscreteScheduler: {
    ...COMMON_OLD,
    beta_start: 0.00085,
    beta_end: 0.012,
    use_karras_sigmas: false,
    clip_sample: false,
    clip_sample_range: 1.0,
    timestep_spacing: "linspace",
  },
  KDPM2DiscreteScheduler: {
    ...COMMON_OLD,
    beta_start: 0.00085,
    beta_end: 0.012,
    use_karras_sigmas: false,
    timestep_spacing: "linspace",
  },
  DPMSolverMultistepScheduler: {
    ...COMMON_OLD,
    solver_order: 2,
    ...THRESH,
    algorithm_type: "dpmsolver++",
    solver_type: "midpoint",
    lower_order_final: true,
    euler_at_final: false,
    use_karras_sigmas: false,
    use_lu_lambdas: false,
    final_sigmas_type: "zero",
    lambda_min_clipped: -Infinity,
    variance_type: null,
    timestep_spacing: "linspace",
    rescale_betas_zero_snr: false,
  },
  UniPCMultistepScheduler: {
    ...COMMON_OLD,
    solver_order: 2,
    ...THRESH,
    predict_x0: true,
    solver_type: "bh2",
    lower_order_final: true,
    disable_corrector: [],
    solver_p: null,
    use_karras_sigmas: false,
    timestep_spacing: "linspace",
  },
};

export const SCHEDULER_CLASS_NAMES = Object.keys(CLASS_DEFAULTS) as SchedulerClassName[];

/** Friendly names -> class + the options that define them. */
export const FRIENDLY_NAMES: Readonly<Record<string, { className: SchedulerClassName; overrides: Defaults }>> = {
  pndm: { className: "PNDMScheduler", overrides: {} },
  ddim: { className: "DDIMScheduler", overrides: {} },
  ddpm: { className: "DDPMScheduler", overrides: {} },
  lms: { className: "LMSDiscreteScheduler", overrides: {} },
  euler: { className: "EulerDiscreteScheduler", overrides: {} },
  "euler-a": { className: "EulerAncestralDiscreteScheduler", overrides: {} },
  heun: { className: "HeunDiscreteScheduler", overrides: {} },
  dpm2: { className: "KDPM2DiscreteScheduler", overrides: {} },
  "dpm++2m": {
    className: "DPMSolverMultistepScheduler",
    overrides: { algorithm_type: "dpmsolver++", solver_order: 2, use_karras_sigmas: false },
  },
  "dpm++2m-karras": {
    className: "DPMSolverMultistepScheduler",
    overrides: { algorithm_type: "dpmsolver++", solver_order: 2, use_karras_sigmas: true },
  },
  unipc: { className: "UniPCMultistepScheduler", overrides: {} },
};

/** All names `createScheduler` accepts. */
export function validSchedulerNames(): string[] {
  return [...Object.keys(FRIENDLY_NAMES), ...SCHEDULER_CLASS_NAMES];
}

/** Resolves a friendly or class name (case-insensitive for friendly names); throws listing valid names. */
export function resolveSchedulerName(name: string): { className: SchedulerClassName; overrides: Defaults } {
  if (typeof name !== "string") {
    throw new InvalidArgumentError(`scheduler name must be a string; valid names: ${validSchedulerNames().join(", ")}`);
  }
  const friendly = FRIENDLY_NAMES[name.toLowerCase()];
  if (friendly) return { className: friendly.className, overrides: { ...friendly.overrides } };
  if ((SCHEDULER_CLASS_NAMES as string[]).includes(name)) return { className: name as SchedulerClassName, overrides: {} };
  throw new InvalidArgumentError(`unknown scheduler "${name}"; valid names: ${validSchedulerNames().join(", ")}`);
}

function snake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase());
}

const ENUMS: Partial<Record<keyof SchedulerConfig, readonly string[]>> = {
  beta_schedule: BETA_SCHEDULES,
  timestep_spacing: TIMESTEP_SPACINGS,
  prediction_type: ["epsilon", "v_prediction", "sample"],
  interpolation_type: ["linear", "log_linear"],
  timestep_type: ["discrete", "continuous"],
  algorithm_type: ["dpmsolver++", "dpmsolver", "sde-dpmsolver++", "sde-dpmsolver", "deis"],
  solver_type: ["midpoint", "heun", "logrho", "bh1", "bh2"],
  final_sigmas_type: ["zero", "sigma_min"],
  variance_type: ["fixed_small", "fixed_small_log", "fixed_large", "fixed_large_log", "learned", "learned_range"],
};

function checkValue(cls: SchedulerClassName, key: string, value: unknown): unknown {
  const def = (CLASS_DEFAULTS[cls] as Record<string, unknown>)[key];
  const where = `${cls}.${key}`;
  const enumVals = ENUMS[key as keyof SchedulerConfig];
  if (enumVals) {
    if (value === null && def === null) return value;
    if (typeof value !== "string" || !enumVals.includes(value)) {
      throw new InvalidArgumentError(`${where} must be one of ${enumVals.join(", ")}; got ${JSON.stringify(value)}`);
    }
    return value;
  }
  switch (key) {
    case "trained_betas":
      if (value === null) return null;
      if (!Array.isArray(value) || !value.every((v) => typeof v === "number" && Number.isFinite(v))) {
        throw new InvalidArgumentError(`${where} must be null or an array of finite numbers`);
      }
      return [...value];
    case "disable_corrector":
      if (!Array.isArray(value) || !value.every((v) => Number.isInteger(v))) {
        throw new InvalidArgumentError(`${where} must be an array of step indices`);
      }
      return [...value];
    case "solver_p":
      if (value !== null && value !== undefined) {
        throw new InvalidArgumentError(`${where}: a separate predictor scheduler is not supported (must be null)`);
      }
      return null;
    case "sigma_min":
    case "sigma_max":
      if (value === null) return null;
      if (typeof value !== "number" || !(value > 0)) throw new InvalidArgumentError(`${where} must be null or a positive number`);
      return value;
    case "num_train_timesteps":
    case "solver_order":
    case "steps_offset":
      if (!Number.isInteger(value) || (value as number) < (key === "steps_offset" ? 0 : 1)) {
        throw new InvalidArgumentError(`${where} must be a ${key === "steps_offset" ? "non-negative" : "positive"} integer; got ${JSON.stringify(value)}`);
      }
      if (key === "solver_order" && (value as number) > 3) throw new InvalidArgumentError(`${where} must be 1, 2 or 3`);
      return value;
    case "lambda_min_clipped":
      if (typeof value === "string" && /^-inf(inity)?$/i.test(value)) return -Infinity;
      if (typeof value !== "number" || Number.isNaN(value)) throw new InvalidArgumentError(`${where} must be a number`);
      return value;
    default:
      break;
  }
  if (typeof def === "boolean") {
    if (typeof value !== "boolean") throw new InvalidArgumentError(`${where} must be a boolean; got ${JSON.stringify(value)}`);
    return value;
  }
  if (typeof def === "number") {
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw new InvalidArgumentError(`${where} must be a finite number; got ${JSON.stringify(value)}`);
    }
    if ((key === "beta_start" || key === "beta_end") && !(value > 0 && value < 1)) {
      throw new InvalidArgumentError(`${where} must be in (0, 1); got ${value}`);
    }
    return value;
  }
  return value;
}

/**
 * Resolves the full config of `cls`: class defaults, then the fields of `base` the class accepts (like
 * diffusers' from_config; unknown fields ignored), then `overrides` (strict: a field the class does not
 * accept throws InvalidArgumentError). Override keys may be snake_case or camelCase.
 */
export function resolveConfig(
  cls: SchedulerClassName,
  base: Readonly<Record<string, unknown>> | undefined,
  overrides: Readonly<Record<string, unknown>> | undefined,
): SchedulerConfig {
  const defaults = CLASS_DEFAULTS[cls] as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(defaults)) out[k] = Array.isArray(v) ? [...v] : v;
  const given = new Set<string>();
  if (base !== undefined) {
    if (base === null || typeof base !== "object" || Array.isArray(base)) {
      throw new InvalidArgumentError("scheduler config must be a JSON object (scheduler_config.json)");
    }
    const defaulted = Array.isArray(base["_use_default_values"]) ? (base["_use_default_values"] as unknown[]) : [];
    const hidden: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(base)) {
      if (k in defaults && v !== undefined && !defaulted.includes(k)) {
        out[k] = checkValue(cls, k, v);
        given.add(k);
      } else if (!(k in defaults) && !k.startsWith("_") && v !== undefined && !defaulted.includes(k)) {
        hidden[k] = v;
      }
    }
    // Hidden fields travel on (an earlier swap may have recorded some under `_hidden`).
    const carried = base["_hidden"];
    if (carried && typeof carried === "object" && !Array.isArray(carried)) {
      for (const [k, v] of Object.entries(carried as Record<string, unknown>)) {
        if (k in defaults) {
          if (!given.has(k)) {
            out[k] = checkValue(cls, k, v);
            given.add(k);
          }
        } else if (!(k in hidden)) {
          hidden[k] = v;
        }
      }
    }
    out["_hidden"] = hidden;
  }
  if (overrides !== undefined) {
    for (const [rawKey, v] of Object.entries(overrides)) {
      if (v === undefined) continue;
      const k = snake(rawKey);
      if (!(k in defaults)) {
        throw new InvalidArgumentError(
          `option "${rawKey}" is not supported by ${cls}; supported options: ${Object.keys(defaults).join(", ")}`,
        );
      }
      out[k] = checkValue(cls, k, v);
      given.add(k);
    }
  }
  out["_use_default_values"] = Object.keys(defaults).filter((k) => !given.has(k)).sort();
  // The union type carries fields other classes use; fill them with inert values so the object is total.
  const filler: SchedulerConfig = {
    num_train_timesteps: 1000,
    beta_start: 0.0001,
    beta_end: 0.02,
    beta_schedule: "linear",
    trained_betas: null,
    prediction_type: "epsilon",
    timestep_spacing: "leading",
    steps_offset: 0,
    skip_prk_steps: false,
    set_alpha_to_one: false,
    clip_sample: false,
    clip_sample_range: 1,
    thresholding: false,
    dynamic_thresholding_ratio: 0.995,
    sample_max_value: 1,
    rescale_betas_zero_snr: false,
    variance_type: null,
    use_karras_sigmas: false,
    interpolation_type: "linear",
    sigma_min: null,
    sigma_max: null,
    timestep_type: "discrete",
    solver_order: 2,
    algorithm_type: "dpmsolver++",
    solver_type: "midpoint",
    lower_order_final: true,
    euler_at_final: false,
    use_lu_lambdas: false,
    final_sigmas_type: "zero",
    lambda_min_clipped: -Infinity,
    predict_x0: true,
    disable_corrector: [],
    solver_p: null,
  };
  const cfg = { ...filler, ...out } as SchedulerConfig;
  if (cfg.trained_betas && cfg.trained_betas.length !== cfg.num_train_timesteps) {
    // diffusers uses len(trained_betas) as the schedule length; keep the config consistent.
    cfg.num_train_timesteps = cfg.trained_betas.length;
  }
  return cfg;
}

/** The fields of a resolved config that `cls` actually accepts (what diffusers would save). */
export function publicConfig(cls: SchedulerClassName, cfg: SchedulerConfig): Record<string, unknown> {
  const out: Record<string, unknown> = { _class_name: cls };
  for (const k of Object.keys(CLASS_DEFAULTS[cls])) out[k] = (cfg as unknown as Record<string, unknown>)[k];
  out["_use_default_values"] = [...(cfg._use_default_values ?? [])];
  for (const [k, v] of Object.entries(cfg._hidden ?? {})) if (!(k in out)) out[k] = v;
  return out;
}
