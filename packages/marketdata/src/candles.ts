import { Ring } from "./ring.ts";
import { bucketStart } from "./time.ts";
import type { Candle, Resolution, Trade } from "./types.ts";

/** The last `capacity` candles of one sku at one resolution, oldest first. */
export class CandleSeries {
  private readonly ring: Ring<Candle>;

  constructor(
    readonly resolution: Resolution,
    capacity: number,
    candles: readonly Candle[] = [],
  ) {
    this.ring = new Ring(capacity);
    for (const c of candles) this.ring.push({ ...c });
  }

  /**
   * Adds a trade to its candle (none when the trade is older than every candle kept). Open and
   * close follow trade time, not arrival, so late trades land right.
   */
  add(trade: Trade): void {
    const start = bucketStart(this.resolution, trade.ts);
    const last = this.ring.last();
    let candle = last?.start === start ? last : undefined;
    if (!candle && (!last || start > last.start)) {
      const { price, ts } = trade;
      candle = {
        start,
        open: price,
        high: price,
        low: price,
        close: price,
        volume: 0,
        trades: 0,
        openTs: ts,
        closeTs: ts,
      };
      this.ring.push(candle);
    }
    candle ??= this.at(start);
    if (!candle) return;
    if (trade.ts < candle.openTs) {
      candle.open = trade.price;
      candle.openTs = trade.ts;
    }
    if (trade.ts >= candle.closeTs) {
      candle.close = trade.price;
      candle.closeTs = trade.ts;
    }
    candle.high = Math.max(candle.high, trade.price);
    candle.low = Math.min(candle.low, trade.price);
    candle.volume += trade.quantity;
    candle.trades += 1;
  }

  /** Copies of the candles with `start <= candle.start < end`. */
  range(start: number, end: number): Candle[] {
    const out: Candle[] = [];
    for (let i = this.lowerBound(start); i < this.ring.size; i++) {
      const c = this.ring.at(i);
      if (c.start >= end) break;
      out.push({ ...c });
    }
    return out;
  }

  all(): Candle[] {
    return this.ring.toArray().map((c) => ({ ...c }));
  }

  /** The candle starting at `start`, itself (copy it to keep it). */
  at(start: number): Candle | undefined {
    const i = this.lowerBound(start);
    const c = i < this.ring.size ? this.ring.at(i) : undefined;
    return c?.start === start ? c : undefined;
  }

  /** Index of the first candle starting at or after `start` (candles are sorted by start). */
  private lowerBound(start: number): number {
    let lo = 0;
    let hi = this.ring.size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ring.at(mid).start < start) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
