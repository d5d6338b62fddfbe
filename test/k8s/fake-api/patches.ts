import { ApiError, badRequest } from "./api-error.ts";

type Json = unknown;
type JsonObject = Record<string, Json>;

export const isObject = (v: Json): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v);

/** RFC 7386 JSON merge patch: objects merge, null deletes, anything else (lists too) replaces. */
export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return structuredClone(patch);
  const result: JsonObject = isObject(target) ? structuredClone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

interface Operation {
  op: "add" | "remove" | "replace" | "test" | "move" | "copy";
  path: string;
  value?: Json;
  from?: string;
}

const pointer = (path: string) =>
  path === ""
    ? []
    : path
        .slice(1)
        .split("/")
        .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));

/** RFC 6902 JSON patch. A failed `test` is a 422, as on the real server. */
export function jsonPatch(target: Json, operations: Json): Json {
  if (!Array.isArray(operations)) throw badRequest("a JSON patch must be a list of operations");
  let doc = structuredClone(target);
  for (const op of operations as Operation[]) {
    switch (op.op) {
      case "add":
        doc = put(doc, pointer(op.path), structuredClone(op.value), true);
        break;
      case "replace":
        get(doc, pointer(op.path));
        doc = put(doc, pointer(op.path), structuredClone(op.value), false);
        break;
      case "remove":
        doc = remove(doc, pointer(op.path));
        break;
      case "test":
        if (JSON.stringify(get(doc, pointer(op.path))) !== JSON.stringify(op.value)) {
          throw new ApiError(
            422,
            "Invalid",
            `the server rejected our request due to an error in our request: test failed at ${op.path}`,
          );
        }
        break;
      case "copy":
        doc = put(doc, pointer(op.path), structuredClone(get(doc, pointer(op.from ?? ""))), true);
        break;
      case "move": {
        const value = get(doc, pointer(op.from ?? ""));
        doc = put(remove(doc, pointer(op.from ?? "")), pointer(op.path), value, true);
        break;
      }
      default:
        throw badRequest(`unknown JSON patch operation ${(op as Operation).op}`);
    }
  }
  return doc;
}

function get(doc: Json, path: string[]): Json {
  let node = doc;
  for (const key of path) {
    if (Array.isArray(node)) node = node[Number(key)];
    else if (isObject(node) && key in node) node = node[key];
    else throw new ApiError(422, "Invalid", `path /${path.join("/")} does not exist`);
    if (node === undefined) throw new ApiError(422, "Invalid", `path /${path.join("/")} does not exist`);
  }
  return node;
}

function put(doc: Json, path: string[], value: Json, insert: boolean): Json {
  if (path.length === 0) return value;
  const parent = get(doc, path.slice(0, -1));
  const key = path.at(-1)!;
  if (Array.isArray(parent)) {
    const index = key === "-" ? parent.length : Number(key);
    if (insert) parent.splice(index, 0, value);
    else parent[index] = value;
  } else if (isObject(parent)) parent[key] = value;
  else throw new ApiError(422, "Invalid", `cannot add to /${path.join("/")}`);
  return doc;
}

function remove(doc: Json, path: string[]): Json {
  const parent = get(doc, path.slice(0, -1));
  const key = path.at(-1)!;
  get(doc, path);
  if (Array.isArray(parent)) parent.splice(Number(key), 1);
  else if (isObject(parent)) delete parent[key];
  return doc;
}

/** JSON text with object keys sorted, so equal values compare equal whatever their key order. */
export function canonicalJson(value: Json): string {
  return JSON.stringify(value, (_key, v: Json) =>
    isObject(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v,
  );
}

export const sameJson = (a: Json, b: Json) => canonicalJson(a) === canonicalJson(b);
