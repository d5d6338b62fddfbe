import {
  ADD,
  DELETE,
  ERROR,
  type Informer,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  makeInformer,
  type ObjectCache,
  UPDATE,
} from "@kubernetes/client-node";
import type { Logger } from "pino";

export type ChangeHandler<T> = (object: T) => void;

/**
 * An informer (list, then watch from the list's resourceVersion, with a local cache) that keeps
 * going: the client relists by itself after 410 Gone, but stops on any other error, so this
 * restarts it with backoff. `synced` turns true once the first list has filled the cache.
 */
export class ResourceWatch<T extends KubernetesObject> {
  private readonly informer: Informer<T> & ObjectCache<T>;
  private stopped = true;
  private restartTimer: NodeJS.Timeout | null = null;
  private failures = 0;
  synced = false;

  constructor(
    kubeConfig: KubeConfig,
    readonly path: string,
    list: () => Promise<KubernetesListObject<T>>,
    labelSelector: string | undefined,
    onChange: ChangeHandler<T>,
    private readonly onRestart: () => void,
    private readonly logger: Logger,
  ) {
    const listAndMarkSynced = async () => {
      const result = await list();
      this.synced = true;
      this.failures = 0;
      return result;
    };
    this.informer = makeInformer(kubeConfig, path, listAndMarkSynced, labelSelector);
    for (const verb of [ADD, UPDATE, DELETE] as const) this.informer.on(verb, onChange);
    this.informer.on(ERROR, (error) => this.restartLater(error));
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.informer.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    await this.informer.stop();
  }

  get(name: string, namespace?: string): T | undefined {
    return this.informer.get(name, namespace);
  }

  list(namespace?: string): readonly T[] {
    return this.informer.list(namespace);
  }

  private restartLater(error: unknown): void {
    if (this.stopped) return;
    const delay = Math.min(100 * 2 ** this.failures++, 10_000);
    this.logger.warn({ path: this.path, err: (error as Error)?.message, retryInMs: delay }, "watch failed; restarting");
    this.onRestart();
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (!this.stopped) void this.informer.start().catch((e) => this.restartLater(e));
    }, delay);
  }
}
