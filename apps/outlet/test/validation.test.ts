import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, expectRefused, type Res, startNode, type TestNode } from "./harness.ts";

const ORDER = { sku: "VAL-1", side: "outflow", price: 100, quantity: 5 };

let node: TestNode;
let buyer: Client;
let restingId: number;
beforeAll(async () => {
  node = await startNode();
  await node.product("VAL-1");
  buyer = await node.account("buyer", { deposit: 10_000_000 });
  const seller = await node.account("seller");
  restingId = (await seller.post("/v1/transact", { sku: "VAL-1", side: "inflow", price: 500, quantity: 10 })).body
    .orderId;
  expect(restingId).toBeGreaterThan(0);
});
afterAll(() => node.close());

/** A 400 validation-error naming the offending field. */
async function invalid(send: () => Promise<Res>, path: string): Promise<Res> {
  const res = await expectRefused(node, send, 400, "validation-error");
  expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
  for (const e of res.body.errors) expect(typeof e.message).toBe("string");
  return res;
}

describe("malformed bodies", () => {
  it("refuses JSON that does not parse (400 malformed-request)", async () => {
    for (const text of ["{not json", '{"sku":"VAL-1",', "", "nul"]) {
      const res = await expectRefused(
        node,
        () => buyer.request("POST", "/v1/transact", { body: text, headers: { "content-type": "application/json" } }),
        400,
        "malformed-request",
      );
      expect(res.body.title).toMatch(/JSON/i);
    }
  });

  it("refuses a JSON body that is not an object", async () => {
    for (const body of ["[]", "null", "42", '"order"']) {
      await expectRefused(
        node,
        () => buyer.request("POST", "/v1/transact", { body, headers: { "content-type": "application/json" } }),
        400,
        "validation-error",
      );
    }
  });

  it("refuses a body sent as another content type (415 unsupported-media-type)", async () => {
    for (const type of ["text/plain", "application/x-www-form-urlencoded"]) {
      const res = await expectRefused(
        node,
        () => buyer.request("POST", "/v1/transact", { body: JSON.stringify(ORDER), headers: { "content-type": type } }),
        415,
        "unsupported-media-type",
      );
      expect(res.body.title).toBe("Unsupported Media Type");
    }
  });

  it("treats a missing body as an empty object and names every missing field", async () => {
    const res = await invalid(() => buyer.request("POST", "/v1/transact"), "sku");
    expect(res.body.errors.map((e: { path: string }) => e.path)).toEqual(["sku", "side", "price", "quantity"]);
  });
});

describe("wrong types and missing fields", () => {
  it("refuses a string where a number belongs", async () => {
    await invalid(() => buyer.post("/v1/transact", { ...ORDER, price: "100" }), "price");
    await invalid(() => buyer.post("/v1/transact", { ...ORDER, quantity: "5" }), "quantity");
    await invalid(() => buyer.post("/v1/transact", { ...ORDER, sku: 42 }), "sku");
    await invalid(() => buyer.post("/v1/transact", { ...ORDER, price: true }), "price");
    await invalid(() => buyer.post("/v1/transact", { ...ORDER, quantity: null }), "quantity");
  });

  it("refuses unknown enum values", async () => {
    await invalid(() => buyer.post("/v1/transact", { ...ORDER, side: "sideways" }), "side");
    await invalid(() => buyer.post("/v1/transact", { ...ORDER, timeInForce: "GTD" }), "timeInForce");
    await invalid(() => buyer.post("/v1/transact", { ...ORDER, reason: "theft" }), "reason");
  });

  it("refuses missing required fields", async () => {
    for (const field of ["sku", "side", "price", "quantity"] as const) {
      const { [field]: _, ...rest } = ORDER;
      await invalid(() => buyer.post("/v1/transact", rest), field);
    }
  });

  it("refuses skus outside the allowed alphabet or length", async () => {
    await invalid(() => buyer.post("/v1/transact", { ...ORDER, sku: "bad sku!" }), "sku");
    await invalid(() => buyer.post("/v1/transact", { ...ORDER, sku: "-LEADING" }), "sku");
    await invalid(() => buyer.post("/v1/transact", { ...ORDER, sku: "A".repeat(65) }), "sku");
    await invalid(() => buyer.post("/v1/transact", { ...ORDER, sku: "" }), "sku");
  });
});

