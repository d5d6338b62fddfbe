import type { EventEnvelope } from "@stockroom/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, expectRefused, type Json, startNode, type TestNode, until } from "./harness.ts";

let node: TestNode;
let seller: Client;
let buyer: Client;
let reader: Client;
/** Orders and fills made in beforeAll, in two time windows. */
const made = { early: [] as Json[], late: [] as Json[], lotA: 0, lotB: 0, splitTs: 0 };

beforeAll(async () => {
  node = await startNode();
  seller = await node.account("seller");
  buyer = await node.account("buyer", { deposit: 1_000_000 });
  reader = await node.account("reader", { role: "hq-reader" });
  await node.product("AUD-A");
  await node.product("AUD-B");
  made.lotA = (
    await seller.post("/v1/transact", { sku: "AUD-A", side: "inflow", price: 10, quantity: 100 })
  ).body.orderId;
  made.lotB = (
    await seller.post("/v1/transact", { sku: "AUD-B", side: "inflow", price: 20, quantity: 100 })
  ).body.orderId;
  for (const sku of ["AUD-A", "AUD-B", "AUD-A"]) {
    made.early.push(await buyer.post("/v1/transact", { sku, side: "outflow", price: 50, quantity: 2 }));
  }
  // A second window: its events carry strictly later timestamps.
  const last = made.early.at(-1).body.createdAt;
  await until(() => Date.now() > last, "the clock to move");
  made.splitTs = Date.now();
  await until(() => Date.now() > made.splitTs, "the clock to move");
  for (const sku of ["AUD-B", "AUD-A"]) {
    made.late.push(await buyer.post("/v1/transact", { sku, side: "outflow", price: 50, quantity: 3 }));
  }
  for (const r of [...made.early, ...made.late]) expect(r.body.status).toBe("filled");
});
afterAll(() => node.close());

describe("GET /v1/executions", () => {
  it("lists every fill, oldest first, with the order's answer fields", async () => {
    const res = await buyer.get("/v1/executions");
    expect(res.status).toBe(200);
    const fills = [...made.early, ...made.late].flatMap((r) => r.body.fills);
    expect(res.body.executions).toEqual(fills);
    expect(res.body.executions.map((e: Json) => e.execId)).toEqual([1, 2, 3, 4, 5]);
  });

  it("filters by sku", async () => {
    const res = await buyer.get("/v1/executions?sku=aud-b");
    expect(res.body.executions.map((e: Json) => [e.sku, e.quantity])).toEqual([
      ["AUD-B", 2],
      ["AUD-B", 3],
    ]);
  });

  it("filters by order id, on either side", async () => {
    const outflow = made.early[0].body.orderId;
    const byOutflow = await buyer.get(`/v1/executions?orderId=${outflow}`);
    expect(byOutflow.body.executions).toEqual(made.early[0].body.fills);
    const byInflow = await buyer.get(`/v1/executions?orderId=${made.lotA}`);
    expect(byInflow.body.executions.map((e: Json) => e.outflowOrderId)).toEqual([
      made.early[0].body.orderId,
      made.early[2].body.orderId,
      made.late[1].body.orderId,
    ]);
    expect((await buyer.get("/v1/executions?orderId=999999")).body.executions).toEqual([]);
  });

  it("filters by time: startTime inclusive, endTime exclusive", async () => {
    const late = await buyer.get(`/v1/executions?startTime=${made.splitTs}`);
    expect(late.body.executions).toEqual(made.late.flatMap((r) => r.body.fills));
    const early = await buyer.get(`/v1/executions?endTime=${made.splitTs}`);
    expect(early.body.executions).toEqual(made.early.flatMap((r) => r.body.fills));
    const first = made.early[0].body.fills[0];
    const exact = await buyer.get(`/v1/executions?startTime=${first.ts}&endTime=${first.ts + 1}`);
    expect(exact.body.executions).toContainEqual(first);
    const both = await buyer.get(`/v1/executions?sku=AUD-A&startTime=${made.splitTs}&limit=10`);
    expect(both.body.executions).toEqual(made.late[1].body.fills);
  });

  it("limits the answer, and pages on with afterSeq = nextAfterSeq until it is null", async () => {
    const res = await buyer.get("/v1/executions?limit=2");
    expect(res.body.executions.map((e: Json) => e.execId)).toEqual([1, 2]);
    expect(res.body.nextAfterSeq).toBe(res.body.executions[1].seq);
    const all = (await buyer.get("/v1/executions")).body.executions;
    const paged: Json[] = [];
    for (let after = 0, pages = 0; pages < 10; pages++) {
      const page = (await buyer.get(`/v1/executions?sku=AUD-A&limit=2&afterSeq=${after}`)).body;
      paged.push(...page.executions);
      if (page.nextAfterSeq === null) break;
      after = page.nextAfterSeq;
    }
    expect(paged).toEqual(all.filter((e: Json) => e.sku === "AUD-A"));
  });
});

