import {
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  Watch,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { K8sObject } from "./fake-api/store.ts";
import { outletResource, startCluster, type TestCluster } from "./support/cluster.ts";
import { waitFor } from "./support/wait.ts";

// The fake API server itself, driven by @kubernetes/client-node over HTTP: if these hold, the
// operator tests exercise the client against real API semantics.

let cluster: TestCluster;
let core: CoreV1Api;
let apps: AppsV1Api;
let custom: CustomObjectsApi;
let objects: KubernetesObjectApi;

const codeOf = async (promise: Promise<unknown>) =>
  promise.then(
    () => 0,
    (e: { code?: number }) => e.code,
  );

beforeAll(async () => {
  cluster = await startCluster(["t"]);
  const kc = cluster.server.kubeConfig("t");
  core = kc.makeApiClient(CoreV1Api);
  apps = kc.makeApiClient(AppsV1Api);
  custom = kc.makeApiClient(CustomObjectsApi);
  objects = KubernetesObjectApi.makeApiClient(kc);
});

afterAll(async () => {
  await cluster.stop();
});

const configMap = (name: string, data: Record<string, string> = { a: "1" }) => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, namespace: "t" },
  data,
});

describe("fake API server", () => {
  it("serves discovery for built-in groups and for the Outlet CRD once created", async () => {
    const groups = (await (await fetch(`${cluster.server.url}/apis`)).json()) as { groups: { name: string }[] };
    expect(groups.groups.map((g) => g.name)).toEqual(
      expect.arrayContaining(["apps", "coordination.k8s.io", "stockroom.dev"]),
    );
    const resources = (await (await fetch(`${cluster.server.url}/apis/stockroom.dev/v1alpha1`)).json()) as {
      resources: { name: string; kind: string; namespaced: boolean; shortNames?: string[] }[];
    };
    expect(resources.resources).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: "outlets", kind: "Outlet", namespaced: true, shortNames: ["outlet"] }),
        expect.objectContaining({ name: "outlets/status" }),
      ]),
    );
    // KubernetesObjectApi resolves kinds through discovery.
    const created = (await objects.create(configMap("discovered"))) as K8sObject;
    expect(created.metadata.uid).toBeTruthy();
  });

  it("creates, gets, replaces with resourceVersion checks, and refuses a stale one with 409", async () => {
    const created = await core.createNamespacedConfigMap({ namespace: "t", body: configMap("cm1") });
    expect(await codeOf(core.createNamespacedConfigMap({ namespace: "t", body: configMap("cm1") }))).toBe(409);
    const read = await core.readNamespacedConfigMap({ namespace: "t", name: "cm1" });
    expect(read.metadata?.resourceVersion).toBe(created.metadata?.resourceVersion);
    const updated = await core.replaceNamespacedConfigMap({
      namespace: "t",
      name: "cm1",
      body: { ...read, data: { a: "2" } },
    });
    expect(Number(updated.metadata?.resourceVersion)).toBeGreaterThan(Number(read.metadata?.resourceVersion));
    expect(
      await codeOf(
        core.replaceNamespacedConfigMap({ namespace: "t", name: "cm1", body: { ...read, data: { a: "3" } } }),
      ),
    ).toBe(409);
    expect(await codeOf(core.readNamespacedConfigMap({ namespace: "t", name: "nope" }))).toBe(404);
    expect(
      await codeOf(
        core.createNamespacedConfigMap({ namespace: "missing", body: { ...configMap("x"), metadata: { name: "x" } } }),
      ),
    ).toBe(404);
  });

  it("lists with label selectors and a resourceVersion, and watches resume from it", async () => {
    await core.createNamespacedConfigMap({
      namespace: "t",
      body: { ...configMap("l1"), metadata: { name: "l1", labels: { app: "x" } } },
    });
    await core.createNamespacedConfigMap({
      namespace: "t",
      body: { ...configMap("l2"), metadata: { name: "l2", labels: { app: "y" } } },
    });
    const list = await core.listNamespacedConfigMap({ namespace: "t", labelSelector: "app=x" });
    expect(list.items.map((i) => i.metadata?.name)).toEqual(["l1"]);
    const rv = list.metadata!.resourceVersion!;

    await core.createNamespacedConfigMap({
      namespace: "t",
      body: { ...configMap("l3"), metadata: { name: "l3", labels: { app: "x" } } },
    });
    const seen: string[] = [];
    const watch = new Watch(cluster.server.kubeConfig("t"));
    const controller = await watch.watch(
      "/api/v1/namespaces/t/configmaps",
      { resourceVersion: rv, labelSelector: "app=x" },
      (type, obj) => seen.push(`${type} ${obj.metadata.name}`),
      () => {},
    );
    await core.patchNamespacedConfigMap(
      { namespace: "t", name: "l1", body: { metadata: { labels: { app: "z" } } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    await waitFor("watch events", () => seen.length >= 2);
    controller.abort();
    // l3 happened after the list's resourceVersion; l1 left the selector.
    expect(seen).toEqual(["ADDED l3", "DELETED l1"]);
  });

  it("sends ERROR 410 Gone on a watch from a compacted resourceVersion", async () => {
    const list = await core.listNamespacedConfigMap({ namespace: "t" });
    await core.createNamespacedConfigMap({ namespace: "t", body: configMap("after-compaction") });
    cluster.server.expireWatches();
    const events: { type: string; code?: number }[] = [];
    let ended = false;
    await new Watch(cluster.server.kubeConfig("t")).watch(
      "/api/v1/namespaces/t/configmaps",
      { resourceVersion: list.metadata!.resourceVersion },
      (type, obj) => events.push({ type, code: obj.code }),
      () => {
        ended = true;
      },
    );
    await waitFor("the watch to end", () => ended);
    expect(events).toEqual([{ type: "ERROR", code: 410 }]);
  });

  it("applies merge and JSON patches", async () => {
    await core.createNamespacedConfigMap({ namespace: "t", body: configMap("p1", { a: "1", b: "2" }) });
    const merged = await core.patchNamespacedConfigMap(
      { namespace: "t", name: "p1", body: { data: { a: null, c: "3" } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    expect(merged.data).toEqual({ b: "2", c: "3" });
    const patched = await core.patchNamespacedConfigMap(
      { namespace: "t", name: "p1", body: [{ op: "replace", path: "/data/b", value: "9" }] },
      setHeaderOptions("Content-Type", PatchStrategy.JsonPatch),
    );
    expect(patched.data).toEqual({ b: "9", c: "3" });
    expect(
      await codeOf(
        core.patchNamespacedConfigMap(
          { namespace: "t", name: "p1", body: { metadata: { resourceVersion: "1" }, data: { d: "4" } } },
          setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
        ),
      ),
    ).toBe(409);
  });

  it("server-side apply: creates, removes fields the manager dropped, keeps others' fields, refuses conflicts without force", async () => {
    const apply = (body: object, manager: string, force = false) =>
      objects.patch(body as never, undefined, undefined, manager, force, PatchStrategy.ServerSideApply);
    const first = await apply(configMap("ssa", { a: "1", b: "2" }), "mgr-a");
    expect(cluster.server.requests.at(-1)).toMatchObject({
      verb: "patch",
      contentType: "application/apply-patch+yaml",
      status: 201,
    });
    expect((first as K8sObject).metadata.managedFields?.map((m) => [m.manager, m.operation])).toEqual([
      ["mgr-a", "Apply"],
    ]);

    await apply(configMap("ssa", { x: "1" }), "mgr-b");
    const dropped = (await apply(configMap("ssa", { a: "1" }), "mgr-a")) as K8sObject;
    expect(dropped.data).toEqual({ a: "1", x: "1" });

    expect(await codeOf(apply(configMap("ssa", { a: "changed" }), "mgr-b"))).toBe(409);
    const forced = (await apply(configMap("ssa", { a: "changed" }), "mgr-b", true)) as K8sObject;
    expect(forced.data).toEqual({ a: "changed" });

    const before = await core.readNamespacedConfigMap({ namespace: "t", name: "ssa" });
    const same = (await apply(configMap("ssa", { a: "changed" }), "mgr-b", true)) as K8sObject;
    expect(same.metadata.resourceVersion).toBe(before.metadata?.resourceVersion);
    expect(
      await codeOf(
        objects.patch(configMap("ssa") as never, undefined, undefined, undefined, false, PatchStrategy.ServerSideApply),
      ),
    ).toBe(400);
  });

  it("bumps generation only for spec changes and keeps status and spec apart through the status subresource", async () => {
    const outlet = outletResource("gen", { outletId: "gen-1" }, "t");
    const created = (await custom.createNamespacedCustomObject({
      group: "stockroom.dev",
      version: "v1alpha1",
      namespace: "t",
      plural: "outlets",
      body: { ...outlet, status: { endpoint: "ignored on create" } },
    })) as K8sObject;
    expect(created.metadata.generation).toBe(1);
    expect(created.status).toBeUndefined();
    expect((created.spec as Record<string, unknown>).timezone).toBe("UTC");

    const withStatus = (await custom.replaceNamespacedCustomObjectStatus({
      group: "stockroom.dev",
      version: "v1alpha1",
      namespace: "t",
      plural: "outlets",
      name: "gen",
      body: { ...created, spec: { outletId: "ignored" }, status: { endpoint: "http://x" } },
    })) as K8sObject;
    expect(withStatus.metadata.generation).toBe(1);
    expect((withStatus.spec as Record<string, unknown>).outletId).toBe("gen-1");
    expect(withStatus.status).toEqual({ endpoint: "http://x" });

    const labelled = (await custom.patchNamespacedCustomObject(
      {
        group: "stockroom.dev",
        version: "v1alpha1",
        namespace: "t",
        plural: "outlets",
        name: "gen",
        body: { metadata: { labels: { a: "b" } }, status: { endpoint: "no" } },
      },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    )) as K8sObject;
    expect(labelled.metadata.generation).toBe(1);
    expect(labelled.status).toEqual({ endpoint: "http://x" });

    const changed = (await custom.patchNamespacedCustomObject(
      {
        group: "stockroom.dev",
        version: "v1alpha1",
        namespace: "t",
        plural: "outlets",
        name: "gen",
        body: { spec: { timezone: "Europe/Paris" } },
      },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    )) as K8sObject;
    expect(changed.metadata.generation).toBe(2);
  });

  it("validates custom resources with the CRD schema and CEL rules, including outletId immutability", async () => {
    const create = (spec: Record<string, unknown>, name: string) =>
      custom.createNamespacedCustomObject({
        group: "stockroom.dev",
        version: "v1alpha1",
        namespace: "t",
        plural: "outlets",
        body: outletResource(name, spec, "t"),
      });
    expect(await codeOf(create({ outletId: "bad id!" }, "v1"))).toBe(422);
    expect(await codeOf(create({ outletId: "ok", nats: { credentialsSecret: { name: "s" } } }, "v2"))).toBe(422);
    await create({ outletId: "fixed" }, "v3");
    const error = await custom
      .patchNamespacedCustomObject(
        {
          group: "stockroom.dev",
          version: "v1alpha1",
          namespace: "t",
          plural: "outlets",
          name: "v3",
          body: { spec: { outletId: "moved" } },
        },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      )
      .catch((e: { code: number; body: string }) => e);
    expect(error).toMatchObject({ code: 422 });
    expect(JSON.stringify(error)).toContain("outletId is immutable");
  });

  it("holds deletion while finalizers remain and refuses new finalizers meanwhile", async () => {
    await core.createNamespacedConfigMap({
      namespace: "t",
      body: { ...configMap("fin"), metadata: { name: "fin", finalizers: ["test/hold"] } },
    });
    await core.deleteNamespacedConfigMap({ namespace: "t", name: "fin" });
    const deleting = await core.readNamespacedConfigMap({ namespace: "t", name: "fin" });
    expect(deleting.metadata?.deletionTimestamp).toBeTruthy();
    expect(
      await codeOf(
        core.replaceNamespacedConfigMap({
          namespace: "t",
          name: "fin",
          body: { ...deleting, metadata: { ...deleting.metadata, finalizers: ["test/hold", "test/more"] } },
        }),
      ),
    ).toBe(403);
    await core.replaceNamespacedConfigMap({
      namespace: "t",
      name: "fin",
      body: { ...deleting, metadata: { ...deleting.metadata, finalizers: [] } },
    });
    expect(await codeOf(core.readNamespacedConfigMap({ namespace: "t", name: "fin" }))).toBe(404);
  });

  it("garbage-collects dependents of a deleted owner, and only once all their owners are gone", async () => {
    const owner = await core.createNamespacedConfigMap({ namespace: "t", body: configMap("owner") });
    const other = await core.createNamespacedConfigMap({ namespace: "t", body: configMap("other-owner") });
    const ref = (o: typeof owner) => ({
      apiVersion: "v1",
      kind: "ConfigMap",
      name: o.metadata!.name!,
      uid: o.metadata!.uid!,
    });
    await core.createNamespacedConfigMap({
      namespace: "t",
      body: { ...configMap("dep"), metadata: { name: "dep", ownerReferences: [ref(owner)] } },
    });
    await core.createNamespacedConfigMap({
      namespace: "t",
      body: { ...configMap("shared"), metadata: { name: "shared", ownerReferences: [ref(owner), ref(other)] } },
    });
    await core.deleteNamespacedConfigMap({ namespace: "t", name: "owner" });
    await waitFor(
      "dep to be collected",
      async () => (await codeOf(core.readNamespacedConfigMap({ namespace: "t", name: "dep" }))) === 404,
    );
    const shared = await core.readNamespacedConfigMap({ namespace: "t", name: "shared" });
    expect(shared.metadata?.ownerReferences?.map((r) => r.name)).toEqual(["other-owner"]);
  });

  it("refuses changes to immutable StatefulSet fields and runs the simulated StatefulSet controller", async () => {
    const sts = {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: { name: "db", namespace: "t" },
      spec: {
        serviceName: "db",
        selector: { matchLabels: { app: "db" } },
        template: { metadata: { labels: { app: "db" } }, spec: { containers: [{ name: "c", image: "i" }] } },
        volumeClaimTemplates: [
          {
            metadata: { name: "data" },
            spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
          },
        ],
      },
    };
    await apps.createNamespacedStatefulSet({ namespace: "t", body: sts });
    const ready = await waitFor("status", async () => {
      const s = await apps.readNamespacedStatefulSet({ namespace: "t", name: "db" });
      return s.status?.readyReplicas === 1 ? s : undefined;
    });
    expect(ready.status?.observedGeneration).toBe(1);
    expect(
      (await core.readNamespacedPersistentVolumeClaim({ namespace: "t", name: "data-db-0" })).metadata?.labels,
    ).toEqual({ app: "db" });
    expect(
      await codeOf(
        apps.replaceNamespacedStatefulSet({
          namespace: "t",
          name: "db",
          body: { ...ready, spec: { ...ready.spec!, serviceName: "other" } },
        }),
      ),
    ).toBe(422);
  });

  it("refuses unknown fields and invalid values in built-in kinds", async () => {
    const response = await fetch(`${cluster.server.url}/api/v1/namespaces/t/configmaps`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "typo" }, datta: { a: "1" } }),
    });
    expect(response.status).toBe(422);
    expect(await codeOf(core.createNamespacedConfigMap({ namespace: "t", body: { ...configMap("Bad_Name") } }))).toBe(
      422,
    );
  });

  it("stores Leases with MicroTime and 409s a stale replace", async () => {
    const coordination = cluster.server.kubeConfig("t").makeApiClient(CoordinationV1Api);
    const lease = await coordination.createNamespacedLease({
      namespace: "t",
      body: {
        metadata: { name: "l" },
        spec: { holderIdentity: "a", renewTime: "2026-01-01T00:00:00.123456Z" as unknown as Date },
      },
    });
    await coordination.replaceNamespacedLease({
      namespace: "t",
      name: "l",
      body: { ...lease, spec: { ...lease.spec, holderIdentity: "b" } },
    });
    expect(
      await codeOf(
        coordination.replaceNamespacedLease({
          namespace: "t",
          name: "l",
          body: { ...lease, spec: { ...lease.spec, holderIdentity: "c" } },
        }),
      ),
    ).toBe(409);
    expect(
      await codeOf(
        coordination.createNamespacedLease({
          namespace: "t",
          body: { metadata: { name: "m" }, spec: { renewTime: "2026-01-01T00:00:00.123Z" as unknown as Date } },
        }),
      ),
    ).toBe(422);
  });

  it("prints custom resources as a Table with the CRD's printer columns", async () => {
    const response = await fetch(`${cluster.server.url}/apis/stockroom.dev/v1alpha1/namespaces/t/outlets/gen`, {
      headers: { accept: "application/json;as=Table;v=v1;g=meta.k8s.io" },
    });
    const table = (await response.json()) as { columnDefinitions: { name: string }[]; rows: { cells: unknown[] }[] };
    expect(table.columnDefinitions.map((c) => c.name)).toEqual([
      "Name",
      "Ready",
      "Seq",
      "Lag",
      "Outlet ID",
      "Endpoint",
      "Age",
    ]);
    expect(table.rows[0]!.cells.slice(0, 6)).toEqual(["gen", null, null, null, "gen-1", "http://x"]);
  });
});
