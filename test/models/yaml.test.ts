import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { FormatError } from "../../lib/errors.js";
import { parseYaml, readLdmYaml, yamlGet } from "../../lib/models/single_file/yaml.js";
import { repoPath } from "../helpers/reference.js";

describe("minimal YAML reader", () => {
  it("reads the LDM subset", () => {
    const doc = parseYaml(`
# comment
a: 1
b: 1.0e-4
c: "v"   # trailing comment
d: 'it''s'
e: [ 4, 2, 1 ]
f: [True, false, null]
g:
  - 1
  - two
  - key: x
    other: 3
h:
  nested:
    deep: ~
i: {}
j: [[1, 2], [3]]
k: ldm.models.diffusion.ddpm.LatentDiffusion
l: -1
m:
n: "#notacomment"
`);
    expect(doc).toEqual({
      a: 1, b: 1e-4, c: "v", d: "it's", e: [4, 2, 1], f: [true, false, null],
      g: [1, "two", { key: "x", other: 3 }], h: { nested: { deep: null } }, i: {}, j: [[1, 2], [3]],
      k: "ldm.models.diffusion.ddpm.LatentDiffusion", l: -1, m: null, n: "#notacomment",
    });
    expect(yamlGet(doc as never, "h.nested.deep")).toBeNull();
    expect(yamlGet(doc as never, "h.missing.x")).toBeUndefined();
  });

  it("rejects what it does not support, naming the line", () => {
    expect(() => parseYaml("a: 1\n  b: 2\n", "f.yaml")).toThrow(FormatError);
    expect(() => parseYaml("a: &anchor 1\n", "f.yaml")).toThrow(/f\.yaml:1: unsupported YAML feature/);
    expect(() => parseYaml("a: [1, 2\n", "f.yaml")).toThrow(/f\.yaml:1/);
    expect(() => parseYaml("a: 1\na: 2\n", "f.yaml")).toThrow(/duplicate key/);
    expect(() => parseYaml("just text\n", "f.yaml")).toThrow(/expected "key: value"/);
  });

  it("extracts the single-file fields", () => {
    const v = readLdmYaml(readFileSync(repoPath("test/fixtures/models/yaml/sd2-v.yaml"), "utf8"));
    expect(v).toMatchObject({
      parameterization: "v", scaleFactor: 0.18215, target: "ldm.models.diffusion.ddpm.LatentDiffusion",
      condStageTarget: "ldm.modules.encoders.modules.FrozenOpenCLIPEmbedder",
      unet: { in_channels: 4, model_channels: 320, num_head_channels: 64, context_dim: 1024, use_linear_in_transformer: true, channel_mult: [1, 2, 4, 4] },
    });
    expect(v.unet.num_heads).toBeUndefined();
    const up = readLdmYaml(readFileSync(repoPath("test/fixtures/models/yaml/x4-upscaler.yaml"), "utf8"));
    expect(up.unet).toMatchObject({ num_heads: 8, disable_self_attentions: [true, true, true, false], num_classes: 1000, in_channels: 7 });
    expect(() => readLdmYaml("model:\n  params:\n    parameterization: 3\n", "p.yaml")).toThrow(/p\.yaml: field "model\.params\.parameterization" must be a string/);
  });
});
