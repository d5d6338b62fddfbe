import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv } from "ajv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { loadConfig as loadHqConfig } from "../../apps/hq/src/config.ts";
import type { Operator } from "../../apps/operator/src/index.ts";
import type { Grant, PolicyRule } from "./fake-api/authorization.ts";
import { CRD_PATH, readCrd, startCluster, type TestCluster } from "./support/cluster.ts";
import { applyDefaults, celErrors, prune, type Schema, schemaErrors } from "./support/crd-schema.ts";
import { buildRenderer, chartDir, RenderError, type Rendered, render } from "./support/helm.ts";
import { manifestProblems } from "./support/manifest-validation.ts";
import { startOperator, testSettings } from "./support/operator-harness.ts";
import { waitFor } from "./support/wait.ts";

// The charts rendered for real (Go text/template + sprig, as Helm does), then every manifest
// validated offline; values checked against each chart's values.schema.json.

beforeAll(() => {
  buildRenderer();
});

const ajv = new Ajv({ allErrors: true, strict: false });
const valuesErrors = (chart: string, values: unknown) => {
  const validate = ajv.compile(JSON.parse(readFileSync(join(chartDir(chart), "values.schema.json"), "utf8")));
  return validate(values) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
};

const byKind = (r: Rendered, kind: string, name?: string) =>
  r.manifests.filter((m) => m.kind === kind && (name === undefined || m.metadata?.name === name));

const outletSchema = (readCrd().spec as { versions: { schema: { openAPIV3Schema: Schema } }[] }).versions[0]!.schema
  .openAPIV3Schema;

