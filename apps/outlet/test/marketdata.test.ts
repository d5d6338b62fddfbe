import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, expectProblem, type Json, startNode, type TestNode } from "./harness.ts";

let node: TestNode;
let seller: Client;
let buyer: Client;
let fills: Json[] = [];

beforeAll(async () => {
  node = await startNode();
  seller = await node.account("seller");
  buyer = await node.account("buyer", { deposit: 1_000_000 });
  await node.product("MKT-1");
  await node.product("MKT-QUIET");
  for (const [price, quantity] of [
    [100, 5],
    [100, 3],
    [105, 4],
    [120, 10],
  ]) {
    await seller.post("/v1/transact", { sku: "MKT-1", side: "inflow", price, quantity });
  }
  await buyer.post("/v1/transact", { sku: "MKT-1", side: "outflow", price: 90, quantity: 6 });
  await buyer.post("/v1/transact", { sku: "MKT-1", side: "outflow", price: 80, quantity: 1 });
  // Trades: 5 @100 and 2 @100, then 1 @100 and 1 @105.
  fills = [
    ...(await buyer.post("/v1/transact", { sku: "MKT-1", side: "outflow", price: 100, quantity: 7 })).body.fills,
    ...(await buyer.post("/v1/transact", { sku: "MKT-1", side: "outflow", price: 110, quantity: 2 })).body.fills,
  ];
  // A hold shows as held units in the depth.
  await buyer.post("/v1/holds", { lines: [{ sku: "MKT-1", quantity: 2, limitPrice: 105 }] });
});
afterAll(() => node.close());

describe("GET /v1/marketdata/orderBook", () => {
  it("answers L2 depth: inflow from the lowest price, outflow from the highest, held units shown", async () => {
    const res = await buyer.get("/v1/marketdata/orderBook?sku=mkt-1");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      sku: "MKT-1",
      seq: node.services.writer.lastSeq,
      inflow: [
        { price: 105, quantity: 3, held: 2, orders: 1 },
        { price: 120, quantity: 10, held: 0, orders: 1 },
      ],
      outflow: [
        { price: 90, quantity: 6, held: 0, orders: 1 },
        { price: 80, quantity: 1, held: 0, orders: 1 },
      ],
    });
  });

  it("limits the levels per side", async () => {
    const res = await buyer.get("/v1/marketdata/orderBook?sku=MKT-1&levels=1");
    expect(res.body.inflow).toEqual([{ price: 105, quantity: 3, held: 2, orders: 1 }]);
    expect(res.body.outflow).toEqual([{ price: 90, quantity: 6, held: 0, orders: 1 }]);
  });

  it("answers an empty book and refuses unknown skus", async () => {
    const quiet = await buyer.get("/v1/marketdata/orderBook?sku=MKT-QUIET");
    expect(quiet.body).toMatchObject({ sku: "MKT-QUIET", inflow: [], outflow: [] });
    expectProblem(await buyer.get("/v1/marketdata/orderBook?sku=NOPE"), 404, "unknown-sku");
  });
});

describe("GET /v1/marketdata/trades", () => {
  it("lists the sku's trades, oldest first", async () => {
    const res = await buyer.get("/v1/marketdata/trades?sku=MKT-1");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      sku: "MKT-1",
      trades: fills.map((f) => ({
        sku: "MKT-1",
        price: f.price,
        quantity: f.quantity,
        ts: f.ts,
        execId: f.execId,
        aggressor: "outflow",
      })),
    });
    expect(res.body.trades.map((t: Json) => [t.price, t.quantity])).toEqual([
      [100, 5],
      [100, 2],
      [100, 1],
      [105, 1],
    ]);
    const last = await buyer.get("/v1/marketdata/trades?sku=MKT-1&limit=1");
    expect(last.body.trades).toEqual([res.body.trades[3]]);
    expect((await buyer.get("/v1/marketdata/trades?sku=MKT-QUIET")).body.trades).toEqual([]);
    expectProblem(await buyer.get("/v1/marketdata/trades?sku=NOPE"), 404, "unknown-sku");
  });
});

describe("GET /v1/marketdata/snapshot", () => {
  it("answers OHLC and volume candles after trades", async () => {
    const res = await buyer.get("/v1/marketdata/snapshot?sku=MKT-1&resolution=1h");
    expect(res.status).toBe(200);
    expect(res.body.sku).toBe("MKT-1");
    expect(res.body.resolution).toBe("1h");
    // The trades' candles, computed here: one per hour bucket the trades fall in (two only if the run straddles an hour).
    const expected: Json[] = [];
    for (const f of fills) {
      const start = Math.floor(f.ts / 3_600_000) * 3_600_000;
      const c = expected.at(-1);
      if (c?.start === start) {
        Object.assign(c, {
          high: Math.max(c.high, f.price),
          low: Math.min(c.low, f.price),
          close: f.price,
          volume: c.volume + f.quantity,
          trades: c.trades + 1,
          closeTs: f.ts,
        });
      } else {
        expected.push({
          start,
          open: f.price,
          high: f.price,
          low: f.price,
          close: f.price,
          volume: f.quantity,
          trades: 1,
          openTs: f.ts,
          closeTs: f.ts,
        });
      }
    }
    expect(res.body.candles).toEqual(expected);
    expect(res.body.candles.reduce((sum: number, c: Json) => sum + c.volume, 0)).toBe(9);
    expect(Math.max(...res.body.candles.map((c: Json) => c.high))).toBe(105);
  });

  it("defaults to 1m candles, filters by time and answers none for a quiet sku", async () => {
    const res = await buyer.get("/v1/marketdata/snapshot?sku=MKT-1");
    expect(res.body.resolution).toBe("1m");
    expect(res.body.candles.reduce((s: number, c: Json) => s + c.volume, 0)).toBe(9);
    const after = await buyer.get(`/v1/marketdata/snapshot?sku=MKT-1&startTime=${fills[3].ts + 60_000}`);
    expect(after.body.candles).toEqual([]);
    const before = await buyer.get(
      `/v1/marketdata/snapshot?sku=MKT-1&endTime=${Math.floor(fills[0].ts / 60_000) * 60_000}`,
    );
    expect(before.body.candles).toEqual([]);
    for (const resolution of ["5m", "1w", "1mo"]) {
      const r = await buyer.get(`/v1/marketdata/snapshot?sku=MKT-1&resolution=${resolution}`);
      expect(r.body.candles.reduce((s: number, c: Json) => s + c.volume, 0)).toBe(9);
    }
    expect((await buyer.get("/v1/marketdata/snapshot?sku=MKT-QUIET")).body.candles).toEqual([]);
    expectProblem(await buyer.get("/v1/marketdata/snapshot?sku=NOPE"), 404, "unknown-sku");
  });

  it("rebuilds the same market data after a restart", async () => {
    const book = (await buyer.get("/v1/marketdata/orderBook?sku=MKT-1")).body;
    const trades = (await buyer.get("/v1/marketdata/trades?sku=MKT-1")).body;
    const candles = (await buyer.get("/v1/marketdata/snapshot?sku=MKT-1&resolution=1w")).body;
    await node.restart();
    expect((await buyer.get("/v1/marketdata/orderBook?sku=MKT-1")).body).toEqual(book);
    expect((await buyer.get("/v1/marketdata/trades?sku=MKT-1")).body).toEqual(trades);
    expect((await buyer.get("/v1/marketdata/snapshot?sku=MKT-1&resolution=1w")).body).toEqual(candles);
  });
});
