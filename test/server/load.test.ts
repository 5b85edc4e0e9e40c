/** Load: 50 concurrent requests on tiny-sd1 (64x64, 2 steps) through continuous batching. */
import { expect, it } from "vitest";
import { describeWithReference } from "../helpers/reference.js";
import { get, maxPixelDiff, post, startServer, tinyPipe } from "./helpers.js";

describeWithReference("server under load", () => {
  it("50 concurrent requests all succeed with the right per-seed images", async () => {
    const { server, url } = await startServer({ maxBatchSize: 8, maxQueue: 64 });
    try {
      const reqs = Array.from({ length: 50 }, (_, i) => ({
        prompt: `load test prompt ${i % 7}`, width: 64, height: 64, steps: 2, seed: 5000 + i, ...(i % 3 === 0 ? { negative_prompt: "blur" } : {}),
      }));
      const answers = await Promise.all(reqs.map((r) => post(`${url}/v1/images/generations`, r)));
      for (let i = 0; i < reqs.length; i++) {
        expect(answers[i]!.status, JSON.stringify(answers[i]!.body).slice(0, 200)).toBe(200);
        expect(answers[i]!.body.data[0].seed).toBe(reqs[i]!.seed);
        expect(answers[i]!.body.parameters).toMatchObject({ seed: reqs[i]!.seed, prompt: reqs[i]!.prompt });
      }
      // 50 seeds, 50 different images
      expect(new Set(answers.map((a) => a.body.data[0].b64_json)).size).toBe(50);
      // spot checks against direct pipeline calls (batched forwards: at most 1 level of rounding apart)
      const pipe = await tinyPipe();
      for (const i of [0, 17, 33, 49]) {
        const r = reqs[i]!;
        const direct = await pipe.generate({
          prompt: r.prompt, ...(r.negative_prompt ? { negativePrompt: r.negative_prompt } : {}), width: 64, height: 64, steps: 2, seed: r.seed,
        });
        expect(await maxPixelDiff(Buffer.from(answers[i]!.body.data[0].b64_json, "base64"), direct.images[0] as Buffer), `request ${i}`).toBeLessThanOrEqual(1);
      }
      const metrics = (await get(`${url}/metrics`)).body as string;
      expect(metrics).toMatch(/^sdn_jobs_total\{model="tiny",state="succeeded"\} 50$/m);
      const forwards = Number(/sdn_unet_forwards_total\{[^}]*\} (\d+)/.exec(metrics)![1]);
      const calls = Number(/sdn_unet_calls_total\{[^}]*\} (\d+)/.exec(metrics)![1]);
      expect(calls).toBeGreaterThan(2 * forwards); // well batched
      expect((await get(`${url}/health`)).body.models[0]).toMatchObject({ queued: 0, running: 0 });
    } finally {
      await server.close({ graceMs: 0 });
    }
  });
});
