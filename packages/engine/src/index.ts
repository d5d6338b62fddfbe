export { Engine, restingOrders } from "./engine.ts";
export { digestOf, type EngineSnapshot, SNAPSHOT_VERSION, stockDigest } from "./snapshot.ts";
export type {
  AccountView,
  DepthLevel,
  DepthView,
  HoldView,
  OrderView,
  ProductView,
  StockView,
} from "./state.ts";
export { HOLD_MEMORY_MS } from "./state.ts";