describe("stockroom chart", () => {
  const rendered = () =>
    render("stockroom", {
      name: "stockroom",
      namespace: "stockroom-system",
      values: { nats: { url: "nats://nats:4222" } },
    });

  it("renders the CRD, the operator with its RBAC, and HQ — all valid Kubernetes objects", async () => {
    const r = rendered();
    expect(r.manifests.map((m) => `${m.kind}/${m.metadata?.name}`).sort()).toEqual(
      [
        "ClusterRole/stockroom-operator",
        "ClusterRoleBinding/stockroom-operator",
        "CustomResourceDefinition/outlets.stockroom.dev",
        "Deployment/stockroom-hq",
        "Deployment/stockroom-operator",
        "PersistentVolumeClaim/stockroom-hq-data",
        "Role/stockroom-operator-leader-election",
        "RoleBinding/stockroom-operator-leader-election",
        "Service/stockroom-hq",
        "Service/stockroom-operator-metrics",
        "ServiceAccount/stockroom-operator",
      ].sort(),
    );
    for (const { source, manifest } of r.documents) expect(await manifestProblems(manifest), source).toEqual([]);
  });

  it("configures HQ with the variables HQ reads: data dir, address, NATS URL and credentials", () => {
    const r = render("stockroom", {
      values: { nats: { url: "nats://nats:4222", credentials: { existingSecret: "nats-creds" } } },
    });
    const container = (
      byKind(r, "Deployment", "stockroom-hq")[0] as unknown as {
        spec: { template: { spec: { containers: { command: string[]; env: { name: string; value?: string }[] }[] } } };
      }
    ).spec.template.spec.containers[0]!;
    expect(container.command).toEqual(["stockroom-hq", "serve"]);
    const env = Object.fromEntries(container.env.map((e) => [e.name, e.value ?? ""]));
    expect(env.STOCKROOM_HQ_NATS_CREDS).toBe("/etc/stockroom/nats/nats.creds");
    // The credentials file exists only in the pod; everything else must parse as HQ's own config.
    const { STOCKROOM_HQ_NATS_CREDS: _creds, ...rest } = env;
    expect(loadHqConfig(rest)).toMatchObject({
      dataDir: "/data",
      host: "0.0.0.0",
      port: 8080,
      natsUrl: "nats://nats:4222",
    });
  });

  it("ships the same CRD as crds/", () => {
    expect(readFileSync(join(chartDir("stockroom"), "crds/outlets.stockroom.dev.yaml"), "utf8")).toBe(
      readFileSync(CRD_PATH, "utf8"),
    );
  });

  it("labels everything with the standard app.kubernetes.io labels", () => {
    for (const { source, manifest } of rendered().documents.filter(
      (d) => d.manifest.kind !== "CustomResourceDefinition",
    )) {
      expect((manifest.metadata as { labels: Record<string, string> }).labels, source).toMatchObject({
        "app.kubernetes.io/name": "stockroom",
        "app.kubernetes.io/instance": "stockroom",
        "app.kubernetes.io/version": "0.1.0",
        "app.kubernetes.io/managed-by": "Helm",
        "app.kubernetes.io/part-of": "stockroom",
        "helm.sh/chart": "stockroom-0.1.0",
      });
    }
  });

  it("grants the operator least privilege: named verbs on named resources, no secrets, leases only in its namespace", () => {
    const r = rendered();
    type Rule = { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] };
    const rules = (kind: string, name?: string) => byKind(r, kind, name).flatMap((m) => m.rules as Rule[]);
    const all = [...rules("ClusterRole"), ...rules("Role")];
    for (const rule of all) {
      expect(rule.verbs).not.toContain("*");
      expect(rule.resources).not.toContain("*");
      expect(rule.resources).not.toContain("secrets");
    }
    const grants = (list: Rule[]) =>
      Object.fromEntries(
        list.flatMap((rule) =>
          rule.resources.map((res) => [`${rule.apiGroups[0] || "core"}/${res}`, [...rule.verbs].sort().join(",")]),
        ),
      );
    expect(grants(rules("ClusterRole"))).toEqual({
      "stockroom.dev/outlets": "get,list,patch,update,watch",
      "stockroom.dev/outlets/status": "get,patch,update",
      "stockroom.dev/outlets/finalizers": "update",
      "apps/statefulsets": "create,delete,get,list,patch,update,watch",
      "core/services": "create,delete,get,list,patch,update,watch",
      "core/configmaps": "create,delete,get,list,patch,update,watch",
      "policy/poddisruptionbudgets": "create,delete,get,list,patch,update,watch",
      "core/persistentvolumeclaims": "delete,list",
      "core/events": "create,patch",
    });
    const leaseRole = byKind(r, "Role", "stockroom-operator-leader-election")[0]!;
    expect(leaseRole.metadata?.namespace).toBe("stockroom-system");
    expect(leaseRole.rules).toEqual([
      { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create"] },
      {
        apiGroups: ["coordination.k8s.io"],
        resources: ["leases"],
        resourceNames: ["stockroom-operator"],
        verbs: ["get", "update"],
      },
    ]);
    const binding = byKind(r, "ClusterRoleBinding")[0]!;
    expect(binding.subjects).toEqual([
      { kind: "ServiceAccount", name: "stockroom-operator", namespace: "stockroom-system" },
    ]);
  });

  it("runs the operator with leader election, non-root and read-only, probed on /healthz and /readyz", () => {
    const deployment = byKind(rendered(), "Deployment", "stockroom-operator")[0] as unknown as {
      spec: {
        replicas: number;
        template: {
          spec: { serviceAccountName: string; securityContext: object; containers: Record<string, unknown>[] };
        };
      };
    };
    expect(deployment.spec.replicas).toBe(2);
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0] as {
      command: string[];
      env: { name: string; value?: string }[];
      securityContext: object;
      livenessProbe: { httpGet: { path: string } };
      readinessProbe: { httpGet: { path: string } };
    };
    expect(pod.serviceAccountName).toBe("stockroom-operator");
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
    expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    expect(container.command).toEqual(["stockroom-operator"]);
    expect(container.livenessProbe.httpGet.path).toBe("/healthz");
    expect(container.readinessProbe.httpGet.path).toBe("/readyz");
    const env = Object.fromEntries(container.env.map((e) => [e.name, e.value]));
    expect(env).toMatchObject({
      STOCKROOM_NATS_URL: "nats://nats:4222",
      STOCKROOM_OUTLET_IMAGE: "stockroom:0.1.0",
      STOCKROOM_OPERATOR_WATCH_NAMESPACE: "",
    });
  });

  it("scopes RBAC to one namespace, drops HQ and mounts NATS credentials when asked", async () => {
    const r = render("stockroom", {
      name: "stockroom",
      namespace: "ops",
      values: {
        operator: { watchNamespace: "stores" },
        hq: { enabled: false },
        nats: { url: "tls://nats:4222", credentials: { existingSecret: "nats-creds" } },
      },
    });
    expect(byKind(r, "ClusterRole")).toEqual([]);
    expect(byKind(r, "Role", "stockroom-operator")[0]?.metadata?.namespace).toBe("stores");
    expect(byKind(r, "RoleBinding", "stockroom-operator")[0]?.metadata?.namespace).toBe("stores");
    expect(
      r.manifests.filter(
        (m) => (m.metadata as { labels?: Record<string, string> }).labels?.["app.kubernetes.io/component"] === "hq",
      ),
    ).toEqual([]);
    const pod = (
      byKind(r, "Deployment", "stockroom-operator")[0] as unknown as {
        spec: { template: { spec: { volumes: { name: string; secret?: object }[] } } };
      }
    ).spec.template.spec;
    expect(pod.volumes.find((v) => v.name === "nats-credentials")?.secret).toEqual({
      secretName: "nats-creds",
      items: [{ key: "nats.creds", path: "nats.creds" }],
    });
    for (const { source, manifest } of r.documents) expect(await manifestProblems(manifest), source).toEqual([]);
  });

  it("has values that satisfy values.schema.json, and a schema that refuses bad values", () => {
    expect(
      valuesErrors("stockroom", YAML.parse(readFileSync(join(chartDir("stockroom"), "values.yaml"), "utf8"))),
    ).toEqual([]);
    expect(valuesErrors("stockroom", rendered().values)).toEqual([]);
    const bad = render("stockroom", {
      values: { operator: { replicas: "two" }, nats: { url: "http://x" }, typo: true },
    }).values;
    expect(valuesErrors("stockroom", bad).sort()).toEqual(
      [
        " must NOT have additional properties",
        '/nats/url must match pattern "^$|^(nats|tls|ws|wss)://.+"',
        "/operator/replicas must be integer",
      ].sort(),
    );
  });

  it("prints NOTES telling how to add a store and watch outlets", () => {
    const { notes } = render("stockroom", { name: "stockroom", namespace: "stockroom-system" });
    expect(notes).toContain("kubectl get outlets -A");
    expect(notes).toContain("NATS is not configured");
    expect(notes).toContain("svc/stockroom-hq");
  });
});

