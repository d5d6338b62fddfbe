import type { Heartbeat } from "./heartbeat.ts";
import type { Condition, ConditionType, OutletStatus } from "./outlet.ts";

/** What the reconciler saw, from which the status follows. */
export interface Observation {
  generation: number;
  paused: boolean;
  endpoint: string;
  statefulSet: StatefulSetState | null;
  /** The last reconcile error, if the pass failed. */
  error: string | null;
  /** undefined: no NATS configured (replication not reported); null: no heartbeat found. */
  heartbeat: Heartbeat | null | undefined;
  now: Date;
  /** A heartbeat older than this is stale. */
  heartbeatStaleAfterMs: number;
  /** Replication lag (events) at which the outlet counts as degraded. */
  lagDegradedAt: number;
}

export interface StatefulSetState {
  generation: number;
  observedGeneration: number;
  replicas: number;
  readyReplicas: number;
  updatedReplicas: number;
  currentRevision: string | undefined;
  updateRevision: string | undefined;
}

type Wanted = Omit<Condition, "lastTransitionTime" | "observedGeneration">;

const condition = (type: ConditionType, status: boolean, reason: string, message: string): Wanted => ({
  type,
  status: status ? "True" : "False",
  reason,
  message,
});

export function rolloutPending(sts: StatefulSetState): boolean {
  return (
    sts.observedGeneration < sts.generation ||
    sts.updatedReplicas < sts.replicas ||
    (sts.updateRevision !== undefined && sts.currentRevision !== sts.updateRevision)
  );
}

export function wantedConditions(o: Observation): Wanted[] {
  const sts = o.statefulSet;
  const ready = sts
    ? sts.readyReplicas >= 1
      ? condition("Ready", true, "OutletReady", "the outlet node passes its readiness probe")
      : condition("Ready", false, "PodNotReady", "the outlet node is not ready yet")
    : condition("Ready", false, o.paused ? "Paused" : "Creating", "the outlet's StatefulSet does not exist");

  let progressing: Wanted;
  if (o.paused)
    progressing = condition(
      "Progressing",
      false,
      "Paused",
      "spec.paused is true: the operator leaves the outlet's objects as they are",
    );
  else if (!sts) progressing = condition("Progressing", true, "Creating", "creating the outlet's objects");
  else if (rolloutPending(sts))
    progressing = condition(
      "Progressing",
      true,
      "RollingOut",
      `rolling out revision ${sts.updateRevision ?? "(pending)"}`,
    );
  else
    progressing = condition(
      "Progressing",
      false,
      "RolloutComplete",
      `revision ${sts.currentRevision ?? "(unknown)"} is rolled out`,
    );

  let degraded = condition("Degraded", false, "AsExpected", "no problem seen");
  const hb = o.heartbeat;
  if (o.error) degraded = condition("Degraded", true, "ReconcileError", o.error);
  else if (hb && o.now.getTime() - hb.ts > o.heartbeatStaleAfterMs) {
    degraded = condition("Degraded", true, "HeartbeatStale", `no heartbeat since ${new Date(hb.ts).toISOString()}`);
  } else if (hb && hb.lag >= o.lagDegradedAt) {
    degraded = condition("Degraded", true, "ReplicationLagging", `${hb.lag} events not yet replicated to HQ`);
  }
  return [ready, progressing, degraded];
}

/** Keeps lastTransitionTime where a condition's status did not change (metav1.Condition semantics). */
export function mergeConditions(
  existing: Condition[] | undefined,
  wanted: Wanted[],
  generation: number,
  now: Date,
): Condition[] {
  return wanted.map((w) => {
    const before = existing?.find((c) => c.type === w.type);
    const lastTransitionTime =
      before && before.status === w.status ? before.lastTransitionTime : now.toISOString().replace(/\.\d{3}Z$/, "Z");
    return { ...w, lastTransitionTime, observedGeneration: generation };
  });
}

export function desiredStatus(existing: OutletStatus | undefined, o: Observation): OutletStatus {
  const status: OutletStatus = {
    observedGeneration: o.generation,
    conditions: mergeConditions(existing?.conditions, wantedConditions(o), o.generation, o.now),
    endpoint: o.endpoint,
  };
  if (o.heartbeat) {
    status.replication = {
      lastSeq: o.heartbeat.lastSeq,
      replicatedSeq: o.heartbeat.replicatedSeq,
      lag: o.heartbeat.lag,
      lastSeen: new Date(o.heartbeat.ts).toISOString(),
    };
  } else if (o.heartbeat === null && existing?.replication) {
    // NATS configured but the heartbeat is unreadable right now: keep the last known state.
    status.replication = existing.replication;
  }
  return status;
}

/** The conditions whose status changed (or appeared): what deserves a Kubernetes Event. */
export function transitions(before: Condition[] | undefined, after: Condition[]): Condition[] {
  return after.filter((c) => before?.find((b) => b.type === c.type)?.status !== c.status);
}
