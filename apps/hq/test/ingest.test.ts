import { jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { EventEnvelope } from "@stockroom/contracts";
import { stockDigest } from "@stockroom/engine";
import { EVENTS_STREAM } from "@stockroom/service";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type NatsServer, startNatsServer } from "../../../test/support/nats-server.ts";
import type { RunningHq } from "../src/hq.ts";
import { executions, inventory, orders } from "../src/queries.ts";
import { removeTempDirs, startTestHq, waitFor } from "./support/harness.ts";
import { ensureStream, SimOutlet, StreamPublisher, Workload } from "./support/publisher.ts";

let nats: NatsServer;
let nc: NatsConnection;
let hq: RunningHq;

beforeAll(async () => {
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
  await ensureStream(nc);
  hq = await startTestHq(nats.url, { consumer: "hq-ingest" });
  await hq.consuming;
});
afterAll(async () => {
  await hq?.stop();
  await nc?.close();
  await nats?.stop();
  removeTempDirs();
});

const agg = () => hq.services.aggregator;
const status = (outletId: string) => hq.services.board.describe(outletId);
const appliedTo = (o: SimOutlet, seq = o.seq) =>
  waitFor(() => (agg().outlets.get(o.outletId)?.appliedSeq ?? 0) >= seq, `${o.outletId} applied to ${seq}`);

/** A fresh outlet with its catalog and accounts, published. */
async function outlet(id: string, seed = 1, options?: { skus?: number }) {
  const o = new SimOutlet(id);
  const w = new Workload(o, seed, options);
  const pub = new StreamPublisher(nc, id);
  await pub.publish(w.setup());
  return { o, w, pub };
}

