import type { Logger } from "pino";
import type { Aggregator } from "../ingest/aggregator.ts";
import type { ConsumerState } from "../ingest/consumer.ts";
import type { OutletBoard } from "../status.ts";
import type { Db } from "../storage/db.ts";
import type { Metrics } from "../telemetry/metrics.ts";
import type { ApiKeys, Caller } from "./keys.ts";
import type { StreamHub } from "./stream-hub.ts";

/** How HQ's link to NATS is doing, for /readyz. */
export interface NatsStatus {
  configured: boolean;
  connected: boolean;
  consumer: ConsumerState | null;
  error: string | null;
}

/** Everything the routes need, built once by HQ. */
export interface HqServices {
  db: Db;
  aggregator: Aggregator;
  board: OutletBoard;
  keys: ApiKeys;
  stream: StreamHub;
  metrics: Metrics;
  logger: Logger;
  nats: () => NatsStatus;
}

/** Hono context variables set by the auth middleware. */
export interface HqEnv {
  Variables: { caller: Caller };
}
