import type { EngineEvent } from "@stockroom/contracts";
import { describe, expect, it } from "vitest";
import { type DepthLevel, MarketData, type Update } from "../src/index.ts";
import { execution, holdPlaced, rested } from "./events.ts";

const level = (price: number, quantity: number, held: number, orders: number): DepthLevel => ({
  price,
  quantity,
  held,
  orders,
});

/** Feeds events one by one and returns the depth changes of each, as [side, price, quantity, held, orders]. */
function changesOf(md: MarketData, events: EngineEvent[]) {
  return events.map((e) =>
    md
      .feed(e, 0)
      .filter((u) => u.type === "depth")
      .flatMap((u) => u.changes.map((c) => [u.sku, c.side, c.price, c.quantity, c.held, c.orders])),
  );
}

function book(): MarketData {
  const md = new MarketData();
  for (const e of [
    rested(1, "inflow", 10, 5),
    rested(2, "inflow", 10, 3),
    rested(3, "inflow", 9, 4),
    rested(4, "outflow", 8, 2),
    rested(5, "outflow", 7, 1),
  ])
    md.feed(e, 0);
  return md;
}

describe("depth", () => {
  it("sums resting orders per level, inflow ascending and outflow descending", () => {
    const md = book();
    expect(md.depth("X")).toEqual({
      sku: "X",
      seq: 5,
      inflow: [level(9, 4, 0, 1), level(10, 8, 0, 2)],
      outflow: [level(8, 2, 0, 1), level(7, 1, 0, 1)],
    });
    expect(md.depth("X", 1)).toMatchObject({ inflow: [level(9, 4, 0, 1)], outflow: [level(8, 2, 0, 1)] });
    expect(md.depth("NOPE")).toEqual({ sku: "NOPE", seq: 0, inflow: [], outflow: [] });
  });

  it("takes fills from the resting side: inflow for outflow aggressors, outflow for inflow aggressors", () => {
    const md = book();
    const changes = changesOf(md, [
      execution({ execId: 1, price: 9, quantity: 4, aggressor: "outflow", inflowOrderId: 3, outflowOrderId: 6 }),
      execution({ execId: 2, price: 10, quantity: 2, aggressor: "outflow", inflowOrderId: 1, outflowOrderId: 6 }),
      execution({ execId: 3, price: 8, quantity: 1, aggressor: "inflow", inflowOrderId: 7, outflowOrderId: 4 }),
    ]);
    expect(changes).toEqual([
      [["X", "inflow", 9, 0, 0, 0]],
      [["X", "inflow", 10, 6, 0, 2]],
      [["X", "outflow", 8, 1, 0, 1]],
    ]);
    expect(md.depth("X")).toMatchObject({
      inflow: [level(10, 6, 0, 2)],
      outflow: [level(8, 1, 0, 1), level(7, 1, 0, 1)],
    });
  });

  it("holds units on placement, executes them on confirmation and gives them back on release", () => {
    const md = book();
    const changes = changesOf(md, [
      holdPlaced("h1", [
        [3, 4],
        [1, 2],
      ]),
      execution({ execId: 1, price: 9, quantity: 4, aggressor: "hold", inflowOrderId: 3, holdId: "h1" }),
      execution({ execId: 2, price: 10, quantity: 2, aggressor: "hold", inflowOrderId: 1, holdId: "h1" }),
      { type: "hold.confirmed", holdId: "h1" },
      holdPlaced("h2", [[2, 3]]),
      { type: "hold.released", holdId: "h2", reason: "expired" },
      { type: "hold.released", holdId: "h2", reason: "expired" }, // unknown by now: nothing to give back
    ]);
    expect(changes).toEqual([
      [
        ["X", "inflow", 9, 4, 4, 1],
        ["X", "inflow", 10, 8, 2, 2],
      ],
      [["X", "inflow", 9, 0, 0, 0]],
      [["X", "inflow", 10, 6, 0, 2]],
      [],
      [["X", "inflow", 10, 6, 3, 2]],
      [["X", "inflow", 10, 6, 0, 2]],
      [],
    ]);
  });

  it("gives one update per sku when a hold spans skus", () => {
    const md = book();
    md.feed(rested(8, "inflow", 50, 5, "Y"), 0);
    const updates = md.feed(
      holdPlaced("cart", [
        [1, 1],
        [8, 2, "Y"],
      ]),
      0,
    );
    expect(updates).toEqual([
      {
        type: "depth",
        sku: "X",
        seq: 6,
        ts: 0,
        changes: [{ side: "inflow", price: 10, quantity: 8, held: 1, orders: 2 }],
      },
      {
        type: "depth",
        sku: "Y",
        seq: 2,
        ts: 0,
        changes: [{ side: "inflow", price: 50, quantity: 5, held: 2, orders: 1 }],
      },
    ]);
  });

  it("reduces, cancels and replaces resting orders", () => {
    const md = book();
    const changes = changesOf(md, [
      { type: "order.reduced", orderId: 2, sku: "X", side: "inflow", price: 10, by: 1, remaining: 2 },
      {
        type: "order.replaced",
        orderId: 2,
        sku: "X",
        side: "inflow",
        oldPrice: 10,
        oldQuantity: 2,
        price: 11,
        quantity: 4,
      },
      rested(2, "inflow", 11, 4),
      { type: "order.cancelled", orderId: 5, sku: "X", side: "outflow", price: 7, quantity: 1, reason: "requested" },
      // An IOC remainder never rested: no change.
      {
        type: "order.cancelled",
        orderId: 9,
        sku: "X",
        side: "outflow",
        price: 7,
        quantity: 1,
        reason: "ioc_remainder",
      },
    ]);
    expect(changes).toEqual([
      [["X", "inflow", 10, 7, 0, 2]],
      [["X", "inflow", 10, 5, 0, 1]],
      [["X", "inflow", 11, 4, 0, 1]],
      [["X", "outflow", 7, 0, 0, 0]],
      [],
    ]);
    expect(md.depth("X")).toMatchObject({
      inflow: [level(9, 4, 0, 1), level(10, 5, 0, 1), level(11, 4, 0, 1)],
      outflow: [level(8, 2, 0, 1)],
    });
  });

  it("lets a subscriber keep a copy from the updates, detecting gaps by seq", () => {
    const md = new MarketData();
    const copy = new Map<string, DepthLevel & { side: string }>();
    let seq = 0;
    const apply = (updates: Update[]) => {
      for (const u of updates) {
        if (u.type !== "depth") continue;
        expect(u.seq).toBe(++seq);
        for (const c of u.changes) {
          if (c.quantity === 0) copy.delete(`${c.side}:${c.price}`);
          else copy.set(`${c.side}:${c.price}`, c);
        }
      }
    };
    apply(md.feed(rested(1, "inflow", 10, 5), 0));
    apply(md.feed(rested(2, "outflow", 8, 5), 0));
    apply(md.feed(holdPlaced("h", [[1, 2]]), 0));
    apply(md.feed(execution({ execId: 1, price: 10, quantity: 2, aggressor: "hold", inflowOrderId: 1 }), 0));
    apply(md.feed(rested(3, "inflow", 12, 1), 0));
    apply(md.feed(execution({ execId: 2, price: 12, quantity: 1, aggressor: "outflow", inflowOrderId: 3 }), 0));
    const d = md.depth("X");
    expect(d.seq).toBe(seq);
    const fromCopy = (side: string) =>
      [...copy.values()]
        .filter((c) => c.side === side)
        .map(({ price, quantity, held, orders }) => ({ price, quantity, held, orders }))
        .sort((a, b) => (side === "inflow" ? a.price - b.price : b.price - a.price));
    expect(fromCopy("inflow")).toEqual(d.inflow);
    expect(fromCopy("outflow")).toEqual(d.outflow);
  });
});
