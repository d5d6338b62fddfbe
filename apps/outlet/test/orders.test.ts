import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, expectRejected, startNode, type TestNode } from "./harness.ts";

let node: TestNode;
let seller: Client;
let buyer: Client;
let other: Client;
let colleague: Client;
let skuCount = 0;

/** A fresh product per test, so each starts from an empty book. */
async function freshSku(brand = "Acme"): Promise<string> {
  const sku = `ORD-${++skuCount}`;
  await node.product(sku, brand);
  return sku;
}

beforeAll(async () => {
  node = await startNode({ brandLimits: { Limited: 10 } });
  seller = await node.account("seller");
  buyer = await node.account("buyer", { deposit: 1_000_000 });
  other = await node.account("other", { deposit: 1_000_000 });
  colleague = await node.account("colleague", { role: "colleague" });
});
afterAll(() => node.close());

describe("POST /v1/transact", () => {
  it("rests an order that does not cross and answers id, time, status and quantities", async () => {
    const sku = await freshSku();
    const before = Date.now();
    const res = await seller.post("/v1/transact", { sku: sku.toLowerCase(), side: "inflow", price: 100, quantity: 10 });
    expect(res.status).toBe(201);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(res.body).toEqual({
      orderId: expect.any(Number),
      createdAt: expect.any(Number),
      seq: node.services.writer.lastSeq - 1,
      status: "resting",
      cancelReason: null,
      quantity: 10,
      filledQuantity: 0,
      remainingQuantity: 10,
      fills: [],
    });
    expect(res.body.createdAt).toBeGreaterThanOrEqual(before);
    expect(res.body.createdAt).toBeLessThanOrEqual(Date.now());
    const order = await seller.get(`/v1/orders/${res.body.orderId}`);
    expect(order.status).toBe(200);
    expect(order.body).toMatchObject({
      orderId: res.body.orderId,
      accountId: "seller",
      sku,
      side: "inflow",
      price: 100,
      quantity: 10,
      remaining: 10,
      held: 0,
      timeInForce: "GTC",
      reason: "other",
      reference: null,
    });
    expect(node.services.engine.stock(sku)).toEqual({ sku, available: 10, held: 0, onHand: 10, demand: 0 });
  });

  it("fills an outflow at the resting inflow's price and moves the funds", async () => {
    const sku = await freshSku();
    const rest = await seller.post("/v1/transact", {
      sku,
      side: "inflow",
      price: 100,
      quantity: 10,
      reason: "received",
    });
    const sellerBefore = node.services.engine.account("seller")!.balance;
    const buyerBefore = node.services.engine.account("buyer")!.balance;
    const res = await buyer.post("/v1/transact", {
      sku,
      side: "outflow",
      price: 120,
      quantity: 4,
      reason: "sale",
      reference: "receipt-1",
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ status: "filled", quantity: 4, filledQuantity: 4, remainingQuantity: 0 });
    expect(res.body.fills).toEqual([
      {
        execId: expect.any(Number),
        sku,
        price: 100,
        quantity: 4,
        inflowOrderId: rest.body.orderId,
        inflowAccountId: "seller",
        outflowOrderId: res.body.orderId,
        outflowAccountId: "buyer",
        holdId: null,
        aggressor: "outflow",
        ts: res.body.createdAt,
        seq: expect.any(Number),
      },
    ]);
    expect(node.services.engine.account("seller")!.balance).toBe(sellerBefore + 400);
    expect(node.services.engine.account("buyer")).toMatchObject({ balance: buyerBefore - 400, reserved: 0 });
    expect(node.services.engine.stock(sku)).toMatchObject({ available: 6, onHand: 6, demand: 0 });
    // The filled order no longer rests.
    const gone = await buyer.get(`/v1/orders/${res.body.orderId}`);
    expect(gone.status).toBe(404);
    expect(gone.body.type).toBe("https://stockroom.dev/problems/unknown-order");
  });

  it("partially fills across price levels, rests the remainder, then fills it from a later inflow", async () => {
    const sku = await freshSku();
    const a = await seller.post("/v1/transact", { sku, side: "inflow", price: 100, quantity: 3 });
    const b = await seller.post("/v1/transact", { sku, side: "inflow", price: 105, quantity: 3 });
    await seller.post("/v1/transact", { sku, side: "inflow", price: 200, quantity: 3 });
    const out = await buyer.post("/v1/transact", { sku, side: "outflow", price: 110, quantity: 10 });
    expect(out.body).toMatchObject({ status: "partially_filled", filledQuantity: 6, remainingQuantity: 4 });
    expect(
      out.body.fills.map((f: { inflowOrderId: number; price: number; quantity: number }) => [
        f.inflowOrderId,
        f.price,
        f.quantity,
      ]),
    ).toEqual([
      [a.body.orderId, 100, 3],
      [b.body.orderId, 105, 3],
    ]);
    // The resting outflow reserves its limit price for the remainder.
    expect(node.services.engine.stock(sku)).toMatchObject({ available: 3, demand: 4 });
    const inflow = await seller.post("/v1/transact", { sku, side: "inflow", price: 90, quantity: 5 });
    expect(inflow.body).toMatchObject({ status: "partially_filled", filledQuantity: 4, remainingQuantity: 1 });
    expect(inflow.body.fills).toEqual([
      expect.objectContaining({ price: 110, quantity: 4, outflowOrderId: out.body.orderId, aggressor: "inflow" }),
    ]);
  });

  it("cancels an IOC remainder and an unfillable FOK", async () => {
    const sku = await freshSku();
    await seller.post("/v1/transact", { sku, side: "inflow", price: 100, quantity: 3 });
    const fok = await buyer.post("/v1/transact", { sku, side: "outflow", price: 100, quantity: 4, timeInForce: "FOK" });
    expect(fok.status).toBe(201);
    expect(fok.body).toMatchObject({
      status: "cancelled",
      cancelReason: "fok_unfilled",
      filledQuantity: 0,
      remainingQuantity: 0,
      fills: [],
    });
    const ioc = await buyer.post("/v1/transact", { sku, side: "outflow", price: 100, quantity: 5, timeInForce: "IOC" });
    expect(ioc.body).toMatchObject({ status: "cancelled", cancelReason: "ioc_remainder", filledQuantity: 3 });
    expect(node.services.engine.stock(sku)).toMatchObject({ available: 0, demand: 0 });
    expect(node.services.engine.account("buyer")!.reserved).toBe(0);
  });
});

