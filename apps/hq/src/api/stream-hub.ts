export interface StreamMessage {
  event: "trade" | "depth" | "candle" | "stock" | "outlet";
  /** Absent for outlet events, which every subscriber hears. */
  sku?: string;
  data: unknown;
}

type Listener = (message: StreamMessage) => void;

/** Fan-out of HQ's live updates to SSE subscribers: sku events to those who follow the sku, outlet events to all. */
export class StreamHub {
  private readonly bySku = new Map<string, Set<Listener>>();
  private readonly all = new Set<Listener>();

  subscribe(skus: readonly string[], listener: Listener): () => void {
    this.all.add(listener);
    for (const sku of skus) {
      const set = this.bySku.get(sku) ?? new Set<Listener>();
      this.bySku.set(sku, set);
      set.add(listener);
    }
    return () => {
      this.all.delete(listener);
      for (const sku of skus) {
        const set = this.bySku.get(sku);
        set?.delete(listener);
        if (set?.size === 0) this.bySku.delete(sku);
      }
    };
  }

  follows(sku: string): boolean {
    return this.bySku.has(sku);
  }

  get size(): number {
    return this.all.size;
  }

  publish(message: StreamMessage): void {
    const listeners = message.sku === undefined ? this.all : this.bySku.get(message.sku);
    for (const listener of listeners ?? []) listener(message);
  }
}
