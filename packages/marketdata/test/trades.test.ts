import { describe, expect, it } from "vitest";
import { MarketData } from "../src/index.ts";
import { execution, rested, trade } from "./events.ts";

describe("trades", () => {
  it("are one per execution, with sku, price, quantity, ts, execId and aggressor", () => {
    const md = new MarketData();
    expect(md.feed(rested(1, "inflow", 10, 5), 100)).not.toContainEqual(expect.objectContaining({ type: "trade" }));
    const updates = md.feed(execution({ execId: 7, price: 10, quantity: 2, aggressor: "outflow" }), 200);
    expect(updates[0]).toEqual({
      type: "trade",
      trade: { sku: "X", price: 10, quantity: 2, ts: 200, execId: 7, aggressor: "outflow" },
    });
    md.feed(execution({ execId: 8, price: 10, quantity: 1, aggressor: "hold" }), 300);
    md.feed(execution({ execId: 9, price: 40, quantity: 1, aggressor: "inflow", sku: "Y" }), 300);
    expect(md.trades("X").map((t) => [t.execId, t.aggressor, t.ts])).toEqual([
      [7, "outflow", 200],
      [8, "hold", 300],
    ]);
    expect(md.trades("Y")).toHaveLength(1);
    expect(md.trades("Z")).toEqual([]);
    expect(md.skus()).toEqual(["X", "Y"]);
  });

  it("keep only the most recent maxTrades per sku", () => {
    const md = new MarketData({ maxTrades: 3 });
    for (let i = 1; i <= 10; i++) md.feed(trade(i, 5, 1), i);
    expect(md.trades("X").map((t) => t.execId)).toEqual([8, 9, 10]);
    expect(md.trades("X", 1).map((t) => t.execId)).toEqual([10]);
    expect(() => new MarketData({ maxTrades: 0 })).toThrow(RangeError);
  });

  it("returned trades are copies", () => {
    const md = new MarketData();
    md.feed(trade(1, 5, 1), 0);
    md.trades("X")[0]!.price = 999;
    expect(md.trades("X")[0]!.price).toBe(5);
  });
});
