import type { EngineEvent, EventEnvelope } from "@stockroom/contracts";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MarketData, type MarketDataSnapshot, RESOLUTIONS, type Update } from "../src/index.ts";
import { run, SKUS, script } from "./engine-run.ts";
import { holdPlaced, rested, trade } from "./events.ts";

const viaJson = (s: MarketDataSnapshot): MarketDataSnapshot => JSON.parse(JSON.stringify(s));

function view(md: MarketData) {
  return SKUS.map((sku) => ({
    depth: md.depth(sku),
    trades: md.trades(sku),
    candles: RESOLUTIONS.map((r) => md.candles(sku, r, 0, Number.MAX_SAFE_INTEGER)),
  }));
}

describe("snapshot and restore", () => {
  it("round-trips through JSON to an equal state", () => {
    const md = new MarketData({ maxCandles: 3 });
    const events: EngineEvent[] = [rested(1, "inflow", 10, 5), rested(2, "inflow", 11, 2), holdPlaced("h", [[1, 2]])];
    for (const e of events) md.feed(e, 0);
    for (let i = 0; i < 10; i++) md.feed(trade(i + 1, 100 + i, 1), i * 60_000);
    const restored = MarketData.restore(viaJson(md.snapshot()), { maxCandles: 3 });
    expect(restored.snapshot()).toEqual(md.snapshot());
    expect(view(restored)).toEqual(view(md));
    // The hold is remembered: its release gives the units back the same way on both.
    const release: EngineEvent = { type: "hold.released", holdId: "h", reason: "cancelled" };
    expect(restored.feed(release, 600_000)).toEqual(md.feed(release, 600_000));
  });

  it("restores into smaller bounds keeping the newest items", () => {
    const md = new MarketData();
    for (let i = 0; i < 10; i++) md.feed(trade(i + 1, 100 + i, 1), i * 60_000);
    const small = MarketData.restore(md.snapshot(), { maxCandles: 2, maxTrades: 3 });
    expect(small.candles("X", "1m", 0, Number.MAX_SAFE_INTEGER).map((c) => c.open)).toEqual([108, 109]);
    expect(small.trades("X").map((t) => t.execId)).toEqual([8, 9, 10]);
  });

  it("a restored copy behaves exactly like the original on the rest of the log", () => {
    fc.assert(
      fc.property(script, fc.nat(), (commands, cutAt) => {
        const steps = run(commands).steps.flatMap(({ ts, events }) => events.map((e) => [e, ts] as const));
        const cut = cutAt % (steps.length + 1);
        const original = new MarketData({ maxCandles: 4, maxTrades: 5 });
        for (const [e, ts] of steps.slice(0, cut)) original.feed(e, ts);
        const copy = MarketData.restore(viaJson(original.snapshot()), { maxCandles: 4, maxTrades: 5 });
        const a: Update[] = [];
        const b: Update[] = [];
        for (const [e, ts] of steps.slice(cut)) {
          a.push(...original.feed(e, ts));
          b.push(...copy.feed(e, ts));
        }
        expect(b).toEqual(a);
        expect(copy.snapshot()).toEqual(original.snapshot());
      }),
      { numRuns: 100 },
    );
  });
});

describe("envelopes", () => {
  const envelope = (seq: number, payload: EngineEvent): EventEnvelope => ({
    v: 1,
    outletId: "o1",
    seq,
    ts: seq * 1_000,
    type: payload.type,
    actor: "system",
    prevHash: "0".repeat(64),
    hash: "0".repeat(64),
    payload,
  });

  it("ignore redeliveries, refuse gaps and remember the last seq across a snapshot", () => {
    const md = new MarketData();
    expect(md.feedEnvelope(envelope(1, rested(1, "inflow", 10, 5)))).toHaveLength(1);
    expect(md.feedEnvelope(envelope(1, rested(1, "inflow", 10, 5)))).toEqual([]);
    expect(() => md.feedEnvelope(envelope(3, rested(2, "inflow", 10, 5)))).toThrow(/expected seq 2/);
    const restored = MarketData.restore(viaJson(md.snapshot()));
    expect([restored.lastSeq, restored.lastTs]).toEqual([1, 1_000]);
    expect(restored.feedEnvelope(envelope(2, trade(1, 10, 2)))[0]).toMatchObject({ type: "trade" });
    expect(restored.depth("X").inflow).toEqual([{ price: 10, quantity: 5, held: 0, orders: 1 }]);
  });
});
