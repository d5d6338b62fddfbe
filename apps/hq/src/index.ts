export { createApp } from "./api/app.ts";
export { ApiKeys, HQ_ROLES, type HqRole } from "./api/keys.ts";
export { HqConfig, loadConfig } from "./config.ts";
export { openHq, type RunningHq, startHq } from "./hq.ts";
export { Aggregator, type Committed, type IncomingMessage, type Outcome } from "./ingest/aggregator.ts";
export { EventConsumer } from "./ingest/consumer.ts";
export type { Heartbeat } from "./ingest/heartbeats.ts";
export {
  candlesSubject,
  depthSubject,
  MD_PREFIX,
  MD_SNAPSHOT_SUBJECT,
  SnapshotRequest,
  skuToken,
  tradesSubject,
} from "./marketdata/publisher.ts";
export type { OutletStatus, ReconciliationState } from "./status.ts";
