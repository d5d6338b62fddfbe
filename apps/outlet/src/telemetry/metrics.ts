import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** The outlet's Prometheus metrics, in a registry of its own (several nodes may share a process in tests). */
export class Metrics {
  readonly registry = new Registry();
  readonly commands = new Counter({
    name: "stockroom_commands_total",
    help: "Commands sequenced",
    registers: [this.registry],
  });
  readonly events = new Counter({
    name: "stockroom_events_total",
    help: "Events committed",
    registers: [this.registry],
  });
  readonly rejections = new Counter({
    name: "stockroom_rejections_total",
    help: "Commands rejected by the engine, by reason",
    labelNames: ["reason"],
    registers: [this.registry],
  });
  readonly groupSize = new Histogram({
    name: "stockroom_commit_group_size",
    help: "Commands per group commit",
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096],
    registers: [this.registry],
  });
  readonly commitSeconds = new Histogram({
    name: "stockroom_commit_seconds",
    help: "Time to execute and durably commit one group",
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  readonly lastSeq = new Gauge({
    name: "stockroom_last_seq",
    help: "Last committed sequence number",
    registers: [this.registry],
  });
  readonly replicatedEvents = new Counter({
    name: "stockroom_replicated_events_total",
    help: "Events acknowledged by JetStream",
    registers: [this.registry],
  });
  readonly replicationLag = new Gauge({
    name: "stockroom_replication_lag_events",
    help: "Committed events not yet acknowledged by JetStream",
    registers: [this.registry],
  });
  readonly replicationRefused = new Gauge({
    name: "stockroom_replication_refused",
    help: "1 when JetStream refused a publish (gap or fork) and replication stopped",
    registers: [this.registry],
  });
  readonly httpRequests = new Counter({
    name: "stockroom_http_requests_total",
    help: "HTTP requests by route and status",
    labelNames: ["method", "route", "status"],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