describe("DELETE, PATCH and replace of /v1/orders/{id}", () => {
  it("cancels a resting order; a second cancel is an unknown order", async () => {
    const sku = await freshSku();
    const placed = await seller.post("/v1/transact", { sku, side: "inflow", price: 100, quantity: 10 });
    const res = await seller.delete(`/v1/orders/${placed.body.orderId}`);
    expect(res.status).toBe(200);
    expect(res.body.events.map((e: { payload: unknown }) => e.payload)).toEqual([
      {
        type: "order.cancelled",
        orderId: placed.body.orderId,
        sku,
        side: "inflow",
        price: 100,
        quantity: 10,
        reason: "requested",
      },
    ]);
    expect(node.services.engine.stock(sku)).toMatchObject({ available: 0, onHand: 0 });
    await expectRejected(node, () => seller.delete(`/v1/orders/${placed.body.orderId}`), 404, "unknown_order");
  });

  it("releases an outflow's reservation when it is cancelled", async () => {
    const sku = await freshSku();
    const placed = await buyer.post("/v1/transact", { sku, side: "outflow", price: 50, quantity: 10 });
    expect(node.services.engine.account("buyer")!.reserved).toBe(500);
    expect((await buyer.delete(`/v1/orders/${placed.body.orderId}`)).status).toBe(200);
    expect(node.services.engine.account("buyer")!.reserved).toBe(0);
  });

  it("reduces a resting order, keeping its place in the queue", async () => {
    const sku = await freshSku();
    const first = await seller.post("/v1/transact", { sku, side: "inflow", price: 100, quantity: 10 });
    const second = await seller.post("/v1/transact", { sku, side: "inflow", price: 100, quantity: 10 });
    const res = await seller.patch(`/v1/orders/${first.body.orderId}`, { reduceBy: 7 });
    expect(res.status).toBe(200);
    expect(res.body.events.map((e: { payload: unknown }) => e.payload)).toEqual([
      { type: "order.reduced", orderId: first.body.orderId, sku, side: "inflow", price: 100, by: 7, remaining: 3 },
    ]);
    expect((await seller.get(`/v1/orders/${first.body.orderId}`)).body.remaining).toBe(3);
    const out = await buyer.post("/v1/transact", { sku, side: "outflow", price: 100, quantity: 4 });
    expect(
      out.body.fills.map((f: { inflowOrderId: number; quantity: number }) => [f.inflowOrderId, f.quantity]),
    ).toEqual([
      [first.body.orderId, 3],
      [second.body.orderId, 1],
    ]);
    await expectRejected(
      node,
      () => seller.patch(`/v1/orders/${second.body.orderId}`, { reduceBy: 9 }),
      422,
      "invalid_quantity",
    );
  });

  it("replaces an order's price, re-matching it, and its quantity", async () => {
    const sku = await freshSku();
    const inflow = await seller.post("/v1/transact", { sku, side: "inflow", price: 100, quantity: 5 });
    const out = await buyer.post("/v1/transact", { sku, side: "outflow", price: 90, quantity: 8 });
    expect(out.body.status).toBe("resting");
    const raised = await buyer.post(`/v1/orders/${out.body.orderId}/replace`, { price: 100 });
    expect(raised.status).toBe(200);
    expect(raised.body).toMatchObject({
      orderId: out.body.orderId,
      status: "partially_filled",
      quantity: 8,
      filledQuantity: 5,
      remainingQuantity: 3,
    });
    expect(raised.body.fills).toEqual([
      expect.objectContaining({
        inflowOrderId: inflow.body.orderId,
        outflowOrderId: out.body.orderId,
        price: 100,
        quantity: 5,
      }),
    ]);
    const bigger = await buyer.post(`/v1/orders/${out.body.orderId}/replace`, { quantity: 6 });
    expect(bigger.body).toMatchObject({ status: "resting", quantity: 6, remainingQuantity: 6, fills: [] });
    expect(node.services.engine.order(out.body.orderId)).toMatchObject({ price: 100, remaining: 6 });
    expect(node.services.engine.account("buyer")!.reserved).toBe(600);
    await expectRejected(
      node,
      () => buyer.post(`/v1/orders/${out.body.orderId}/replace`, { quantity: 2 }),
      422,
      "invalid_quantity",
    );
    expect((await buyer.delete(`/v1/orders/${out.body.orderId}`)).status).toBe(200);
  });

  it("refuses acting on another account's order; a colleague may", async () => {
    const sku = await freshSku();
    const placed = await seller.post("/v1/transact", { sku, side: "inflow", price: 100, quantity: 10 });
    const id = placed.body.orderId;
    await expectRejected(node, () => other.delete(`/v1/orders/${id}`), 403, "not_order_owner");
    await expectRejected(node, () => other.patch(`/v1/orders/${id}`, { reduceBy: 1 }), 403, "not_order_owner");
    await expectRejected(node, () => other.post(`/v1/orders/${id}/replace`, { price: 99 }), 403, "not_order_owner");
    expect((await colleague.patch(`/v1/orders/${id}`, { reduceBy: 1 })).status).toBe(200);
    expect((await colleague.delete(`/v1/orders/${id}`)).status).toBe(200);
  });

  it("answers unknown orders", async () => {
    await expectRejected(node, () => seller.delete("/v1/orders/999999"), 404, "unknown_order");
    await expectRejected(node, () => seller.patch("/v1/orders/999999", { reduceBy: 1 }), 404, "unknown_order");
    await expectRejected(node, () => seller.post("/v1/orders/999999/replace", { price: 1 }), 404, "unknown_order");
    const res = await seller.get("/v1/orders/999999");
    expect(res.status).toBe(404);
    expect(res.body.type).toBe("https://stockroom.dev/problems/unknown-order");
  });
});

