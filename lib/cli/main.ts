#!/usr/bin/env node
/** The `sd-native` command line. Each command lives in its own file under cli/commands/. */
import { Command, CommanderError } from "commander";
import { readFileSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { packageRoot } from "../native.js";
import { SdError } from "../errors.js";
import { registerBenchCommand } from "./commands/bench.js";
import { registerDepthCommand } from "./commands/depth.js";
import { registerGenerateCommand } from "./commands/generate.js";
import { registerImg2ImgCommand } from "./commands/img2img.js";
import { registerInfoCommand } from "./commands/info.js";
import { registerInpaintCommand } from "./commands/inpaint.js";
import { registerMakeRandomModelCommand } from "./commands/make-random-model.js";
import { registerServeCommand } from "./commands/serve.js";
import { registerUpscaleCommand } from "./commands/upscale.js";
import { registerVariationCommand } from "./commands/variation.js";
import { processIO, type CliIO } from "./util.js";

export type { CliIO } from "./util.js";

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(packageRoot, "package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

export function buildProgram(io: CliIO = processIO): Command {
  const program = new Command();
  program
    .name("sd-native")
    .description("Stable Diffusion inference for Node.js (CPU and CUDA)")
    .version(packageVersion())
    .showHelpAfterError()
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) });
  registerInfoCommand(program);
  registerGenerateCommand(program, io);
  registerImg2ImgCommand(program, io);
  registerInpaintCommand(program, io);
  registerVariationCommand(program, io);
  registerDepthCommand(program, io);
  registerUpscaleCommand(program, io);
  registerMakeRandomModelCommand(program, io);
  registerBenchCommand(program, io);
  registerServeCommand(program, io);
  return program;
}

/**
 * Runs the CLI on `args` (without the node / script entries) and returns the exit code instead of exiting:
 * 0 on success, 1 on errors (typed errors print `sd-native: <message> [<code>]`), commander's code for usage
 * errors.
 */
export async function runCli(args: string[], io: CliIO = processIO): Promise<number> {
  const program = buildProgram(io);
  program.exitOverride();
  for (const c of program.commands) c.exitOverride().configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) });
  try {
    await program.parseAsync(args, { from: "user" });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // help / version exit with 0; usage errors were already printed by commander
      return err.exitCode;
    }
    if (err instanceof SdError) io.stderr(`sd-native: ${err.message} [${err.code}]\n`);
    else io.stderr(`sd-native: ${(err as Error)?.stack ?? String(err)}\n`);
    return 1;
  }
}

function isEntryPoint(): boolean {
  const argv1 = process.argv[1];
  if (!argv1) return false;
  try {
    return realpathSync(argv1) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  process.exitCode = await runCli(process.argv.slice(2));
}
