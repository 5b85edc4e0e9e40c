import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, type CliIO } from "../../lib/cli/main.js";
import { outputPath, pngTextFromParameters, ProgressBar } from "../../lib/cli/util.js";
import { decodePngText, loadImageRGB } from "../../lib/index.js";
import { describeWithReference, referencePath } from "../helpers/reference.js";

function captureIO(isTTY = false): CliIO & { out: string; err: string } {
  const io = { out: "", err: "", isTTY, stdout: (t: string) => { io.out += t; }, stderr: (t: string) => { io.err += t; } };
  return io;
}

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "sdn-cli-"));
});
afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe("CLI usage errors", () => {
  it("every pipeline command and bench / make-random-model are registered with help", async () => {
    const io = captureIO();
    expect(await runCli(["--help"], io)).toBe(0);
    for (const c of ["info", "generate", "img2img", "inpaint", "variation", "depth", "upscale", "make-random-model", "bench"]) expect(io.out).toContain(c);
    const g = captureIO();
    expect(await runCli(["generate", "--help"], g)).toBe(0);
    for (const f of ["--prompt", "--negative-prompt", "--steps", "--guidance-scale", "--seed", "--scheduler", "--width", "--height", "--no-safety-checker", "--json", "--output", "--device", "--threads", "--variant", "--clip-skip", "--eta", "--num-images"]) {
      expect(g.out).toContain(f);
    }
  });

  it("bad flags exit non-zero and name the flag", async () => {
    const cases: [string[], RegExp][] = [
      [["generate", "-p", "x"], /--model/],
      [["generate", "-m", "/x"], /--prompt/],
      [["generate", "-m", "/x", "-p", "x", "--steps", "abc"], /--steps/],
      [["generate", "-m", "/x", "-p", "x", "--steps", "0"], /--steps/],
      [["generate", "-m", "/x", "-p", "x", "--seed", "-1"], /--seed/],
      [["generate", "-m", "/x", "-p", "x", "--guidance-scale", "nan"], /--guidance-scale/],
      [["generate", "-m", "/x", "-p", "x", "--device", "tpu"], /--device/],
      [["generate", "-m", "/x", "-p", "x", "--frobnicate"], /unknown option/],
      [["img2img", "-m", "/x", "-p", "x"], /--image/],
      [["img2img", "-m", "/x", "-p", "x", "-i", "a.png", "--strength", "1.5"], /--strength/],
      [["inpaint", "-m", "/x", "-p", "x", "-i", "a.png"], /--mask/],
      [["depth", "-m", "/x", "-p", "x", "-i", "a.png"], /--depth-map/],
      [["upscale", "-m", "/x", "-p", "x", "-i", "a.png", "--noise-level", "x"], /--noise-level/],
      [["variation", "-m", "/x"], /--image/],
      [["bench", "--reps", "0"], /--reps/],
      [["frobnicate"], /unknown command/],
    ];
    for (const [args, re] of cases) {
      const io = captureIO();
      const code = await runCli(args, io);
      expect(code, args.join(" ")).not.toBe(0);
      expect(io.err, args.join(" ")).toMatch(re);
    }
  });

  it("a missing model is a typed NotFound error, exit code 1", async () => {
    const io = captureIO();
    expect(await runCli(["generate", "-m", join(tmp, "no-such-model"), "-p", "x", "-q"], io)).toBe(1);
    expect(io.err).toMatch(/ERR_NOT_FOUND/);
  });
});

describe("CLI helpers", () => {
  it("output paths: {i} template, _i suffix for batches, default name with the seed", () => {
    expect(outputPath("/a/out.png", "generate", 5, 0, 1)).toBe("/a/out.png");
    expect(outputPath("/a/out.png", "generate", 5, 1, 2)).toBe("/a/out_1.png");
    expect(outputPath("/a/img-{i}.png", "generate", 5, 3, 4)).toBe("/a/img-3.png");
    expect(outputPath(undefined, "generate", 42, 0, 1)).toMatch(/generate-42\.png$/);
  });

  it("PNG text carries prompt, negative prompt, seed, steps, scheduler, guidance, size and model", () => {
    const t = pngTextFromParameters({ prompt: "a cat", negativePrompt: "blurry", seed: 7, steps: 20, scheduler: "PNDMScheduler", guidanceScale: 7.5, width: 64, height: 48, model: "/m" });
    expect(t).toMatchObject({ prompt: "a cat", negative_prompt: "blurry", seed: "7", steps: "20", scheduler: "PNDMScheduler", guidance_scale: "7.5", size: "64x48", model: "/m" });
    expect(t.parameters).toContain("Negative prompt: blurry");
    expect(JSON.parse(t["sd-native"]!).seed).toBe(7);
  });

  it("progress bar shows steps/s and ETA; redraws in place on a TTY", () => {
    const io = captureIO(true);
    const bar = new ProgressBar(io, "generate");
    for (let s = 1; s <= 4; s++) bar.update(s, 4);
    expect(io.err).toMatch(/\r.*4\/4 .* steps\/s ETA/);
    expect(io.err.endsWith("\n")).toBe(true);
    const plain = captureIO(false);
    const b2 = new ProgressBar(plain, "x");
    b2.update(1, 3);
    b2.update(3, 3);
    expect(plain.err.split("\n").filter(Boolean).length).toBe(2);
    expect(b2.format(2, 4, performance.now())).toMatch(/2\/4/);
  });
});

