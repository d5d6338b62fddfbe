import { gone } from "./api-error.ts";
import type { Selector } from "./selectors.ts";

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ManagedFieldsEntry {
  manager: string;
  operation: "Apply" | "Update";
  apiVersion: string;
  time: string;
  fieldsType: "FieldsV1";
  fieldsV1: Record<string, unknown>;
  subresource?: string;
}

export interface ObjectMeta {
  name: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
  managedFields?: ManagedFieldsEntry[];
}

export interface K8sObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED";

/** One write, as etcd would record it. */
export interface Change {
  revision: number;
  typeKey: string;
  type: WatchEventType;
  object: K8sObject;
  previous: K8sObject | null;
}

export interface Subscription {
  typeKey: string;
  namespace: string | null;
  selector: Selector;
  deliver(type: WatchEventType, object: K8sObject): void;
}

const HISTORY_LIMIT = 50_000;

const objectKey = (namespace: string | undefined, name: string) => `${namespace ?? ""}/${name}`;

/**
 * The objects and the revision history, like etcd behind the real server: one global, increasing
 * revision (the resourceVersion), a window of past changes that watches resume from, and
 * compaction that makes older revisions unavailable (410 Gone).
 */
export class Store {
  private revision = 0;
  private compactedAt = 0;
  private readonly objects = new Map<string, Map<string, K8sObject>>();
  private readonly history: Change[] = [];
  private readonly subscriptions = new Set<Subscription>();
  private readonly listeners: ((change: Change) => void)[] = [];

  get currentRevision(): number {
    return this.revision;
  }

  get(typeKey: string, namespace: string | undefined, name: string): K8sObject | undefined {
    const found = this.objects.get(typeKey)?.get(objectKey(namespace, name));
    return found && structuredClone(found);
  }

  list(typeKey: string, namespace?: string | null): K8sObject[] {
    const all = [...(this.objects.get(typeKey)?.values() ?? [])];
    return all
      .filter((o) => !namespace || o.metadata.namespace === namespace)
      .sort((a, b) =>
        objectKey(a.metadata.namespace, a.metadata.name).localeCompare(
          objectKey(b.metadata.namespace, b.metadata.name),
        ),
      )
      .map((o) => structuredClone(o));
  }

  /** Every stored object with the key of its type (the garbage collector walks them all). */
  *entries(): Generator<[string, K8sObject]> {
    for (const [typeKey, byName] of this.objects) for (const o of byName.values()) yield [typeKey, structuredClone(o)];
  }

  /** Stores (or, for DELETED, removes) an object at the next revision and tells watchers. */
  write(typeKey: string, object: K8sObject, type: WatchEventType): K8sObject {
    const stored = structuredClone(object);
    stored.metadata.resourceVersion = String(++this.revision);
    let byName = this.objects.get(typeKey);
    if (!byName) {
      byName = new Map();
      this.objects.set(typeKey, byName);
    }
    const key = objectKey(stored.metadata.namespace, stored.metadata.name);
    const previous = byName.get(key) ?? null;
    if (type === "DELETED") byName.delete(key);
    else byName.set(key, stored);
    const change: Change = { revision: this.revision, typeKey, type, object: stored, previous };
    this.history.push(change);
    if (this.history.length > HISTORY_LIMIT) {
      const dropped = this.history.splice(0, this.history.length - HISTORY_LIMIT);
      this.compactedAt = dropped.at(-1)!.revision;
    }
    for (const sub of this.subscriptions) this.deliver(sub, change);
    for (const listener of this.listeners) listener(change);
    return structuredClone(stored);
  }

  /**
   * Starts delivering changes after `fromRevision` (null: the current objects as ADDED first, as
   * the real server does for a watch without resourceVersion or with "0").
   */
  subscribe(sub: Subscription, fromRevision: number | null): () => void {
    if (fromRevision === null) {
      for (const o of this.list(sub.typeKey, sub.namespace)) if (sub.selector(o)) sub.deliver("ADDED", o);
    } else {
      if (fromRevision < this.compactedAt) {
        throw gone(`too old resource version: ${fromRevision} (${this.compactedAt})`);
      }
      for (const change of this.history) if (change.revision > fromRevision) this.deliver(sub, change);
    }
    this.subscriptions.add(sub);
    return () => this.subscriptions.delete(sub);
  }

  /** Forgets the history: a watch or list from an older resourceVersion now gets 410 Gone. */
  compact(): void {
    this.compactedAt = this.revision;
    this.history.length = 0;
  }

  isCompacted(revision: number): boolean {
    return revision < this.compactedAt;
  }

  onChange(listener: (change: Change) => void): void {
    this.listeners.push(listener);
  }

  /** An object entering or leaving a selector is ADDED or DELETED for that watch, as with the real watch cache. */
  private deliver(sub: Subscription, change: Change): void {
    if (sub.typeKey !== change.typeKey) return;
    if (sub.namespace && change.object.metadata.namespace !== sub.namespace) return;
    const nowMatches = change.type !== "DELETED" && sub.selector(change.object);
    const matchedBefore = change.previous !== null && sub.selector(change.previous);
    const object = structuredClone(change.object);
    if (change.type === "DELETED") {
      if (matchedBefore) sub.deliver("DELETED", object);
    } else if (nowMatches) sub.deliver(matchedBefore ? "MODIFIED" : "ADDED", object);
    else if (matchedBefore) sub.deliver("DELETED", object);
  }
}
