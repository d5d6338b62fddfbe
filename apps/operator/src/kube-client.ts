import {
  ApiException,
  CoordinationV1Api,
  CoreV1Api,
  type CoreV1Event,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type V1Lease,
  type V1PersistentVolumeClaim,
} from "@kubernetes/client-node";
import { FIELD_MANAGER, GROUP, type Outlet, PLURAL, VERSION } from "./outlet.ts";

/** The HTTP status of a failed API call (undefined for network errors). */
export function statusCodeOf(error: unknown): number | undefined {
  return error instanceof ApiException ? error.code : undefined;
}

export const isConflict = (error: unknown) => statusCodeOf(error) === 409;
export const isNotFound = (error: unknown) => statusCodeOf(error) === 404;

/** Every API call the operator makes, in one place. */
export class KubeClient {
  private readonly objects: KubernetesObjectApi;
  private readonly custom: CustomObjectsApi;
  private readonly core: CoreV1Api;
  private readonly coordination: CoordinationV1Api;

  constructor(readonly kubeConfig: KubeConfig) {
    this.objects = KubernetesObjectApi.makeApiClient(kubeConfig);
    this.custom = kubeConfig.makeApiClient(CustomObjectsApi);
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    this.coordination = kubeConfig.makeApiClient(CoordinationV1Api);
  }

  /** Server-side apply with the operator's field manager; force takes back fields someone else changed. */
  async apply<T extends KubernetesObject>(object: T): Promise<T> {
    return (await this.objects.patch(
      object,
      undefined,
      undefined,
      FIELD_MANAGER,
      true,
      PatchStrategy.ServerSideApply,
    )) as T;
  }

  /** Deletes with background propagation; false when it was already gone. */
  async deleteIfExists(object: KubernetesObject): Promise<boolean> {
    try {
      await this.objects.delete(object, undefined, undefined, undefined, undefined, "Background");
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  async listClaims(namespace: string, labelSelector: string): Promise<V1PersistentVolumeClaim[]> {
    return (await this.core.listNamespacedPersistentVolumeClaim({ namespace, labelSelector })).items;
  }

  /** Status through the status subresource, conditional on the resourceVersion read: a stale write is a 409. */
  async replaceOutletStatus(outlet: Outlet): Promise<Outlet> {
    return (await this.custom.replaceNamespacedCustomObjectStatus({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      namespace: outlet.metadata.namespace,
      name: outlet.metadata.name,
      body: outlet,
    })) as Outlet;
  }

  /** Sets the finalizers, conditional on the resourceVersion read (a merge patch carrying it). */
  async setOutletFinalizers(outlet: Outlet, finalizers: string[]): Promise<Outlet> {
    return (await this.custom.patchNamespacedCustomObject(
      {
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        namespace: outlet.metadata.namespace,
        name: outlet.metadata.name,
        body: { metadata: { finalizers, resourceVersion: outlet.metadata.resourceVersion } },
        fieldManager: FIELD_MANAGER,
      },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    )) as Outlet;
  }

  async listOutlets(namespace: string | null): Promise<{ items: Outlet[]; metadata?: { resourceVersion?: string } }> {
    const base = { group: GROUP, version: VERSION, plural: PLURAL };
    return namespace
      ? await this.custom.listNamespacedCustomObject({ ...base, namespace })
      : await this.custom.listClusterCustomObject(base);
  }

  async createEvent(event: CoreV1Event): Promise<void> {
    await this.core.createNamespacedEvent({ namespace: event.metadata.namespace!, body: event });
  }

  async readLease(namespace: string, name: string): Promise<V1Lease | null> {
    try {
      return await this.coordination.readNamespacedLease({ namespace, name });
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async createLease(lease: V1Lease): Promise<V1Lease> {
    return this.coordination.createNamespacedLease({ namespace: lease.metadata!.namespace!, body: lease });
  }

  async replaceLease(lease: V1Lease): Promise<V1Lease> {
    return this.coordination.replaceNamespacedLease({
      namespace: lease.metadata!.namespace!,
      name: lease.metadata!.name!,
      body: lease,
    });
  }
}
