import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, expectRejected, type Json, startNode, type TestNode, until } from "./harness.ts";

let node: TestNode;
let seller: Client;
let buyer: Client;
let other: Client;
let skuCount = 0;

/** A fresh product with inflow lots at these prices. Returns the sku and the lots' order ids. */
async function stocked(lots: [price: number, quantity: number][]): Promise<{ sku: string; orders: number[] }> {
  const sku = `HLD-${++skuCount}`;
  await node.product(sku);
  const orders: number[] = [];
  for (const [price, quantity] of lots) {
    const res = await seller.post("/v1/transact", { sku, side: "inflow", price, quantity });
    expect(res.body.status).toBe("resting");
    orders.push(res.body.orderId);
  }
  return { sku, orders };
}

beforeAll(async () => {
  node = await startNode();
  seller = await node.account("seller");
  buyer = await node.account("buyer", { deposit: 1_000_000 });
  other = await node.account("other", { deposit: 1_000_000 });
});
afterAll(() => node.close());

describe("placing a hold", () => {
  it("holds a multi-line cart at the best prices and reserves its amount", async () => {
    const a = await stocked([
      [100, 5],
      [110, 5],
    ]);
    const b = await stocked([[50, 10]]);
    const before = Date.now();
    const res = await buyer.post("/v1/holds", {
      lines: [
        { sku: a.sku, quantity: 7 },
        { sku: b.sku.toLowerCase(), quantity: 3, limitPrice: 60 },
      ],
      ttlMs: 60_000,
      reference: "cart-1",
    });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      holdId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      accountId: "buyer",
      expiresAt: expect.any(Number),
      reason: "sale",
      reference: "cart-1",
      lines: [
        { sku: a.sku, quantity: 7, limitPrice: null },
        { sku: b.sku, quantity: 3, limitPrice: 60 },
      ],
      allocations: [
        { orderId: a.orders[0], sku: a.sku, price: 100, quantity: 5 },
        { orderId: a.orders[1], sku: a.sku, price: 110, quantity: 2 },
        { orderId: b.orders[0], sku: b.sku, price: 50, quantity: 3 },
      ],
      amount: 5 * 100 + 2 * 110 + 3 * 50,
      status: "active",
      fills: [],
    });
    expect(res.body.expiresAt).toBeGreaterThanOrEqual(before + 60_000);
    expect(res.body.expiresAt).toBeLessThanOrEqual(Date.now() + 60_000);
    expect(node.services.engine.stock(a.sku)).toEqual({ sku: a.sku, available: 3, held: 7, onHand: 10, demand: 0 });
    expect(node.services.engine.stock(b.sku)).toEqual({ sku: b.sku, available: 7, held: 3, onHand: 10, demand: 0 });
    expect(node.services.engine.account("buyer")!.reserved).toBe(870);

    const { fills: _fills, ...hold } = res.body;
    const got = await buyer.get(`/v1/holds/${hold.holdId}`);
    expect(got.status).toBe(200);
    expect(got.body).toEqual(hold);
    const list = await buyer.get("/v1/holds");
    expect(list.body.holds).toContainEqual(hold);
    expect((await other.get("/v1/holds")).body.holds).toEqual([]);
    expect((await buyer.post(`/v1/holds/${hold.holdId}/cancel`)).status).toBe(200);
  });

  it("is all or nothing: a short line holds nothing (409 insufficient-stock)", async () => {
    const a = await stocked([[100, 5]]);
    const b = await stocked([[100, 2]]);
    const res = await expectRejected(
      node,
      () =>
        buyer.post("/v1/holds", {
          lines: [
            { sku: a.sku, quantity: 5 },
            { sku: b.sku, quantity: 3 },
          ],
        }),
      409,
      "insufficient_stock",
    );
    expect(res.body.title).toBe("Not enough available stock at the requested prices.");
    expect(node.services.engine.stock(a.sku)).toMatchObject({ available: 5, held: 0 });
    // A limit price below every lot is short too.
    await expectRejected(
      node,
      () => buyer.post("/v1/holds", { lines: [{ sku: a.sku, quantity: 1, limitPrice: 99 }] }),
      409,
      "insufficient_stock",
    );
  });

  it("refuses unknown skus, funds it cannot reserve and a hold id another account used", async () => {
    const a = await stocked([[1_000, 10]]);
    await expectRejected(
      node,
      () => buyer.post("/v1/holds", { lines: [{ sku: "NOPE", quantity: 1 }] }),
      404,
      "unknown_sku",
    );
    const poor = await node.account("poor", { deposit: 999 });
    await expectRejected(
      node,
      () => poor.post("/v1/holds", { lines: [{ sku: a.sku, quantity: 1 }] }),
      422,
      "insufficient_funds",
    );
    const placed = await buyer.post("/v1/holds", { holdId: "txn-shared", lines: [{ sku: a.sku, quantity: 1 }] });
    expect(placed.status).toBe(201);
    await expectRejected(
      node,
      () => other.post("/v1/holds", { holdId: "txn-shared", lines: [{ sku: a.sku, quantity: 1 }] }),
      409,
      "hold_exists",
    );
  });

  it("answers a retried placement with a caller-given id the same, and changes nothing", async () => {
    const a = await stocked([[10, 10]]);
    const body = { holdId: "txn-42", lines: [{ sku: a.sku, quantity: 4 }], ttlMs: 30_000 };
    const first = await buyer.post("/v1/holds", body);
    expect(first.status).toBe(201);
    const seq = node.services.writer.lastSeq;
    const digest = node.services.engine.digest();
    const again = await buyer.post("/v1/holds", body);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(node.services.writer.lastSeq).toBe(seq);
    expect(node.services.engine.digest()).toBe(digest);
    expect(node.services.engine.stock(a.sku)).toMatchObject({ available: 6, held: 4 });
  });
});

