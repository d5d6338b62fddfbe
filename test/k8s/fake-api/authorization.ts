import { ApiError } from "./api-error.ts";

/** One RBAC PolicyRule. */
export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
}

/** Rules granted to a subject: by a ClusterRole through a ClusterRoleBinding (namespace null), or by a Role in one namespace. */
export interface Grant {
  namespace: string | null;
  rules: PolicyRule[];
}

export interface AccessRequest {
  verb: string;
  group: string;
  /** "outlets" or "outlets/status". */
  resource: string;
  namespace: string | null;
  name: string | null;
}

const matches = (list: string[] | undefined, value: string) => (list ?? []).some((x) => x === "*" || x === value);

/**
 * RBAC's authorizer, for the tokens a test enforces it on: a request is allowed when some rule of
 * some grant covering its namespace allows its verb on its group/resource (and name, when the
 * rule names resources; create and list never match a named rule). Discovery is always allowed.
 */
export class RbacAuthorizer {
  private readonly grants = new Map<string, Grant[]>();
  readonly denied: (AccessRequest & { token: string })[] = [];

  enforce(token: string, grants: Grant[]): void {
    this.grants.set(token, grants);
  }

  check(token: string | null, request: AccessRequest): void {
    if (token === null) return;
    const grants = this.grants.get(token);
    if (!grants) return;
    const allowed = grants.some(
      (g) =>
        (g.namespace === null || g.namespace === request.namespace) &&
        g.rules.some(
          (r) =>
            matches(r.apiGroups, request.group) &&
            matches(r.resources, request.resource) &&
            matches(r.verbs, request.verb) &&
            (!r.resourceNames?.length || (request.name !== null && r.resourceNames.includes(request.name))),
        ),
    );
    if (allowed) return;
    this.denied.push({ ...request, token });
    const where = request.namespace ? ` in the namespace "${request.namespace}"` : " at the cluster scope";
    throw new ApiError(
      403,
      "Forbidden",
      `${request.resource}${request.name ? ` "${request.name}"` : ""} is forbidden: cannot ${request.verb} resource "${request.resource}" in API group "${request.group}"${where}`,
    );
  }
}
