import type { EventOf, Side } from "@stockroom/contracts";

/** One execution as the market sees it. */
export interface Trade {
  sku: string;
  price: number;
  quantity: number;
  ts: number;
  execId: number;
  aggressor: EventOf<"execution">["aggressor"];
}

/** One price level: `quantity` is the resting remainder, held units included. */
export interface DepthLevel {
  price: number;
  quantity: number;
  held: number;
  orders: number;
}

/** A sku's book: inflow from the lowest price, outflow from the highest. `seq` is its last depth update. */
export interface Depth {
  sku: string;
  seq: number;
  inflow: DepthLevel[];
  outflow: DepthLevel[];
}

/** A level's new state; `quantity` 0 means the level is gone. */
export interface DepthChange extends DepthLevel {
  side: Side;
}

export const RESOLUTIONS = ["1m", "5m", "1h", "1w", "1mo"] as const;
export type Resolution = (typeof RESOLUTIONS)[number];

/** OHLC of the trades whose ts falls in [start, bucketEnd(start)). `openTs`/`closeTs` let candles be merged. */
export interface Candle {
  start: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  trades: number;
  openTs: number;
  closeTs: number;
}

/**
 * What one fed event changed, for the caller to publish. Depth updates of a sku are numbered
 * 1, 2, 3, …: a subscriber that sees a gap fetches `depth(sku)` and resumes after its `seq`.
 */
export type Update =
  | { type: "trade"; trade: Trade }
  | { type: "depth"; sku: string; seq: number; ts: number; changes: DepthChange[] }
  | { type: "candle"; sku: string; resolution: Resolution; candle: Candle };
