// Market data on NATS core subjects: every trade once and in order, per-stream sequence numbers,
// and a subscriber that loses messages resyncs through the snapshot subject.
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { EventEnvelope, EventOf } from "@stockroom/contracts";
import { MarketDataHub } from "@stockroom/marketdata";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type NatsServer, startNatsServer } from "../../../test/support/nats-server.ts";
import type { RunningHq } from "../src/hq.ts";
import {
  candlesSubject,
  depthSubject,
  MD_SNAPSHOT_SUBJECT,
  type SnapshotRequest,
  type TradeMessage,
  tradesSubject,
} from "../src/marketdata/publisher.ts";
import { removeTempDirs, startTestHq, waitFor } from "./support/harness.ts";
import { ensureStream, SimOutlet, StreamPublisher, Workload } from "./support/publisher.ts";

let nats: NatsServer;
let nc: NatsConnection;
let hq: RunningHq;

beforeAll(async () => {
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
  await ensureStream(nc);
  hq = await startTestHq(nats.url, { consumer: "hq-md" });
  await hq.consuming;
});
afterAll(async () => {
  await hq?.stop();
  await nc?.close();
  await nats?.stop();
  removeTempDirs();
});

interface Level {
  price: number;
  quantity: number;
  held: number;
  orders: number;
}
interface Snapshot {
  sku: string;
  trades: { seq: number; items: TradeMessage[] };
  depth: { seq: number; inflow: Level[]; outflow: Level[] };
  candles: Record<string, { seq: number; items: { start: number; volume: number; trades: number }[] }>;
  error?: string;
}

async function snapshot(req: SnapshotRequest): Promise<Snapshot> {
  const reply = await nc.request(MD_SNAPSHOT_SUBJECT, JSON.stringify(req), { timeout: 5_000 });
  return reply.json<Snapshot>();
}

/**
 * A subscriber as a client would write one: it follows a sku's trades and depth by seq; on a
 * gap it asks the snapshot subject for what it missed (trades after its last seq, the book).
 * `drop` simulates loss on the wire.
 */
class Follower {
  readonly trades: TradeMessage[] = [];
  tradeSeq = 0;
  depthSeq = 0;
  readonly book = { inflow: new Map<number, Level>(), outflow: new Map<number, Level>() };
  gaps = 0;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    readonly sku: string,
    private readonly drop: (subject: string, seq: number) => boolean = () => false,
  ) {}

  async start(): Promise<void> {
    const snap = await snapshot({ sku: this.sku, trades: 0 });
    this.tradeSeq = snap.trades.seq;
    this.loadBook(snap);
    for (const subject of [tradesSubject(this.sku), depthSubject(this.sku)]) {
      nc.subscribe(subject, {
        callback: (_e, msg) => {
          const body = msg.json<{ seq: number }>();
          if (this.drop(subject, body.seq)) return;
          this.chain = this.chain.then(() =>
            subject.endsWith(".trades") ? this.onTrade(body as TradeMessage) : this.onDepth(body as DepthMessage),
          );
        },
      });
    }
    await nc.flush();
  }

  private async onTrade(t: TradeMessage): Promise<void> {
    if (t.seq <= this.tradeSeq) return;
    if (t.seq > this.tradeSeq + 1) {
      this.gaps++;
      const snap = await snapshot({ sku: this.sku, afterTradeSeq: this.tradeSeq });
      for (const missed of snap.trades.items) if (missed.seq > this.tradeSeq) this.pushTrade(missed);
      if (t.seq <= this.tradeSeq) return;
    }
    this.pushTrade(t);
  }

  private pushTrade(t: TradeMessage): void {
    expect(t.seq).toBe(this.tradeSeq + 1);
    this.trades.push(t);
    this.tradeSeq = t.seq;
  }

  private async onDepth(d: DepthMessage): Promise<void> {
    if (d.seq <= this.depthSeq) return;
    if (d.seq > this.depthSeq + 1) {
      this.gaps++;
      this.loadBook(await snapshot({ sku: this.sku, trades: 0 }));
      if (d.seq <= this.depthSeq) return;
    }
    for (const c of d.changes) {
      if (c.quantity === 0) this.book[c.side].delete(c.price);
      else this.book[c.side].set(c.price, { price: c.price, quantity: c.quantity, held: c.held, orders: c.orders });
    }
    this.depthSeq = d.seq;
  }

  private loadBook(snap: Snapshot): void {
    this.depthSeq = snap.depth.seq;
    for (const side of ["inflow", "outflow"] as const) {
      this.book[side].clear();
      for (const l of snap.depth[side]) this.book[side].set(l.price, l);
    }
  }

  sorted(): { inflow: Level[]; outflow: Level[] } {
    return {
      inflow: [...this.book.inflow.values()].sort((a, b) => a.price - b.price),
      outflow: [...this.book.outflow.values()].sort((a, b) => b.price - a.price),
    };
  }

  settled(): Promise<void> {
    return this.chain;
  }
}

