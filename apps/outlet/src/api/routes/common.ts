import type { z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import type { GatewayEnv } from "../context.ts";
import { allows, type Permission } from "../permissions.ts";
import { ProblemError } from "../problem.ts";

/** A required JSON request body. */
export function json<T extends z.ZodType>(schema: T) {
  return { content: { "application/json": { schema } }, required: true };
}

const problem = { "application/problem+json": { schema: { type: "object" } } } as const;
/** The problem answers every route may give. */
export const errors = {
  400: { description: "Malformed request", content: problem },
  401: { description: "Missing or invalid API key", content: problem },
  403: { description: "Not allowed for this account", content: problem },
  404: { description: "Not found", content: problem },
  409: { description: "Conflicts with the current state", content: problem },
  422: { description: "Refused by a business rule", content: problem },
  429: { description: "Rate limited", content: problem },
} as const;

export function requires(permission: Permission): MiddlewareHandler<GatewayEnv> {
  return async (c, next) => {
    if (!allows(c.get("role"), permission)) {
      throw new ProblemError(403, "forbidden", `The ${c.get("role")} role may not do this (needs "${permission}").`);
    }
    await next();
  };
}
