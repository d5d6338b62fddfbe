import { AppsV1Api, CoreV1Api, type KubeConfig, type KubernetesObject, PolicyV1Api } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { EventRecorder } from "./events.ts";
import type { HeartbeatSource } from "./heartbeat.ts";
import { isConflict, type KubeClient } from "./kube-client.ts";
import { MANAGED_SELECTOR, ownerKey } from "./labels.ts";
import type { OperatorMetrics } from "./metrics.ts";
import { GROUP, keyOf, type Outlet, PLURAL, VERSION } from "./outlet.ts";
import { Reconciler, type ReconcilerSettings } from "./reconciler.ts";
import { ResourceWatch } from "./resource-watch.ts";
import { type Backoff, WorkQueue } from "./work-queue.ts";

export interface ControllerSettings extends ReconcilerSettings {
  /** Watch one namespace, or all (null). */
  watchNamespace: string | null;
  workers: number;
  backoff: Backoff;
}

/** The kinds the operator creates per Outlet; a change to one requeues its Outlet. */
const OWNED_KINDS = ["StatefulSet", "Service", "ConfigMap", "PodDisruptionBudget"] as const;

/**
 * Informers on Outlets and on their children feed a de-duplicating, rate-limited work queue;
 * workers take keys off it and reconcile. Runs only while this instance leads.
 */
export class OutletController {
  private readonly queue: WorkQueue;
  private readonly outlets: ResourceWatch<Outlet>;
  private readonly children = new Map<string, ResourceWatch<KubernetesObject>>();
  private readonly reconciler: Reconciler;
  private workers: Promise<void>[] = [];

  constructor(
    kubeConfig: KubeConfig,
    kube: KubeClient,
    heartbeats: HeartbeatSource | null,
    recorder: EventRecorder,
    private readonly metrics: OperatorMetrics,
    private readonly settings: ControllerSettings,
    private readonly logger: Logger,
  ) {
    this.queue = new WorkQueue(settings.backoff);
    const ns = settings.watchNamespace;
    const scoped = (prefix: string, plural: string) =>
      ns ? `${prefix}/namespaces/${ns}/${plural}` : `${prefix}/${plural}`;
    const restarted = (resource: string) => () => metrics.watchRestarts.inc({ resource });

    this.outlets = new ResourceWatch<Outlet>(
      kubeConfig,
      scoped(`/apis/${GROUP}/${VERSION}`, PLURAL),
      () => kube.listOutlets(ns),
      undefined,
      (outlet) => this.enqueue(keyOf(outlet)),
      restarted(PLURAL),
      logger,
    );

    const apps = kubeConfig.makeApiClient(AppsV1Api);
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const policy = kubeConfig.makeApiClient(PolicyV1Api);
    const labelSelector = MANAGED_SELECTOR;
    const lists: Record<(typeof OWNED_KINDS)[number], [string, () => Promise<{ items: KubernetesObject[] }>]> = {
      StatefulSet: [
        scoped("/apis/apps/v1", "statefulsets"),
        () =>
          ns
            ? apps.listNamespacedStatefulSet({ namespace: ns, labelSelector })
            : apps.listStatefulSetForAllNamespaces({ labelSelector }),
      ],
      Service: [
        scoped("/api/v1", "services"),
        () =>
          ns
            ? core.listNamespacedService({ namespace: ns, labelSelector })
            : core.listServiceForAllNamespaces({ labelSelector }),
      ],
      ConfigMap: [
        scoped("/api/v1", "configmaps"),
        () =>
          ns
            ? core.listNamespacedConfigMap({ namespace: ns, labelSelector })
            : core.listConfigMapForAllNamespaces({ labelSelector }),
      ],
      PodDisruptionBudget: [
        scoped("/apis/policy/v1", "poddisruptionbudgets"),
        () =>
          ns
            ? policy.listNamespacedPodDisruptionBudget({ namespace: ns, labelSelector })
            : policy.listPodDisruptionBudgetForAllNamespaces({ labelSelector }),
      ],
    };
    for (const kind of OWNED_KINDS) {
      const [path, list] = lists[kind];
      const onChange = (child: KubernetesObject) => {
        const key = ownerKey(child);
        if (key) this.enqueue(key);
      };
      this.children.set(
        kind,
        new ResourceWatch(kubeConfig, path, list, labelSelector, onChange, restarted(kind), logger),
      );
    }

    this.reconciler = new Reconciler(
      kube,
      {
        outlet: (namespace, name) => this.outlets.get(name, namespace),
        child: (kind, namespace, name) => this.children.get(kind)?.get(name, namespace),
      },
      heartbeats,
      recorder,
      metrics,
      settings,
      logger,
    );
  }

  /** True once every informer has listed at least once. */
  get synced(): boolean {
    return this.outlets.synced && [...this.children.values()].every((w) => w.synced);
  }

  async start(): Promise<void> {
    await Promise.all([this.outlets.start(), ...[...this.children.values()].map((w) => w.start())]);
    this.workers = Array.from({ length: this.settings.workers }, () => this.work());
  }

  async stop(): Promise<void> {
    this.queue.shutDown();
    await Promise.all([this.outlets.stop(), ...[...this.children.values()].map((w) => w.stop())]);
    await Promise.all(this.workers);
    this.workers = [];
  }

  private enqueue(key: string): void {
    this.queue.add(key);
    this.metrics.queueDepth.set(this.queue.length);
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === null) return;
      this.metrics.queueDepth.set(this.queue.length);
      const timer = this.metrics.reconcileSeconds.startTimer();
      try {
        const result = await this.reconciler.reconcile(key);
        this.queue.forget(key);
        this.metrics.reconciles.inc({ result: "success" });
        if (result.requeueAfterMs) this.queue.addAfter(key, result.requeueAfterMs);
      } catch (error) {
        const conflict = isConflict(error);
        this.metrics.reconciles.inc({ result: conflict ? "conflict" : "error" });
        const retryInMs = this.queue.addRateLimited(key);
        // A conflict only means our cache was behind: the informer brings the newer object.
        this.logger[conflict ? "debug" : "warn"](
          { key, err: (error as Error).message, retryInMs },
          conflict ? "conflict; requeued" : "reconcile failed; requeued",
        );
      } finally {
        timer();
        this.queue.done(key);
      }
    }
  }
}
