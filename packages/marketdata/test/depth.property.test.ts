import type { EngineEvent, Side } from "@stockroom/contracts";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type DepthLevel, MarketData } from "../src/index.ts";
import { run, SKUS, script } from "./engine-run.ts";

/** Depth folded from scratch, the plain way: every resting order, then grouped by price. */
function depthFromScratch(events: readonly EngineEvent[], sku: string) {
  const orders = new Map<number, { sku: string; side: Side; price: number; remaining: number; held: number }>();
  const holds = new Map<string, { orderId: number; quantity: number }[]>();
  const take = (id: number | null, quantity: number, held: number) => {
    const o = id === null ? undefined : orders.get(id);
    if (!o || id === null) return;
    o.remaining -= quantity;
    o.held -= held;
    if (o.remaining === 0) orders.delete(id);
  };
  for (const e of events) {
    if (e.type === "order.rested") orders.set(e.orderId, { ...e, remaining: e.quantity, held: 0 });
    else if (e.type === "order.cancelled" || e.type === "order.replaced") orders.delete(e.orderId);
    else if (e.type === "order.reduced") {
      const o = orders.get(e.orderId);
      if (o) o.remaining = e.remaining;
    } else if (e.type === "execution") {
      // Only resting orders are in the map: released held units meeting demand take from both.
      take(e.outflowOrderId, e.quantity, 0);
      take(e.inflowOrderId, e.quantity, e.aggressor === "hold" ? e.quantity : 0);
    } else if (e.type === "hold.placed") {
      holds.set(e.holdId, e.allocations);
      for (const a of e.allocations) take(a.orderId, 0, -a.quantity);
    } else if (e.type === "hold.released") {
      for (const a of holds.get(e.holdId) ?? []) take(a.orderId, 0, a.quantity);
      holds.delete(e.holdId);
    } else if (e.type === "hold.confirmed") holds.delete(e.holdId);
  }
  const side = (s: Side): DepthLevel[] => {
    const byPrice = new Map<number, DepthLevel>();
    for (const o of orders.values()) {
      if (o.sku !== sku || o.side !== s) continue;
      const l = byPrice.get(o.price) ?? { price: o.price, quantity: 0, held: 0, orders: 0 };
      byPrice.set(o.price, { ...l, quantity: l.quantity + o.remaining, held: l.held + o.held, orders: l.orders + 1 });
    }
    return [...byPrice.values()].sort((a, b) => (s === "inflow" ? a.price - b.price : b.price - a.price));
  };
  return { inflow: side("inflow"), outflow: side("outflow") };
}

describe("incremental depth", () => {
  it("equals depth recomputed from scratch, the engine's own depth, and a subscriber's copy", () => {
    fc.assert(
      fc.property(script, (commands) => {
        const { engine, steps } = run(commands);
        const md = new MarketData();
        const seen: EngineEvent[] = [];
        const copies = new Map(SKUS.map((s) => [s as string, new Map<string, DepthLevel & { side: Side }>()]));
        for (const { ts, events } of steps) {
          for (const e of events) {
            seen.push(e);
            for (const u of md.feed(e, ts)) {
              if (u.type !== "depth") continue;
              const copy = copies.get(u.sku)!;
              for (const c of u.changes)
                if (c.quantity === 0) copy.delete(`${c.side}:${c.price}`);
                else copy.set(`${c.side}:${c.price}`, c);
            }
          }
          for (const sku of SKUS) {
            const { inflow, outflow } = md.depth(sku);
            expect({ inflow, outflow }).toEqual(depthFromScratch(seen, sku));
          }
        }
        for (const sku of SKUS) {
          const { inflow, outflow } = md.depth(sku);
          const fromEngine = engine.depth(sku);
          expect({ inflow, outflow }).toEqual({ inflow: fromEngine?.inflow ?? [], outflow: fromEngine?.outflow ?? [] });
          const copy = [...copies.get(sku)!.values()];
          const strip = ({ price, quantity, held, orders }: DepthLevel) => ({ price, quantity, held, orders });
          expect(copy.filter((c) => c.side === "inflow").map(strip)).toEqual(expect.arrayContaining(inflow));
          expect(copy.filter((c) => c.side === "outflow").map(strip)).toEqual(expect.arrayContaining(outflow));
          expect(copy).toHaveLength(inflow.length + outflow.length);
        }
      }),
      { numRuns: 200 },
    );
  });
});
