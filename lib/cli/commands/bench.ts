/**
 * `sd-native bench`: the backend's ceiling (CPU: dense f32 GEMM peak; CUDA: the network matmul path, an f16
 * linear layer on tensor cores), then timings of the text encoder, UNet and VAE decoder forwards of a model
 * folder, with GFLOP/s from a config-driven FLOP count, the ratio to the ceiling measured in the same run,
 * and each stage's peak backend memory (device memory on CUDA).
 */
import { Option, type Command } from "commander";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { loadTextEncoder, loadUNet, loadVae } from "../../components/index.js";
import { createContext } from "../../context.js";
import { NotFoundError } from "../../errors.js";
import { parseClipTextConfig, parseUNetConfig, parseVaeConfig, readJsonFile } from "../../models/index.js";
import { textEncoderFlops, unetFlops, vaeDecodeFlops } from "../flops.js";
import { floatArg, intArg, printJson, type CliIO } from "../util.js";

export interface BenchRow {
  name: string;
  ms: number;
  gflop: number;
  gflops: number;
  ofPeak: number;
  /** Peak backend memory during the stage (device memory on CUDA), MiB. */
  peakMemoryMiB: number;
}

function randn(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    out[i] = (s / 4294967296) * 2 - 1;
  }
  return out;
}

