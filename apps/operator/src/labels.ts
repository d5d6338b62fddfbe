import type { V1OwnerReference } from "@kubernetes/client-node";
import { API_VERSION, KIND, type Outlet, type OutletSpec } from "./outlet.ts";

export const MANAGED_BY = { "app.kubernetes.io/managed-by": "stockroom-operator" } as const;
/** Selects every object the operator owns (its informers watch only these). */
export const MANAGED_SELECTOR = "app.kubernetes.io/managed-by=stockroom-operator";

/** Labels that pick one outlet's pods and claims; a StatefulSet selector is immutable, so they never change. */
export function selectorLabels(outlet: Outlet): Record<string, string> {
  return { "app.kubernetes.io/name": "stockroom-outlet", "app.kubernetes.io/instance": outlet.metadata.name };
}

export function outletLabels(outlet: Outlet, spec: OutletSpec): Record<string, string> {
  return {
    ...selectorLabels(outlet),
    "app.kubernetes.io/component": "outlet",
    "app.kubernetes.io/part-of": "stockroom",
    ...MANAGED_BY,
    "stockroom.dev/outlet-id": spec.outletId,
  };
}

export function claimSelector(outlet: Outlet): string {
  return Object.entries(selectorLabels(outlet))
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
}

/** The Outlet as controlling owner: deleting it garbage-collects the child. */
export function ownerReference(outlet: Outlet): V1OwnerReference {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    name: outlet.metadata.name,
    uid: outlet.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** The Outlet a child belongs to, from its controller owner reference. */
export function ownerKey(child: {
  metadata?: { namespace?: string; ownerReferences?: V1OwnerReference[] };
}): string | null {
  const owner = child.metadata?.ownerReferences?.find(
    (r) => r.kind === KIND && r.apiVersion === API_VERSION && r.controller,
  );
  return owner ? `${child.metadata?.namespace ?? ""}/${owner.name}` : null;
}
