// depth2img takes the depth map as a Tensor or as an image (its gray levels): both give the same result.
import { expect, it } from "vitest";
import { StableDiffusionDepth2ImgPipeline } from "../../lib/index.js";
import { describeWithReference, referencePath } from "../helpers/reference.js";

describeWithReference("depth2img depth map inputs (tiny-sd-depth)", () => {
  it("a gray image and the Tensor of its levels give identical latents", async () => {
    await using pipe = await StableDiffusionDepth2ImgPipeline.load(referencePath("models", "tiny-sd-depth"));
    const W = 64, H = 48;
    const gray = new Uint8Array(W * H);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) gray[y * W + x] = (x * 3 + y * 2) % 256;
    const rgb = new Uint8Array(W * H * 3).map((_, i) => (i * 7) % 251);
    const common = { prompt: "a room", image: { data: rgb, width: W, height: H, channels: 3 as const }, steps: 3, seed: 5, outputType: "latent" as const };
    const fromImage = await pipe.generate({ ...common, depthMap: { data: gray, width: W, height: H, channels: 1 } });
    const fromTensor = await pipe.generate({ ...common, depthMap: { shape: [H, W], data: Float32Array.from(gray) } });
    expect(fromImage.latents.data).toEqual(fromTensor.latents.data);
  });
});
