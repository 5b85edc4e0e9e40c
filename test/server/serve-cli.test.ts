/** `sd-native serve`: options, serving, graceful shutdown on SIGTERM. */
import { expect, it } from "vitest";
import { runCli, type CliIO } from "../../lib/cli/main.js";
import { describeWithReference, referencePath } from "../helpers/reference.js";
import { get, png, post, waitFor } from "./helpers.js";

function captureIO(): CliIO & { out: string; err: string } {
  const io = { out: "", err: "", isTTY: false, stdout: (t: string) => void (io.out += t), stderr: (t: string) => void (io.err += t) };
  return io;
}

it("serve --help lists its options", async () => {
  const io = captureIO();
  expect(await runCli(["serve", "--help"], io)).toBe(0);
  for (const o of ["--model", "--port", "--host", "--api-key", "--max-queue", "--max-batch-size", "--grace"]) expect(io.out).toContain(o);
});

describeWithReference("sd-native serve", () => {
  it("serves a model and shuts down gracefully on SIGTERM", async () => {
    const io = captureIO();
    const done = runCli(["serve", "-m", `tiny=${referencePath("models", "tiny-sd1")}`, "--port", "0", "--threads", "1", "--api-key", "secret", "--max-queue", "4"], io);
    let url = "";
    await waitFor(() => {
      const m = /serving tiny on (http:\/\/127\.0\.0\.1:\d+)/.exec(io.err);
      if (m) url = m[1]!;
      return m !== null;
    }, 2000);
    expect((await get(`${url}/health`)).body.models[0].id).toBe("tiny");
    const unauth = await post(`${url}/v1/images/generations`, { prompt: "a", width: 64, height: 64, steps: 2 });
    expect(unauth.status).toBe(401);
    const r = await post(`${url}/v1/images/generations`, { prompt: "a", width: 64, height: 64, steps: 2, seed: 1 }, { authorization: "Bearer secret" });
    expect(r.status).toBe(200);
    process.emit("SIGTERM");
    expect(await done).toBe(0);
    expect(io.err).toMatch(/shutting down/);
    await expect(fetch(`${url}/health`)).rejects.toThrow();
  });

  it("serves models of any pipeline class, each on its endpoints", async () => {
    const io = captureIO();
    const done = runCli(
      ["serve", "-m", referencePath("models", "tiny-sd-upscale"), "-m", `inp=${referencePath("models", "tiny-sd-inpaint")}`, "--port", "0", "--threads", "1"],
      io,
    );
    let url = "";
    await waitFor(() => {
      const m = /serving tiny-sd-upscale, inp on (http:\/\/127\.0\.0\.1:\d+)/.exec(io.err);
      if (m) url = m[1]!;
      return m !== null;
    }, 2000);
    expect(io.err).toMatch(/loaded tiny-sd-upscale: StableDiffusionUpscalePipeline/);
    const models = (await get(`${url}/v1/models`)).body.data;
    expect(models.map((m: { id: string; endpoints: string[] }) => [m.id, m.endpoints])).toEqual([
      ["tiny-sd-upscale", ["/v1/images/upscale"]],
      ["inp", ["/v1/images/inpaint"]],
    ]);
    const img = await png(16, 16, (x, y) => [x * 16, y * 16, 0]);
    const up = await post(`${url}/v1/images/upscale`, { image: img.toString("base64"), steps: 1, seed: 1 });
    expect(up.status).toBe(200);
    const wrong = await post(`${url}/v1/images/inpaint`, { model: "tiny-sd-upscale", prompt: "a", image: img.toString("base64"), mask: img.toString("base64") });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.message).toMatch(/tiny-sd-upscale.*StableDiffusionUpscalePipeline/);
    process.emit("SIGTERM");
    expect(await done).toBe(0);
  });

  it("a model that cannot be loaded fails with a clear error", async () => {
    const io = captureIO();
    expect(await runCli(["serve", "-m", referencePath("models", "no-such-model"), "--port", "0"], io)).toBe(1);
    expect(io.err).toMatch(/sd-native: .*\[ERR_/);
  });
});