describe("stockroom-outlet chart", () => {
  const values = {
    outletId: "store-042",
    displayName: "Harbour Street",
    timezone: "Europe/Lisbon",
    storage: { size: "5Gi", dataPolicy: "Delete" },
    nats: { url: "nats://nats.stockroom:4222", credentials: { creds: "-----BEGIN NATS USER JWT-----\nfake\n" } },
    riskLimits: { brands: { acme: 500 } },
    podDisruptionBudget: { enabled: true },
  };

  it("renders one Outlet that the CRD accepts (schema and CEL), and the Secret it refers to", async () => {
    const r = render("stockroom-outlet", { name: "store-042", namespace: "stores", values });
    expect(r.manifests.map((m) => `${m.kind}/${m.metadata?.name}`)).toEqual([
      "Secret/store-042-nats",
      "Outlet/store-042",
    ]);
    const secret = byKind(r, "Secret")[0]!;
    expect(await manifestProblems(secret)).toEqual([]);
    expect(Buffer.from((secret.data as Record<string, string>)["nats.creds"]!, "base64").toString()).toBe(
      values.nats.credentials.creds,
    );

    const outlet = structuredClone(byKind(r, "Outlet")[0]!) as Record<string, unknown>;
    const stored = applyDefaults(prune(structuredClone(outlet), outletSchema), outletSchema) as Record<string, unknown>;
    expect(schemaErrors(stored, outletSchema)).toEqual([]);
    expect(celErrors(stored.spec, undefined, (outletSchema.properties as Record<string, Schema>).spec!)).toEqual([]);
    expect(stored).toEqual(outlet);
    expect(outlet.spec).toMatchObject({
      outletId: "store-042",
      displayName: "Harbour Street",
      storage: { size: "5Gi", dataPolicy: "Delete" },
      nats: { url: "nats://nats.stockroom:4222", credentialsSecret: { name: "store-042-nats", key: "nats.creds" } },
      riskLimits: { defaultDailyLimit: 1_000_000, brands: { acme: 500 } },
      podDisruptionBudget: { enabled: true },
    });
    expect(r.notes).toContain("dataPolicy is Delete");
  });

  it("refers to an existing Secret instead of creating one, and omits NATS without a URL", () => {
    const existing = render("stockroom-outlet", {
      name: "s1",
      values: { outletId: "s1", nats: { url: "nats://n:4222", credentials: { existingSecret: "shared" } } },
    });
    expect(byKind(existing, "Secret")).toEqual([]);
    expect((byKind(existing, "Outlet")[0]!.spec as { nats: unknown }).nats).toEqual({
      url: "nats://n:4222",
      credentialsSecret: { name: "shared", key: "nats.creds" },
    });
    const alone = render("stockroom-outlet", { name: "s2", values: { outletId: "s2" } });
    expect(byKind(alone, "Outlet")[0]!.spec).not.toHaveProperty("nats");
  });

  it("fails without an outletId, and its values schema refuses a bad one", () => {
    expect(() => render("stockroom-outlet", { name: "s3" })).toThrow(RenderError);
    expect(() => render("stockroom-outlet", { name: "s3" })).toThrow(/outletId is required/);
    expect(valuesErrors("stockroom-outlet", render("stockroom-outlet", { values: { outletId: "ok" } }).values)).toEqual(
      [],
    );
    expect(
      valuesErrors("stockroom-outlet", {
        ...render("stockroom-outlet", { values: { outletId: "ok" } }).values,
        outletId: "no.dots",
      }),
    ).toEqual(['/outletId must match pattern "^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$"']);
  });
});

