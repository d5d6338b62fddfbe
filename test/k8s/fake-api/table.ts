import { evaluateJsonPath } from "./jsonpath.ts";
import type { PrinterColumn, ResourceType } from "./resource-types.ts";
import type { K8sObject } from "./store.ts";

/** `Accept: application/json;as=Table;v=v1;g=meta.k8s.io` — what `kubectl get` asks for and prints. */
export function wantsTable(accept: string | undefined): boolean {
  return /as=Table/.test(accept ?? "");
}

/** Ages as the server prints them for date columns (a simplification of duration.HumanDuration). */
export function humanAge(since: string, now = Date.now()): string {
  const seconds = Math.max(0, Math.floor((now - Date.parse(since)) / 1000));
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7_200) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.floor(seconds / 3_600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

const DEFAULT_COLUMNS: PrinterColumn[] = [{ name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" }];

/** A meta.k8s.io/v1 Table: Name first, then the CRD's printer columns (or Age for other kinds). */
export function toTable(type: ResourceType, objects: K8sObject[], resourceVersion: string): Record<string, unknown> {
  const columns = type.crd?.additionalPrinterColumns ?? DEFAULT_COLUMNS;
  const cell = (object: K8sObject, column: PrinterColumn): unknown => {
    const values = evaluateJsonPath(column.jsonPath, object);
    if (values.length === 0) return null;
    if (column.type === "date") return humanAge(String(values[0]));
    if (column.type === "integer" || column.type === "number") return Number(values[0]);
    if (column.type === "boolean") return Boolean(values[0]);
    return values.map((v) => (typeof v === "object" ? JSON.stringify(v) : String(v))).join(" ");
  };
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: { resourceVersion },
    columnDefinitions: [
      { name: "Name", type: "string", format: "name", description: "Name of the object", priority: 0 },
      ...columns.map((c) => ({
        name: c.name,
        type: c.type,
        format: c.format ?? "",
        description: c.description ?? "",
        priority: c.priority ?? 0,
      })),
    ],
    rows: objects.map((o) => ({
      cells: [o.metadata.name, ...columns.map((c) => cell(o, c))],
      object: { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: o.metadata },
    })),
  };
}
