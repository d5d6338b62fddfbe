/**
 * A fake Kubernetes API server over real HTTP, for @kubernetes/client-node and the operator.
 *
 * Faithful to the real server in: discovery (/api, /apis, group versions with their resources),
 * one global resourceVersion sequence, list (label and field selectors, resourceVersion in list
 * metadata, built-in list items without apiVersion/kind), watch streams of newline-delimited JSON
 * events resuming from a resourceVersion (objects entering or leaving a label selector are
 * ADDED/DELETED), 410 Gone for a compacted resourceVersion (sent as an ERROR event on a 200
 * stream, as the real server does), create/get/replace/delete, JSON merge patch, JSON patch,
 * server-side apply (see server-side-apply.ts for how it approximates field ownership), the
 * status subresource (main writes keep status, status writes keep the rest, generation bumped
 * only by changes outside metadata and status), 409 Conflict on a stale resourceVersion,
 * finalizers holding deletion (deletionTimestamp set, object removed when the last finalizer
 * goes, no new finalizers once deleting), owner-reference garbage collection (background: a
 * dependent whose owners are all gone is deleted; dangling references are removed), CRDs
 * registered by creating a CustomResourceDefinition (then served, defaulted, pruned and
 * validated with their schema and CEL rules, printed as Tables with their printer columns), and
 * Leases (plain objects with the usual 409 semantics). Writes are applied one at a time, as
 * etcd's transactions are, so a read-check-write is never interleaved with another write.
 *
 * Approximations, on purpose: no authentication; RBAC only for the tokens a test enforces it on
 * (authorization.ts: roles given as rules, no aggregation or escalation checks); no built-in
 * defaulting; strategic merge patch on built-ins behaves as a JSON merge patch (lists replaced,
 * not merged by key); propagationPolicy Foreground behaves as Background and Orphan strips the
 * owner references at once (the real server uses the orphan/foregroundDeletion finalizers);
 * namespace deletion does not delete the namespace's objects; list ignores resourceVersion
 * semantics (always the latest) and has no pagination; watches never time out unless asked
 * (timeoutSeconds) and send no bookmarks; built-in kinds are checked with kubernetes-models and
 * refuse unknown fields (like fieldValidation=Strict; the real default only warns), and only the
 * immutable fields of the kinds the operator writes are enforced (admission.ts). No controllers
 * run unless simulated-controllers.ts is started: no pods, no scheduling, no kubelet.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";
import YAML from "yaml";
import { admit, allocate, forbidden } from "./admission.ts";
import { ApiError, alreadyExists, badRequest, conflict, invalid, notFound } from "./api-error.ts";
import { RbacAuthorizer } from "./authorization.ts";
import { isObject, jsonPatch, mergePatch, sameJson } from "./patches.ts";
import { apiVersionOf, ResourceRegistry, type ResourceType, typeKey, typesFromCrd } from "./resource-types.ts";
import { parseFieldSelector, parseLabelSelector } from "./selectors.ts";
import { applyConfiguration, recordUpdate } from "./server-side-apply.ts";
import { type K8sObject, type OwnerReference, Store, type WatchEventType } from "./store.ts";
import { toTable, wantsTable } from "./table.ts";

export interface RecordedRequest {
  verb: "list" | "watch" | "get" | "create" | "update" | "patch" | "delete" | "discovery";
  method: string;
  path: string;
  query: Record<string, string>;
  contentType: string | undefined;
  status: number;
}

interface ResourceTarget {
  type: ResourceType;
  namespace: string | null;
  name: string | null;
  subresource: "status" | null;
}

interface Interposition {
  plural: string;
  name: string | undefined;
  subresource: "status" | null | undefined;
  remaining: number;
}

type Scope = "main" | "status";
type Reply = { code: number; body: unknown } | "streaming";

const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, "Z");

export class FakeApiServer {
  readonly store = new Store();
  readonly registry = new ResourceRegistry();
  readonly requests: RecordedRequest[] = [];
  /** Off for every token until a test enforces RBAC for one. */
  readonly rbac = new RbacAuthorizer();
  private readonly watches = new Set<{ end(error?: ApiError): void }>();
  private readonly interpositions: Interposition[] = [];
  private readonly pending = new Set<NodeJS.Immediate>();
  private stopped = false;
  /** Writes run one at a time, like etcd transactions: a read-check-write is never interleaved. */
  private writeLock: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly http: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<FakeApiServer> {
    const http = createServer();
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    const { port } = http.address() as AddressInfo;
    const server = new FakeApiServer(http, `http://127.0.0.1:${port}`);
    http.on("request", (req, res) => void server.handle(req, res));
    return server;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.pending) clearImmediate(timer);
    for (const w of [...this.watches]) w.end();
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  /** A KubeConfig that points @kubernetes/client-node at this server. */
  kubeConfig(namespace = "default", token = "fake-token"): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: "fake", server: this.url, skipTLSVerify: true }],
      users: [{ name: "tester", token }],
      contexts: [{ name: "fake", cluster: "fake", user: "tester", namespace }],
      currentContext: "fake",
    });
    return kc;
  }

  // ---- faults ---------------------------------------------------------------------------

  /** etcd compaction: every open watch gets ERROR 410 Gone and closes; older resourceVersions are gone. */
  expireWatches(): void {
    this.store.compact();
    for (const w of [...this.watches]) w.end(new ApiError(410, "Expired", "too old resource version: compacted"));
  }

  /** Closes every open watch normally (what the real server does when a watch times out). */
  dropWatches(): void {
    for (const w of [...this.watches]) w.end();
  }

  /**
   * Before each of the next `times` matching writes, another writer changes the same object
   * (an annotation), so a write carrying the resourceVersion it read is stale and gets 409.
   */
  interposeConcurrentWrite(match: { plural: string; name?: string; subresource?: "status" | null }, times = 1): void {
    this.interpositions.push({
      plural: match.plural,
      name: match.name,
      subresource: match.subresource,
      remaining: times,
    });
  }

  get openWatches(): number {
    return this.watches.size;
  }

  // ---- direct access (for tests and simulated controllers) --------------------------------

  typeOf(apiVersion: string, kind: string): ResourceType {
    const type = this.registry.byKind(apiVersion, kind);
    if (!type) throw new Error(`the fake server does not serve ${apiVersion} ${kind}`);
    return type;
  }

  get(apiVersion: string, kind: string, namespace: string | undefined, name: string): K8sObject | undefined {
    return this.store.get(typeKey(this.typeOf(apiVersion, kind)), namespace, name);
  }

  list(apiVersion: string, kind: string, namespace?: string): K8sObject[] {
    return this.store.list(typeKey(this.typeOf(apiVersion, kind)), namespace);
  }

  /** Creates an object as `manager` would through the API (validated, with owner checks and GC). */
  async create(object: K8sObject, manager = "test"): Promise<K8sObject> {
    const type = this.typeOf(object.apiVersion!, object.kind!);
    return this.exclusive(() =>
      this.createObject(type, object.metadata.namespace ?? null, structuredClone(object), manager),
    );
  }

  /** Replaces status the way a controller's status update does. */
  async writeStatus(object: K8sObject, status: unknown, manager: string): Promise<K8sObject> {
    const type = this.typeOf(object.apiVersion!, object.kind!);
    return this.exclusive(async () => {
      const existing = this.store.get(typeKey(type), object.metadata.namespace, object.metadata.name);
      if (!existing) throw notFound(type.plural, object.metadata.name);
      return this.commit(type, existing, { ...existing, status: structuredClone(status) }, manager, "status", false);
    });
  }

  async delete(apiVersion: string, kind: string, namespace: string | undefined, name: string): Promise<void> {
    const type = this.typeOf(apiVersion, kind);
    await this.exclusive(() => this.deleteObject(type, namespace ?? null, name, {}));
  }

  // ---- HTTP --------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", this.url);
    const query = Object.fromEntries(url.searchParams);
    const record: RecordedRequest = {
      verb: "discovery",
      method: req.method ?? "GET",
      path: url.pathname,
      query,
      contentType: req.headers["content-type"],
      status: 0,
    };
    try {
      const body = await readBody(req);
      const write = req.method !== "GET";
      const reply = write
        ? await this.exclusive(() => this.route(req, res, url, query, body, record))
        : await this.route(req, res, url, query, body, record);
      if (reply === "streaming") {
        record.status = 200;
      } else {
        record.status = reply.code;
        send(res, reply.code, reply.body);
      }
    } catch (error) {
      const apiError =
        error instanceof ApiError
          ? error
          : new ApiError(500, "InternalError", `fake server: ${(error as Error).stack}`);
      record.status = apiError.code;
      send(res, apiError.code, apiError.toStatus());
    }
    this.requests.push(record);
  }

  private async route(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    query: Record<string, string>,
    body: string,
    record: RecordedRequest,
  ): Promise<Reply> {
    const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    if (url.pathname === "/version")
      return { code: 200, body: { major: "1", minor: "31", gitVersion: "v1.31.0-fake" } };
    let group: string;
    let version: string | undefined;
    let rest: string[];
    if (parts[0] === "api") {
      if (parts.length === 1)
        return { code: 200, body: { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [] } };
      [group, version, rest] = ["", parts[1], parts.slice(2)];
    } else if (parts[0] === "apis") {
      if (parts.length === 1) return { code: 200, body: this.groupList() };
      [group, version, rest] = [parts[1]!, parts[2], parts.slice(3)];
      if (version === undefined) {
        const g = this.groupList().groups.find((x) => x.name === group);
        if (!g) throw new ApiError(404, "NotFound", "the server could not find the requested resource");
        return { code: 200, body: { kind: "APIGroup", apiVersion: "v1", ...g } };
      }
    } else throw new ApiError(404, "NotFound", "the server could not find the requested resource");
    if (rest.length === 0) return { code: 200, body: this.resourceList(group, version!) };

    let namespace: string | null = null;
    if (rest[0] === "namespaces" && rest.length >= 3 && rest[2] !== "status" && rest[2] !== "finalize") {
      namespace = rest[1]!;
      rest = rest.slice(2);
    }
    const type = this.registry.byPath(group, version!, rest[0]!);
    if (!type || rest.length > 3 || (rest[2] !== undefined && rest[2] !== "status")) {
      throw new ApiError(404, "NotFound", "the server could not find the requested resource");
    }
    if (rest[2] === "status" && !type.statusSubresource) {
      throw new ApiError(404, "NotFound", "the server could not find the requested resource");
    }
    if (namespace !== null && !type.namespaced)
      throw new ApiError(404, "NotFound", "the server could not find the requested resource");
    const target: ResourceTarget = {
      type,
      namespace,
      name: rest[1] ?? null,
      subresource: rest[2] === "status" ? "status" : null,
    };
    if (target.name !== null && type.namespaced && namespace === null) {
      throw new ApiError(404, "NotFound", "the server could not find the requested resource");
    }
    const manager = query.fieldManager ?? String(req.headers["user-agent"] ?? "unknown").split("/")[0]!;
    const method = req.method ?? "GET";
    const token = String(req.headers.authorization ?? "").match(/^Bearer (.+)$/)?.[1] ?? null;
    const verb =
      method === "GET"
        ? target.name !== null
          ? "get"
          : query.watch === "true" || query.watch === "1"
            ? "watch"
            : "list"
        : (({ POST: "create", PUT: "update", PATCH: "patch", DELETE: "delete" } as Record<string, string>)[method] ??
          method);
    this.rbac.check(token, {
      verb,
      group,
      resource: target.subresource ? `${type.plural}/${target.subresource}` : type.plural,
      namespace,
      name: target.name,
    });

    if (target.name === null) {
      if (method === "GET" && (query.watch === "true" || query.watch === "1")) {
        record.verb = "watch";
        this.watch(target, query, req, res);
        return "streaming";
      }
      if (method === "GET") {
        record.verb = "list";
        return { code: 200, body: this.listBody(target, query, req.headers.accept) };
      }
      if (method === "POST") {
        record.verb = "create";
        const created = await this.createObject(type, namespace, parseJson(body), manager);
        return { code: 201, body: created };
      }
      throw new ApiError(405, "MethodNotAllowed", `${method} is not supported on a collection here`);
    }

    const scope: Scope = target.subresource === "status" ? "status" : "main";
    switch (method) {
      case "GET": {
        record.verb = "get";
        const found = this.store.get(typeKey(type), namespace ?? undefined, target.name);
        if (!found) throw notFound(type.plural, target.name);
        return {
          code: 200,
          body: wantsTable(req.headers.accept) ? toTable(type, [found], found.metadata.resourceVersion!) : found,
        };
      }
      case "PUT": {
        record.verb = "update";
        this.interpose(target, manager);
        return { code: 200, body: await this.replace(target, parseJson(body), manager, scope) };
      }
      case "PATCH": {
        record.verb = "patch";
        this.interpose(target, manager);
        const contentType = String(req.headers["content-type"] ?? "").split(";")[0]!;
        return await this.patch(target, contentType, body, query, manager, scope);
      }
      case "DELETE": {
        record.verb = "delete";
        const options = body ? (parseJson(body) as Record<string, unknown>) : {};
        if (query.propagationPolicy) options.propagationPolicy = query.propagationPolicy;
        return { code: 200, body: await this.deleteObject(type, namespace, target.name, options) };
      }
      default:
        throw new ApiError(405, "MethodNotAllowed", `${method} is not supported`);
    }
  }

  private groupList() {
    const groups = new Map<string, string[]>();
    for (const t of this.registry.all()) {
      if (!t.group) continue;
      const versions = groups.get(t.group) ?? [];
      if (!versions.includes(t.version)) versions.push(t.version);
      groups.set(t.group, versions);
    }
    return {
      kind: "APIGroupList",
      apiVersion: "v1",
      groups: [...groups].map(([name, versions]) => ({
        name,
        versions: versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v })),
        preferredVersion: { groupVersion: `${name}/${versions[0]}`, version: versions[0] },
      })),
    };
  }

  private resourceList(group: string, version: string) {
    const types = this.registry.all().filter((t) => t.group === group && t.version === version);
    if (types.length === 0) throw new ApiError(404, "NotFound", "the server could not find the requested resource");
    const verbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];
    return {
      kind: "APIResourceList",
      apiVersion: "v1",
      groupVersion: group ? `${group}/${version}` : version,
      resources: types.flatMap((t) => [
        {
          name: t.plural,
          singularName: t.singular,
          namespaced: t.namespaced,
          kind: t.kind,
          verbs,
          shortNames: t.shortNames,
        },
        ...(t.statusSubresource
          ? [
              {
                name: `${t.plural}/status`,
                singularName: "",
                namespaced: t.namespaced,
                kind: t.kind,
                verbs: ["get", "patch", "update"],
              },
            ]
          : []),
      ]),
    };
  }

  // ---- list and watch -----------------------------------------------------------------------

  private listBody(target: ResourceTarget, query: Record<string, string>, accept: string | undefined) {
    const labels = parseLabelSelector(query.labelSelector ?? null);
    const fields = parseFieldSelector(query.fieldSelector ?? null);
    const items = this.store.list(typeKey(target.type), target.namespace).filter((o) => labels(o) && fields(o));
    const resourceVersion = String(this.store.currentRevision);
    if (wantsTable(accept)) return toTable(target.type, items, resourceVersion);
    return {
      apiVersion: apiVersionOf(target.type),
      kind: `${target.type.kind}List`,
      metadata: { resourceVersion },
      // Typed lists carry no apiVersion/kind on their items; custom resource lists do.
      items: target.type.crd ? items : items.map(({ apiVersion: _a, kind: _k, ...rest }) => rest),
    };
  }

  private watch(
    target: ResourceTarget,
    query: Record<string, string>,
    req: IncomingMessage,
    res: ServerResponse,
  ): void {
    const labels = parseLabelSelector(query.labelSelector ?? null);
    const fields = parseFieldSelector(query.fieldSelector ?? null);
    const rv = query.resourceVersion;
    const from = !rv || rv === "0" ? null : Number(rv);
    res.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
    res.flushHeaders();
    const write = (type: WatchEventType | "ERROR", object: unknown) => {
      if (!res.writableEnded) res.write(`${JSON.stringify({ type, object })}\n`);
    };
    let unsubscribe = () => {};
    let timer: NodeJS.Timeout | undefined;
    const handle = {
      end: (error?: ApiError) => {
        if (error) write("ERROR", error.toStatus());
        unsubscribe();
        if (timer) clearTimeout(timer);
        this.watches.delete(handle);
        if (!res.writableEnded) res.end();
      },
    };
    this.watches.add(handle);
    req.on("close", () => handle.end());
    if (query.timeoutSeconds) timer = setTimeout(() => handle.end(), Number(query.timeoutSeconds) * 1000);
    try {
      unsubscribe = this.store.subscribe(
        {
          typeKey: typeKey(target.type),
          namespace: target.namespace,
          selector: (o) => labels(o) && fields(o),
          deliver: write,
        },
        from,
      );
    } catch (error) {
      if (error instanceof ApiError) handle.end(error);
      else throw error;
    }
  }

  // ---- writes ------------------------------------------------------------------------------

  private async createObject(
    type: ResourceType,
    namespace: string | null,
    input: unknown,
    manager: string,
    appliedOwnership?: K8sObject["metadata"]["managedFields"],
  ): Promise<K8sObject> {
    if (!isObject(input) || !isObject(input.metadata)) throw badRequest("the body must be an object with metadata");
    const object = input as K8sObject;
    this.checkKind(type, object);
    const meta = object.metadata;
    if (type.namespaced) {
      const ns = namespace ?? meta.namespace;
      if (!ns) throw badRequest("a namespace is required");
      if (meta.namespace && namespace && meta.namespace !== namespace) {
        throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
      }
      if (!this.store.get("/namespaces", undefined, ns)) throw notFound("namespaces", ns);
      meta.namespace = ns;
    } else delete meta.namespace;
    if (!meta.name && meta.generateName) meta.name = `${meta.generateName}${randomUUID().slice(0, 5)}`;
    if (!meta.name)
      throw invalid(type.kind, "", [{ field: "metadata.name", message: "name or generateName is required" }]);
    if (this.store.get(typeKey(type), meta.namespace, meta.name)) throw alreadyExists(type.plural, meta.name);
    meta.uid = randomUUID();
    meta.creationTimestamp = now();
    delete meta.deletionTimestamp;
    delete meta.resourceVersion;
    if (type.generation) meta.generation = 1;
    else delete meta.generation;
    if (type.statusSubresource && type.kind !== "Namespace") delete object.status;
    allocate(type, object);
    const admitted = await admit(type, object, undefined);
    if (appliedOwnership) admitted.metadata.managedFields = appliedOwnership;
    else recordUpdate(null, admitted, { manager, apiVersion: apiVersionOf(type), now: now(), scope: "main" });
    const stored = this.store.write(typeKey(type), admitted, "ADDED");
    this.afterWrite(type, stored);
    return stored;
  }

  private async replace(target: ResourceTarget, input: unknown, manager: string, scope: Scope): Promise<K8sObject> {
    const { type } = target;
    const existing = this.existing(target);
    if (!isObject(input) || !isObject(input.metadata)) throw badRequest("the body must be an object with metadata");
    const object = input as K8sObject;
    this.checkKind(type, object);
    if (object.metadata.name !== existing.metadata.name)
      throw badRequest("the name of the object does not match the URL");
    this.checkResourceVersion(type, existing, object.metadata.resourceVersion);
    return this.commit(type, existing, object, manager, scope, false);
  }

  private async patch(
    target: ResourceTarget,
    contentType: string,
    body: string,
    query: Record<string, string>,
    manager: string,
    scope: Scope,
  ): Promise<Reply> {
    const { type } = target;
    if (contentType === "application/apply-patch+yaml") {
      if (!query.fieldManager)
        throw badRequest("PATCH, application/apply-patch+yaml: fieldManager is required for apply requests");
      const applied = YAML.parse(body) as K8sObject;
      if (!isObject(applied) || !isObject(applied.metadata))
        throw badRequest("the applied configuration must have metadata");
      this.checkKind(type, applied);
      if (applied.apiVersion === undefined || applied.kind === undefined)
        throw badRequest("apiVersion and kind are required");
      if (applied.metadata.name && applied.metadata.name !== target.name)
        throw badRequest("the name of the object does not match the URL");
      const existing = this.store.get(typeKey(type), target.namespace ?? undefined, target.name!);
      const options = { manager, force: query.force === "true", apiVersion: apiVersionOf(type), scope, now: now() };
      if (!existing) {
        if (scope === "status") throw notFound(type.plural, target.name!);
        const created = applyConfiguration({ ...options, existing: { metadata: { name: target.name! } }, applied });
        const object = { ...created, apiVersion: applied.apiVersion, kind: applied.kind };
        object.metadata = { ...object.metadata, name: target.name!, namespace: target.namespace ?? undefined };
        const stored = await this.createObject(type, target.namespace, object, manager, object.metadata.managedFields);
        return { code: 201, body: stored };
      }
      this.checkResourceVersion(type, existing, applied.metadata.resourceVersion);
      const next = applyConfiguration({ ...options, existing, applied });
      return { code: 200, body: await this.commit(type, existing, next, manager, scope, true) };
    }
    const existing = this.existing(target);
    const patch = parseJson(body);
    let next: unknown;
    if (contentType === "application/merge-patch+json") {
      if (isObject(patch) && isObject(patch.metadata))
        this.checkResourceVersion(type, existing, patch.metadata.resourceVersion as string);
      next = mergePatch(existing, patch);
    } else if (contentType === "application/strategic-merge-patch+json") {
      if (type.crd)
        throw new ApiError(415, "UnsupportedMediaType", "strategic merge patch is not supported for custom resources");
      next = mergePatch(existing, patch);
    } else if (contentType === "application/json-patch+json") {
      next = jsonPatch(existing, patch);
      if ((next as K8sObject).metadata?.resourceVersion !== existing.metadata.resourceVersion) {
        this.checkResourceVersion(type, existing, (next as K8sObject).metadata?.resourceVersion);
      }
    } else {
      throw new ApiError(
        415,
        "UnsupportedMediaType",
        `the body of the request was in an unknown format: ${contentType}`,
      );
    }
    return { code: 200, body: await this.commit(type, existing, next as K8sObject, manager, scope, false) };
  }

  /** The common path of every update: subresource rules, finalizer rules, admission, generation, no-op detection. */
  private async commit(
    type: ResourceType,
    existing: K8sObject,
    input: K8sObject,
    manager: string,
    scope: Scope,
    applied: boolean,
  ): Promise<K8sObject> {
    let next: K8sObject;
    if (scope === "status") {
      next = { ...structuredClone(existing), status: structuredClone(input.status) };
      if (applied) next.metadata.managedFields = input.metadata.managedFields;
    } else {
      next = structuredClone(input);
      if (type.statusSubresource) {
        if (existing.status === undefined) delete next.status;
        else next.status = structuredClone(existing.status);
      }
    }
    next.apiVersion = apiVersionOf(type);
    next.kind = type.kind;
    const meta = next.metadata;
    for (const field of [
      "uid",
      "creationTimestamp",
      "deletionTimestamp",
      "deletionGracePeriodSeconds",
      "namespace",
    ] as const) {
      if (existing.metadata[field] === undefined) delete meta[field];
      else (meta as unknown as Record<string, unknown>)[field] = existing.metadata[field];
    }
    meta.name = existing.metadata.name;
    meta.generation = existing.metadata.generation;
    if (meta.generation === undefined) delete meta.generation;
    if (existing.metadata.deletionTimestamp) {
      const added = (meta.finalizers ?? []).filter((f) => !(existing.metadata.finalizers ?? []).includes(f));
      if (added.length)
        throw forbidden(
          `no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}`,
        );
    }
    const admitted = await admit(type, next, existing);
    if (!applied) recordUpdate(existing, admitted, { manager, apiVersion: apiVersionOf(type), now: now(), scope });
    if (type.generation && scope === "main" && !sameJson(outsideMetadata(existing), outsideMetadata(admitted))) {
      admitted.metadata.generation = (existing.metadata.generation ?? 0) + 1;
    }
    if (sameJson(comparable(existing), comparable(admitted))) return existing;
    if (admitted.metadata.deletionTimestamp && (admitted.metadata.finalizers ?? []).length === 0) {
      return this.remove(type, admitted);
    }
    const stored = this.store.write(typeKey(type), admitted, "MODIFIED");
    this.afterWrite(type, stored);
    return stored;
  }

  private async deleteObject(
    type: ResourceType,
    namespace: string | null,
    name: string,
    options: Record<string, unknown>,
  ): Promise<K8sObject> {
    const existing = this.store.get(typeKey(type), namespace ?? undefined, name);
    if (!existing) throw notFound(type.plural, name);
    const preconditions = (options.preconditions ?? {}) as { uid?: string; resourceVersion?: string };
    if (preconditions.uid && preconditions.uid !== existing.metadata.uid) {
      throw new ApiError(
        409,
        "Conflict",
        `Precondition failed: UID in precondition: ${preconditions.uid}, UID in object meta: ${existing.metadata.uid}`,
      );
    }
    if (preconditions.resourceVersion && preconditions.resourceVersion !== existing.metadata.resourceVersion) {
      throw conflict(type.plural, name);
    }
    if (options.propagationPolicy === "Orphan") this.orphanDependents(existing.metadata.uid!);
    if (existing.metadata.deletionTimestamp) return existing;
    if ((existing.metadata.finalizers ?? []).length > 0) {
      const deleting = structuredClone(existing);
      deleting.metadata.deletionTimestamp = now();
      deleting.metadata.deletionGracePeriodSeconds = 0;
      if (type.generation) deleting.metadata.generation = (existing.metadata.generation ?? 0) + 1;
      return this.store.write(typeKey(type), deleting, "MODIFIED");
    }
    return this.remove(type, existing);
  }

  private remove(type: ResourceType, object: K8sObject): K8sObject {
    const removed = this.store.write(typeKey(type), object, "DELETED");
    if (type.kind === "CustomResourceDefinition") {
      const spec = object.spec as { group: string; names: { plural: string } };
      this.registry.remove(spec.group, spec.names.plural);
    }
    this.later(() => this.exclusive(() => this.collectDependentsOf(object.metadata.uid!)));
    return removed;
  }

  // ---- garbage collection -------------------------------------------------------------------

  private findByUid(uid: string): [ResourceType, K8sObject] | undefined {
    for (const [key, object] of this.store.entries()) {
      if (object.metadata.uid === uid) return [this.registry.all().find((t) => typeKey(t) === key)!, object];
    }
    return undefined;
  }

  /** The garbage collector's background deletion: dependents left with no live owner go too. */
  private async collectDependentsOf(ownerUid: string): Promise<void> {
    for (const [key, dependent] of this.store.entries()) {
      const refs = dependent.metadata.ownerReferences ?? [];
      if (!refs.some((r) => r.uid === ownerUid)) continue;
      await this.settleOwners(this.registry.all().find((t) => typeKey(t) === key)!, dependent);
    }
  }

  private async settleOwners(type: ResourceType, dependent: K8sObject): Promise<void> {
    const refs = dependent.metadata.ownerReferences ?? [];
    const live = refs.filter((r: OwnerReference) => this.findByUid(r.uid) !== undefined);
    if (live.length === refs.length) return;
    if (live.length === 0) {
      await this.deleteObject(type, dependent.metadata.namespace ?? null, dependent.metadata.name, {}).catch(() => {});
      return;
    }
    const next = structuredClone(dependent);
    next.metadata.ownerReferences = live;
    await this.commit(type, dependent, next, "generic-garbage-collector", "main", false).catch(() => {});
  }

  private orphanDependents(ownerUid: string): void {
    for (const [key, dependent] of this.store.entries()) {
      const refs = dependent.metadata.ownerReferences ?? [];
      if (!refs.some((r) => r.uid === ownerUid)) continue;
      const next = structuredClone(dependent);
      next.metadata.ownerReferences = refs.filter((r) => r.uid !== ownerUid);
      if (next.metadata.ownerReferences.length === 0) delete next.metadata.ownerReferences;
      this.store.write(key, next, "MODIFIED");
    }
  }

  private afterWrite(type: ResourceType, stored: K8sObject): void {
    if (type.kind === "CustomResourceDefinition") this.establish(stored);
    // An object created with an owner that does not exist is collected, as the real GC does.
    if ((stored.metadata.ownerReferences ?? []).length > 0) {
      this.later(() =>
        this.exclusive(async () => {
          const current = this.store.get(typeKey(type), stored.metadata.namespace, stored.metadata.name);
          if (current) await this.settleOwners(type, current);
        }),
      );
    }
  }

  private establish(crd: K8sObject): void {
    this.registry.add(typesFromCrd(crd as never));
    const spec = crd.spec as { names: Record<string, unknown> };
    const status = {
      conditions: [
        {
          type: "NamesAccepted",
          status: "True",
          reason: "NoConflicts",
          message: "no conflicts found",
          lastTransitionTime: now(),
        },
        {
          type: "Established",
          status: "True",
          reason: "InitialNamesAccepted",
          message: "the initial names have been accepted",
          lastTransitionTime: now(),
        },
      ],
      acceptedNames: spec.names,
      storedVersions: (crd.spec as { versions: { name: string; storage: boolean }[] }).versions
        .filter((v) => v.storage)
        .map((v) => v.name),
    };
    if (!sameJson((crd.status as Record<string, unknown> | undefined)?.acceptedNames, status.acceptedNames)) {
      this.later(() => this.writeStatus(crd, status, "apiextensions-apiserver"));
    }
  }

  // ---- helpers ------------------------------------------------------------------------------

  private later(task: () => Promise<unknown> | unknown): void {
    const timer = setImmediate(() => {
      this.pending.delete(timer);
      if (!this.stopped) void Promise.resolve(task()).catch(() => {});
    });
    this.pending.add(timer);
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.writeLock.then(work, work);
    this.writeLock = run.catch(() => {});
    return run;
  }

  private existing(target: ResourceTarget): K8sObject {
    const found = this.store.get(typeKey(target.type), target.namespace ?? undefined, target.name!);
    if (!found) throw notFound(target.type.plural, target.name!);
    return found;
  }

  private checkKind(type: ResourceType, object: K8sObject): void {
    if (object.apiVersion !== undefined && object.apiVersion !== apiVersionOf(type)) {
      throw badRequest(`apiVersion ${object.apiVersion} does not match ${apiVersionOf(type)}`);
    }
    if (object.kind !== undefined && object.kind !== type.kind)
      throw badRequest(`kind ${object.kind} does not match ${type.kind}`);
    object.apiVersion = apiVersionOf(type);
    object.kind = type.kind;
  }

  private checkResourceVersion(
    type: ResourceType,
    existing: K8sObject,
    resourceVersion: string | undefined | null,
  ): void {
    if (resourceVersion && resourceVersion !== existing.metadata.resourceVersion)
      throw conflict(type.plural, existing.metadata.name);
  }

  private interpose(target: ResourceTarget, manager: string): void {
    const i = this.interpositions.findIndex(
      (p) =>
        p.plural === target.type.plural &&
        (p.name === undefined || p.name === target.name) &&
        (p.subresource === undefined || p.subresource === target.subresource),
    );
    if (i < 0) return;
    const p = this.interpositions[i]!;
    if (--p.remaining <= 0) this.interpositions.splice(i, 1);
    const existing = this.store.get(typeKey(target.type), target.namespace ?? undefined, target.name!);
    if (!existing || manager === "concurrent-writer") return;
    existing.metadata.annotations = { ...existing.metadata.annotations, "fake.test/concurrent-write": randomUUID() };
    recordUpdate(this.store.get(typeKey(target.type), target.namespace ?? undefined, target.name!)!, existing, {
      manager: "concurrent-writer",
      apiVersion: apiVersionOf(target.type),
      now: now(),
      scope: "main",
    });
    this.store.write(typeKey(target.type), existing, "MODIFIED");
  }
}

const outsideMetadata = (o: K8sObject) => {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = o;
  return rest;
};

/** What a write must change to count as a write (managedFields times alone do not). */
const comparable = (o: K8sObject) => {
  const copy = structuredClone(o);
  delete copy.metadata.resourceVersion;
  for (const entry of copy.metadata.managedFields ?? []) entry.time = "";
  return copy;
};

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    throw badRequest("the body is not valid JSON");
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function send(res: ServerResponse, code: number, body: unknown): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(code, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}
