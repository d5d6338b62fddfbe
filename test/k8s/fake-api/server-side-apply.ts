import { ApiError } from "./api-error.ts";
import { isObject, sameJson } from "./patches.ts";
import type { K8sObject, ManagedFieldsEntry } from "./store.ts";

/**
 * Server-side apply, approximated. What it keeps from the real thing: a field manager per apply,
 * managedFields recording which manager owns which fields, fields a manager stops applying are
 * removed (unless another manager owns them), fields set by others are kept, conflicts with
 * another manager's differing value are a 409 unless `force`, and an apply that changes nothing
 * writes nothing. What it simplifies: lists are atomic (the real server merges lists keyed by
 * name, port, type..., per the OpenAPI list-map keys), and ownership is tracked per leaf path in
 * a simplified fieldsV1 (no `k:{...}`/`v:` list item keys, no `.` markers).
 */

type Scope = "main" | "status";

const SERVER_OWNED_METADATA = new Set([
  "name",
  "namespace",
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
  "managedFields",
  "selfLink",
  "generateName",
]);

const key = (path: string[]) => JSON.stringify(path);
const unkey = (k: string) => JSON.parse(k) as string[];

/** The leaf field paths an object sets; lists and empty maps are leaves. */
export function leafPaths(object: K8sObject, scope: Scope): Set<string> {
  const paths = new Set<string>();
  const walk = (value: unknown, path: string[]) => {
    if (isObject(value) && Object.keys(value).length > 0) {
      for (const [k, v] of Object.entries(value)) walk(v, [...path, k]);
    } else paths.add(key(path));
  };
  for (const [field, value] of Object.entries(object)) {
    if (field === "apiVersion" || field === "kind") continue;
    if ((field === "status") !== (scope === "status")) continue;
    if (field === "metadata" && isObject(value)) {
      for (const [m, v] of Object.entries(value)) if (!SERVER_OWNED_METADATA.has(m)) walk(v, ["metadata", m]);
    } else walk(value, [field]);
  }
  return paths;
}

export function toFieldsV1(paths: Set<string>): Record<string, unknown> {
  const root: Record<string, Record<string, unknown>> = {};
  for (const p of paths) {
    let node: Record<string, unknown> = root;
    for (const segment of unkey(p)) {
      const field = `f:${segment}`;
      if (!isObject(node[field])) node[field] = {};
      node = node[field] as Record<string, unknown>;
    }
  }
  return root;
}

export function fromFieldsV1(fields: Record<string, unknown>, prefix: string[] = []): Set<string> {
  const paths = new Set<string>();
  for (const [k, child] of Object.entries(fields)) {
    const path = [...prefix, k.slice(2)];
    const nested = isObject(child) && Object.keys(child).length > 0 ? fromFieldsV1(child, path) : new Set([key(path)]);
    for (const p of nested) paths.add(p);
  }
  return paths;
}

const valueAt = (o: unknown, path: string[]) => {
  let v = o;
  for (const segment of path) v = isObject(v) ? v[segment] : undefined;
  return v;
};

const overlaps = (a: string[], b: string[]) => {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
};

function deletePath(o: Record<string, unknown>, path: string[]): void {
  const parent = valueAt(o, path.slice(0, -1));
  if (isObject(parent)) delete parent[path.at(-1)!];
}

function deepMerge(target: Record<string, unknown>, source: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(source)) {
    const current = target[k];
    if (isObject(v) && isObject(current)) deepMerge(current, v);
    else target[k] = structuredClone(v);
  }
}

function scoped(object: K8sObject, scope: Scope): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(object)) {
    if (field === "apiVersion" || field === "kind") continue;
    if (scope === "status" && field !== "status") continue;
    if (scope === "main" && field === "status") continue;
    if (field === "metadata" && isObject(value)) {
      const meta = Object.fromEntries(Object.entries(value).filter(([m]) => !SERVER_OWNED_METADATA.has(m)));
      if (Object.keys(meta).length) copy.metadata = meta;
    } else copy[field] = value;
  }
  return copy;
}

const entryScope = (e: ManagedFieldsEntry): Scope => (e.subresource === "status" ? "status" : "main");

export interface ApplyRequest {
  existing: K8sObject;
  applied: K8sObject;
  manager: string;
  force: boolean;
  apiVersion: string;
  scope: Scope;
  now: string;
}

