import { createHash } from "node:crypto";
import type { FakeApiServer } from "./server.ts";
import type { Change, K8sObject } from "./store.ts";

/**
 * Stand-ins for the parts of kube-controller-manager whose effects the operator observes, acting
 * through the fake server like the real ones act through the API:
 * - the StatefulSet controller's PVCs: one per volumeClaimTemplate and ordinal, named
 *   `<template>-<statefulset>-<ordinal>`, labelled with the selector and template labels, owned by
 *   the StatefulSet only when persistentVolumeClaimRetentionPolicy.whenDeleted is Delete;
 * - StatefulSet status: observedGeneration, revisions from a hash of the pod template, and
 *   ready/updated replicas. No pods exist: readiness is what the test says (ready by default),
 *   and while a StatefulSet is not ready a new revision stays un-rolled-out.
 */
export class SimulatedControllers {
  private readonly notReady = new Set<string>();
  private running = true;

  constructor(private readonly server: FakeApiServer) {
    server.store.onChange((change) => this.observe(change));
  }

  stop(): void {
    this.running = false;
  }

  /** Pods of this StatefulSet pass (or fail) their readiness probes from now on. */
  async setPodsReady(namespace: string, name: string, ready: boolean): Promise<void> {
    const key = `${namespace}/${name}`;
    if (ready) this.notReady.delete(key);
    else this.notReady.add(key);
    const sts = this.server.get("apps/v1", "StatefulSet", namespace, name);
    if (sts) await this.syncStatefulSet(sts);
  }

  private observe(change: Change): void {
    if (!this.running || change.typeKey !== "apps/statefulsets" || change.type === "DELETED") return;
    const sts = change.object;
    setImmediate(() => {
      if (this.running) void this.syncStatefulSet(sts).catch(() => {});
    });
  }

  private async syncStatefulSet(seen: K8sObject): Promise<void> {
    const sts = this.server.get("apps/v1", "StatefulSet", seen.metadata.namespace, seen.metadata.name);
    if (!sts || sts.metadata.deletionTimestamp) return;
    const spec = sts.spec as StatefulSetSpec;
    const replicas = spec.replicas ?? 1;
    await this.ensureClaims(sts, spec, replicas);
    const ready = !this.notReady.has(`${sts.metadata.namespace}/${sts.metadata.name}`);
    const revision = `${sts.metadata.name}-${createHash("sha256").update(JSON.stringify(spec.template)).digest("hex").slice(0, 10)}`;
    const old = (sts.status ?? {}) as Record<string, unknown>;
    const status = {
      observedGeneration: sts.metadata.generation,
      replicas,
      readyReplicas: ready ? replicas : 0,
      availableReplicas: ready ? replicas : 0,
      currentReplicas: ready ? replicas : 0,
      updatedReplicas: ready ? replicas : 0,
      currentRevision: ready ? revision : ((old.currentRevision as string | undefined) ?? revision),
      updateRevision: revision,
      collisionCount: 0,
    };
    if (JSON.stringify(status) !== JSON.stringify(old))
      await this.server.writeStatus(sts, status, "statefulset-controller");
  }

  private async ensureClaims(sts: K8sObject, spec: StatefulSetSpec, replicas: number): Promise<void> {
    const owned = spec.persistentVolumeClaimRetentionPolicy?.whenDeleted === "Delete";
    for (const template of spec.volumeClaimTemplates ?? []) {
      for (let ordinal = 0; ordinal < replicas; ordinal++) {
        const name = `${template.metadata.name}-${sts.metadata.name}-${ordinal}`;
        if (this.server.get("v1", "PersistentVolumeClaim", sts.metadata.namespace, name)) continue;
        await this.server
          .create(
            {
              apiVersion: "v1",
              kind: "PersistentVolumeClaim",
              metadata: {
                name,
                namespace: sts.metadata.namespace,
                labels: { ...spec.selector.matchLabels, ...template.metadata.labels },
                ...(owned
                  ? {
                      ownerReferences: [
                        {
                          apiVersion: "apps/v1",
                          kind: "StatefulSet",
                          name: sts.metadata.name,
                          uid: sts.metadata.uid!,
                          controller: true,
                          blockOwnerDeletion: true,
                        },
                      ],
                    }
                  : {}),
              },
              spec: template.spec,
            },
            "statefulset-controller",
          )
          .catch(() => {});
      }
    }
  }
}

interface StatefulSetSpec {
  replicas?: number;
  selector: { matchLabels?: Record<string, string> };
  template: unknown;
  volumeClaimTemplates?: { metadata: { name: string; labels?: Record<string, string> }; spec: unknown }[];
  persistentVolumeClaimRetentionPolicy?: { whenDeleted?: string; whenScaled?: string };
}
