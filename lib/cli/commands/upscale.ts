/** `sd-native upscale`: the x4 upscaler. */
import type { Command } from "commander";
import { StableDiffusionUpscalePipeline, type UpscaleOptions } from "../../pipelines/index.js";
import { intArg, type CliIO } from "../util.js";
import { registerPipelineCommand } from "./pipeline-command.js";

export function registerUpscaleCommand(program: Command, io: CliIO): Command {
  return registerPipelineCommand(program, io, {
    name: "upscale",
    description: "x4 super-resolution (StableDiffusionUpscalePipeline)",
    prompt: "required",
    defaultSteps: 75,
    defaultGuidance: 9,
    options: (cmd) =>
      cmd
        .requiredOption("-i, --image <file>", "low-resolution image")
        .option("--noise-level <n>", "noise added to the low-res image (default 20)", intArg(0, 10000)),
    load: (model, options) => StableDiffusionUpscalePipeline.load(model, options),
    run: (pipe, base, flags) => {
      const o = { ...base, image: flags.image as string } as unknown as UpscaleOptions;
      if (flags.noiseLevel !== undefined) o.noiseLevel = flags.noiseLevel as number;
      return pipe.generate(o);
    },
  });
}
