import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { AddProduct, Sku, Timestamp, UpdateProduct } from "@stockroom/contracts";
import { stockOf } from "../../writer/as-of.ts";
import { commitCommand } from "../commit.ts";
import type { GatewayEnv, OutletServices } from "../context.ts";
import { ProblemError } from "../problem.ts";
import { eventsAnswer } from "../results.ts";
import { errors, json, requires } from "./common.ts";

const SkuParams = z.object({ sku: Sku });

export function catalogRoutes(app: OpenAPIHono<GatewayEnv>, svc: OutletServices): void {
  const known = (sku: string) => {
    const product = svc.engine.product(sku);
    if (!product) throw new ProblemError(404, "unknown-sku", "No product has this sku.");
    return product;
  };

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/products",
      summary: "The catalog, with stock; `q` searches sku, name and brand",
      middleware: [requires("read")],
      request: {
        query: z.object({
          q: z.string().trim().max(64).optional(),
          includeRemoved: z.enum(["true", "false"]).default("false"),
          afterSku: Sku.optional(),
          limit: z.coerce.number().int().min(1).max(10_000).default(500),
        }),
      },
      responses: {
        200: { description: "Products with their stock, by sku; page on with afterSku = nextAfterSku" },
        ...errors,
      },
    }),
    (c) => {
      const { q, includeRemoved, afterSku, limit } = c.req.valid("query");
      const needle = q?.toLowerCase();
      const products = svc.engine
        .listProducts()
        .filter((p) => includeRemoved === "true" || p.listed)
        .filter((p) => afterSku === undefined || p.sku > afterSku)
        .filter((p) => !needle || `${p.sku} ${p.name} ${p.brand}`.toLowerCase().includes(needle))
        .sort((a, b) => (a.sku < b.sku ? -1 : 1))
        .slice(0, limit)
        .map((p) => ({ ...p, stock: svc.engine.stock(p.sku) }));
      return c.json({ products, nextAfterSku: products.at(-1)?.sku ?? null });
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/products/{sku}",
      summary: "One product with its stock",
      middleware: [requires("read")],
      request: { params: SkuParams },
      responses: { 200: { description: "The product" }, ...errors },
    }),
    (c) => {
      const product = known(c.req.valid("param").sku);
      return c.json({ ...product, stock: svc.engine.stock(product.sku) });
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/products",
      summary: "Add (or re-list) a product",
      middleware: [requires("catalog")],
      request: { body: json(AddProduct.omit({ type: true })) },
      responses: { 201: { description: "Added" }, ...errors },
    }),
    (c) => commitCommand(c, svc, { type: "product.add", ...c.req.valid("json") }, (e) => eventsAnswer(e, 201)),
  );

  app.openapi(
    createRoute({
      method: "patch",
      path: "/v1/products/{sku}",
      summary: "Update a product's name, brand or attributes",
      middleware: [requires("catalog")],
      request: { params: SkuParams, body: json(UpdateProduct.omit({ type: true, sku: true })) },
      responses: { 200: { description: "Updated" }, ...errors },
    }),
    (c) =>
      commitCommand(c, svc, { type: "product.update", sku: c.req.valid("param").sku, ...c.req.valid("json") }, (e) =>
        eventsAnswer(e),
      ),
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/v1/products/{sku}",
      summary: "Remove (delist) a product: its holds are released and resting orders cancelled",
      middleware: [requires("catalog")],
      request: { params: SkuParams },
      responses: { 200: { description: "Removed" }, ...errors },
    }),
    (c) => commitCommand(c, svc, { type: "product.remove", sku: c.req.valid("param").sku }, (e) => eventsAnswer(e)),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/stock",
      summary: "Available, held, on hand and waiting demand per sku; optionally as of a seq or a time",
      middleware: [requires("read")],
      request: {
        query: z.object({
          sku: z
            .string()
            .transform((s) => s.split(","))
            .pipe(z.array(Sku).max(1_000))
            .optional(),
          asOfSeq: z.coerce.number().int().min(0).optional(),
          asOfTime: z.coerce.number().pipe(Timestamp).optional(),
        }),
      },
      responses: { 200: { description: "Stock per sku" }, ...errors },
    }),
    async (c) => {
      const { sku, asOfSeq, asOfTime } = c.req.valid("query");
      const now = svc.writer.lastSeq;
      if (asOfSeq === undefined && asOfTime === undefined) return c.json({ seq: now, stock: stockOf(svc.engine, sku) });
      const seq = Math.min(now, asOfSeq ?? now, asOfTime !== undefined ? svc.log.lastSeqAt(asOfTime) : now);
      return c.json({ seq, stock: await svc.asOf.stock(seq, sku) });
    },
  );
}
