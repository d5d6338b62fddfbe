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
/** What most events change: nothing (shared, so they allocate nothing). */
export const NO_CHANGES: ReadonlyMap<string, DepthChange[]> = new Map();

/**
 * L2 depth of every sku of one outlet, kept from the engine's events. Each `apply` returns
 * the levels it changed per sku, so subscribers can keep a copy.
 */
export class DepthBook {
  private readonly orders = new Map<number, RestingOrder>();
  private readonly holds = new Map<string, HeldUnits["allocations"]>();
  private readonly books = new Map<string, Levels>();
  /**
   * Levels touched by the event being applied, with their state before it: a few at most, so a
   * list searched in place (this runs for every event, and keys per level would be garbage).
   */
  private readonly touched: (DepthChange & { sku: string })[] = [];

  constructor(orders: readonly RestingOrder[] = [], holds: readonly HeldUnits[] = []) {
    for (const o of orders) this.add({ ...o });
    for (const { holdId, allocations } of holds)
      this.holds.set(
        holdId,
        allocations.map((a) => ({ ...a })),
      );
    this.touched.length = 0;
  }

  apply(event: EngineEvent): ReadonlyMap<string, DepthChange[]> {
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
        const inflow = this.orders.get(event.inflowOrderId);
        if (inflow) this.change(inflow, -event.quantity, event.aggressor === "hold" ? -event.quantity : 0);
        const outflow = event.outflowOrderId === null ? undefined : this.orders.get(event.outflowOrderId);
        if (outflow) this.change(outflow, -event.quantity, 0);
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
    const levels = book[o.side];
    let level = levels.get(o.price);
    this.touch(o, level ?? EMPTY);
    // Updated in place (touch kept the state before the event): this runs for every change.
    if (!level) {
      level = { quantity: 0, held: 0, orders: 0 };
      levels.set(o.price, level);
    }
    level.quantity += quantity;
    level.held += held;
    level.orders += orders;
    if (level.orders === 0) levels.delete(o.price);
  }

  private touch(o: RestingOrder, before: Level): void {
    for (const t of this.touched) if (t.price === o.price && t.side === o.side && t.sku === o.sku) return;
    this.touched.push({ sku: o.sku, side: o.side, price: o.price, ...before });
  }

  /** The touched levels whose state differs from before the event, as they are now, per sku. */
  private flush(): ReadonlyMap<string, DepthChange[]> {
    if (this.touched.length === 0) return NO_CHANGES;
    const out = new Map<string, DepthChange[]>();
    for (const before of this.touched) {
      const { sku, side, price } = before;
      const now = this.books.get(sku)?.[side].get(price) ?? EMPTY;
      if (now.quantity === before.quantity && now.held === before.held && now.orders === before.orders) continue;
      let changes = out.get(sku);
      if (!changes) {
        changes = [];
        out.set(sku, changes);
      }
      changes.push({ side, price, ...now });
    }
    this.touched.length = 0;
    return out;
  }
}
