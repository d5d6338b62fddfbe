import type { EventEnvelope } from "@stockroom/contracts";

export interface StreamMessage {
  event: "fill" | "stock" | "depth";
  sku: string;
  data: unknown;
}

type Listener = (message: StreamMessage) => void;

/**
 * Fan-out of committed changes to SSE subscribers by sku. The node turns each commit into
 * messages once; each subscriber only hears about the skus it follows.
 */
export class StreamHub {
  private readonly bySku = new Map<string, Set<Listener>>();

  subscribe(skus: string[], listener: Listener): () => void {
    for (const sku of skus) {
      const set = this.bySku.get(sku) ?? new Set<Listener>();
      this.bySku.set(sku, set);
      set.add(listener);
    }
    return () => {
      for (const sku of skus) {
        const set = this.bySku.get(sku);
        set?.delete(listener);
        if (set?.size === 0) this.bySku.delete(sku);
      }
    };
  }

  /** Skus touched by these envelopes that someone follows; hold events name theirs through `holdSkus`. */
  followedSkus(envelopes: EventEnvelope[], holdSkus: (holdId: string) => string[]): Set<string> {
    const skus = new Set<string>();
    if (this.bySku.size === 0) return skus;
    for (const e of envelopes) {
      const sku = "sku" in e.payload ? e.payload.sku : undefined;
      if (sku && this.bySku.has(sku)) skus.add(sku);
      if ("holdId" in e.payload && e.payload.type !== "execution") {
        for (const s of holdSkus(e.payload.holdId)) if (this.bySku.has(s)) skus.add(s);
      }
    }
    return skus;
  }

  publish(message: StreamMessage): void {
    for (const listener of this.bySku.get(message.sku) ?? []) listener(message);
  }
}
