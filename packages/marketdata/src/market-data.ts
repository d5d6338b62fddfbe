import type { EngineEvent, EventEnvelope } from "@stockroom/contracts";
import { CandleSeries } from "./candles.ts";
import { DepthBook, type HeldUnits, NO_CHANGES, type RestingOrder } from "./depth.ts";
import { Ring } from "./ring.ts";
import { bucketStart } from "./time.ts";
import {
  type Candle,
  type Depth,
  type DepthChange,
  RESOLUTIONS,
  type Resolution,
  type Trade,
  type Update,
} from "./types.ts";

export interface MarketDataOptions {
  /** Candles kept per sku and resolution (older ones are dropped). */
  maxCandles?: number;
  /** Recent trades kept per sku. */
  maxTrades?: number;
}

export const SNAPSHOT_VERSION = 1;

/** The whole state, JSON-safe; `restore` of it behaves exactly like the original. */
export interface MarketDataSnapshot {
  v: typeof SNAPSHOT_VERSION;
  lastSeq: number;
  lastTs: number;
  orders: RestingOrder[];
  holds: HeldUnits[];
  skus: { sku: string; depthSeq: number; trades: Trade[]; candles: Record<Resolution, Candle[]> }[];
}

interface SkuData {
  depthSeq: number;
  trades: Ring<Trade>;
  candles: Record<Resolution, CandleSeries>;
}

/**
 * Market data of one outlet, derived from its events in sequence order: trades, L2 depth and
 * candles. Pure: no I/O, no clock; `feed` returns what changed and the caller publishes it.
 */
export class MarketData {
  private readonly maxCandles: number;
  private readonly maxTrades: number;
  private book = new DepthBook();
  private readonly perSku = new Map<string, SkuData>();
  private seq = 0;
  private ts = 0;

  constructor(options: MarketDataOptions = {}) {
    this.maxCandles = bound(options.maxCandles ?? 1000, "maxCandles");
    this.maxTrades = bound(options.maxTrades ?? 1000, "maxTrades");
  }

  /** Sequence number of the last envelope fed (0 before any). */
  get lastSeq(): number {
    return this.seq;
  }

  /** Latest sequenced time seen. */
  get lastTs(): number {
    return this.ts;
  }

  /** Feeds one envelope of this outlet's log: a redelivered one changes nothing, a gap is an error. */
  feedEnvelope(envelope: EventEnvelope): Update[] {
    return this.next(envelope) ? this.feed(envelope.payload, envelope.ts) : [];
  }

  /** `feedEnvelope` without building the updates (see `apply`). */
  applyEnvelope(envelope: EventEnvelope): ReadonlyMap<string, DepthChange[]> {
    return this.next(envelope) ? this.apply(envelope.payload, envelope.ts) : NO_CHANGES;
  }

  /** Feeds one event with its sequenced timestamp; returns the derived updates in order. */
  feed(event: EngineEvent, ts: number): Update[] {
    const depth = this.apply(event, ts);
    const updates: Update[] = [];
    const trade = event.type === "execution" ? this.sku(event.sku).trades.last()! : null;
    if (trade) updates.push({ type: "trade", trade: { ...trade } });
    for (const [sku, changes] of depth)
      updates.push({ type: "depth", sku, seq: this.sku(sku).depthSeq, ts: this.ts, changes });
    if (trade) {
      const { candles } = this.sku(trade.sku);
      for (const resolution of RESOLUTIONS) {
        const candle = candles[resolution].at(bucketStart(resolution, trade.ts));
        if (candle) updates.push({ type: "candle", sku: trade.sku, resolution, candle: { ...candle } });
      }
    }
    return updates;
  }

