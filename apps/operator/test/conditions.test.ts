import { describe, expect, it } from "vitest";
import { desiredStatus, mergeConditions, type Observation, transitions, wantedConditions } from "../src/conditions.ts";

const base: Observation = {
  generation: 2,
  paused: false,
  endpoint: "http://a.ns.svc:8080",
  statefulSet: {
    generation: 3,
    observedGeneration: 3,
    replicas: 1,
    readyReplicas: 1,
    updatedReplicas: 1,
    currentRevision: "a-1",
    updateRevision: "a-1",
  },
  error: null,
  heartbeat: undefined,
  now: new Date("2026-05-01T12:00:00Z"),
  heartbeatStaleAfterMs: 60_000,
  lagDegradedAt: 1_000,
};

const byType = (o: Observation) =>
  Object.fromEntries(wantedConditions(o).map((c) => [c.type, `${c.status}/${c.reason}`]));

describe("conditions", () => {
  it("reads Ready, Progressing and Degraded off the StatefulSet, the error and the heartbeat", () => {
    expect(byType(base)).toEqual({
      Ready: "True/OutletReady",
      Progressing: "False/RolloutComplete",
      Degraded: "False/AsExpected",
    });
    expect(byType({ ...base, statefulSet: null })).toEqual({
      Ready: "False/Creating",
      Progressing: "True/Creating",
      Degraded: "False/AsExpected",
    });
    const rolling = { ...base.statefulSet!, readyReplicas: 0, updatedReplicas: 0, updateRevision: "a-2" };
    expect(byType({ ...base, statefulSet: rolling })).toMatchObject({
      Ready: "False/PodNotReady",
      Progressing: "True/RollingOut",
    });
    expect(byType({ ...base, statefulSet: { ...base.statefulSet!, observedGeneration: 2 } })).toMatchObject({
      Progressing: "True/RollingOut",
    });
    expect(byType({ ...base, paused: true })).toMatchObject({ Ready: "True/OutletReady", Progressing: "False/Paused" });
    expect(byType({ ...base, error: "boom" })).toMatchObject({ Degraded: "True/ReconcileError" });
    const beat = { outletId: "a", lastSeq: 10, replicatedSeq: 10, lag: 0, ts: base.now.getTime() };
    expect(byType({ ...base, heartbeat: beat })).toMatchObject({ Degraded: "False/AsExpected" });
    expect(byType({ ...base, heartbeat: { ...beat, lag: 1_000 } })).toMatchObject({
      Degraded: "True/ReplicationLagging",
    });
    expect(byType({ ...base, heartbeat: { ...beat, ts: base.now.getTime() - 61_000 } })).toMatchObject({
      Degraded: "True/HeartbeatStale",
    });
  });

  it("keeps lastTransitionTime while a condition's status stays, and moves it on a change", () => {
    const first = mergeConditions(undefined, wantedConditions(base), 2, base.now);
    const later = new Date("2026-05-01T13:00:00Z");
    const same = mergeConditions(first, wantedConditions({ ...base, now: later }), 3, later);
    expect(same.map((c) => c.lastTransitionTime)).toEqual(first.map((c) => c.lastTransitionTime));
    expect(same.every((c) => c.observedGeneration === 3)).toBe(true);
    const broken = mergeConditions(first, wantedConditions({ ...base, error: "boom", now: later }), 3, later);
    expect(broken.find((c) => c.type === "Degraded")!.lastTransitionTime).toBe("2026-05-01T13:00:00Z");
    expect(transitions(first, broken).map((c) => c.type)).toEqual(["Degraded"]);
  });

  it("reports replication only with a heartbeat source, keeping the last one while it is unreadable", () => {
    expect(desiredStatus(undefined, base)).not.toHaveProperty("replication");
    const beat = { outletId: "a", lastSeq: 10, replicatedSeq: 8, lag: 2, ts: Date.parse("2026-05-01T11:59:58Z") };
    const withBeat = desiredStatus(undefined, { ...base, heartbeat: beat });
    expect(withBeat.replication).toEqual({
      lastSeq: 10,
      replicatedSeq: 8,
      lag: 2,
      lastSeen: "2026-05-01T11:59:58.000Z",
    });
    expect(desiredStatus(withBeat, { ...base, heartbeat: null }).replication).toEqual(withBeat.replication);
    expect(desiredStatus(withBeat, base)).toMatchObject({ observedGeneration: 2, endpoint: "http://a.ns.svc:8080" });
  });
});
