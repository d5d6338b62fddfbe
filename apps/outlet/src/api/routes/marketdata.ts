import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { Sku, Timestamp } from "@stockroom/contracts";
import { RESOLUTIONS } from "@stockroom/marketdata";
import type { GatewayEnv, OutletServices } from "../context.ts";
import { ProblemError } from "../problem.ts";
import { errors, requires } from "./common.ts";

export function marketDataRoutes(app: OpenAPIHono<GatewayEnv>, svc: OutletServices): void {
  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/marketdata/orderBook",
      summary: "L2 depth: inflow levels from the lowest price, outflow from the highest",
      middleware: [requires("read")],
      request: { query: z.object({ sku: Sku, levels: z.coerce.number().int().min(1).max(1_000).default(50) }) },
      responses: { 200: { description: "Depth" }, ...errors },
    }),
    (c) => {
      const { sku, levels } = c.req.valid("query");
      const depth = svc.engine.depth(sku, levels);
      if (!depth) throw new ProblemError(404, "unknown-sku", "No product has this sku.");
      return c.json({ ...depth, seq: svc.writer.lastSeq });
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/marketdata/snapshot",
      summary: "OHLC and volume candles of a sku",
      middleware: [requires("read")],
      request: {
        query: z.object({
          sku: Sku,
          resolution: z.enum(RESOLUTIONS).default("1m"),
          startTime: z.coerce.number().pipe(Timestamp).default(0),
          endTime: z.coerce.number().pipe(Timestamp).default(Number.MAX_SAFE_INTEGER),
        }),
      },
      responses: { 200: { description: "Candles, oldest first" }, ...errors },
    }),
    (c) => {
      const { sku, resolution, startTime, endTime } = c.req.valid("query");
      if (!svc.engine.product(sku)) throw new ProblemError(404, "unknown-sku", "No product has this sku.");
      return c.json({ sku, resolution, candles: svc.marketData.candles(sku, resolution, startTime, endTime) });
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/marketdata/trades",
      summary: "Recent trades of a sku",
      middleware: [requires("read")],
      request: { query: z.object({ sku: Sku, limit: z.coerce.number().int().min(1).max(1_000).default(100) }) },
      responses: { 200: { description: "Trades, newest last" }, ...errors },
    }),
    (c) => {
      const { sku, limit } = c.req.valid("query");
      if (!svc.engine.product(sku)) throw new ProblemError(404, "unknown-sku", "No product has this sku.");
      return c.json({ sku, trades: svc.marketData.trades(sku, limit) });
    },
  );
}
