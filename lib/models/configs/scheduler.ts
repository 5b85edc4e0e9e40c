/** scheduler/scheduler_config.json is kept raw here (schedulers parse their own configs). */
import { FormatError } from "../../errors.js";
import { isPlainObject, type ParseContext } from "./schema.js";

export interface RawSchedulerConfig {
  /** `_class_name`, e.g. "PNDMScheduler". */
  className: string;
  /** The whole JSON object, `_class_name` and `_diffusers_version` included. */
  config: Record<string, unknown>;
}

export function parseSchedulerConfig(raw: unknown, ctx: ParseContext): RawSchedulerConfig {
  if (!isPlainObject(raw)) throw new FormatError(`${ctx.file}: config must be a JSON object`);
  const c = raw._class_name;
  if (c === undefined) throw new FormatError(`${ctx.file}: required field "_class_name" is missing`);
  if (typeof c !== "string" || !/Scheduler$/.test(c)) {
    throw new FormatError(`${ctx.file}: field "_class_name" must name a scheduler class, got ${JSON.stringify(c)}`);
  }
  return { className: c, config: { ...raw } };
}
