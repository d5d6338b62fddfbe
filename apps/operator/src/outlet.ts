import type { V1ObjectMeta } from "@kubernetes/client-node";
import { z } from "zod";

/** The Outlet custom resource (crds/outlets.stockroom.dev.yaml is the contract; this mirrors its defaults). */
export const GROUP = "stockroom.dev";
export const VERSION = "v1alpha1";
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = "Outlet";
export const PLURAL = "outlets";

/** Holds an Outlet's deletion until its data policy has been carried out. */
export const FINALIZER = "stockroom.dev/data-policy";
/** The one server-side apply field manager of everything the operator writes. */
export const FIELD_MANAGER = "stockroom-operator";
/** The port the outlet node listens on inside its pod. */
export const OUTLET_PORT = 8080;

/** An outlet id that is also a NATS subject token, a KV key and a label value. */
export const OUTLET_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;

/** A resource quantity ("500m", "1Gi", or a plain number), always handed on as a string. */
const Quantity = z.union([z.string(), z.number()]).transform(String);

export const OutletSpec = z.object({
  outletId: z.string().regex(OUTLET_ID_PATTERN),
  displayName: z.string().optional(),
  timezone: z.string().default("UTC"),
  image: z.string().optional(),
  resources: z
    .object({
      requests: z.record(z.string(), Quantity).optional(),
      limits: z.record(z.string(), Quantity).optional(),
    })
    .default({ requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "1Gi" } }),
  storage: z
    .object({
      size: z.string().default("1Gi"),
      storageClassName: z.string().optional(),
      dataPolicy: z.enum(["Retain", "Delete"]).default("Retain"),
    })
    .prefault({}),
  nats: z
    .object({
      url: z.string().optional(),
      credentialsSecret: z.object({ name: z.string(), key: z.string().default("nats.creds") }).optional(),
    })
    .optional(),
  riskLimits: z
    .object({
      defaultDailyLimit: z.int().min(0).default(1_000_000),
      brands: z.record(z.string(), z.int().min(0)).default({}),
    })
    .prefault({}),
  snapshotInterval: z
    .object({
      events: z.int().min(1).default(100_000),
      seconds: z.int().min(1).default(300),
    })
    .prefault({}),
  paused: z.boolean().default(false),
  podDisruptionBudget: z.object({ enabled: z.boolean().default(false) }).prefault({}),
});
export type OutletSpec = z.infer<typeof OutletSpec>;

export type ConditionType = "Ready" | "Progressing" | "Degraded";

/** metav1.Condition */
export interface Condition {
  type: ConditionType;
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export interface ReplicationStatus {
  lastSeq: number;
  replicatedSeq: number;
  lag: number;
  lastSeen: string;
}

export interface OutletStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  endpoint?: string;
  replication?: ReplicationStatus;
}

export interface Outlet {
  apiVersion: string;
  kind: string;
  metadata: V1ObjectMeta & { name: string; namespace: string; uid: string };
  spec: unknown;
  status?: OutletStatus;
}

export const keyOf = (o: { metadata?: { namespace?: string; name?: string } }) =>
  `${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`;
