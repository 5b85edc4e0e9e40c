/** `sd-native variation`: image variations (CLIP image embedding conditioning). */
import type { Command } from "commander";
import { StableDiffusionImageVariationPipeline, type ImageVariationOptions } from "../../pipelines/index.js";
import { intArg, type CliIO } from "../util.js";
import { registerPipelineCommand } from "./pipeline-command.js";

export function registerVariationCommand(program: Command, io: CliIO): Command {
  return registerPipelineCommand(program, io, {
    name: "variation",
    description: "image variations (StableDiffusionImageVariationPipeline)",
    prompt: "none",
    defaultSteps: 50,
    defaultGuidance: 7.5,
    options: (cmd) =>
      cmd
        .requiredOption("-i, --image <file>", "source image")
        .option("-W, --width <px>", "output width, a multiple of 8", intArg(8, 8192))
        .option("-H, --height <px>", "output height, a multiple of 8", intArg(8, 8192)),
    load: (model, options) => StableDiffusionImageVariationPipeline.load(model, options),
    run: (pipe, base, flags) => {
      const o = { ...base, image: flags.image as string } as unknown as ImageVariationOptions;
      if (flags.width !== undefined) o.width = flags.width as number;
      if (flags.height !== undefined) o.height = flags.height as number;
      return pipe.generate(o);
    },
  });
}
