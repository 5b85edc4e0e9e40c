// Server options and memory gauges: maxBatchWaitMs is validated, /metrics reports process and native memory.
import { expect, it } from "vitest";
import { createServer, InvalidArgumentError } from "../../lib/index.js";
import { describeWithReference } from "../helpers/reference.js";
import { get, tinyPipe } from "./helpers.js";

describeWithReference("server options and memory metrics", () => {
  it("rejects a bad maxBatchWaitMs with a typed error", async () => {
    const pipe = await tinyPipe();
    expect(() => createServer({ models: { sd: pipe }, maxBatchWaitMs: -1 })).toThrow(InvalidArgumentError);
    expect(() => createServer({ models: { sd: pipe }, maxBatchWaitMs: 1.5 })).toThrow(InvalidArgumentError);
  });

  it("/metrics reports resident and native memory", async () => {
    const pipe = await tinyPipe();
    const server = createServer({ models: { sd: pipe }, port: 0, maxBatchSize: 2, maxBatchWaitMs: 5 });
    const { url } = await server.start();
    try {
      const text = (await get(`${url}/metrics`)).body as string;
      const rss = Number(/^sdn_process_resident_memory_bytes (\d+)$/m.exec(text)![1]);
      expect(rss).toBeGreaterThan(10 * 1024 * 1024);
      expect(text).toMatch(/^sdn_native_external_memory_bytes \d+$/m);
    } finally {
      await server.close({ graceMs: 0 });
    }
  });
});
