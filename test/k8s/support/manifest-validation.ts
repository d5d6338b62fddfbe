import * as k8s from "@kubernetes/client-node";

/**
 * Offline validation of Kubernetes manifests, two ways:
 * - kubernetes-models: the JSON schema of the kind from the Kubernetes OpenAPI spec (types,
 *   required fields, enums, formats);
 * - unknown fields, which that schema allows but `kubectl --validate=strict` and the server's
 *   Strict field validation refuse: checked against @kubernetes/client-node's model of each kind.
 */

type Model = { validate(): void };
type ModelClass = new (data: unknown) => Model;

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string; namespace?: string };
  [field: string]: unknown;
}

async function modelClass(apiVersion: string, kind: string): Promise<ModelClass | undefined> {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  const path = group ? `kubernetes-models/${group}/${version}/${kind}` : `kubernetes-models/${version}/${kind}`;
  try {
    const module = (await import(path)) as Record<string, ModelClass>;
    return module[kind];
  } catch {
    return undefined;
  }
}

/** Errors from the kind's OpenAPI schema; throws for a kind kubernetes-models does not know. */
export async function schemaErrorsOf(manifest: Manifest): Promise<string[]> {
  const Model = await modelClass(manifest.apiVersion, manifest.kind);
  if (!Model) throw new Error(`kubernetes-models has no ${manifest.apiVersion} ${manifest.kind}`);
  try {
    new Model(manifest).validate();
    return [];
  } catch (error) {
    return [(error as Error).message];
  }
}

type Attribute = { name: string; baseName: string; type: string };
type ClientModel = { getAttributeTypeMap(): Attribute[] };
const models = k8s as unknown as Record<string, ClientModel | undefined>;

const OPAQUE = new Set(["string", "number", "boolean", "any", "object", "Date", "IntOrString", "V1MicroTime"]);

function clientModelName(apiVersion: string, kind: string): string | undefined {
  const version = apiVersion.split("/").at(-1)!;
  const prefix = version.charAt(0).toUpperCase() + version.slice(1);
  return [`${prefix}${kind}`, `Core${prefix}${kind}`].find((name) => models[name]?.getAttributeTypeMap);
}

/** Fields the kind does not have (a typo, or a field of a newer Kubernetes), as dotted paths. */
export function unknownFieldsOf(manifest: Manifest): string[] {
  const type = clientModelName(manifest.apiVersion, manifest.kind);
  if (!type) throw new Error(`@kubernetes/client-node has no model for ${manifest.apiVersion} ${manifest.kind}`);
  const unknown: string[] = [];
  const walk = (value: unknown, typeName: string, path: string) => {
    if (value === undefined || value === null || OPAQUE.has(typeName)) return;
    const array = typeName.match(/^Array<(.+)>$/);
    if (array) {
      if (Array.isArray(value)) for (const [i, item] of value.entries()) walk(item, array[1]!, `${path}[${i}]`);
      return;
    }
    const map = typeName.match(/^\{ \[key: string\]: (.+); \}$/);
    if (map) {
      if (typeof value === "object") for (const [k, v] of Object.entries(value)) walk(v, map[1]!, `${path}.${k}`);
      return;
    }
    const model = models[typeName];
    if (!model?.getAttributeTypeMap || typeof value !== "object") return;
    const attributes = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a]));
    for (const [k, v] of Object.entries(value)) {
      const attribute = attributes.get(k);
      if (!attribute) unknown.push(`${path}.${k}`.replace(/^\./, ""));
      else walk(v, attribute.type, `${path}.${k}`);
    }
  };
  walk(manifest, type, "");
  return unknown;
}

/** Both checks; an empty list means the manifest is valid for its kind. */
export async function manifestProblems(manifest: Manifest): Promise<string[]> {
  const name = `${manifest.kind} ${manifest.metadata?.name ?? "?"}`;
  const problems = [
    ...(await schemaErrorsOf(manifest)),
    ...unknownFieldsOf(manifest).map((path) => `unknown field ${path}`),
  ];
  return problems.map((p) => `${name}: ${p}`);
}
