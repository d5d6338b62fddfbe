import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import type { KubeClient } from "./kube-client.ts";
import type { Outlet } from "./outlet.ts";

export type EventType = "Normal" | "Warning";

/** Kubernetes Events about Outlets (what `kubectl describe outlet` shows); failures to record are logged, never fatal. */
export class EventRecorder {
  constructor(
    private readonly kube: KubeClient,
    private readonly instance: string,
    private readonly logger: Logger,
  ) {}

  async record(outlet: Outlet, type: EventType, reason: string, message: string): Promise<void> {
    const now = new Date();
    try {
      await this.kube.createEvent({
        metadata: {
          name: `${outlet.metadata.name}.${now.getTime().toString(16)}${randomBytes(3).toString("hex")}`,
          namespace: outlet.metadata.namespace,
        },
        involvedObject: {
          apiVersion: outlet.apiVersion,
          kind: outlet.kind,
          name: outlet.metadata.name,
          namespace: outlet.metadata.namespace,
          uid: outlet.metadata.uid,
          resourceVersion: outlet.metadata.resourceVersion,
        },
        type,
        reason,
        message,
        source: { component: "stockroom-operator" },
        reportingComponent: "stockroom.dev/operator",
        reportingInstance: this.instance,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      });
    } catch (error) {
      this.logger.warn({ err: (error as Error).message, reason }, "could not record an event");
    }
  }
}
