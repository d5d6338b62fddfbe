import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { Command, type EventEnvelope } from "@stockroom/contracts";
import { answerOnce, renderSafely } from "../commit.ts";
import type { GatewayEnv, OutletServices } from "../context.ts";
import type { Answer } from "../idempotency.ts";
import { allows, COMMAND_PERMISSION } from "../permissions.ts";
import { ProblemError } from "../problem.ts";
import { eventsAnswer, orderAnswer } from "../results.ts";
import { errors, json, requires } from "./common.ts";

export const MAX_BATCH = 10_000;

/** Results joined per this many into a string: each stays far below V8's large-object size. */
const JOIN = 100;

/**
 * `{"results":[…]}` of the results' JSON, as UTF-8. A batch's answer runs to hundreds of KiB: as
 * one string, each copy (the join, flattening it, encoding it for the socket) took fresh memory
 * pages of its own; joined in short runs written into one buffer, it costs a third as much.
 */
function resultsBody(results: string[]): Buffer<ArrayBuffer> {
  const runs: string[] = [];
  let bytes = 0;
  for (let i = 0; i < results.length; i += JOIN) {
    const run = (i === 0 ? '{"results":[' : ",") + results.slice(i, i + JOIN).join(",");
    runs.push(run);
    bytes += Buffer.byteLength(run);
  }
  const body = Buffer.allocUnsafe(bytes + 2);
  let at = 0;
  for (const run of runs) at += body.write(run, at);
  body.write("]}", at);
  return body;
}

/** A command's entry in a batch's results. */
const resultJson = ({ status, body }: Answer) => JSON.stringify({ status, body });

/** An order placed in a batch answers as POST /v1/transact would, with the batch's 200. */
const orderResult = (envelopes: EventEnvelope[]) => orderAnswer(envelopes, 200);

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
      // Each command's answer is rendered as it executes (orders, the bulk of a batch, answer
      // with their outcome: a third the size of their events) and kept as JSON, then written
      // once into the body's bytes, for both the caller and the Idempotency-Key's stored answer.
      const parts: string[] = new Array(commands.length);
      // Those quoting events are rendered again once committed, with their hashes.
      const quoting: [number, Answer][] = [];
      let answer: Answer | undefined;
      const body = (): Answer => {
        answer ??= { status: 200, body: null, bytes: resultsBody(parts) };
        return answer;
      };
      // With an Idempotency-Key the answer is stored with the last command's events: the writer
      // commits in submission order, so every earlier command's are known by then. A key
      // answered before skips every command (the first check decides for all).
      return answerOnce(c, svc, async (idempotent) => {
        await svc.writer.submitAll(commands, accountId, {
          skipIf: idempotent?.answered,
          afterExecute: (envelopes, i) => {
            const command = commands[i]!;
            const render = command.type === "order.place" ? orderResult : eventsAnswer;
            const result = renderSafely(svc, command, render, envelopes);
            parts[i] = resultJson(result);
            if (result.quotesEvents) quoting.push([i, result]);
          },
          storeAnswer: idempotent && (() => idempotent.record(body())),
        });
        if (idempotent?.answered()) return undefined;
        if (quoting.length > 0) {
          for (const [i, result] of quoting) parts[i] = resultJson(result);
          answer = undefined;
        }
        return body();
      });
    },
  );
}
