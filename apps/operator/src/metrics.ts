import { Counter, Gauge, Histogram, Registry } from "prom-client";

/** The operator's Prometheus metrics, in a registry of its own (two operators may share a process in tests). */
export class OperatorMetrics {
  readonly registry = new Registry();
  readonly reconciles = new Counter({
    name: "stockroom_operator_reconcile_total",
    help: "Reconcile passes by result (success, error, conflict).",
    labelNames: ["result"],
    registers: [this.registry],
  });
  readonly reconcileSeconds = new Histogram({
    name: "stockroom_operator_reconcile_duration_seconds",
    help: "Time of one reconcile pass.",
    buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: "stockroom_operator_workqueue_depth",
    help: "Keys waiting in the work queue.",
    registers: [this.registry],
  });
  readonly leader = new Gauge({
    name: "stockroom_operator_leader",
    help: "1 while this instance holds the leader lease.",
    registers: [this.registry],
  });
  readonly watchRestarts = new Counter({
    name: "stockroom_operator_watch_restarts_total",
    help: "Informer restarts after a watch or list failure.",
    labelNames: ["resource"],
    registers: [this.registry],
  });
  readonly outletReady = new Gauge({
    name: "stockroom_outlet_ready",
    help: "1 when the outlet's Ready condition is True.",
    labelNames: ["namespace", "outlet"],
    registers: [this.registry],
  });
  readonly replicationLag = new Gauge({
    name: "stockroom_outlet_replication_lag_events",
    help: "Events committed at the outlet and not yet replicated, from its heartbeat.",
    labelNames: ["namespace", "outlet"],
    registers: [this.registry],
  });

  constructor() {
    this.leader.set(0);
  }
}
