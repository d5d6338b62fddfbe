// The chain end to end: real outlet nodes (HTTP, SQLite, replicator), a real nats-server and HQ.
// What HQ ends up with must equal what each outlet itself says, whatever was cut off meanwhile.
import { rmSync } from "node:fs";
import { Command, type EventEnvelope } from "@stockroom/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { executions, inventory } from "../../apps/hq/src/queries.ts";
import type { OutletStatus } from "../../apps/hq/src/status.ts";
import { removeTempDirs, startTestHq, tempDir, waitFor } from "../../apps/hq/test/support/harness.ts";
import { loadConfig } from "../../apps/outlet/src/config.ts";
import { startOutlet } from "../../apps/outlet/src/node.ts";
import { type Client, startNode, type TestNode } from "../../apps/outlet/test/harness.ts";
import { type NatsServer, startNatsServer } from "../support/nats-server.ts";

type Hq = Awaited<ReturnType<typeof startTestHq>>;

const SKUS = ["LAMP-1", "LAMP-2", "CHAIR-1", "DESK-1", "RUG-1"];

let nats: NatsServer;
let hq: Hq;
const nodes: TestNode[] = [];
/** Every status HQ's board reported, in order (the board re-evaluates on each heartbeat). */
const seen: OutletStatus[] = [];

beforeAll(async () => {
  nats = await startNatsServer();
  hq = await startTestHq(nats.url);
  const board = hq.services.board;
  const forward = board.onChange;
  board.onChange = (s) => {
    seen.push(s);
    forward(s);
  };
});

afterAll(async () => {
  for (const n of nodes) await n.close().catch(() => {});
  await hq?.stop();
  await nats?.stop();
  removeTempDirs();
});

/** A real outlet node replicating to the suite's NATS, with the demo skus and funded kiosks. */
async function outlet(outletId: string): Promise<{ node: TestNode; kiosks: Client[] }> {
  const node = await startNode({ outletId, natsUrl: nats.url, checkpointEveryEvents: 250 });
  nodes.push(node);
  for (const sku of SKUS) await node.product(sku);
  const kiosks = await Promise.all(
    [1, 2, 3, 4].map((i) => node.account(`kiosk-${i}`, { role: "kiosk", deposit: 1_000_000_000 })),
  );
  return { node, kiosks };
}

/** A seeded stream of kiosk requests: receipts, sales (GTC and IOC) and cancels of its own orders. */
async function kioskLoad(kiosk: Client, seed: number, requests: number): Promise<number[]> {
  let x = seed;
  // mulberry32: small, seeded, and its low bits are as random as its high ones.
  const rand = (n: number) => {
    x = (x + 0x6d2b79f5) | 0;
    let t = Math.imul(x ^ (x >>> 15), 1 | x);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) % n;
  };
  const statuses: number[] = [];
  const resting: number[] = [];
  for (let i = 0; i < requests; i++) {
    if (resting.length > 0 && rand(6) === 0) {
      const res = await kiosk.delete(`/v1/orders/${resting.splice(rand(resting.length), 1)[0]}`);
      // A resting order may have filled meanwhile: 404 says so and changes nothing.
      statuses.push(res.status === 404 ? 200 : res.status);
      continue;
    }
    const inflow = rand(2) === 0;
    const res = await kiosk.post("/v1/transact", {
      sku: SKUS[rand(SKUS.length)],
      side: inflow ? "inflow" : "outflow",
      price: 95 + rand(10),
      quantity: 1 + rand(5),
      timeInForce: rand(4) === 0 ? "IOC" : "GTC",
    });
    statuses.push(res.status);
    if (res.body?.status === "resting") resting.push(res.body.orderId);
  }
  return statuses;
}

function applied(outletId: string): number {
  return hq.services.aggregator.outlets.get(outletId)?.appliedSeq ?? 0;
}

/** Sequences a checkpoint at the outlet and waits until HQ has applied (and judged) it. */
async function checkpoint(node: TestNode): Promise<OutletStatus> {
  const [env] = await node.submit({ type: "checkpoint" });
  await waitFor(() => applied(node.config.outletId) >= env!.seq, `HQ at ${node.config.outletId}:${env!.seq}`, 60_000);
  return hq.services.board.describe(node.config.outletId);
}

/** HQ's view of one outlet equals the outlet's own: stock per sku, replica digest, executions. */
function expectSameAsOutlet(node: TestNode): void {
  const outletId = node.config.outletId;
  const engine = node.services.engine;
  expect(applied(outletId)).toBe(node.services.writer.lastSeq);
  expect(hq.services.aggregator.outlets.get(outletId)!.engine.digest()).toBe(engine.digest());
  for (const sku of SKUS) {
    const [row] = inventory(hq.services.aggregator, { sku });
    const { sku: _sku, ...own } = engine.stock(sku)!;
    expect(row!.outlets.find((o) => o.outletId === outletId)).toMatchObject(own);
  }
  const fills = node.eventsAfter(0).filter((e: EventEnvelope) => e.payload.type === "execution");
  const stored = executions(hq.services.db, { outletId, limit: 1_000_000, order: "asc" });
  expect(stored.map((r) => [r.execId, r.seq, r.sku, r.price, r.quantity])).toEqual(
    fills.map((e) => {
      const p = e.payload as { execId: number; sku: string; price: number; quantity: number };
      return [p.execId, e.seq, p.sku, p.price, p.quantity];
    }),
  );
}

