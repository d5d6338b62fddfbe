import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectProblem, expectRefused, expectRejected, type Json, startNode, type TestNode, until } from "./harness.ts";

let node: TestNode;
beforeAll(async () => {
  node = await startNode();
  await node.product("ACC-1");
});
afterAll(() => node.close());

const payloads = (res: { body: Json }) => res.body.events.map((e: { payload: unknown }) => e.payload);

describe("an account's life through the API", () => {
  it("creates, keys, verifies, funds and suspends an account", async () => {
    const created = await node.admin.post("/v1/accounts", { accountId: "alice", role: "kiosk", name: "Alice" });
    expect(created.status).toBe(201);
    expect(payloads(created)).toEqual([{ type: "account.created", accountId: "alice", role: "kiosk", name: "Alice" }]);
    expect(created.body.events[0]).toMatchObject({ actor: "admin", type: "account.created" });

    const issued = await node.admin.post("/v1/accounts/alice/keys");
    expect(issued.status).toBe(201);
    expect(issued.body).toEqual({
      keyId: expect.stringMatching(/^[0-9a-f]{12}$/),
      apiKey: expect.stringMatching(/^sr_[0-9a-f]{12}_/),
    });
    expect(issued.body.apiKey.startsWith(`sr_${issued.body.keyId}_`)).toBe(true);
    const alice = node.client(issued.body.apiKey);

    const me = await alice.get("/v1/accounts/me");
    expect(me.status).toBe(200);
    expect(me.body).toEqual({
      accountId: "alice",
      role: "kiosk",
      name: "Alice",
      kyc: "pending",
      balance: 0,
      reserved: 0,
      orders: [],
      holds: [],
    });

    // Pending KYC: may read, may not transact.
    await expectRejected(
      node,
      () => alice.post("/v1/transact", { sku: "ACC-1", side: "inflow", price: 10, quantity: 1 }),
      403,
      "account_not_verified",
    );

    const verified = await node.admin.post("/v1/accounts/alice/kyc", { kyc: "verified" });
    expect(verified.status).toBe(200);
    expect(payloads(verified)).toEqual([{ type: "account.kyc_changed", accountId: "alice", kyc: "verified" }]);

    const deposit = await node.admin.post("/v1/accounts/alice/deposit", { amount: 5_000 });
    expect(deposit.status).toBe(200);
    expect(payloads(deposit)).toEqual([{ type: "wallet.deposited", accountId: "alice", amount: 5_000 }]);
    const withdraw = await node.admin.post("/v1/accounts/alice/withdraw", { amount: 2_000 });
    expect(withdraw.status).toBe(200);
    expect(payloads(withdraw)).toEqual([{ type: "wallet.withdrawn", accountId: "alice", amount: 2_000 }]);

    const order = await alice.post("/v1/transact", { sku: "ACC-1", side: "outflow", price: 10, quantity: 100 });
    expect(order.status).toBe(201);
    const after = await alice.get("/v1/accounts/me");
    expect(after.body).toMatchObject({ kyc: "verified", balance: 3_000, reserved: 1_000 });
    expect(after.body.orders).toEqual([
      expect.objectContaining({ orderId: order.body.orderId, sku: "ACC-1", side: "outflow", remaining: 100 }),
    ]);

    // Funds under a reservation cannot be withdrawn.
    await expectRejected(
      node,
      () => node.admin.post("/v1/accounts/alice/withdraw", { amount: 2_001 }),
      422,
      "insufficient_funds",
    );
    expect((await node.admin.post("/v1/accounts/alice/withdraw", { amount: 2_000 })).status).toBe(200);

    const admin = await node.admin.get("/v1/accounts/alice");
    expect(admin.status).toBe(200);
    expect(admin.body).toMatchObject({ accountId: "alice", balance: 1_000, reserved: 1_000 });
    expect(admin.body.keys).toEqual([{ keyId: issued.body.keyId, createdAt: expect.any(Number), revokedAt: null }]);
    expect(admin.body.orders).toHaveLength(1);

    const suspended = await node.admin.post("/v1/accounts/alice/kyc", { kyc: "suspended" });
    expect(payloads(suspended)).toEqual([{ type: "account.kyc_changed", accountId: "alice", kyc: "suspended" }]);
    await expectRejected(
      node,
      () => alice.post("/v1/transact", { sku: "ACC-1", side: "inflow", price: 10, quantity: 1 }),
      403,
      "account_suspended",
    );
    // A suspended account still reads, and still cancels what it has resting.
    expect((await alice.get("/v1/accounts/me")).body.kyc).toBe("suspended");
    expect((await alice.delete(`/v1/orders/${order.body.orderId}`)).status).toBe(200);
  });

  it("lets an account read itself but not others; admins read anyone", async () => {
    const bob = await node.account("bob");
    const self = await bob.get("/v1/accounts/bob");
    expect(self.status).toBe(200);
    expect(self.body).toMatchObject({ accountId: "bob", role: "kiosk", kyc: "verified" });
    expect(self.body.keys).toHaveLength(1);
    await expectRefused(node, () => bob.get("/v1/accounts/admin"), 403, "forbidden");
    expect((await node.admin.get("/v1/accounts/bob")).body.accountId).toBe("bob");
    const missing = await node.admin.get("/v1/accounts/nobody");
    expectProblem(missing, 404, "unknown-account");
  });

  it("refuses a duplicate account and money moves on unknown accounts", async () => {
    await expectRejected(
      node,
      () => node.admin.post("/v1/accounts", { accountId: "bob", role: "admin" }),
      409,
      "account_exists",
    );
    await expectRejected(
      node,
      () => node.admin.post("/v1/accounts/ghost/deposit", { amount: 1 }),
      404,
      "unknown_account",
    );
    await expectRejected(
      node,
      () => node.admin.post("/v1/accounts/ghost/withdraw", { amount: 1 }),
      404,
      "unknown_account",
    );
    await expectRejected(
      node,
      () => node.admin.post("/v1/accounts/ghost/kyc", { kyc: "verified" }),
      404,
      "unknown_account",
    );
    await expectRefused(node, () => node.admin.post("/v1/accounts/ghost/keys"), 404, "unknown-account");
  });

  it("refuses a deposit that would overflow the wallet (422 amount-too-large)", async () => {
    await node.account("rich", { deposit: Number.MAX_SAFE_INTEGER - 10 });
    await expectRejected(
      node,
      () => node.admin.post("/v1/accounts/rich/deposit", { amount: 11 }),
      422,
      "amount_too_large",
    );
    expect((await node.admin.post("/v1/accounts/rich/deposit", { amount: 10 })).status).toBe(200);
  });

  it("issues several keys and revokes one: only that one stops working", async () => {
    await node.account("carol");
    const first = (await node.admin.post("/v1/accounts/carol/keys")).body;
    const second = (await node.admin.post("/v1/accounts/carol/keys")).body;
    expect(first.keyId).not.toBe(second.keyId);
    expect((await node.client(first.apiKey).get("/v1/accounts/me")).body.accountId).toBe("carol");

    const revoked = await node.admin.delete(`/v1/accounts/carol/keys/${first.keyId}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body).toEqual({ keyId: first.keyId, revoked: true });
    await expectRefused(node, () => node.client(first.apiKey).get("/v1/accounts/me"), 401, "invalid-key");
    expect((await node.client(second.apiKey).get("/v1/accounts/me")).status).toBe(200);

    const keys = (await node.admin.get("/v1/accounts/carol")).body.keys as {
      keyId: string;
      revokedAt: number | null;
    }[];
    expect(keys.find((k) => k.keyId === first.keyId)?.revokedAt).toEqual(expect.any(Number));
    expect(keys.find((k) => k.keyId === second.keyId)?.revokedAt).toBeNull();

    // Revoking again answers the same and keeps the first revocation time.
    const revokedAt = keys.find((k) => k.keyId === first.keyId)!.revokedAt;
    await until(() => Date.now() > revokedAt!, "the clock to move");
    const again = await node.admin.delete(`/v1/accounts/carol/keys/${first.keyId}`);
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ keyId: first.keyId, revoked: true });
    const after = (await node.admin.get("/v1/accounts/carol")).body.keys as {
      keyId: string;
      revokedAt: number | null;
    }[];
    expect(after.find((k) => k.keyId === first.keyId)?.revokedAt).toBe(revokedAt);

    // Another account's key, or a key that does not exist, is not found on this account.
    const bobKey = (await node.admin.get("/v1/accounts/bob")).body.keys[0].keyId;
    await expectRefused(node, () => node.admin.delete(`/v1/accounts/carol/keys/${bobKey}`), 404, "unknown-key");
    await expectRefused(node, () => node.admin.delete("/v1/accounts/carol/keys/000000000000"), 404, "unknown-key");
    await expectRefused(node, () => node.admin.delete("/v1/accounts/carol/keys/not-hex"), 400, "validation-error");
  });

  it("issues and revokes keys once per Idempotency-Key; the stored answer keeps the issued key sealed", async () => {
    await node.account("erin");
    const keysOf = async (id: string) =>
      (await node.admin.get(`/v1/accounts/${id}`)).body.keys as { keyId: string; revokedAt: number | null }[];
    const before = (await keysOf("erin")).length;
    const once = { "idempotency-key": "issue-erin-1" };
    const sent = await Promise.all([1, 2, 3].map(() => node.admin.post("/v1/accounts/erin/keys", undefined, once)));
    for (const res of sent) expect(res.status).toBe(201);
    const issued = sent[0]!.body as { keyId: string; apiKey: string };
    for (const res of sent) expect(res.body).toEqual(issued);
    expect(await keysOf("erin")).toHaveLength(before + 1);
    expect((await node.client(issued.apiKey).get("/v1/accounts/me")).body.accountId).toBe("erin");

    // At rest the answer holds the key's id, never its secret.
    const stored = node.services.log.db.$client
      .prepare<[string], { response: string }>("SELECT response FROM idempotency_keys WHERE key = ?")
      .get("issue-erin-1")!.response;
    const secret = issued.apiKey.slice(`sr_${issued.keyId}_`.length);
    expect(stored).toContain(issued.keyId);
    expect(stored).not.toContain(secret);

    await node.restart();
    const repeated = await node.admin.post("/v1/accounts/erin/keys", undefined, once);
    expect(repeated.status).toBe(201);
    expect(repeated.body).toEqual(issued);
    expect(await keysOf("erin")).toHaveLength(before + 1);

    // Another API key of the same admin cannot open it; the same Idempotency-Key elsewhere is refused.
    const otherAdmin = node.client((await node.admin.post("/v1/accounts/admin/keys")).body.apiKey);
    await expectRefused(
      node,
      () => otherAdmin.post("/v1/accounts/erin/keys", undefined, once),
      409,
      "idempotency-key-other-caller",
    );
    await expectRefused(
      node,
      () => node.admin.post("/v1/accounts/carol/keys", undefined, once),
      422,
      "idempotency-key-reused",
    );
    await expectRefused(
      node,
      () => node.admin.post("/v1/accounts/erin/keys", undefined, { "idempotency-key": "no spaces" }),
      400,
      "invalid-idempotency-key",
    );
    expect(await keysOf("erin")).toHaveLength(before + 1);

    const revoke = { "idempotency-key": "revoke-erin-1" };
    const revoked = await node.admin.delete(`/v1/accounts/erin/keys/${issued.keyId}`, revoke);
    expect(revoked.body).toEqual({ keyId: issued.keyId, revoked: true });
    const revokedAt = (await keysOf("erin")).find((k) => k.keyId === issued.keyId)!.revokedAt;
    expect(revokedAt).toEqual(expect.any(Number));
    expect((await node.admin.delete(`/v1/accounts/erin/keys/${issued.keyId}`, revoke)).body).toEqual(revoked.body);
    const another = (await keysOf("erin")).find((k) => k.keyId !== issued.keyId)!.keyId;
    await expectRefused(
      node,
      () => node.admin.delete(`/v1/accounts/erin/keys/${another}`, revoke),
      422,
      "idempotency-key-reused",
    );
    expect((await keysOf("erin")).find((k) => k.keyId === another)!.revokedAt).toBeNull();
  });

  it("survives a restart: accounts, wallets, keys and revocations come back from the database", async () => {
    const dave = await node.account("dave", { deposit: 77 });
    const spare = (await node.admin.post("/v1/accounts/dave/keys")).body;
    expect((await node.admin.delete(`/v1/accounts/dave/keys/${spare.keyId}`)).status).toBe(200);
    const digest = node.services.engine.digest();
    await node.restart();
    expect(node.services.engine.digest()).toBe(digest);
    expect((await dave.get("/v1/accounts/me")).body).toMatchObject({ accountId: "dave", balance: 77, kyc: "verified" });
    await expectRefused(node, () => node.client(spare.apiKey).get("/v1/accounts/me"), 401, "invalid-key");
  });
});
