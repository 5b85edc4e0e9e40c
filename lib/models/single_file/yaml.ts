/**
 * A minimal YAML reader for the subset used by the original LDM / Stability config files
 * (v1-inference.yaml, v2-inference-v.yaml, x4-upscaling.yaml, ...): block mappings by indentation, block
 * sequences ("- item", including "- key: value" items), flow sequences/mappings ("[1, 2, 4]", "{}"),
 * plain/quoted scalars, comments. Anchors, aliases, tags, multi-line strings and multiple documents are not
 * supported (FormatError names the line).
 */
import { FormatError } from "../../errors.js";

export type YamlValue = null | boolean | number | string | YamlValue[] | { [k: string]: YamlValue };

interface Line {
  indent: number;
  text: string;
  no: number;
}

function stripComment(s: string): string {
  let q: string | null = null;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (q) {
      if (ch === q) q = null;
      else if (ch === "\\" && q === '"') i++;
    } else if (ch === '"' || ch === "'") {
      q = ch;
    } else if (ch === "#" && (i === 0 || /\s/.test(s[i - 1]!))) {
      return s.slice(0, i);
    }
  }
  return s;
}

function parseScalar(raw: string, file: string, no: number): YamlValue {
  const s = raw.trim();
  if (s === "" || s === "~" || s === "null" || s === "Null" || s === "NULL") return null;
  if (/^(true|True|TRUE)$/.test(s)) return true;
  if (/^(false|False|FALSE)$/.test(s)) return false;
  if (s.startsWith('"')) {
    if (!s.endsWith('"') || s.length < 2) throw new FormatError(`${file}:${no}: unterminated string ${s}`);
    try {
      return JSON.parse(s) as string;
    } catch {
      throw new FormatError(`${file}:${no}: invalid double-quoted string ${s}`);
    }
  }
  if (s.startsWith("'")) {
    if (!s.endsWith("'") || s.length < 2) throw new FormatError(`${file}:${no}: unterminated string ${s}`);
    return s.slice(1, -1).replace(/''/g, "'");
  }
  if (/^[-+]?(0|[1-9][0-9_]*)$/.test(s)) return Number(s.replace(/_/g, ""));
  if (/^[-+]?(\d[\d_]*)?\.?\d*([eE][-+]?\d+)?$/.test(s) && /\d/.test(s)) return Number(s.replace(/_/g, ""));
  if (/^[-+]?\.(inf|Inf|INF)$/.test(s)) return s.startsWith("-") ? -Infinity : Infinity;
  if (/^\.(nan|NaN|NAN)$/.test(s)) return NaN;
  if (/^[&*!|>]/.test(s)) throw new FormatError(`${file}:${no}: unsupported YAML feature in ${JSON.stringify(s)}`);
  return s;
}

/** Parses a flow collection starting at s[i] ("[" or "{"); returns value and the index after it. */
function parseFlow(s: string, i: number, file: string, no: number): [YamlValue, number] {
  const open = s[i]!;
  const close = open === "[" ? "]" : "}";
  const arr: YamlValue[] = [];
  const obj: { [k: string]: YamlValue } = {};
  i++;
  for (;;) {
    while (i < s.length && /\s/.test(s[i]!)) i++;
    if (i >= s.length) throw new FormatError(`${file}:${no}: unterminated flow collection`);
    if (s[i] === close) return [open === "[" ? arr : obj, i + 1];
    let item: YamlValue;
    let key: string | null = null;
    const readItem = (): YamlValue => {
      while (i < s.length && /\s/.test(s[i]!)) i++;
      if (s[i] === "[" || s[i] === "{") {
        const [v, j] = parseFlow(s, i, file, no);
        i = j;
        return v;
      }
      let j = i;
      let q: string | null = null;
      for (; j < s.length; j++) {
        const ch = s[j]!;
        if (q) {
          if (ch === q) q = null;
          continue;
        }
        if (ch === '"' || ch === "'") q = ch;
        else if (ch === "," || ch === close || (open === "{" && key === null && ch === ":" && /[\s,}]/.test(s[j + 1] ?? " "))) break;
      }
      const text = s.slice(i, j);
      i = j;
      return parseScalar(text, file, no);
    };
    if (open === "{") {
      const k = readItem();
      if (s[i] !== ":") throw new FormatError(`${file}:${no}: expected ":" in flow mapping`);
      i++;
      key = String(k);
      item = readItem();
      obj[key] = item;
    } else {
      arr.push(readItem());
    }
    while (i < s.length && /\s/.test(s[i]!)) i++;
    if (s[i] === ",") i++;
    else if (s[i] !== close) throw new FormatError(`${file}:${no}: expected "," or "${close}" in flow collection`);
  }
}

