// Runs the engine's public test vectors (packages/engine/vectors/*.yaml, see its README.md):
// every scenario on a fresh Engine, exact events per step, then the step's `expect` queries.
import { CancelReason, Command, EngineEvent, RejectReason, ReleaseReason } from "@stockroom/contracts";
import { describe, expect, it } from "vitest";
import { Engine } from "../src/index.ts";
import {
  expectedEvents,
  loadVectors,
  runScenario,
  type Scenario,
  setupOf,
  toMillis,
  type VectorFile,
} from "../vectors/run-vectors.ts";

const vectors = loadVectors();

function checkQueries(engine: Engine, where: string, expectations: Scenario["steps"][number]["expect"]): void {
  if (!expectations) return;
  for (const [sku, stock] of Object.entries(expectations.stock ?? {})) {
    expect(engine.stock(sku), `${where}: stock(${sku})`).toEqual(stock === null ? null : { sku, ...stock });
  }
  for (const [sku, depth] of Object.entries(expectations.depth ?? {})) {
    expect(engine.depth(sku), `${where}: depth(${sku})`).toEqual({ sku, ...depth });
  }
  for (const [id, account] of Object.entries(expectations.account ?? {})) {
    const actual = engine.account(id);
    if (account === null) expect(actual, `${where}: account(${id})`).toBeNull();
    else expect(actual, `${where}: account(${id})`).toMatchObject(account);
  }
  for (const [id, orderIds] of Object.entries(expectations.orders ?? {})) {
    expect(
      engine.ordersOf(id).map((o) => o.orderId),
      `${where}: ordersOf(${id})`,
    ).toEqual(orderIds);
  }
  for (const [id, holdIds] of Object.entries(expectations.holds ?? {})) {
    expect(
      engine.holdsOf(id).map((h) => h.holdId),
      `${where}: holdsOf(${id})`,
    ).toEqual(holdIds);
  }
}

describe("vectors are well-formed", () => {
  it.each(vectors)("$file", (vector: VectorFile) => {
    for (const scenario of vector.scenarios) {
      const base = `${vector.file} › ${scenario.name}`;
      toMillis(scenario.start ?? 0, base);
      setupOf(vector, scenario).forEach((input, i) => {
        const parsed = Command.safeParse(input);
        expect(parsed.success, `${base} › setup ${i + 1}: ${parsed.error?.message}`).toBe(true);
      });
      scenario.steps.forEach((step, i) => {
        const where = `${base} › step ${i + 1}`;
        if (step.at !== undefined) toMillis(step.at, where);
        const parsed = Command.safeParse(step.command);
        expect(parsed.success, `${where}: command: ${parsed.error?.message}`).toBe(true);
        if (!parsed.success) return;
        // Every expected event is a valid event with no field missing and none extra.
        for (const event of expectedEvents(step, parsed.data)) {
          const checked = EngineEvent.safeParse(event);
          expect(checked.success, `${where}: ${JSON.stringify(event)}: ${checked.error?.message}`).toBe(true);
          expect(checked.data, `${where}: extra fields in ${JSON.stringify(event)}`).toEqual(event);
        }
      });
    }
  });
});

describe.each(vectors)("vectors: $file — $title", (vector) => {
  it.each(vector.scenarios)("$name", (scenario) => {
    const engine = new Engine();
    runScenario(engine, vector, scenario, ({ where, step, expected, actual }) => {
      expect(actual, `${where}: events`).toEqual(expected);
      checkQueries(engine, where, step.expect);
    });
  });
});

describe("vector coverage (scanned from the files)", () => {
  const steps = vectors.flatMap((v) => v.scenarios.flatMap((s) => s.steps));
  const events = steps.flatMap((step) => step.events);
  const reasons = (type: string) => new Set(events.filter((e) => e.type === type).map((e) => e.reason));

  it("every rejection reason appears", () => {
    const seen = reasons("command.rejected");
    expect(RejectReason.options.filter((r) => !seen.has(r))).toEqual([]);
  });
  it("every cancel reason appears", () => {
    const seen = reasons("order.cancelled");
    expect(CancelReason.options.filter((r) => !seen.has(r))).toEqual([]);
  });
  it("every release reason appears", () => {
    const seen = reasons("hold.released");
    expect(ReleaseReason.options.filter((r) => !seen.has(r))).toEqual([]);
  });
  it("every event type appears", () => {
    const seen = new Set(events.map((e) => e.type));
    const all = EngineEvent.options.map((o) => o.shape.type.value);
    expect(all.filter((t) => !seen.has(t))).toEqual([]);
  });
  it("every command type is a step somewhere", () => {
    const seen = new Set(steps.map((s) => s.command.type));
    const all = Command.options.map((o) => o.shape.type.value);
    expect(all.filter((t) => !seen.has(t))).toEqual([]);
  });
  it("every rejection reason is tested for each command that can produce it", () => {
    // The checks of docs/engine.md, per command: each pair must appear in some step.
    const pairs: Record<string, RejectReason[]> = {
      "product.add": ["sku_exists"],
      "product.update": ["unknown_sku", "sku_delisted"],
      "product.remove": ["unknown_sku", "sku_delisted"],
      "account.create": ["account_exists"],
      "account.kyc": ["unknown_account"],
      "wallet.deposit": ["unknown_account", "amount_too_large"],
      "wallet.withdraw": ["unknown_account", "insufficient_funds"],
      "order.place": [
        "unknown_account",
        "account_not_verified",
        "account_suspended",
        "unknown_sku",
        "sku_delisted",
        "market_closed",
        "amount_too_large",
        "daily_limit_exceeded",
        "insufficient_funds",
      ],
      "order.cancel": ["unknown_account", "unknown_order", "not_order_owner", "order_held"],
      "order.reduce": ["unknown_account", "unknown_order", "not_order_owner", "invalid_quantity", "order_held"],
      "order.replace": [
        "unknown_account",
        "account_not_verified",
        "account_suspended",
        "unknown_order",
        "not_order_owner",
        "market_closed",
        "order_held",
        "invalid_quantity",
        "amount_too_large",
        "daily_limit_exceeded",
        "insufficient_funds",
      ],
      "hold.place": [
        "hold_exists",
        "unknown_account",
        "account_not_verified",
        "account_suspended",
        "market_closed",
        "unknown_sku",
        "sku_delisted",
        "daily_limit_exceeded",
        "insufficient_stock",
        "amount_too_large",
        "insufficient_funds",
      ],
      "hold.extend": ["unknown_account", "unknown_hold", "not_hold_owner", "hold_not_active"],
      "hold.confirm": ["unknown_account", "unknown_hold", "not_hold_owner", "hold_not_active"],
      "hold.cancel": ["unknown_account", "unknown_hold", "not_hold_owner", "hold_not_active"],
    };
    const seen = new Set(
      steps.flatMap((s) =>
        s.events.filter((e) => e.type === "command.rejected").map((e) => `${s.command.type}: ${String(e.reason)}`),
      ),
    );
    const missing = Object.entries(pairs).flatMap(([type, rs]) =>
      rs.map((r) => `${type}: ${r}`).filter((p) => !seen.has(p)),
    );
    expect(missing).toEqual([]);
  });
});
