import { badRequest } from "./api-error.ts";
import type { K8sObject } from "./store.ts";

export type Selector = (object: K8sObject) => boolean;

const everything: Selector = () => true;
const labels = (o: K8sObject) => o.metadata.labels ?? {};

/** One label requirement's syntax, and the test it stands for. */
const REQUIREMENTS: [RegExp, (m: RegExpMatchArray) => Selector][] = [
  [
    /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/,
    ([, key, op, list]) => {
      const values = list!.split(",").map((v) => v.trim());
      return op === "in"
        ? (o) => values.includes(labels(o)[key!] ?? "\0")
        : (o) => !values.includes(labels(o)[key!] ?? "\0");
    },
  ],
  [
    /^([\w./-]+)\s*!=\s*([\w.-]*)$/,
    ([, key, value]) =>
      (o) =>
        labels(o)[key!] !== value,
  ],
  [
    /^([\w./-]+)\s*==?\s*([\w.-]*)$/,
    ([, key, value]) =>
      (o) =>
        labels(o)[key!] === value,
  ],
  [
    /^!([\w./-]+)$/,
    ([, key]) =>
      (o) =>
        !(key! in labels(o)),
  ],
  [
    /^([\w./-]+)$/,
    ([, key]) =>
      (o) =>
        key! in labels(o),
  ],
];

/** Label selectors as the real server parses them: `a=b`, `a==b`, `a!=b`, `a`, `!a`, `a in (x,y)`, `a notin (x)`. */
export function parseLabelSelector(text: string | null): Selector {
  if (!text) return everything;
  // Commas inside (...) belong to a set, not to the list of requirements.
  const requirements = text
    .split(/,(?![^(]*\))/)
    .map((raw) => raw.trim())
    .filter(Boolean)
    .map((part) => {
      for (const [pattern, build] of REQUIREMENTS) {
        const m = part.match(pattern);
        if (m) return build(m);
      }
      throw badRequest(`unable to parse requirement: ${part}`);
    });
  return (o) => requirements.every((r) => r(o));
}

/** Field selectors: `path=value` / `path!=value` on dotted paths (the real server allows only some paths per kind). */
export function parseFieldSelector(text: string | null): Selector {
  if (!text) return everything;
  const requirements = text.split(",").map((part): Selector => {
    const m = part.trim().match(/^([\w.]+)\s*(!=|==|=)\s*(.*)$/);
    if (!m) throw badRequest(`invalid field selector: ${part}`);
    const [, path, op, value] = m as unknown as [string, string, string, string];
    const read = (o: K8sObject) => {
      let v: unknown = o;
      for (const key of path.split(".")) v = (v as Record<string, unknown> | undefined)?.[key];
      return v === undefined || v === null ? "" : String(v);
    };
    return op === "!=" ? (o) => read(o) !== value : (o) => read(o) === value;
  });
  return (o) => requirements.every((r) => r(o));
}
