import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import YAML from "yaml";
import { OutletSpec } from "../../apps/operator/src/index.ts";
import { CRD_PATH, readCrd } from "./support/cluster.ts";
import {
  applyDefaults,
  celErrors,
  celSyntaxErrors,
  prune,
  type Schema,
  schemaErrors,
  structuralProblems,
} from "./support/crd-schema.ts";
import { type Manifest, manifestProblems } from "./support/manifest-validation.ts";

// The Outlet CRD checked offline: as a manifest, as a structural schema, and against sample
// Outlets with its defaults, schema and CEL rules (transition rules included).

const crd = readCrd() as unknown as Manifest & {
  spec: {
    group: string;
    scope: string;
    names: { kind: string; plural: string; shortNames: string[] };
    versions: {
      name: string;
      subresources?: { status?: object };
      additionalPrinterColumns: { name: string; jsonPath: string }[];
      schema: { openAPIV3Schema: Schema };
    }[];
  };
};
const version = crd.spec.versions[0]!;
const schema = version.schema.openAPIV3Schema;

const sample = (file: string) =>
  YAML.parse(readFileSync(fileURLToPath(new URL(`../../crds/samples/${file}`, import.meta.url)), "utf8")) as Record<
    string,
    unknown
  >;

/** What the API server stores for a submitted Outlet: pruned, defaulted; plus its validation errors. */
function admit(object: Record<string, unknown>, old?: Record<string, unknown>) {
  const stored = applyDefaults(prune(structuredClone(object), schema), schema) as Record<string, unknown>;
  const strip = (o: Record<string, unknown>) => {
    const { metadata: _m, ...rest } = o;
    return rest;
  };
  const errors = [...schemaErrors(stored, schema), ...celErrors(strip(stored), old && strip(old), schema)];
  return { stored, errors: errors.map((e) => `${e.field}: ${e.message}`) };
}

const withSpec = (spec: Record<string, unknown>, name = "store-1") => ({
  apiVersion: "stockroom.dev/v1alpha1",
  kind: "Outlet",
  metadata: { name, namespace: "stores" },
  spec,
});

