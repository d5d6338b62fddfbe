import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** HQ's Prometheus metrics, in a registry of its own (tests may run several HQs in one process). */
export class Metrics {
  readonly registry = new Registry();
  readonly eventsApplied = new Counter({
    name: "stockroom_hq_events_applied_total",
    help: "Outlet events applied and committed, by outlet",
    labelNames: ["outlet"],
    registers: [this.registry],
  });
  readonly eventsSkipped = new Counter({
    name: "stockroom_hq_events_skipped_total",
    help: "Redelivered or duplicate events skipped (already applied)",
    registers: [this.registry],
  });
  readonly messages = new Counter({
    name: "stockroom_hq_messages_total",
    help: "JetStream messages processed and acknowledged",
    registers: [this.registry],
  });
  readonly batchSeconds = new Histogram({
    name: "stockroom_hq_batch_seconds",
    help: "Time to apply and commit one batch of messages",
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2],
    registers: [this.registry],
  });
  readonly appliedSeq = new Gauge({
    name: "stockroom_hq_applied_seq",
    help: "Last event seq applied per outlet",
    labelNames: ["outlet"],
    registers: [this.registry],
  });
  readonly lag = new Gauge({
    name: "stockroom_hq_outlet_lag_events",
    help: "Events the outlet has (per its heartbeat) that HQ has not applied",
    labelNames: ["outlet"],
    registers: [this.registry],
  });
  readonly diverged = new Gauge({
    name: "stockroom_hq_outlet_diverged",
    help: "1 while the outlet is diverged (checkpoint mismatch, broken chain or gap)",
    labelNames: ["outlet"],
    registers: [this.registry],
  });
  readonly divergences = new Counter({
    name: "stockroom_hq_divergences_total",
    help: "Divergences detected, by outlet and kind (checkpoint, chain, gap, malformed, unappliable)",
    labelNames: ["outlet", "kind"],
    registers: [this.registry],
  });
  readonly gaps = new Counter({
    name: "stockroom_hq_gaps_total",
    help: "Missing sequence numbers detected, by outlet",
    labelNames: ["outlet"],
    registers: [this.registry],
  });
  readonly checkpoints = new Counter({
    name: "stockroom_hq_checkpoints_total",
    help: "Checkpoints compared, by outlet and result (match, mismatch)",
    labelNames: ["outlet", "result"],
    registers: [this.registry],
  });
  readonly online = new Gauge({
    name: "stockroom_hq_outlet_online",
    help: "1 while the outlet's heartbeat is fresh",
    labelNames: ["outlet"],
    registers: [this.registry],
  });
  readonly mdPublished = new Counter({
    name: "stockroom_hq_marketdata_messages_total",
    help: "Market data messages published on NATS, by kind",
    labelNames: ["kind"],
    registers: [this.registry],
  });
  readonly snapshots = new Counter({
    name: "stockroom_hq_replica_snapshots_total",
    help: "Replica snapshots saved",
    registers: [this.registry],
  });
  readonly httpRequests = new Counter({
    name: "stockroom_hq_http_requests_total",
    help: "HTTP requests by route and status",
    labelNames: ["method", "route", "status"],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
