/** `sd-native img2img`: image-to-image. */
import type { Command } from "commander";
import { StableDiffusionImg2ImgPipeline, type Img2ImgOptions } from "../../pipelines/index.js";
import { floatArg, type CliIO } from "../util.js";
import { registerPipelineCommand } from "./pipeline-command.js";

export function registerImg2ImgCommand(program: Command, io: CliIO): Command {
  return registerPipelineCommand(program, io, {
    name: "img2img",
    description: "image-to-image (StableDiffusionImg2ImgPipeline)",
    prompt: "required",
    defaultSteps: 50,
    defaultGuidance: 7.5,
    options: (cmd) =>
      cmd
        .requiredOption("-i, --image <file>", "init image")
        .option("--strength <x>", "how much to change the image, in [0, 1] (default 0.8)", floatArg(0, 1)),
    load: (model, options) => StableDiffusionImg2ImgPipeline.load(model, options),
    run: (pipe, base, flags) => {
      const o = { ...base, image: flags.image as string } as unknown as Img2ImgOptions;
      if (flags.strength !== undefined) o.strength = flags.strength as number;
      return pipe.generate(o);
    },
  });
}
