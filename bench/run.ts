/**
 * `npm run bench -- [<name>] [--quick] [other flags]`: runs `bench/<name>.ts`, or every benchmark
 * in turn when no name is given. Each runs in its own node process (a fresh heap and JIT, so one
 * benchmark cannot colour the next) with the flags passed through; each prints a readable table
 * and, as its last line, one JSON object with its headline figures, and its progress to stderr.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The benchmarks, in the order a bare `npm run bench` runs them; each is `bench/<name>.ts`. */
const BENCHES: Record<string, string> = {
  engine: "the engine alone: a seeded mixed workload, and a limit+cancel flow against nodejs-order-book",
  outlet: "outlet node: durable writer vs raw SQLite, HTTP writes vs bare Hono, batch endpoint",
  hq: "HQ ingest: events/s applied and committed from a pre-filled JetStream stream; an outlet's 100K catch-up",
};

const ROOT = fileURLToPath(new URL("..", import.meta.url));

function usage(): string {
  const width = Math.max(...Object.keys(BENCHES).map((n) => n.length));
  return [
    "usage: npm run bench -- [<name>] [--quick] [flags for the benchmark]",
    "",
    "  <name>     one of the benchmarks below; none runs them all",
    "  --quick    a short run (under 30 s per benchmark)",
    "  --seed=<n> another seed for a seeded workload (engine)",
    "",
    ...Object.entries(BENCHES).map(([name, what]) => `  ${name.padEnd(width)}  ${what}`),
  ].join("\n");
}

function run(argv: string[]): number {
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(usage());
    return 0;
  }
  const names = argv.filter((a) => !a.startsWith("-"));
  const flags = argv.filter((a) => a.startsWith("-"));
  const unknown = names.filter((n) => !Object.hasOwn(BENCHES, n));
  if (unknown.length > 0 || names.length > 1) {
    console.error(`${unknown.length > 0 ? `unknown benchmark: ${unknown.join(" ")}` : "one benchmark at a time"}\n`);
    console.error(usage());
    return 2;
  }
  const selected = names.length > 0 ? names : Object.keys(BENCHES);
  let status = 0;
  for (const name of selected) {
    const child = spawnSync(process.execPath, ["--import", "tsx", `bench/${name}.ts`, ...flags], {
      cwd: ROOT,
      stdio: "inherit",
    });
    if (child.error) throw child.error;
    const code = child.status ?? 1;
    if (code !== 0) {
      console.error(`[bench] ${name} failed (${child.signal ?? `exit code ${code}`})`);
      status = code;
    }
  }
  return status;
}

process.exitCode = run(process.argv.slice(2));
