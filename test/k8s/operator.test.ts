import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Operator } from "../../apps/operator/src/index.ts";
import type { K8sObject } from "./fake-api/store.ts";
import { outletResource, startCluster, type TestCluster } from "./support/cluster.ts";
import { MemoryHeartbeats } from "./support/memory-heartbeats.ts";
import { startOperator, testSettings } from "./support/operator-harness.ts";
import { waitFor } from "./support/wait.ts";

// The operator against the fake API server: each case is one of the Tests.

const NS = "stores";
const OUTLET = ["stockroom.dev/v1alpha1", "Outlet"] as const;

let cluster: TestCluster;
let operator: Operator;
const heartbeats = new MemoryHeartbeats();

beforeAll(async () => {
  cluster = await startCluster([NS]);
  operator = await startOperator(
    cluster.server.kubeConfig(),
    testSettings("solo", { leaderElection: null, resyncMs: 200 }),
    heartbeats,
  );
});

afterAll(async () => {
  await operator.stop();
  await cluster.stop();
});

const outlet = (name: string) => cluster.server.get(...OUTLET, NS, name);
const child = (apiVersion: string, kind: string, name: string) => cluster.server.get(apiVersion, kind, NS, name);
const statefulSet = (name: string) => child("apps/v1", "StatefulSet", name);
const condition = (o: K8sObject | undefined, type: string) =>
  (
    (o?.status as { conditions?: { type: string; status: string; reason: string; observedGeneration?: number }[] })
      ?.conditions ?? []
  ).find((c) => c.type === type);
const container = (sts: K8sObject | undefined) =>
  (sts!.spec as { template: { spec: { containers: { image: string; resources: unknown }[] } } }).template.spec
    .containers[0]!;
const podAnnotations = (sts: K8sObject | undefined) =>
  (sts!.spec as { template: { metadata: { annotations: Record<string, string> } } }).template.metadata.annotations;

async function createOutlet(name: string, spec: Record<string, unknown>): Promise<void> {
  await cluster.server.create(outletResource(name, spec, NS), "kubectl");
}

async function patchSpec(name: string, spec: Record<string, unknown>): Promise<void> {
  const current = outlet(name)!;
  await fetch(
    `${cluster.server.url}/apis/stockroom.dev/v1alpha1/namespaces/${NS}/outlets/${name}?fieldManager=kubectl`,
    {
      method: "PATCH",
      headers: { "content-type": "application/merge-patch+json" },
      body: JSON.stringify({ spec }),
    },
  ).then(async (r) => {
    if (!r.ok) throw new Error(`patch ${name}: ${r.status} ${await r.text()}`);
  });
  expect(current).toBeDefined();
}

async function deleteOutlet(name: string): Promise<void> {
  const r = await fetch(`${cluster.server.url}/apis/stockroom.dev/v1alpha1/namespaces/${NS}/outlets/${name}`, {
    method: "DELETE",
  });
  expect(r.status).toBe(200);
}

const readyAndObserved = (name: string) => () => {
  const o = outlet(name);
  const status = o?.status as { observedGeneration?: number } | undefined;
  return condition(o, "Ready")?.status === "True" &&
    condition(o, "Progressing")?.status === "False" &&
    status?.observedGeneration === o?.metadata.generation
    ? o
    : undefined;
};

