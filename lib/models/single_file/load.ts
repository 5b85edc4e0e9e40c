/** Single-file conversion straight from a path (safetensors headers are read here; .ckpt needs an index). */
import { readFileSync } from "node:fs";
import { FormatError, UnsupportedError } from "../../errors.js";
import { resolveSingleFile } from "../layout/source.js";
import { readSafetensorsIndex } from "../safetensors_header.js";
import type { TensorIndex } from "../tensor_index.js";
import { convertSingleFile, type SingleFileConversion, type SingleFileOptions } from "./infer.js";
import { readLdmYaml } from "./yaml.js";

export interface InspectSingleFileOptions extends Omit<SingleFileOptions, "file"> {
  /**
   * Tensor listing for formats this module cannot list by itself (.ckpt / .bin pickles: the native reader
   * provides it). For .safetensors it is read from the header when absent.
   */
  index?: TensorIndex;
  /** Path of the LDM yaml; default: `<checkpoint name>.yaml` next to the file when present. Ignored if `yaml` is given. */
  yamlPath?: string;
}

export interface InspectedSingleFile extends SingleFileConversion {
  path: string;
  yamlPath: string | null;
}

export function inspectSingleFile(path: string, opts: InspectSingleFileOptions = {}): InspectedSingleFile {
  const src = resolveSingleFile(path);
  let index = opts.index;
  if (!index) {
    if (src.format !== "safetensors") {
      throw new UnsupportedError(`${src.path}: listing ${src.format} checkpoints needs the native reader; pass its tensor index as \`index\``);
    }
    index = readSafetensorsIndex(src.path);
  }
  let yaml = opts.yaml;
  let yamlPath: string | null = null;
  if (yaml === undefined) {
    yamlPath = opts.yamlPath ?? src.yamlPath;
    if (yamlPath) {
      let text: string;
      try {
        text = readFileSync(yamlPath, "utf8");
      } catch (e) {
        throw new FormatError(`${yamlPath}: cannot read (${(e as Error).message})`, { cause: e });
      }
      yaml = readLdmYaml(text, yamlPath);
    }
  }
  const { index: _i, yamlPath: _y, ...rest } = opts;
  void _i;
  void _y;
  const conv = convertSingleFile(index, { ...rest, ...(yaml !== undefined ? { yaml } : {}), file: src.path });
  return { ...conv, path: src.path, yamlPath };
}
