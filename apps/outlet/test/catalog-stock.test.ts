import { join } from "node:path";
import { Command } from "@stockroom/contracts";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, expectRejected, type Json, startNode, type TestNode, until } from "./harness.ts";

let node: TestNode;
let colleague: Client;
let seller: Client;
let buyer: Client;
beforeAll(async () => {
  node = await startNode();
  colleague = await node.account("colleague", { role: "colleague" });
  seller = await node.account("seller");
  buyer = await node.account("buyer", { deposit: 1_000_000 });
});
afterAll(() => node.close());

const payloads = (res: { body: Json }) => res.body.events.map((e: { payload: unknown }) => e.payload);

describe("products", () => {
  it("adds a product (sku normalised) and reads it back with its stock", async () => {
    const res = await colleague.post("/v1/products", {
      sku: " tea-1 ",
      name: "Green tea",
      brand: "Leafy",
      attributes: { size: "100g", organic: true, cups: 40 },
    });
    expect(res.status).toBe(201);
    expect(res.body.events).toEqual([
      expect.objectContaining({
        outletId: "outlet-test",
        type: "product.added",
        actor: "colleague",
        seq: node.services.writer.lastSeq,
        payload: {
          type: "product.added",
          sku: "TEA-1",
          name: "Green tea",
          brand: "Leafy",
          attributes: { size: "100g", organic: true, cups: 40 },
        },
      }),
    ]);
    const got = await seller.get("/v1/products/tea-1");
    expect(got.status).toBe(200);
    expect(got.body).toEqual({
      sku: "TEA-1",
      name: "Green tea",
      brand: "Leafy",
      attributes: { size: "100g", organic: true, cups: 40 },
      listed: true,
      stock: { sku: "TEA-1", available: 0, held: 0, onHand: 0, demand: 0 },
    });
  });

  it("updates a product, answering the full merged product", async () => {
    await node.product("UPD-1", "Brandy", "Before");
    const res = await colleague.patch("/v1/products/UPD-1", { name: "After", attributes: { colour: "red" } });
    expect(res.status).toBe(200);
    expect(payloads(res)).toEqual([
      { type: "product.updated", sku: "UPD-1", name: "After", brand: "Brandy", attributes: { colour: "red" } },
    ]);
    expect((await seller.get("/v1/products/UPD-1")).body).toMatchObject({ name: "After", brand: "Brandy" });
  });

  it("searches sku, name and brand, case-insensitively, sorted by sku", async () => {
    await node.product("SRCH-B", "Orchard", "Crisp apple");
    await node.product("SRCH-A", "Orchard", "Pear");
    await node.product("OTHER-9", "Dairy", "Milk");
    const names = async (query: string) =>
      (await seller.get(`/v1/products${query}`)).body.products.map((p: { sku: string }) => p.sku);
    expect(await names("?q=orchard")).toEqual(["SRCH-A", "SRCH-B"]);
    expect(await names("?q=APPLE")).toEqual(["SRCH-B"]);
    expect(await names("?q=srch-a")).toEqual(["SRCH-A"]);
    expect(await names("?q=no-such-thing")).toEqual([]);
    expect(await names("?q=orchard&limit=1")).toEqual(["SRCH-A"]);
    const firstPage = (await seller.get("/v1/products?q=orchard&limit=1")).body;
    expect(firstPage.nextAfterSku).toBe("SRCH-A");
    expect(await names("?q=orchard&limit=1&afterSku=srch-a")).toEqual(["SRCH-B"]);
    expect((await seller.get("/v1/products?q=orchard&afterSku=SRCH-B")).body).toEqual({
      products: [],
      nextAfterSku: null,
    });
    const all = await names("");
    expect(all).toEqual([...all].sort());
    expect(all).toEqual(expect.arrayContaining(["OTHER-9", "SRCH-A", "SRCH-B", "TEA-1"]));
    const milk = (await seller.get("/v1/products?q=milk")).body.products;
    expect(milk).toEqual([
      {
        sku: "OTHER-9",
        name: "Milk",
        brand: "Dairy",
        attributes: {},
        listed: true,
        stock: { sku: "OTHER-9", available: 0, held: 0, onHand: 0, demand: 0 },
      },
    ]);
  });

  it("refuses a duplicate sku, updates of unknown skus and reads of unknown skus", async () => {
    await node.product("DUP-1");
    await expectRejected(
      node,
      () => colleague.post("/v1/products", { sku: "dup-1", name: "x", brand: "y" }),
      409,
      "sku_exists",
    );
    await expectRejected(node, () => colleague.patch("/v1/products/NOPE-1", { name: "x" }), 404, "unknown_sku");
    await expectRejected(node, () => colleague.delete("/v1/products/NOPE-1"), 404, "unknown_sku");
    const res = await seller.get("/v1/products/NOPE-1");
    expect(res.status).toBe(404);
    expect(res.body.type).toBe("https://stockroom.dev/problems/unknown-sku");
  });

  it("delists a product: its holds are released, its resting orders cancelled, then new orders refused", async () => {
    await node.product("DEL-1", "Gone");
    const lot = await seller.post("/v1/transact", { sku: "DEL-1", side: "inflow", price: 10, quantity: 10 });
    const demand = await buyer.post("/v1/transact", { sku: "DEL-1", side: "outflow", price: 5, quantity: 2 });
    const hold = await buyer.post("/v1/holds", { lines: [{ sku: "DEL-1", quantity: 3 }] });
    expect(hold.status).toBe(201);
    const res = await colleague.delete("/v1/products/DEL-1");
    expect(res.status).toBe(200);
    expect(payloads(res)).toEqual([
      { type: "hold.released", holdId: hold.body.holdId, reason: "delisted" },
      {
        type: "order.cancelled",
        orderId: lot.body.orderId,
        sku: "DEL-1",
        side: "inflow",
        price: 10,
        quantity: 10,
        reason: "delisted",
      },
      {
        type: "order.cancelled",
        orderId: demand.body.orderId,
        sku: "DEL-1",
        side: "outflow",
        price: 5,
        quantity: 2,
        reason: "delisted",
      },
      { type: "product.removed", sku: "DEL-1" },
    ]);
    expect(node.services.engine.account("buyer")!.reserved).toBe(0);
    const listed = (await seller.get("/v1/products?q=DEL-1")).body.products;
    expect(listed).toEqual([]);
    const removed = (await seller.get("/v1/products?q=DEL-1&includeRemoved=true")).body.products;
    expect(removed).toEqual([expect.objectContaining({ sku: "DEL-1", listed: false })]);
    expect((await seller.get("/v1/products/DEL-1")).body).toMatchObject({ listed: false });

    await expectRejected(
      node,
      () => buyer.post("/v1/transact", { sku: "DEL-1", side: "inflow", price: 1, quantity: 1 }),
      409,
      "sku_delisted",
    );
    await expectRejected(
      node,
      () => buyer.post("/v1/holds", { lines: [{ sku: "DEL-1", quantity: 1 }] }),
      409,
      "sku_delisted",
    );
    await expectRejected(node, () => colleague.patch("/v1/products/DEL-1", { name: "x" }), 409, "sku_delisted");
    await expectRejected(node, () => colleague.delete("/v1/products/DEL-1"), 409, "sku_delisted");

    // Re-listing it brings it back, with an empty book.
    const again = await colleague.post("/v1/products", { sku: "DEL-1", name: "Back", brand: "Gone" });
    expect(again.status).toBe(201);
    expect((await seller.get("/v1/products/DEL-1")).body).toMatchObject({
      listed: true,
      name: "Back",
      stock: { onHand: 0 },
    });
  });
});

