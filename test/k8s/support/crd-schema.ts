import { Ajv, type ErrorObject } from "ajv";
import { evaluate, parse } from "cel-js";

/**
 * What the real API server does with a CRD's structural OpenAPI v3 schema, done offline:
 * defaulting, pruning of unknown fields, schema validation (ajv) and CEL validation rules
 * (cel-js), including transition rules that compare with `oldSelf` on update.
 * Not reproduced: CEL type checking at CRD creation, CEL cost limits, and the functions cel-js
 * lacks (Kubernetes' string, regex, list, URL, quantity libraries); a rule using them fails here.
 */

export type Schema = {
  type?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
  required?: string[];
  default?: unknown;
  nullable?: boolean;
  enum?: unknown[];
  format?: string;
  "x-kubernetes-int-or-string"?: boolean;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
  "x-kubernetes-embedded-resource"?: boolean;
  "x-kubernetes-validations"?: ValidationRule[];
  "x-kubernetes-list-type"?: string;
  "x-kubernetes-list-map-keys"?: string[];
  [keyword: string]: unknown;
};

export interface ValidationRule {
  rule: string;
  message?: string;
  fieldPath?: string;
  reason?: string;
}

export interface FieldError {
  field: string;
  message: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Fills in missing fields that have defaults, parents before children, as the server does on every write and read. */
export function applyDefaults(value: unknown, schema: Schema): unknown {
  if (isObject(value)) {
    for (const [name, child] of Object.entries(schema.properties ?? {})) {
      if (value[name] === undefined && child.default !== undefined) value[name] = structuredClone(child.default);
      if (value[name] !== undefined) value[name] = applyDefaults(value[name], child);
    }
    if (isObject(schema.additionalProperties)) {
      for (const [name, child] of Object.entries(value))
        value[name] = applyDefaults(child, schema.additionalProperties);
    }
  } else if (Array.isArray(value) && schema.items) {
    return value.map((item) => applyDefaults(item, schema.items!));
  }
  return value;
}

/** Drops fields the schema does not declare (the server prunes them silently). apiVersion, kind and metadata stay at the root. */
export function prune(value: unknown, schema: Schema, root = true): unknown {
  if (schema["x-kubernetes-preserve-unknown-fields"]) return value;
  if (isObject(value)) {
    for (const name of Object.keys(value)) {
      if (root && (name === "apiVersion" || name === "kind" || name === "metadata")) continue;
      const child =
        schema.properties?.[name] ?? (isObject(schema.additionalProperties) ? schema.additionalProperties : undefined);
      if (child) value[name] = prune(value[name], child, false);
      else if (schema.additionalProperties !== true) delete value[name];
    }
  } else if (Array.isArray(value) && schema.items) {
    return value.map((item) => prune(item, schema.items!, false));
  }
  return value;
}

const DATE_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

/** The OpenAPI v3 schema as plain JSON Schema for ajv (int-or-string and nullable spelled out, x- keywords dropped). */
export function toJsonSchema(schema: Schema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k.startsWith("x-kubernetes-") || k === "nullable") continue;
    if (k === "format" && v !== "date-time") continue;
    if (k === "properties")
      out[k] = Object.fromEntries(Object.entries(v as Record<string, Schema>).map(([n, s]) => [n, toJsonSchema(s)]));
    else if ((k === "items" || k === "additionalProperties") && isObject(v)) out[k] = toJsonSchema(v as Schema);
    else out[k] = v;
  }
  if (schema["x-kubernetes-int-or-string"]) {
    delete out.type;
    out.anyOf = [{ type: "integer" }, { type: "string" }];
  }
  if (schema.nullable && typeof out.type === "string") out.type = [out.type, "null"];
  return out;
}

const ajv = new Ajv({ allErrors: true, strict: false, formats: { "date-time": DATE_TIME } });
const validators = new WeakMap<Schema, ReturnType<typeof ajv.compile>>();

function compiled(schema: Schema) {
  let validate = validators.get(schema);
  if (!validate) {
    validate = ajv.compile(toJsonSchema(schema));
    validators.set(schema, validate);
  }
  return validate;
}

