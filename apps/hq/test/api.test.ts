// HQ's HTTP API: auth (401/403 as problem+json), every endpoint's body, SSE, and traces that
// continue from the traceparent of each NATS message.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { propagation, trace } from "@opentelemetry/api";
import { core, tracing } from "@opentelemetry/sdk-node";
import type { EventEnvelope, EventOf } from "@stockroom/contracts";
import { MarketDataHub } from "@stockroom/marketdata";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type NatsServer, startNatsServer } from "../../../test/support/nats-server.ts";
import { removeTempDirs, startTestHq, tempDir, waitFor } from "./support/harness.ts";
import { ensureStream, SimOutlet, StreamPublisher, Workload } from "./support/publisher.ts";

const BIN = fileURLToPath(new URL("../bin/stockroom-hq.js", import.meta.url));
const KEY = /sr_[0-9a-f]{12}_[A-Za-z0-9_-]{43}/;

// Spans go to memory; the W3C propagator reads each message's traceparent.
const exporter = new tracing.InMemorySpanExporter();
trace.setGlobalTracerProvider(
  new tracing.BasicTracerProvider({ spanProcessors: [new tracing.SimpleSpanProcessor(exporter)] }),
);
propagation.setGlobalPropagator(new core.W3CTraceContextPropagator());

let nats: NatsServer;
let nc: NatsConnection;
let hq: Awaited<ReturnType<typeof startTestHq>>;
let reader: string;
let admin: string;
const outlets = ["api-north", "api-south"].map((id, i) => {
  const o = new SimOutlet(id);
  return { o, w: new Workload(o, 90 + i, { skus: 8 }) };
});

beforeAll(async () => {
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
  await ensureStream(nc);
  hq = await startTestHq(nats.url, { consumer: "hq-api" });
  await hq.consuming;
  reader = hq.services.keys.issue("dashboard").apiKey;
  admin = hq.services.keys.issue("ops", "hq-admin").apiKey;
  for (const { o, w } of outlets) {
    const pub = new StreamPublisher(nc, o.outletId);
    await pub.publish([...w.setup(), ...w.run(1_500, 500), ...o.checkpoint()], 100);
  }
  for (const { o } of outlets) {
    await waitFor(() => hq.services.aggregator.outlets.get(o.outletId)?.appliedSeq === o.seq, "applied");
  }
  await waitFor(() => hq.services.aggregator.mdSeq("SKU-001.trades", true) > 0, "committed");
});
afterAll(async () => {
  await hq?.stop();
  await nc?.close();
  await nats?.stop();
  removeTempDirs();
});

/**
 * Runs HQ's CLI without blocking this process (spawnSync would stall the HQ served from here past
 * its keep-alive timeout, and the next request would meet a reset socket).
 */
function cli(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env }, (error, stdout, stderr) =>
      resolve({ status: error ? (typeof error.code === "number" ? error.code : null) : 0, stdout, stderr }),
    );
  });
}

