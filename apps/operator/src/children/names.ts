import type { Outlet } from "../outlet.ts";

/** Names of an outlet's children, derived from the Outlet's name (limited to 52 characters by the CRD). */
export const statefulSetName = (o: Outlet) => o.metadata.name;
export const serviceName = (o: Outlet) => o.metadata.name;
export const configMapName = (o: Outlet) => `${o.metadata.name}-config`;
export const podDisruptionBudgetName = (o: Outlet) => o.metadata.name;
/** The StatefulSet's volumeClaimTemplate; its PVCs are `data-<outlet>-<ordinal>`. */
export const DATA_VOLUME = "data";

/** Where clients reach the outlet node inside the cluster. */
export const endpointOf = (o: Outlet, port: number) => `http://${serviceName(o)}.${o.metadata.namespace}.svc:${port}`;
