import { Command, type CommandInput, type EngineEvent } from "@stockroom/contracts";
import { Engine } from "@stockroom/engine";
import fc from "fast-check";

/** Realistic event streams: random commands through the real engine (two skus, two accounts). */

export const SKUS = ["X", "Y"] as const;

const SETUP: CommandInput[] = [
  { type: "account.create", accountId: "a", role: "admin" },
  { type: "account.create", accountId: "b", role: "service" },
  { type: "account.kyc", accountId: "a", kyc: "verified" },
  { type: "account.kyc", accountId: "b", kyc: "verified" },
  { type: "wallet.deposit", accountId: "a", amount: 1_000_000_000 },
  { type: "wallet.deposit", accountId: "b", amount: 1_000_000_000 },
  { type: "product.add", sku: "X", name: "x", brand: "acme" },
  { type: "product.add", sku: "Y", name: "y", brand: "acme" },
];

const sku = fc.constantFrom(...SKUS);
const account = fc.constantFrom("a", "b");
const orderId = fc.integer({ min: 1, max: 25 });
const holdId = fc.constantFrom("h1", "h2", "h3", "h4");
const price = fc.integer({ min: 1, max: 10 });

/** Inflow asks 4..9, outflow bids 1..6: some cross, and the rest builds a book to cancel, reduce and hold. */
const place = fc
  .record({
    accountId: account,
    sku,
    inflow: fc.boolean(),
    step: fc.integer({ min: 0, max: 5 }),
    quantity: fc.integer({ min: 1, max: 10 }),
    timeInForce: fc.constantFrom("GTC" as const, "GTC" as const, "GTC" as const, "IOC" as const, "FOK" as const),
  })
  .map(({ inflow, step, ...rest }) => ({
    type: "order.place" as const,
    ...rest,
    side: inflow ? ("inflow" as const) : ("outflow" as const),
    price: inflow ? 4 + step : 1 + step,
  }));

const command: fc.Arbitrary<CommandInput> = fc.oneof(
  { weight: 30, arbitrary: place },
  { weight: 3, arbitrary: fc.record({ type: fc.constant("order.cancel" as const), accountId: account, orderId }) },
  {
    weight: 3,
    arbitrary: fc.record({
      type: fc.constant("order.reduce" as const),
      accountId: account,
      orderId,
      by: fc.integer({ min: 1, max: 5 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      type: fc.constant("order.replace" as const),
      accountId: account,
      orderId,
      price,
      quantity: fc.option(fc.integer({ min: 1, max: 12 }), { nil: undefined }),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      type: fc.constant("hold.place" as const),
      holdId,
      accountId: account,
      lines: fc.array(
        fc.record({
          sku,
          quantity: fc.integer({ min: 1, max: 4 }),
          limitPrice: fc.option(price, { nil: null }),
        }),
        { minLength: 1, maxLength: 2 },
      ),
      ttlMs: fc.integer({ min: 1, max: 20_000 }),
    }),
  },
  { weight: 4, arbitrary: fc.record({ type: fc.constant("hold.confirm" as const), holdId, accountId: account }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant("hold.cancel" as const), holdId, accountId: account }) },
  { weight: 1, arbitrary: fc.constant({ type: "tick" as const }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant("product.remove" as const), sku }) },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant("product.add" as const),
      sku,
      name: fc.constant("n"),
      brand: fc.constant("acme"),
    }),
  },
);

/** A script: commands with the time that passes before each. */
export const script = fc.array(fc.tuple(fc.integer({ min: 0, max: 1_000 }), command), {
  minLength: 30,
  maxLength: 100,
});

export interface Step {
  ts: number;
  events: EngineEvent[];
}

/** Runs the setup and the script through a fresh engine; returns the engine and the events of each command. */
export function run(commands: [number, CommandInput][], start = Date.parse("2024-02-29T23:50:00Z")) {
  const engine = new Engine();
  const steps: Step[] = [];
  let ts = start;
  for (const c of SETUP) steps.push({ ts, events: engine.execute(Command.parse(c), ts) });
  for (const [dt, c] of commands) {
    ts += dt;
    steps.push({ ts, events: engine.execute(Command.parse(c), ts) });
  }
  return { engine, steps };
}
