import { z } from "@hono/zod-openapi";
import { Id, OrderId, Sku, Timestamp } from "@stockroom/contracts";
import { ProblemError } from "@stockroom/service";
import type { MiddlewareHandler } from "hono";
import type { HqEnv } from "../context.ts";
import type { HqRole } from "../keys.ts";

const problem = { "application/problem+json": { schema: { type: "object" } } } as const;
/** The problem answers every route may give. */
export const errors = {
  400: { description: "Malformed request", content: problem },
  401: { description: "Missing or invalid API key", content: problem },
  403: { description: "Not allowed for this key", content: problem },
  404: { description: "Not found", content: problem },
} as const;

/** Only these roles may call the route (403 otherwise). */
export function requires(...roles: HqRole[]): MiddlewareHandler<HqEnv> {
  return async (c, next) => {
    const { role } = c.get("caller");
    if (!roles.includes(role)) {
      throw new ProblemError(403, "forbidden", `The ${role} role may not do this (needs ${roles.join(" or ")}).`);
    }
    await next();
  };
}

export const readers = requires("hq-reader", "hq-admin");

const time = z.coerce.number().pipe(Timestamp);
/** Filters shared by the history queries. */
export const HistoryQuery = z.object({
  sku: Sku.optional(),
  outletId: Id.optional(),
  orderId: z.coerce.number().pipe(OrderId).optional(),
  /** Inclusive, ms since the epoch. */
  startTime: time.optional(),
  /** Exclusive. */
  endTime: time.optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(1_000),
  /** desc (default): newest first. */
  order: z.enum(["asc", "desc"]).default("desc"),
});
