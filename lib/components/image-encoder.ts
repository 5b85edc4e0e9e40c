/** CLIPVisionModelWithProjection (image variations) — also the vision tower of the safety checker. */
import type { Context } from "../context.js";
import type { NativeModelHandle } from "../native.js";
import { expectShape, type Tensor } from "../tensor.js";
import { NativeComponent, type ForwardOptions } from "./native-component.js";

export interface ImageEncoderForwardOptions extends ForwardOptions {
  outputHiddenStates?: boolean;
}

export interface ImageEncoderOutput {
  /** [batch, projectionDim] */
  imageEmbeds: Tensor;
  /** [batch, hidden]: post_layernorm of the class token */
  pooled: Tensor;
  /** [batch, tokens, hidden] */
  lastHiddenState: Tensor;
  /** [layers + 1, batch, tokens, hidden] when requested */
  hiddenStates?: Tensor;
}

export class ImageEncoder extends NativeComponent {
  /** @internal use loadImageEncoder() or a pipeline */
  constructor(context: Context, native: NativeModelHandle) {
    super(context, native);
  }

  get imageSize(): number {
    return this.dim("imageSize");
  }
  get projectionDim(): number {
    return this.dim("projectionDim");
  }
  get hiddenSize(): number {
    return this.dim("hidden");
  }

  /** pixelValues: [batch, 3, imageSize, imageSize], normalised as CLIPImageProcessor does. */
  async forward(pixelValues: Tensor, options: ImageEncoderForwardOptions = {}): Promise<ImageEncoderOutput> {
    const I = this.imageSize;
    expectShape("pixelValues", pixelValues, [-1, this.dim("channels"), I, I]);
    const B = pixelValues.shape[0]!;
    const H = this.hiddenSize, T = this.dim("tokens"), L = this.dim("layers"), P = this.projectionDim;
    const embeds = new Float32Array(B * P), pooled = new Float32Array(B * H), last = new Float32Array(B * T * H);
    const hidden = options.outputHiddenStates ? new Float32Array((L + 1) * B * T * H) : null;
    const native = this.native();
    await this.context.run(options.signal, () => native.visionEncoder(pixelValues.data, B, embeds, pooled, last, hidden, options.onProgress));
    const out: ImageEncoderOutput = {
      imageEmbeds: { shape: [B, P], data: embeds },
      pooled: { shape: [B, H], data: pooled },
      lastHiddenState: { shape: [B, T, H], data: last },
    };
    if (hidden) out.hiddenStates = { shape: [L + 1, B, T, H], data: hidden };
    return out;
  }
}
