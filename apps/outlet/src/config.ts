import { existsSync, readFileSync } from "node:fs";
import { OutletId, Timezone, TradingHours } from "@stockroom/contracts";
import { z } from "zod";

/** The outlet node's settings: from a JSON file (STOCKROOM_CONFIG) overlaid by STOCKROOM_* variables. */
export const OutletConfig = z.object({
  outletId: OutletId,
  dataDir: z.string().min(1).default("./data"),
  host: z.string().default("127.0.0.1"),
  port: z.coerce.number().int().min(0).max(65_535).default(8080),
  /** FULL: fsync every group commit (no acknowledged command lost on power failure). NORMAL: faster, survives process crashes only. */
  synchronous: z.enum(["FULL", "NORMAL"]).default("FULL"),
  snapshotEveryEvents: z.coerce.number().int().min(1).default(100_000),
  snapshotEveryMs: z.coerce.number().int().min(1_000).default(300_000),
  /** Most commands per group commit: small groups keep what waits for its fsync young for the GC. */
  maxBatch: z.coerce.number().int().min(1).max(100_000).default(512),
  rateLimitPerSecond: z.coerce.number().positive().default(2_000),
  rateLimitBurst: z.coerce.number().int().min(1).default(4_000),
  bodyLimitBytes: z.coerce
    .number()
    .int()
    .min(1_024)
    .default(4 * 1024 * 1024),
  /** Hold expiry needs sequenced time to move: a tick is sequenced this often (0: never). */
  tickEveryMs: z.coerce.number().int().min(0).default(1_000),
  timezone: Timezone.default("UTC"),
  tradingHours: TradingHours.nullable().default(null),
  defaultDailyLimit: z.coerce.number().int().min(0).default(1_000_000),
  brandLimits: z.record(z.string(), z.int().min(0)).default({}),
  /** JetStream to replicate to; absent: the outlet runs alone (events wait in its log). */
  natsUrl: z.string().url().optional(),
  /** A NATS credentials file (JWT + nkey seed) for servers that require one. */
  natsCreds: z.string().refine(existsSync, "no such file").optional(),
  checkpointEveryEvents: z.coerce.number().int().min(1).default(10_000),
  checkpointEveryMs: z.coerce.number().int().min(1_000).default(60_000),
  logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});
export type OutletConfig = z.infer<typeof OutletConfig>;

const ENV: Record<string, keyof OutletConfig> = {
  STOCKROOM_OUTLET_ID: "outletId",
  STOCKROOM_DATA_DIR: "dataDir",
  STOCKROOM_HOST: "host",
  STOCKROOM_PORT: "port",
  STOCKROOM_SYNCHRONOUS: "synchronous",
  STOCKROOM_SNAPSHOT_EVERY_EVENTS: "snapshotEveryEvents",
  STOCKROOM_SNAPSHOT_EVERY_MS: "snapshotEveryMs",
  STOCKROOM_MAX_BATCH: "maxBatch",
  STOCKROOM_RATE_LIMIT_PER_SECOND: "rateLimitPerSecond",
  STOCKROOM_RATE_LIMIT_BURST: "rateLimitBurst",
  STOCKROOM_BODY_LIMIT_BYTES: "bodyLimitBytes",
  STOCKROOM_TICK_EVERY_MS: "tickEveryMs",
  STOCKROOM_TIMEZONE: "timezone",
  STOCKROOM_TRADING_HOURS: "tradingHours",
  STOCKROOM_BRAND_LIMITS: "brandLimits",
  STOCKROOM_DEFAULT_DAILY_LIMIT: "defaultDailyLimit",
  STOCKROOM_LOG_LEVEL: "logLevel",
  STOCKROOM_NATS_URL: "natsUrl",
  STOCKROOM_NATS_CREDS: "natsCreds",
  STOCKROOM_CHECKPOINT_EVERY_EVENTS: "checkpointEveryEvents",
  STOCKROOM_CHECKPOINT_EVERY_MS: "checkpointEveryMs",
};

/** Settings whose variable holds JSON (as they would be written in the file). */
const JSON_ENV = new Set(["STOCKROOM_TRADING_HOURS", "STOCKROOM_BRAND_LIMITS"]);

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<OutletConfig> = {}): OutletConfig {
  let fromFile: Record<string, unknown> = {};
  if (env.STOCKROOM_CONFIG) {
    try {
      fromFile = JSON.parse(readFileSync(env.STOCKROOM_CONFIG, "utf8"));
    } catch (error) {
      throw new ConfigError(`cannot read STOCKROOM_CONFIG=${env.STOCKROOM_CONFIG}: ${(error as Error).message}`);
    }
  }
  const fromEnv: Record<string, unknown> = {};
  for (const [name, key] of Object.entries(ENV)) {
    const value = env[name];
    if (value === undefined) continue;
    try {
      fromEnv[key] = JSON_ENV.has(name) ? JSON.parse(value) : value;
    } catch (error) {
      throw new ConfigError(`${name} must be JSON: ${(error as Error).message}`);
    }
  }
  const parsed = OutletConfig.safeParse({ ...fromFile, ...fromEnv, ...overrides });
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const key = i.path.join(".");
      const variable = Object.entries(ENV).find(([, k]) => k === i.path[0])?.[0];
      return `  ${key}${variable ? ` (${variable})` : ""}: ${i.message}`;
    });
    throw new ConfigError(`invalid outlet configuration:\n${lines.join("\n")}`);
  }
  return parsed.data;
}
