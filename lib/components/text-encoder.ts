/** CLIPTextModel: token ids -> embeddings, as transformers computes them. */
import type { Context } from "../context.js";
import { InvalidArgumentError, ShapeError } from "../errors.js";
import type { NativeModelHandle } from "../native.js";
import type { Tensor } from "../tensor.js";
import { NativeComponent, type ForwardOptions } from "./native-component.js";

export interface TextEncoderForwardOptions extends ForwardOptions {
  /**
   * Number of final layers to skip (A1111 "clip skip" minus one; diffusers `clip_skip`): the output is the
   * final LayerNorm of layer (layers - clipSkip). Default 0 (last_hidden_state).
   */
  clipSkip?: number;
  /** Also return every layer's output (before the final LayerNorm), as transformers' hidden_states. */
  outputHiddenStates?: boolean;
}

export interface TextEncoderOutput {
  /** [batch, seq, hidden] */
  lastHiddenState: Tensor;
  /** [batch, hidden]: lastHiddenState at the EOS position */
  pooled: Tensor;
  /** [layers + 1, batch, seq, hidden] when requested */
  hiddenStates?: Tensor;
}

export class TextEncoder extends NativeComponent {
  /** @internal use loadTextEncoder() or a pipeline */
  constructor(context: Context, native: NativeModelHandle) {
    super(context, native);
  }

  get hiddenSize(): number {
    return this.dim("hidden");
  }
  get numLayers(): number {
    return this.dim("layers");
  }
  get maxPositions(): number {
    return this.dim("maxPositions");
  }

  /** ids: [batch, seq] token ids (Int32Array, number[][] or a flat array with `shape`). */
  async forward(ids: { shape: number[]; data: Int32Array } | number[][], options: TextEncoderForwardOptions = {}): Promise<TextEncoderOutput> {
    let shape: number[];
    let data: Int32Array;
    if (Array.isArray(ids)) {
      if (ids.length === 0 || !ids.every((r) => Array.isArray(r) && r.length === ids[0]!.length)) {
        throw new ShapeError("ids must be a non-empty rectangular array [batch][seq]");
      }
      shape = [ids.length, ids[0]!.length];
      data = Int32Array.from(ids.flat());
    } else {
      shape = ids.shape;
      data = ids.data;
      if (!(data instanceof Int32Array)) throw new InvalidArgumentError("ids.data must be an Int32Array");
    }
    if (shape.length !== 2 || shape[0]! < 1 || shape[1]! < 1 || data.length !== shape[0]! * shape[1]!) {
      throw new ShapeError(`ids must have shape [batch, seq], got [${shape.join(", ")}] with ${data.length} values`);
    }
    const clipSkip = options.clipSkip ?? 0;
    if (!Number.isInteger(clipSkip) || clipSkip < 0 || clipSkip >= this.numLayers) {
      throw new InvalidArgumentError(`clipSkip must be an integer in [0, ${this.numLayers - 1}], got ${clipSkip}`);
    }
    const [B, S] = shape as [number, number];
    const H = this.hiddenSize;
    const last = new Float32Array(B * S * H);
    const pooled = new Float32Array(B * H);
    const hidden = options.outputHiddenStates ? new Float32Array((this.numLayers + 1) * B * S * H) : null;
    const native = this.native();
    await this.context.run(options.signal, () => native.textEncoder(data, B, S, clipSkip, last, pooled, hidden, options.onProgress));
    const out: TextEncoderOutput = { lastHiddenState: { shape: [B, S, H], data: last }, pooled: { shape: [B, H], data: pooled } };
    if (hidden) out.hiddenStates = { shape: [this.numLayers + 1, B, S, H], data: hidden };
    return out;
  }
}
