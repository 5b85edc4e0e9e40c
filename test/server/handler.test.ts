/**
 * server.handler: the API mounted on a node:http server the test creates (no start()), behind an
 * express-style mount path with a `next` fallback, and behind a body parser that already read the body.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createServer, type SdServer } from "../../lib/index.js";
import { describeWithReference } from "../helpers/reference.js";
import { get, post, readEvents, tinyPipe } from "./helpers.js";

const base = { width: 64, height: 64, steps: 2 };

function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ http: Server; url: string }> {
  const http = createHttpServer(handler);
  return new Promise((resolve) => {
    http.listen(0, "127.0.0.1", () => resolve({ http, url: `http://127.0.0.1:${(http.address() as AddressInfo).port}` }));
  });
}

function stop(http: Server): Promise<void> {
  http.closeAllConnections();
  return new Promise((r) => http.close(() => r()));
}

describeWithReference("server.handler mounted in another server", () => {
  let server: SdServer;
  beforeAll(async () => {
    server = createServer({ models: { tiny: await tinyPipe() }, logError: () => undefined });
  });
  afterAll(async () => {
    await server?.close({ graceMs: 0 });
  });

  it("serves the whole API from a plain node:http server (the SdServer never listens)", async () => {
    const { http, url } = await listen(server.handler);
    try {
      expect(server.httpServer.listening).toBe(false);
      expect((await get(`${url}/health`)).body.status).toBe("ok");
      const r = await post(`${url}/v1/images/generations`, { ...base, prompt: "mounted", seed: 4 });
      expect(r.status).toBe(200);
      const direct = await (await tinyPipe()).generate({ prompt: "mounted", width: 64, height: 64, steps: 2, seed: 4 });
      expect(Buffer.from(r.body.data[0].b64_json, "base64").equals(direct.images[0] as Buffer)).toBe(true);
      const a = await post(`${url}/v1/images/generations`, { ...base, prompt: "async", seed: 4, async: true });
      expect(a.body.status_url).toBe(`/v1/jobs/${a.body.id}`);
      expect((await readEvents(`${url}${a.body.events_url}`)).at(-1)!.event).toBe("done");
      expect((await get(`${url}/nope`)).status).toBe(404);
      expect((await get(`${url}/metrics`)).body).toMatch(/sdn_http_responses_total\{code="200"\} [1-9]/);
    } finally {
      await stop(http);
    }
  });

  it("express-style mount: a path prefix (req.originalUrl) and next() for paths the API does not know", async () => {
    // What express does for app.use("/sd", handler): strips the prefix from req.url, keeps originalUrl, passes next.
    const app = (req: IncomingMessage, res: ServerResponse): void => {
      const next = (): void => {
        res.writeHead(200, { "content-type": "text/plain" });
        res.end("fell through to the app");
      };
      if (req.url?.startsWith("/sd/")) {
        Object.assign(req, { originalUrl: req.url, url: req.url.slice(3) });
        server.handler(req, res, next);
      } else next();
    };
    const { http, url } = await listen(app);
    try {
      const r = await post(`${url}/sd/v1/images/generations`, { ...base, prompt: "prefixed", seed: 1, async: true });
      expect(r.status).toBe(202);
      expect(r.body.status_url).toBe(`/sd/v1/jobs/${r.body.id}`);
      expect(r.headers.get("location")).toBe(`/sd/v1/jobs/${r.body.id}`);
      expect((await readEvents(`${url}${r.body.events_url}`)).at(-1)!.event).toBe("done");
      expect((await get(`${url}${r.body.status_url}`)).body.state).toBe("succeeded");
      const other = await get(`${url}/sd/unknown`);
      expect(other.body).toBe("fell through to the app");
      expect(other.headers.get("x-content-type-options")).toBeNull(); // the app's response is left alone
      expect((await get(`${url}/other`)).body).toBe("fell through to the app");
    } finally {
      await stop(http);
    }
  });

  it("behind a body parser that already consumed the stream: uses req.body", async () => {
    const app = (req: IncomingMessage, res: ServerResponse): void => {
      if (req.method !== "POST") return server.handler(req, res);
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        if (req.headers["x-no-body"] === undefined) Object.assign(req, { body: JSON.parse(Buffer.concat(chunks).toString()) });
        server.handler(req, res);
      });
    };
    const { http, url } = await listen(app);
    try {
      const r = await post(`${url}/v1/images/generations`, { ...base, prompt: "parsed", seed: 8 });
      expect(r.status).toBe(200);
      expect(r.body.data[0].seed).toBe(8);
      const v = await post(`${url}/v1/images/generations`, { ...base, prompt: "parsed", steps: 0 });
      expect(v.body.error.message).toMatch(/^steps:/);
      const gone = await post(`${url}/v1/images/generations`, { ...base, prompt: "x" }, { "x-no-body": "1" });
      expect(gone.status).toBe(400);
      expect(gone.body.error.message).toMatch(/already read by another middleware/);
    } finally {
      await stop(http);
    }
  });
});
