import type { KubeConfig } from "@kubernetes/client-node";
import { pino } from "pino";
import { type HeartbeatSource, Operator, type OperatorSettings } from "../../../apps/operator/src/index.ts";

/** Settings for tests: fast lease timings, fast backoff, an ephemeral port. */
export function testSettings(identity: string, overrides: Partial<OperatorSettings> = {}): OperatorSettings {
  return {
    watchNamespace: null,
    identity,
    defaultImage: "stockroom:test",
    nats: null,
    host: "127.0.0.1",
    port: 0,
    logLevel: "silent",
    workers: 2,
    resyncMs: 60_000,
    backoff: { baseMs: 20, maxMs: 500 },
    leaderElection: {
      namespace: "default",
      leaseName: "stockroom-operator",
      leaseDurationMs: 1_000,
      renewDeadlineMs: 700,
      retryPeriodMs: 100,
    },
    heartbeatStaleAfterMs: 60_000,
    lagDegradedAt: 1_000,
    ...overrides,
  };
}

export async function startOperator(
  kubeConfig: KubeConfig,
  settings: OperatorSettings,
  heartbeats?: HeartbeatSource | null,
): Promise<Operator> {
  const logger = pino({ level: "silent" });
  const operator = new Operator(kubeConfig, settings, logger, heartbeats === undefined ? {} : { heartbeats });
  await operator.start();
  return operator;
}
