import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { OrderId, PlaceOrder, Price, Quantity, Sku, Timestamp } from "@stockroom/contracts";
import { commitCommand } from "../commit.ts";
import type { GatewayEnv, OutletServices } from "../context.ts";
import { ProblemError } from "../problem.ts";
import { eventsAnswer, fillsOf, orderAnswer } from "../results.ts";
import { errors, json, requires } from "./common.ts";

const TransactBody = PlaceOrder.omit({ type: true, accountId: true });
const OrderParams = z.object({ id: z.coerce.number().pipe(OrderId) });

export function orderRoutes(app: OpenAPIHono<GatewayEnv>, svc: OutletServices): void {
  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/transact",
      summary: "Place an order (inflow: stock in; outflow: stock out)",
      middleware: [requires("trade")],
      request: { body: json(TransactBody) },
      responses: { 201: { description: "Accepted: id, time, status, filled and remaining, fills" }, ...errors },
    }),
    (c) =>
      commitCommand(c, svc, { type: "order.place", accountId: c.get("accountId"), ...c.req.valid("json") }, (e) =>
        orderAnswer(e),
      ),
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/v1/orders/{id}",
      summary: "Cancel a resting order",
      middleware: [requires("trade")],
      request: { params: OrderParams },
      responses: { 200: { description: "Cancelled" }, ...errors },
    }),
    (c) =>
      commitCommand(
        c,
        svc,
        { type: "order.cancel", accountId: c.get("accountId"), orderId: c.req.valid("param").id },
        (e) => eventsAnswer(e),
      ),
  );

  app.openapi(
    createRoute({
      method: "patch",
      path: "/v1/orders/{id}",
      summary: "Reduce a resting order by some units (keeps its place in the queue)",
      middleware: [requires("trade")],
      request: { params: OrderParams, body: json(z.object({ reduceBy: Quantity })) },
      responses: { 200: { description: "Reduced" }, ...errors },
    }),
    (c) =>
      commitCommand(
        c,
        svc,
        {
          type: "order.reduce",
          accountId: c.get("accountId"),
          orderId: c.req.valid("param").id,
          by: c.req.valid("json").reduceBy,
        },
        (e) => eventsAnswer(e),
      ),
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/orders/{id}/replace",
      summary: "Replace a resting order's price or raise its quantity (goes to the back of the queue)",
      middleware: [requires("trade")],
      request: {
        params: OrderParams,
        body: json(
          z
            .object({ price: Price.optional(), quantity: Quantity.optional() })
            .refine((b) => b.price !== undefined || b.quantity !== undefined, "give a price or a quantity"),
        ),
      },
      responses: { 200: { description: "Replaced: the order as it now stands, with any fills" }, ...errors },
    }),
    (c) =>
      commitCommand(
        c,
        svc,
        {
          type: "order.replace",
          accountId: c.get("accountId"),
          orderId: c.req.valid("param").id,
          ...c.req.valid("json"),
        },
        (e) => orderAnswer(e, 200),
      ),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/orders/{id}",
      summary: "A resting order",
      middleware: [requires("read")],
      request: { params: OrderParams },
      responses: { 200: { description: "The order" }, ...errors },
    }),
    (c) => {
      const order = svc.engine.order(c.req.valid("param").id);
      if (!order?.remaining) throw new ProblemError(404, "unknown-order", "No resting order has this id.");
      return c.json(order);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/executions",
      summary: "Fills, filtered by sku, order and time",
      middleware: [requires("read")],
      request: {
        query: z.object({
          sku: Sku.optional(),
          orderId: z.coerce.number().pipe(OrderId).optional(),
          startTime: z.coerce.number().pipe(Timestamp).optional(),
          endTime: z.coerce.number().pipe(Timestamp).optional(),
          afterSeq: z.coerce.number().int().min(0).default(0),
          limit: z.coerce.number().int().min(1).max(10_000).default(1_000),
        }),
      },
      responses: {
        200: { description: "Executions, oldest first; page on with afterSeq = nextAfterSeq" },
        ...errors,
      },
    }),
    (c) => {
      const q = c.req.valid("query");
      const range = svc.log.seqRange(q.startTime, q.endTime);
      const executions = svc.log.find({
        after: Math.max(q.afterSeq, range.after),
        upTo: range.upTo,
        type: "execution",
        sku: q.sku,
        orderId: q.orderId,
        limit: q.limit,
      });
      return c.json({ executions: fillsOf(executions), nextAfterSeq: executions.at(-1)?.seq ?? null });
    },
  );
}
