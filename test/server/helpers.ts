/** Shared helpers of the server tests: a loaded tiny model, a started server, HTTP and SSE clients. */
import { request as httpRequest } from "node:http";
import sharp from "sharp";
import {
  createServer, loadPipeline, type AnyPipeline, type SdServer, type ServerOptions, type StableDiffusionPipeline,
} from "../../lib/index.js";
import { referencePath } from "../helpers/reference.js";

let pipePromise: Promise<StableDiffusionPipeline> | null = null;

/** tiny-sd1 on the CPU, loaded once per test file. */
export function tinyPipe(): Promise<StableDiffusionPipeline> {
  pipePromise ??= loadPipeline(referencePath("models", "tiny-sd1"), { threads: 1 }) as Promise<StableDiffusionPipeline>;
  return pipePromise;
}

const tinyPipes = new Map<string, Promise<AnyPipeline>>();

/** A tiny reference model (tiny-sd-inpaint, tiny-sd-imgvar, ...) as loadPipeline returns it, loaded once per test file. */
export function tinyModel(name: string): Promise<AnyPipeline> {
  let p = tinyPipes.get(name);
  if (!p) {
    p = loadPipeline(referencePath("models", name), { threads: 1 });
    tinyPipes.set(name, p);
  }
  return p;
}

/** A PNG of the given size whose RGB pixels come from `fn(x, y)`. */
export function png(width: number, height: number, fn: (x: number, y: number) => [number, number, number]): Promise<Buffer> {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set(fn(x, y), (y * width + x) * 3);
  }
  return sharp(data, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

/** Largest per-channel difference between two encoded images of the same size. */
export async function maxPixelDiff(a: Buffer, b: Buffer): Promise<number> {
  const [x, y] = await Promise.all([a, b].map((i) => sharp(i).removeAlpha().raw().toBuffer({ resolveWithObject: true })));
  if (x!.info.width !== y!.info.width || x!.info.height !== y!.info.height) return Infinity;
  let d = 0;
  for (let i = 0; i < x!.data.length; i++) d = Math.max(d, Math.abs(x!.data[i]! - y!.data[i]!));
  return d;
}

export interface Started {
  server: SdServer;
  url: string;
}

export async function startServer(options: Partial<ServerOptions> = {}): Promise<Started> {
  const pipe = await tinyPipe();
  const server = createServer({ models: { tiny: pipe }, host: "127.0.0.1", port: 0, logError: () => undefined, ...options });
  const { url } = await server.start();
  return { server, url };
}

export interface JsonResponse {
  status: number;
  headers: Headers;
  body: any;
}

export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<JsonResponse> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: await parse(res) };
}

export async function get(url: string, headers: Record<string, string> = {}): Promise<JsonResponse> {
  const res = await fetch(url, { headers });
  return { status: res.status, headers: res.headers, body: await parse(res) };
}

export async function del(url: string): Promise<JsonResponse> {
  const res = await fetch(url, { method: "DELETE" });
  return { status: res.status, headers: res.headers, body: await parse(res) };
}

async function parse(res: Response): Promise<unknown> {
  const ct = res.headers.get("content-type") ?? "";
  if (ct.includes("application/json")) return res.json();
  if (ct.startsWith("image/")) return Buffer.from(await res.arrayBuffer());
  return res.text();
}

export interface SseEvent {
  event: string;
  data: any;
}

/**
 * Reads a job's event stream; `onEvent` sees each event as it arrives. Resolves with every event once the
 * server ends the stream (after done / error).
 */
export function readEvents(url: string, onEvent?: (ev: SseEvent) => void): Promise<SseEvent[]> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`events: HTTP ${res.statusCode}`));
        res.resume();
        return;
      }
      const events: SseEvent[] = [];
      let buf = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        buf += chunk;
        let i: number;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let event = "message", data = "";
          for (const line of block.split("\n")) {
            if (line.startsWith("event: ")) event = line.slice(7);
            else if (line.startsWith("data: ")) data += line.slice(6);
          }
          if (data === "") continue;
          const ev = { event, data: JSON.parse(data) };
          events.push(ev);
          onEvent?.(ev);
        }
      });
      res.on("end", () => resolve(events));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

/** Polls `check` every 10 ms, at most `tries` times. */
export async function waitFor(check: () => Promise<boolean> | boolean, tries = 500): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error("waitFor: condition not met");
}