async function timeIt(reps: number, fn: () => Promise<unknown>): Promise<number> {
  await fn(); // warm-up
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

export function registerBenchCommand(program: Command, io: CliIO): Command {
  return program
    .command("bench")
    .description("measure the GEMM peak and the text encoder / UNet / VAE decoder forwards of a model folder")
    .option("-m, --model <dir>", "diffusers model folder (omit for the GEMM peak only)")
    .addOption(new Option("--device <device>", "where to compute").choices(["auto", "cpu", "cuda"]).default("auto"))
    .option("--threads <n>", "CPU worker threads", intArg(1, 1024))
    .option("--size <px>", "image size (default: the model's native size)", intArg(8, 4096))
    .option("--batch <n>", "UNet batch (2 = one image with classifier-free guidance)", intArg(1, 64), 2)
    .option("--reps <n>", "timed repetitions per network (median reported)", intArg(1, 1000), 3)
    .option("--gemm-size <n>", "GEMM peak matrix size (CUDA: at least 4096 for the linear peak)", intArg(16, 16384), 1024)
    .option("--gemm-seconds <s>", "GEMM peak duration", floatArg(0.01, 600), 1)
    .option("--json", "print a machine-readable JSON result")
    .action(async (flags: { model?: string; device: "auto" | "cpu" | "cuda"; threads?: number; size?: number; batch: number; reps: number; gemmSize: number; gemmSeconds: number; json?: boolean }) => {
      const ctx = await createContext({ device: flags.device, ...(flags.threads ? { threads: flags.threads } : {}) });
      try {
        // On the GPU the f32 host-pointer GEMM says nothing about the networks' speed: the ceiling there is
        // the f16 tensor-core linear path the networks use.
        const cuda = ctx.backend === "cuda";
        const peakKind = cuda ? "linear_f16" : "gemm_f32";
        const peakSize = cuda ? Math.max(flags.gemmSize, 4096) : flags.gemmSize;
        const peak = cuda
          ? await ctx.measureLinearPeak(peakSize, flags.gemmSeconds)
          : await ctx.measureGemmPeak(peakSize, flags.gemmSeconds);
        const rows: BenchRow[] = [];
        let stagePeak = 0;
        const timeStage = async (reps: number, fn: () => Promise<unknown>): Promise<number> => {
          ctx.resetPeakMemory();
          const ms = await timeIt(reps, fn);
          stagePeak = ctx.memoryStats.peak;
          return ms;
        };
        const row = (name: string, ms: number, flop: number) => {
          const gflops = flop / 1e9 / (ms / 1000);
          rows.push({ name, ms, gflop: flop / 1e9, gflops, ofPeak: peak > 0 ? gflops / peak : 0, peakMemoryMiB: stagePeak / 2 ** 20 });
        };
        let size: number | null = null;
        if (flags.model) {
          const dir = flags.model;
          if (!existsSync(dir)) throw new NotFoundError(`model folder ${dir} does not exist`);
          const unetDir = join(dir, "unet"), vaeDir = join(dir, "vae"), teDir = join(dir, "text_encoder");
          const unetCfgPath = join(unetDir, "config.json"), vaeCfgPath = join(vaeDir, "config.json");
          const unetCfg = parseUNetConfig(readJsonFile(unetCfgPath), { file: unetCfgPath });
          const vaeCfg = parseVaeConfig(readJsonFile(vaeCfgPath), { file: vaeCfgPath });
          const f = 2 ** (vaeCfg.block_out_channels.length - 1);
          const ss = unetCfg.sample_size;
          const native = Array.isArray(ss) ? ss[0]! : ss ?? 64;
          size = flags.size ?? native * f;
          const lh = Math.floor(size / f), lw = lh;
          const ctxDim = Array.isArray(unetCfg.cross_attention_dim) ? unetCfg.cross_attention_dim[0]! : unetCfg.cross_attention_dim;
          if (existsSync(teDir)) {
            const teCfgPath = join(teDir, "config.json");
            const teCfg = parseClipTextConfig(readJsonFile(teCfgPath), { file: teCfgPath });
            const te = await loadTextEncoder(ctx, teDir);
            try {
              const ids = [Array.from({ length: 77 }, (_, i) => (i === 0 ? 49406 : i < 10 ? 320 + i : 49407))];
              const ms = await timeStage(flags.reps, () => te.forward(ids));
              row("text_encoder", ms, textEncoderFlops(teCfg, 1));
            } finally {
              te.dispose();
            }
          }
          const unet = await loadUNet(ctx, unetDir);
          try {
            const B = flags.batch;
            const sample = { shape: [B, unet.inChannels, lh, lw], data: randn(B * unet.inChannels * lh * lw, 1) };
            const hidden = { shape: [B, 77, ctxDim], data: randn(B * 77 * ctxDim, 2) };
            const opts = unet.numClassEmbeds > 0 ? { classLabels: new Array(B).fill(20) } : {};
            const ms = await timeStage(flags.reps, () => unet.forward(sample, 500, hidden, opts));
            row(`unet (batch ${B}, ${lh}x${lw} latent)`, ms, unetFlops(unetCfg, lh, lw, B));
          } finally {
            unet.dispose();
          }
          const vae = await loadVae(ctx, vaeDir);
          try {
            const z = { shape: [1, vae.latentChannels, lh, lw], data: randn(vae.latentChannels * lh * lw, 3) };
            const ms = await timeStage(flags.reps, () => vae.decode(z));
            row(`vae decode (${lh * f}x${lw * f})`, ms, vaeDecodeFlops(vaeCfg, lh, lw, 1));
          } finally {
            vae.dispose();
          }
        }
        const result = {
          backend: ctx.backend, backendDescription: ctx.backendDescription, threads: ctx.threads, peakKind,
          gemmPeakGflops: peak, gemmSize: peakSize, size, rows,
        };
        if (flags.json) printJson(io, result);
        else {
          const rate = (gflops: number) => (cuda ? `${(gflops / 1000).toFixed(1).padStart(7)} TFLOP/s` : `${gflops.toFixed(1).padStart(8)} GFLOP/s`);
          io.stdout(`backend ${ctx.backendDescription}, ${ctx.threads} threads\n`);
          io.stdout(`${cuda ? "f16 linear" : "f32 GEMM"} peak (${peakSize}^3): ${rate(peak)}\n`);
          for (const r of rows) {
            io.stdout(`${r.name.padEnd(36)} ${r.ms.toFixed(1).padStart(10)} ms ${r.gflop.toFixed(2).padStart(9)} GFLOP ${rate(r.gflops)} ${(r.ofPeak * 100).toFixed(0).padStart(4)}% of peak ${r.peakMemoryMiB.toFixed(0).padStart(6)} MiB peak\n`);
          }
        }
      } finally {
        ctx.dispose();
      }
    });
}
