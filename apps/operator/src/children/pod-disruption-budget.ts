import type { V1PodDisruptionBudget } from "@kubernetes/client-node";
import { outletLabels, ownerReference, selectorLabels } from "../labels.ts";
import type { Outlet, OutletSpec } from "../outlet.ts";
import { podDisruptionBudgetName } from "./names.ts";

/**
 * With one replica, minAvailable 1 blocks voluntary evictions (node drains) of a healthy outlet
 * until the budget is removed; an unhealthy pod may still be evicted.
 */
export function desiredPodDisruptionBudget(outlet: Outlet, spec: OutletSpec): V1PodDisruptionBudget {
  return {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: {
      name: podDisruptionBudgetName(outlet),
      namespace: outlet.metadata.namespace,
      labels: outletLabels(outlet, spec),
      ownerReferences: [ownerReference(outlet)],
    },
    spec: {
      minAvailable: 1,
      selector: { matchLabels: selectorLabels(outlet) },
      unhealthyPodEvictionPolicy: "AlwaysAllow",
    },
  };
}
