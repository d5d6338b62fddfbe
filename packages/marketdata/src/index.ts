export { CandleSeries } from "./candles.ts";
export { DepthBook, type HeldUnits, type RestingOrder } from "./depth.ts";
export { type HubSnapshot, MarketDataHub, type OutletUpdate } from "./hub.ts";
export { MarketData, type MarketDataOptions, type MarketDataSnapshot, SNAPSHOT_VERSION } from "./market-data.ts";
export { type MergedDepth, mergeCandles, mergeDepth } from "./merge.ts";
export { bucketEnd, bucketStart } from "./time.ts";
export {
  type Candle,
  type Depth,
  type DepthChange,
  type DepthLevel,
  RESOLUTIONS,
  type Resolution,
  type Trade,
  type Update,
} from "./types.ts";
