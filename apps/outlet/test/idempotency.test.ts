import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, expectRefused, type Res, startNode, type TestNode } from "./harness.ts";

let node: TestNode;
let seller: Client;
let buyer: Client;
beforeAll(async () => {
  node = await startNode();
  seller = await node.account("seller");
  buyer = await node.account("buyer", { deposit: 1_000_000 });
  await node.product("IDEM-1");
});
afterAll(() => node.close());

const key = (k: string) => ({ "idempotency-key": k });
const accepted = (after: number) => node.eventsAfter(after).filter((e) => e.payload.type === "order.accepted");

describe("Idempotency-Key", () => {
  it("sequences one order for 50 parallel requests with the same key; every answer is identical, and so is a later repeat", async () => {
    const seq = node.services.writer.lastSeq;
    const body = { sku: "IDEM-1", side: "inflow", price: 100, quantity: 7, reference: "lot-1" };
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => seller.post("/v1/transact", body, key("receipt-0001"))),
    );
    expect(answers[0]!.status).toBe(201);
    expect(answers[0]!.body).toMatchObject({ status: "resting", quantity: 7, remainingQuantity: 7 });
    for (const a of answers) {
      expect(a.status).toBe(201);
      expect(a.headers.get("content-type")).toMatch(/^application\/json/);
      expect(a.text).toBe(answers[0]!.text);
    }
    expect(accepted(seq)).toHaveLength(1);
    expect(node.eventsAfter(seq).map((e) => e.type)).toEqual(["order.accepted", "order.rested"]);
    expect(node.services.engine.stock("IDEM-1")?.onHand).toBe(7);

    const later = await seller.post("/v1/transact", body, key("receipt-0001"));
    expect(later.status).toBe(201);
    expect(later.text).toBe(answers[0]!.text);
    expect(node.services.writer.lastSeq).toBe(seq + 2);
  });

  it("refuses the same key with a different body (422), in parallel with the first or after it", async () => {
    const body = { sku: "IDEM-1", side: "inflow", price: 100, quantity: 1 };
    const seq = node.services.writer.lastSeq;
    const mixed = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        seller.post("/v1/transact", i % 2 === 0 ? body : { ...body, quantity: 2 }, key("receipt-0002")),
      ),
    );
    // Exactly one of the two bodies won; every request with the other got 422.
    const winners = mixed.filter((r) => r.status === 201);
    const losers = mixed.filter((r) => r.status !== 201);
    expect(winners).toHaveLength(10);
    for (const w of winners) expect(w.text).toBe(winners[0]!.text);
    for (const l of losers) {
      expect(l.status).toBe(422);
      expect(l.body.type).toBe("https://stockroom.dev/problems/idempotency-key-reused");
    }
    expect(accepted(seq)).toHaveLength(1);

    const res = await expectRefused(
      node,
      () => seller.post("/v1/transact", { ...body, price: 101 }, key("receipt-0001")),
      422,
      "idempotency-key-reused",
    );
    expect(res.body.title).toBe("This Idempotency-Key was already used with a different request.");
    // Another route is another request too.
    const hold = { lines: [{ sku: "IDEM-1", quantity: 1 }] };
    await expectRefused(node, () => seller.post("/v1/holds", hold, key("receipt-0001")), 422, "idempotency-key-reused");
  });

  it("keeps keys per account", async () => {
    const body = { sku: "IDEM-1", side: "outflow", price: 1, quantity: 1 };
    const seq = node.services.writer.lastSeq;
    const a = await buyer.post("/v1/transact", body, key("shared-key"));
    const b = await seller.post("/v1/transact", { ...body, side: "inflow", price: 1_000 }, key("shared-key"));
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(a.body.orderId).not.toBe(b.body.orderId);
    expect(accepted(seq)).toHaveLength(2);
  });

  it("replays a rejection as it was, without sequencing it again", async () => {
    const poor = await node.account("poor", { deposit: 10 });
    const body = { sku: "IDEM-1", side: "outflow", price: 100, quantity: 1 };
    const seq = node.services.writer.lastSeq;
    const first = await poor.post("/v1/transact", body, key("try-1"));
    expect(first.status).toBe(422);
    expect(first.body.reason).toBe("insufficient_funds");
    // Funding the account does not change the stored answer.
    await node.admin.post("/v1/accounts/poor/deposit", { amount: 1_000 });
    const again = await poor.post("/v1/transact", body, key("try-1"));
    expect(again.status).toBe(422);
    expect(again.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(again.text).toBe(first.text);
    expect(node.eventsAfter(seq).map((e) => e.type)).toEqual(["command.rejected", "wallet.deposited"]);
    // A new key is a new request.
    expect((await poor.post("/v1/transact", body, key("try-2"))).status).toBe(201);
  });

  it("makes cancel, reduce, holds and account writes idempotent too", async () => {
    const placed = await seller.post("/v1/transact", { sku: "IDEM-1", side: "inflow", price: 300, quantity: 9 });
    const id = placed.body.orderId;
    const twice = async (send: () => Promise<Res>) => {
      const first = await send();
      const seq = node.services.writer.lastSeq;
      const second = await send();
      expect(second.status).toBe(first.status);
      expect(second.text).toBe(first.text);
      expect(node.services.writer.lastSeq).toBe(seq);
      return first;
    };
    expect((await twice(() => seller.patch(`/v1/orders/${id}`, { reduceBy: 2 }, key("reduce-1")))).status).toBe(200);
    expect(node.services.engine.order(id)?.remaining).toBe(7);
    expect((await twice(() => seller.delete(`/v1/orders/${id}`, key("cancel-1")))).status).toBe(200);

    const hold = await twice(() => buyer.post("/v1/holds", { lines: [{ sku: "IDEM-1", quantity: 2 }] }, key("cart-1")));
    expect(hold.status).toBe(201);
    expect(node.services.engine.holdsOf("buyer")).toHaveLength(1);
    expect(
      (await twice(() => buyer.post(`/v1/holds/${hold.body.holdId}/confirm`, undefined, key("confirm-1")))).status,
    ).toBe(200);
    expect((await twice(() => node.admin.post("/v1/accounts/buyer/deposit", { amount: 5 }, key("dep-1")))).status).toBe(
      200,
    );
    expect(
      (await twice(() => node.admin.post("/v1/products", { sku: "IDEM-2", name: "n", brand: "b" }, key("prod-1"))))
        .status,
    ).toBe(201);
  });

  it("quotes events as they were logged, hashes included, first and on repeats, after a restart too", async () => {
    const send = () => node.admin.post("/v1/products", { sku: "IDEM-3", name: "n", brand: "b" }, key("prod-3"));
    const first = await send();
    expect(first.status).toBe(201);
    const [added] = first.body.events;
    expect(added.type).toBe("product.added");
    expect(added.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(first.body.events).toEqual(node.eventsAfter(added.seq - 1));
    const seq = node.services.writer.lastSeq;
    expect((await send()).text).toBe(first.text);
    await node.restart();
    expect((await send()).text).toBe(first.text);
    expect(node.services.writer.lastSeq).toBe(seq);
  });

  it("refuses a malformed key (400) and sequences nothing", async () => {
    const body = { sku: "IDEM-1", side: "inflow", price: 1, quantity: 1 };
    for (const bad of ["x".repeat(129), "has space", "naïve"]) {
      await expectRefused(node, () => seller.post("/v1/transact", body, key(bad)), 400, "invalid-idempotency-key");
    }
  });

  it("remembers answers across a restart", async () => {
    const body = { sku: "IDEM-1", side: "inflow", price: 55, quantity: 3 };
    const first = await seller.post("/v1/transact", body, key("before-restart"));
    expect(first.status).toBe(201);
    await node.restart();
    const seq = node.services.writer.lastSeq;
    const again = await seller.post("/v1/transact", body, key("before-restart"));
    expect(again.text).toBe(first.text);
    expect(node.services.writer.lastSeq).toBe(seq);
  });
});