describe("Outlet CRD", () => {
  it("is a valid CustomResourceDefinition manifest", async () => {
    expect(await manifestProblems(crd)).toEqual([]);
    expect(crd.metadata?.name).toBe("outlets.stockroom.dev");
    expect(crd.spec).toMatchObject({
      group: "stockroom.dev",
      scope: "Namespaced",
      names: { kind: "Outlet", plural: "outlets", shortNames: ["outlet"] },
    });
    expect(version.name).toBe("v1alpha1");
    expect(version.subresources?.status).toEqual({});
  });

  it("has a structural schema with parseable CEL rules", () => {
    expect(structuralProblems(schema)).toEqual([]);
    expect(celSyntaxErrors(schema)).toEqual([]);
  });

  it("prints Ready, Seq, Lag and Age", () => {
    const columns = Object.fromEntries(version.additionalPrinterColumns.map((c) => [c.name, c.jsonPath]));
    expect(columns).toMatchObject({
      Ready: '.status.conditions[?(@.type=="Ready")].status',
      Seq: ".status.replication.lastSeq",
      Lag: ".status.replication.lag",
      Age: ".metadata.creationTimestamp",
    });
  });

  it("accepts the samples and fills in defaults the operator agrees with", () => {
    for (const file of ["outlet-minimal.yaml", "outlet-full.yaml"]) {
      const { stored, errors } = admit(sample(file));
      expect(errors, file).toEqual([]);
      // The operator's zod schema mirrors the CRD's defaults: parsing the stored spec changes nothing.
      expect(OutletSpec.parse(stored.spec), file).toEqual(stored.spec);
    }
    const { stored } = admit(sample("outlet-minimal.yaml"));
    expect(stored.spec).toEqual({
      outletId: "store-042",
      timezone: "UTC",
      resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "1Gi" } },
      storage: { size: "1Gi", dataPolicy: "Retain" },
      riskLimits: { defaultDailyLimit: 1_000_000, brands: {} },
      snapshotInterval: { events: 100_000, seconds: 300 },
      paused: false,
      podDisruptionBudget: { enabled: false },
    });
    // And what the operator assumes when a field is missing is what the CRD would have defaulted.
    expect(OutletSpec.parse({ outletId: "store-042" })).toEqual(stored.spec);
  });

  it("prunes unknown fields, as the API server does", () => {
    const { stored, errors } = admit(withSpec({ outletId: "a", replicas: 3, storage: { size: "2Gi", tier: "gold" } }));
    expect(errors).toEqual([]);
    expect(stored.spec).not.toHaveProperty("replicas");
    expect((stored.spec as { storage: object }).storage).toEqual({ size: "2Gi", dataPolicy: "Retain" });
  });

  it.each([
    ["a missing outletId", withSpec({}), "spec: must have required property 'outletId'"],
    ["an outletId that is no NATS token", withSpec({ outletId: "store.42" }), "spec.outletId: must match pattern"],
    ["an outletId over 63 characters", withSpec({ outletId: "x".repeat(64) }), "spec.outletId: must match pattern"],
    [
      "an unknown data policy",
      withSpec({ outletId: "a", storage: { dataPolicy: "Archive" } }),
      "spec.storage.dataPolicy: must be equal to one of the allowed values: Retain, Delete",
    ],
    [
      "a negative brand limit",
      withSpec({ outletId: "a", riskLimits: { brands: { acme: -1 } } }),
      "spec.riskLimits.brands.acme: must be >= 0",
    ],
    [
      "a malformed quantity",
      withSpec({ outletId: "a", resources: { requests: { cpu: "lots" } } }),
      "spec.resources.requests.cpu: must match pattern",
    ],
    [
      "a zero snapshot interval",
      withSpec({ outletId: "a", snapshotInterval: { events: 0 } }),
      "spec.snapshotInterval.events: must be >= 1",
    ],
    [
      "credentials without a NATS URL",
      withSpec({ outletId: "a", nats: { credentialsSecret: { name: "s" } } }),
      "spec.nats: nats.credentialsSecret needs nats.url",
    ],
    ["a non-nats URL", withSpec({ outletId: "a", nats: { url: "http://x" } }), "spec.nats.url: must match pattern"],
    [
      "a name too long for a StatefulSet",
      withSpec({ outletId: "a" }, "s".repeat(53)),
      "metadata.name: must NOT have more than 52 characters",
    ],
  ])("rejects %s", (_what, object, expected) => {
    expect(admit(object).errors.join("\n")).toContain(expected);
  });

  it("keeps outletId immutable (a transition rule on oldSelf), and storage with it", () => {
    const old = admit(withSpec({ outletId: "store-1", storage: { size: "5Gi" } })).stored;
    expect(
      admit(withSpec({ outletId: "store-1", storage: { size: "5Gi" }, timezone: "Asia/Tokyo" }), old).errors,
    ).toEqual([]);
    expect(admit(withSpec({ outletId: "store-2", storage: { size: "5Gi" } }), old).errors).toEqual([
      "spec.outletId: outletId is immutable",
    ]);
    expect(admit(withSpec({ outletId: "store-1", storage: { size: "6Gi" } }), old).errors.join()).toContain(
      "storage.size is immutable",
    );
    expect(
      admit(withSpec({ outletId: "store-1", storage: { size: "5Gi", storageClassName: "fast" } }), old).errors.join(),
    ).toContain("storage.storageClassName is immutable");
    // On create there is no oldSelf: transition rules do not run.
    expect(admit(withSpec({ outletId: "store-2" })).errors).toEqual([]);
  });

  it("validates a status the operator writes", () => {
    const { errors } = admit({
      ...withSpec({ outletId: "a" }),
      status: {
        observedGeneration: 3,
        endpoint: "http://a.stores.svc:8080",
        conditions: [
          {
            type: "Ready",
            status: "True",
            reason: "OutletReady",
            message: "ok",
            lastTransitionTime: "2026-01-01T00:00:00Z",
            observedGeneration: 3,
          },
        ],
        replication: { lastSeq: 10, replicatedSeq: 9, lag: 1, lastSeen: "2026-01-01T00:00:00.000Z" },
      },
    });
    expect(errors).toEqual([]);
    const bad = admit({ ...withSpec({ outletId: "a" }), status: { conditions: [{ type: "Ready", status: "Maybe" }] } });
    expect(bad.errors.join()).toContain("status.conditions.0.status: must be equal to one of the allowed values");
  });

  it("lives at crds/outlets.stockroom.dev.yaml", () => {
    expect(CRD_PATH.endsWith("crds/outlets.stockroom.dev.yaml")).toBe(true);
  });
});