/** Schema errors of a (defaulted, pruned) custom resource. */
export function schemaErrors(object: unknown, schema: Schema): FieldError[] {
  const validate = compiled(schema);
  if (validate(object)) return [];
  return (validate.errors ?? []).map((e: ErrorObject) => ({
    field: e.instancePath.slice(1).replace(/\//g, ".") || "<root>",
    message: `${e.message ?? "invalid"}${e.params && "allowedValues" in e.params ? `: ${(e.params.allowedValues as unknown[]).join(", ")}` : ""}`,
  }));
}

const usesOldSelf = (rule: string) => /\boldSelf\b/.test(rule);

/**
 * Evaluates every x-kubernetes-validations rule where its field is present. Transition rules
 * (those naming oldSelf) run only on update and only where the old object has the field too.
 */
export function celErrors(object: unknown, old: unknown | undefined, schema: Schema, path = ""): FieldError[] {
  if (object === undefined) return [];
  const errors: FieldError[] = [];
  for (const rule of schema["x-kubernetes-validations"] ?? []) {
    const transition = usesOldSelf(rule.rule);
    if (transition && old === undefined) continue;
    let ok: unknown;
    try {
      ok = evaluate(rule.rule, transition ? { self: object, oldSelf: old } : { self: object });
    } catch (error) {
      errors.push({
        field: path || "<root>",
        message: `rule ${rule.rule} could not be evaluated: ${(error as Error).message}`,
      });
      continue;
    }
    if (ok !== true) {
      errors.push({
        field: `${path}${rule.fieldPath ?? ""}` || "<root>",
        message: rule.message ?? `Invalid value: failed rule: ${rule.rule}`,
      });
    }
  }
  const join = (name: string) => (path ? `${path}.${name}` : name);
  if (isObject(object)) {
    const oldObject = isObject(old) ? old : undefined;
    for (const [name, child] of Object.entries(schema.properties ?? {})) {
      errors.push(...celErrors(object[name], oldObject?.[name], child, join(name)));
    }
    if (isObject(schema.additionalProperties)) {
      for (const [name, value] of Object.entries(object)) {
        errors.push(...celErrors(value, oldObject?.[name], schema.additionalProperties, join(name)));
      }
    }
  } else if (Array.isArray(object) && schema.items) {
    // Items of atomic lists cannot be paired with old items, so their transition rules do not run (as on the server).
    for (const [i, item] of object.entries()) errors.push(...celErrors(item, undefined, schema.items, `${path}[${i}]`));
  }
  return errors;
}

/** Syntax errors in the schema's CEL rules (the server refuses such a CRD). */
export function celSyntaxErrors(schema: Schema, path = ""): FieldError[] {
  const errors: FieldError[] = [];
  for (const rule of schema["x-kubernetes-validations"] ?? []) {
    const parsed = parse(rule.rule);
    if (!parsed.isSuccess) errors.push({ field: path || "<root>", message: `cannot parse ${rule.rule}` });
  }
  for (const [name, child] of Object.entries(schema.properties ?? {}))
    errors.push(...celSyntaxErrors(child, `${path}.${name}`));
  if (isObject(schema.additionalProperties))
    errors.push(...celSyntaxErrors(schema.additionalProperties as Schema, `${path}.*`));
  if (schema.items) errors.push(...celSyntaxErrors(schema.items, `${path}[*]`));
  return errors;
}

/**
 * The rules that make a schema structural (apiextensions' validation): a type everywhere except
 * under int-or-string / preserve-unknown-fields, never both properties and additionalProperties,
 * items on arrays, metadata restricted to name and generateName, defaults that validate and
 * survive pruning, list-map keys that are required fields.
 */
export function structuralProblems(schema: Schema, path = "", root = true): string[] {
  const problems: string[] = [];
  const at = path || "<root>";
  if (!schema.type && !schema["x-kubernetes-int-or-string"] && !schema["x-kubernetes-preserve-unknown-fields"]) {
    problems.push(`${at}: type is required`);
  }
  if (schema.properties && isObject(schema.additionalProperties)) {
    problems.push(`${at}: properties and additionalProperties are mutually exclusive`);
  }
  if (schema.type === "array" && !schema.items) problems.push(`${at}: items is required for arrays`);
  for (const forbidden of ["anyOf", "oneOf", "allOf", "not"]) {
    const sub = schema[forbidden];
    if (Array.isArray(sub) && sub.some((s) => isObject(s) && ("type" in s || "default" in s))) {
      problems.push(`${at}: ${forbidden} must not specify type or default`);
    }
  }
  if (schema.default !== undefined) {
    const copy = prune(structuredClone(schema.default), schema, false);
    if (JSON.stringify(copy) !== JSON.stringify(schema.default)) problems.push(`${at}: default has pruned fields`);
    const errors = schemaErrors(schema.default, schema);
    if (errors.length)
      problems.push(`${at}: default is invalid: ${errors.map((e) => `${e.field} ${e.message}`).join("; ")}`);
  }
  if (schema["x-kubernetes-list-type"] === "map") {
    for (const k of schema["x-kubernetes-list-map-keys"] ?? []) {
      if (!schema.items?.required?.includes(k)) problems.push(`${at}: list-map key ${k} must be required`);
    }
  }
  if (root) {
    const metadata = schema.properties?.metadata;
    const extra = Object.keys(metadata?.properties ?? {}).filter((k) => k !== "name" && k !== "generateName");
    if (extra.length) problems.push(`metadata: only name and generateName may be specified, not ${extra.join(", ")}`);
  }
  for (const [name, child] of Object.entries(schema.properties ?? {})) {
    problems.push(...structuralProblems(child, path ? `${path}.${name}` : name, false));
  }
  if (isObject(schema.additionalProperties)) {
    problems.push(...structuralProblems(schema.additionalProperties as Schema, `${path}.*`, false));
  }
  if (schema.items) problems.push(...structuralProblems(schema.items, `${path}[*]`, false));
  return problems;
}
