/**
 * transformers CLIP configs: CLIPTextModel (text_encoder/config.json), CLIPVisionModelWithProjection
 * (image_encoder/config.json) and StableDiffusionSafetyChecker (safety_checker/config.json, a CLIPConfig
 * with nested text_config / vision_config). Defaults follow transformers 4.38.
 */
import { FormatError } from "../../errors.js";
import {
  field, isPlainObject, num, oneOf, parseFields, posInt, required, int, type Parsed, type ParseContext,
} from "./schema.js";

export const CLIP_ACTIVATIONS = ["quick_gelu", "gelu", "gelu_new", "gelu_fast", "gelu_pytorch_tanh", "relu", "silu"] as const;
export type ClipActivation = (typeof CLIP_ACTIVATIONS)[number];

/** PretrainedConfig bookkeeping and generation keys found in transformers config dumps: accepted, ignored. */
export const TRANSFORMERS_GENERIC_KEYS: ReadonlySet<string> = new Set([
  "_name_or_path", "_commit_hash", "_attn_implementation", "_attn_implementation_autoset", "architectures",
  "transformers_version", "torch_dtype", "model_type", "return_dict", "output_hidden_states", "output_attentions",
  "torchscript", "use_bfloat16", "tf_legacy_loss", "pruned_heads", "tie_word_embeddings", "is_encoder_decoder",
  "is_decoder", "cross_attention_hidden_size", "add_cross_attention", "tie_encoder_decoder", "max_length",
  "min_length", "do_sample", "early_stopping", "num_beams", "num_beam_groups", "diversity_penalty", "temperature",
  "top_k", "top_p", "typical_p", "repetition_penalty", "length_penalty", "no_repeat_ngram_size",
  "encoder_no_repeat_ngram_size", "bad_words_ids", "num_return_sequences", "chunk_size_feed_forward",
  "output_scores", "return_dict_in_generate", "forced_bos_token_id", "forced_eos_token_id", "remove_invalid_values",
  "exponential_decay_length_penalty", "suppress_tokens", "begin_suppress_tokens", "finetuning_task", "id2label",
  "label2id", "tokenizer_class", "prefix", "sep_token_id", "decoder_start_token_id", "task_specific_params",
  "problem_type", "gradient_checkpointing",
]);

const act = oneOf(...CLIP_ACTIVATIONS);

export const CLIP_TEXT_SPEC = {
  vocab_size: field(posInt, 49408),
  hidden_size: required(posInt),
  intermediate_size: required(posInt),
  projection_dim: field(posInt, 512),
  num_hidden_layers: required(posInt),
  num_attention_heads: required(posInt),
  max_position_embeddings: field(posInt, 77),
  hidden_act: field(act, "quick_gelu" as ClipActivation),
  layer_norm_eps: field(num, 1e-5),
  attention_dropout: field(num, 0),
  dropout: field(num, 0),
  initializer_range: field(num, 0.02),
  initializer_factor: field(num, 1.0),
  pad_token_id: field(int, 1),
  bos_token_id: field(int, 49406),
  eos_token_id: field(int, 49407),
};
export type ClipTextConfig = Parsed<typeof CLIP_TEXT_SPEC>;

export const CLIP_VISION_SPEC = {
  hidden_size: required(posInt),
  intermediate_size: required(posInt),
  projection_dim: field(posInt, 512),
  num_hidden_layers: required(posInt),
  num_attention_heads: required(posInt),
  num_channels: field(posInt, 3),
  image_size: field(posInt, 224),
  patch_size: required(posInt),
  hidden_act: field(act, "quick_gelu" as ClipActivation),
  layer_norm_eps: field(num, 1e-5),
  attention_dropout: field(num, 0),
  dropout: field(num, 0),
  initializer_range: field(num, 0.02),
  initializer_factor: field(num, 1.0),
};
export type ClipVisionConfig = Parsed<typeof CLIP_VISION_SPEC>;

function checkModelType(raw: unknown, expected: string, ctx: ParseContext): void {
  if (!isPlainObject(raw) || raw.model_type === undefined) return;
  if (raw.model_type !== expected) {
    throw new FormatError(`${ctx.file}: field "${ctx.prefix ?? ""}model_type" must be ${JSON.stringify(expected)}, got ${JSON.stringify(raw.model_type)}`);
  }
}

