/** What the fake server knows about each kind: where it lives, and which write rules apply. */
export interface ResourceType {
  group: string;
  version: string;
  kind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  /** Writes to the main resource keep status; writes to /status keep everything else. */
  statusSubresource: boolean;
  /** metadata.generation is kept and bumped by changes outside metadata and status. */
  generation: boolean;
  /** Set for custom resources: the served version of their CRD. */
  crd?: CustomResourceVersion;
}

export interface CustomResourceVersion {
  name: string;
  schema: { openAPIV3Schema: JsonSchema };
  additionalPrinterColumns?: PrinterColumn[];
}

export interface PrinterColumn {
  name: string;
  type: string;
  jsonPath: string;
  description?: string;
  priority?: number;
  format?: string;
}

export type JsonSchema = { [key: string]: unknown };

export const apiVersionOf = (t: Pick<ResourceType, "group" | "version">) =>
  t.group ? `${t.group}/${t.version}` : t.version;

export const typeKey = (t: Pick<ResourceType, "group" | "plural">) => `${t.group}/${t.plural}`;

const builtIn = (
  group: string,
  version: string,
  kind: string,
  plural: string,
  options: Partial<Pick<ResourceType, "namespaced" | "shortNames" | "statusSubresource" | "generation">> = {},
): ResourceType => ({
  group,
  version,
  kind,
  plural,
  singular: kind.toLowerCase(),
  namespaced: options.namespaced ?? true,
  shortNames: options.shortNames ?? [],
  statusSubresource: options.statusSubresource ?? false,
  generation: options.generation ?? false,
});

/** The built-in kinds the operator, its tests and its charts touch. */
export const BUILT_IN_TYPES: ResourceType[] = [
  builtIn("", "v1", "Namespace", "namespaces", { namespaced: false, shortNames: ["ns"], statusSubresource: true }),
  builtIn("", "v1", "ConfigMap", "configmaps", { shortNames: ["cm"] }),
  builtIn("", "v1", "Secret", "secrets"),
  builtIn("", "v1", "Service", "services", { shortNames: ["svc"], statusSubresource: true }),
  builtIn("", "v1", "ServiceAccount", "serviceaccounts", { shortNames: ["sa"] }),
  builtIn("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", {
    shortNames: ["pvc"],
    statusSubresource: true,
  }),
  builtIn("", "v1", "Pod", "pods", { shortNames: ["po"], statusSubresource: true }),
  builtIn("", "v1", "Event", "events", { shortNames: ["ev"] }),
  builtIn("apps", "v1", "StatefulSet", "statefulsets", {
    shortNames: ["sts"],
    statusSubresource: true,
    generation: true,
  }),
  builtIn("apps", "v1", "Deployment", "deployments", {
    shortNames: ["deploy"],
    statusSubresource: true,
    generation: true,
  }),
  builtIn("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", {
    shortNames: ["pdb"],
    statusSubresource: true,
    generation: true,
  }),
  builtIn("coordination.k8s.io", "v1", "Lease", "leases"),
  builtIn("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", { namespaced: false }),
  builtIn("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", { namespaced: false }),
  builtIn("rbac.authorization.k8s.io", "v1", "Role", "roles"),
  builtIn("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings"),
  builtIn("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", {
    namespaced: false,
    shortNames: ["crd", "crds"],
    statusSubresource: true,
    generation: true,
  }),
];

interface CrdObject {
  spec: {
    group: string;
    scope: "Namespaced" | "Cluster";
    names: { kind: string; plural: string; singular?: string; shortNames?: string[] };
    versions: (CustomResourceVersion & { served: boolean; storage: boolean; subresources?: { status?: object } })[];
  };
}

/** The served versions of a CRD as resource types (what the real server starts serving once it is Established). */
export function typesFromCrd(crd: CrdObject): ResourceType[] {
  const { group, scope, names } = crd.spec;
  return crd.spec.versions
    .filter((v) => v.served)
    .map((v) => ({
      group,
      version: v.name,
      kind: names.kind,
      plural: names.plural,
      singular: names.singular ?? names.kind.toLowerCase(),
      namespaced: scope === "Namespaced",
      shortNames: names.shortNames ?? [],
      statusSubresource: v.subresources?.status !== undefined,
      generation: true,
      crd: v,
    }));
}

/** Looks kinds up by URL (group, version, plural) and by apiVersion + kind. */
export class ResourceRegistry {
  private readonly types: ResourceType[] = [...BUILT_IN_TYPES];

  add(types: ResourceType[]): void {
    for (const t of types) {
      const i = this.types.findIndex((x) => x.group === t.group && x.version === t.version && x.plural === t.plural);
      if (i >= 0) this.types.splice(i, 1, t);
      else this.types.push(t);
    }
  }

  remove(group: string, plural: string): void {
    for (let i = this.types.length - 1; i >= 0; i--) {
      const t = this.types[i]!;
      if (t.group === group && t.plural === plural) this.types.splice(i, 1);
    }
  }

  byPath(group: string, version: string, plural: string): ResourceType | undefined {
    return this.types.find((t) => t.group === group && t.version === version && t.plural === plural);
  }

  byKind(apiVersion: string, kind: string): ResourceType | undefined {
    return this.types.find((t) => apiVersionOf(t) === apiVersion && t.kind === kind);
  }

  /** Every version of a group/plural: they share one storage. */
  all(): readonly ResourceType[] {
    return this.types;
  }
}
