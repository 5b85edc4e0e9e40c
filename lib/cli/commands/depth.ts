/** `sd-native depth`: depth-conditioned image-to-image with a supplied depth map. */
import type { Command } from "commander";
import { StableDiffusionDepth2ImgPipeline, type Depth2ImgOptions } from "../../pipelines/index.js";
import { floatArg, readDepthMap, type CliIO } from "../util.js";
import { registerPipelineCommand } from "./pipeline-command.js";

export function registerDepthCommand(program: Command, io: CliIO): Command {
  return registerPipelineCommand(program, io, {
    name: "depth",
    description: "depth-to-image (StableDiffusionDepth2ImgPipeline) with a depth map you supply",
    prompt: "required",
    defaultSteps: 50,
    defaultGuidance: 7.5,
    options: (cmd) =>
      cmd
        .requiredOption("-i, --image <file>", "init image")
        .requiredOption("--depth-map <file>", "depth map: an image (gray levels, brighter = nearer) or a .safetensors tensor")
        .option("--depth-map-tensor <name>", "tensor name inside a .safetensors depth map")
        .option("--strength <x>", "in [0, 1] (default 0.8)", floatArg(0, 1)),
    load: (model, options) => StableDiffusionDepth2ImgPipeline.load(model, options),
    run: async (pipe, base, flags) => {
      const depthMap = await readDepthMap(flags.depthMap as string, flags.depthMapTensor as string | undefined);
      const o = { ...base, image: flags.image as string, depthMap } as unknown as Depth2ImgOptions;
      if (flags.strength !== undefined) o.strength = flags.strength as number;
      return pipe.generate(o);
    },
  });
}