describe("confirm, cancel, extend", () => {
  it("confirms: the held units become executions at the allocated prices; a repeat answers the same", async () => {
    const a = await stocked([
      [100, 2],
      [120, 5],
    ]);
    const sellerBefore = node.services.engine.account("seller")!.balance;
    const { balance: buyerBefore, reserved: reservedBefore } = node.services.engine.account("buyer")!;
    const placed = await buyer.post("/v1/holds", { lines: [{ sku: a.sku, quantity: 4 }] });
    expect(node.services.engine.account("buyer")!.reserved).toBe(reservedBefore + 440);
    const id = placed.body.holdId;
    const res = await buyer.post(`/v1/holds/${id}/confirm`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ holdId: id, status: "confirmed", amount: 440 });
    expect(res.body.fills).toEqual([
      expect.objectContaining({
        sku: a.sku,
        price: 100,
        quantity: 2,
        inflowOrderId: a.orders[0],
        outflowOrderId: null,
        outflowAccountId: "buyer",
        holdId: id,
        aggressor: "hold",
      }),
      expect.objectContaining({ price: 120, quantity: 2, inflowOrderId: a.orders[1], holdId: id, aggressor: "hold" }),
    ]);
    expect(node.services.engine.stock(a.sku)).toEqual({ sku: a.sku, available: 3, held: 0, onHand: 3, demand: 0 });
    expect(node.services.engine.account("buyer")).toMatchObject({
      balance: buyerBefore - 440,
      reserved: reservedBefore,
    });
    expect(node.services.engine.account("seller")!.balance).toBe(sellerBefore + 440);

    const seq = node.services.writer.lastSeq;
    const again = await buyer.post(`/v1/holds/${id}/confirm`);
    expect(again.status).toBe(200);
    // Its fills read back from the log: the coordinator that lost the first answer gets them.
    expect(again.body).toEqual(res.body);
    expect(node.services.writer.lastSeq).toBe(seq);
    await expectRejected(node, () => buyer.post(`/v1/holds/${id}/cancel`), 409, "hold_not_active");
    await expectRejected(node, () => buyer.post(`/v1/holds/${id}/extend`, { ttlMs: 1_000 }), 409, "hold_not_active");
    expect((await buyer.get(`/v1/holds/${id}`)).body.status).toBe("confirmed");
    expect((await buyer.get("/v1/holds")).body.holds.map((h: Json) => h.holdId)).not.toContain(id);
  });

  it("cancels: the units go back to their orders; a repeat answers the same", async () => {
    const a = await stocked([[100, 5]]);
    const reservedBefore = node.services.engine.account("buyer")!.reserved;
    const placed = await buyer.post("/v1/holds", { lines: [{ sku: a.sku, quantity: 5 }] });
    const id = placed.body.holdId;
    expect(node.services.engine.account("buyer")!.reserved).toBe(reservedBefore + 500);
    expect(node.services.engine.stock(a.sku)).toMatchObject({ available: 0, held: 5 });
    const res = await buyer.post(`/v1/holds/${id}/cancel`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ holdId: id, status: "released", fills: [] });
    expect(node.services.engine.stock(a.sku)).toEqual({ sku: a.sku, available: 5, held: 0, onHand: 5, demand: 0 });
    expect(node.services.engine.order(a.orders[0]!)).toMatchObject({ remaining: 5, held: 0 });
    expect(node.services.engine.account("buyer")!.reserved).toBe(reservedBefore);
    const seq = node.services.writer.lastSeq;
    expect((await buyer.post(`/v1/holds/${id}/cancel`)).body.status).toBe("released");
    expect(node.services.writer.lastSeq).toBe(seq);
    await expectRejected(node, () => buyer.post(`/v1/holds/${id}/confirm`), 409, "hold_not_active");
  });

  it("extends the expiry, never pulling it in", async () => {
    const a = await stocked([[100, 5]]);
    const placed = await buyer.post("/v1/holds", { lines: [{ sku: a.sku, quantity: 1 }], ttlMs: 10_000 });
    const id = placed.body.holdId;
    const longer = await buyer.post(`/v1/holds/${id}/extend`, { ttlMs: 3_600_000 });
    expect(longer.status).toBe(200);
    expect(longer.body.expiresAt).toBeGreaterThanOrEqual(placed.body.expiresAt - 10_000 + 3_600_000);
    const shorter = await buyer.post(`/v1/holds/${id}/extend`, { ttlMs: 1 });
    expect(shorter.body.expiresAt).toBe(longer.body.expiresAt);
    expect((await buyer.get(`/v1/holds/${id}`)).body.expiresAt).toBe(longer.body.expiresAt);
  });

  it("refuses another account acting on a hold, and unknown holds", async () => {
    const a = await stocked([[100, 5]]);
    const id = (await buyer.post("/v1/holds", { lines: [{ sku: a.sku, quantity: 1 }] })).body.holdId;
    await expectRejected(node, () => other.post(`/v1/holds/${id}/confirm`), 403, "not_hold_owner");
    await expectRejected(node, () => other.post(`/v1/holds/${id}/cancel`), 403, "not_hold_owner");
    await expectRejected(node, () => other.post(`/v1/holds/${id}/extend`, { ttlMs: 1_000 }), 403, "not_hold_owner");
    await expectRejected(node, () => buyer.post("/v1/holds/no-such-hold/confirm"), 404, "unknown_hold");
    await expectRejected(node, () => buyer.post("/v1/holds/no-such-hold/cancel"), 404, "unknown_hold");
    const res = await buyer.get("/v1/holds/no-such-hold");
    expect(res.status).toBe(404);
    expect(res.body.type).toBe("https://stockroom.dev/problems/unknown-hold");
  });

  it("refuses to cancel or reduce an order below its held units (409 order-held)", async () => {
    const a = await stocked([[100, 5]]);
    const id = (await buyer.post("/v1/holds", { lines: [{ sku: a.sku, quantity: 3 }] })).body.holdId;
    await expectRejected(node, () => seller.delete(`/v1/orders/${a.orders[0]}`), 409, "order_held");
    await expectRejected(node, () => seller.patch(`/v1/orders/${a.orders[0]}`, { reduceBy: 3 }), 409, "order_held");
    expect((await seller.patch(`/v1/orders/${a.orders[0]}`, { reduceBy: 2 })).status).toBe(200);
    expect((await buyer.post(`/v1/holds/${id}/cancel`)).status).toBe(200);
  });

  it("gives released units to demand that waited for them; the cancel answers none of those fills", async () => {
    const a = await stocked([[100, 5]]);
    const id = (await buyer.post("/v1/holds", { lines: [{ sku: a.sku, quantity: 5 }] })).body.holdId;
    const waiting = await other.post("/v1/transact", { sku: a.sku, side: "outflow", price: 100, quantity: 2 });
    expect(waiting.body.status).toBe("resting");
    const res = await buyer.post(`/v1/holds/${id}/cancel`);
    expect(res.body).toMatchObject({ holdId: id, status: "released", fills: [] });
    const executions = await other.get(`/v1/executions?orderId=${waiting.body.orderId}`);
    expect(executions.body.executions).toEqual([
      expect.objectContaining({
        inflowOrderId: a.orders[0],
        outflowOrderId: waiting.body.orderId,
        outflowAccountId: "other",
        holdId: null,
        price: 100,
        quantity: 2,
      }),
    ]);
    expect(node.services.engine.stock(a.sku)).toMatchObject({ available: 3, held: 0, demand: 0 });
  });

  it("answers a confirm with its own fills, not those of units another hold's expiry gave back", async () => {
    const a = await stocked([[100, 2]]);
    const expiring = await other.post("/v1/holds", { lines: [{ sku: a.sku, quantity: 1 }], ttlMs: 1_000 });
    const id = (await buyer.post("/v1/holds", { lines: [{ sku: a.sku, quantity: 1 }] })).body.holdId;
    const waiting = await other.post("/v1/transact", { sku: a.sku, side: "outflow", price: 100, quantity: 1 });
    expect(waiting.body.status).toBe("resting");
    // The next command, the confirm, first releases the expired hold: its unit meets the demand.
    await until(async () => Date.now() > expiring.body.expiresAt, "the other hold's expiry to pass");
    const res = await buyer.post(`/v1/holds/${id}/confirm`);
    expect(res.body.fills).toEqual([expect.objectContaining({ holdId: id, outflowAccountId: "buyer", quantity: 1 })]);
    expect((await buyer.get(`/v1/holds/${expiring.body.holdId}`)).body.status).toBe("released");
    const executions = await other.get(`/v1/executions?orderId=${waiting.body.orderId}`);
    expect(executions.body.executions).toEqual([expect.objectContaining({ holdId: null, quantity: 1 })]);
    expect((await buyer.post(`/v1/holds/${id}/confirm`)).body).toEqual(res.body);
  });
});

