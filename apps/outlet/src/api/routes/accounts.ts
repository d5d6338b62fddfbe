import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { AccountId, Amount, CreateAccount, KycState } from "@stockroom/contracts";
import { answerOnce, commitCommand, type IdempotentHooks } from "../commit.ts";
import type { GatewayEnv, OutletServices } from "../context.ts";
import { type Answer, answerJson } from "../idempotency.ts";
import { allows } from "../permissions.ts";
import { ProblemError } from "../problem.ts";
import { eventsAnswer } from "../results.ts";
import { seal, unseal } from "../sealed.ts";
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
    (c) => {
      const { id } = c.req.valid("param");
      account(id);
      // A repeat of the Idempotency-Key gets the same key back, which only its hash may be stored
      // for: the stored answer keeps it sealed under the caller's own API key (sealed.ts).
      const callerKey = c.get("apiKey");
      const scope = `${c.get("accountId")}\n${c.req.header("idempotency-key")}`;
      return answerOnce(
        c,
        svc,
        (idempotent) =>
          writeKeys(idempotent, () => {
            const issued = svc.credentials.issue(id);
            const stored = { keyId: issued.keyId, sealedApiKey: seal(issued.apiKey, callerKey, scope) };
            return { answer: { status: 201, body: issued }, stored: { status: 201, body: stored } };
          }),
        (answer) => {
          const body = JSON.parse(answerJson(answer)) as { keyId: string; apiKey?: string; sealedApiKey?: string };
          if (body.sealedApiKey === undefined) return answer;
          const apiKey = unseal(body.sealedApiKey, callerKey, scope);
          if (apiKey === null) {
            throw new ProblemError(
              409,
              "idempotency-key-other-caller",
              "This Idempotency-Key issued its key to a request sent with another API key: only that one can see it again.",
            );
          }
          return { status: answer.status, body: { keyId: body.keyId, apiKey } };
        },
      );
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
    (c) => {
      const { id, keyId } = c.req.valid("param");
      return answerOnce(c, svc, (idempotent) =>
        writeKeys(idempotent, () => {
          const owned = svc.credentials.list(id).some((k) => k.keyId === keyId);
          if (!owned || !svc.credentials.revoke(keyId))
            throw new ProblemError(404, "unknown-key", "No such key on this account.");
          const answer = { status: 200, body: { keyId, revoked: true } };
          return { answer, stored: answer };
        }),
      );
    },
  );

  /**
   * API keys are written outside the writer, on this connection: the write and its stored answer
   * (with an Idempotency-Key) in one transaction, made durable before answering.
   */
  async function writeKeys(
    idempotent: IdempotentHooks | undefined,
    write: () => { answer: Answer; stored: Answer },
  ): Promise<Answer | undefined> {
    if (idempotent?.answered()) return undefined;
    const { answer } = svc.log.db.transaction(() => {
      const written = write();
      if (idempotent) svc.idempotency.storeHere(idempotent.record(written.stored));
      return written;
    });
    await svc.log.sync();
    return answer;
  }
}
