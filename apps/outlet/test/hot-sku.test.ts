import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, type Json, type Res, startNode, type TestNode } from "./harness.ts";

const REQUESTS = 3_000;
/** With a confirmation after each hold: still twice the stock asked for. */
const CONFIRMED_REQUESTS = 2_000;
const STOCK = 1_000;
/** Ten lots of 100 at prices 100..109, so holds walk several orders and price levels. */
const LOTS = Array.from({ length: 10 }, (_, i) => ({ price: 100 + i, quantity: STOCK / 10 }));
const BUYERS = 10;

let node: TestNode;
let seller: Client;
let buyers: Client[];

beforeAll(async () => {
  node = await startNode();
  seller = await node.account("seller");
  buyers = await Promise.all(
    Array.from({ length: BUYERS }, (_, i) => node.account(`buyer-${i}`, { deposit: 100_000_000 })),
  );
});
afterAll(() => node.close());

/** The largest commit group the writer has made since `watchGroups()`. */
let largestGroup = 0;
function watchGroups(): void {
  const onCommit = node.services.writer.onCommit;
  node.services.writer.onCommit = (envelopes, commands, ms) => {
    largestGroup = Math.max(largestGroup, commands);
    onCommit(envelopes, commands, ms);
  };
}

/**
 * Runs every task at once from the caller's side while keeping at most `limit` requests on the
 * wire: thousands of simultaneous connects would overflow the listen backlog (511) and turn the
 * test into a test of TCP SYN retries.
 */
async function allAtOnce<T>(count: number, limit: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const i = next++;
      results[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: limit }, lane));
  return results;
}
const IN_FLIGHT = 256;

/** 1 or 2 units per request, about 1.5 on average: three times the stock is asked for. */
const quantityOf = (i: number) => (i % 2 === 0 ? 1 : 2);

async function stockUp(sku: string): Promise<number[]> {
  await node.product(sku);
  const ids: number[] = [];
  for (const lot of LOTS) {
    const res = await seller.post("/v1/transact", { sku, side: "inflow", ...lot });
    expect(res.body.status).toBe("resting");
    ids.push(res.body.orderId);
  }
  expect(node.services.engine.stock(sku)).toMatchObject({ available: STOCK, onHand: STOCK });
  return ids;
}

/** Every answer is a hold or a 409 insufficient-stock; nothing else. */
function split(answers: Res[]): { held: Json[]; refused: Res[] } {
  const held: Json[] = [];
  const refused: Res[] = [];
  for (const a of answers) {
    if (a.status === 201) held.push(a.body);
    else {
      expect({ status: a.status, type: a.body?.type }).toEqual({
        status: 409,
        type: "https://stockroom.dev/problems/insufficient-stock",
      });
      refused.push(a);
    }
  }
  return { held, refused };
}

function checkAllocations(holds: Json[], lots: number[], sku: string): void {
  const perOrder = new Map<number, number>();
  for (const h of holds) {
    const line = h.lines[0].quantity;
    expect(h.allocations.reduce((s: number, a: Json) => s + a.quantity, 0)).toBe(line);
    for (const a of h.allocations) {
      expect(a.sku).toBe(sku);
      expect(lots).toContain(a.orderId);
      perOrder.set(a.orderId, (perOrder.get(a.orderId) ?? 0) + a.quantity);
    }
  }
  // No lot gave more than it had.
  for (const quantity of perOrder.values()) expect(quantity).toBeLessThanOrEqual(STOCK / 10);
}

