import { randomUUID } from "node:crypto";
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { type EventEnvelope, HoldId, MAX_HOLD_TTL_MS, PlaceHold } from "@stockroom/contracts";
import { commitCommand } from "../commit.ts";
import type { GatewayEnv, OutletServices } from "../context.ts";
import { ProblemError } from "../problem.ts";
import { fillsOf, rejectionAnswer } from "../results.ts";
import { errors, json, requires } from "./common.ts";

const Ttl = z.int().min(1).max(MAX_HOLD_TTL_MS);
const HoldBody = PlaceHold.omit({ type: true, accountId: true, holdId: true, ttlMs: true }).extend({
  /** Optional: give your own id (e.g. your transaction id) to make retries idempotent without a header. */
  holdId: HoldId.optional(),
  ttlMs: Ttl.default(15 * 60_000),
});
const HoldParams = z.object({ id: HoldId });

export function holdRoutes(app: OpenAPIHono<GatewayEnv>, svc: OutletServices): void {
  /**
   * The hold's own executions, made by its confirm. The command's other fills are left out: demand
   * met by units that an expired or cancelled hold gave back is a trade between other accounts'
   * orders. A repeated confirm executes nothing, so its fills are read back from the log, at the
   * time the hold was confirmed: it answers the same. (A repeat sent while the first is still
   * being committed, within milliseconds, finds none yet.)
   */
  const holdFills = (holdId: string, envelopes: EventEnvelope[]) => {
    const own = fillsOf(envelopes).filter((f) => f.holdId === holdId);
    const confirmedAt = svc.engine.hold(holdId)?.status === "confirmed" ? svc.engine.holdFinishedAt(holdId) : null;
    if (own.length > 0 || confirmedAt === null) return own;
    const range = svc.log.seqRange(confirmedAt, confirmedAt + 1);
    const executions = svc.log.find({ ...range, type: "execution", limit: Number.MAX_SAFE_INTEGER });
    return fillsOf(executions).filter((f) => f.holdId === holdId);
  };
  const holdAnswer = (holdId: string, status: number) => (envelopes: EventEnvelope[]) =>
    rejectionAnswer(envelopes) ?? { status, body: { ...svc.engine.hold(holdId), fills: holdFills(holdId, envelopes) } };

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/holds",
      summary: "Try: hold stock for a cart (all lines or none) until confirmed, cancelled or expired",
      middleware: [requires("hold")],
      request: { body: json(HoldBody) },
      responses: { 201: { description: "The hold with its allocations and expiry" }, ...errors },
    }),
    (c) => {
      const body = c.req.valid("json");
      const holdId = body.holdId ?? randomUUID();
      return commitCommand(
        c,
        svc,
        { ...body, type: "hold.place", holdId, accountId: c.get("accountId") },
        holdAnswer(holdId, 201),
      );
    },
  );

  for (const [action, type, summary] of [
    ["confirm", "hold.confirm", "Confirm: the held stock becomes executions"],
    ["cancel", "hold.cancel", "Cancel: the held stock goes back to its orders"],
  ] as const) {
    app.openapi(
      createRoute({
        method: "post",
        path: `/v1/holds/{id}/${action}`,
        summary,
        middleware: [requires("hold")],
        request: { params: HoldParams },
        responses: { 200: { description: "The hold as it now stands, with its executions once confirmed" }, ...errors },
      }),
      (c) => {
        const holdId = c.req.valid("param").id;
        return commitCommand(c, svc, { type, holdId, accountId: c.get("accountId") }, holdAnswer(holdId, 200));
      },
    );
  }

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/holds/{id}/extend",
      summary: "Push the hold's expiry out to now + ttlMs",
      middleware: [requires("hold")],
      request: { params: HoldParams, body: json(z.object({ ttlMs: Ttl })) },
      responses: { 200: { description: "The hold with its new expiry" }, ...errors },
    }),
    (c) => {
      const holdId = c.req.valid("param").id;
      return commitCommand(
        c,
        svc,
        { type: "hold.extend", holdId, accountId: c.get("accountId"), ttlMs: c.req.valid("json").ttlMs },
        holdAnswer(holdId, 200),
      );
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/holds/{id}",
      summary: "A hold (active, or finished within the last 24 h)",
      middleware: [requires("read")],
      request: { params: HoldParams },
      responses: { 200: { description: "The hold" }, ...errors },
    }),
    (c) => {
      const hold = svc.engine.hold(c.req.valid("param").id);
      if (!hold) throw new ProblemError(404, "unknown-hold", "No hold has this id.");
      return c.json(hold);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/holds",
      summary: "The calling account's active holds",
      middleware: [requires("read")],
      responses: { 200: { description: "Active holds" }, ...errors },
    }),
    (c) => c.json({ holds: svc.engine.holdsOf(c.get("accountId")) }),
  );
}
