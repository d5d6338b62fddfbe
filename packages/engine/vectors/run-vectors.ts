// Loads and runs the engine's public test vectors (the YAML files next to this one; the format
// is described in README.md). Engine-agnostic: anything with the surface of `VectorEngine` runs.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Command, type CommandInput, type EngineEvent, REJECT_MESSAGES, type RejectReason } from "@stockroom/contracts";
import { parse } from "yaml";

export const VECTORS_DIR = dirname(fileURLToPath(import.meta.url));

/** A time as written in a vector: epoch milliseconds, or an ISO 8601 string with its offset. */
export type VectorTime = number | string;

export interface StockExpectation {
  available: number;
  held: number;
  onHand: number;
  demand: number;
}
export interface LevelExpectation {
  price: number;
  quantity: number;
  held: number;
  orders: number;
}
export interface Expectations {
  /** Exact `stock(sku)` without the sku field; null: the sku is unknown. */
  stock?: Record<string, StockExpectation | null>;
  /** Exact `depth(sku)` (all levels) without the sku field. */
  depth?: Record<string, { inflow: LevelExpectation[]; outflow: LevelExpectation[] }>;
  /** The listed fields of `account(id)` (balance, reserved, kyc, …). */
  account?: Record<string, Record<string, unknown>>;
  /** The ids of `ordersOf(accountId)`, in the order returned. */
  orders?: Record<string, number[]>;
  /** The ids of `holdsOf(accountId)`, in the order returned. */
  holds?: Record<string, string[]>;
}
export interface Step {
  at?: VectorTime;
  command: CommandInput;
  /** Exactly the events expected; a `command.rejected` may leave out `message` and `command`. */
  events: Record<string, unknown>[];
  expect?: Expectations;
}
export interface Scenario {
  name: string;
  /** When the setup runs; default 0. */
  start?: VectorTime;
  /** A name from the file's `setups`, or a list of commands. */
  setup?: string | CommandInput[];
  steps: Step[];
}
export interface VectorFile {
  file: string;
  title: string;
  setups?: Record<string, CommandInput[]>;
  scenarios: Scenario[];
}

/** The engine surface the vectors drive. */
export interface VectorEngine {
  execute(command: Command, ts: number): EngineEvent[];
  stock(sku: string): unknown;
  depth(sku: string): unknown;
  account(id: string): unknown;
  ordersOf(accountId: string): { orderId: number }[];
  holdsOf(accountId: string): { holdId: string }[];
}

const FILE_KEYS = ["title", "setups", "scenarios"];
const SCENARIO_KEYS = ["name", "start", "setup", "steps"];
const STEP_KEYS = ["at", "command", "events", "expect"];
const EXPECT_KEYS = ["stock", "depth", "account", "orders", "holds"];

function checkKeys(value: unknown, allowed: string[], where: string): void {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error(`${where}: not a mapping`);
  const unknown = Object.keys(value).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) throw new Error(`${where}: unknown key(s) ${unknown.join(", ")}`);
}

/** Reads one vector file and checks its shape (not its events: see `expectedEvents`). */
export function readVectorFile(file: string): VectorFile {
  const raw = parse(readFileSync(join(VECTORS_DIR, file), "utf8")) as Record<string, unknown>;
  checkKeys(raw, FILE_KEYS, file);
  const vector = { file, ...raw } as VectorFile;
  if (typeof vector.title !== "string" || !Array.isArray(vector.scenarios) || vector.scenarios.length === 0) {
    throw new Error(`${file}: needs a title and scenarios`);
  }
  const names = new Set<string>();
  for (const scenario of vector.scenarios) {
    const where = `${file} › ${scenario.name}`;
    checkKeys(scenario, SCENARIO_KEYS, where);
    if (typeof scenario.name !== "string" || names.has(scenario.name))
      throw new Error(`${where}: missing or repeated name`);
    names.add(scenario.name);
    if (typeof scenario.setup === "string" && !vector.setups?.[scenario.setup]) {
      throw new Error(`${where}: no setup named ${scenario.setup}`);
    }
    if (!Array.isArray(scenario.steps) || scenario.steps.length === 0) throw new Error(`${where}: no steps`);
    scenario.steps.forEach((step, i) => {
      checkKeys(step, STEP_KEYS, `${where} › step ${i + 1}`);
      if (!Array.isArray(step.events)) throw new Error(`${where} › step ${i + 1}: events must be a list`);
      if (step.expect) checkKeys(step.expect, EXPECT_KEYS, `${where} › step ${i + 1} › expect`);
    });
  }
  return vector;
}

export function vectorFiles(): string[] {
  return readdirSync(VECTORS_DIR)
    .filter((f) => f.endsWith(".yaml"))
    .sort();
}

export function loadVectors(): VectorFile[] {
  return vectorFiles().map(readVectorFile);
}

export function toMillis(time: VectorTime, where: string): number {
  const ms = typeof time === "number" ? time : Date.parse(time);
  if (!Number.isSafeInteger(ms) || ms < 0) throw new Error(`${where}: bad time ${String(time)}`);
  return ms;
}

/**
 * The expected events of a step, completed: a `command.rejected` written without `message` or
 * `command` expects `REJECT_MESSAGES[reason]` and the step's command as parsed.
 */
export function expectedEvents(step: Step, parsed: Command): Record<string, unknown>[] {
  return step.events.map((event) =>
    event.type === "command.rejected"
      ? {
          ...event,
          message: event.message ?? REJECT_MESSAGES[event.reason as RejectReason],
          command: event.command ?? parsed,
        }
      : event,
  );
}

export function setupOf(vector: VectorFile, scenario: Scenario): CommandInput[] {
  if (scenario.setup === undefined) return [];
  return typeof scenario.setup === "string" ? (vector.setups?.[scenario.setup] ?? []) : scenario.setup;
}

export interface StepRun {
  /** "file › scenario › step n (type at ISO time)" */
  where: string;
  step: Step;
  ts: number;
  command: Command;
  expected: Record<string, unknown>[];
  actual: EngineEvent[];
}

/**
 * Runs a scenario on a fresh engine: the setup commands at `start` (any rejection among them
 * throws), then each step at its `at` (default: 1 s after the previous step, the first one 1 s
 * after `start`); `onStep` sees each step with what the engine emitted.
 */
export function runScenario(
  engine: VectorEngine,
  vector: VectorFile,
  scenario: Scenario,
  onStep: (run: StepRun) => void,
): void {
  const base = `${vector.file} › ${scenario.name}`;
  let ts = toMillis(scenario.start ?? 0, base);
  setupOf(vector, scenario).forEach((input, i) => {
    const events = engine.execute(Command.parse(input), ts);
    const rejected = events.find((e) => e.type === "command.rejected");
    if (rejected) throw new Error(`${base} › setup command ${i + 1} (${input.type}) was rejected: ${rejected.reason}`);
  });
  scenario.steps.forEach((step, i) => {
    ts = step.at === undefined ? ts + 1_000 : toMillis(step.at, `${base} › step ${i + 1}`);
    const where = `${base} › step ${i + 1} (${step.command.type} at ${new Date(ts).toISOString()})`;
    const command = Command.parse(step.command);
    const actual = engine.execute(command, ts);
    onStep({ where, step, ts, command, expected: expectedEvents(step, command), actual });
  });
}