describe("a hot sku under thousands of concurrent holds", () => {
  it("never oversells: holds stop exactly at the stock, the rest are refused", async () => {
    const sku = "HOT-1";
    const lots = await stockUp(sku);
    const seq = node.services.writer.lastSeq;
    watchGroups();
    const answers = await allAtOnce(REQUESTS, IN_FLIGHT, (i) =>
      buyers[i % BUYERS]!.post("/v1/holds", { lines: [{ sku, quantity: quantityOf(i) }], ttlMs: 3_600_000 }),
    );
    // The writer really saw them together: group commits of many commands.
    expect(largestGroup).toBeGreaterThan(10);
    const { held, refused } = split(answers);
    const heldUnits = held.reduce((s, h) => s + h.lines[0].quantity, 0);
    // 4,500 units asked for, 1,000 on hand: stock runs out, and at most one unit can be left over
    // (when only 2-unit requests came after it).
    expect(heldUnits).toBeLessThanOrEqual(STOCK);
    expect(heldUnits).toBeGreaterThanOrEqual(STOCK - 1);
    expect(held.length + refused.length).toBe(REQUESTS);
    expect(refused.length).toBeGreaterThan(1_000);

    const stock = node.services.engine.stock(sku)!;
    expect(stock).toEqual({ sku, available: STOCK - heldUnits, held: heldUnits, onHand: STOCK, demand: 0 });
    expect(stock.available + stock.held).toBe(stock.onHand);
    checkAllocations(held, lots, sku);
    // Every lot's held units, as the engine sees them, add up to the same.
    expect(lots.reduce((s, id) => s + node.services.engine.order(id)!.held, 0)).toBe(heldUnits);
    // Each buyer's active holds and reservations match what it was told.
    for (const b of buyers) {
      const mine = held.filter((h) => h.accountId === b.accountId);
      expect(
        node.services.engine
          .holdsOf(b.accountId!)
          .map((h) => h.holdId)
          .sort(),
      ).toEqual(mine.map((h) => h.holdId).sort());
      expect(node.services.engine.account(b.accountId!)!.reserved).toBe(mine.reduce((s, h) => s + h.amount, 0));
    }
    // The log: one hold.placed per success, one command.rejected per refusal, nothing else.
    const types = node.eventsAfter(seq).map((e) => e.type);
    expect(types.filter((t) => t === "hold.placed")).toHaveLength(held.length);
    expect(types.filter((t) => t === "command.rejected")).toHaveLength(refused.length);
    expect(types).toHaveLength(REQUESTS);
    // Allocation is best price first: the cheapest lots are the ones fully held.
    const book = (await seller.get(`/v1/marketdata/orderBook?sku=${sku}`)).body;
    expect(book.inflow.reduce((s: number, l: Json) => s + l.held, 0)).toBe(heldUnits);
    expect(book.inflow.slice(0, 9).every((l: Json) => l.held === l.quantity)).toBe(true);
  });

  it("never oversells when each hold is confirmed as soon as it is placed", async () => {
    const sku = "HOT-2";
    const lots = await stockUp(sku);
    const sellerBefore = node.services.engine.account("seller")!.balance;
    const before = new Map(buyers.map((b) => [b.accountId!, { ...node.services.engine.account(b.accountId!)! }]));
    const results = await allAtOnce(CONFIRMED_REQUESTS, IN_FLIGHT, async (i) => {
      const buyer = buyers[i % BUYERS]!;
      const placed = await buyer.post("/v1/holds", { lines: [{ sku, quantity: quantityOf(i) }] });
      if (placed.status !== 201) return { placed, confirmed: null };
      const confirmed = await buyer.post(`/v1/holds/${placed.body.holdId}/confirm`);
      return { placed, confirmed };
    });
    const { held } = split(results.map((r) => r.placed));
    const confirmedUnits = held.reduce((s, h) => s + h.lines[0].quantity, 0);
    expect(confirmedUnits).toBeLessThanOrEqual(STOCK);
    expect(confirmedUnits).toBeGreaterThanOrEqual(STOCK - 1);
    checkAllocations(held, lots, sku);
    for (const { placed, confirmed } of results) {
      if (!confirmed) continue;
      expect(confirmed.status).toBe(200);
      expect(confirmed.body).toMatchObject({ holdId: placed.body.holdId, status: "confirmed" });
      expect(confirmed.body.fills.reduce((s: number, f: Json) => s + f.quantity, 0)).toBe(
        placed.body.lines[0].quantity,
      );
    }

    // What left the outlet is exactly what was confirmed; the rest is still available, nothing is held.
    expect(node.services.engine.stock(sku)).toEqual({
      sku,
      available: STOCK - confirmedUnits,
      held: 0,
      onHand: STOCK - confirmedUnits,
      demand: 0,
    });
    const executions = (await seller.get(`/v1/executions?sku=${sku}&limit=10000`)).body.executions as Json[];
    expect(executions.reduce((s, e) => s + e.quantity, 0)).toBe(confirmedUnits);
    expect(executions.every((e) => e.aggressor === "hold" && e.holdId !== null)).toBe(true);

    // Funds moved from the buyers to the seller, conserved.
    const paid = executions.reduce((s, e) => s + e.price * e.quantity, 0);
    expect(node.services.engine.account("seller")!.balance).toBe(sellerBefore + paid);
    let spent = 0;
    for (const b of buyers) {
      const account = node.services.engine.account(b.accountId!)!;
      // The first test's holds still reserve their amounts; these ones reserve nothing any more.
      expect(account.reserved).toBe(before.get(b.accountId!)!.reserved);
      spent += before.get(b.accountId!)!.balance - account.balance;
    }
    expect(spent).toBe(paid);
  });
});