describe("GET /v1/stock", () => {
  it("answers available, held, on hand and demand per sku at the current seq", async () => {
    await node.product("STK-1");
    await node.product("STK-2");
    await seller.post("/v1/transact", { sku: "STK-1", side: "inflow", price: 10, quantity: 8 });
    await buyer.post("/v1/holds", { lines: [{ sku: "STK-1", quantity: 3 }] });
    await buyer.post("/v1/transact", { sku: "STK-2", side: "outflow", price: 10, quantity: 4 });
    const res = await seller.get("/v1/stock?sku=stk-1,STK-2,NOPE");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      seq: node.services.writer.lastSeq,
      stock: [
        { sku: "STK-1", available: 5, held: 3, onHand: 8, demand: 0 },
        { sku: "STK-2", available: 0, held: 0, onHand: 0, demand: 4 },
      ],
    });
    const all = (await seller.get("/v1/stock")).body.stock.map((s: { sku: string }) => s.sku);
    expect(all).toEqual(expect.arrayContaining(["STK-1", "STK-2", "TEA-1", "DEL-1"]));
  });

  it("answers stock as of a seq and as of a time, rebuilt from the log", async () => {
    await node.product("ASOF-1");
    const first = await seller.post("/v1/transact", { sku: "ASOF-1", side: "inflow", price: 10, quantity: 10 });
    const firstSeq = node.services.writer.lastSeq;
    const firstTs = first.body.createdAt;
    // The next receipt must carry a later timestamp for asOfTime to tell them apart.
    await until(() => Date.now() > firstTs, "the clock to move");
    const second = await seller.post("/v1/transact", { sku: "ASOF-1", side: "inflow", price: 10, quantity: 5 });
    expect(second.body.createdAt).toBeGreaterThan(firstTs);
    await buyer.post("/v1/transact", { sku: "ASOF-1", side: "outflow", price: 10, quantity: 2 });
    const digest = node.services.engine.digest();

    const now = await seller.get("/v1/stock?sku=ASOF-1");
    expect(now.body.stock).toEqual([{ sku: "ASOF-1", available: 13, held: 0, onHand: 13, demand: 0 }]);

    const bySeq = await seller.get(`/v1/stock?sku=ASOF-1&asOfSeq=${firstSeq}`);
    expect(bySeq.body).toEqual({
      seq: firstSeq,
      stock: [{ sku: "ASOF-1", available: 10, held: 0, onHand: 10, demand: 0 }],
    });
    const beforeIt = await seller.get(`/v1/stock?sku=ASOF-1&asOfSeq=${first.body.seq - 1}`);
    expect(beforeIt.body).toEqual({
      seq: first.body.seq - 1,
      stock: [{ sku: "ASOF-1", available: 0, held: 0, onHand: 0, demand: 0 }],
    });

    const byTime = await seller.get(`/v1/stock?sku=ASOF-1&asOfTime=${firstTs}`);
    expect(byTime.body.seq).toBe(firstSeq);
    expect(byTime.body.stock).toEqual([{ sku: "ASOF-1", available: 10, held: 0, onHand: 10, demand: 0 }]);

    // Both given: the earlier wins. Beyond the head: the head.
    const both = await seller.get(`/v1/stock?sku=ASOF-1&asOfTime=${Date.now()}&asOfSeq=${firstSeq}`);
    expect(both.body.seq).toBe(firstSeq);
    const future = await seller.get(`/v1/stock?sku=ASOF-1&asOfSeq=${node.services.writer.lastSeq + 1_000}`);
    expect(future.body).toEqual({ seq: node.services.writer.lastSeq, stock: now.body.stock });
    // Before the product existed there is no stock line for it; at seq 0, none at all.
    expect((await seller.get(`/v1/stock?sku=ASOF-1&asOfTime=0`)).body).toEqual({ seq: 0, stock: [] });
    expect((await seller.get("/v1/stock?asOfSeq=0")).body).toEqual({ seq: 0, stock: [] });
    // Reading the past changes nothing.
    expect(node.services.engine.digest()).toBe(digest);
  });

  it("matches the product listing's stock", async () => {
    const products = (await seller.get("/v1/products")).body.products as { sku: string; stock: unknown }[];
    const stock = (await seller.get("/v1/stock")).body.stock as { sku: string }[];
    for (const p of products) expect(stock.find((s) => s.sku === p.sku)).toEqual(p.stock);
  });
});

