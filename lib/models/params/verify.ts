/**
 * Checks a diffusers/transformers-format weight listing against the parameters a config implies:
 * missing tensor → NotFoundError, wrong shape → ShapeError (both name the tensor and file), extra tensors →
 * warnings (known harmless buffers such as position_ids are reported as ignored).
 */
import { NotFoundError, ShapeError } from "../../errors.js";
import type { ComponentConfig } from "../configs/index.js";
import { formatShape, indexByName, shapesEqual, type TensorDType, type TensorIndex } from "../tensor_index.js";
import {
  expectedClipTextParams, expectedClipVisionParams, expectedSafetyCheckerParams, expectedUNetParams, expectedVaeParams,
  type ParamSpec,
} from "./expected.js";

/** Expected parameters for a parsed component config; null for configs without weights. */
export function expectedParamsFor(cc: ComponentConfig): ParamSpec[] | null {
  switch (cc.kind) {
    case "unet":
      return expectedUNetParams(cc.config);
    case "vae":
      return expectedVaeParams(cc.config);
    case "clip_text":
      return expectedClipTextParams(cc.config);
    case "clip_vision":
      return expectedClipVisionParams(cc.config);
    case "safety_checker":
      return expectedSafetyCheckerParams(cc.config);
    default:
      return null;
  }
}

export interface VerifiedWeights {
  /** Expected parameters with the dtype found in the file, in expected order. */
  tensors: { name: string; shape: number[]; dtype: TensorDType }[];
  /** Tensors in the file that the model does not use. */
  extra: string[];
  warnings: string[];
}

const HARMLESS_EXTRA = /(^|\.)position_ids$/;

export function verifyWeights(
  expected: readonly ParamSpec[],
  index: TensorIndex,
  opts: { file?: string; component?: string; allowTextProjection?: boolean } = {},
): VerifiedWeights {
  const where = `${opts.file ? `${opts.file}: ` : ""}${opts.component ? `${opts.component} ` : ""}`;
  const byName = indexByName(index);
  const tensors: VerifiedWeights["tensors"] = [];
  const wanted = new Set<string>();
  for (const p of expected) {
    wanted.add(p.name);
    const t = byName.get(p.name);
    if (!t) throw new NotFoundError(`${where}tensor "${p.name}" is missing (expected shape ${formatShape(p.shape)})`);
    if (!shapesEqual(t.shape, p.shape)) {
      throw new ShapeError(`${where}tensor "${p.name}" has shape ${formatShape(t.shape)}, expected ${formatShape(p.shape)}`);
    }
    tensors.push({ name: p.name, shape: p.shape, dtype: t.dtype });
  }
  const extra = index.map((t) => t.name).filter((n) => !wanted.has(n));
  const warnings: string[] = [];
  const unknown = extra.filter((n) => !HARMLESS_EXTRA.test(n));
  if (extra.length > unknown.length) warnings.push(`${where}ignored ${extra.length - unknown.length} position_ids buffer(s)`);
  for (const n of unknown) warnings.push(`${where}ignored unexpected tensor "${n}"`);
  return { tensors, extra, warnings };
}