describe("answers within one group commit", () => {
  it("answers each command with its own outcome when a later command in the same commit changes the hold", async () => {
    const a = await stocked([[100, 5]]);
    // Hold back the two submissions until both have arrived, then queue them together (place
    // first) so that the writer executes and commits them as one group.
    const writer = node.services.writer;
    const submit = writer.submit;
    const waiting: { args: Parameters<typeof submit>; resolve: (v: Json) => void; reject: (e: Error) => void }[] = [];
    writer.submit = (...args) =>
      new Promise((resolve, reject) => {
        waiting.push({ args, resolve, reject });
        if (waiting.length < 2) return;
        writer.submit = submit;
        const isPlace = (w: (typeof waiting)[number]) => Number(w.args[0].type === "hold.place");
        waiting.sort((x, y) => isPlace(y) - isPlace(x));
        for (const w of waiting) submit.apply(writer, w.args).then(w.resolve, w.reject);
      });
    let groups = 0;
    const onCommit = writer.onCommit;
    writer.onCommit = (envelopes, commands, ms) => {
      groups++;
      onCommit(envelopes, commands, ms);
    };
    try {
      const [placed, confirmed] = await Promise.all([
        buyer.post("/v1/holds", { holdId: "one-group", lines: [{ sku: a.sku, quantity: 2 }] }),
        buyer.post("/v1/holds/one-group/confirm"),
      ]);
      expect(groups).toBe(1);
      expect(placed.status).toBe(201);
      expect(placed.body).toMatchObject({ holdId: "one-group", status: "active", fills: [] });
      expect(confirmed.status).toBe(200);
      expect(confirmed.body).toMatchObject({ holdId: "one-group", status: "confirmed" });
      expect(confirmed.body.fills).toHaveLength(1);
    } finally {
      writer.submit = submit;
      writer.onCommit = onCommit;
    }
  });
});

