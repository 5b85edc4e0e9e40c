/**
 * feature_extractor/preprocessor_config.json: CLIPImageProcessor (also written as CLIPFeatureExtractor by
 * older transformers) and, for the depth pipeline, DPTImageProcessor / DPTFeatureExtractor.
 * Sizes are normalized the way transformers' get_size_dict does: CLIP `size: 224` means shortest edge 224,
 * `crop_size: 224` means 224x224; DPT `size: 384` means 384x384.
 */
import { FormatError } from "../../errors.js";
import {
  bool, field, fail, isPlainObject, listOf, nullable, num, parseFields, posInt, str, type Parsed, type ParseContext,
  type Reader,
} from "./schema.js";

export const OPENAI_CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073];
export const OPENAI_CLIP_STD = [0.26862954, 0.26130258, 0.27577711];

export type SizeSpec = { shortest_edge: number } | { height: number; width: number };

function sizeReader(intMeans: "shortest_edge" | "square"): Reader<SizeSpec> {
  return (v, at, ctx) => {
    if (Number.isSafeInteger(v) && (v as number) > 0) {
      const n = v as number;
      return intMeans === "shortest_edge" ? { shortest_edge: n } : { height: n, width: n };
    }
    if (isPlainObject(v)) {
      const keys = Object.keys(v).sort().join(",");
      if (keys === "shortest_edge") return { shortest_edge: posInt(v.shortest_edge, `${at}.shortest_edge`, ctx) };
      if (keys === "height,width") {
        return { height: posInt(v.height, `${at}.height`, ctx), width: posInt(v.width, `${at}.width`, ctx) };
      }
    }
    return fail(ctx, at, "a positive integer, {shortest_edge} or {height, width}", v);
  };
}

const rgb = (v: unknown, at: string, ctx: ParseContext): number[] => {
  const l = listOf(num)(v, at, ctx);
  if (l.length !== 3) fail(ctx, at, "a list of 3 numbers", v);
  return l;
};
const meanStd = (v: unknown, at: string, ctx: ParseContext): number[] =>
  typeof v === "number" ? [num(v, at, ctx), v, v] : rgb(v, at, ctx);

/** PIL resample codes: 0 nearest, 1 lanczos, 2 bilinear, 3 bicubic, 4 box, 5 hamming. */
const resample: Reader<number> = (v, at, ctx) =>
  Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= 5 ? (v as number) : fail(ctx, at, "a PIL resample code 0..5", v);

const LEGACY_KEYS: ReadonlySet<string> = new Set(["feature_extractor_type", "image_processor_type", "processor_class", "_valid_processor_keys"]);

const CLIP_SPEC = {
  do_resize: field(bool, true),
  size: field(sizeReader("shortest_edge"), (): SizeSpec => ({ shortest_edge: 224 })),
  resample: field(resample, 3),
  do_center_crop: field(bool, true),
  crop_size: field(sizeReader("square"), (): SizeSpec => ({ height: 224, width: 224 })),
  do_rescale: field(bool, true),
  rescale_factor: field(num, 1 / 255),
  do_normalize: field(bool, true),
  image_mean: field(meanStd, () => OPENAI_CLIP_MEAN.slice()),
  image_std: field(meanStd, () => OPENAI_CLIP_STD.slice()),
  do_convert_rgb: field(bool, true),
};
export type ClipImageProcessorConfig = { kind: "clip" } & Parsed<typeof CLIP_SPEC>;

const DPT_SPEC = {
  do_resize: field(bool, true),
  size: field(sizeReader("square"), (): SizeSpec => ({ height: 384, width: 384 })),
  resample: field(resample, 3),
  keep_aspect_ratio: field(bool, false),
  ensure_multiple_of: field(posInt, 1),
  do_rescale: field(bool, true),
  rescale_factor: field(num, 1 / 255),
  do_normalize: field(bool, true),
  image_mean: field(meanStd, () => [0.5, 0.5, 0.5]),
  image_std: field(meanStd, () => [0.5, 0.5, 0.5]),
  do_pad: field(bool, false),
  size_divisor: field(nullable(posInt), null as number | null),
};
export type DptImageProcessorConfig = { kind: "dpt" } & Parsed<typeof DPT_SPEC>;

export type ImageProcessorConfig = ClipImageProcessorConfig | DptImageProcessorConfig;

/** Parses a preprocessor_config.json; the processor kind comes from image_processor_type / feature_extractor_type. */
export function parseImageProcessorConfig(raw: unknown, ctx: ParseContext): ImageProcessorConfig {
  if (!isPlainObject(raw)) throw new FormatError(`${ctx.file}: config must be a JSON object`);
  const typeField = raw.image_processor_type !== undefined ? "image_processor_type" : "feature_extractor_type";
  const t = raw[typeField] === undefined ? "CLIPImageProcessor" : str(raw[typeField], typeField, ctx);
  if (/^CLIP(ImageProcessor|FeatureExtractor)$/.test(t)) {
    return { kind: "clip", ...parseFields(raw, CLIP_SPEC, ctx, LEGACY_KEYS) };
  }
  if (/^DPT(ImageProcessor|FeatureExtractor)$/.test(t)) {
    return { kind: "dpt", ...parseFields(raw, DPT_SPEC, ctx, LEGACY_KEYS) };
  }
  throw new FormatError(`${ctx.file}: field "${typeField}" names an unsupported image processor ${JSON.stringify(t)} (expected CLIPImageProcessor or DPTImageProcessor)`);
}
