/** `sd-native make-random-model`: a random-weight diffusers folder from a folder of configs. */
import type { Command } from "commander";
import { Option } from "commander";
import { makeRandomModel, type RandomDType } from "../random-model.js";
import { intArg, printJson, ProgressBar, type CliIO } from "../util.js";

export function registerMakeRandomModelCommand(program: Command, io: CliIO): Command {
  return program
    .command("make-random-model")
    .description("write a diffusers model folder with random weights from a folder of configs (model_index.json + component configs)")
    .requiredOption("--config <dir>", "configs folder, e.g. a Hugging Face repo without its weights")
    .requiredOption("--out <dir>", "output folder (must be empty or absent unless --force)")
    .addOption(new Option("--dtype <dtype>", "weight dtype").choices(["f16", "f32"]).default("f16"))
    .option("--seed <n>", "random seed", intArg(0, 2 ** 32 - 1), 0)
    .option("--force", "replace a non-empty output folder")
    .option("--json", "print a machine-readable JSON result")
    .option("-q, --quiet", "no progress bar")
    .action(async (flags: { config: string; out: string; dtype: RandomDType; seed: number; force?: boolean; json?: boolean; quiet?: boolean }) => {
      const bar = new ProgressBar(io, "writing", !flags.quiet);
      const MB = 1024 * 1024;
      let lastMb = -1;
      const result = await makeRandomModel({
        configDir: flags.config,
        outDir: flags.out,
        dtype: flags.dtype,
        seed: flags.seed,
        force: flags.force === true,
        onProgress: (written, total) => {
          const mb = Math.floor(written / MB), totalMb = Math.max(1, Math.ceil(total / MB));
          if (mb !== lastMb) {
            lastMb = mb;
            bar.update(Math.min(mb, totalMb), totalMb);
          }
        },
      });
      bar.finish();
      for (const w of result.warnings) io.stderr(`warning: ${w}\n`);
      if (flags.json) printJson(io, result);
      else {
        for (const c of result.components) {
          io.stdout(`${c.name.padEnd(18)} ${c.className.padEnd(32)} ${c.params !== undefined ? `${c.params.toLocaleString("en-US")} params` : c.note ?? c.files.join(", ")}\n`);
        }
        io.stdout(`wrote ${result.outDir}: ${result.totalParams.toLocaleString("en-US")} parameters, ${(result.totalBytes / MB).toFixed(1)} MiB (${result.dtype})\n`);
      }
    });
}
