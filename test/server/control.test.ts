/** Server control: queue limits, API keys, CORS, graceful close, cross-request batching. */
import { expect, it } from "vitest";
import { describeWithReference } from "../helpers/reference.js";
import { loadImageRGB, TorchCpuGenerator } from "../../lib/index.js";
import { del, get, post, readEvents, startServer, tinyPipe, waitFor } from "./helpers.js";

const base = { width: 64, height: 64, steps: 2 };

describeWithReference("server control", () => {
  it("a full queue answers 429 with Retry-After", async () => {
    const { server, url } = await startServer({ maxQueue: 1, limits: { maxSteps: 1000 } });
    try {
      const a = await post(`${url}/v1/images/generations`, { ...base, prompt: "a", steps: 1000, async: true });
      expect(a.status).toBe(202);
      await waitFor(async () => (await get(`${url}/v1/jobs/${a.body.id}`)).body.state === "running");
      const b = await post(`${url}/v1/images/generations`, { ...base, prompt: "b", steps: 1000, async: true });
      expect(b.status).toBe(202);
      const c = await post(`${url}/v1/images/generations`, { ...base, prompt: "c" });
      expect(c.status).toBe(429);
      expect(c.body.error.code).toBe("queue_full");
      expect(Number(c.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      // cancelling the queued job frees its place at once
      expect((await del(`${url}/v1/jobs/${b.body.id}`)).body.state).toBe("cancelled");
      expect((await get(`${url}/health`)).body.models[0].queued).toBe(0);
      await del(`${url}/v1/jobs/${a.body.id}`);
    } finally {
      await server.close({ graceMs: 0 });
    }
  });

  it("request timeout: a job not done in time fails with 504 timeout and frees the worker", async () => {
    const { server, url } = await startServer({ requestTimeoutMs: 300, limits: { maxSteps: 1000 } });
    try {
      const t = await post(`${url}/v1/images/generations`, { ...base, prompt: "slow", steps: 1000 });
      expect(t.status).toBe(504);
      expect(t.body.error.code).toBe("timeout");
      await waitFor(async () => (await get(`${url}/health`)).body.models[0].running === 0);
      const m = (await get(`${url}/metrics`)).body as string;
      expect(m).toMatch(/^sdn_jobs_total\{model="tiny",state="failed"\} 1$/m);
    } finally {
      await server.close({ graceMs: 0 });
    }
  });

  it("API keys: 401 without or with a wrong key; health and openapi stay open", async () => {
    const { server, url } = await startServer({ apiKeys: ["k1-secret", "k2-secret"] });
    try {
      const body = { ...base, prompt: "a", seed: 1 };
      const none = await post(`${url}/v1/images/generations`, body);
      expect(none.status).toBe(401);
      expect(none.body.error.code).toBe("unauthorized");
      expect(none.headers.get("www-authenticate")).toMatch(/^Bearer/);
      expect((await post(`${url}/v1/images/generations`, body, { authorization: "Bearer wrong" })).status).toBe(401);
      expect((await post(`${url}/v1/images/generations`, body, { authorization: "Basic k1-secret" })).status).toBe(401);
      expect((await get(`${url}/metrics`)).status).toBe(401);
      expect((await get(`${url}/v1/jobs/00000000-0000-0000-0000-000000000000`)).status).toBe(401);
      expect((await post(`${url}/v1/images/generations`, body, { authorization: "Bearer k2-secret" })).status).toBe(200);
      expect((await get(`${url}/metrics`, { authorization: "Bearer k1-secret" })).status).toBe(200);
      expect((await get(`${url}/health`)).status).toBe(200);
      expect((await get(`${url}/openapi.json`)).status).toBe(200);
    } finally {
      await server.close({ graceMs: 0 });
    }
  });

  it("CORS when enabled: allowed origins and preflight", async () => {
    const { server, url } = await startServer({ cors: ["http://app.example"] });
    try {
      const ok = await get(`${url}/health`, { origin: "http://app.example" });
      expect(ok.headers.get("access-control-allow-origin")).toBe("http://app.example");
      const other = await get(`${url}/health`, { origin: "http://evil.example" });
      expect(other.headers.get("access-control-allow-origin")).toBeNull();
      const pre = await fetch(`${url}/v1/images/generations`, { method: "OPTIONS", headers: { origin: "http://app.example" } });
      expect(pre.status).toBe(204);
      expect(pre.headers.get("access-control-allow-headers")).toMatch(/Authorization/);
    } finally {
      await server.close({ graceMs: 0 });
    }
  });

  it("close(): 503 for new jobs, queued ones cancelled, running ones finish within the grace period", async () => {
    const { server, url } = await startServer({ limits: { maxSteps: 1000 } });
    const short = await post(`${url}/v1/images/generations`, { ...base, prompt: "short", steps: 20, async: true });
    const queued = await post(`${url}/v1/images/generations`, { ...base, prompt: "queued", async: true });
    await waitFor(async () => (await get(`${url}/v1/jobs/${short.body.id}`)).body.state === "running");
    const closing = server.close({ graceMs: 30_000 });
    const refused = await post(`${url}/v1/images/generations`, { ...base, prompt: "late" });
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe("shutting_down");
    expect((await get(`${url}/health`)).status).toBe(503);
    await closing;
    // finished inside the grace period; the queued one was cancelled
    await expect(fetch(`${url}/health`)).rejects.toThrow();

    const s2 = await startServer({ limits: { maxSteps: 1000 } });
    const long = await post(`${s2.url}/v1/images/generations`, { ...base, prompt: "long", steps: 1000, async: true });
    const events = readEvents(`${s2.url}${long.body.events_url}`);
    await waitFor(async () => (await get(`${s2.url}/v1/jobs/${long.body.id}`)).body.step >= 1);
    const t0 = Date.now();
    await s2.server.close({ graceMs: 50 });
    expect(Date.now() - t0).toBeLessThan(3000);
    const evs = await events;
    expect(evs.at(-1)).toMatchObject({ event: "error", data: { error: { code: "shutting_down" } } });
    expect(short.status).toBe(202);
    expect(queued.status).toBe(202);
  });

  it("close() lets the running job succeed and cancels the queued one", async () => {
    const { server, url } = await startServer({ limits: { maxSteps: 1000 } });
    const a = post(`${url}/v1/images/generations`, { ...base, prompt: "a", steps: 30, seed: 1 });
    await waitFor(async () => (await get(`${url}/health`)).body.models[0].running === 1);
    const b = post(`${url}/v1/images/generations`, { ...base, prompt: "b", seed: 2 });
    await waitFor(async () => (await get(`${url}/health`)).body.models[0].queued === 1);
    await server.close({ graceMs: 30_000 });
    expect((await a).status).toBe(200);
    const rb = await b;
    expect(rb.status).toBe(503);
    expect(rb.body.error.code).toBe("shutting_down");
  });

  it("continuous batching: jobs with different prompts, seeds, steps and schedulers share UNet forwards and equal the jobs run alone", async () => {
    const { server, url } = await startServer({ maxBatchSize: 4 });
    try {
      const reqs: { width: number; height: number; steps: number; prompt: string; seed: number; negative_prompt?: string; scheduler?: string; guidance_scale?: number }[] = [
        { ...base, prompt: "a red fox", seed: 7, steps: 3 },
        { ...base, prompt: "a blue bird", negative_prompt: "blurry", seed: 8, steps: 4, scheduler: "ddim" },
        { ...base, prompt: "a red fox", seed: 9, steps: 2, guidance_scale: 5 },
        { ...base, prompt: "a tree", seed: 10, steps: 3, scheduler: "euler-a" },
      ];
      const answers = await Promise.all(reqs.map((r) => post(`${url}/v1/images/generations`, r)));
      const pipe = await tinyPipe();
      for (let i = 0; i < reqs.length; i++) {
        const a = answers[i]!;
        expect(a.status).toBe(200);
        expect(a.body.parameters.prompt).toBe(reqs[i]!.prompt);
        const r = reqs[i]!;
        const alone = await pipe.generate({
          prompt: r.prompt, ...(r.negative_prompt ? { negativePrompt: r.negative_prompt } : {}), width: 64, height: 64, steps: r.steps, seed: r.seed,
          ...(r.scheduler ? { scheduler: r.scheduler } : {}), ...(r.guidance_scale ? { guidanceScale: r.guidance_scale } : {}), outputType: "raw",
        });
        const got = await loadImageRGB(Buffer.from(a.body.data[0].b64_json, "base64"));
        const want = alone.images[0] as { data: Uint8Array };
        let maxDiff = 0;
        for (let k = 0; k < want.data.length; k++) maxDiff = Math.max(maxDiff, Math.abs(got.data[k]! - want.data[k]!));
        expect(maxDiff).toBeLessThanOrEqual(1);
      }
      const metrics = (await get(`${url}/metrics`)).body as string;
      const forwards = Number(/sdn_unet_forwards_total\{[^}]*\} (\d+)/.exec(metrics)![1]);
      const calls = Number(/sdn_unet_calls_total\{[^}]*\} (\d+)/.exec(metrics)![1]);
      expect(calls).toBeGreaterThan(forwards); // some steps of different jobs ran in one forward
    } finally {
      await server.close({ graceMs: 0 });
    }
  });

  it("batched pipeline call (what the server runs) equals each job alone within 1e-4 relative (latents)", async () => {
    const pipe = await tinyPipe();
    const jobs = [
      { prompt: "a red fox", negativePrompt: "", seed: 7 },
      { prompt: "a blue bird", negativePrompt: "blurry", seed: 8 },
      { prompt: "something else entirely", negativePrompt: "", seed: 9 },
    ];
    const batched = await pipe.generate({
      prompt: jobs.map((j) => j.prompt), negativePrompt: jobs.map((j) => j.negativePrompt),
      generator: jobs.map((j) => new TorchCpuGenerator(BigInt(j.seed))), width: 64, height: 64, steps: 3, outputType: "latent",
    });
    const per = batched.latents.data.length / jobs.length;
    for (let i = 0; i < jobs.length; i++) {
      const j = jobs[i]!;
      const alone = await pipe.generate({
        prompt: j.prompt, ...(j.negativePrompt ? { negativePrompt: j.negativePrompt } : {}), seed: j.seed, width: 64, height: 64, steps: 3,
        outputType: "latent",
      });
      const b = batched.latents.data.subarray(i * per, (i + 1) * per);
      let maxAbs = 0, maxRef = 0;
      for (let k = 0; k < per; k++) {
        maxAbs = Math.max(maxAbs, Math.abs(b[k]! - alone.latents.data[k]!));
        maxRef = Math.max(maxRef, Math.abs(alone.latents.data[k]!));
      }
      expect(maxAbs / maxRef).toBeLessThan(1e-4);
    }
  });
});
