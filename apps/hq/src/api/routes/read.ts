import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { Id, Sku } from "@stockroom/contracts";
import { ProblemError } from "@stockroom/service";
import { executions, inventory, orders, totals } from "../../queries.ts";
import type { HqEnv, HqServices } from "../context.ts";
import { errors, HistoryQuery, readers, requires } from "./common.ts";

export function readRoutes(app: OpenAPIHono<HqEnv>, svc: HqServices): void {
  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/inventory",
      summary: "Chain-wide stock per sku (available, held, on hand, demand) with the per-outlet breakdown",
      middleware: [readers],
      request: {
        query: z.object({
          q: z.string().max(100).optional(),
          limit: z.coerce.number().int().min(1).max(100_000).default(1_000),
          offset: z.coerce.number().int().min(0).default(0),
        }),
      },
      responses: { 200: { description: "Inventory rows by sku, and the totals of every row matching q" }, ...errors },
    }),
    (c) => {
      const { q, limit, offset } = c.req.valid("query");
      const rows = inventory(svc.aggregator, { q });
      return c.json({ total: rows.length, totals: totals(rows), inventory: rows.slice(offset, offset + limit) });
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/inventory/{sku}",
      summary: "One sku's chain-wide stock and its per-outlet breakdown",
      middleware: [readers],
      request: { params: z.object({ sku: Sku }) },
      responses: { 200: { description: "Inventory row" }, ...errors },
    }),
    (c) => {
      const { sku } = c.req.valid("param");
      const [row] = inventory(svc.aggregator, { sku });
      if (!row) throw new ProblemError(404, "unknown-sku", "No outlet has a product with this sku.");
      return c.json(row);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/outlets",
      summary: "Every outlet: online, applied seq, lag (since when), reconciliation (in_sync, lagging, diverged)",
      middleware: [readers],
      responses: { 200: { description: "Outlets by id" }, ...errors },
    }),
    (c) => c.json({ outlets: svc.board.list() }),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/outlets/{outletId}",
      summary: "One outlet's status and its recent divergences",
      middleware: [readers],
      request: { params: z.object({ outletId: Id }) },
      responses: { 200: { description: "Outlet status" }, ...errors },
    }),
    (c) => {
      const { outletId } = c.req.valid("param");
      if (!svc.board.ids().includes(outletId))
        throw new ProblemError(404, "unknown-outlet", "HQ knows no such outlet.");
      const divergences = svc.db.$client
        .prepare("SELECT seq, kind, detail, skus, at FROM divergences WHERE outlet_id = ? ORDER BY id DESC LIMIT 100")
        .all(outletId) as { seq: number; kind: string; detail: string; skus: string; at: number }[];
      return c.json({
        ...svc.board.describe(outletId),
        divergences: divergences.map((d) => ({ ...d, skus: JSON.parse(d.skus) as string[] })),
      });
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/outlets/{outletId}/snapshot",
      summary: "Save the outlet's replica now (hq-admin): a restart then re-reads less of the stream",
      middleware: [requires("hq-admin")],
      request: { params: z.object({ outletId: Id }) },
      responses: { 200: { description: "The seq saved" }, ...errors },
    }),
    (c) => {
      const { outletId } = c.req.valid("param");
      const st = svc.aggregator.outlets.get(outletId);
      if (!st) throw new ProblemError(404, "unknown-outlet", "HQ has applied no event of this outlet.");
      svc.aggregator.maybeSnapshot(st, Date.now(), true);
      return c.json({ outletId, seq: st.snapSeq, takenAt: st.snapAt });
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/executions",
      summary: "Fills of every outlet, by sku, outlet, order and time range [startTime, endTime)",
      middleware: [readers],
      request: { query: HistoryQuery },
      responses: { 200: { description: "Executions, newest first unless order=asc" }, ...errors },
    }),
    (c) => c.json({ executions: executions(svc.db, c.req.valid("query")) }),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/orders",
      summary: "Orders of every outlet with their latest state, by sku, outlet, id, status and creation time",
      middleware: [readers],
      request: {
        query: HistoryQuery.extend({ status: z.enum(["accepted", "resting", "filled", "cancelled"]).optional() }),
      },
      responses: { 200: { description: "Orders, newest first unless order=asc" }, ...errors },
    }),
    (c) => c.json({ orders: orders(svc.db, c.req.valid("query")) }),
  );
}
