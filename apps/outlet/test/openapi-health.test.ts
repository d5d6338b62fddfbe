import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, startNode, type TestNode } from "./harness.ts";

let node: TestNode;
let seller: Client;
beforeAll(async () => {
  node = await startNode();
  seller = await node.account("seller");
  await node.product("HEALTH-1");
});
afterAll(() => node.close());

describe("health, metrics and the OpenAPI document", () => {
  it("answers /healthz without a key", async () => {
    const res = await node.anonymous.get("/healthz");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: "ok" });
  });

  it("answers /readyz with the outlet id, the last seq and no replication when NATS is not configured", async () => {
    const res = await node.anonymous.get("/readyz");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      status: "ready",
      outletId: "outlet-test",
      seq: node.services.writer.lastSeq,
      replication: null,
    });
    expect(res.body.seq).toBeGreaterThan(0);
  });

  it("exposes Prometheus metrics, counting commands and HTTP requests", async () => {
    const placed = await seller.post("/v1/transact", { sku: "HEALTH-1", side: "inflow", price: 10, quantity: 1 });
    expect(placed.status).toBe(201);
    const res = await node.anonymous.get("/metrics");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(res.text).toContain("# TYPE stockroom_commands_total counter");
    const commands = Number(/^stockroom_commands_total (\d+)$/m.exec(res.text)?.[1]);
    // admin create + kyc, seller create + kyc, product.add, the order: at least 6 commands sequenced.
    expect(commands).toBeGreaterThanOrEqual(6);
    expect(res.text).toMatch(/^stockroom_last_seq \d+$/m);
    expect(res.text).toMatch(/stockroom_http_requests_total\{method="POST",route="\/v1\/transact",status="201"\} 1/);
  });

  it("serves a valid-looking OpenAPI 3.1 document listing every /v1 route", async () => {
    const res = await node.anonymous.get("/openapi.json");
    expect(res.status).toBe(200);
    const doc = res.body;
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
    expect(doc.components.securitySchemes.bearer).toEqual({ type: "http", scheme: "bearer" });
    const operations = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(operations).toEqual(
      expect.arrayContaining([
        "POST /v1/transact",
        "GET /v1/orders/{id}",
        "DELETE /v1/orders/{id}",
        "PATCH /v1/orders/{id}",
        "POST /v1/orders/{id}/replace",
        "GET /v1/executions",
        "GET /v1/marketdata/orderBook",
        "GET /v1/marketdata/snapshot",
        "GET /v1/marketdata/trades",
        "POST /v1/holds",
        "GET /v1/holds",
        "GET /v1/holds/{id}",
        "POST /v1/holds/{id}/confirm",
        "POST /v1/holds/{id}/cancel",
        "POST /v1/holds/{id}/extend",
        "GET /v1/products",
        "POST /v1/products",
        "GET /v1/products/{sku}",
        "PATCH /v1/products/{sku}",
        "DELETE /v1/products/{sku}",
        "GET /v1/stock",
        "GET /v1/audit",
        "POST /v1/accounts",
        "GET /v1/accounts/me",
        "GET /v1/accounts/{id}",
        "POST /v1/accounts/{id}/kyc",
        "POST /v1/accounts/{id}/deposit",
        "POST /v1/accounts/{id}/withdraw",
        "POST /v1/accounts/{id}/keys",
        "DELETE /v1/accounts/{id}/keys/{keyId}",
        "POST /v1/batch",
        "GET /v1/stream",
      ]),
    );
    for (const op of operations) expect(op).toMatch(/^(GET|POST|PATCH|DELETE) \/v1\//);
    const transact = doc.paths["/v1/transact"].post;
    const schema = transact.requestBody.content["application/json"].schema;
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(["sku", "side", "price", "quantity", "timeInForce"]),
    );
    expect(schema.required).toEqual(expect.arrayContaining(["sku", "side", "price", "quantity"]));
    // The sku's pattern is what a client may send: any case, trimmed.
    const skuPattern = new RegExp(schema.properties.sku.pattern);
    for (const sku of ["ABC-1", "abc-1", " Abc.1 "]) expect(skuPattern.test(sku)).toBe(true);
    for (const sku of ["", "-abc", "a b", "x".repeat(65)]) expect(skuPattern.test(sku)).toBe(false);
    expect(Object.keys(transact.responses)).toEqual(expect.arrayContaining(["201", "400", "401", "403", "422", "429"]));
    expect(transact.responses["400"].content).toHaveProperty(["application/problem+json"]);
  });

  it("answers unknown routes with a problem", async () => {
    const res = await node.anonymous.get("/nowhere");
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ type: "https://stockroom.dev/problems/not-found", status: 404 });
  });
});
