import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { AccountId, Sku, Timestamp } from "@stockroom/contracts";
import type { GatewayEnv, OutletServices } from "../context.ts";
import { errors, requires } from "./common.ts";

export function auditRoutes(app: OpenAPIHono<GatewayEnv>, svc: OutletServices): void {
  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/audit",
      summary: "The audit trail: sequenced events (rejections included) by sku, acting account, time or seq",
      middleware: [requires("audit")],
      request: {
        query: z.object({
          sku: Sku.optional(),
          accountId: AccountId.optional(),
          startTime: z.coerce.number().pipe(Timestamp).optional(),
          endTime: z.coerce.number().pipe(Timestamp).optional(),
          afterSeq: z.coerce.number().int().min(0).default(0),
          limit: z.coerce.number().int().min(1).max(10_000).default(500),
        }),
      },
      responses: { 200: { description: "Envelopes in seq order; page on with afterSeq = nextAfterSeq" }, ...errors },
    }),
    (c) => {
      const q = c.req.valid("query");
      const range = svc.log.seqRange(q.startTime, q.endTime);
      // The audit index up to its cursor, a scan of the log beyond it: the same answer either way.
      const envelopes = svc.log.find({
        after: Math.max(q.afterSeq, range.after),
        upTo: range.upTo,
        sku: q.sku,
        actor: q.accountId,
        limit: q.limit,
      });
      return c.json({ events: envelopes, nextAfterSeq: envelopes.at(-1)?.seq ?? null });
    },
  );
}