function checkArchitectures(raw: unknown, allowed: readonly string[], ctx: ParseContext): void {
  if (!isPlainObject(raw) || raw.architectures === undefined || raw.architectures === null) return;
  const a = raw.architectures;
  if (!Array.isArray(a) || !a.every((x) => typeof x === "string")) {
    throw new FormatError(`${ctx.file}: field "architectures" must be a list of strings, got ${JSON.stringify(a)}`);
  }
  if (!a.some((x) => allowed.includes(x as string))) {
    throw new FormatError(`${ctx.file}: field "architectures" must name ${allowed.join(" or ")}, got ${JSON.stringify(a)}`);
  }
}

function checkHeads(c: { hidden_size: number; num_attention_heads: number }, ctx: ParseContext): void {
  if (c.hidden_size % c.num_attention_heads !== 0) {
    throw new FormatError(
      `${ctx.file}: field "${ctx.prefix ?? ""}hidden_size" (${c.hidden_size}) is not divisible by "num_attention_heads" (${c.num_attention_heads})`,
    );
  }
}

export function parseClipTextConfig(raw: unknown, ctx: ParseContext): ClipTextConfig {
  checkModelType(raw, "clip_text_model", ctx);
  if (!ctx.prefix) checkArchitectures(raw, ["CLIPTextModel", "CLIPTextModelWithProjection"], ctx);
  const c = parseFields(raw, CLIP_TEXT_SPEC, ctx, TRANSFORMERS_GENERIC_KEYS);
  checkHeads(c, ctx);
  return c;
}

export function parseClipVisionConfig(raw: unknown, ctx: ParseContext): ClipVisionConfig {
  checkModelType(raw, "clip_vision_model", ctx);
  if (!ctx.prefix) checkArchitectures(raw, ["CLIPVisionModelWithProjection", "CLIPVisionModel"], ctx);
  const c = parseFields(raw, CLIP_VISION_SPEC, ctx, TRANSFORMERS_GENERIC_KEYS);
  checkHeads(c, ctx);
  if (c.image_size % c.patch_size !== 0) {
    throw new FormatError(`${ctx.file}: field "${ctx.prefix ?? ""}image_size" (${c.image_size}) is not a multiple of "patch_size" (${c.patch_size})`);
  }
  return c;
}

export interface SafetyCheckerConfig {
  projection_dim: number;
  logit_scale_init_value: number;
  initializer_factor: number;
  text_config: ClipTextConfig;
  vision_config: ClipVisionConfig;
}

const SAFETY_SPEC = {
  projection_dim: field(posInt, 512),
  logit_scale_init_value: field(num, 2.6592),
  initializer_factor: field(num, 1.0),
  text_config: required((v: unknown) => v),
  vision_config: required((v: unknown) => v),
  text_config_dict: field((v: unknown) => v, null as unknown),
  vision_config_dict: field((v: unknown) => v, null as unknown),
};

/**
 * StableDiffusionSafetyChecker config (a CLIPConfig). Legacy `text_config_dict` / `vision_config_dict` are
 * merged over `text_config` / `vision_config` as transformers does.
 */
export function parseSafetyCheckerConfig(raw: unknown, ctx: ParseContext): SafetyCheckerConfig {
  checkModelType(raw, "clip", ctx);
  checkArchitectures(raw, ["StableDiffusionSafetyChecker"], ctx);
  const top = parseFields(raw, SAFETY_SPEC, ctx, TRANSFORMERS_GENERIC_KEYS);
  const merge = (base: unknown, over: unknown, name: string): unknown => {
    if (over === null || over === undefined) return base;
    if (!isPlainObject(over)) throw new FormatError(`${ctx.file}: field "${name}" must be a JSON object`);
    if (!isPlainObject(base)) throw new FormatError(`${ctx.file}: field "${name.replace("_dict", "")}" must be a JSON object`);
    return { ...base, ...over };
  };
  const text_config = parseClipTextConfig(merge(top.text_config, top.text_config_dict, "text_config_dict"), {
    ...ctx,
    prefix: "text_config.",
  });
  const vision_config = parseClipVisionConfig(merge(top.vision_config, top.vision_config_dict, "vision_config_dict"), {
    ...ctx,
    prefix: "vision_config.",
  });
  return {
    projection_dim: top.projection_dim,
    logit_scale_init_value: top.logit_scale_init_value,
    initializer_factor: top.initializer_factor,
    text_config,
    vision_config,
  };
}

/** Head width of a CLIP tower. */
export function clipHeadDim(c: { hidden_size: number; num_attention_heads: number }): number {
  return c.hidden_size / c.num_attention_heads;
}
