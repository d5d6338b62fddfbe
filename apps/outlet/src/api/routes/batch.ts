import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { Command, type EventEnvelope } from "@stockroom/contracts";
import { answerOnce } from "../commit.ts";
import type { GatewayEnv, OutletServices } from "../context.ts";
import type { Answer } from "../idempotency.ts";
import { allows, COMMAND_PERMISSION } from "../permissions.ts";
import { ProblemError } from "../problem.ts";
import { eventsAnswer, orderAnswer } from "../results.ts";
import { errors, json, requires } from "./common.ts";

export const MAX_BATCH = 10_000;

/**
 * Many commands in one request (bulk receipt, throughput). Each is checked and sequenced on its
 * own, in order; the answer lists, per command, its status and outcome or its problem: an order
 * placed as POST /v1/transact answers it (id, status, filled, remaining, fills), any other command
 * with its events. Commands that name an account act as the caller unless it is an admin.
 * Accepts an Idempotency-Key.
 */
export function batchRoutes(app: OpenAPIHono<GatewayEnv>, svc: OutletServices): void {
  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/batch",
      summary: "Sequence many commands in one request; answers per command, in order",
      middleware: [requires("batch")],
      request: { body: json(z.object({ commands: z.array(Command).min(1).max(MAX_BATCH) })) },
      responses: {
        200: { description: "One answer per command, in order: an order's outcome, another command's events" },
        ...errors,
      },
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
      // Orders, the bulk of a batch, answer with their outcome: a third the size of their events.
      const render = (results: EventEnvelope[][]): Answer => ({
        status: 200,
        body: {
          results: results.map((envelopes, i) =>
            commands[i]!.type === "order.place" ? orderAnswer(envelopes, 200) : eventsAnswer(envelopes),
          ),
        },
      });
      // With an Idempotency-Key the whole answer is stored with the last command's events: the
      // writer commits in submission order, so every earlier command's events are known by then.
      // A key answered before skips every command (the first check decides for all).
      return answerOnce(c, svc, async (idempotent) => {
        const committed: EventEnvelope[][] = [];
        const last = commands.length - 1;
        const results = await Promise.all(
          commands.map((command, i) =>
            svc.writer.submit(
              command,
              accountId,
              (envelopes) => {
                committed[i] = envelopes;
                if (i === last) idempotent?.record(render(committed));
              },
              undefined,
              idempotent?.answered,
            ),
          ),
        );
        return idempotent?.answered() ? undefined : render(results);
      });
    },
  );
}