describeWithReference("CLI end to end on the tiny models", () => {
  it("generate writes a PNG with the parameters in tEXt and --json reports it", async () => {
    const out = join(tmp, "gen.png");
    const io = captureIO();
    const code = await runCli([
      "generate", "-m", referencePath("models", "tiny-sd1"), "-p", "a photo of an astronaut", "-n", "blurry", "--steps", "3",
      "--seed", "42", "-W", "64", "-H", "64", "--guidance-scale", "7.5", "--threads", "2", "-o", out, "--json",
    ], io);
    expect(io.err).not.toMatch(/sd-native:/);
    expect(code).toBe(0);
    const res = JSON.parse(io.out);
    expect(res.images).toHaveLength(1);
    expect(res.images[0].path).toBe(out);
    expect(res.parameters.seed).toBe(42);
    expect(io.err).toMatch(/ (\d+)\/\1 [\d.]+ steps\/s ETA/); // PNDM runs steps + 1 network calls
    const png = readFileSync(out);
    const text = decodePngText(png);
    expect(text).toMatchObject({ prompt: "a photo of an astronaut", negative_prompt: "blurry", seed: "42", steps: "3", guidance_scale: "7.5", size: "64x64" });
    expect(text.scheduler).toMatch(/Scheduler/);
    expect(text.model).toContain("tiny-sd1");
    const img = await loadImageRGB(png);
    expect([img.width, img.height]).toEqual([64, 64]);

    // same seed -> same image
    const out2 = join(tmp, "gen2.png");
    const io2 = captureIO();
    expect(await runCli(["generate", "-m", referencePath("models", "tiny-sd1"), "-p", "a photo of an astronaut", "-n", "blurry", "--steps", "3", "--seed", "42", "-W", "64", "-H", "64", "--threads", "2", "-o", out2, "-q"], io2)).toBe(0);
    expect(io2.out.trim()).toBe(out2);
    expect(Buffer.from((await loadImageRGB(out2)).data).equals(Buffer.from(img.data))).toBe(true);
  });

  it("img2img, inpaint, variation, depth and upscale run and write PNGs", async () => {
    const g = (n: string) => referencePath("goldens", "pipelines", n);
    const runs: [string, string[]][] = [
      ["img2img", ["img2img", "-m", referencePath("models", "tiny-sd1"), "-p", "a watercolor", "-i", g("img2img_sd1_strength0.75__input_image.png"), "--strength", "0.75", "--steps", "4"]],
      ["inpaint", ["inpaint", "-m", referencePath("models", "tiny-sd-inpaint"), "-p", "a red ball", "-i", g("inpaint_sd2style__input_image.png"), "--mask", g("inpaint_sd2style__input_mask_image.png"), "-W", "64", "-H", "64", "--steps", "2"]],
      ["variation", ["variation", "-m", referencePath("models", "tiny-sd-imgvar"), "-i", g("image_variation__input_image.png"), "-W", "64", "-H", "64", "--steps", "2", "--guidance-scale", "3"]],
      ["depth", ["depth", "-m", referencePath("models", "tiny-sd-depth"), "-p", "a house", "-i", g("depth2img_depth_map__input_image.png"), "--depth-map", g("depth2img_depth_map.safetensors"), "--depth-map-tensor", "input_depth_map", "--steps", "4"]],
      ["upscale", ["upscale", "-m", referencePath("models", "tiny-sd-upscale"), "-p", "a sharp photo", "-i", g("upscale_x4_noise20__input_image.png"), "--noise-level", "20", "--steps", "2"]],
    ];
    for (const [name, args] of runs) {
      const out = join(tmp, `${name}.png`);
      const io = captureIO();
      const code = await runCli([...args, "--seed", "1", "--threads", "2", "-o", out, "--json", "-q"], io);
      expect(io.err, name).not.toMatch(/sd-native:/);
      expect(code, name).toBe(0);
      const res = JSON.parse(io.out);
      expect(res.images[0].path).toBe(out);
      const img = await loadImageRGB(out);
      expect(img.width, name).toBe(64);
      expect(decodePngText(readFileSync(out)).seed).toBe("1");
    }
  });
});

describeWithReference("bench", () => {
  it("reports the GEMM peak and per-network ms / GFLOP/s on a tiny model", async () => {
    const io = captureIO();
    const code = await runCli(["bench", "-m", referencePath("models", "tiny-sd1"), "--threads", "2", "--reps", "1", "--gemm-size", "64", "--gemm-seconds", "0.05", "--json"], io);
    expect(io.err).toBe("");
    expect(code).toBe(0);
    const r = JSON.parse(io.out);
    expect(r.gemmPeakGflops).toBeGreaterThan(0);
    expect(r.peakKind).toBe(r.backend === "cuda" ? "linear_f16" : "gemm_f32");
    expect(r.rows.map((x: { name: string }) => x.name.split(" ")[0])).toEqual(["text_encoder", "unet", "vae"]);
    for (const row of r.rows) {
      expect(row.ms).toBeGreaterThan(0);
      expect(row.gflop).toBeGreaterThan(0);
      expect(row.gflops).toBeGreaterThan(0);
      // every forward holds an activation arena in backend memory while it runs
      expect(row.peakMemoryMiB).toBeGreaterThan(0);
    }
  });
});
