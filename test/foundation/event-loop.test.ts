import { describe, expect, it } from "vitest";
import { createContext } from "../../lib/index.js";

describe("the JS thread is never blocked by native work", () => {
  it("keeps turning setTimeout(0) while a long native call runs", async () => {
    const ctx = await createContext({ device: "cpu" });
    let turns = 0;
    let running = true;
    const spin = () => {
      if (!running) return;
      turns++;
      setTimeout(spin, 0);
    };
    setTimeout(spin, 0);
    const started = performance.now();
    const gflops = await ctx.measureGemmPeak(512, 1.0);
    const elapsed = performance.now() - started;
    running = false;
    expect(gflops).toBeGreaterThan(0);
    expect(elapsed).toBeGreaterThan(900);
    // A blocked loop would turn about once; a free one turns every ~1-4 ms.
    expect(turns).toBeGreaterThan(elapsed / 20);
    ctx.dispose();
  });
});