function parseInline(raw: string, file: string, no: number): YamlValue {
  const s = raw.trim();
  if (s.startsWith("[") || s.startsWith("{")) {
    const [v, j] = parseFlow(s, 0, file, no);
    if (s.slice(j).trim() !== "") throw new FormatError(`${file}:${no}: unexpected text after flow collection`);
    return v;
  }
  return parseScalar(s, file, no);
}

/** Splits "key: rest" (key may be quoted); null when the line is not a mapping entry. */
function splitKey(text: string): [string, string] | null {
  const m = /^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s:][^:]*?)\s*:(?:\s+(.*)|\s*$)/.exec(text);
  if (!m) return null;
  let k = m[1]!;
  if (k.startsWith('"')) k = JSON.parse(k) as string;
  else if (k.startsWith("'")) k = k.slice(1, -1).replace(/''/g, "'");
  return [k, m[2] ?? ""];
}

export function parseYaml(text: string, file = "<yaml>"): YamlValue {
  const lines: Line[] = [];
  text.split(/\r?\n/).forEach((l, idx) => {
    if (/\t/.test(l.match(/^\s*/)![0])) throw new FormatError(`${file}:${idx + 1}: tabs are not allowed for indentation`);
    const t = stripComment(l).replace(/\s+$/, "");
    if (t.trim() === "" || t.trim() === "---" || t.trim() === "...") return;
    if (/^%/.test(t)) return;
    lines.push({ indent: t.length - t.trimStart().length, text: t.trim(), no: idx + 1 });
  });
  let pos = 0;

  function parseBlock(indent: number): YamlValue {
    const first = lines[pos]!;
    if (first.text.startsWith("- ") || first.text === "-") return parseSeq(first.indent);
    return parseMap(first.indent);
    void indent;
  }

  function parseValueAfterKey(rest: string, parentIndent: number, no: number): YamlValue {
    if (rest !== "") return parseInline(rest, file, no);
    const next = lines[pos];
    if (next && (next.indent > parentIndent || (next.indent === parentIndent && next.text.startsWith("-")))) {
      return parseBlock(next.indent);
    }
    return null;
  }

  function parseMap(indent: number): YamlValue {
    const obj: { [k: string]: YamlValue } = {};
    while (pos < lines.length) {
      const l = lines[pos]!;
      if (l.indent < indent) break;
      if (l.indent > indent) throw new FormatError(`${file}:${l.no}: unexpected indentation`);
      if (l.text.startsWith("- ")) break;
      const kv = splitKey(l.text);
      if (!kv) throw new FormatError(`${file}:${l.no}: expected "key: value", got ${JSON.stringify(l.text)}`);
      pos++;
      if (Object.prototype.hasOwnProperty.call(obj, kv[0])) throw new FormatError(`${file}:${l.no}: duplicate key ${JSON.stringify(kv[0])}`);
      obj[kv[0]] = parseValueAfterKey(kv[1], indent, l.no);
    }
    return obj;
  }

  function parseSeq(indent: number): YamlValue {
    const arr: YamlValue[] = [];
    while (pos < lines.length) {
      const l = lines[pos]!;
      if (l.indent !== indent || !(l.text.startsWith("- ") || l.text === "-")) {
        if (l.indent > indent) throw new FormatError(`${file}:${l.no}: unexpected indentation`);
        break;
      }
      const rest = l.text === "-" ? "" : l.text.slice(2).trim();
      const itemIndent = indent + (l.text.length - l.text.slice(1).trimStart().length);
      if (rest === "") {
        pos++;
        const next = lines[pos];
        arr.push(next && next.indent > indent ? parseBlock(next.indent) : null);
      } else if (!rest.startsWith("[") && !rest.startsWith("{") && splitKey(rest)) {
        // "- key: value" starts a mapping whose further keys are indented to the key's column
        lines[pos] = { indent: itemIndent, text: rest, no: l.no };
        arr.push(parseMap(itemIndent));
      } else {
        pos++;
        arr.push(parseInline(rest, file, l.no));
      }
    }
    return arr;
  }

  if (lines.length === 0) return null;
  const v = parseBlock(lines[0]!.indent);
  if (pos < lines.length) throw new FormatError(`${file}:${lines[pos]!.no}: unexpected content`);
  return v;
}

