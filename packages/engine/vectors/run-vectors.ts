import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Command, type CommandInput, type EngineEvent } from "@stockroom/contracts";
import { parse } from "yaml";

/** The engine's public test vectors: YAML scenarios of commands and their expected events. */
export const VECTORS_DIR = dirname(fileURLToPath(import.meta.url));

export interface Step {
  at?: number;
  command: CommandInput;
  events?: EngineEvent[];
  expect?: {
    stock?: Record<string, { available: number; held: number; onHand: number; demand: number }>;
    depth?: Record<string, unknown>;
    account?: Record<string, Record<string, unknown>>;
  };
}
export interface Scenario {
  name: string;
  setup?: "standard";
  steps: Step[];
}
export interface VectorFile {
  file: string;
  title: string;
  scenarios: Scenario[];
}

/** The minimal engine surface the vectors drive (the fast engine and the reference both have it). */
export interface VectorEngine {
  execute(command: Command, ts: number): EngineEvent[];
}

/**
 * `setup: standard`: products A (brand X) and B (brand Y); verified accounts seller, buyer
 * (1,000,000 funded) and admin (1,000,000 funded); seller's 10 units of B at 50 (order 1).
 */
export const STANDARD_SETUP: CommandInput[] = [
  { type: "outlet.configure" },
  { type: "product.add", sku: "A", name: "Product A", brand: "X" },
  { type: "product.add", sku: "B", name: "Product B", brand: "Y" },
  ...(["seller", "buyer", "admin"] as const).flatMap((id): CommandInput[] => [
    { type: "account.create", accountId: id, role: id === "admin" ? "admin" : "kiosk" },
    { type: "account.kyc", accountId: id, kyc: "verified" },
  ]),
  { type: "wallet.deposit", accountId: "buyer", amount: 1_000_000 },
  { type: "wallet.deposit", accountId: "admin", amount: 1_000_000 },
  { type: "order.place", accountId: "seller", sku: "B", side: "inflow", price: 50, quantity: 10 },
];

export function loadVectors(): VectorFile[] {
  return readdirSync(VECTORS_DIR)
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .map((file) => ({ file, ...(parse(readFileSync(join(VECTORS_DIR, file), "utf8")) as Omit<VectorFile, "file">) }));
}

/** Runs a scenario; `onStep` sees each step with the events it produced. Steps without `at` come 1 s apart. */
export function runScenario(
  engine: VectorEngine,
  scenario: Scenario,
  onStep: (step: Step, index: number, events: EngineEvent[]) => void,
): void {
  let ts = 0;
  if (scenario.setup === "standard") for (const c of STANDARD_SETUP) engine.execute(Command.parse(c), ts++);
  scenario.steps.forEach((step, index) => {
    ts = step.at ?? ts + 1_000;
    onStep(step, index, engine.execute(Command.parse(step.command), ts));
  });
}
