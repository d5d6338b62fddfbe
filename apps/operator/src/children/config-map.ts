import { createHash } from "node:crypto";
import type { V1ConfigMap } from "@kubernetes/client-node";
import { outletLabels, ownerReference } from "../labels.ts";
import { OUTLET_PORT, type Outlet, type OutletSpec } from "../outlet.ts";
import { configMapName } from "./names.ts";

export const CONFIG_FILE = "outlet.json";
export const CONFIG_DIR = "/etc/stockroom";
export const DATA_DIR = "/data";

/** The outlet node's STOCKROOM_CONFIG file (apps/outlet/src/config.ts reads it). */
export function outletConfig(spec: OutletSpec): Record<string, unknown> {
  return {
    outletId: spec.outletId,
    dataDir: DATA_DIR,
    host: "0.0.0.0",
    port: OUTLET_PORT,
    timezone: spec.timezone,
    snapshotEveryEvents: spec.snapshotInterval.events,
    snapshotEveryMs: spec.snapshotInterval.seconds * 1000,
    defaultDailyLimit: spec.riskLimits.defaultDailyLimit,
    brandLimits: spec.riskLimits.brands,
    ...(spec.nats?.url ? { natsUrl: spec.nats.url } : {}),
  };
}

export function configText(spec: OutletSpec): string {
  return `${JSON.stringify(outletConfig(spec), null, 2)}\n`;
}

/** Put on the pod template so that a config change rolls the pod (a mounted file alone would not restart the node). */
export function configHash(spec: OutletSpec): string {
  return createHash("sha256").update(configText(spec)).digest("hex").slice(0, 16);
}

export function desiredConfigMap(outlet: Outlet, spec: OutletSpec): V1ConfigMap {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: configMapName(outlet),
      namespace: outlet.metadata.namespace,
      labels: outletLabels(outlet, spec),
      ownerReferences: [ownerReference(outlet)],
    },
    data: { [CONFIG_FILE]: configText(spec) },
  };
}
