import { expect, it } from "vitest";
import { textEncoderFlops, unetFlops, vaeDecodeFlops, vaeEncodeFlops } from "../../lib/cli/flops.js";
import { parseClipTextConfig, parseUNetConfig, parseVaeConfig, readJsonFile } from "../../lib/index.js";
import { describeWithReference, referencePath } from "../helpers/reference.js";

describeWithReference("FLOP counter on the real SD 1.5 configs", () => {
  const cfg = (c: string) => referencePath("configs", "runwayml--stable-diffusion-v1-5", c, "config.json");
  it("UNet / VAE / CLIP-L counts are in the published ranges and scale as expected", () => {
    const unet = parseUNetConfig(readJsonFile(cfg("unet")), { file: "unet" });
    const vae = parseVaeConfig(readJsonFile(cfg("vae")), { file: "vae" });
    const te = parseClipTextConfig(readJsonFile(cfg("text_encoder")), { file: "te" });
    const u = unetFlops(unet, 64, 64, 1);
    // SD 1.5 UNet at 512x512: ~0.8 TFLOP per sample (about 400 GMACs)
    expect(u / 1e9).toBeGreaterThan(600);
    expect(u / 1e9).toBeLessThan(1000);
    expect(unetFlops(unet, 64, 64, 2)).toBe(2 * u);
    // VAE decoder at 512x512: ~2.5 TFLOP; the encoder about half
    const d = vaeDecodeFlops(vae, 64, 64, 1);
    expect(d / 1e9).toBeGreaterThan(2000);
    expect(d / 1e9).toBeLessThan(3500);
    expect(vaeEncodeFlops(vae, 512, 512, 1)).toBeLessThan(d);
    // CLIP-L text: 123M params, ~2 * 85M non-embedding * 77 tokens ~ 13 GFLOP
    const t = textEncoderFlops(te, 1);
    expect(t / 1e9).toBeGreaterThan(10);
    expect(t / 1e9).toBeLessThan(16);
  });

  it("conv and linear terms follow the documented formulas on a one-block check", () => {
    const unet = parseUNetConfig(readJsonFile(cfg("unet")), { file: "unet" });
    // doubling both latent sides multiplies conv/linear terms by 4 and self-attention by 16: between 4x and 16x
    const a = unetFlops(unet, 32, 32, 1), b = unetFlops(unet, 64, 64, 1);
    expect(b / a).toBeGreaterThan(4);
    expect(b / a).toBeLessThan(16);
  });
});
