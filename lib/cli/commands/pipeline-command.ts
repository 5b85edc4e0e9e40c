/** The shared body of the pipeline commands: load, run with a progress bar, write PNGs, report. */
import type { Command } from "commander";
import type { PipelineResult, RawImage } from "../../pipelines/types.js";
import {
  addCallOptions, addLoadOptions, addOutputOptions, callOptionsFrom, loadOptionsFrom, printJson, ProgressBar, writeImages,
  type CallFlags, type CliIO, type LoadFlags, type OutputFlags,
} from "../util.js";

export type PipelineFlags = LoadFlags & CallFlags & OutputFlags & Record<string, unknown>;

interface Disposable {
  dispose(): void;
}

export interface PipelineCommandSpec<P extends Disposable> {
  name: string;
  description: string;
  prompt: "required" | "optional" | "none";
  defaultSteps: number;
  defaultGuidance: number;
  /** Adds the command's own options. */
  options?: (cmd: Command) => void;
  load: (model: string, options: import("../../pipelines/types.js").LoadPipelineOptions) => Promise<P>;
  /** Runs the call; `base` holds the common options (prompt, steps, seed, ..., onProgress, outputType "raw"). */
  run: (pipe: P, base: Record<string, unknown>, flags: PipelineFlags) => Promise<PipelineResult>;
}

export function registerPipelineCommand<P extends Disposable>(program: Command, io: CliIO, spec: PipelineCommandSpec<P>): Command {
  const cmd = program.command(spec.name).description(spec.description);
  addLoadOptions(cmd);
  addCallOptions(cmd, { prompt: spec.prompt, steps: spec.defaultSteps, guidance: spec.defaultGuidance });
  spec.options?.(cmd);
  addOutputOptions(cmd, spec.name);
  cmd.action(async (flags: PipelineFlags) => {
    const quiet = flags.quiet === true;
    const t0 = performance.now();
    if (!quiet) io.stderr(`loading ${flags.model} ...\n`);
    const pipe = await spec.load(flags.model, loadOptionsFrom(flags));
    try {
      const loadMs = performance.now() - t0;
      const bar = new ProgressBar(io, spec.name, !quiet);
      const base: Record<string, unknown> = {
        ...callOptionsFrom(flags),
        outputType: "raw",
        onProgress: (e: { step: number; total: number }) => bar.update(e.step, e.total),
      };
      const t1 = performance.now();
      let result: PipelineResult;
      try {
        result = await spec.run(pipe, base, flags);
      } finally {
        bar.finish();
      }
      const runMs = performance.now() - t1;
      const images = result.images as RawImage[];
      const written = await writeImages(images, result.parameters, result.nsfwContentDetected, flags.output, spec.name);
      for (const w of result.warnings) io.stderr(`warning: ${w}\n`);
      if (flags.json) {
        printJson(io, {
          command: spec.name,
          images: written,
          nsfwContentDetected: result.nsfwContentDetected,
          parameters: result.parameters,
          warnings: result.warnings,
          timings: { loadMs: Math.round(loadMs), runMs: Math.round(runMs) },
        });
      } else {
        for (const w of written) io.stdout(`${w.path}${w.nsfw ? " (flagged by the safety checker: black image)" : ""}\n`);
        if (!quiet) io.stderr(`seed ${String(result.parameters.seed)}, ${(runMs / 1000).toFixed(1)} s\n`);
      }
    } finally {
      pipe.dispose();
    }
  });
  return cmd;
}
