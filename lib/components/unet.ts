/** UNet2DConditionModel: predicts noise (or v) for latents at given timesteps, conditioned on text. */
import type { Context } from "../context.js";
import { InvalidArgumentError, ShapeError } from "../errors.js";
import type { NativeModelHandle } from "../native.js";
import { expectShape, type Tensor } from "../tensor.js";
import { NativeComponent, type ForwardOptions } from "./native-component.js";

export interface UNetForwardOptions extends ForwardOptions {
  /** Class labels per sample (the x4 upscaler's noise level); required when the model has a class embedding. */
  classLabels?: number[] | Int32Array;
}

export class UNet extends NativeComponent {
  /** @internal use loadUNet() or a pipeline */
  constructor(context: Context, native: NativeModelHandle) {
    super(context, native);
  }

  get inChannels(): number {
    return this.dim("inChannels");
  }
  get outChannels(): number {
    return this.dim("outChannels");
  }
  get crossAttentionDim(): number {
    return this.dim("crossAttentionDim");
  }
  /** > 0 when the model takes class labels (x4 upscaler: 1000 noise levels). */
  get numClassEmbeds(): number {
    return this.dim("numClassEmbeds");
  }

  /**
   * sample [batch, inChannels, h, w]; timestep: one value for the whole batch or one per sample
   * (fractional values are fine, as Karras schedulers pass); encoderHiddenStates [batch, seq, crossAttentionDim].
   * Returns [batch, outChannels, h, w].
   */
  async forward(sample: Tensor, timestep: number | number[] | Float32Array, encoderHiddenStates: Tensor, options: UNetForwardOptions = {}): Promise<Tensor> {
    expectShape("sample", sample, [-1, this.inChannels, -1, -1]);
    const [B, , H, W] = sample.shape as [number, number, number, number];
    expectShape("encoderHiddenStates", encoderHiddenStates, [B, -1, this.crossAttentionDim]);
    const S = encoderHiddenStates.shape[1]!;
    const t = new Float32Array(B);
    if (typeof timestep === "number") t.fill(timestep);
    else {
      if (timestep.length !== B) throw new ShapeError(`timestep has ${timestep.length} values for a batch of ${B}`);
      t.set(timestep);
    }
    for (const v of t) if (!Number.isFinite(v)) throw new InvalidArgumentError(`timesteps must be finite numbers, got ${v}`);
    let labels: Int32Array | null = null;
    if (this.numClassEmbeds > 0) {
      if (!options.classLabels) throw new InvalidArgumentError("this UNet needs classLabels (e.g. the upscaler's noise level)");
      if (options.classLabels.length !== B) throw new ShapeError(`classLabels has ${options.classLabels.length} values for a batch of ${B}`);
      labels = Int32Array.from(options.classLabels);
    }
    const out = new Float32Array(B * this.outChannels * H * W);
    const native = this.native();
    await this.context.run(options.signal, () =>
      native.unet(sample.data, B, H, W, t, encoderHiddenStates.data, S, labels, out, options.onProgress),
    );
    return { shape: [B, this.outChannels, H, W], data: out };
  }
}
