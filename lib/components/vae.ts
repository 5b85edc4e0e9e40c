/** AutoencoderKL: images <-> latents. Scaling by `scalingFactor` is left to the caller, as in diffusers. */
import type { Context } from "../context.js";
import type { NativeModelHandle } from "../native.js";
import { expectShape, type Tensor } from "../tensor.js";
import { NativeComponent, type ForwardOptions } from "./native-component.js";

export interface VaeEncodeOutput {
  /** quant_conv output [batch, 2*latent, h, w]: mean then logvar (unclamped). */
  moments: Tensor;
  /** [batch, latent, h, w] */
  mean: Tensor;
  /** logvar clamped to [-30, 20] as diffusers' DiagonalGaussianDistribution does. */
  logvar: Tensor;
  /** exp(0.5 * logvar) */
  std: Tensor;
}

export class Vae extends NativeComponent {
  readonly scalingFactor: number;

  /** @internal use loadVae() or a pipeline */
  constructor(context: Context, native: NativeModelHandle, scalingFactor: number) {
    super(context, native);
    this.scalingFactor = scalingFactor;
  }

  get latentChannels(): number {
    return this.dim("latentChannels");
  }
  /** Pixels per latent along each axis (8 for SD, 4 for the x4 upscaler's VAE). */
  get downscale(): number {
    return this.dim("downscale");
  }

  /** x: [batch, 3, H, W] in [-1, 1], H and W multiples of `downscale`. */
  async encode(x: Tensor, options: ForwardOptions = {}): Promise<VaeEncodeOutput> {
    expectShape("x", x, [-1, this.dim("inChannels"), -1, -1]);
    const [B, , H, W] = x.shape as [number, number, number, number];
    const f = this.downscale, L = this.latentChannels;
    const h = Math.floor(H / f), w = Math.floor(W / f);
    const moments = new Float32Array(B * 2 * L * h * w);
    const native = this.native();
    await this.context.run(options.signal, () => native.vaeEncode(x.data, B, H, W, moments, options.onProgress));
    const plane = L * h * w;
    const mean = new Float32Array(B * plane), logvar = new Float32Array(B * plane), std = new Float32Array(B * plane);
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < plane; i++) {
        mean[b * plane + i] = moments[b * 2 * plane + i]!;
        const lv = Math.min(20, Math.max(-30, moments[b * 2 * plane + plane + i]!));
        logvar[b * plane + i] = lv;
        std[b * plane + i] = Math.fround(Math.exp(0.5 * lv));
      }
    }
    const shape = [B, L, h, w];
    return {
      moments: { shape: [B, 2 * L, h, w], data: moments },
      mean: { shape, data: mean },
      logvar: { shape: [...shape], data: logvar },
      std: { shape: [...shape], data: std },
    };
  }

  /** z: [batch, latent, h, w], already divided by scalingFactor. Returns [batch, 3, h*f, w*f] (about [-1, 1]). */
  async decode(z: Tensor, options: ForwardOptions = {}): Promise<Tensor> {
    expectShape("z", z, [-1, this.latentChannels, -1, -1]);
    const [B, , h, w] = z.shape as [number, number, number, number];
    const f = this.downscale, C = this.dim("outChannels");
    const image = new Float32Array(B * C * h * f * w * f);
    const native = this.native();
    await this.context.run(options.signal, () => native.vaeDecode(z.data, B, h, w, image, options.onProgress));
    return { shape: [B, C, h * f, w * f], data: image };
  }
}