describe("expiry", () => {
  let ticking: TestNode;
  beforeAll(async () => {
    ticking = await startNode({ tickEveryMs: 20 });
  });
  afterAll(() => ticking.close());

  it("releases a hold when its TTL passes, through the node's ticks", async () => {
    await ticking.product("EXP-1");
    const sellerT = await ticking.account("seller-t");
    const buyerT = await ticking.account("buyer-t", { deposit: 10_000 });
    await sellerT.post("/v1/transact", { sku: "EXP-1", side: "inflow", price: 10, quantity: 5 });
    const placed = await buyerT.post("/v1/holds", { lines: [{ sku: "EXP-1", quantity: 5 }], ttlMs: 100 });
    expect(placed.status).toBe(201);
    const id = placed.body.holdId;
    await until(async () => (await buyerT.get(`/v1/holds/${id}`)).body.status === "released", "the hold to expire");
    expect(ticking.services.engine.stock("EXP-1")).toMatchObject({ available: 5, held: 0 });
    expect(ticking.services.engine.account("buyer-t")!.reserved).toBe(0);
    const released = ticking.eventsAfter(0).find((e) => e.payload.type === "hold.released" && e.payload.holdId === id);
    expect(released?.payload).toEqual({ type: "hold.released", holdId: id, reason: "expired" });
    expect(released!.ts).toBeGreaterThanOrEqual(placed.body.expiresAt);
    expect(released!.actor).toBe("system");
    await expectRejected(ticking, () => buyerT.post(`/v1/holds/${id}/confirm`), 409, "hold_not_active");
  });
});