/** The object after `manager` applies `applied` over `existing`; throws 409 on conflicts without force. */
export function applyConfiguration(req: ApplyRequest): K8sObject {
  const { existing, applied, manager, scope } = req;
  const result = structuredClone(existing);
  const entries = (result.metadata.managedFields ?? []).map((e) => ({ entry: e, paths: fromFieldsV1(e.fieldsV1) }));
  const isMine = (e: ManagedFieldsEntry) => e.manager === manager && e.operation === "Apply" && entryScope(e) === scope;
  const previous = entries.find((e) => isMine(e.entry))?.paths ?? new Set<string>();
  const next = leafPaths(applied, scope);

  const conflicts: string[] = [];
  for (const other of entries) {
    if (isMine(other.entry) || entryScope(other.entry) !== scope) continue;
    for (const owned of [...other.paths]) {
      for (const wanted of next) {
        const [a, b] = [unkey(owned), unkey(wanted)];
        if (!overlaps(a, b)) continue;
        const longer = a.length >= b.length ? a : b;
        if (sameJson(valueAt(existing, longer), valueAt(applied, longer))) continue;
        if (req.force) other.paths.delete(owned);
        else conflicts.push(`conflict with "${other.entry.manager}": .${longer.join(".")}`);
      }
    }
  }
  if (conflicts.length > 0) {
    throw new ApiError(409, "Conflict", `Apply failed with ${conflicts.length} conflicts: ${conflicts.join("; ")}`, {
      causes: conflicts.map((message) => ({ reason: "FieldManagerConflict", message })),
    });
  }

  const ownedByOthers = (p: string[]) =>
    entries.some((e) => !isMine(e.entry) && [...e.paths].some((q) => overlaps(unkey(q), p)));
  for (const p of previous) if (!next.has(p) && !ownedByOthers(unkey(p))) deletePath(result, unkey(p));
  deepMerge(result, scoped(applied, scope));

  const managedFields: ManagedFieldsEntry[] = [];
  let mineWritten = false;
  for (const { entry, paths } of entries) {
    if (isMine(entry)) {
      managedFields.push(ownership(req, next, "Apply"));
      mineWritten = true;
    } else if (paths.size > 0) managedFields.push({ ...entry, fieldsV1: toFieldsV1(paths) });
  }
  if (!mineWritten) managedFields.push(ownership(req, next, "Apply"));
  result.metadata.managedFields = managedFields;
  return result;
}

function ownership(
  req: Pick<ApplyRequest, "manager" | "apiVersion" | "now" | "scope">,
  paths: Set<string>,
  operation: "Apply" | "Update",
): ManagedFieldsEntry {
  return {
    manager: req.manager,
    operation,
    apiVersion: req.apiVersion,
    time: req.now,
    fieldsType: "FieldsV1",
    fieldsV1: toFieldsV1(paths),
    ...(req.scope === "status" ? { subresource: "status" } : {}),
  };
}

/** Records a non-apply write (create, update, patch): the writer takes the fields it changed. */
export function recordUpdate(
  previous: K8sObject | null,
  next: K8sObject,
  req: Pick<ApplyRequest, "manager" | "apiVersion" | "now" | "scope">,
): void {
  const before = previous ? leafPaths(previous, req.scope) : new Set<string>();
  const after = leafPaths(next, req.scope);
  const changed = [...after].filter(
    (p) => !before.has(p) || !sameJson(valueAt(previous, unkey(p)), valueAt(next, unkey(p))),
  );
  const removed = [...before].filter((p) => !after.has(p));
  const entries: ManagedFieldsEntry[] = [];
  let mine: Set<string> | null = null;
  for (const e of previous?.metadata.managedFields ?? []) {
    const paths = fromFieldsV1(e.fieldsV1);
    if (entryScope(e) === req.scope) {
      for (const p of [...changed, ...removed]) paths.delete(p);
      if (e.manager === req.manager && e.operation === "Update") {
        mine = paths;
        continue;
      }
    }
    if (paths.size > 0) entries.push({ ...e, fieldsV1: toFieldsV1(paths) });
  }
  const ownedNow = new Set([...(mine ?? []), ...changed]);
  if (ownedNow.size > 0) entries.push(ownership(req, ownedNow, "Update"));
  next.metadata.managedFields = entries;
}
