import { applyDefaults, celErrors, prune, type Schema, schemaErrors } from "../support/crd-schema.ts";
import { type Manifest, schemaErrorsOf, unknownFieldsOf } from "../support/manifest-validation.ts";
import { ApiError, invalid } from "./api-error.ts";
import { isObject, sameJson } from "./patches.ts";
import type { ResourceType } from "./resource-types.ts";
import type { K8sObject } from "./store.ts";

/**
 * The checks the real server runs before storing an object, as far as the fake knows them:
 * - every object: name and label syntax;
 * - built-in kinds: the kind's OpenAPI schema (kubernetes-models) and unknown fields refused, as
 *   with fieldValidation=Strict (the real default, Warn, would drop them with a warning: stricter
 *   here on purpose, so a typo fails a test instead of vanishing), plus the immutability rules of
 *   the kinds the operator writes (StatefulSet spec, Deployment selector, Service clusterIP) and
 *   Lease MicroTime syntax;
 * - custom resources: defaulting, pruning, the CRD's structural schema and CEL rules.
 * Not done: built-in defaulting (e.g. Service port protocol, pod template defaults), admission
 * webhooks, quota, RBAC (every request is allowed).
 */

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const MICRO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)$/;

export async function admit(type: ResourceType, object: K8sObject, old: K8sObject | undefined): Promise<K8sObject> {
  const name = object.metadata.name;
  const errors: { field: string; message: string }[] = [];
  const nameRule = type.kind === "Service" || type.kind === "Namespace" ? DNS_LABEL : DNS_SUBDOMAIN;
  if (!nameRule.test(name) || name.length > (nameRule === DNS_LABEL ? 63 : 253)) {
    errors.push({ field: "metadata.name", message: `Invalid value: "${name}": must be a lowercase RFC 1123 name` });
  }
  for (const [k, v] of Object.entries(object.metadata.labels ?? {})) {
    const [prefix, label] = k.includes("/") ? (k.split("/", 2) as [string, string]) : [undefined, k];
    if ((prefix !== undefined && !DNS_SUBDOMAIN.test(prefix)) || !LABEL_NAME.test(label) || label.length > 63) {
      errors.push({ field: `metadata.labels`, message: `Invalid value: "${k}": not a valid label key` });
    }
    if (typeof v !== "string" || !LABEL_VALUE.test(v) || v.length > 63) {
      errors.push({
        field: `metadata.labels`,
        message: `Invalid value: "${v}": a label value must be 63 characters or less of [-A-Za-z0-9_.]`,
      });
    }
  }
  if (errors.length) throw invalid(type.kind, name, errors);

  if (type.crd) return admitCustomResource(type, object, old);
  const manifest = object as unknown as Manifest;
  const schema = await schemaErrorsOf(manifest);
  const unknown = unknownFieldsOf(manifest).map((field) => ({ field, message: "unknown field" }));
  if (schema.length || unknown.length) {
    throw invalid(type.kind, name, [...schema.map((message) => ({ field: "<schema>", message })), ...unknown]);
  }
  if (old) immutability(type, object, old);
  if (type.kind === "Lease") {
    const spec = (object.spec ?? {}) as Record<string, unknown>;
    for (const field of ["acquireTime", "renewTime"]) {
      if (spec[field] !== undefined && !MICRO_TIME.test(String(spec[field]))) {
        throw invalid(type.kind, name, [
          { field: `spec.${field}`, message: `must be RFC3339 with microseconds, got ${spec[field]}` },
        ]);
      }
    }
  }
  return object;
}

function admitCustomResource(type: ResourceType, object: K8sObject, old: K8sObject | undefined): K8sObject {
  const schema = type.crd!.schema.openAPIV3Schema as Schema;
  prune(object, schema);
  applyDefaults(object, schema);
  const errors = [
    ...schemaErrors(object, schema),
    ...celErrors(stripMetadata(object), old && stripMetadata(old), schema),
  ];
  if (errors.length) throw invalid(type.kind, object.metadata.name, errors);
  return object;
}

const stripMetadata = (o: K8sObject) => {
  const { metadata: _metadata, ...rest } = o;
  return rest;
};

const STATEFULSET_MUTABLE = [
  "replicas",
  "ordinals",
  "template",
  "updateStrategy",
  "revisionHistoryLimit",
  "persistentVolumeClaimRetentionPolicy",
  "minReadySeconds",
];

function immutability(type: ResourceType, object: K8sObject, old: K8sObject): void {
  const spec = (object.spec ?? {}) as Record<string, unknown>;
  const oldSpec = (old.spec ?? {}) as Record<string, unknown>;
  const without = (s: Record<string, unknown>, keys: string[]) =>
    Object.fromEntries(Object.entries(s).filter(([k]) => !keys.includes(k)));
  if (
    type.kind === "StatefulSet" &&
    !sameJson(without(spec, STATEFULSET_MUTABLE), without(oldSpec, STATEFULSET_MUTABLE))
  ) {
    throw invalid(type.kind, object.metadata.name, [
      {
        field: "spec",
        message: `Forbidden: updates to statefulset spec for fields other than ${STATEFULSET_MUTABLE.map((f) => `'${f}'`).join(", ")} are forbidden`,
      },
    ]);
  }
  if (type.kind === "Deployment" && !sameJson(spec.selector, oldSpec.selector)) {
    throw invalid(type.kind, object.metadata.name, [{ field: "spec.selector", message: "field is immutable" }]);
  }
  if (type.kind === "Service") {
    // An update without clusterIP keeps the allocated one, as the real server does.
    if (spec.clusterIP === undefined && oldSpec.clusterIP !== undefined) {
      spec.clusterIP = oldSpec.clusterIP;
      spec.clusterIPs = oldSpec.clusterIPs;
    }
    if (spec.clusterIP !== oldSpec.clusterIP) {
      throw invalid(type.kind, object.metadata.name, [{ field: "spec.clusterIP", message: "field is immutable" }]);
    }
  }
}

let nextServiceIp = 10;

/** What the server fills in on create for the kinds that need it. */
export function allocate(type: ResourceType, object: K8sObject): void {
  if (type.kind === "Service" && isObject(object.spec)) {
    const spec = object.spec;
    if (spec.clusterIP === undefined && (spec.type ?? "ClusterIP") !== "ExternalName") {
      const ip = `10.96.0.${nextServiceIp++ % 250}`;
      spec.clusterIP = ip;
      spec.clusterIPs = [ip];
    }
  }
  if (type.kind === "Namespace") object.status = { phase: "Active" };
}

export function forbidden(message: string): ApiError {
  return new ApiError(403, "Forbidden", message);
}
