import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { V1StatefulSet } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import YAML from "yaml";
import { desiredChildren, type Outlet, OutletSpec, RUN_AS_USER } from "../../apps/operator/src/index.ts";
import { loadConfig } from "../../apps/outlet/src/config.ts";
import { type Manifest, manifestProblems } from "./support/manifest-validation.ts";

// Everything the operator writes for an Outlet, validated offline against the Kubernetes schemas
// (kubernetes-models, unknown fields refused), and the outlet config it writes accepted by the
// outlet node's own config loader.

const sample = (file: string) =>
  YAML.parse(readFileSync(fileURLToPath(new URL(`../../crds/samples/${file}`, import.meta.url)), "utf8")) as {
    metadata: { name: string; namespace: string };
    spec: unknown;
  };

function childrenOf(file: string) {
  const resource = sample(file);
  const outlet: Outlet = {
    apiVersion: "stockroom.dev/v1alpha1",
    kind: "Outlet",
    metadata: { ...resource.metadata, uid: "11111111-2222-3333-4444-555555555555", generation: 1 },
    spec: resource.spec,
  };
  const spec = OutletSpec.parse(resource.spec);
  return { spec, ...desiredChildren(outlet, spec, { image: "stockroom:0.1.0" }) };
}

describe("operator manifests", () => {
  it.each(["outlet-minimal.yaml", "outlet-full.yaml"])("are valid Kubernetes objects for %s", async (file) => {
    const { apply, remove } = childrenOf(file);
    expect(apply.map((c) => c.kind)).toEqual(
      file === "outlet-full.yaml"
        ? ["ConfigMap", "Service", "StatefulSet", "PodDisruptionBudget"]
        : ["ConfigMap", "Service", "StatefulSet"],
    );
    for (const manifest of [...apply, ...remove]) expect(await manifestProblems(manifest as Manifest)).toEqual([]);
  });

  it("runs the outlet non-root, read-only, with probes on /healthz and /readyz and its data on the PVC", () => {
    const sts = childrenOf("outlet-full.yaml").apply.find((c) => c.kind === "StatefulSet") as V1StatefulSet;
    const pod = sts.spec!.template.spec!;
    const container = pod.containers[0]!;
    expect(sts.spec!.replicas).toBe(1);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: RUN_AS_USER, fsGroup: RUN_AS_USER });
    expect(container.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
    });
    expect(container.readinessProbe?.httpGet?.path).toBe("/readyz");
    expect(container.livenessProbe?.httpGet?.path).toBe("/healthz");
    expect(container.startupProbe?.httpGet?.path).toBe("/healthz");
    expect(container.command).toEqual(["stockroom-outlet", "serve"]);
    expect(container.image).toBe("registry.example.com/stockroom:0.1.0");
    expect(container.resources).toEqual({ requests: { cpu: "250m", memory: "512Mi" }, limits: { memory: "2Gi" } });
    expect(container.volumeMounts?.find((m) => m.name === "data")?.mountPath).toBe("/data");
    expect(sts.spec!.volumeClaimTemplates![0]!.spec).toMatchObject({
      resources: { requests: { storage: "20Gi" } },
      storageClassName: "fast-ssd",
    });
    expect(pod.volumes?.find((v) => v.name === "nats-credentials")?.secret).toEqual({
      secretName: "store-007-nats",
      items: [{ key: "nats.creds", path: "nats.creds" }],
    });
  });

  it("writes an outlet config that the outlet node accepts, with the settings from the spec", () => {
    const { apply } = childrenOf("outlet-full.yaml");
    const configMap = apply.find((c) => c.kind === "ConfigMap") as { data: Record<string, string> };
    const dir = mkdtempSync(join(tmpdir(), "outlet-config-"));
    try {
      const file = join(dir, "outlet.json");
      writeFileSync(file, configMap.data["outlet.json"]!);
      const config = loadConfig({ STOCKROOM_CONFIG: file });
      expect(config).toMatchObject({
        outletId: "store-007",
        dataDir: "/data",
        host: "0.0.0.0",
        port: 8080,
        timezone: "Europe/London",
        snapshotEveryEvents: 50_000,
        snapshotEveryMs: 120_000,
        defaultDailyLimit: 500_000,
        brandLimits: { acme: 10_000, globex: 250_000 },
        natsUrl: "nats://nats.stockroom.svc:4222",
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
