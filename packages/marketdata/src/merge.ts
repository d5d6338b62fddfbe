import type { Side } from "@stockroom/contracts";
import type { Candle, Depth, DepthLevel } from "./types.ts";

export type MergedDepth = Omit<Depth, "seq">;

/** Depth of one sku over several outlets: levels at the same price add up. */
export function mergeDepth(
  sku: string,
  views: readonly Pick<Depth, "inflow" | "outflow">[],
  levels?: number,
): MergedDepth {
  const side = (s: Side): DepthLevel[] => {
    const byPrice = new Map<number, DepthLevel>();
    for (const view of views)
      for (const l of view[s]) {
        const m = byPrice.get(l.price);
        if (m) {
          m.quantity += l.quantity;
          m.held += l.held;
          m.orders += l.orders;
        } else byPrice.set(l.price, { ...l });
      }
    const out = [...byPrice.values()].sort(s === "inflow" ? (a, b) => a.price - b.price : (a, b) => b.price - a.price);
    return out.slice(0, levels);
  };
  return { sku, inflow: side("inflow"), outflow: side("outflow") };
}

/** Candles of one sku and resolution over several outlets, by start; open and close by trade time. */
export function mergeCandles(lists: readonly (readonly Candle[])[]): Candle[] {
  const byStart = new Map<number, Candle>();
  for (const list of lists)
    for (const c of list) {
      const m = byStart.get(c.start);
      if (!m) {
        byStart.set(c.start, { ...c });
        continue;
      }
      if (c.openTs < m.openTs) Object.assign(m, { open: c.open, openTs: c.openTs });
      if (c.closeTs > m.closeTs) Object.assign(m, { close: c.close, closeTs: c.closeTs });
      m.high = Math.max(m.high, c.high);
      m.low = Math.min(m.low, c.low);
      m.volume += c.volume;
      m.trades += c.trades;
    }
  return [...byStart.values()].sort((a, b) => a.start - b.start);
}