  /**
   * What `feed` does to the state, without building its updates, for a caller that tracks what
   * changed itself: returns only the depth changes, per sku. A trade changes its sku's candle
   * at every resolution (see `bucketStart`).
   */
  apply(event: EngineEvent, ts: number): ReadonlyMap<string, DepthChange[]> {
    // Sequenced time never goes backwards (docs/engine.md), so candles only ever grow at the end.
    this.ts = Math.max(this.ts, ts);
    let trade: Trade | null = null;
    if (event.type === "execution") {
      const { sku, price, quantity, execId, aggressor } = event;
      trade = { sku, price, quantity, ts: this.ts, execId, aggressor };
      this.sku(sku).trades.push(trade);
    }
    const depth = this.book.apply(event);
    for (const sku of depth.keys()) this.sku(sku).depthSeq++;
    if (trade) {
      const { candles } = this.sku(trade.sku);
      for (const resolution of RESOLUTIONS) candles[resolution].add(trade);
    }
    return depth;
  }

  skus(): string[] {
    return [...this.perSku.keys()];
  }

  /** L2 depth, best `levels` per side; `seq` is the last depth update of the sku. */
  depth(sku: string, levels?: number): Depth {
    return {
      sku,
      seq: this.perSku.get(sku)?.depthSeq ?? 0,
      inflow: this.book.levels(sku, "inflow", levels),
      outflow: this.book.levels(sku, "outflow", levels),
    };
  }

  /** The most recent trades of a sku (at most `limit`), oldest first. */
  trades(sku: string, limit = this.maxTrades): Trade[] {
    const ring = this.perSku.get(sku)?.trades;
    return ring ? ring.toArray(ring.size - limit).map((t) => ({ ...t })) : [];
  }

  /** Candles starting in [start, end), oldest first. */
  candles(sku: string, resolution: Resolution, start: number, end: number): Candle[] {
    return this.perSku.get(sku)?.candles[resolution].range(start, end) ?? [];
  }

  snapshot(): MarketDataSnapshot {
    const skus = [...this.perSku].map(([sku, d]) => ({
      sku,
      depthSeq: d.depthSeq,
      trades: d.trades.toArray().map((t) => ({ ...t })),
      candles: Object.fromEntries(RESOLUTIONS.map((r) => [r, d.candles[r].all()])) as Record<Resolution, Candle[]>,
    }));
    return { v: SNAPSHOT_VERSION, lastSeq: this.seq, lastTs: this.ts, ...this.book.snapshot(), skus };
  }

  /** Rebuilds from a snapshot; smaller bounds than the snapshot's keep only the newest items. */
  static restore(snapshot: MarketDataSnapshot, options: MarketDataOptions = {}): MarketData {
    if (snapshot.v !== SNAPSHOT_VERSION) throw new Error(`market data: unknown snapshot version ${snapshot.v}`);
    const md = new MarketData(options);
    md.seq = snapshot.lastSeq;
    md.ts = snapshot.lastTs;
    md.book = new DepthBook(snapshot.orders, snapshot.holds);
    for (const s of snapshot.skus) {
      const data = md.sku(s.sku, s.candles);
      data.depthSeq = s.depthSeq;
      for (const t of s.trades) data.trades.push({ ...t });
    }
    return md;
  }

  /** Takes the envelope's seq: false for a redelivered one, an error for a gap. */
  private next(envelope: EventEnvelope): boolean {
    if (envelope.seq <= this.seq) return false;
    if (envelope.seq !== this.seq + 1)
      throw new Error(`market data: expected seq ${this.seq + 1} of ${envelope.outletId}, got ${envelope.seq}`);
    this.seq = envelope.seq;
    return true;
  }

  private sku(sku: string, candles?: Record<Resolution, Candle[]>): SkuData {
    let data = this.perSku.get(sku);
    if (!data) {
      const series = (r: Resolution) => new CandleSeries(r, this.maxCandles, candles?.[r]);
      data = {
        depthSeq: 0,
        trades: new Ring(this.maxTrades),
        candles: Object.fromEntries(RESOLUTIONS.map((r) => [r, series(r)])) as Record<Resolution, CandleSeries>,
      };
      this.perSku.set(sku, data);
    }
    return data;
  }
}

function bound(n: number, name: string): number {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`market data: ${name} must be a positive integer`);
  return n;
}
