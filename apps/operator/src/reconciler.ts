import type { KubernetesObject, V1StatefulSet } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { desiredChildren } from "./children/index.ts";
import { endpointOf } from "./children/names.ts";
import { desiredStatus, type StatefulSetState, transitions } from "./conditions.ts";
import type { EventRecorder } from "./events.ts";
import type { HeartbeatSource } from "./heartbeat.ts";
import { isConflict, type KubeClient } from "./kube-client.ts";
import { claimSelector } from "./labels.ts";
import type { OperatorMetrics } from "./metrics.ts";
import { FINALIZER, OUTLET_PORT, type Outlet, OutletSpec, type OutletStatus } from "./outlet.ts";

export interface ReconcilerSettings {
  defaultImage: string;
  /** Re-read heartbeats this often even when nothing changes. */
  resyncMs: number;
  heartbeatStaleAfterMs: number;
  lagDegradedAt: number;
}

/** The operator's view of the cluster: informer caches, read without API calls. */
export interface Caches {
  outlet(namespace: string, name: string): Outlet | undefined;
  child(kind: string, namespace: string, name: string): KubernetesObject | undefined;
}

export interface ReconcileResult {
  requeueAfterMs?: number;
}

/**
 * One level-triggered pass for one Outlet: whatever happened before, make the children match
 * the spec and the status match the children. Safe to run any number of times.
 */
export class Reconciler {
  constructor(
    private readonly kube: KubeClient,
    private readonly caches: Caches,
    private readonly heartbeats: HeartbeatSource | null,
    private readonly recorder: EventRecorder,
    private readonly metrics: OperatorMetrics,
    private readonly settings: ReconcilerSettings,
    private readonly logger: Logger,
  ) {}

  async reconcile(key: string): Promise<ReconcileResult> {
    const [namespace, name] = key.split("/") as [string, string];
    const cached = this.caches.outlet(namespace, name);
    if (!cached) {
      this.metrics.outletReady.remove({ namespace, outlet: name });
      this.metrics.replicationLag.remove({ namespace, outlet: name });
      return {};
    }
    let outlet = structuredClone(cached);
    if (outlet.metadata.deletionTimestamp) {
      await this.finalize(outlet);
      return {};
    }
    const finalizers = outlet.metadata.finalizers ?? [];
    if (!finalizers.includes(FINALIZER))
      outlet = await this.kube.setOutletFinalizers(outlet, [...finalizers, FINALIZER]);

    const parsed = OutletSpec.safeParse(outlet.spec);
    if (!parsed.success) {
      const message = `invalid spec: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`;
      await this.writeStatus(outlet, null, false, message);
      return {};
    }
    const spec = parsed.data;

    let statefulSet = this.caches.child("StatefulSet", namespace, name) as V1StatefulSet | undefined;
    let failure: unknown = null;
    if (!spec.paused) {
      try {
        statefulSet = (await this.applyChildren(outlet, spec)) ?? statefulSet;
      } catch (error) {
        if (isConflict(error)) throw error;
        failure = error;
      }
    }
    const heartbeat = this.heartbeats ? await this.heartbeats.read(spec.outletId) : undefined;
    await this.writeStatus(
      outlet,
      statefulSet ?? null,
      spec.paused,
      failure ? (failure as Error).message : null,
      heartbeat,
    );
    if (failure) throw failure;
    return { requeueAfterMs: this.settings.resyncMs };
  }

  /** Server-side applies every wanted child and removes unwanted ones; returns the applied StatefulSet. */
  private async applyChildren(outlet: Outlet, spec: OutletSpec): Promise<V1StatefulSet | undefined> {
    const { apply, remove } = desiredChildren(outlet, spec, { image: this.settings.defaultImage });
    let statefulSet: V1StatefulSet | undefined;
    for (const child of apply) {
      const existed = this.caches.child(child.kind!, outlet.metadata.namespace, child.metadata!.name!) !== undefined;
      const applied = await this.kube.apply(child);
      if (child.kind === "StatefulSet") statefulSet = applied as V1StatefulSet;
      if (!existed)
        await this.recorder.record(outlet, "Normal", "Created", `created ${child.kind} ${child.metadata!.name}`);
    }
    for (const child of remove) {
      if (!this.caches.child(child.kind!, outlet.metadata.namespace, child.metadata!.name!)) continue;
      if (await this.kube.deleteIfExists(child)) {
        await this.recorder.record(outlet, "Normal", "Deleted", `deleted ${child.kind} ${child.metadata!.name}`);
      }
    }
    return statefulSet;
  }

