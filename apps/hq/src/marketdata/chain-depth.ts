import type { Side } from "@stockroom/contracts";
import type { DepthChange, DepthLevel, MarketData } from "@stockroom/marketdata";

type Level = Omit<DepthLevel, "price">;
type Sides = Record<Side, Map<number, Level>>;

const sides = (): Sides => ({ inflow: new Map(), outflow: new Map() });

/**
 * Chain-wide L2 depth per sku, kept from each outlet's depth changes (the new state of a level
 * at one outlet): the merged level at a price is the sum over outlets, updated by the difference.
 */
export class ChainDepth {
  private readonly perOutlet = new Map<string, Map<string, Sides>>();
  private readonly merged = new Map<string, Sides>();

  /** Applies one outlet's changes to a sku; `touched` collects the prices of the merged levels changed. */
  apply(outletId: string, sku: string, changes: readonly DepthChange[], touched?: Record<Side, Set<number>>): void {
    const books = getOrSet(this.perOutlet, outletId, () => new Map<string, Sides>());
    const own = getOrSet(books, sku, sides);
    const all = getOrSet(this.merged, sku, sides);
    for (const c of changes) {
      const mine = own[c.side];
      const sum = all[c.side];
      // Levels are updated in place: this runs for every depth change of every outlet.
      let m = sum.get(c.price);
      if (!m) {
        m = { quantity: 0, held: 0, orders: 0 };
        sum.set(c.price, m);
      }
      const before = mine.get(c.price);
      if (before) {
        m.quantity -= before.quantity;
        m.held -= before.held;
        m.orders -= before.orders;
      }
      m.quantity += c.quantity;
      m.held += c.held;
      m.orders += c.orders;
      if (m.quantity === 0 && m.orders === 0) sum.delete(c.price);
      if (c.quantity === 0) mine.delete(c.price);
      else if (before) {
        before.quantity = c.quantity;
        before.held = c.held;
        before.orders = c.orders;
      } else mine.set(c.price, { quantity: c.quantity, held: c.held, orders: c.orders });
      touched?.[c.side].add(c.price);
    }
  }

  /** The merged level at a price (quantity 0: no level). */
  level(sku: string, side: Side, price: number): DepthLevel {
    const l = this.merged.get(sku)?.[side].get(price);
    return { price, quantity: l?.quantity ?? 0, held: l?.held ?? 0, orders: l?.orders ?? 0 };
  }

  /** Inflow from the lowest price, outflow from the highest, at most `levels` each. */
  book(
    sku: string,
    levels = Number.POSITIVE_INFINITY,
    outletId?: string,
  ): { inflow: DepthLevel[]; outflow: DepthLevel[] } {
    const s = outletId === undefined ? this.merged.get(sku) : this.perOutlet.get(outletId)?.get(sku);
    const list = (side: Side) =>
      [...(s?.[side] ?? new Map<number, Level>())]
        .map(([price, l]) => ({ price, quantity: l.quantity, held: l.held, orders: l.orders }))
        .sort(side === "inflow" ? (a, b) => a.price - b.price : (a, b) => b.price - a.price)
        .slice(0, levels);
    return { inflow: list("inflow"), outflow: list("outflow") };
  }

  /** Loads an outlet's whole book from its market data (after a restore). */
  load(outletId: string, md: MarketData): void {
    this.drop(outletId);
    for (const sku of md.skus()) {
      const d = md.depth(sku);
      const changes: DepthChange[] = [
        ...d.inflow.map((l) => ({ side: "inflow" as const, ...l })),
        ...d.outflow.map((l) => ({ side: "outflow" as const, ...l })),
      ];
      if (changes.length > 0) this.apply(outletId, sku, changes);
    }
  }

  /** Removes an outlet's levels from the merged books. */
  drop(outletId: string): void {
    const books = this.perOutlet.get(outletId);
    if (!books) return;
    for (const [sku, own] of books) {
      const gone: DepthChange[] = [];
      for (const side of ["inflow", "outflow"] as const)
        for (const price of own[side].keys()) gone.push({ side, price, quantity: 0, held: 0, orders: 0 });
      this.apply(outletId, sku, gone);
    }
    this.perOutlet.delete(outletId);
  }
}

function getOrSet<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}
