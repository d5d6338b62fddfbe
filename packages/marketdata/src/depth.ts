import type { EngineEvent, Side } from "@stockroom/contracts";
import type { DepthChange, DepthLevel } from "./types.ts";

/** A resting order as depth needs it. */
export interface RestingOrder {
  orderId: number;
  sku: string;
  side: Side;
  price: number;
  remaining: number;
  held: number;
}

/** What an active hold took, kept until it ends because `hold.released` does not repeat it. */
export interface HeldUnits {
  holdId: string;
  allocations: { orderId: number; quantity: number }[];
}

type Level = Omit<DepthLevel, "price">;
type Levels = Record<Side, Map<number, Level>>;

const EMPTY: Level = { quantity: 0, held: 0, orders: 0 };

/**
 * L2 depth of every sku of one outlet, kept from the engine's events. Each `apply` returns
 * the levels it changed per sku, so subscribers can keep a copy.
 */
export class DepthBook {
  private readonly orders = new Map<number, RestingOrder>();
  private readonly holds = new Map<string, HeldUnits["allocations"]>();
  private readonly books = new Map<string, Levels>();
  /** Levels touched by the event being applied, with their state before it. */
  private touched = new Map<string, Map<string, DepthChange>>();

  constructor(orders: readonly RestingOrder[] = [], holds: readonly HeldUnits[] = []) {
    for (const o of orders) this.add({ ...o });
    for (const { holdId, allocations } of holds)
      this.holds.set(
        holdId,
        allocations.map((a) => ({ ...a })),
      );
    this.touched.clear();
  }

  apply(event: EngineEvent): Map<string, DepthChange[]> {
    switch (event.type) {
      case "order.rested":
        this.remove(event.orderId);
        this.add({
          orderId: event.orderId,
          sku: event.sku,
          side: event.side,
          price: event.price,
          remaining: event.quantity,
          held: 0,
        });
        break;
      case "order.cancelled":
      case "order.replaced":
        this.remove(event.orderId);
        break;
      case "order.reduced": {
        const o = this.orders.get(event.orderId);
        if (o) this.change(o, event.remaining - o.remaining, 0);
        break;
      }
      case "execution": {
        // Whichever side rests loses the units: usually only the one that did not aggress, both
        // when released held units meet waiting demand. A hold takes units it already held.
        for (const id of [event.inflowOrderId, event.outflowOrderId]) {
          const o = id === null ? undefined : this.orders.get(id);
          if (o)
            this.change(
              o,
              -event.quantity,
              event.aggressor === "hold" && id === event.inflowOrderId ? -event.quantity : 0,
            );
        }
        break;
      }
      case "hold.placed": {
        const allocations = event.allocations.map(({ orderId, quantity }) => ({ orderId, quantity }));
        this.holds.set(event.holdId, allocations);
        this.hold(allocations, 1);
        break;
      }
      case "hold.released":
        this.hold(this.holds.get(event.holdId) ?? [], -1);
        this.holds.delete(event.holdId);
        break;
      case "hold.confirmed":
        // Its executions already took the held units.
        this.holds.delete(event.holdId);
        break;
    }
    return this.flush();
  }

  /** Levels of a sku, best first: inflow ascending, outflow descending. */
  levels(sku: string, side: Side, limit = Number.POSITIVE_INFINITY): DepthLevel[] {
    const levels = [...(this.books.get(sku)?.[side] ?? [])].map(([price, l]) => ({ price, ...l }));
    levels.sort(side === "inflow" ? (a, b) => a.price - b.price : (a, b) => b.price - a.price);
    return levels.slice(0, limit);
  }

  snapshot(): { orders: RestingOrder[]; holds: HeldUnits[] } {
    return {
      orders: [...this.orders.values()].map((o) => ({ ...o })),
      holds: [...this.holds].map(([holdId, allocations]) => ({
        holdId,
        allocations: allocations.map((a) => ({ ...a })),
      })),
    };
  }

  private hold(allocations: HeldUnits["allocations"], sign: 1 | -1): void {
    for (const a of allocations) {
      const o = this.orders.get(a.orderId);
      if (o) this.change(o, 0, sign * a.quantity);
    }
  }

  private add(o: RestingOrder): void {
    this.orders.set(o.orderId, o);
    this.bump(o, o.remaining, o.held, 1);
  }

  private remove(orderId: number): void {
    const o = this.orders.get(orderId);
    if (!o) return; // never rested: an IOC/FOK remainder, or a replaced order cancelled before resting
    this.orders.delete(orderId);
    this.bump(o, -o.remaining, -o.held, -1);
  }

  private change(o: RestingOrder, remaining: number, held: number): void {
    o.remaining += remaining;
    o.held += held;
    this.bump(o, remaining, held, 0);
    if (o.remaining <= 0) this.remove(o.orderId);
  }

  private bump(o: RestingOrder, quantity: number, held: number, orders: number): void {
    let book = this.books.get(o.sku);
    if (!book) {
      book = { inflow: new Map(), outflow: new Map() };
      this.books.set(o.sku, book);
    }
    const before = book[o.side].get(o.price) ?? EMPTY;
    this.touch(o, before);
    const after = { quantity: before.quantity + quantity, held: before.held + held, orders: before.orders + orders };
    if (after.orders === 0) book[o.side].delete(o.price);
    else book[o.side].set(o.price, after);
  }

  private touch(o: RestingOrder, before: Level): void {
    let bySku = this.touched.get(o.sku);
    if (!bySku) {
      bySku = new Map();
      this.touched.set(o.sku, bySku);
    }
    const key = `${o.side}:${o.price}`;
    if (!bySku.has(key)) bySku.set(key, { side: o.side, price: o.price, ...before });
  }

  /** The touched levels whose state differs from before the event, as they are now. */
  private flush(): Map<string, DepthChange[]> {
    const out = new Map<string, DepthChange[]>();
    for (const [sku, levels] of this.touched) {
      const changes: DepthChange[] = [];
      for (const before of levels.values()) {
        const now = this.books.get(sku)?.[before.side].get(before.price) ?? EMPTY;
        if (now.quantity !== before.quantity || now.held !== before.held || now.orders !== before.orders)
          changes.push({ side: before.side, price: before.price, ...now });
      }
      if (changes.length > 0) out.set(sku, changes);
    }
    this.touched = new Map();
    return out;
  }
}
