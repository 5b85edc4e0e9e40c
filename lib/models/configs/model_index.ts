/** model_index.json: the pipeline class and its components ([library, class] pairs; [null, null] = absent). */
import { FormatError } from "../../errors.js";
import { isPlainObject, type ParseContext } from "./schema.js";

export interface ModelIndexComponent {
  /** "diffusers", "transformers", "stable_diffusion" (the safety checker's module), ... */
  library: string;
  className: string;
}

export interface ModelIndex {
  pipelineClass: string;
  diffusersVersion: string | null;
  /** Present components by name (unet, vae, text_encoder, ...). */
  components: Record<string, ModelIndexComponent>;
  /** Components listed as [null, null] (e.g. safety_checker in SD2 repos). */
  absent: string[];
  /** Non-component entries (requires_safety_checker, max_noise_level, ...). */
  options: Record<string, unknown>;
}

export function parseModelIndex(raw: unknown, ctx: ParseContext): ModelIndex {
  if (!isPlainObject(raw)) throw new FormatError(`${ctx.file}: model_index must be a JSON object`);
  const cls = raw._class_name;
  if (cls === undefined) throw new FormatError(`${ctx.file}: required field "_class_name" is missing`);
  if (typeof cls !== "string") throw new FormatError(`${ctx.file}: field "_class_name" must be a string, got ${JSON.stringify(cls)}`);
  const ver = raw._diffusers_version;
  if (ver !== undefined && typeof ver !== "string") {
    throw new FormatError(`${ctx.file}: field "_diffusers_version" must be a string, got ${JSON.stringify(ver)}`);
  }
  const components: Record<string, ModelIndexComponent> = {};
  const absent: string[] = [];
  const options: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (k.startsWith("_")) continue;
    if (Array.isArray(v)) {
      if (v.length !== 2) throw new FormatError(`${ctx.file}: field "${k}" must be a [library, class] pair, got ${JSON.stringify(v)}`);
      const [lib, c] = v;
      if (lib === null && c === null) {
        absent.push(k);
        continue;
      }
      if (typeof lib !== "string" || typeof c !== "string") {
        throw new FormatError(`${ctx.file}: field "${k}" must be a [library, class] pair of strings, got ${JSON.stringify(v)}`);
      }
      components[k] = { library: lib, className: c };
    } else {
      options[k] = v;
    }
  }
  return { pipelineClass: cls, diffusersVersion: typeof ver === "string" ? ver : null, components, absent, options };
}
