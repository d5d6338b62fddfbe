import type { V1Service } from "@kubernetes/client-node";
import { outletLabels, ownerReference, selectorLabels } from "../labels.ts";
import { OUTLET_PORT, type Outlet, type OutletSpec } from "../outlet.ts";
import { serviceName } from "./names.ts";

/** Headless: it gives the StatefulSet's pod its stable DNS name, and `<outlet>.<namespace>.svc` resolves to the pod once ready. */
export function desiredService(outlet: Outlet, spec: OutletSpec): V1Service {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name: serviceName(outlet),
      namespace: outlet.metadata.namespace,
      labels: outletLabels(outlet, spec),
      ownerReferences: [ownerReference(outlet)],
    },
    spec: {
      clusterIP: "None",
      selector: selectorLabels(outlet),
      ports: [{ name: "http", port: OUTLET_PORT, targetPort: "http", protocol: "TCP" }],
    },
  };
}
