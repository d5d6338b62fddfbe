import { existsSync, readFileSync } from "node:fs";
import { hostname } from "node:os";
import { z } from "zod";

const SERVICE_ACCOUNT_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

const seconds = (fallback: number) => z.coerce.number().positive().default(fallback);

/** The operator's settings, from STOCKROOM_* environment variables (docs/operator.md lists them). */
export const OperatorEnv = z.object({
  STOCKROOM_OPERATOR_WATCH_NAMESPACE: z.string().optional(),
  STOCKROOM_OPERATOR_NAMESPACE: z.string().optional(),
  STOCKROOM_OPERATOR_IDENTITY: z.string().optional(),
  STOCKROOM_OUTLET_IMAGE: z.string().min(1).default("stockroom:0.1.0"),
  STOCKROOM_NATS_URL: z.string().url().optional(),
  STOCKROOM_NATS_CREDS: z.string().optional(),
  STOCKROOM_OPERATOR_HOST: z.string().default("0.0.0.0"),
  STOCKROOM_OPERATOR_PORT: z.coerce.number().int().min(0).max(65_535).default(8081),
  STOCKROOM_LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  STOCKROOM_OPERATOR_WORKERS: z.coerce.number().int().min(1).max(64).default(2),
  STOCKROOM_OPERATOR_RESYNC_SECONDS: seconds(30),
  STOCKROOM_LEADER_ELECTION: z.enum(["true", "false"]).default("true"),
  STOCKROOM_LEASE_DURATION_SECONDS: seconds(15),
  STOCKROOM_RENEW_DEADLINE_SECONDS: seconds(10),
  STOCKROOM_RETRY_PERIOD_SECONDS: seconds(2),
  STOCKROOM_HEARTBEAT_STALE_SECONDS: seconds(60),
  STOCKROOM_LAG_DEGRADED_EVENTS: z.coerce.number().int().min(1).default(100_000),
});

export interface OperatorSettings {
  watchNamespace: string | null;
  identity: string;
  defaultImage: string;
  nats: { url: string; credentialsFile?: string } | null;
  host: string;
  port: number;
  logLevel: string;
  workers: number;
  resyncMs: number;
  backoff: { baseMs: number; maxMs: number };
  leaderElection: {
    namespace: string;
    leaseName: string;
    leaseDurationMs: number;
    renewDeadlineMs: number;
    retryPeriodMs: number;
  } | null;
  heartbeatStaleAfterMs: number;
  lagDegradedAt: number;
}

export function loadSettings(env: NodeJS.ProcessEnv = process.env): OperatorSettings {
  const e = OperatorEnv.parse(env);
  const ownNamespace =
    e.STOCKROOM_OPERATOR_NAMESPACE ??
    (existsSync(SERVICE_ACCOUNT_NAMESPACE) ? readFileSync(SERVICE_ACCOUNT_NAMESPACE, "utf8").trim() : "default");
  return {
    watchNamespace: e.STOCKROOM_OPERATOR_WATCH_NAMESPACE || null,
    identity: e.STOCKROOM_OPERATOR_IDENTITY ?? `${hostname()}-${process.pid}`,
    defaultImage: e.STOCKROOM_OUTLET_IMAGE,
    nats: e.STOCKROOM_NATS_URL
      ? { url: e.STOCKROOM_NATS_URL, ...(e.STOCKROOM_NATS_CREDS ? { credentialsFile: e.STOCKROOM_NATS_CREDS } : {}) }
      : null,
    host: e.STOCKROOM_OPERATOR_HOST,
    port: e.STOCKROOM_OPERATOR_PORT,
    logLevel: e.STOCKROOM_LOG_LEVEL,
    workers: e.STOCKROOM_OPERATOR_WORKERS,
    resyncMs: e.STOCKROOM_OPERATOR_RESYNC_SECONDS * 1000,
    backoff: { baseMs: 200, maxMs: 60_000 },
    leaderElection:
      e.STOCKROOM_LEADER_ELECTION === "true"
        ? {
            namespace: ownNamespace,
            leaseName: "stockroom-operator",
            leaseDurationMs: e.STOCKROOM_LEASE_DURATION_SECONDS * 1000,
            renewDeadlineMs: e.STOCKROOM_RENEW_DEADLINE_SECONDS * 1000,
            retryPeriodMs: e.STOCKROOM_RETRY_PERIOD_SECONDS * 1000,
          }
        : null,
    heartbeatStaleAfterMs: e.STOCKROOM_HEARTBEAT_STALE_SECONDS * 1000,
    lagDegradedAt: e.STOCKROOM_LAG_DEGRADED_EVENTS,
  };
}