describe("business rejections", () => {
  it("refuses an unverified account (403 account-not-verified)", async () => {
    const sku = await freshSku();
    const pending = await node.account("pending-1", { kyc: "pending", deposit: 10_000 });
    const res = await expectRejected(
      node,
      () => pending.post("/v1/transact", { sku, side: "inflow", price: 1, quantity: 1 }),
      403,
      "account_not_verified",
    );
    expect(res.body.title).toBe("The account's KYC is not verified yet.");
    await expectRejected(
      node,
      () => pending.post("/v1/holds", { lines: [{ sku, quantity: 1 }] }),
      403,
      "account_not_verified",
    );
  });

  it("refuses a suspended account (403 account-suspended), which may still cancel its resting orders", async () => {
    const sku = await freshSku();
    const account = await node.account("suspend-1", { deposit: 10_000 });
    const placed = await account.post("/v1/transact", { sku, side: "inflow", price: 1, quantity: 1 });
    expect(placed.status).toBe(201);
    expect((await node.admin.post("/v1/accounts/suspend-1/kyc", { kyc: "suspended" })).status).toBe(200);
    const res = await expectRejected(
      node,
      () => account.post("/v1/transact", { sku, side: "outflow", price: 1, quantity: 1 }),
      403,
      "account_suspended",
    );
    expect(res.body.title).toBe("The account is suspended.");
    expect((await account.delete(`/v1/orders/${placed.body.orderId}`)).status).toBe(200);
  });

  it("refuses units over the brand's daily limit (422 daily-limit-exceeded)", async () => {
    const sku = await freshSku("Limited");
    const trader = await node.account("limited-1", { deposit: 1_000_000 });
    await expectRejected(
      node,
      () => trader.post("/v1/transact", { sku, side: "inflow", price: 1, quantity: 11 }),
      422,
      "daily_limit_exceeded",
    );
    expect((await trader.post("/v1/transact", { sku, side: "inflow", price: 1, quantity: 6 })).status).toBe(201);
    expect((await trader.post("/v1/transact", { sku, side: "outflow", price: 1, quantity: 4 })).status).toBe(201);
    // 10 used: even one more unit of the brand is refused, cancelling does not give units back.
    await expectRejected(
      node,
      () => trader.post("/v1/transact", { sku, side: "inflow", price: 1, quantity: 1 }),
      422,
      "daily_limit_exceeded",
    );
    // Other brands are under the default limit.
    const unlimited = await freshSku();
    expect(
      (await trader.post("/v1/transact", { sku: unlimited, side: "inflow", price: 1, quantity: 1_000 })).status,
    ).toBe(201);
  });

  it("refuses an outflow the wallet cannot cover (422 insufficient-funds), counting reservations", async () => {
    const sku = await freshSku();
    const poor = await node.account("poor-1", { deposit: 1_000 });
    await expectRejected(
      node,
      () => poor.post("/v1/transact", { sku, side: "outflow", price: 101, quantity: 10 }),
      422,
      "insufficient_funds",
    );
    expect((await poor.post("/v1/transact", { sku, side: "outflow", price: 60, quantity: 10 })).status).toBe(201);
    await expectRejected(
      node,
      () => poor.post("/v1/transact", { sku, side: "outflow", price: 401, quantity: 1 }),
      422,
      "insufficient_funds",
    );
    // Inflows need no funds.
    expect((await poor.post("/v1/transact", { sku, side: "inflow", price: 1_000, quantity: 10 })).status).toBe(201);
  });

  it("refuses an unknown sku (404 unknown-sku)", async () => {
    const res = await expectRejected(
      node,
      () => buyer.post("/v1/transact", { sku: "NO-SUCH-SKU", side: "outflow", price: 1, quantity: 1 }),
      404,
      "unknown_sku",
    );
    expect(res.body.title).toBe("No product has this sku.");
  });

  it("refuses an order whose value overflows (422 amount-too-large)", async () => {
    const sku = await freshSku();
    await expectRejected(
      node,
      () => seller.post("/v1/transact", { sku, side: "inflow", price: 1_000_000_000, quantity: 1_000_000_000 }),
      422,
      "amount_too_large",
    );
  });

  it("refuses new orders and holds while the outlet is closed (409 market-closed)", async () => {
    // No weekday has opening hours: closed all week.
    const closed = await startNode({ tradingHours: {} });
    try {
      await closed.product("SHUT-1");
      const trader = await closed.account("trader", { deposit: 1_000 });
      const res = await expectRejected(
        closed,
        () => trader.post("/v1/transact", { sku: "SHUT-1", side: "inflow", price: 1, quantity: 1 }),
        409,
        "market_closed",
      );
      expect(res.body.title).toBe("The outlet is closed for new orders at this time.");
      await expectRejected(
        closed,
        () => trader.post("/v1/holds", { lines: [{ sku: "SHUT-1", quantity: 1 }] }),
        409,
        "market_closed",
      );
    } finally {
      await closed.close();
    }
  });

  it("records each rejection in the audit trail with who tried what", async () => {
    const res = await buyer.post("/v1/transact", { sku: "NO-SUCH-SKU", side: "inflow", price: 7, quantity: 3 });
    const audit = await node.admin.get(`/v1/audit?accountId=buyer&afterSeq=${res.body.seq - 1}`);
    expect(audit.body.events).toEqual([
      expect.objectContaining({
        seq: res.body.seq,
        actor: "buyer",
        type: "command.rejected",
        payload: {
          type: "command.rejected",
          reason: "unknown_sku",
          message: "No product has this sku.",
          command: expect.objectContaining({
            type: "order.place",
            accountId: "buyer",
            sku: "NO-SUCH-SKU",
            price: 7,
            quantity: 3,
          }),
        },
      }),
    ]);
  });
});