describe("stock as of the past, rebuilt on its own thread", () => {
  let quiet: TestNode;
  let receiver: Client;
  afterAll(() => quiet?.close());

  it("acknowledges a kiosk's order while it replays a long tail, and answers the past exactly", async () => {
    // No snapshot: the question replays every event.
    quiet = await startNode({ snapshotEveryEvents: 10_000_000 });
    receiver = await quiet.account("receiver");
    const kiosk = await quiet.account("kiosk", { deposit: 1_000_000 });
    await quiet.product("TAIL-1");
    const receipt = Command.parse({
      type: "order.place",
      accountId: "receiver",
      sku: "TAIL-1",
      side: "inflow",
      price: 10,
      quantity: 1,
    });
    await quiet.services.writer.submitAll(Array(30_000).fill(receipt), "receiver");
    const seq = quiet.services.writer.lastSeq;

    const finished: string[] = [];
    const past = receiver.get(`/v1/stock?sku=TAIL-1&asOfSeq=${seq}`).then((res) => {
      finished.push("as-of");
      return res;
    });
    const order = kiosk.post("/v1/transact", { sku: "TAIL-1", side: "outflow", price: 10, quantity: 1 }).then((res) => {
      finished.push("order");
      return res;
    });
    const [pastRes, orderRes] = await Promise.all([past, order]);
    expect(orderRes.status).toBe(201);
    expect(orderRes.body).toMatchObject({ status: "filled", filledQuantity: 1 });
    expect(pastRes.status).toBe(200);
    expect(pastRes.body).toEqual({
      seq,
      stock: [{ sku: "TAIL-1", available: 30_000, held: 0, onHand: 30_000, demand: 0 }],
    });
    // On the event loop the replay would hold the order back until it was done.
    expect(finished).toEqual(["order", "as-of"]);
  });

  it("fails the question, not the node, when the past it replays was altered", async () => {
    // Someone edits an early receipt's stored payload behind the node's back: its hash no longer matches.
    const sqlite = new Database(join(quiet.config.dataDir, "outlet.db"));
    const group = sqlite
      .prepare("SELECT first_seq FROM event_groups WHERE payloads LIKE '%order.accepted%' ORDER BY first_seq LIMIT 1")
      .pluck()
      .get() as number;
    const altered = sqlite
      .prepare(
        "UPDATE event_groups SET payloads = replace(payloads, '\"quantity\":1', '\"quantity\":9') WHERE first_seq = ?",
      )
      .run(group);
    expect(altered.changes).toBe(1);
    sqlite.close();
    const past = await receiver.get(`/v1/stock?sku=TAIL-1&asOfSeq=${quiet.services.writer.lastSeq}`);
    expect(past.status).toBe(500);
    expect(past.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    const now = await receiver.get("/v1/stock?sku=TAIL-1");
    expect(now.status).toBe(200);
    expect(now.body.stock[0].onHand).toBe(29_999);
  });
});
