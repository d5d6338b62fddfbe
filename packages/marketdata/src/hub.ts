import type { EventEnvelope } from "@stockroom/contracts";
import { MarketData, type MarketDataOptions, type MarketDataSnapshot } from "./market-data.ts";
import { type MergedDepth, mergeCandles, mergeDepth } from "./merge.ts";
import type { Candle, DepthChange, Resolution, Update } from "./types.ts";

export type OutletUpdate = Update & { outletId: string };

export interface HubSnapshot {
  outlets: { outletId: string; state: MarketDataSnapshot }[];
}

/** HQ's market data: one `MarketData` per outlet, fed from the replicated envelopes, merged per sku. */
export class MarketDataHub {
  private readonly outlets = new Map<string, MarketData>();

  constructor(private readonly options: MarketDataOptions = {}) {}

  /** Routes an envelope to its outlet; updates carry the outletId (depth `seq` counts per outlet and sku). */
  feed(envelope: EventEnvelope): OutletUpdate[] {
    const { outletId } = envelope;
    const updates = this.of(outletId).feedEnvelope(envelope);
    return updates.map((u) => ({ outletId, ...u }));
  }

  /** `feed` without building the updates: the envelope's depth changes per sku (see `MarketData.apply`). */
  apply(envelope: EventEnvelope): ReadonlyMap<string, DepthChange[]> {
    return this.of(envelope.outletId).applyEnvelope(envelope);
  }

  /** The outlet's market data, created on its first envelope. */
  private of(outletId: string): MarketData {
    let md = this.outlets.get(outletId);
    if (!md) {
      md = new MarketData(this.options);
      this.outlets.set(outletId, md);
    }
    return md;
  }

  outlet(outletId: string): MarketData | undefined {
    return this.outlets.get(outletId);
  }

  outletIds(): string[] {
    return [...this.outlets.keys()];
  }

  /** The chain-wide book of a sku. */
  depth(sku: string, levels?: number): MergedDepth {
    return mergeDepth(
      sku,
      [...this.outlets.values()].map((md) => md.depth(sku)),
      levels,
    );
  }

  /** Chain-wide candles starting in [start, end). */
  candles(sku: string, resolution: Resolution, start: number, end: number): Candle[] {
    return mergeCandles([...this.outlets.values()].map((md) => md.candles(sku, resolution, start, end)));
  }

  snapshot(): HubSnapshot {
    return { outlets: [...this.outlets].map(([outletId, md]) => ({ outletId, state: md.snapshot() })) };
  }

  static restore(snapshot: HubSnapshot, options: MarketDataOptions = {}): MarketDataHub {
    const hub = new MarketDataHub(options);
    for (const { outletId, state } of snapshot.outlets) hub.outlets.set(outletId, MarketData.restore(state, options));
    return hub;
  }
}