interface DepthMessage {
  seq: number;
  sku: string;
  changes: (Level & { side: "inflow" | "outflow" })[];
}

const fillsOf = (log: readonly EventEnvelope[], sku: string) =>
  log
    .filter((e): e is EventEnvelope & { payload: EventOf<"execution"> } => e.payload.type === "execution")
    .filter((e) => e.payload.sku === sku);

describe("market data on NATS", () => {
  it("a subscriber sees every trade once, in order, and the chain-wide book; a lossy one resyncs from the snapshot", async () => {
    const sku = "SKU-003";
    const outlets = ["md-a", "md-b"].map((id, i) => {
      const o = new SimOutlet(id);
      return { o, w: new Workload(o, 70 + i, { skus: 6 }), pub: new StreamPublisher(nc, id) };
    });
    for (const { w, pub } of outlets) await pub.publish(w.setup());
    await waitFor(
      () => outlets.every(({ o }) => hq.services.aggregator.outlets.get(o.outletId)?.appliedSeq === o.seq),
      "setup",
    );

    const clean = new Follower(sku);
    // Loses trades 5-9 and 30 and depth updates 12-14 on the wire.
    const lossy = new Follower(sku, (subject, seq) =>
      subject.endsWith(".trades") ? (seq >= 5 && seq <= 9) || seq === 30 : seq >= 12 && seq <= 14,
    );
    const candleSeqs: number[] = [];
    nc.subscribe(candlesSubject(sku, "1m"), {
      callback: (_e, msg) => {
        candleSeqs.push(msg.json<{ seq: number }>().seq);
      },
    });
    await clean.start();
    await lossy.start();

    for (let round = 0; round < 6; round++) {
      await Promise.all(outlets.map(({ w, pub }) => pub.publish(w.run(400), 30)));
    }
    for (const { o } of outlets) {
      await waitFor(
        () => hq.services.aggregator.outlets.get(o.outletId)?.appliedSeq === o.seq,
        `${o.outletId} applied`,
      );
    }
    const expected = outlets.flatMap(({ o }) => fillsOf(o.log, sku));
    expect(expected.length).toBeGreaterThan(40);
    await waitFor(
      () => clean.trades.length === expected.length && lossy.trades.length === expected.length,
      "every trade heard",
      10_000,
    );
    await clean.settled();
    await lossy.settled();

    // Once each, numbered 1..N, each outlet's fills in their own order.
    expect(clean.trades.map((t) => t.seq)).toEqual(expected.map((_, i) => i + 1));
    const key = (t: { outletId: string; execId: number }) => `${t.outletId}:${t.execId}`;
    expect(new Set(clean.trades.map(key)).size).toBe(expected.length);
    expect(clean.trades.map(key).sort()).toEqual(
      expected.map((e) => key({ outletId: e.outletId, execId: e.payload.execId })).sort(),
    );
    for (const { o } of outlets) {
      const mine = clean.trades.filter((t) => t.outletId === o.outletId);
      expect(mine.map((t) => [t.execId, t.price, t.quantity, t.ts])).toEqual(
        fillsOf(o.log, sku).map((e) => [e.payload.execId, e.payload.price, e.payload.quantity, e.ts]),
      );
    }
    // The lossy subscriber noticed its gaps and ended with exactly the same trades.
    expect(lossy.gaps).toBeGreaterThanOrEqual(3);
    expect(lossy.trades).toEqual(clean.trades);

    // Both books equal the outlets' engines merged, and HQ's own.
    const hub = new MarketDataHub();
    for (const { o } of outlets) for (const e of o.log) hub.feed(e);
    const merged = hub.depth(sku);
    expect(clean.sorted()).toEqual({ inflow: merged.inflow, outflow: merged.outflow });
    expect(lossy.sorted()).toEqual(clean.sorted());
    const snap = await snapshot({ sku, trades: 5, candles: 3, resolutions: ["1m", "1h"] });
    expect(snap.depth.seq).toBe(clean.depthSeq);
    expect(snap.trades).toEqual({ seq: expected.length, items: clean.trades.slice(-5) });
    expect(Object.keys(snap.candles)).toEqual(["1m", "1h"]);
    expect(snap.candles["1h"]!.items.reduce((s, c) => s + c.trades, 0)).toBeLessThanOrEqual(expected.length);

    // Candle messages are numbered 1..N too.
    await waitFor(() => candleSeqs.length === snap.candles["1m"]!.seq, "candle messages");
    expect(candleSeqs).toEqual(candleSeqs.map((_, i) => i + 1));

    expect((await snapshot({ sku: "" } as SnapshotRequest)).error).toBe("invalid snapshot request");
  });
});
