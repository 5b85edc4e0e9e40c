/** `sd-native generate`: text-to-image. */
import type { Command } from "commander";
import { StableDiffusionPipeline } from "../../pipelines/index.js";
import type { Txt2ImgOptions } from "../../pipelines/index.js";
import { intArg, type CliIO } from "../util.js";
import { registerPipelineCommand } from "./pipeline-command.js";

export function registerGenerateCommand(program: Command, io: CliIO): Command {
  return registerPipelineCommand(program, io, {
    name: "generate",
    description: "text-to-image (StableDiffusionPipeline)",
    prompt: "required",
    defaultSteps: 50,
    defaultGuidance: 7.5,
    options: (cmd) =>
      cmd
        .option("-W, --width <px>", "image width, a multiple of 8 (default: the model's native size)", intArg(8, 8192))
        .option("-H, --height <px>", "image height, a multiple of 8 (default: the model's native size)", intArg(8, 8192)),
    load: (model, options) => StableDiffusionPipeline.load(model, options),
    run: (pipe, base, flags) => {
      const o = { ...base } as unknown as Txt2ImgOptions;
      if (flags.width !== undefined) o.width = flags.width as number;
      if (flags.height !== undefined) o.height = flags.height as number;
      return pipe.generate(o);
    },
  });
}