describe("applying outlets' events", () => {
  it("applies two outlets under concurrent publishing in order: replicas, totals, executions and orders equal the outlets'", async () => {
    const outlets = await Promise.all([outlet("north", 11), outlet("south", 12)]);
    for (let round = 0; round < 4; round++) {
      await Promise.all(outlets.map(({ w, pub }) => pub.publish(w.run(1_500, 400), 40 + round * 150)));
    }
    for (const { o } of outlets) await appliedTo(o);
    for (const { o } of outlets) {
      const st = agg().outlets.get(o.outletId)!;
      expect(st.engine.stockRows()).toEqual(o.engine.stockRows());
      expect(st.engine.digest()).toBe(o.engine.digest());
      expect(status(o.outletId).reconciliation.state).toBe("in_sync");
      expect(status(o.outletId).reconciliation.checkpointOk).toBe(true);
    }
    const rows = new Map(inventory(agg()).map((r) => [r.sku, r]));
    for (const [sku] of outlets[0]!.o.engine.stockRows()) {
      const parts = outlets.map(({ o }) => o.engine.stock(sku)!);
      const row = rows.get(sku)!;
      expect(row).toMatchObject({
        available: parts.reduce((s, x) => s + x.available, 0),
        held: parts.reduce((s, x) => s + x.held, 0),
        onHand: parts.reduce((s, x) => s + x.onHand, 0),
        demand: parts.reduce((s, x) => s + x.demand, 0),
      });
      expect(row.outlets.map((x) => x.outletId)).toEqual(["north", "south"]);
    }
    for (const { o } of outlets) {
      const fills = o.log.filter((e) => e.payload.type === "execution");
      // Applied in memory comes first; the history is there once the writer thread has committed.
      const stored = await waitFor(() => {
        const rows = executions(hq.services.db, { outletId: o.outletId, limit: 100_000, order: "asc" });
        return rows.length >= fills.length ? rows : null;
      }, `${o.outletId}'s executions committed`);
      expect(stored.map((x) => x.execId)).toEqual(fills.map((e) => (e.payload as { execId: number }).execId));
      expect(stored.map((x) => [x.seq, x.ts, x.sku, x.price, x.quantity])).toEqual(
        fills.map((e) => {
          const p = e.payload as { sku: string; price: number; quantity: number };
          return [e.seq, e.ts, p.sku, p.price, p.quantity];
        }),
      );
      // Every order the outlet accepted, with its final state: still resting (remaining as the
      // engine says) or finished.
      const accepted = o.log.filter((e) => e.payload.type === "order.accepted").length;
      const stOrders = orders(hq.services.db, { outletId: o.outletId, limit: 100_000, order: "asc" });
      expect(stOrders).toHaveLength(accepted);
      for (const row of stOrders) {
        const live = o.engine.order(row.orderId);
        if (live) {
          expect(row.remaining).toBe(live.remaining);
          expect(row.status).toBe("resting");
          expect(row.filled).toBe(live.quantity - live.remaining - reducedBy(o.log, row.orderId));
        } else {
          expect(["filled", "cancelled"]).toContain(row.status);
          expect(row.remaining).toBe(0);
        }
      }
    }
  });

  it("ignores redeliveries and duplicate runs: nothing is applied twice", async () => {
    const { o, w, pub } = await outlet("dupes", 21);
    const events = w.run(600);
    await pub.publish(events, 100);
    await appliedTo(o);
    const fills = () => executions(hq.services.db, { outletId: "dupes", limit: 100_000, order: "asc" }).length;
    await waitFor(() => fills() === o.log.filter((e) => e.type === "execution").length, "fills committed");
    const before = { fills: fills(), digest: agg().outlets.get("dupes")!.engine.digest() };
    // The same runs again, overlapping and whole (the whole log ends where the last run did: same
    // message id, which JetStream drops; so it goes again under another id, as a replay would).
    await pub.publish(o.log.slice(100, 400), 50);
    const seqBefore = pub.subjectSeq;
    await pub.publish(o.log);
    expect(pub.subjectSeq).toBe(seqBefore);
    await pub.publishRaw(JSON.stringify(o.log), 1, o.seq, "dupes:replay");
    const replayed = 300 + o.seq;
    // A redelivery straight into the aggregator.
    const redelivered = {
      subject: "stockroom.events.dupes",
      streamSeq: 0,
      data: new TextEncoder().encode(JSON.stringify(o.log.slice(0, 50))),
    };
    const { outcomes, committed } = agg().applyBatch([redelivered]);
    await committed;
    expect(outcomes).toEqual(["skipped"]);
    // Then new events, to be sure the duplicates were consumed before them.
    await pub.publish(w.run(50));
    await appliedTo(o);
    await waitFor(() => fills() === o.log.filter((e) => e.type === "execution").length, "new fills committed");
    expect(fills()).toBeGreaterThanOrEqual(before.fills);
    expect(agg().outlets.get("dupes")!.engine.digest()).toBe(o.engine.digest());
    expect(status("dupes").reconciliation.state).toBe("in_sync");
    expect(Number((await hq.services.metrics.eventsSkipped.get()).values[0]?.value)).toBeGreaterThanOrEqual(
      replayed + 50,
    );
  });

  it("saves a replica asked for while a batch is open only once the batch's writes are handed over", async () => {
    const { o, w, pub } = await outlet("saver", 81);
    await pub.publish(w.run(100));
    await appliedTo(o);
    const st = agg().outlets.get("saver")!;
    const message = {
      subject: "stockroom.events.saver",
      streamSeq: 0,
      data: new TextEncoder().encode(JSON.stringify(w.run(20))),
    };
    const open = agg().beginBatch();
    expect(open.apply(message)).toBe("applied");
    expect(st.appliedSeq).toBe(o.seq);
    // Saved now, the replica would be ahead of the effects the database holds.
    expect(agg().maybeSnapshot(st, Date.now(), true)).toBe(false);
    expect(st.snapSeq).toBeLessThan(o.seq);
    await open.end();
    expect(st.snapSeq).toBe(o.seq);
  });

  it("starts its durable consumer again when it is deleted under it, and goes on applying", async () => {
    const { o, w, pub } = await outlet("orphan", 71);
    await pub.publish(w.run(100));
    await appliedTo(o);
    await (await jetstreamManager(nc)).consumers.delete(EVENTS_STREAM, "hq-ingest");
    await pub.publish(w.run(100));
    await appliedTo(o);
    expect(agg().outlets.get("orphan")!.engine.digest()).toBe(o.engine.digest());
    expect(status("orphan").reconciliation.state).toBe("in_sync");
  });

  it("reports a missing sequence number as a gap, and applies nothing past it", async () => {
    const { o, w, pub } = await outlet("gappy", 31);
    await pub.publish(w.run(100));
    await appliedTo(o);
    const applied = o.seq;
    const lost = w.run(5); // never published
    const after = w.run(20);
    await pub.publish(after);
    const s = await waitFor(() => {
      const x = status("gappy");
      return x.reconciliation.state === "diverged" ? x : null;
    }, "gap reported");
    expect(s.reconciliation.reason).toBe("gap");
    expect(s.reconciliation.detail).toBe(`expected seq ${applied + 1}, got ${lost.length + applied + 1}`);
    expect(s.appliedSeq).toBe(applied);
    expect(s.reconciliation.halted).toMatchObject({ kind: "gap", seq: applied + 1 });
    const metrics = await waitFor(async () => {
      const text = await hq.services.metrics.registry.metrics();
      return /stockroom_hq_outlet_diverged\{outlet="gappy"\} 1/.test(text) ? text : null;
    }, "diverged gauge");
    expect(metrics).toMatch(/stockroom_hq_gaps_total\{outlet="gappy"\} 1/);
  });

  it("reports a forged event (its hash does not match its content) as diverged and stops there", async () => {
    const { o, w, pub } = await outlet("forger", 41);
    await pub.publish(w.run(50));
    await appliedTo(o);
    const applied = o.seq;
    const next = w.run(10);
    const forged = next.map((e, i): EventEnvelope => {
      if (i !== 0) return e;
      const payload = structuredClone(e.payload) as { type: string; quantity?: number };
      if ("quantity" in payload) payload.quantity = (payload.quantity ?? 0) + 1000;
      else (payload as { type: string; extra?: number }).extra = 1;
      return { ...e, payload: payload as EventEnvelope["payload"] };
    });
    await pub.publishRaw(JSON.stringify(forged), forged[0]!.seq, forged.at(-1)!.seq);
    const s = await waitFor(() => {
      const x = status("forger");
      return x.reconciliation.state === "diverged" ? x : null;
    }, "forgery reported");
    expect(s.reconciliation.reason).toBe("chain");
    expect(s.reconciliation.detail).toContain(`event ${applied + 1}: hash does not match`);
    expect(s.appliedSeq).toBe(applied);
    expect(agg().outlets.get("forger")!.engine.digest()).not.toBe(o.engine.digest());
  });

  it("a checkpoint whose stock differs from HQ's view is diverged, naming the sku; a matching one is in sync", async () => {
    const { o, w, pub } = await outlet("drift", 51);
    await pub.publish([...w.run(300), ...o.checkpoint()]);
    await appliedTo(o);
    let s = status("drift");
    expect(s.reconciliation).toMatchObject({
      state: "in_sync",
      checkpointSeq: o.seq,
      checkpointOk: true,
      verifiedSeq: o.seq,
    });

    // The outlet's stock was altered behind its engine's back: its checkpoint says so.
    const stock = o.engine.stockRows().map((r) => [...r] as typeof r);
    const row = stock.find((r) => r[0] === "SKU-007")!;
    row[1] += 5;
    row[3] += 5;
    await pub.publish([o.append({ type: "outlet.checkpoint", stock, digest: stockDigest(stock) })]);
    s = await waitFor(() => {
      const x = status("drift");
      return x.reconciliation.state === "diverged" ? x : null;
    }, "divergence reported");
    expect(s.reconciliation).toMatchObject({
      reason: "checkpoint",
      divergedSkus: ["SKU-007"],
      checkpointSeq: o.seq,
      checkpointOk: false,
      verifiedSeq: o.seq - 1,
    });
    expect(s.since).toBeTypeOf("number");
    expect(await hq.services.metrics.registry.metrics()).toMatch(
      /stockroom_hq_divergences_total\{outlet="drift",kind="checkpoint"\} 1/,
    );
    // Events go on being applied, and the next honest checkpoint matches again.
    await pub.publish([...w.run(100), ...o.checkpoint()]);
    await appliedTo(o);
    s = status("drift");
    expect(s.reconciliation).toMatchObject({
      state: "in_sync",
      checkpointOk: true,
      verifiedSeq: o.seq,
      divergedSkus: [],
    });
  });

  it("reports an outlet lagging by N events (and since when) from its heartbeat, then in sync", async () => {
    const { o, w, pub } = await outlet("laggard", 61);
    const kv = await new Kvm(nc).create("stockroom-outlets", { history: 1 });
    await pub.publish(w.run(200));
    await appliedTo(o);
    const published = o.seq;
    const queued = w.run(300); // committed at the outlet, not yet replicated
    await kv.put(
      "laggard",
      JSON.stringify({
        outletId: "laggard",
        lastSeq: o.seq,
        replicatedSeq: published,
        lag: o.seq - published,
        ts: Date.now(),
        url: "http://laggard",
      }),
    );
    const lagging = await waitFor(() => {
      const x = status("laggard");
      return x.reconciliation.state === "lagging" ? x : null;
    }, "lagging reported");
    expect(lagging).toMatchObject({
      lag: queued.length,
      lastSeq: o.seq,
      appliedSeq: published,
      online: true,
      url: "http://laggard",
    });
    expect(lagging.since).toBeTypeOf("number");
    expect(lagging.reconciliation.lag).toBe(queued.length);
    await pub.publish(queued);
    await appliedTo(o);
    const s = status("laggard");
    expect(s).toMatchObject({ lag: 0, since: null });
    expect(s.reconciliation.state).toBe("in_sync");
  });
});

function reducedBy(log: readonly EventEnvelope[], orderId: number): number {
  let by = 0;
  for (const e of log) if (e.payload.type === "order.reduced" && e.payload.orderId === orderId) by += e.payload.by;
  return by;
}