async function call(path: string, key: string | null = reader, init: RequestInit = {}) {
  const res = await fetch(hq.url + path, {
    ...init,
    headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(init.headers ?? {}) },
  });
  const text = await res.text();
  return {
    status: res.status,
    type: res.headers.get("content-type") ?? "",
    headers: res.headers,
    text,
    body: safeJson(text),
  };
}
// biome-ignore lint/suspicious/noExplicitAny: answers are checked field by field
function safeJson(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

const fills = (log: readonly EventEnvelope[]) =>
  log.filter((e): e is EventEnvelope & { payload: EventOf<"execution"> } => e.payload.type === "execution");

describe("auth", () => {
  it("401 without a key, with a malformed, unknown or revoked key; 403 for a reader on an admin call", async () => {
    for (const key of [null, "nonsense", "sr_000000000000_not-a-real-key-not-a-real-key-not-a-real-k"]) {
      const r = await call("/v1/inventory", key);
      expect(r.status).toBe(401);
      expect(r.type).toContain("application/problem+json");
      expect(r.headers.get("www-authenticate")).toBe("Bearer");
      expect(r.body).toMatchObject({
        status: 401,
        type: expect.stringMatching(/^https:\/\/stockroom\.dev\/problems\//),
      });
    }
    const { keyId, apiKey } = hq.services.keys.issue("temp");
    expect((await call("/v1/outlets", apiKey)).status).toBe(200);
    hq.services.keys.revoke(keyId);
    expect((await call("/v1/outlets", apiKey)).body).toMatchObject({
      status: 401,
      title: "The API key is unknown or revoked.",
    });

    const forbidden = await call("/v1/outlets/api-north/snapshot", reader, { method: "POST" });
    expect(forbidden.status).toBe(403);
    expect(forbidden.type).toContain("application/problem+json");
    expect(forbidden.body).toMatchObject({ type: "https://stockroom.dev/problems/forbidden", status: 403 });
    const allowed = await call("/v1/outlets/api-north/snapshot", admin, { method: "POST" });
    expect(allowed.status).toBe(200);
    expect(allowed.body).toMatchObject({ outletId: "api-north", seq: outlets[0]!.o.seq });
  });

  it("the CLI issues hq-reader keys (and hq-admin ones on request)", async () => {
    const dataDir = tempDir();
    const env = { ...process.env, STOCKROOM_HQ_DATA_DIR: dataDir };
    const issued = await cli(["admin", "issue-key", "dashboard"], env);
    expect(issued.status, issued.stderr).toBe(0);
    expect(issued.stdout).toMatch(/hq-reader key for dashboard/);
    expect(issued.stdout).toMatch(KEY);
    const bad = await cli(["admin", "issue-key", "x", "--role", "root"], env);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/unknown role/);
    const list = await cli(["admin", "list-keys"], env);
    expect(list.stdout).toMatch(/hq-reader\s+dashboard/);
  });

  it("a key revoked with the CLI while HQ serves is refused at once", async () => {
    const { keyId, apiKey } = hq.services.keys.issue("leaver");
    expect((await call("/v1/outlets", apiKey)).status).toBe(200);
    const env = { ...process.env, STOCKROOM_HQ_DATA_DIR: hq.dataDir };
    const revoked = await cli(["admin", "revoke-key", keyId], env);
    expect(revoked.stdout).toMatch(/revoked/);
    const after = await call("/v1/outlets", apiKey);
    expect(after.status).toBe(401);
  });
});

describe("endpoints", () => {
  it("health, readiness, metrics, OpenAPI", async () => {
    expect((await call("/healthz", null)).body).toEqual({ status: "ok" });
    const ready = await call("/readyz", null);
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({
      status: "ready",
      nats: { configured: true, connected: true, consumer: "consuming" },
    });
    const metrics = await call("/metrics", null);
    expect(metrics.text).toMatch(/stockroom_hq_events_applied_total\{outlet="api-north"\} \d+/);
    expect(metrics.text).toMatch(/stockroom_hq_outlet_lag_events/);
    const doc = (await call("/openapi.json", null)).body;
    for (const path of [
      "/v1/inventory",
      "/v1/inventory/{sku}",
      "/v1/outlets",
      "/v1/executions",
      "/v1/orders",
      "/v1/marketdata/orderBook",
      "/v1/marketdata/snapshot",
      "/v1/stream",
    ]) {
      expect(doc.paths).toHaveProperty([path]);
    }
  });

  it("/v1/inventory and /v1/inventory/{sku}: chain-wide totals and the per-outlet breakdown", async () => {
    const { body } = await call("/v1/inventory");
    expect(body.total).toBe(8);
    const [north, south] = outlets.map(({ o }) => o);
    for (const row of body.inventory) {
      const n = north!.engine.stock(row.sku)!;
      const s = south!.engine.stock(row.sku)!;
      expect(row).toMatchObject({
        sku: row.sku,
        name: `Product ${row.sku}`,
        listed: true,
        available: n.available + s.available,
        held: n.held + s.held,
        onHand: n.onHand + s.onHand,
        demand: n.demand + s.demand,
      });
      expect(row.outlets).toEqual([
        {
          outletId: "api-north",
          listed: true,
          available: n.available,
          held: n.held,
          onHand: n.onHand,
          demand: n.demand,
        },
        {
          outletId: "api-south",
          listed: true,
          available: s.available,
          held: s.held,
          onHand: s.onHand,
          demand: s.demand,
        },
      ]);
    }
    expect(body.totals.onHand).toBe(body.inventory.reduce((t: number, r: { onHand: number }) => t + r.onHand, 0));
    expect((await call("/v1/inventory?q=sku-00&limit=2&offset=1")).body).toMatchObject({
      total: 8,
      inventory: [{ sku: "SKU-001" }, { sku: "SKU-002" }],
    });
    expect((await call("/v1/inventory?q=nothing-like-it")).body).toMatchObject({ total: 0, inventory: [] });
    const one = await call("/v1/inventory/sku-002");
    expect(one.body).toEqual(body.inventory.find((r: { sku: string }) => r.sku === "SKU-002"));
    const missing = await call("/v1/inventory/NOPE-1");
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ type: "https://stockroom.dev/problems/unknown-sku" });
    const invalid = await call("/v1/inventory/has%20space!");
    expect(invalid.status).toBe(400);
    expect(invalid.body).toMatchObject({ type: "https://stockroom.dev/problems/validation-error" });
  });

  it("/v1/outlets: applied seq, lag, online, reconciliation", async () => {
    const { body } = await call("/v1/outlets");
    const north = body.outlets.find((o: { outletId: string }) => o.outletId === "api-north");
    expect(north).toMatchObject({
      outletId: "api-north",
      appliedSeq: outlets[0]!.o.seq,
      lag: 0,
      since: null,
      online: false,
      lastSeq: null,
      reconciliation: {
        state: "in_sync",
        reason: null,
        divergedSkus: [],
        checkpointSeq: outlets[0]!.o.seq,
        checkpointOk: true,
        verifiedSeq: outlets[0]!.o.seq,
        halted: null,
      },
    });
    const one = await call("/v1/outlets/api-south");
    expect(one.body).toMatchObject({ outletId: "api-south", divergences: [] });
    expect((await call("/v1/outlets/nowhere")).status).toBe(404);
  });

  it("/v1/executions: by sku, outlet, order and time range, newest first or oldest first", async () => {
    const all = outlets.flatMap(({ o }) => fills(o.log));
    const { body } = await call("/v1/executions?limit=10000");
    expect(body.executions).toHaveLength(all.length);
    const first = body.executions[0];
    expect(Object.keys(first).sort()).toEqual(
      [
        "aggressor",
        "execId",
        "holdId",
        "inflowAccountId",
        "inflowOrderId",
        "outflowAccountId",
        "outflowOrderId",
        "outletId",
        "price",
        "quantity",
        "seq",
        "sku",
        "tradeSeq",
        "ts",
      ].sort(),
    );
    const ts = body.executions.map((e: { ts: number }) => e.ts);
    expect(ts).toEqual([...ts].sort((a, b) => b - a));

    const north = fills(outlets[0]!.o.log);
    const sku = north[0]!.payload.sku;
    const bySku = (await call(`/v1/executions?sku=${sku}&outletId=api-north&order=asc&limit=10000`)).body.executions;
    expect(bySku.map((e: { execId: number }) => e.execId)).toEqual(
      north.filter((e) => e.payload.sku === sku).map((e) => e.payload.execId),
    );
    const orderId = north[0]!.payload.inflowOrderId;
    const byOrder = (await call(`/v1/executions?orderId=${orderId}&outletId=api-north&order=asc`)).body.executions;
    expect(byOrder.map((e: { execId: number }) => e.execId)).toEqual(
      north
        .filter((e) => e.payload.inflowOrderId === orderId || e.payload.outflowOrderId === orderId)
        .map((e) => e.payload.execId),
    );
    const start = north[10]!.ts;
    const end = north[20]!.ts;
    const ranged = (await call(`/v1/executions?outletId=api-north&startTime=${start}&endTime=${end}&order=asc`)).body
      .executions;
    expect(ranged.map((e: { execId: number }) => e.execId)).toEqual(
      north.filter((e) => e.ts >= start && e.ts < end).map((e) => e.payload.execId),
    );
    expect((await call("/v1/executions?limit=0")).status).toBe(400);
  });

  it("/v1/orders: every order with its latest state, filterable", async () => {
    const { o } = outlets[1]!;
    const accepted = o.log.filter((e) => e.payload.type === "order.accepted");
    const { body } = await call("/v1/orders?outletId=api-south&order=asc&limit=10000");
    expect(body.orders.map((r: { orderId: number }) => r.orderId)).toEqual(
      accepted.map((e) => (e.payload as { orderId: number }).orderId),
    );
    const resting = (await call("/v1/orders?outletId=api-south&status=resting&limit=10000")).body.orders;
    const live = [...o.engine.orders.values()].filter((x) => x.level !== null);
    expect(resting).toHaveLength(live.length);
    for (const r of resting) expect(r.remaining).toBe(o.engine.order(r.orderId)!.remaining);
    const one = (await call(`/v1/orders?outletId=api-south&orderId=${live[0]!.id}`)).body.orders;
    expect(one).toHaveLength(1);
    expect(one[0]).toMatchObject({
      outletId: "api-south",
      orderId: live[0]!.id,
      sku: live[0]!.sku,
      side: live[0]!.side,
      status: "resting",
    });
  });

  it("/v1/marketdata/orderBook, /snapshot and /trades: chain-wide, as the outlets' own market data merged", async () => {
    const hub = new MarketDataHub();
    for (const { o } of outlets) for (const e of o.log) hub.feed(e);
    for (const sku of ["SKU-001", "SKU-005"]) {
      const book = (await call(`/v1/marketdata/orderBook?sku=${sku}&levels=5`)).body;
      expect(book).toMatchObject(hub.depth(sku, 5));
      expect(book.seq).toBeGreaterThan(0);
      const one = (await call(`/v1/marketdata/orderBook?sku=${sku}&outletId=api-north`)).body;
      const own = outlets[0]!.o.engine.depth(sku)!;
      expect(one.inflow).toEqual(own.inflow);
      expect(one.outflow).toEqual(own.outflow);
      for (const resolution of ["1m", "5m", "1h", "1w", "1mo"] as const) {
        const snap = (await call(`/v1/marketdata/snapshot?sku=${sku}&resolution=${resolution}`)).body;
        expect(snap.candles).toEqual(hub.candles(sku, resolution, 0, Number.MAX_SAFE_INTEGER));
      }
      const trades = (await call(`/v1/marketdata/trades?sku=${sku}&limit=3`)).body;
      expect(trades.trades).toHaveLength(3);
      expect(trades.trades.at(-1).seq).toBe(trades.seq);
    }
    expect((await call("/v1/marketdata/orderBook?sku=NOPE")).status).toBe(404);
    expect((await call("/v1/marketdata/snapshot?sku=SKU-001&resolution=2m")).status).toBe(400);
  });

  it("SSE /v1/stream: the current picture, then live trades, depth and stock of the followed skus", async () => {
    const controller = new AbortController();
    const res = await fetch(`${hq.url}/v1/stream?skus=SKU-002`, {
      headers: { authorization: `Bearer ${reader}` },
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const reader$ = res.body!.getReader();
    let text = "";
    const until = async (pattern: RegExp) => {
      while (!pattern.test(text)) {
        const { value, done } = await reader$.read();
        if (done) throw new Error("stream ended");
        text += new TextDecoder().decode(value);
      }
    };
    await until(/event: depth/);
    expect(text).toMatch(/event: outlet/);
    expect(text).toMatch(/event: stock\ndata: \{"sku":"SKU-002"/);
    // A sale of SKU-002 at the north outlet.
    const { o } = outlets[0]!;
    const pub = new StreamPublisher(nc, o.outletId);
    pub.subjectSeq = await lastSubjectSeq(o.outletId);
    const more = [
      ...o.exec(
        { type: "order.place", accountId: "supplier", sku: "SKU-002", side: "inflow", price: 50, quantity: 5 },
        "supplier",
      ),
      ...o.exec(
        {
          type: "order.place",
          accountId: "kiosk-0",
          sku: "SKU-002",
          side: "outflow",
          price: 60,
          quantity: 2,
          timeInForce: "IOC",
        },
        "kiosk-0",
      ),
    ];
    await pub.publish(more);
    await until(/event: trade\ndata: \{"seq":\d+,"sku":"SKU-002","outletId":"api-north"/);
    await until(/event: stock\ndata: \{"sku":"SKU-002"[^\n]*\n\n[\s\S]*event: stock/);
    controller.abort();
  });
});

describe("tracing", () => {
  it("each message's apply span continues the trace of its traceparent header", () => {
    const spans = exporter.getFinishedSpans().filter((s) => s.name === "hq.apply");
    expect(spans.length).toBeGreaterThan(0);
    // The test publisher sends traceparent 00-abab…ab-cdcd…cd-01.
    for (const s of spans.slice(0, 5)) {
      expect(s.spanContext().traceId).toBe("ab".repeat(16));
      expect(s.parentSpanContext?.spanId).toBe("cd".repeat(8));
      expect(s.attributes["messaging.destination.name"]).toMatch(/^stockroom\.events\./);
    }
  });
});

async function lastSubjectSeq(outletId: string): Promise<number> {
  const jsm = await jetstreamManager(nc);
  const m = await jsm.streams.getMessage("STOCKROOM_EVENTS", { last_by_subj: `stockroom.events.${outletId}` });
  return m?.seq ?? 0;
}
