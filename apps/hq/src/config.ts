import { existsSync, readFileSync } from "node:fs";
import { z } from "zod";

/** HQ's settings: from a JSON file (STOCKROOM_HQ_CONFIG) overlaid by STOCKROOM_HQ_* variables. */
export const HqConfig = z.object({
  dataDir: z.string().min(1).default("./data-hq"),
  host: z.string().default("127.0.0.1"),
  port: z.coerce.number().int().min(0).max(65_535).default(8080),
  /** JetStream with every outlet's events; absent: HQ serves what it has, consuming nothing. */
  natsUrl: z.string().url().optional(),
  /** A NATS credentials file (JWT + nkey seed) for servers that require one. */
  natsCreds: z.string().refine(existsSync, "no such file").optional(),
  /** Durable consumer name on STOCKROOM_EVENTS. */
  consumer: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .default("hq"),
  /** FULL: fsync every commit (an acked event is never lost). NORMAL: survives process crashes only. */
  synchronous: z.enum(["FULL", "NORMAL"]).default("FULL"),
  /** Most messages applied in one SQLite transaction. */
  maxBatchMessages: z.coerce.number().int().min(1).max(10_000).default(256),
  /** Replicas (engine + market data per outlet) are saved after this many events of an outlet… */
  snapshotEveryEvents: z.coerce.number().int().min(1).default(200_000),
  /** …or this often when anything changed. */
  snapshotEveryMs: z.coerce.number().int().min(100).default(30_000),
  /** An outlet whose heartbeat is older than this is offline. */
  offlineAfterMs: z.coerce.number().int().min(100).default(10_000),
  /** How often lag and reconciliation are re-evaluated (metrics, SSE, logs). */
  statusEveryMs: z.coerce.number().int().min(50).default(1_000),
  /** Publish market data on NATS core subjects (stockroom.md.*). */
  publishMarketData: z
    .union([z.boolean(), z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1")])
    .default(true),
  maxCandles: z.coerce.number().int().min(1).default(1_000),
  maxTrades: z.coerce.number().int().min(1).default(1_000),
  logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});
export type HqConfig = z.infer<typeof HqConfig>;

const ENV: Record<string, keyof HqConfig> = {
  STOCKROOM_HQ_DATA_DIR: "dataDir",
  STOCKROOM_HQ_HOST: "host",
  STOCKROOM_HQ_PORT: "port",
  STOCKROOM_HQ_NATS_URL: "natsUrl",
  STOCKROOM_HQ_NATS_CREDS: "natsCreds",
  STOCKROOM_HQ_CONSUMER: "consumer",
  STOCKROOM_HQ_SYNCHRONOUS: "synchronous",
  STOCKROOM_HQ_MAX_BATCH_MESSAGES: "maxBatchMessages",
  STOCKROOM_HQ_SNAPSHOT_EVERY_EVENTS: "snapshotEveryEvents",
  STOCKROOM_HQ_SNAPSHOT_EVERY_MS: "snapshotEveryMs",
  STOCKROOM_HQ_OFFLINE_AFTER_MS: "offlineAfterMs",
  STOCKROOM_HQ_STATUS_EVERY_MS: "statusEveryMs",
  STOCKROOM_HQ_PUBLISH_MARKET_DATA: "publishMarketData",
  STOCKROOM_HQ_MAX_CANDLES: "maxCandles",
  STOCKROOM_HQ_MAX_TRADES: "maxTrades",
  STOCKROOM_HQ_LOG_LEVEL: "logLevel",
};

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<HqConfig> = {}): HqConfig {
  let fromFile: Record<string, unknown> = {};
  if (env.STOCKROOM_HQ_CONFIG) {
    try {
      fromFile = JSON.parse(readFileSync(env.STOCKROOM_HQ_CONFIG, "utf8"));
    } catch (error) {
      throw new ConfigError(`cannot read STOCKROOM_HQ_CONFIG=${env.STOCKROOM_HQ_CONFIG}: ${(error as Error).message}`);
    }
  }
  const fromEnv: Record<string, unknown> = {};
  for (const [name, key] of Object.entries(ENV)) if (env[name] !== undefined) fromEnv[key] = env[name];
  const parsed = HqConfig.safeParse({ ...fromFile, ...fromEnv, ...overrides });
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const key = i.path.join(".");
      const variable = Object.entries(ENV).find(([, k]) => k === key)?.[0];
      return `  ${key}${variable ? ` (${variable})` : ""}: ${i.message}`;
    });
    throw new ConfigError(`invalid HQ configuration:\n${lines.join("\n")}`);
  }
  return parsed.data;
}
