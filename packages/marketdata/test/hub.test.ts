import type { EngineEvent, EventEnvelope } from "@stockroom/contracts";
import { describe, expect, it } from "vitest";
import { MarketDataHub, mergeDepth } from "../src/index.ts";
import { rested, trade } from "./events.ts";

const T0 = Date.parse("2024-05-06T10:00:00Z");

/** Envelopes of several outlets, numbered per outlet (hashes are not checked here). */
function outlets() {
  const seqs = new Map<string, number>();
  return (outletId: string, ts: number, payload: EngineEvent): EventEnvelope => {
    const seq = (seqs.get(outletId) ?? 0) + 1;
    seqs.set(outletId, seq);
    const hash = "0".repeat(64);
    return { v: 1, outletId, seq, ts, type: payload.type, actor: "a", prevHash: hash, hash, payload };
  };
}

describe("hub", () => {
  it("keeps outlets apart and merges their depth per sku", () => {
    const hub = new MarketDataHub();
    const env = outlets();
    const updates = hub.feed(env("north", T0, rested(1, "inflow", 10, 5)));
    expect(updates).toEqual([
      {
        outletId: "north",
        type: "depth",
        sku: "X",
        seq: 1,
        ts: T0,
        changes: [{ side: "inflow", price: 10, quantity: 5, held: 0, orders: 1 }],
      },
    ]);
    // Order ids repeat across outlets: each outlet has its own book.
    hub.feed(env("south", T0, rested(1, "inflow", 10, 3)));
    hub.feed(env("south", T0, rested(2, "inflow", 11, 1)));
    hub.feed(env("south", T0, rested(3, "outflow", 4, 2)));
    expect(hub.depth("X")).toEqual({
      sku: "X",
      inflow: [
        { price: 10, quantity: 8, held: 0, orders: 2 },
        { price: 11, quantity: 1, held: 0, orders: 1 },
      ],
      outflow: [{ price: 4, quantity: 2, held: 0, orders: 1 }],
    });
    expect(hub.depth("X", 1).inflow).toHaveLength(1);
    expect(hub.outlet("north")?.depth("X").inflow).toEqual([{ price: 10, quantity: 5, held: 0, orders: 1 }]);
    expect(hub.outletIds()).toEqual(["north", "south"]);
    expect(mergeDepth("X", [])).toEqual({ sku: "X", inflow: [], outflow: [] });
  });

  it("merges candles by trade time and survives a snapshot", () => {
    const hub = new MarketDataHub();
    const env = outlets();
    hub.feed(env("north", T0 + 10, trade(1, 100, 1)));
    hub.feed(env("south", T0 + 5, trade(1, 90, 2)));
    hub.feed(env("north", T0 + 50, trade(2, 95, 3)));
    hub.feed(env("south", T0 + 61_000, trade(2, 80, 1)));
    const candles = hub.candles("X", "1m", T0, T0 + 120_000);
    expect(
      candles.map(({ start, open, high, low, close, volume, trades }) => [
        start - T0,
        open,
        high,
        low,
        close,
        volume,
        trades,
      ]),
    ).toEqual([
      [0, 90, 100, 90, 95, 6, 3],
      [60_000, 80, 80, 80, 80, 1, 1],
    ]);
    const restored = MarketDataHub.restore(JSON.parse(JSON.stringify(hub.snapshot())));
    expect(restored.snapshot()).toEqual(hub.snapshot());
    expect(restored.candles("X", "1m", T0, T0 + 120_000)).toEqual(candles);
    // A redelivered envelope changes nothing.
    expect(restored.feed({ ...env("north", T0, trade(9, 1, 1)), seq: 2 })).toEqual([]);
  });
});