describe("operator", () => {
  it("creates every child with an owner reference, by server-side apply with one field manager, and reports Ready", async () => {
    await createOutlet("store-1", {
      outletId: "store-1",
      displayName: "High Street",
      podDisruptionBudget: { enabled: true },
    });
    const ready = await waitFor("store-1 ready", readyAndObserved("store-1"));

    const owner = {
      apiVersion: "stockroom.dev/v1alpha1",
      kind: "Outlet",
      name: "store-1",
      uid: ready.metadata.uid,
      controller: true,
      blockOwnerDeletion: true,
    };
    const children = [
      child("v1", "ConfigMap", "store-1-config"),
      child("v1", "Service", "store-1"),
      statefulSet("store-1"),
      child("policy/v1", "PodDisruptionBudget", "store-1"),
    ];
    for (const c of children) {
      expect(c?.metadata.ownerReferences).toEqual([owner]);
      expect(
        c?.metadata.managedFields
          ?.filter((m) => m.manager !== "statefulset-controller")
          .map((m) => [m.manager, m.operation]),
      ).toEqual([["stockroom-operator", "Apply"]]);
      expect(c?.metadata.labels).toMatchObject({
        "app.kubernetes.io/managed-by": "stockroom-operator",
        "stockroom.dev/outlet-id": "store-1",
      });
    }
    const applies = cluster.server.requests.filter((r) => r.contentType === "application/apply-patch+yaml");
    expect(new Set(applies.map((r) => r.query.fieldManager))).toEqual(new Set(["stockroom-operator"]));
    expect(applies.every((r) => r.query.force === "true")).toBe(true);

    expect(ready.metadata.finalizers).toEqual(["stockroom.dev/data-policy"]);
    expect(ready.status).toMatchObject({ observedGeneration: 1, endpoint: "http://store-1.stores.svc:8080" });
    expect(condition(ready, "Degraded")).toMatchObject({
      status: "False",
      reason: "AsExpected",
      observedGeneration: 1,
    });
    expect(cluster.server.get("v1", "PersistentVolumeClaim", NS, "data-store-1-0")).toBeDefined();

    const events = await waitFor("events", () => {
      const list = cluster.server
        .list("v1", "Event", NS)
        .filter((e) => (e.involvedObject as { name: string }).name === "store-1");
      return list.some((e) => e.reason === "OutletReady") ? list : undefined;
    });
    expect(events.map((e) => e.reason)).toEqual(expect.arrayContaining(["Created", "OutletReady"]));
    expect(events.find((e) => e.reason === "Created")?.involvedObject).toMatchObject({
      kind: "Outlet",
      uid: ready.metadata.uid,
    });
  });

  it("rolls out a spec change: children updated, Progressing while the new revision is not ready, observedGeneration advanced", async () => {
    await createOutlet("store-2", { outletId: "store-2" });
    const before = await waitFor("store-2 ready", readyAndObserved("store-2"));
    const hashBefore = podAnnotations(statefulSet("store-2"))["stockroom.dev/config-hash"];
    await cluster.controllers.setPodsReady(NS, "store-2", false);

    await patchSpec("store-2", {
      image: "stockroom:2",
      timezone: "Europe/London",
      riskLimits: { brands: { acme: 50 } },
      resources: { requests: { cpu: "250m" } },
    });
    const rolling = await waitFor("rolling out", () => {
      const o = outlet("store-2");
      return condition(o, "Progressing")?.reason === "RollingOut" &&
        (o?.status as { observedGeneration?: number } | undefined)?.observedGeneration === 2
        ? o
        : undefined;
    });
    expect(rolling.metadata.generation).toBe(2);
    expect(condition(rolling, "Ready")).toMatchObject({ status: "False", reason: "PodNotReady" });
    const sts = statefulSet("store-2");
    expect(container(sts).image).toBe("stockroom:2");
    // A merge patch merges into the defaulted resources.
    expect(container(sts).resources).toEqual({ requests: { cpu: "250m", memory: "256Mi" }, limits: { memory: "1Gi" } });
    expect(podAnnotations(sts)["stockroom.dev/config-hash"]).not.toBe(hashBefore);
    const config = JSON.parse(
      (child("v1", "ConfigMap", "store-2-config")!.data as Record<string, string>)["outlet.json"]!,
    );
    expect(config).toMatchObject({ outletId: "store-2", timezone: "Europe/London", brandLimits: { acme: 50 } });

    await cluster.controllers.setPodsReady(NS, "store-2", true);
    const done = await waitFor("rolled out", readyAndObserved("store-2"));
    expect(condition(done, "Ready")!.observedGeneration).toBe(2);
    expect(before.metadata.uid).toBe(done.metadata.uid);
  });

  it("recreates children that someone deletes, and takes back fields someone changes", async () => {
    await createOutlet("store-3", { outletId: "store-3" });
    await waitFor("store-3 ready", readyAndObserved("store-3"));
    const oldUids = ["ConfigMap:store-3-config", "Service:store-3", "StatefulSet:store-3"].map((k) => {
      const [kind, name] = k.split(":") as [string, string];
      return child(kind === "StatefulSet" ? "apps/v1" : "v1", kind, name)!.metadata.uid;
    });
    await cluster.server.delete("v1", "Service", NS, "store-3");
    await cluster.server.delete("v1", "ConfigMap", NS, "store-3-config");
    await cluster.server.delete("apps/v1", "StatefulSet", NS, "store-3");
    const recreated = await waitFor("children recreated", () => {
      const all = [
        child("v1", "ConfigMap", "store-3-config"),
        child("v1", "Service", "store-3"),
        statefulSet("store-3"),
      ];
      return all.every((c) => c !== undefined) ? all : undefined;
    });
    expect(recreated.map((c) => c!.metadata.uid)).not.toEqual(expect.arrayContaining(oldUids));

    const r = await fetch(
      `${cluster.server.url}/apis/apps/v1/namespaces/${NS}/statefulsets/store-3?fieldManager=kubectl-edit`,
      {
        method: "PATCH",
        headers: { "content-type": "application/merge-patch+json" },
        body: JSON.stringify({ spec: { replicas: 3 } }),
      },
    );
    expect(r.status).toBe(200);
    await waitFor(
      "replicas taken back",
      () => (statefulSet("store-3")?.spec as { replicas?: number } | undefined)?.replicas === 1,
    );
  });

  it("honours paused: no rollout, no repair, status still observed; resumes when unpaused", async () => {
    await createOutlet("store-4", { outletId: "store-4" });
    await waitFor("store-4 ready", readyAndObserved("store-4"));
    await patchSpec("store-4", { paused: true, image: "stockroom:paused" });
    const paused = await waitFor("paused", () => {
      const o = outlet("store-4");
      return condition(o, "Progressing")?.reason === "Paused" ? o : undefined;
    });
    expect((paused.status as { observedGeneration: number }).observedGeneration).toBe(2);
    expect(condition(paused, "Ready")?.status).toBe("True");
    await cluster.server.delete("v1", "Service", NS, "store-4");
    // Give the operator every chance to (wrongly) act: several reconciles happen in this time (resync 200 ms).
    const reconciles = await operator.metrics.reconciles.get();
    const total = () => reconciles.values.reduce((n, v) => n + v.value, 0);
    const start = total();
    await waitFor("more reconciles", async () => {
      const now = await operator.metrics.reconciles.get();
      return now.values.reduce((n, v) => n + v.value, 0) >= start + 3;
    });
    expect(child("v1", "Service", "store-4")).toBeUndefined();
    expect(container(statefulSet("store-4")).image).toBe("stockroom:test");

    await patchSpec("store-4", { paused: false });
    await waitFor(
      "resumed",
      () => child("v1", "Service", "store-4") && container(statefulSet("store-4")).image === "stockroom:paused",
    );
    await waitFor("store-4 ready again", readyAndObserved("store-4"));
  });

  it("deletes with dataPolicy Retain: children collected, the PVC kept, then the Outlet goes", async () => {
    await createOutlet("store-5", { outletId: "store-5", storage: { dataPolicy: "Retain" } });
    await waitFor("store-5 ready", readyAndObserved("store-5"));
    await waitFor("pvc", () => cluster.server.get("v1", "PersistentVolumeClaim", NS, "data-store-5-0"));
    await deleteOutlet("store-5");
    await waitFor("outlet gone", () => outlet("store-5") === undefined);
    await waitFor(
      "children collected",
      () =>
        !statefulSet("store-5") && !child("v1", "Service", "store-5") && !child("v1", "ConfigMap", "store-5-config"),
    );
    expect(cluster.server.get("v1", "PersistentVolumeClaim", NS, "data-store-5-0")).toBeDefined();
    expect(
      cluster.server
        .list("v1", "Event", NS)
        .some((e) => e.reason === "DataRetained" && String(e.message).includes("data-store-5-0")),
    ).toBe(true);
  });

  it("deletes with dataPolicy Delete: the finalizer removes the PVC before letting the Outlet go", async () => {
    await createOutlet("store-6", { outletId: "store-6", storage: { dataPolicy: "Delete" } });
    await waitFor("store-6 ready", readyAndObserved("store-6"));
    await waitFor("pvc", () => cluster.server.get("v1", "PersistentVolumeClaim", NS, "data-store-6-0"));
    await deleteOutlet("store-6");
    await waitFor("outlet gone", () => outlet("store-6") === undefined);
    expect(cluster.server.get("v1", "PersistentVolumeClaim", NS, "data-store-6-0")).toBeUndefined();
    await waitFor("children collected", () => !statefulSet("store-6") && !child("v1", "ConfigMap", "store-6-config"));
  });

  it("reports replication from the heartbeat in status and in the printer columns", async () => {
    heartbeats.beats.set("store-7", { outletId: "store-7", lastSeq: 120, replicatedSeq: 100, lag: 20, ts: Date.now() });
    await createOutlet("store-7", { outletId: "store-7" });
    const ready = await waitFor("replication in status", () => {
      const o = readyAndObserved("store-7")();
      return (o?.status as { replication?: unknown })?.replication ? o : undefined;
    });
    expect((ready.status as { replication: unknown }).replication).toMatchObject({
      lastSeq: 120,
      replicatedSeq: 100,
      lag: 20,
    });
    const table = (await (
      await fetch(`${cluster.server.url}/apis/stockroom.dev/v1alpha1/namespaces/${NS}/outlets/store-7`, {
        headers: { accept: "application/json;as=Table;v=v1;g=meta.k8s.io" },
      })
    ).json()) as { columnDefinitions: { name: string }[]; rows: { cells: unknown[] }[] };
    const row = Object.fromEntries(table.columnDefinitions.map((c, i) => [c.name, table.rows[0]!.cells[i]]));
    expect(row).toMatchObject({
      Name: "store-7",
      Ready: "True",
      Seq: 120,
      Lag: 20,
      "Outlet ID": "store-7",
      Endpoint: "http://store-7.stores.svc:8080",
    });
    expect(row.Age).toMatch(/^\d+s$/);

    heartbeats.beats.set("store-7", {
      outletId: "store-7",
      lastSeq: 5_000,
      replicatedSeq: 100,
      lag: 4_900,
      ts: Date.now(),
    });
    const lagging = await waitFor("degraded by lag", () => {
      const o = outlet("store-7");
      return condition(o, "Degraded")?.reason === "ReplicationLagging" ? o : undefined;
    });
    expect(condition(lagging, "Degraded")?.status).toBe("True");
    heartbeats.beats.set("store-7", {
      outletId: "store-7",
      lastSeq: 5_000,
      replicatedSeq: 5_000,
      lag: 0,
      ts: Date.now() - 120_000,
    });
    await waitFor(
      "degraded by a stale heartbeat",
      () => condition(outlet("store-7"), "Degraded")?.reason === "HeartbeatStale",
    );
    expect(
      cluster.server.list("v1", "Event", NS).some((e) => e.reason === "ReplicationLagging" && e.type === "Warning"),
    ).toBe(true);
  });

  it("keeps working after its watches get 410 Gone: relists and sees what changed", async () => {
    const lists = () => cluster.server.requests.filter((r) => r.verb === "list" && r.path.endsWith("/outlets")).length;
    const listsBefore = lists();
    cluster.server.expireWatches();
    await createOutlet("store-8", { outletId: "store-8" });
    await waitFor("store-8 ready after 410", readyAndObserved("store-8"));
    expect(lists()).toBeGreaterThan(listsBefore);
    await waitFor("watches reopened", () => cluster.server.openWatches >= 5);
  });

  it("treats 409 Conflict on a stale write as a retry, not a failure", async () => {
    const conflictsBefore =
      (await operator.metrics.reconciles.get()).values.find((v) => v.labels.result === "conflict")?.value ?? 0;
    cluster.server.interposeConcurrentWrite({ plural: "outlets", name: "store-9", subresource: "status" }, 2);
    await createOutlet("store-9", { outletId: "store-9" });
    const ready = await waitFor("store-9 ready despite conflicts", readyAndObserved("store-9"));
    expect(ready.metadata.annotations?.["fake.test/concurrent-write"]).toBeTruthy();
    const conflicts =
      (await operator.metrics.reconciles.get()).values.find((v) => v.labels.result === "conflict")?.value ?? 0;
    expect(conflicts).toBeGreaterThanOrEqual(conflictsBefore + 2);
    const refused = cluster.server.requests.filter(
      (r) => r.path.endsWith("/outlets/store-9/status") && r.status === 409,
    );
    expect(refused.length).toBeGreaterThanOrEqual(2);
    expect(cluster.server.list("v1", "Event", NS).some((e) => e.reason === "ReconcileError")).toBe(false);
  });

  it("removes the PodDisruptionBudget when it is switched off", async () => {
    await createOutlet("store-10", { outletId: "store-10", podDisruptionBudget: { enabled: true } });
    await waitFor("pdb", () => child("policy/v1", "PodDisruptionBudget", "store-10"));
    await patchSpec("store-10", { podDisruptionBudget: { enabled: false } });
    await waitFor("pdb removed", () => child("policy/v1", "PodDisruptionBudget", "store-10") === undefined);
  });

  it("serves health, readiness and metrics", async () => {
    const base = `http://127.0.0.1:${operator.port}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/stockroom_operator_reconcile_total\{result="success"\} \d+/);
    expect(metrics).toContain('stockroom_outlet_ready{namespace="stores",outlet="store-1"} 1');
    expect(metrics).toContain('stockroom_outlet_replication_lag_events{namespace="stores",outlet="store-7"}');
  });
});
