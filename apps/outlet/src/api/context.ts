import type { Role } from "@stockroom/contracts";
import type { Engine } from "@stockroom/engine";
import type { MarketData } from "@stockroom/marketdata";
import type { Logger } from "pino";
import type { Replicator } from "../replication/replicator.ts";
import type { EventLog } from "../storage/event-log.ts";
import type { Metrics } from "../telemetry/metrics.ts";
import type { AsOfStock } from "../writer/as-of.ts";
import type { Writer } from "../writer/writer.ts";
import type { Credentials } from "./credentials.ts";
import type { IdempotencyStore } from "./idempotency.ts";
import type { RateLimiter } from "./rate-limit.ts";
import type { StreamHub } from "./stream-hub.ts";

/** Everything the routes need, built once by the node. */
export interface OutletServices {
  outletId: string;
  log: EventLog;
  writer: Writer;
  /** Stock at a past seq, rebuilt off the event loop. */
  asOf: AsOfStock;
  engine: Engine;
  marketData: MarketData;
  credentials: Credentials;
  idempotency: IdempotencyStore;
  rateLimiter: RateLimiter;
  stream: StreamHub;
  metrics: Metrics;
  logger: Logger;
  bodyLimitBytes: number;
  /** Null when the outlet runs without NATS. */
  replicator: Replicator | null;
}

/** Hono context variables set by the gateway. */
export interface GatewayEnv {
  /** The caller's account and role, and the API key it sent. */
  Variables: { accountId: string; role: Role; apiKey: string };
}
