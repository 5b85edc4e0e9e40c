/** `sd-native inpaint`: inpainting with a mask (white = repaint). */
import type { Command } from "commander";
import { StableDiffusionInpaintPipeline, type InpaintOptions } from "../../pipelines/index.js";
import { floatArg, intArg, type CliIO } from "../util.js";
import { registerPipelineCommand } from "./pipeline-command.js";

export function registerInpaintCommand(program: Command, io: CliIO): Command {
  return registerPipelineCommand(program, io, {
    name: "inpaint",
    description: "inpainting (StableDiffusionInpaintPipeline): white mask pixels are repainted",
    prompt: "required",
    defaultSteps: 50,
    defaultGuidance: 7.5,
    options: (cmd) =>
      cmd
        .requiredOption("-i, --image <file>", "image to inpaint")
        .requiredOption("--mask <file>", "mask image (white = repaint, black = keep)")
        .option("-W, --width <px>", "output width, a multiple of 8", intArg(8, 8192))
        .option("-H, --height <px>", "output height, a multiple of 8", intArg(8, 8192))
        .option("--strength <x>", "in [0, 1] (default 1: start from noise)", floatArg(0, 1)),
    load: (model, options) => StableDiffusionInpaintPipeline.load(model, options),
    run: (pipe, base, flags) => {
      const o = { ...base, image: flags.image as string, maskImage: flags.mask as string } as unknown as InpaintOptions;
      if (flags.width !== undefined) o.width = flags.width as number;
      if (flags.height !== undefined) o.height = flags.height as number;
      if (flags.strength !== undefined) o.strength = flags.strength as number;
      return pipe.generate(o);
    },
  });
}