describe("GET /v1/audit", () => {
  it("returns the log's envelopes in seq order with the hash chain", async () => {
    const res = await node.admin.get("/v1/audit?limit=10000");
    expect(res.status).toBe(200);
    const all = res.body.events as EventEnvelope[];
    expect(all.map((e) => e.seq)).toEqual(Array.from({ length: node.services.writer.lastSeq }, (_, i) => i + 1));
    for (let i = 1; i < all.length; i++) expect(all[i]!.prevHash).toBe(all[i - 1]!.hash);
    expect(all).toEqual(node.eventsAfter(0));
    expect(res.body.nextAfterSeq).toBe(node.services.writer.lastSeq);
  });

  it("filters by sku and by acting account", async () => {
    const bySku = (await node.admin.get("/v1/audit?sku=AUD-B")).body.events as EventEnvelope[];
    expect(bySku.length).toBeGreaterThan(0);
    for (const e of bySku) expect((e.payload as { sku?: string }).sku).toBe("AUD-B");
    expect(bySku.map((e) => e.type)).toEqual(
      expect.arrayContaining(["product.added", "order.accepted", "order.rested", "execution"]),
    );

    const rejected = await seller.post("/v1/transact", { sku: "NOPE", side: "inflow", price: 1, quantity: 1 });
    const bySeller = (await reader.get("/v1/audit?accountId=seller")).body.events as EventEnvelope[];
    expect(bySeller.every((e) => e.actor === "seller")).toBe(true);
    expect(bySeller.at(-1)).toMatchObject({ seq: rejected.body.seq, type: "command.rejected" });
    expect(bySeller.filter((e) => e.type === "order.accepted")).toHaveLength(2);
    const byBuyerOnA = (await reader.get("/v1/audit?accountId=buyer&sku=AUD-A")).body.events as EventEnvelope[];
    expect(byBuyerOnA.filter((e) => e.type === "execution")).toHaveLength(3);
  });

  it("finds under a sku the holds on it and the commands refused on it, through the index and beyond it", async () => {
    await node.product("AUD-C");
    await seller.post("/v1/transact", { sku: "AUD-C", side: "inflow", price: 10, quantity: 5 });
    const hold = await buyer.post("/v1/holds", { lines: [{ sku: "aud-c", quantity: 1 }] });
    expect(hold.status).toBe(201);
    const poor = await node.account("poor");
    const refused = await poor.post("/v1/transact", { sku: "AUD-C", side: "outflow", price: 10, quantity: 1 });
    expect(refused.body.type).toBe("https://stockroom.dev/problems/insufficient-funds");
    const refusedHold = await poor.post("/v1/holds", { lines: [{ sku: "AUD-C", quantity: 1 }] });
    expect(refusedHold.status).toBe(422);

    const trail = async () => (await node.admin.get("/v1/audit?sku=AUD-C")).body.events as EventEnvelope[];
    const scanned = await trail();
    expect(scanned.map((e) => [e.type, e.actor])).toEqual([
      ["product.added", "system"],
      ["order.accepted", "seller"],
      ["order.rested", "seller"],
      ["hold.placed", "buyer"],
      ["command.rejected", "poor"],
      ["command.rejected", "poor"],
    ]);
    node.services.log.catchUpIndex();
    expect(node.services.log.indexedUpTo()).toBe(node.services.writer.lastSeq);
    expect(await trail()).toEqual(scanned);
  });

  it("filters by time", async () => {
    const late = (await node.admin.get(`/v1/audit?startTime=${made.splitTs}&accountId=buyer`)).body
      .events as EventEnvelope[];
    expect(late[0]!.seq).toBe(made.late[0].body.seq);
    for (const e of late) expect(e.ts).toBeGreaterThanOrEqual(made.splitTs);
    const early = (await node.admin.get(`/v1/audit?endTime=${made.splitTs}`)).body.events as EventEnvelope[];
    expect(early.at(-1)!.seq).toBeLessThan(made.late[0].body.seq);
    for (const e of early) expect(e.ts).toBeLessThan(made.splitTs);
  });

  it("pages with afterSeq and limit until nextAfterSeq is null", async () => {
    const all = (await node.admin.get("/v1/audit?sku=AUD-A")).body.events as EventEnvelope[];
    const paged: EventEnvelope[] = [];
    let after = 0;
    let pages = 0;
    for (;;) {
      const page = await node.admin.get(`/v1/audit?sku=AUD-A&limit=3&afterSeq=${after}`);
      pages++;
      expect(page.body.events.length).toBeLessThanOrEqual(3);
      if (page.body.nextAfterSeq === null) {
        expect(page.body.events).toEqual([]);
        break;
      }
      expect(page.body.nextAfterSeq).toBe(page.body.events.at(-1).seq);
      paged.push(...page.body.events);
      after = page.body.nextAfterSeq;
    }
    expect(paged).toEqual(all);
    // Full and partial pages, then one empty page that ends the walk.
    expect(pages).toBe(Math.ceil(all.length / 3) + 1);
  });

  it("is for auditors only", async () => {
    await expectRefused(node, () => buyer.get("/v1/audit"), 403, "forbidden");
  });
});