describe("outlets → NATS → HQ", () => {
  let north: Awaited<ReturnType<typeof outlet>>;
  let south: Awaited<ReturnType<typeof outlet>>;

  it("two outlets under concurrent kiosk load: HQ's stock per sku and outlet, executions and reconciliation match", async () => {
    [north, south] = await Promise.all([outlet("north"), outlet("south")]);
    const statuses = await Promise.all(
      [north, south].flatMap(({ kiosks }, o) => kiosks.map((k, i) => kioskLoad(k, 1 + o * 10 + i, 150))),
    );
    expect(new Set(statuses.flat())).toEqual(new Set([200, 201]));
    for (const { node } of [north, south]) {
      const status = await checkpoint(node);
      expect(status.reconciliation).toMatchObject({ state: "in_sync", checkpointOk: true, divergedSkus: [] });
      expectSameAsOutlet(node);
    }
    // Chain-wide totals are the sum of the outlets' own numbers.
    for (const sku of SKUS) {
      const [row] = inventory(hq.services.aggregator, { sku });
      const a = north.node.services.engine.stock(sku)!;
      const b = south.node.services.engine.stock(sku)!;
      expect(row).toMatchObject({ onHand: a.onHand + b.onHand, demand: a.demand + b.demand, held: a.held + b.held });
    }
    // The load did trade: HQ's history has every outlet's fills.
    for (const outletId of ["north", "south"]) {
      expect(executions(hq.services.db, { outletId, limit: 10, order: "desc" }).length).toBeGreaterThan(0);
    }
  });

  it("NATS killed mid-load and restarted: every kiosk request answered; afterwards every event at HQ exactly once", async () => {
    const load = Promise.all(
      [north, south].flatMap(({ kiosks }, o) => kiosks.map((k, i) => kioskLoad(k, 100 + o * 10 + i, 200))),
    );
    const before = north.node.services.writer.lastSeq;
    await waitFor(() => north.node.services.writer.lastSeq > before + 100, "load under way");
    await nats.kill();
    const seqAtKill = north.node.services.writer.lastSeq;
    await new Promise((r) => setTimeout(r, 1_500));
    // The outlets kept committing with NATS gone.
    expect(north.node.services.writer.lastSeq).toBeGreaterThan(seqAtKill);
    await nats.restart();
    const statuses = await load;
    expect(new Set(statuses.flat())).toEqual(new Set([200, 201]));
    for (const { node } of [north, south]) {
      const status = await checkpoint(node);
      expect(status.reconciliation.state).toBe("in_sync");
      expectSameAsOutlet(node);
    }
  });

  it("an outlet offline for 10,000+ events comes back, reports its lag while behind and catches up in order", async () => {
    const dataDir = tempDir("stockroom-system-east-");
    const config = (natsUrl?: string) =>
      loadConfig({}, { outletId: "east", dataDir, port: 0, natsUrl, tickEveryMs: 0, logLevel: "silent" });
    const online = await startOutlet(config(nats.url));
    await online.services.writer.submit(
      Command.parse({ type: "product.add", sku: "LAMP-1", name: "Lamp", brand: "Acme" }),
      "t",
    );
    await waitFor(() => applied("east") === online.services.writer.lastSeq, "east's first events at HQ");
    await online.stop();

    const offline = await startOutlet(config());
    const w = offline.services.writer;
    await w.submit({ type: "account.create", accountId: "till", role: "kiosk", name: "till" }, "t");
    await w.submit({ type: "account.kyc", accountId: "till", kyc: "verified" }, "t");
    await w.submit({ type: "wallet.deposit", accountId: "till", amount: 1_000_000_000 }, "t");
    for (let i = 0; i < 5_000; i++) {
      const order = (side: "inflow" | "outflow") =>
        Command.parse({ type: "order.place", accountId: "till", sku: "LAMP-1", side, price: 100, quantity: 1 });
      void w.submit(order("inflow"), "till");
      void w.submit(order("outflow"), "till");
    }
    await w.submit({ type: "checkpoint" }, "t");
    await offline.stop();
    // Read once stopped: the node may still have committed a checkpoint of its own after ours.
    const lastSeq = w.lastSeq;
    expect(lastSeq - applied("east")).toBeGreaterThanOrEqual(10_000);

    const back = await startOutlet(config(nats.url));
    try {
      await waitFor(() => applied("east") === lastSeq, "east caught up", 60_000);
      const lagging = seen.filter((s) => s.outletId === "east" && s.reconciliation.state === "lagging");
      expect(lagging.length).toBeGreaterThan(0);
      expect(Math.max(...lagging.map((s) => s.lag))).toBeGreaterThan(1_000);
      await waitFor(() => hq.services.board.describe("east").reconciliation.state === "in_sync", "east in sync");
      // Applied strictly in order up to the outlet's last seq: the replica is the outlet's state.
      expect(hq.services.aggregator.outlets.get("east")!.engine.digest()).toBe(back.services.engine.digest());
      expect(hq.services.board.describe("east").reconciliation.checkpointSeq).toBe(lastSeq);
    } finally {
      await back.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("stock altered behind the engine's back is reported diverged at the next checkpoint, naming the sku", async () => {
    // A write that bypasses the sequencer: the outlet's state no longer follows from its log.
    const product = (
      north.node.services.engine as unknown as { products: Map<string, { book: { inflow: { remaining: number } } }> }
    ).products.get("DESK-1")!;
    product.book.inflow.remaining += 7;
    const status = await checkpoint(north.node);
    expect(status.reconciliation).toMatchObject({
      state: "diverged",
      reason: "checkpoint",
      checkpointOk: false,
      divergedSkus: ["DESK-1"],
    });
    const res = await fetch(`${hq.url}/v1/outlets/north`, {
      headers: { authorization: `Bearer ${hq.services.keys.issue("system-test").apiKey}` },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as OutletStatus;
    expect(body.reconciliation).toMatchObject({ state: "diverged", divergedSkus: ["DESK-1"] });
    // The other outlet is not affected.
    expect((await checkpoint(south.node)).reconciliation.state).toBe("in_sync");
  });
});
