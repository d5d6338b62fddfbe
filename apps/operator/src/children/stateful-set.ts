import type { V1EnvVar, V1StatefulSet, V1Volume, V1VolumeMount } from "@kubernetes/client-node";
import { outletLabels, ownerReference, selectorLabels } from "../labels.ts";
import type { Outlet, OutletSpec } from "../outlet.ts";
import { OUTLET_PORT } from "../outlet.ts";
import { CONFIG_DIR, CONFIG_FILE, configHash, DATA_DIR } from "./config-map.ts";
import { configMapName, DATA_VOLUME, serviceName, statefulSetName } from "./names.ts";

/** The image's non-root user (see the Dockerfile). */
export const RUN_AS_USER = 10001;
const NATS_CREDS_DIR = "/etc/stockroom/nats";

export interface StatefulSetDefaults {
  image: string;
}

export function desiredStatefulSet(outlet: Outlet, spec: OutletSpec, defaults: StatefulSetDefaults): V1StatefulSet {
  const labels = outletLabels(outlet, spec);
  const credentials = spec.nats?.credentialsSecret;
  const env: V1EnvVar[] = [{ name: "STOCKROOM_CONFIG", value: `${CONFIG_DIR}/${CONFIG_FILE}` }];
  const volumes: V1Volume[] = [
    { name: "config", configMap: { name: configMapName(outlet) } },
    // The root filesystem is read-only; the node and tsx need a writable /tmp.
    { name: "tmp", emptyDir: {} },
  ];
  const mounts: V1VolumeMount[] = [
    { name: DATA_VOLUME, mountPath: DATA_DIR },
    { name: "config", mountPath: CONFIG_DIR, readOnly: true },
    { name: "tmp", mountPath: "/tmp" },
  ];
  if (credentials) {
    env.push({ name: "STOCKROOM_NATS_CREDS", value: `${NATS_CREDS_DIR}/nats.creds` });
    volumes.push({
      name: "nats-credentials",
      secret: { secretName: credentials.name, items: [{ key: credentials.key, path: "nats.creds" }] },
    });
    mounts.push({ name: "nats-credentials", mountPath: NATS_CREDS_DIR, readOnly: true });
  }
  const probe = (path: string, periodSeconds: number, failureThreshold: number) => ({
    httpGet: { path, port: "http" },
    periodSeconds,
    timeoutSeconds: 3,
    failureThreshold,
  });
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: {
      name: statefulSetName(outlet),
      namespace: outlet.metadata.namespace,
      labels,
      ...(spec.displayName ? { annotations: { "stockroom.dev/display-name": spec.displayName } } : {}),
      ownerReferences: [ownerReference(outlet)],
    },
    spec: {
      replicas: 1,
      serviceName: serviceName(outlet),
      selector: { matchLabels: selectorLabels(outlet) },
      // Data outlives the StatefulSet; the operator's finalizer applies the Outlet's data policy.
      persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
      updateStrategy: { type: "RollingUpdate" },
      template: {
        metadata: { labels, annotations: { "stockroom.dev/config-hash": configHash(spec) } },
        spec: {
          automountServiceAccountToken: false,
          terminationGracePeriodSeconds: 30,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: RUN_AS_USER,
            runAsGroup: RUN_AS_USER,
            fsGroup: RUN_AS_USER,
            fsGroupChangePolicy: "OnRootMismatch",
            seccompProfile: { type: "RuntimeDefault" },
          },
          containers: [
            {
              name: "outlet",
              image: spec.image ?? defaults.image,
              imagePullPolicy: "IfNotPresent",
              command: ["stockroom-outlet", "serve"],
              env,
              ports: [{ name: "http", containerPort: OUTLET_PORT, protocol: "TCP" }],
              // Recovery replays the log tail after the last snapshot: give it minutes before liveness counts.
              startupProbe: probe("/healthz", 5, 60),
              livenessProbe: probe("/healthz", 10, 3),
              readinessProbe: probe("/readyz", 5, 3),
              resources: spec.resources,
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                runAsNonRoot: true,
                capabilities: { drop: ["ALL"] },
              },
              volumeMounts: mounts,
            },
          ],
          volumes,
        },
      },
      volumeClaimTemplates: [
        {
          apiVersion: "v1",
          kind: "PersistentVolumeClaim",
          metadata: { name: DATA_VOLUME, labels: selectorLabels(outlet) },
          spec: {
            accessModes: ["ReadWriteOnce"],
            resources: { requests: { storage: spec.storage.size } },
            ...(spec.storage.storageClassName ? { storageClassName: spec.storage.storageClassName } : {}),
          },
        },
      ],
    },
  };
}
