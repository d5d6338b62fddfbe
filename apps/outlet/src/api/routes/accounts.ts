import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { AccountId, Amount, CreateAccount, KycState } from "@stockroom/contracts";
import { commitCommand } from "../commit.ts";
import type { GatewayEnv, OutletServices } from "../context.ts";
import { allows } from "../permissions.ts";
import { ProblemError } from "../problem.ts";
import { eventsAnswer } from "../results.ts";
import { errors, json, requires } from "./common.ts";

const AccountParams = z.object({ id: AccountId });

export function accountRoutes(app: OpenAPIHono<GatewayEnv>, svc: OutletServices): void {
  const account = (id: string) => {
    const view = svc.engine.account(id);
    if (!view) throw new ProblemError(404, "unknown-account", "No account has this id.");
    return view;
  };
  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/accounts/me",
      summary: "The calling account, its wallet, resting orders and active holds",
      middleware: [requires("read")],
      responses: { 200: { description: "The account" }, ...errors },
    }),
    (c) => {
      const id = c.get("accountId");
      return c.json({ ...account(id), orders: svc.engine.ordersOf(id), holds: svc.engine.holdsOf(id) });
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/accounts/{id}",
      summary: "An account (yourself, or anyone for admins)",
      middleware: [requires("read")],
      request: { params: AccountParams },
      responses: { 200: { description: "The account" }, ...errors },
    }),
    (c) => {
      const { id } = c.req.valid("param");
      if (id !== c.get("accountId") && !allows(c.get("role"), "accounts")) {
        throw new ProblemError(403, "forbidden", "Only admins may read other accounts.");
      }
      return c.json({
        ...account(id),
        orders: svc.engine.ordersOf(id),
        holds: svc.engine.holdsOf(id),
        keys: svc.credentials.list(id),
      });
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/accounts",
      summary: "Create an account (KYC starts pending)",
      middleware: [requires("accounts")],
      request: { body: json(CreateAccount.omit({ type: true })) },
      responses: { 201: { description: "Created" }, ...errors },
    }),
    (c) => commitCommand(c, svc, { type: "account.create", ...c.req.valid("json") }, (e) => eventsAnswer(e, 201)),
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/accounts/{id}/kyc",
      summary: "Set the KYC state: pending, verified (may transact) or suspended",
      middleware: [requires("accounts")],
      request: { params: AccountParams, body: json(z.object({ kyc: KycState })) },
      responses: { 200: { description: "Changed" }, ...errors },
    }),
    (c) =>
      commitCommand(
        c,
        svc,
        { type: "account.kyc", accountId: c.req.valid("param").id, kyc: c.req.valid("json").kyc },
        (e) => eventsAnswer(e),
      ),
  );

  for (const [action, type] of [
    ["deposit", "wallet.deposit"],
    ["withdraw", "wallet.withdraw"],
  ] as const) {
    app.openapi(
      createRoute({
        method: "post",
        path: `/v1/accounts/{id}/${action}`,
        summary: `Wallet ${action} (minor units)`,
        middleware: [requires("accounts")],
        request: { params: AccountParams, body: json(z.object({ amount: Amount })) },
        responses: { 200: { description: "Done" }, ...errors },
      }),
      (c) =>
        commitCommand(c, svc, { type, accountId: c.req.valid("param").id, amount: c.req.valid("json").amount }, (e) =>
          eventsAnswer(e),
        ),
    );
  }

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/accounts/{id}/keys",
      summary: "Issue an API key for the account (shown once)",
      middleware: [requires("accounts")],
      request: { params: AccountParams },
      responses: { 201: { description: "The new key" }, ...errors },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      account(id);
      const issued = svc.credentials.issue(id);
      await svc.log.sync();
      return c.json(issued, 201);
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/v1/accounts/{id}/keys/{keyId}",
      summary: "Revoke an API key",
      middleware: [requires("accounts")],
      request: { params: AccountParams.extend({ keyId: z.string().regex(/^[0-9a-f]{12}$/) }) },
      responses: { 200: { description: "Revoked" }, ...errors },
    }),
    async (c) => {
      const { id, keyId } = c.req.valid("param");
      const owned = svc.credentials.list(id).some((k) => k.keyId === keyId);
      if (!owned || !svc.credentials.revoke(keyId))
        throw new ProblemError(404, "unknown-key", "No such key on this account.");
      // Keys are written outside the writer: make the change durable before answering.
      await svc.log.sync();
      return c.json({ keyId, revoked: true });
    },
  );
}
