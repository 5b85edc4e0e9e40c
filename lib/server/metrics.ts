/** Prometheus text exposition (format 0.0.4) of the server's counters, gauges and step latency histogram. */

export const STEP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

class Histogram {
  readonly counts = new Array<number>(STEP_BUCKETS.length).fill(0);
  sum = 0;
  count = 0;
  observe(v: number): void {
    for (let i = 0; i < STEP_BUCKETS.length; i++) if (v <= STEP_BUCKETS[i]!) this.counts[i]!++;
    this.sum += v;
    this.count++;
  }
}

function label(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function fmt(v: number): string {
  if (v === Infinity) return "+Inf";
  return Number.isInteger(v) ? String(v) : String(v);
}

export class Metrics {
  private readonly images = new Map<string, number>();
  private readonly jobs = new Map<string, number>(); // `${model}\0${state}`
  private readonly steps = new Map<string, Histogram>();
  private readonly requests = new Map<number, number>();

  imagesGenerated(model: string, n: number): void {
    this.images.set(model, (this.images.get(model) ?? 0) + n);
  }
  jobFinished(model: string, state: string): void {
    const k = `${model}\0${state}`;
    this.jobs.set(k, (this.jobs.get(k) ?? 0) + 1);
  }
  stepLatency(model: string, seconds: number): void {
    let h = this.steps.get(model);
    if (!h) this.steps.set(model, (h = new Histogram()));
    h.observe(seconds);
  }
  request(status: number): void {
    this.requests.set(status, (this.requests.get(status) ?? 0) + 1);
  }

  render(gauges: { model: string; queued: number; running: number; unetForwards?: number; unetCalls?: number }[]): string {
    const out: string[] = [];
    out.push("# HELP sdn_queue_depth Jobs waiting in the model's queue.", "# TYPE sdn_queue_depth gauge");
    for (const g of gauges) out.push(`sdn_queue_depth{model="${label(g.model)}"} ${g.queued}`);
    out.push("# HELP sdn_running_jobs Jobs running now.", "# TYPE sdn_running_jobs gauge");
    for (const g of gauges) out.push(`sdn_running_jobs{model="${label(g.model)}"} ${g.running}`);
    out.push("# HELP sdn_unet_forwards_total UNet forwards run (continuous batching merges calls into them).", "# TYPE sdn_unet_forwards_total counter");
    for (const g of gauges) if (g.unetForwards !== undefined) out.push(`sdn_unet_forwards_total{model="${label(g.model)}"} ${g.unetForwards}`);
    out.push("# HELP sdn_unet_calls_total UNet calls of jobs (one per job step) served by merged forwards.", "# TYPE sdn_unet_calls_total counter");
    for (const g of gauges) if (g.unetCalls !== undefined) out.push(`sdn_unet_calls_total{model="${label(g.model)}"} ${g.unetCalls}`);
    const mem = process.memoryUsage();
    out.push("# HELP sdn_process_resident_memory_bytes Resident memory of the server process (weights are memory-mapped).", "# TYPE sdn_process_resident_memory_bytes gauge");
    out.push(`sdn_process_resident_memory_bytes ${mem.rss}`);
    out.push("# HELP sdn_native_external_memory_bytes Native memory reported by sd-native objects (contexts, model workspaces).", "# TYPE sdn_native_external_memory_bytes gauge");
    out.push(`sdn_native_external_memory_bytes ${mem.external}`);
    out.push("# HELP sdn_images_generated_total Images generated.", "# TYPE sdn_images_generated_total counter");
    for (const g of gauges) out.push(`sdn_images_generated_total{model="${label(g.model)}"} ${this.images.get(g.model) ?? 0}`);
    out.push("# HELP sdn_jobs_total Jobs finished, by final state.", "# TYPE sdn_jobs_total counter");
    for (const [k, v] of this.jobs) {
      const [model, state] = k.split("\0") as [string, string];
      out.push(`sdn_jobs_total{model="${label(model)}",state="${label(state)}"} ${v}`);
    }
    out.push("# HELP sdn_step_latency_seconds Time per denoising step.", "# TYPE sdn_step_latency_seconds histogram");
    for (const g of gauges) {
      const h = this.steps.get(g.model) ?? new Histogram();
      const m = label(g.model);
      STEP_BUCKETS.forEach((b, i) => out.push(`sdn_step_latency_seconds_bucket{model="${m}",le="${fmt(b)}"} ${h.counts[i]}`));
      out.push(`sdn_step_latency_seconds_bucket{model="${m}",le="+Inf"} ${h.count}`);
      out.push(`sdn_step_latency_seconds_sum{model="${m}"} ${h.sum}`);
      out.push(`sdn_step_latency_seconds_count{model="${m}"} ${h.count}`);
    }
    out.push("# HELP sdn_http_responses_total HTTP responses, by status code.", "# TYPE sdn_http_responses_total counter");
    for (const [code, v] of [...this.requests].sort((a, b) => a[0] - b[0])) out.push(`sdn_http_responses_total{code="${code}"} ${v}`);
    return out.join("\n") + "\n";
  }
}