describe("charts installed into the fake API server", () => {
  let cluster: TestCluster;
  let operator: Operator;

  beforeAll(async () => {
    cluster = await startCluster(["stockroom-system", "stores"]);
  });

  afterAll(async () => {
    await operator?.stop();
    await cluster.stop();
  });

  /** The rules the chart's bindings give the operator's ServiceAccount. */
  function grantsOf(r: Rendered, serviceAccount: string): Grant[] {
    type Binding = {
      metadata: { namespace?: string };
      roleRef: { kind: string; name: string };
      subjects: { kind: string; name: string }[];
    };
    return (r.manifests as unknown as (Binding & { kind: string })[])
      .filter(
        (m) =>
          (m.kind === "ClusterRoleBinding" || m.kind === "RoleBinding") &&
          m.subjects.some((s) => s.kind === "ServiceAccount" && s.name === serviceAccount),
      )
      .map((b) => {
        const role = byKind(r, b.roleRef.kind, b.roleRef.name)[0]!;
        return {
          namespace: b.kind === "RoleBinding" ? b.metadata.namespace! : null,
          rules: role.rules as PolicyRule[],
        };
      });
  }

  it("accepts every rendered object, and the operator runs a store under the chart's RBAC alone", async () => {
    const platform = render("stockroom", { name: "stockroom", namespace: "stockroom-system" });
    const objects = platform.manifests.filter((m) => m.kind !== "CustomResourceDefinition");
    for (const m of objects) await cluster.server.create(m as never, "helm");
    expect(cluster.server.list("rbac.authorization.k8s.io/v1", "ClusterRole").map((r) => r.metadata.name)).toEqual([
      "stockroom-operator",
    ]);

    cluster.server.rbac.enforce("operator-token", grantsOf(platform, "stockroom-operator"));
    const settings = testSettings("stockroom-operator-0", {
      leaderElection: { ...testSettings("x").leaderElection!, namespace: "stockroom-system" },
    });
    operator = await startOperator(cluster.server.kubeConfig("stockroom-system", "operator-token"), settings, null);

    const store = render("stockroom-outlet", {
      name: "store-9",
      namespace: "stores",
      values: {
        outletId: "store-9",
        storage: { dataPolicy: "Delete" },
        nats: { url: "nats://n:4222", credentials: { creds: "x" } },
        podDisruptionBudget: { enabled: true },
      },
    });
    for (const m of store.manifests) await cluster.server.create(m as never, "helm");
    const ready = await waitFor("the store ready", () => {
      const o = cluster.server.get("stockroom.dev/v1alpha1", "Outlet", "stores", "store-9");
      const conditions = (o?.status as { conditions?: { type: string; status: string }[] })?.conditions ?? [];
      return conditions.find((c) => c.type === "Ready")?.status === "True" ? o : undefined;
    });
    expect(ready.metadata.finalizers).toEqual(["stockroom.dev/data-policy"]);
    const sts = cluster.server.get("apps/v1", "StatefulSet", "stores", "store-9")!;
    const volumes = (
      sts.spec as { template: { spec: { volumes: { name: string; secret?: { secretName: string } }[] } } }
    ).template.spec.volumes;
    expect(volumes.find((v) => v.name === "nats-credentials")?.secret?.secretName).toBe("store-9-nats");
    expect(cluster.server.get("policy/v1", "PodDisruptionBudget", "stores", "store-9")).toBeDefined();
    expect(
      cluster.server.get("coordination.k8s.io/v1", "Lease", "stockroom-system", "stockroom-operator"),
    ).toBeDefined();

    await cluster.server.delete("stockroom.dev/v1alpha1", "Outlet", "stores", "store-9");
    await waitFor(
      "the store gone with its data",
      () =>
        !cluster.server.get("stockroom.dev/v1alpha1", "Outlet", "stores", "store-9") &&
        !cluster.server.get("v1", "PersistentVolumeClaim", "stores", "data-store-9-0"),
    );
    expect(cluster.server.rbac.denied).toEqual([]);
    expect(cluster.server.requests.filter((r) => r.status === 403)).toEqual([]);
  });

  it("denies what the chart does not grant (the authorizer is real)", async () => {
    const denied = await fetch(`${cluster.server.url}/api/v1/namespaces/stores/secrets`, {
      headers: { authorization: "Bearer operator-token" },
    });
    expect(denied.status).toBe(403);
    expect(cluster.server.rbac.denied.at(-1)).toMatchObject({ verb: "list", resource: "secrets", namespace: "stores" });
  });
});
