import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, expectRefused, startNode, type TestNode } from "./harness.ts";

const ORDER = { sku: "GATE-1", side: "inflow", price: 100, quantity: 5 };

let node: TestNode;
let kiosk: Client;
let colleague: Client;
let service: Client;
let reader: Client;
beforeAll(async () => {
  node = await startNode();
  await node.product("GATE-1");
  kiosk = await node.account("kiosk-1", { role: "kiosk", deposit: 1_000_000 });
  colleague = await node.account("colleague-1", { role: "colleague", deposit: 1_000_000 });
  service = await node.account("service-1", { role: "service", deposit: 1_000_000 });
  reader = await node.account("reader-1", { role: "hq-reader", deposit: 1_000_000 });
});
afterAll(() => node.close());

describe("authentication", () => {
  it("refuses a request without a key (401 unauthorized, WWW-Authenticate: Bearer)", async () => {
    const res = await expectRefused(node, () => node.anonymous.post("/v1/transact", ORDER), 401, "unauthorized");
    expect(res.headers.get("www-authenticate")).toBe("Bearer");
    await expectRefused(node, () => node.anonymous.get("/v1/stock"), 401, "unauthorized");
  });

  it("refuses a non-bearer or empty authorization header", async () => {
    const basic = { authorization: `Basic ${Buffer.from("a:b").toString("base64")}` };
    await expectRefused(node, () => node.anonymous.post("/v1/transact", ORDER, basic), 401, "unauthorized");
    await expectRefused(
      node,
      () => node.anonymous.post("/v1/transact", ORDER, { authorization: "Bearer " }),
      401,
      "unauthorized",
    );
  });

  it("refuses a malformed key (401 invalid-key)", async () => {
    for (const key of ["not-a-key", "sr_123_abc", `sr_${"g".repeat(12)}_${"a".repeat(43)}`, `${kiosk.key}x`]) {
      const res = await expectRefused(node, () => node.client(key).post("/v1/transact", ORDER), 401, "invalid-key");
      expect(res.headers.get("www-authenticate")).toBe("Bearer");
    }
  });

  it("refuses a well-formed but unknown key, and a known key id with the wrong secret", async () => {
    const unknown = `sr_${randomBytes(6).toString("hex")}_${randomBytes(32).toString("base64url")}`;
    await expectRefused(node, () => node.client(unknown).post("/v1/transact", ORDER), 401, "invalid-key");
    const keyId = kiosk.key!.split("_")[1];
    const forged = `sr_${keyId}_${randomBytes(32).toString("base64url")}`;
    await expectRefused(node, () => node.client(forged).post("/v1/transact", ORDER), 401, "invalid-key");
  });

  it("refuses a revoked key while the account's other keys keep working", async () => {
    const { keyId, apiKey } = node.services.credentials.issue("kiosk-1");
    const revoked = node.client(apiKey);
    expect((await revoked.get("/v1/accounts/me")).status).toBe(200);
    const res = await node.admin.delete(`/v1/accounts/kiosk-1/keys/${keyId}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ keyId, revoked: true });
    await expectRefused(node, () => revoked.post("/v1/transact", ORDER), 401, "invalid-key");
    await expectRefused(node, () => revoked.get("/v1/accounts/me"), 401, "invalid-key");
    expect((await kiosk.get("/v1/accounts/me")).body.accountId).toBe("kiosk-1");
  });
});

describe("roles", () => {
  it("refuses an hq-reader placing an order, holding or writing the catalog (403 forbidden)", async () => {
    await expectRefused(node, () => reader.post("/v1/transact", ORDER), 403, "forbidden");
    await expectRefused(
      node,
      () => reader.post("/v1/holds", { lines: [{ sku: "GATE-1", quantity: 1 }] }),
      403,
      "forbidden",
    );
    await expectRefused(
      node,
      () => reader.post("/v1/products", { sku: "R-1", name: "r", brand: "b" }),
      403,
      "forbidden",
    );
    await expectRefused(node, () => reader.delete("/v1/orders/1"), 403, "forbidden");
    // Reads are open to it.
    expect((await reader.get("/v1/stock")).status).toBe(200);
    expect((await reader.get("/v1/audit?limit=1")).status).toBe(200);
  });

  it("refuses a kiosk creating, updating or removing products", async () => {
    const res = await expectRefused(
      node,
      () => kiosk.post("/v1/products", { sku: "K-1", name: "k", brand: "b" }),
      403,
      "forbidden",
    );
    expect(res.body.title).toMatch(/kiosk/);
    await expectRefused(node, () => kiosk.patch("/v1/products/GATE-1", { name: "x" }), 403, "forbidden");
    await expectRefused(node, () => kiosk.delete("/v1/products/GATE-1"), 403, "forbidden");
  });

  it("refuses non-admins managing accounts, reading the audit trail or batching as their role forbids", async () => {
    await expectRefused(node, () => kiosk.get("/v1/audit"), 403, "forbidden");
    await expectRefused(node, () => service.get("/v1/audit"), 403, "forbidden");
    await expectRefused(
      node,
      () => colleague.post("/v1/accounts", { accountId: "x", role: "kiosk" }),
      403,
      "forbidden",
    );
    await expectRefused(node, () => kiosk.post("/v1/accounts/kiosk-1/deposit", { amount: 10 }), 403, "forbidden");
    await expectRefused(node, () => service.post("/v1/accounts/service-1/withdraw", { amount: 10 }), 403, "forbidden");
    await expectRefused(node, () => kiosk.post("/v1/accounts/kiosk-1/kyc", { kyc: "verified" }), 403, "forbidden");
    await expectRefused(node, () => kiosk.post("/v1/accounts/kiosk-1/keys"), 403, "forbidden");
    await expectRefused(node, () => colleague.post("/v1/batch", { commands: [{ type: "tick" }] }), 403, "forbidden");
    await expectRefused(node, () => kiosk.get("/v1/accounts/admin"), 403, "forbidden");
  });

  it("lets each role do what it is granted", async () => {
    expect((await colleague.post("/v1/products", { sku: "COL-1", name: "c", brand: "b" })).status).toBe(201);
    expect((await colleague.get("/v1/audit?limit=1")).status).toBe(200);
    expect((await kiosk.post("/v1/transact", ORDER)).status).toBe(201);
    expect((await service.post("/v1/transact", { ...ORDER, side: "outflow", price: 1 })).status).toBe(201);
    expect(
      (await service.post("/v1/batch", { commands: [{ type: "order.place", accountId: "service-1", ...ORDER }] }))
        .status,
    ).toBe(200);
  });
});

describe("routing", () => {
  it("answers an unknown /v1 route with 404 not-found once authenticated", async () => {
    await expectRefused(node, () => kiosk.get("/v1/nothing-here"), 404, "not-found");
    await expectRefused(node, () => node.anonymous.get("/v1/nothing-here"), 401, "unauthorized");
  });
});

describe("body size", () => {
  let small: TestNode;
  beforeAll(async () => {
    small = await startNode({ bodyLimitBytes: 1_024 });
    await small.product("BIG-1");
  });
  afterAll(() => small.close());

  it("refuses a body over bodyLimitBytes with 413 body-too-large", async () => {
    const body = { sku: "BIG-1", side: "inflow", price: 1, quantity: 1, reference: "r", padding: "x".repeat(2_000) };
    const res = await expectRefused(small, () => small.admin.post("/v1/transact", body), 413, "body-too-large");
    expect(res.body.title).toMatch(/1024 bytes/);
    const product = { sku: "BIG-2", name: "n".repeat(200), brand: "b", attributes: { blob: "y".repeat(1_500) } };
    await expectRefused(small, () => small.admin.post("/v1/products", product), 413, "body-too-large");
  });

  it("refuses an oversized chunked body sent without Content-Length", async () => {
    const chunk = new TextEncoder().encode(`{"sku":"BIG-1","name":"${"z".repeat(3_000)}","brand":"b"}`);
    const seq = small.services.writer.lastSeq;
    const digest = small.services.engine.digest();
    const res = await fetch(`${small.url}/v1/products`, {
      method: "POST",
      headers: { authorization: `Bearer ${small.admin.key}`, "content-type": "application/json" },
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(chunk.slice(0, 1_000));
          controller.enqueue(chunk.slice(1_000));
          controller.close();
        },
      }),
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(((await res.json()) as { type: string }).type).toBe("https://stockroom.dev/problems/body-too-large");
    expect(small.services.writer.lastSeq).toBe(seq);
    expect(small.services.engine.digest()).toBe(digest);
  });

  it("accepts a body under the limit", async () => {
    const res = await small.admin.post("/v1/transact", { sku: "BIG-1", side: "inflow", price: 1, quantity: 1 });
    expect(res.status).toBe(201);
  });
});

describe("rate limiting", () => {
  let limited: TestNode;
  beforeAll(async () => {
    // Three requests at once, then one every 100 s: the fourth request is refused whatever the timing.
    limited = await startNode({ rateLimitBurst: 3, rateLimitPerSecond: 0.01 });
    await limited.product("RATE-1");
  });
  afterAll(() => limited.close());

  it("answers 429 with Retry-After once an account's burst is spent, and sequences nothing", async () => {
    const kioskA = await limited.account("rate-a", { deposit: 1_000 });
    const kioskB = await limited.account("rate-b", { deposit: 1_000 });
    for (let i = 0; i < 3; i++) expect((await kioskA.get("/v1/accounts/me")).status).toBe(200);
    const res = await expectRefused(
      limited,
      () => kioskA.post("/v1/transact", { sku: "RATE-1", side: "inflow", price: 1, quantity: 1 }),
      429,
      "rate-limited",
    );
    const retryAfter = Number(res.headers.get("retry-after"));
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(100);
    await expectRefused(limited, () => kioskA.get("/v1/stock"), 429, "rate-limited");
    // Another account has its own bucket; health endpoints are not limited.
    expect((await kioskB.post("/v1/transact", { sku: "RATE-1", side: "inflow", price: 1, quantity: 1 })).status).toBe(
      201,
    );
    expect((await limited.anonymous.get("/healthz")).status).toBe(200);
  });

  it("answers 401 rather than 429 to requests without a valid key", async () => {
    await expectRefused(limited, () => limited.anonymous.get("/v1/stock"), 401, "unauthorized");
  });
});
