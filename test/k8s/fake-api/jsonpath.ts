type Step = [pattern: RegExp, apply: (nodes: unknown[], match: RegExpMatchArray) => unknown[]];

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

const field = (nodes: unknown[], key: string) =>
  nodes.flatMap((n) => (isRecord(n) && n[key] !== undefined ? [n[key]] : []));

const STEPS: Step[] = [
  [/^\.([A-Za-z0-9_-]+)/, (nodes, m) => field(nodes, m[1]!)],
  [/^\['([^']+)'\]/, (nodes, m) => field(nodes, m[1]!)],
  [
    /^\[(\d+)\]/,
    (nodes, m) => nodes.flatMap((n) => (Array.isArray(n) && n[Number(m[1])] !== undefined ? [n[Number(m[1])]] : [])),
  ],
  [/^\[\*\]/, (nodes) => nodes.flatMap((n) => (Array.isArray(n) ? n : isRecord(n) ? Object.values(n) : []))],
  [
    /^\[\?\(@\.([A-Za-z0-9_.-]+)\s*==\s*["']([^"']*)["']\)\]/,
    (nodes, m) =>
      nodes.flatMap((n) =>
        Array.isArray(n) ? n.filter((item) => String(evaluateJsonPath(`.${m[1]}`, item)[0]) === m[2]) : [],
      ),
  ],
];

/**
 * The JSONPath subset CRD printer columns use (`.a.b`, `[0]`, `[*]`, `['key']`, `[?(@.k=="v")]`),
 * evaluated like kubectl/the server: every match. Anything else throws, so a column the fake
 * cannot evaluate is loud rather than blank.
 */
export function evaluateJsonPath(path: string, object: unknown): unknown[] {
  let nodes: unknown[] = [object];
  let rest = path.trim();
  while (rest.length > 0) {
    const step = STEPS.map(([pattern, apply]) => ({ match: rest.match(pattern), apply })).find((s) => s.match);
    if (!step?.match) throw new Error(`unsupported JSONPath at "${rest}" in ${path}`);
    nodes = step.apply(nodes, step.match);
    rest = rest.slice(step.match[0].length);
  }
  return nodes;
}