/** Follows a dotted path through nested mappings; undefined when any step is missing. */
export function yamlGet(v: YamlValue | undefined, path: string): YamlValue | undefined {
  let cur: YamlValue | undefined = v;
  for (const k of path.split(".")) {
    if (cur === null || cur === undefined || typeof cur !== "object" || Array.isArray(cur)) return undefined;
    cur = (cur as { [k: string]: YamlValue })[k];
  }
  return cur;
}

/** The fields of an LDM config yaml that single-file conversion uses. */
export interface LdmYamlInfo {
  /** model.target, e.g. "ldm.models.diffusion.ddpm.LatentInpaintDiffusion". */
  target?: string;
  /** model.params.parameterization: "eps" (default in LDM), "v" or "x0". */
  parameterization?: string;
  scaleFactor?: number;
  condStageTarget?: string;
  unet: {
    in_channels?: number;
    out_channels?: number;
    model_channels?: number;
    context_dim?: number;
    num_heads?: number;
    num_head_channels?: number;
    use_linear_in_transformer?: boolean;
    disable_self_attentions?: boolean[];
    num_classes?: number | string;
    image_size?: number;
    channel_mult?: number[];
  };
}

/** Reads the LDM fields from yaml text (FormatError on syntax errors or ill-typed fields). */
export function readLdmYaml(text: string, file = "<yaml>"): LdmYamlInfo {
  const doc = parseYaml(text, file);
  const get = (p: string) => yamlGet(doc, p);
  const numAt = (p: string): number | undefined => {
    const v = get(p);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "number") throw new FormatError(`${file}: field "${p}" must be a number, got ${JSON.stringify(v)}`);
    return v;
  };
  const strAt = (p: string): string | undefined => {
    const v = get(p);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string") throw new FormatError(`${file}: field "${p}" must be a string, got ${JSON.stringify(v)}`);
    return v;
  };
  const boolAt = (p: string): boolean | undefined => {
    const v = get(p);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "boolean") throw new FormatError(`${file}: field "${p}" must be a boolean, got ${JSON.stringify(v)}`);
    return v;
  };
  const u = "model.params.unet_config.params.";
  const dsa = get(u + "disable_self_attentions");
  if (dsa !== undefined && dsa !== null && !(Array.isArray(dsa) && dsa.every((x) => typeof x === "boolean"))) {
    throw new FormatError(`${file}: field "${u}disable_self_attentions" must be a list of booleans, got ${JSON.stringify(dsa)}`);
  }
  const cm = get(u + "channel_mult");
  if (cm !== undefined && cm !== null && !(Array.isArray(cm) && cm.every((x) => typeof x === "number"))) {
    throw new FormatError(`${file}: field "${u}channel_mult" must be a list of numbers, got ${JSON.stringify(cm)}`);
  }
  const nc = get(u + "num_classes");
  const nhc = numAt(u + "num_head_channels");
  const nh = numAt(u + "num_heads");
  return {
    target: strAt("model.target"),
    parameterization: strAt("model.params.parameterization"),
    scaleFactor: numAt("model.params.scale_factor"),
    condStageTarget: strAt("model.params.cond_stage_config.target"),
    unet: {
      in_channels: numAt(u + "in_channels"),
      out_channels: numAt(u + "out_channels"),
      model_channels: numAt(u + "model_channels"),
      context_dim: numAt(u + "context_dim"),
      num_heads: nh !== undefined && nh > 0 ? nh : undefined,
      num_head_channels: nhc !== undefined && nhc > 0 ? nhc : undefined,
      use_linear_in_transformer: boolAt(u + "use_linear_in_transformer"),
      disable_self_attentions: (dsa ?? undefined) as boolean[] | undefined,
      num_classes: typeof nc === "number" || typeof nc === "string" ? nc : undefined,
      image_size: numAt(u + "image_size"),
      channel_mult: (cm ?? undefined) as number[] | undefined,
    },
  };
}
