/**
 * The image endpoints of the non-text-to-image pipeline classes (inpaint, variations, upscale, depth2img) on the
 * tiny reference models: results equal a direct pipeline call, validation names the field, a model of the wrong
 * class is refused naming what it serves, and continuous batching works for every class.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import sharp from "sharp";
import {
  StableDiffusionDepth2ImgPipeline, StableDiffusionImageVariationPipeline, StableDiffusionInpaintPipeline, StableDiffusionUpscalePipeline,
  createServer, type SdServer,
} from "../../lib/index.js";
import { describeWithReference } from "../helpers/reference.js";
import { get, maxPixelDiff, png, post, readEvents, tinyModel, tinyPipe } from "./helpers.js";

const b64 = (b: Buffer): string => b.toString("base64");
const imageOf = (body: any, i = 0): Buffer => Buffer.from(body.data[i].b64_json, "base64");

describeWithReference("server: inpaint, variations, upscale, depth2img endpoints", () => {
  let server: SdServer;
  let url: string;
  let inpaint: StableDiffusionInpaintPipeline;
  let imgvar: StableDiffusionImageVariationPipeline;
  let upscale: StableDiffusionUpscalePipeline;
  let depth: StableDiffusionDepth2ImgPipeline;
  let picture: Buffer, mask: Buffer, small: Buffer;

  beforeAll(async () => {
    inpaint = (await tinyModel("tiny-sd-inpaint")) as StableDiffusionInpaintPipeline;
    imgvar = (await tinyModel("tiny-sd-imgvar")) as StableDiffusionImageVariationPipeline;
    upscale = (await tinyModel("tiny-sd-upscale")) as StableDiffusionUpscalePipeline;
    depth = (await tinyModel("tiny-sd-depth")) as StableDiffusionDepth2ImgPipeline;
    server = createServer({
      models: { sd: await tinyPipe(), inpaint, imgvar, upscale, depth },
      port: 0, logError: () => undefined, limits: { maxWidth: 128, maxHeight: 128 },
    });
    url = (await server.start()).url;
    picture = await png(64, 64, (x, y) => [x * 4, y * 4, (x * y) % 256]);
    mask = await png(64, 64, (x) => (x < 32 ? [255, 255, 255] : [0, 0, 0]));
    small = await png(16, 16, (x, y) => [x * 16, 255 - y * 16, 128]);
  });
  afterAll(async () => {
    await server?.close({ graceMs: 0 });
  });

  it("every model is served by the class loadPipeline returned; /v1/models says which endpoints", async () => {
    expect(inpaint).toBeInstanceOf(StableDiffusionInpaintPipeline);
    expect(imgvar).toBeInstanceOf(StableDiffusionImageVariationPipeline);
    expect(upscale).toBeInstanceOf(StableDiffusionUpscalePipeline);
    expect(depth).toBeInstanceOf(StableDiffusionDepth2ImgPipeline);
    const m = await get(`${url}/v1/models`);
    expect(m.body.data.map((d: any) => [d.id, d.pipeline, d.endpoints])).toEqual([
      ["sd", "StableDiffusionPipeline", ["/v1/images/generations", "/v1/images/img2img"]],
      ["inpaint", "StableDiffusionInpaintPipeline", ["/v1/images/inpaint"]],
      ["imgvar", "StableDiffusionImageVariationPipeline", ["/v1/images/variations"]],
      ["upscale", "StableDiffusionUpscalePipeline", ["/v1/images/upscale"]],
      ["depth", "StableDiffusionDepth2ImgPipeline", ["/v1/images/depth2img"]],
    ]);
  });

  it("POST /v1/images/inpaint: equals the pipeline's own result; validation errors name the field", async () => {
    const r = await post(`${url}/v1/images/inpaint`, { prompt: "a cat", image: b64(picture), mask: b64(mask), steps: 2, seed: 21 });
    expect(r.status).toBe(200);
    expect(r.body.model).toBe("inpaint"); // the first model that serves the endpoint
    expect(r.body.data[0].seed).toBe(21);
    expect(r.body.parameters).toMatchObject({ pipeline: "StableDiffusionInpaintPipeline", prompt: "a cat", width: 64, height: 64, strength: 1 });
    const direct = await inpaint.generate({ prompt: "a cat", image: picture, maskImage: mask, width: 64, height: 64, steps: 2, seed: 21, guidanceScale: 7.5 });
    expect(imageOf(r.body).equals(direct.images[0] as Buffer)).toBe(true);

    const cases: [Record<string, unknown>, string][] = [
      [{ prompt: "a", image: b64(picture) }, "mask"],
      [{ prompt: "a", image: b64(picture), mask: "%%%" }, "mask"],
      [{ prompt: "a", image: b64(picture), mask: b64(small) }, "mask"],
      [{ prompt: "a", mask: b64(mask) }, "image"],
      [{ image: b64(picture), mask: b64(mask) }, "prompt"],
      [{ prompt: "a", image: b64(picture), mask: b64(mask), strength: 2 }, "strength"],
      [{ prompt: "a", image: b64(picture), mask: b64(mask), width: 64 }, "width"],
    ];
    for (const [body, field] of cases) {
      const e = await post(`${url}/v1/images/inpaint`, body);
      expect(e.status, JSON.stringify(Object.keys(body))).toBe(400);
      expect(e.body.error.code).toBe("invalid_field");
      expect(e.body.error.message.startsWith(`${field}:`), e.body.error.message).toBe(true);
    }
  });

  it("POST /v1/images/variations: equals the pipeline's own result (no prompt); validation errors name the field", async () => {
    const r = await post(`${url}/v1/images/variations`, { image: b64(picture), steps: 2, seed: 5, n: 2 });
    expect(r.status).toBe(200);
    expect(r.body.model).toBe("imgvar");
    expect(r.body.data).toHaveLength(2);
    expect(r.body.parameters.pipeline).toBe("StableDiffusionImageVariationPipeline");
    expect(r.body.parameters).not.toHaveProperty("prompt");
    const direct = await imgvar.generate({ image: picture, width: 64, height: 64, steps: 2, seed: 5, numImagesPerPrompt: 2, guidanceScale: 7.5 });
    expect(imageOf(r.body, 0).equals(direct.images[0] as Buffer)).toBe(true);
    expect(imageOf(r.body, 1).equals(direct.images[1] as Buffer)).toBe(true);

    const sized = await post(`${url}/v1/images/variations`, { image: b64(small), steps: 1, seed: 1, size: "32x48", response_format: "binary" });
    expect(sized.status).toBe(200);
    expect(await sharp(sized.body as Buffer).metadata()).toMatchObject({ width: 32, height: 48 });

    const big = await png(200, 64, () => [0, 0, 0]);
    const cases: [Record<string, unknown>, string][] = [
      [{ steps: 2 }, "image"],
      [{ image: b64(picture), prompt: "a cat" }, "prompt"],
      [{ image: b64(big) }, "image"],
      [{ image: "bm90IGFuIGltYWdl" }, "image"],
      [{ image: b64(picture), width: 60 }, "width"],
    ];
    for (const [body, field] of cases) {
      const e = await post(`${url}/v1/images/variations`, body);
      expect(e.status, JSON.stringify(Object.keys(body))).toBe(400);
      expect(e.body.error.message.startsWith(`${field}:`), e.body.error.message).toBe(true);
    }
    expect((await post(`${url}/v1/images/variations`, { image: b64(big) })).body.error.message).toMatch(/200x64.*limit is 128x128/);
  });

  it("POST /v1/images/upscale: 4x output equal to the pipeline's; noise_level and the output size limit are checked", async () => {
    const r = await post(`${url}/v1/images/upscale`, { prompt: "sharp", image: b64(small), noise_level: 30, steps: 2, seed: 9 });
    expect(r.status).toBe(200);
    expect(r.body.model).toBe("upscale");
    expect(r.body.parameters).toMatchObject({ pipeline: "StableDiffusionUpscalePipeline", noiseLevel: 30, guidanceScale: 9, width: 64, height: 64 });
    expect(await sharp(imageOf(r.body)).metadata()).toMatchObject({ width: 64, height: 64 });
    const direct = await upscale.generate({ prompt: "sharp", image: small, noiseLevel: 30, steps: 2, seed: 9, guidanceScale: 9 });
    expect(imageOf(r.body).equals(direct.images[0] as Buffer)).toBe(true);
    // prompt is optional
    expect((await post(`${url}/v1/images/upscale`, { image: b64(small), steps: 1, seed: 1 })).status).toBe(200);

    const e1 = await post(`${url}/v1/images/upscale`, { image: b64(small), noise_level: 351 });
    expect(e1.status).toBe(400);
    expect(e1.body.error.message).toMatch(/^noise_level: must be in \[0, 350\]/);
    const e2 = await post(`${url}/v1/images/upscale`, { image: b64(picture) }); // 64x64 → 256x256 > 128x128
    expect(e2.status).toBe(400);
    expect(e2.body.error.message).toMatch(/^image: is 64x64; the limit is 32x32 \(the output is 4x the input/);
    const e3 = await post(`${url}/v1/images/upscale`, { image: b64(small), strength: 0.5 });
    expect(e3.body.error.message).toMatch(/^strength: unknown field/);
  });

  it("POST /v1/images/depth2img: equals the pipeline's own result; depth_map is required", async () => {
    const depthMap = await png(32, 32, (x) => [x * 8, x * 8, x * 8]);
    const r = await post(`${url}/v1/images/depth2img`, { prompt: "a room", image: b64(picture), depth_map: b64(depthMap), steps: 4, strength: 0.5, seed: 3 });
    expect(r.status).toBe(200);
    const direct = await depth.generate({ prompt: "a room", image: picture, depthMap, steps: 4, strength: 0.5, seed: 3, guidanceScale: 7.5 });
    expect(imageOf(r.body).equals(direct.images[0] as Buffer)).toBe(true);
    const e = await post(`${url}/v1/images/depth2img`, { prompt: "a room", image: b64(picture) });
    expect(e.status).toBe(400);
    expect(e.body.error.message).toMatch(/^depth_map: is required/);
  });

  it("a model of the wrong class: 400 naming the model and what it serves", async () => {
    const a = await post(`${url}/v1/images/inpaint`, { model: "sd", prompt: "a", image: b64(picture), mask: b64(mask) });
    expect(a.status).toBe(400);
    expect(a.body.error.code).toBe("invalid_field");
    expect(a.body.error.message).toBe(
      'model: model "sd" is a StableDiffusionPipeline, which serves POST /v1/images/generations and POST /v1/images/img2img; ' +
        "it cannot serve POST /v1/images/inpaint",
    );
    const b = await post(`${url}/v1/images/generations`, { model: "upscale", prompt: "a", width: 64, height: 64 });
    expect(b.status).toBe(400);
    expect(b.body.error.message).toMatch(/^model: model "upscale" is a StableDiffusionUpscalePipeline, which serves POST \/v1\/images\/upscale;/);
    const c = await post(`${url}/v1/images/variations`, { model: "inpaint", image: b64(picture) });
    expect(c.body.error.message).toMatch(/"inpaint" is a StableDiffusionInpaintPipeline/);
    // the default model of an endpoint is the first that serves it
    expect((await post(`${url}/v1/images/generations`, { prompt: "a", width: 64, height: 64, steps: 1 })).body.model).toBe("sd");

    const only = createServer({ models: { up: upscale }, port: 0 });
    const u = (await only.start()).url;
    try {
      const none = await post(`${u}/v1/images/generations`, { prompt: "a" });
      expect(none.status).toBe(400);
      expect(none.body.error.message).toBe("model: no loaded model serves POST /v1/images/generations (loaded: up (StableDiffusionUpscalePipeline))");
    } finally {
      await only.close({ graceMs: 0 });
    }
    expect(() => createServer({ models: { x: {} as never } })).toThrow(/must be a pipeline loadPipeline\(\) returns/);
  });

  it("async jobs and events work for the new kinds", async () => {
    const r = await post(`${url}/v1/images/inpaint`, { prompt: "a", image: b64(picture), mask: b64(mask), steps: 3, strength: 0.7, seed: 2, async: true });
    expect(r.status).toBe(202);
    const events = await readEvents(`${url}${r.body.events_url}`);
    expect(events.at(-1)!.event).toBe("done");
    const j = await get(`${url}${r.body.status_url}`);
    expect(j.body).toMatchObject({ kind: "inpaint", state: "succeeded" });
  });

  it("continuous batching merges UNet calls for every pipeline class (results match each job run alone)", async () => {
    const batched = createServer({ models: { inpaint, imgvar, upscale }, port: 0, maxBatchSize: 4, logError: () => undefined });
    const u = (await batched.start()).url;
    try {
      const inp = [1, 2, 3].map((seed) => ({ prompt: `p${seed}`, image: b64(picture), mask: b64(mask), steps: 2, seed }));
      const vars = [1, 2, 3].map((seed) => ({ image: b64(picture), steps: 2, seed }));
      const ups = [1, 2, 3].map((seed) => ({ prompt: `p${seed}`, image: b64(small), steps: 2, seed }));
      const answers = await Promise.all([
        ...inp.map((b) => post(`${u}/v1/images/inpaint`, b)),
        ...vars.map((b) => post(`${u}/v1/images/variations`, b)),
        ...ups.map((b) => post(`${u}/v1/images/upscale`, b)),
      ]);
      for (const a of answers) expect(a.status).toBe(200);
      const metrics = (await get(`${u}/metrics`)).body as string;
      for (const model of ["inpaint", "imgvar", "upscale"]) {
        const forwards = Number(new RegExp(`sdn_unet_forwards_total\\{model="${model}"\\} (\\d+)`).exec(metrics)![1]);
        const calls = Number(new RegExp(`sdn_unet_calls_total\\{model="${model}"\\} (\\d+)`).exec(metrics)![1]);
        expect(calls, model).toBeGreaterThan(forwards);
      }
      const alone = [
        await inpaint.generate({ prompt: "p2", image: picture, maskImage: mask, width: 64, height: 64, steps: 2, seed: 2 }),
        await imgvar.generate({ image: picture, width: 64, height: 64, steps: 2, seed: 2 }),
        await upscale.generate({ prompt: "p2", image: small, steps: 2, seed: 2 }),
      ];
      for (const [k, i] of [[0, 1], [1, 4], [2, 7]] as const) {
        expect(await maxPixelDiff(imageOf(answers[i]!.body), alone[k]!.images[0] as Buffer)).toBeLessThanOrEqual(1);
      }
    } finally {
      await batched.close({ graceMs: 0 });
    }
  });
});
