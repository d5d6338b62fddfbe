import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { Command } from "@stockroom/contracts";
import type { GatewayEnv, OutletServices } from "../context.ts";
import { allows, COMMAND_PERMISSION } from "../permissions.ts";
import { ProblemError } from "../problem.ts";
import { eventsAnswer } from "../results.ts";
import { errors, json, requires } from "./common.ts";

export const MAX_BATCH = 10_000;

/**
 * Many commands in one request (bulk receipt, throughput). Each is checked and sequenced on its
 * own, in order; the answer lists, per command, its status and events or its problem. Commands
 * that name an account act as the caller unless it is an admin.
 */
export function batchRoutes(app: OpenAPIHono<GatewayEnv>, svc: OutletServices): void {
  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/batch",
      summary: "Sequence many commands in one request; answers per command, in order",
      middleware: [requires("batch")],
      request: { body: json(z.object({ commands: z.array(Command).min(1).max(MAX_BATCH) })) },
      responses: { 200: { description: "One answer per command" }, ...errors },
    }),
    async (c) => {
      const accountId = c.get("accountId");
      const role = c.get("role");
      const { commands } = c.req.valid("json");
      commands.forEach((command, index) => {
        if (!allows(role, COMMAND_PERMISSION[command.type])) {
          throw new ProblemError(
            403,
            "forbidden",
            `Command ${index} (${command.type}) is not allowed for the ${role} role.`,
            {
              index,
            },
          );
        }
        if ("accountId" in command && command.accountId !== accountId && !allows(role, "accounts")) {
          throw new ProblemError(403, "forbidden", `Command ${index} acts for another account.`, { index });
        }
      });
      const results = await Promise.all(commands.map((command) => svc.writer.submit(command, accountId)));
      return c.json({ results: results.map((envelopes) => eventsAnswer(envelopes)) });
    },
  );
}
