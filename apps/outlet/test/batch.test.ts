import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, expectRefused, type Json, startNode, type TestNode } from "./harness.ts";

let node: TestNode;
let service: Client;
beforeAll(async () => {
  node = await startNode();
  service = await node.account("svc", { role: "service", deposit: 1_000_000 });
});
afterAll(() => node.close());

describe("POST /v1/batch", () => {
  it("sequences many commands in order and answers each one: events or its problem", async () => {
    const seq = node.services.writer.lastSeq;
    const res = await node.admin.post("/v1/batch", {
      commands: [
        { type: "product.add", sku: "bulk-1", name: "Bulk", brand: "Bulky" },
        { type: "account.create", accountId: "bulk-seller", role: "kiosk" },
        { type: "account.kyc", accountId: "bulk-seller", kyc: "verified" },
        { type: "order.place", accountId: "bulk-seller", sku: "BULK-1", side: "inflow", price: 10, quantity: 50 },
        { type: "order.place", accountId: "bulk-seller", sku: "BULK-1", side: "inflow", price: 11, quantity: 50 },
        { type: "order.place", accountId: "svc", sku: "BULK-1", side: "outflow", price: 10, quantity: 20 },
        { type: "order.place", accountId: "bulk-seller", sku: "NOPE", side: "inflow", price: 10, quantity: 1 },
        { type: "product.add", sku: "BULK-1", name: "Again", brand: "Bulky" },
      ],
    });
    expect(res.status).toBe(200);
    const results = res.body.results as { status: number; body: Json }[];
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200, 404, 409]);
    // Orders answer as POST /v1/transact does; other commands with their events.
    const types = results.map((r) =>
      r.status !== 200 ? r.body.type : r.body.events ? r.body.events.map((e: Json) => e.type) : r.body.status,
    );
    expect(types).toEqual([
      ["product.added"],
      ["account.created"],
      ["account.kyc_changed"],
      "resting",
      "resting",
      "filled",
      "https://stockroom.dev/problems/unknown-sku",
      "https://stockroom.dev/problems/sku-exists",
    ]);
    const events = node.eventsAfter(seq);
    const accepted = events.filter((e) => e.type === "order.accepted");
    expect(results.slice(3, 6).map((r) => r.body.orderId)).toEqual(
      accepted.map((e) => (e.payload as { orderId: number }).orderId),
    );
    expect(results.slice(3, 6).map((r) => r.body.seq)).toEqual(accepted.map((e) => e.seq));
    expect(results[5]!.body).toMatchObject({ quantity: 20, filledQuantity: 20, remainingQuantity: 0 });
    expect(results[5]!.body.fills).toEqual([
      expect.objectContaining({
        sku: "BULK-1",
        price: 10,
        quantity: 20,
        seq: events.find((e) => e.type === "execution")!.seq,
      }),
    ]);
    expect(results[6]!.body).toMatchObject({ status: 404, reason: "unknown_sku", title: "No product has this sku." });
    // Other commands quote their events as logged, hashes and all.
    const quoted = results.slice(0, 3).flatMap((r) => r.body.events);
    expect(quoted).toEqual(events.slice(0, 3));
    expect(quoted.every((e: Json) => /^[0-9a-f]{64}$/.test(e.hash) && /^[0-9a-f]{64}$/.test(e.prevHash))).toBe(true);
    // Gapless, in request order, every event acted by the caller.
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: events.length }, (_, i) => seq + 1 + i));
    expect(results[7]!.body.seq).toBe(events.at(-1)!.seq);
    expect(events.every((e) => e.actor === "admin")).toBe(true);
    expect(node.services.engine.stock("BULK-1")).toEqual({
      sku: "BULK-1",
      available: 80,
      held: 0,
      onHand: 80,
      demand: 0,
    });
  });

  it("lets a service batch its own orders and holds", async () => {
    const res = await service.post("/v1/batch", {
      commands: [
        {
          type: "order.place",
          accountId: "svc",
          sku: "BULK-1",
          side: "outflow",
          price: 11,
          quantity: 5,
          timeInForce: "IOC",
        },
        {
          type: "hold.place",
          holdId: "svc-h1",
          accountId: "svc",
          lines: [{ sku: "BULK-1", quantity: 3 }],
          ttlMs: 60_000,
        },
        { type: "hold.confirm", holdId: "svc-h1", accountId: "svc" },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body.results.map((r: Json) => r.status)).toEqual([200, 200, 200]);
    expect(res.body.results[2].body.events.map((e: Json) => e.type)).toEqual(["execution", "hold.confirmed"]);
    expect(node.services.engine.stock("BULK-1")?.onHand).toBe(72);
  });

  it("refuses the whole batch when one command is beyond the caller's role, sequencing nothing", async () => {
    const res = await expectRefused(
      node,
      () =>
        service.post("/v1/batch", {
          commands: [
            { type: "order.place", accountId: "svc", sku: "BULK-1", side: "inflow", price: 1, quantity: 1 },
            { type: "product.add", sku: "SVC-1", name: "n", brand: "b" },
          ],
        }),
      403,
      "forbidden",
    );
    expect(res.body.index).toBe(1);
    expect(res.body.title).toMatch(/product\.add/);
    await expectRefused(node, () => service.post("/v1/batch", { commands: [{ type: "tick" }] }), 403, "forbidden");
  });

  it("refuses commands that act for another account unless the caller is an admin", async () => {
    const res = await expectRefused(
      node,
      () =>
        service.post("/v1/batch", {
          commands: [
            { type: "order.place", accountId: "bulk-seller", sku: "BULK-1", side: "outflow", price: 1, quantity: 1 },
          ],
        }),
      403,
      "forbidden",
    );
    expect(res.body).toMatchObject({ index: 0, title: "Command 0 acts for another account." });
  });

  it("refuses kiosks, empty and invalid batches", async () => {
    const kiosk = await node.account("kiosk");
    await expectRefused(node, () => kiosk.post("/v1/batch", { commands: [{ type: "tick" }] }), 403, "forbidden");
    await expectRefused(node, () => node.admin.post("/v1/batch", { commands: [] }), 400, "validation-error");
    await expectRefused(node, () => node.admin.post("/v1/batch", {}), 400, "validation-error");
    const res = await expectRefused(
      node,
      () =>
        node.admin.post("/v1/batch", {
          commands: [
            { type: "tick" },
            { type: "order.place", accountId: "svc", sku: "BULK-1", side: "outflow", price: -1, quantity: 1 },
          ],
        }),
      400,
      "validation-error",
    );
    expect(res.body.errors.map((e: Json) => e.path)).toContain("commands.1.price");
    await expectRefused(
      node,
      () => node.admin.post("/v1/batch", { commands: [{ type: "no.such.command" }] }),
      400,
      "validation-error",
    );
  });

  it("answers a retried batch with the same Idempotency-Key once, without sequencing it again", async () => {
    const body = {
      commands: [
        { type: "order.place", accountId: "svc", sku: "BULK-1", side: "outflow", price: 1, quantity: 1 },
        { type: "order.place", accountId: "svc", sku: "BULK-1", side: "outflow", price: 2, quantity: 1 },
      ],
    };
    const headers = { "idempotency-key": "batch-1" };
    const [first, ...parallel] = await Promise.all(
      Array.from({ length: 5 }, () => service.post("/v1/batch", body, headers)),
    );
    expect(first!.status).toBe(200);
    const seq = node.services.writer.lastSeq;
    const again = await service.post("/v1/batch", body, headers);
    for (const r of [...parallel, again]) {
      expect(r.status).toBe(200);
      expect(r.text).toBe(first!.text);
    }
    expect(node.services.writer.lastSeq).toBe(seq);
    expect(node.services.engine.ordersOf("svc").filter((o) => o.price <= 2)).toHaveLength(2);
    await expectRefused(
      node,
      () => service.post("/v1/batch", { commands: body.commands.slice(1) }, headers),
      422,
      "idempotency-key-reused",
    );
  });

  it("answers a retried batch quoting events the same, hashes included, after a restart too", async () => {
    const body = { commands: ["q-1", "q-2"].map((sku) => ({ type: "product.add", sku, name: sku, brand: "Quoted" })) };
    const headers = { "idempotency-key": "batch-quoting-1" };
    const first = await node.admin.post("/v1/batch", body, headers);
    expect(first.status).toBe(200);
    const quoted = first.body.results.flatMap((r: Json) => r.body.events);
    expect(quoted.map((e: Json) => e.payload.sku)).toEqual(["Q-1", "Q-2"]);
    expect(quoted).toEqual(quoted.map((e: Json) => node.eventsAfter(e.seq - 1)[0]));
    expect(quoted.every((e: Json) => /^[0-9a-f]{64}$/.test(e.hash))).toBe(true);
    const seq = node.services.writer.lastSeq;
    expect((await node.admin.post("/v1/batch", body, headers)).text).toBe(first.text);
    await node.restart();
    expect((await node.admin.post("/v1/batch", body, headers)).text).toBe(first.text);
    expect(node.services.writer.lastSeq).toBe(seq);
  });

  it("answers a long batch whose answers are not ASCII whole and in order", async () => {
    const names = Array.from({ length: 250 }, (_, i) => `Crème brûlée № ${i} 🍮`);
    const res = await node.admin.post("/v1/batch", {
      commands: names.map((name, i) => ({ type: "product.add", sku: `creme-${i}`, name, brand: "Pâtisserie" })),
    });
    expect(res.status).toBe(200);
    const results = res.body.results as { status: number; body: Json }[];
    expect(results.map((r) => r.body.events[0].payload.name)).toEqual(names);
    expect(results.every((r) => r.status === 200)).toBe(true);
  });

  it("skips every command of a repeated batch that took several groups to commit", async () => {
    const commands = Array.from({ length: 1_200 }, (_, i) => ({
      type: "order.place",
      accountId: "svc",
      sku: "BULK-1",
      side: "inflow",
      price: 500 + (i % 7),
      quantity: 1,
    }));
    const groups: number[] = [];
    const onCommit = node.services.writer.onCommit;
    node.services.writer.onCommit = (envelopes, size, ms) => {
      groups.push(size);
      onCommit(envelopes, size, ms);
    };
    const headers = { "idempotency-key": "bulk-receipt-1" };
    const first = await service.post("/v1/batch", { commands }, headers);
    node.services.writer.onCommit = onCommit;
    expect(first.status).toBe(200);
    expect(first.body.results).toHaveLength(1_200);
    expect(groups.length).toBeGreaterThan(1);
    const seq = node.services.writer.lastSeq;
    const onHand = node.services.engine.stock("BULK-1")?.onHand;
    const again = await service.post("/v1/batch", { commands }, headers);
    expect(again.status).toBe(200);
    expect(again.text).toBe(first.text);
    expect(node.services.writer.lastSeq).toBe(seq);
    expect(node.services.engine.stock("BULK-1")?.onHand).toBe(onHand);
  });
});