describe("numbers out of range", () => {
  const bad: [string, unknown][] = [
    ["negative", -5],
    ["zero", 0],
    ["fractional", 1.5],
    ["huge", 1_000_000_001],
    ["beyond 2^53", 2 ** 60],
    ["exponent", 1e300],
  ];

  for (const [what, value] of bad) {
    it(`refuses a ${what} quantity and a ${what} price`, async () => {
      await invalid(() => buyer.post("/v1/transact", { ...ORDER, quantity: value }), "quantity");
      await invalid(() => buyer.post("/v1/transact", { ...ORDER, price: value }), "price");
    });
  }

  it("refuses bad quantities in reduce, replace and holds", async () => {
    for (const [, value] of bad) {
      await invalid(() => buyer.patch(`/v1/orders/${restingId}`, { reduceBy: value }), "reduceBy");
      await invalid(() => buyer.post(`/v1/orders/${restingId}/replace`, { price: value }), "price");
      await invalid(() => buyer.post(`/v1/orders/${restingId}/replace`, { quantity: value }), "quantity");
      await invalid(() => buyer.post("/v1/holds", { lines: [{ sku: "VAL-1", quantity: value }] }), "lines.0.quantity");
      await invalid(
        () => buyer.post("/v1/holds", { lines: [{ sku: "VAL-1", quantity: 1, limitPrice: value }] }),
        "lines.0.limitPrice",
      );
    }
  });

  it("refuses bad wallet amounts", async () => {
    for (const amount of [-1, 0, 0.5, 2 ** 53, "10"]) {
      await invalid(() => node.admin.post("/v1/accounts/buyer/deposit", { amount }), "amount");
      await invalid(() => node.admin.post("/v1/accounts/buyer/withdraw", { amount }), "amount");
    }
  });

  it("refuses a replace that names neither a price nor a quantity", async () => {
    const res = await expectRefused(
      node,
      () => buyer.post(`/v1/orders/${restingId}/replace`, {}),
      400,
      "validation-error",
    );
    expect(res.body.errors[0].message).toMatch(/price or a quantity/);
  });
});

describe("paths and queries", () => {
  it("refuses order ids that are not positive integers", async () => {
    for (const id of ["abc", "0", "-1", "1.5"]) {
      await invalid(() => buyer.delete(`/v1/orders/${id}`), "id");
      await invalid(() => buyer.patch(`/v1/orders/${id}`, { reduceBy: 1 }), "id");
      await invalid(() => buyer.get(`/v1/orders/${id}`), "id");
    }
  });

  it("refuses bad query parameters", async () => {
    await invalid(() => buyer.get("/v1/executions?startTime=yesterday"), "startTime");
    await invalid(() => buyer.get("/v1/executions?limit=0"), "limit");
    await invalid(() => buyer.get("/v1/stock?asOfSeq=-1"), "asOfSeq");
    await invalid(() => buyer.get("/v1/stock?asOfTime=1.5"), "asOfTime");
    await invalid(() => buyer.get("/v1/stock?sku=ok,bad%20sku"), "sku.1");
    await invalid(() => buyer.get("/v1/marketdata/orderBook"), "sku");
    await invalid(() => buyer.get("/v1/marketdata/snapshot?sku=VAL-1&resolution=2m"), "resolution");
    await invalid(() => node.admin.get("/v1/audit?limit=10001"), "limit");
    await invalid(() => buyer.get("/v1/stream?skus="), "skus.0");
  });

  it("refuses bad holds", async () => {
    await invalid(() => buyer.post("/v1/holds", { lines: [] }), "lines");
    await invalid(() => buyer.post("/v1/holds", {}), "lines");
    await invalid(() => buyer.post("/v1/holds", { lines: [{ sku: "VAL-1", quantity: 1 }], ttlMs: 0 }), "ttlMs");
    await invalid(
      () => buyer.post("/v1/holds", { lines: [{ sku: "VAL-1", quantity: 1 }], ttlMs: 8 * 24 * 3_600_000 }),
      "ttlMs",
    );
    await invalid(
      () => buyer.post("/v1/holds", { lines: [{ sku: "VAL-1", quantity: 1 }], holdId: "no spaces" }),
      "holdId",
    );
    await invalid(() => buyer.post("/v1/holds/bad%20id/confirm"), "id");
  });

  it("refuses bad catalog and account bodies", async () => {
    await invalid(() => node.admin.post("/v1/products", { sku: "P-1", brand: "b" }), "name");
    await invalid(() => node.admin.post("/v1/products", { sku: "P-1", name: "n", brand: "" }), "brand");
    await invalid(
      () => node.admin.post("/v1/products", { sku: "P-1", name: "n", brand: "b", attributes: { a: [1] } }),
      "attributes.a",
    );
    await invalid(() => node.admin.post("/v1/accounts", { accountId: "new", role: "king" }), "role");
    await invalid(() => node.admin.post("/v1/accounts", { accountId: "has space", role: "kiosk" }), "accountId");
    await invalid(() => node.admin.post("/v1/accounts/buyer/kyc", { kyc: "maybe" }), "kyc");
  });

  it("refuses an amount that overflows 2^53 in the engine (422 amount-too-large, a business rejection)", async () => {
    // Each field is in range; their product is not. This is the engine's call, recorded as a rejection.
    const seq = node.services.writer.lastSeq;
    const res = await buyer.post("/v1/transact", { ...ORDER, price: 1_000_000_000, quantity: 1_000_000_000 });
    expect(res.status).toBe(422);
    expect(res.body.type).toBe("https://stockroom.dev/problems/amount-too-large");
    expect(node.eventsAfter(seq).map((e) => e.payload.type)).toEqual(["command.rejected"]);
  });
});
