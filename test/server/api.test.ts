/** The HTTP API on tiny-sd1 (CPU): results, validation, auth, limits, events, metrics. */
import { afterAll, beforeAll, expect, it } from "vitest";
import { request as httpRequest } from "node:http";
import { describeWithReference } from "../helpers/reference.js";
import { del, get, post, readEvents, startServer, tinyPipe, waitFor, type Started } from "./helpers.js";

const base = { width: 64, height: 64, steps: 2, guidance_scale: 7.5 };

describeWithReference("server API", () => {
  let s: Started;
  beforeAll(async () => {
    s = await startServer({ maxQueue: 64, limits: { maxSteps: 1000, maxWidth: 256, maxHeight: 256, maxN: 4, maxBodyBytes: 64 * 1024 } });
  });
  afterAll(async () => {
    await s?.server.close({ graceMs: 0 });
  });

  it("GET /health, /openapi.json, /v1/models; no CORS headers by default", async () => {
    const h = await get(`${s.url}/health`);
    expect(h.status).toBe(200);
    expect(h.body).toMatchObject({ status: "ok", models: [{ id: "tiny", queued: 0, running: 0 }] });
    expect(h.headers.get("access-control-allow-origin")).toBeNull();
    const o = await get(`${s.url}/openapi.json`);
    expect(o.status).toBe(200);
    expect(o.body.openapi).toMatch(/^3\./);
    for (const p of ["/v1/images/generations", "/v1/images/img2img", "/v1/images/inpaint", "/v1/images/variations", "/v1/images/upscale", "/v1/jobs/{id}", "/v1/jobs/{id}/events", "/health", "/metrics"]) {
      expect(o.body.paths).toHaveProperty([p]);
    }
    expect((await get(`${s.url}/v1/models`)).body.data).toEqual([
      { id: "tiny", object: "model", pipeline: "StableDiffusionPipeline", endpoints: ["/v1/images/generations", "/v1/images/img2img"] },
    ]);
    const nf = await get(`${s.url}/nope`);
    expect(nf.status).toBe(404);
    expect(nf.body.error.code).toBe("not_found");
    const wrong = await get(`${s.url}/v1/images/generations`);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("POST");
  });

  it("20 concurrent requests all succeed, each identical to a direct pipeline call with the same options", async () => {
    const reqs = Array.from({ length: 20 }, (_, i) => ({ ...base, prompt: `prompt number ${i % 5}`, seed: 1000 + i }));
    const answers = await Promise.all(reqs.map((r) => post(`${s.url}/v1/images/generations`, r)));
    const pipe = await tinyPipe();
    for (let i = 0; i < reqs.length; i++) {
      const a = answers[i]!;
      expect(a.status).toBe(200);
      expect(a.body.data).toHaveLength(1);
      expect(a.body.data[0].seed).toBe(reqs[i]!.seed);
      expect(a.body.parameters.seed).toBe(reqs[i]!.seed);
      const direct = await pipe.generate({ prompt: reqs[i]!.prompt, width: 64, height: 64, steps: 2, guidanceScale: 7.5, seed: reqs[i]!.seed });
      expect(Buffer.from(a.body.data[0].b64_json, "base64").equals(direct.images[0] as Buffer)).toBe(true);
    }
    // different seeds, different images
    expect(answers[0]!.body.data[0].b64_json).not.toBe(answers[5]!.body.data[0].b64_json);
    // delivered synchronously: the retained job (GET, replayed events) keeps the state, not the pixels
    const id = answers[0]!.body.id as string;
    expect((await get(`${s.url}/v1/jobs/${id}`)).body).not.toHaveProperty("data");
    const replay = await readEvents(`${s.url}/v1/jobs/${id}/events`);
    expect(replay.at(-1)!.event).toBe("done");
    expect(replay.at(-1)!.data.state).toBe("succeeded");
    expect(replay.at(-1)!.data).not.toHaveProperty("data");
  });

  it("n images, binary format, random seed reported, img2img", async () => {
    const two = await post(`${s.url}/v1/images/generations`, { ...base, prompt: "two", seed: 5, n: 2 });
    expect(two.status).toBe(200);
    expect(two.body.data).toHaveLength(2);
    const bin = await post(`${s.url}/v1/images/generations`, { ...base, prompt: "bin", seed: 5, response_format: "binary" });
    expect(bin.status).toBe(200);
    expect(bin.headers.get("content-type")).toBe("image/png");
    expect(bin.headers.get("x-seed")).toBe("5");
    expect((bin.body as Buffer).subarray(1, 4).toString()).toBe("PNG");
    const rnd = await post(`${s.url}/v1/images/generations`, { ...base, prompt: "rnd" });
    expect(rnd.status).toBe(200);
    expect(Number.isSafeInteger(rnd.body.data[0].seed)).toBe(true);

    const i2i = await post(`${s.url}/v1/images/img2img`, {
      prompt: "x", image: (bin.body as Buffer).toString("base64"), strength: 0.5, steps: 4, seed: 3,
    });
    expect(i2i.status).toBe(200);
    const pipe = await tinyPipe();
    const direct = await pipe.img2img({ prompt: "x", image: bin.body as Buffer, strength: 0.5, steps: 4, seed: 3 });
    expect(Buffer.from(i2i.body.data[0].b64_json, "base64").equals(direct.images[0] as Buffer)).toBe(true);
    const badImg = await post(`${s.url}/v1/images/img2img`, { prompt: "x", image: "bm90IGFuIGltYWdl" });
    expect(badImg.status).toBe(400);
    expect(badImg.body.error.message).toMatch(/^image:/);
  });

  it("malformed JSON and bad fields: 400 naming the field, no stack traces", async () => {
    const url = `${s.url}/v1/images/generations`;
    const bad = await post(url, "{ not json");
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("invalid_json");
    expect((await post(url, "[1,2]")).status).toBe(400);
    expect((await post(url, "")).status).toBe(400);
    const cases: [Record<string, unknown>, string][] = [
      [{ width: 64 }, "prompt"],
      [{ prompt: 3 }, "prompt"],
      [{ prompt: "a", width: 65 }, "width"],
      [{ prompt: "a", height: 4096 }, "height"],
      [{ prompt: "a", steps: 0 }, "steps"],
      [{ prompt: "a", steps: 2.5 }, "steps"],
      [{ prompt: "a", steps: 5000 }, "steps"],
      [{ prompt: "a", guidance_scale: "high" }, "guidance_scale"],
      [{ prompt: "a", seed: -1 }, "seed"],
      [{ prompt: "a", n: 9 }, "n"],
      [{ prompt: "a", scheduler: "nope" }, "scheduler"],
      [{ prompt: "a", response_format: "url" }, "response_format"],
      [{ prompt: "a", async: "yes" }, "async"],
      [{ prompt: "a", model: "other" }, "model"],
      [{ prompt: "a", size: "64by64" }, "size"],
      [{ prompt: "a", colour: "red" }, "colour"],
    ];
    for (const [body, field] of cases) {
      const r = await post(url, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.code).toBe("invalid_field");
      expect(r.body.error.message.startsWith(`${field}:`), r.body.error.message).toBe(true);
      expect(JSON.stringify(r.body)).not.toMatch(/\bat .*\.(ts|js):\d+/);
    }
    const ct = await fetch(url, { method: "POST", headers: { "content-type": "text/plain" }, body: "{}" });
    expect(ct.status).toBe(415);
  });

  it("a body over the limit gets 413", async () => {
    const big = JSON.stringify({ prompt: "a", negative_prompt: "x".repeat(100 * 1024) });
    const r = await post(`${s.url}/v1/images/generations`, big);
    expect(r.status).toBe(413);
    expect(r.body.error.code).toBe("body_too_large");
    // chunked (no content-length): cut off while streaming
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${s.url}/v1/images/generations`, { method: "POST", headers: { "content-type": "application/json" } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on("error", reject);
      for (let i = 0; i < 20; i++) req.write("x".repeat(8 * 1024));
      req.end();
    });
    expect(status).toBe(413);
  });

  it("async job: 202, GET progress, SSE events in order (queued, step..., done)", async () => {
    const r = await post(`${s.url}/v1/images/generations`, { ...base, prompt: "async", seed: 11, steps: 3, async: true });
    expect(r.status).toBe(202);
    expect(r.headers.get("location")).toBe(`/v1/jobs/${r.body.id}`);
    const events = await readEvents(`${s.url}${r.body.events_url}`);
    const names = events.map((e) => e.event);
    // the model's PNDM scheduler runs steps + 1 UNet steps (diffusers PLMS); total comes from the pipeline
    const total = events[1]!.data.total as number;
    expect(total).toBe(4);
    expect(names).toEqual(["queued", ...Array<string>(total).fill("step"), "done"]);
    expect(events.slice(1, -1).map((e) => e.data.step)).toEqual([1, 2, 3, 4]);
    expect(events.at(-1)!.data.data[0].seed).toBe(11);
    const j = await get(`${s.url}/v1/jobs/${r.body.id}`);
    expect(j.body).toMatchObject({ id: r.body.id, state: "succeeded", step: 4, total: 4 });
    expect(j.body.data).toHaveLength(1);
    expect((await get(`${s.url}/v1/jobs/00000000-0000-0000-0000-000000000000`)).status).toBe(404);
    expect((await del(`${s.url}/v1/jobs/${r.body.id}`)).status).toBe(409);
  });

  it("DELETE cancels a running job at its next step and frees the slot", async () => {
    const r = await post(`${s.url}/v1/images/generations`, { ...base, prompt: "long", seed: 1, steps: 1000, async: true });
    expect(r.status).toBe(202);
    let cancelled: Promise<unknown> | undefined;
    const events = await readEvents(`${s.url}${r.body.events_url}`, (ev) => {
      if (ev.event === "step" && ev.data.step === 2 && !cancelled) cancelled = del(`${s.url}/v1/jobs/${r.body.id}`);
    });
    const d = (await cancelled) as unknown as { status: number; body: { state: string } };
    expect(d.status).toBe(200);
    expect(d.body.state).toBe("cancelled");
    expect(events.at(-1)!.event).toBe("error");
    expect(events.at(-1)!.data.error.code).toBe("cancelled");
    expect(events.filter((e) => e.event === "step").length).toBeLessThan(100);
    await waitFor(async () => (await get(`${s.url}/health`)).body.models[0].running === 0);
    const next = await post(`${s.url}/v1/images/generations`, { ...base, prompt: "after", seed: 2 });
    expect(next.status).toBe(200);
    expect((await get(`${s.url}/v1/jobs/${r.body.id}`)).body.state).toBe("cancelled");
  });

  it("a client that disconnects from a synchronous request cancels its job", async () => {
    const req = httpRequest(`${s.url}/v1/images/generations`, { method: "POST", headers: { "content-type": "application/json" } });
    req.on("error", () => undefined);
    req.end(JSON.stringify({ ...base, prompt: "gone", seed: 1, steps: 1000 }));
    await waitFor(async () => (await get(`${s.url}/health`)).body.models[0].running === 1);
    req.destroy();
    await waitFor(async () => (await get(`${s.url}/health`)).body.models[0].running === 0);
    const m = await get(`${s.url}/metrics`);
    expect(m.body).toMatch(/sdn_jobs_total\{model="tiny",state="cancelled"\} [1-9]/);
  });

  it("GET /metrics: Prometheus text with queue depth, running jobs, images total and a step latency histogram", async () => {
    const m = await get(`${s.url}/metrics`);
    expect(m.status).toBe(200);
    expect(m.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = m.body as string;
    for (const name of ["sdn_queue_depth", "sdn_running_jobs", "sdn_images_generated_total", "sdn_step_latency_seconds"]) {
      expect(text).toMatch(new RegExp(`^# TYPE ${name} (gauge|counter|histogram)$`, "m"));
    }
    expect(text).toMatch(/^sdn_queue_depth\{model="tiny"\} 0$/m);
    const images = Number(/^sdn_images_generated_total\{model="tiny"\} (\d+)$/m.exec(text)![1]);
    expect(images).toBeGreaterThanOrEqual(20);
    const inf = Number(/^sdn_step_latency_seconds_bucket\{model="tiny",le="\+Inf"\} (\d+)$/m.exec(text)![1]);
    const count = Number(/^sdn_step_latency_seconds_count\{model="tiny"\} (\d+)$/m.exec(text)![1]);
    expect(inf).toBe(count);
    expect(count).toBeGreaterThan(40);
    // every sample line is "name{labels} value"
    for (const line of text.trim().split("\n")) {
      if (!line.startsWith("#")) expect(line).toMatch(/^[a-z_]+(\{[^}]*\})? [0-9.e+-]+$/);
    }
  });
});
