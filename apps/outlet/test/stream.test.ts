import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, expectRefused, type Json, SseReader, startNode, type TestNode } from "./harness.ts";

let node: TestNode;
let seller: Client;
let buyer: Client;
beforeAll(async () => {
  node = await startNode();
  seller = await node.account("seller");
  buyer = await node.account("buyer", { deposit: 1_000_000 });
  await node.product("SSE-1");
  await node.product("SSE-2");
  await node.product("SSE-QUIET");
});
afterAll(() => node.close());

async function subscribe(client: Client, skus: string): Promise<{ res: Response; events: SseReader }> {
  const abort = new AbortController();
  const res = await fetch(`${node.url}/v1/stream?skus=${skus}`, {
    headers: { authorization: `Bearer ${client.key}` },
    signal: abort.signal,
  });
  expect(res.status).toBe(200);
  return { res, events: new SseReader(res.body!, abort) };
}

describe("GET /v1/stream", () => {
  it("streams the current picture, then fills, stock and depth of the followed skus", async () => {
    const lot = await seller.post("/v1/transact", { sku: "SSE-1", side: "inflow", price: 100, quantity: 10 });
    const { res, events } = await subscribe(buyer, "sse-1,SSE-QUIET");
    try {
      expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
      // The current picture first: stock and depth of each followed sku.
      const initial = [await events.next(), await events.next(), await events.next(), await events.next()];
      expect(initial).toEqual([
        { event: "stock", data: { sku: "SSE-1", available: 10, held: 0, onHand: 10, demand: 0 } },
        {
          event: "depth",
          data: { sku: "SSE-1", inflow: [{ price: 100, quantity: 10, held: 0, orders: 1 }], outflow: [] },
        },
        { event: "stock", data: { sku: "SSE-QUIET", available: 0, held: 0, onHand: 0, demand: 0 } },
        { event: "depth", data: { sku: "SSE-QUIET", inflow: [], outflow: [] } },
      ]);

      // A fill.
      const sale = await buyer.post("/v1/transact", { sku: "SSE-1", side: "outflow", price: 100, quantity: 3 });
      expect(sale.status).toBe(201);
      const [fill] = sale.body.fills;
      expect(await events.next()).toEqual({ event: "fill", data: { type: "execution", ...fill } });
      expect(await events.next()).toEqual({
        event: "stock",
        data: { sku: "SSE-1", available: 7, held: 0, onHand: 7, demand: 0 },
      });
      expect(await events.next()).toEqual({
        event: "depth",
        data: { sku: "SSE-1", inflow: [{ price: 100, quantity: 7, held: 0, orders: 1 }], outflow: [] },
      });

      // A change on an unfollowed sku sends nothing; a receipt on the followed one sends stock and depth.
      await seller.post("/v1/transact", { sku: "SSE-2", side: "inflow", price: 1, quantity: 1 });
      await seller.post("/v1/transact", { sku: "SSE-1", side: "inflow", price: 90, quantity: 5 });
      expect(await events.next()).toEqual({
        event: "stock",
        data: { sku: "SSE-1", available: 12, held: 0, onHand: 12, demand: 0 },
      });
      expect(await events.next()).toEqual({
        event: "depth",
        data: {
          sku: "SSE-1",
          inflow: [
            { price: 90, quantity: 5, held: 0, orders: 1 },
            { price: 100, quantity: 7, held: 0, orders: 1 },
          ],
          outflow: [],
        },
      });

      // A hold moves units from available to held; its confirmation sends the fill.
      const hold = await buyer.post("/v1/holds", { lines: [{ sku: "SSE-1", quantity: 2 }] });
      expect(await events.next()).toEqual({
        event: "stock",
        data: { sku: "SSE-1", available: 10, held: 2, onHand: 12, demand: 0 },
      });
      expect((await events.next()).event).toBe("depth");
      await buyer.post(`/v1/holds/${hold.body.holdId}/confirm`);
      const afterConfirm = await events.until((e) => e.event === "depth");
      expect(afterConfirm.map((e) => e.event)).toEqual(["fill", "stock", "depth"]);
      expect(afterConfirm[0]!.data).toMatchObject({ sku: "SSE-1", quantity: 2, price: 90, holdId: hold.body.holdId });
      expect(afterConfirm[1]!.data).toEqual({ sku: "SSE-1", available: 10, held: 0, onHand: 10, demand: 0 });

      // Cancelling the resting lot is a stock change too.
      await seller.delete(`/v1/orders/${lot.body.orderId}`);
      const cancelled = await events.until((e) => e.event === "depth");
      expect(cancelled.map((e) => e.event)).toEqual(["stock", "depth"]);
      expect(cancelled[0]!.data).toEqual({ sku: "SSE-1", available: 3, held: 0, onHand: 3, demand: 0 });
    } finally {
      events.close();
    }
  });

  it("fans out to several subscribers and stops sending to one that left", async () => {
    const a = await subscribe(buyer, "SSE-2");
    const b = await subscribe(seller, "SSE-2");
    try {
      for (const s of [a, b]) {
        expect((await s.events.next()).event).toBe("stock");
        expect((await s.events.next()).event).toBe("depth");
      }
      a.events.close();
      await seller.post("/v1/transact", { sku: "SSE-2", side: "inflow", price: 2, quantity: 4 });
      const seen = await b.events.until((e: { event: string; data: Json }) => e.event === "depth");
      expect(seen.map((e) => e.event)).toEqual(["stock", "depth"]);
      expect(seen[0]!.data).toMatchObject({ sku: "SSE-2", onHand: 5 });
    } finally {
      a.events.close();
      b.events.close();
    }
  });

  it("refuses subscribers without a key and malformed sku lists", async () => {
    await expectRefused(node, () => node.anonymous.get("/v1/stream?skus=SSE-1"), 401, "unauthorized");
    await expectRefused(node, () => buyer.get("/v1/stream"), 400, "validation-error");
    await expectRefused(node, () => buyer.get("/v1/stream?skus=SSE-1,bad%20sku"), 400, "validation-error");
  });
});
