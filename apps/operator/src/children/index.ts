import type { KubernetesObject } from "@kubernetes/client-node";
import type { Outlet, OutletSpec } from "../outlet.ts";
import { desiredConfigMap } from "./config-map.ts";
import { podDisruptionBudgetName } from "./names.ts";
import { desiredPodDisruptionBudget } from "./pod-disruption-budget.ts";
import { desiredService } from "./service.ts";
import { desiredStatefulSet, type StatefulSetDefaults } from "./stateful-set.ts";

export interface DesiredChildren {
  /** Applied in this order: the ConfigMap and Service exist before the pod that uses them. */
  apply: KubernetesObject[];
  /** Children that must not exist (an optional one switched off). */
  remove: KubernetesObject[];
}

export function desiredChildren(outlet: Outlet, spec: OutletSpec, defaults: StatefulSetDefaults): DesiredChildren {
  const apply: KubernetesObject[] = [
    desiredConfigMap(outlet, spec),
    desiredService(outlet, spec),
    desiredStatefulSet(outlet, spec, defaults),
  ];
  const remove: KubernetesObject[] = [];
  const budget = {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: { name: podDisruptionBudgetName(outlet), namespace: outlet.metadata.namespace },
  };
  if (spec.podDisruptionBudget.enabled) apply.push(desiredPodDisruptionBudget(outlet, spec));
  else remove.push(budget);
  return { apply, remove };
}
