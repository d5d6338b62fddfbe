import { CancelReason, RejectReason, ReleaseReason } from "@stockroom/contracts";
import { describe, expect, it } from "vitest";
import { Engine } from "../src/index.ts";
import { loadVectors, runScenario } from "../vectors/run-vectors.ts";

const vectors = loadVectors();

describe.each(vectors)("vectors: $file — $title", ({ file, scenarios }) => {
  it.each(scenarios)("$name", (scenario) => {
    const engine = new Engine();
    runScenario(engine, scenario, (step, index, events) => {
      const where = `${file} / ${scenario.name} / step ${index} (${step.command.type})`;
      expect(step.events, `${where}: no expected events recorded`).toBeDefined();
      expect(events, where).toEqual(step.events);
      for (const [sku, stock] of Object.entries(step.expect?.stock ?? {})) {
        expect(engine.stock(sku), `${where}: stock of ${sku}`).toEqual({ sku, ...stock });
      }
      for (const [sku, depth] of Object.entries(step.expect?.depth ?? {})) {
        expect(engine.depth(sku), `${where}: depth of ${sku}`).toEqual({ sku, ...(depth as object) });
      }
      for (const [id, account] of Object.entries(step.expect?.account ?? {})) {
        expect(engine.account(id), `${where}: account ${id}`).toMatchObject(account);
      }
    });
  });
});

describe("vector coverage", () => {
  const all = vectors.flatMap((v) => v.scenarios.flatMap((s) => s.steps.flatMap((step) => step.events ?? [])));
  it("every rejection reason appears", () => {
    const seen = new Set(all.flatMap((e) => (e.type === "command.rejected" ? [e.reason] : [])));
    const missing = RejectReason.options.filter((r) => !seen.has(r));
    expect(missing).toEqual([]);
  });
  it("every cancel and release reason appears", () => {
    const cancels = new Set(all.flatMap((e) => (e.type === "order.cancelled" ? [e.reason] : [])));
    const releases = new Set(all.flatMap((e) => (e.type === "hold.released" ? [e.reason] : [])));
    expect(CancelReason.options.filter((r) => !cancels.has(r))).toEqual([]);
    expect(ReleaseReason.options.filter((r) => !releases.has(r))).toEqual([]);
  });
  it("every event type appears", () => {
    const types = new Set(all.map((e) => e.type));
    const expected = [
      "outlet.configured",
      "product.added",
      "product.updated",
      "product.removed",
      "account.created",
      "account.kyc_changed",
      "wallet.deposited",
      "wallet.withdrawn",
      "order.accepted",
      "execution",
      "order.rested",
      "order.cancelled",
      "order.reduced",
      "order.replaced",
      "hold.placed",
      "hold.extended",
      "hold.confirmed",
      "hold.released",
      "outlet.checkpoint",
      "command.rejected",
    ];
    expect(expected.filter((t) => !types.has(t as never))).toEqual([]);
  });
});