  private async writeStatus(
    outlet: Outlet,
    statefulSet: V1StatefulSet | null,
    paused: boolean,
    error: string | null,
    heartbeat?: Awaited<ReturnType<HeartbeatSource["read"]>>,
  ): Promise<void> {
    const status = desiredStatus(outlet.status, {
      generation: outlet.metadata.generation ?? 0,
      paused,
      endpoint: endpointOf(outlet, OUTLET_PORT),
      statefulSet: statefulSet ? stateOf(statefulSet) : null,
      error,
      heartbeat: this.heartbeats ? (heartbeat ?? null) : undefined,
      now: new Date(),
      heartbeatStaleAfterMs: this.settings.heartbeatStaleAfterMs,
      lagDegradedAt: this.settings.lagDegradedAt,
    });
    const labels = { namespace: outlet.metadata.namespace, outlet: outlet.metadata.name };
    this.metrics.outletReady.set(labels, status.conditions?.find((c) => c.type === "Ready")?.status === "True" ? 1 : 0);
    if (status.replication) this.metrics.replicationLag.set(labels, status.replication.lag);
    if (sameStatus(outlet.status, status)) return;
    const written = await this.kube.replaceOutletStatus({ ...outlet, status });
    for (const c of transitions(outlet.status?.conditions, status.conditions ?? [])) {
      const before = outlet.status?.conditions?.find((b) => b.type === c.type);
      if (!before && c.type === "Degraded" && c.status === "False") continue;
      const warning =
        (c.type === "Degraded" && c.status === "True") || (c.type === "Ready" && before?.status === "True");
      await this.recorder.record(
        written,
        warning ? "Warning" : "Normal",
        c.reason,
        `${c.type} is ${c.status}: ${c.message}`,
      );
    }
  }

  /** The Outlet is being deleted: carry out its data policy, then let it go. */
  private async finalize(outlet: Outlet): Promise<void> {
    const finalizers = outlet.metadata.finalizers ?? [];
    if (!finalizers.includes(FINALIZER)) return;
    const parsed = OutletSpec.safeParse(outlet.spec);
    // An unreadable spec keeps the data: deleting is the one thing that cannot be undone.
    const policy = parsed.success ? parsed.data.storage.dataPolicy : "Retain";
    const claims = await this.kube.listClaims(outlet.metadata.namespace, claimSelector(outlet));
    const names = claims.map((c) => c.metadata?.name).join(", ") || "none";
    if (policy === "Delete") {
      for (const claim of claims) {
        await this.kube.deleteIfExists({ apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: claim.metadata });
      }
      await this.recorder.record(outlet, "Normal", "DataDeleted", `dataPolicy Delete: deleted PVCs ${names}`);
    } else {
      await this.recorder.record(outlet, "Normal", "DataRetained", `dataPolicy Retain: kept PVCs ${names}`);
    }
    await this.kube.setOutletFinalizers(
      outlet,
      finalizers.filter((f) => f !== FINALIZER),
    );
    this.logger.info(
      { outlet: outlet.metadata.name, namespace: outlet.metadata.namespace, policy },
      "outlet finalized",
    );
  }
}

function stateOf(sts: V1StatefulSet): StatefulSetState {
  return {
    generation: sts.metadata?.generation ?? 0,
    observedGeneration: sts.status?.observedGeneration ?? 0,
    replicas: sts.spec?.replicas ?? 1,
    readyReplicas: sts.status?.readyReplicas ?? 0,
    updatedReplicas: sts.status?.updatedReplicas ?? 0,
    currentRevision: sts.status?.currentRevision,
    updateRevision: sts.status?.updateRevision,
  };
}

/** Equal whatever the key order (the server may return keys in another order than we built them). */
function sameStatus(a: OutletStatus | undefined, b: OutletStatus): boolean {
  const canonical = (v: unknown) =>
    JSON.stringify(v ?? null, (_k, x: unknown) =>
      x && typeof x === "object" && !Array.isArray(x)
        ? Object.fromEntries(Object.entries(x).sort(([p], [q]) => p.localeCompare(q)))
        : x,
    );
  return canonical(a) === canonical(b);
}
