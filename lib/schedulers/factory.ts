/** Construction by friendly name / diffusers class name / scheduler_config.json, like diffusers' from_config. */
import { InvalidArgumentError } from "../errors.js";
import type { SchedulerClassName, SchedulerConfig } from "./config.js";
import { resolveConfig, resolveSchedulerName, SCHEDULER_CLASS_NAMES } from "./config.js";
import { DDIMScheduler } from "./ddim.js";
import { DDPMScheduler } from "./ddpm.js";
import { DPMSolverMultistepScheduler } from "./dpm-solver-multistep.js";
import { EulerAncestralDiscreteScheduler } from "./euler-ancestral.js";
import { EulerDiscreteScheduler } from "./euler.js";
import { HeunDiscreteScheduler } from "./heun.js";
import { KDPM2DiscreteScheduler } from "./kdpm2.js";
import { LMSDiscreteScheduler } from "./lms.js";
import { PNDMScheduler } from "./pndm.js";
import type { Scheduler } from "./scheduler.js";
import { UniPCMultistepScheduler } from "./unipc.js";

export type AnyScheduler =
  | PNDMScheduler
  | DDIMScheduler
  | DDPMScheduler
  | LMSDiscreteScheduler
  | EulerDiscreteScheduler
  | EulerAncestralDiscreteScheduler
  | HeunDiscreteScheduler
  | KDPM2DiscreteScheduler
  | DPMSolverMultistepScheduler
  | UniPCMultistepScheduler;

function instantiate(cls: SchedulerClassName, cfg: SchedulerConfig): AnyScheduler {
  switch (cls) {
    case "PNDMScheduler":
      return new PNDMScheduler(cfg);
    case "DDIMScheduler":
      return new DDIMScheduler(cfg);
    case "DDPMScheduler":
      return new DDPMScheduler(cfg);
    case "LMSDiscreteScheduler":
      return new LMSDiscreteScheduler(cfg);
    case "EulerDiscreteScheduler":
      return new EulerDiscreteScheduler(cfg);
    case "EulerAncestralDiscreteScheduler":
      return new EulerAncestralDiscreteScheduler(cfg);
    case "HeunDiscreteScheduler":
      return new HeunDiscreteScheduler(cfg);
    case "KDPM2DiscreteScheduler":
      return new KDPM2DiscreteScheduler(cfg);
    case "DPMSolverMultistepScheduler":
      return new DPMSolverMultistepScheduler(cfg);
    case "UniPCMultistepScheduler":
      return new UniPCMultistepScheduler(cfg);
  }
}

export interface CreateSchedulerOptions {
  /**
   * The model's scheduler_config.json object. Its training fields (betas, num_train_timesteps, steps_offset,
   * prediction_type, timestep_spacing, ...) carry over where the chosen class takes them; missing fields get
   * the class defaults (as with diffusers' `Cls.from_config(model_config)`).
   */
  config?: Readonly<Record<string, unknown>>;
  /** Explicit options (snake_case or camelCase); a field the class does not take throws InvalidArgumentError. */
  overrides?: Readonly<Record<string, unknown>>;
}

/**
 * Creates a scheduler by friendly name ("pndm", "ddim", "lms", "euler", "euler-a", "heun", "dpm2", "dpm++2m",
 * "dpm++2m-karras", "unipc", "ddpm") or diffusers class name. Unknown names throw InvalidArgumentError
 * listing the valid ones.
 */
export function createScheduler(name: string, options: CreateSchedulerOptions = {}): AnyScheduler {
  const { className, overrides: nameOverrides } = resolveSchedulerName(name);
  const merged = { ...nameOverrides, ...(options.overrides ?? {}) };
  const cfg = resolveConfig(className, options.config, merged);
  return instantiate(className, cfg);
}

/** Creates the scheduler a scheduler_config.json describes (its `_class_name`), with optional overrides. */
export function createSchedulerFromConfig(
  config: Readonly<Record<string, unknown>>,
  overrides?: Readonly<Record<string, unknown>>,
): AnyScheduler {
  if (config === null || typeof config !== "object" || Array.isArray(config)) {
    throw new InvalidArgumentError("scheduler config must be a JSON object (scheduler_config.json)");
  }
  const cls = config["_class_name"];
  if (typeof cls !== "string" || !(SCHEDULER_CLASS_NAMES as string[]).includes(cls)) {
    throw new InvalidArgumentError(
      `scheduler config _class_name ${JSON.stringify(cls)} is not supported; supported: ${SCHEDULER_CLASS_NAMES.join(", ")}`,
    );
  }
  return instantiate(cls as SchedulerClassName, resolveConfig(cls as SchedulerClassName, config, overrides));
}

/** Swaps a scheduler keeping its training configuration (diffusers: `NewCls.from_config(old.config)`). */
export function swapScheduler(current: Scheduler, name: string, overrides?: Readonly<Record<string, unknown>>): AnyScheduler {
  return createScheduler(name, { config: current.toJSON(), overrides });
}
