#!/usr/bin/env node
/** The `sd-native` command line. Each command lives in its own file under cli/commands/. */
import { Command } from "commander";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../native.js";
import { SdError } from "../errors.js";
import { registerInfoCommand } from "./commands/info.js";

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(packageRoot, "package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name("sd-native")
    .description("Stable Diffusion inference for Node.js (CPU and CUDA)")
    .version(packageVersion())
    .showHelpAfterError();
  registerInfoCommand(program);
  return program;
}

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (err) {
    if (err instanceof SdError) {
      process.stderr.write(`sd-native: ${err.message} [${err.code}]\n`);
    } else {
      process.stderr.write(`sd-native: ${(err as Error)?.stack ?? String(err)}\n`);
    }
    process.exitCode = 1;
  }
}

await main();
