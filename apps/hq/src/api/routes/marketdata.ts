import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { Id, Sku, Timestamp } from "@stockroom/contracts";
import { RESOLUTIONS } from "@stockroom/marketdata";
import { ProblemError } from "@stockroom/service";
import { tradeOf } from "../../marketdata/publisher.ts";
import { inventory, trades } from "../../queries.ts";
import type { HqEnv, HqServices } from "../context.ts";
import { errors, readers } from "./common.ts";

export function marketDataRoutes(app: OpenAPIHono<HqEnv>, svc: HqServices): void {
  const known = (sku: string) => {
    if (inventory(svc.aggregator, { sku }).length === 0) {
      throw new ProblemError(404, "unknown-sku", "No outlet has a product with this sku.");
    }
  };

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/marketdata/orderBook",
      summary: "Chain-wide L2 depth (levels at one price summed over outlets), or one outlet's",
      middleware: [readers],
      request: {
        query: z.object({
          sku: Sku,
          levels: z.coerce.number().int().min(1).max(1_000).default(50),
          outletId: Id.optional(),
        }),
      },
      responses: { 200: { description: "Depth: inflow from the lowest price, outflow from the highest" }, ...errors },
    }),
    (c) => {
      const { sku, levels, outletId } = c.req.valid("query");
      known(sku);
      const seq = svc.aggregator.mdSeq(`${sku}.depth`);
      return c.json({ sku, seq, outletId: outletId ?? null, ...svc.aggregator.depth.book(sku, levels, outletId) });
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/marketdata/snapshot",
      summary: "OHLC and volume candles of a sku across outlets (or one outlet's)",
      middleware: [readers],
      request: {
        query: z.object({
          sku: Sku,
          resolution: z.enum(RESOLUTIONS).default("1m"),
          startTime: z.coerce.number().pipe(Timestamp).default(0),
          endTime: z.coerce.number().pipe(Timestamp).default(Number.MAX_SAFE_INTEGER),
          outletId: Id.optional(),
        }),
      },
      responses: { 200: { description: "Candles, oldest first" }, ...errors },
    }),
    (c) => {
      const { sku, resolution, startTime, endTime, outletId } = c.req.valid("query");
      known(sku);
      const candles =
        outletId === undefined
          ? svc.aggregator.hub.candles(sku, resolution, startTime, endTime)
          : (svc.aggregator.hub.outlet(outletId)?.candles(sku, resolution, startTime, endTime) ?? []);
      const seq = svc.aggregator.mdSeq(`${sku}.candles.${resolution}`);
      return c.json({ sku, resolution, seq, outletId: outletId ?? null, candles });
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/marketdata/trades",
      summary: "A sku's recent trades across outlets, each with its trade seq",
      middleware: [readers],
      request: {
        query: z.object({
          sku: Sku,
          limit: z.coerce.number().int().min(1).max(10_000).default(100),
          afterSeq: z.coerce.number().int().min(0).optional(),
        }),
      },
      responses: { 200: { description: "Trades, oldest first" }, ...errors },
    }),
    (c) => {
      const { sku, limit, afterSeq } = c.req.valid("query");
      known(sku);
      return c.json({
        sku,
        seq: svc.aggregator.mdSeq(`${sku}.trades`, true),
        trades: trades(svc.db, sku, limit, afterSeq).map(tradeOf),
      });
    },
  );
}
