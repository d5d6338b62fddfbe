import type { Span } from "@opentelemetry/api";
import type { Command, EventEnvelope } from "@stockroom/contracts";
import type { Context } from "hono";
import { inSpan } from "../telemetry/tracing.ts";
import type { GatewayEnv, OutletServices } from "./context.ts";
import { type Answer, answerJson, IdempotencyStore } from "./idempotency.ts";
import { ProblemError } from "./problem.ts";

const KEY = /^[\x21-\x7e]{1,128}$/;

/**
 * Sequences one command for the calling account and answers with `render(events)`. With an
 * Idempotency-Key the answer is stored with the events, and repeats get it back unchanged.
 */
export async function commitCommand(
  c: Context<GatewayEnv>,
  svc: OutletServices,
  command: Command,
  render: (envelopes: EventEnvelope[]) => Answer,
): Promise<Response> {
  const accountId = c.get("accountId");
  const execute = async (record: ((answer: Answer) => void) | undefined, span: Span): Promise<Answer> => {
    let answer: Answer | undefined;
    const envelopes = await svc.writer.submit(command, accountId, record && (() => record(answer!)), (executed) => {
      // Rendered before the next command runs, so the answer shows this command's outcome.
      try {
        answer = render(executed);
      } catch (error) {
        svc.logger.error({ err: error, command: command.type }, "rendering an answer failed");
        answer = { status: 500, body: new ProblemError(500, "internal", "Internal error.").toProblem() };
      }
    });
    if (envelopes.length > 0) span.setAttribute("stockroom.seq", envelopes[envelopes.length - 1]!.seq);
    return answer!;
  };
  const run = (record?: (answer: Answer) => void): Promise<Answer> =>
    inSpan("outlet.sequence_and_commit", (span) => {
      span.setAttribute("stockroom.command", command.type);
      return execute(record, span);
    });
  return answerOnce(c, svc, run);
}

/**
 * Answers with `run()`; with an Idempotency-Key, `run` gets `record` to store its answer inside
 * the transaction that commits its effect, and repeats get that answer back unchanged.
 */
export async function answerOnce(
  c: Context<GatewayEnv>,
  svc: OutletServices,
  run: (record?: (answer: Answer) => void) => Promise<Answer>,
): Promise<Response> {
  const accountId = c.get("accountId");
  const key = c.req.header("idempotency-key");
  let answer: Answer;
  if (key === undefined) answer = await run();
  else {
    if (!KEY.test(key))
      throw new ProblemError(400, "invalid-idempotency-key", "Idempotency-Key must be 1-128 visible ASCII characters.");
    const body = c.req.method === "GET" || c.req.method === "DELETE" ? "" : await c.req.text();
    const requestHash = IdempotencyStore.hashRequest(c.req.method, c.req.path, body);
    answer = await svc.idempotency.once(accountId, key, requestHash, run);
  }
  const isProblem = answer.status >= 400;
  return c.body(answerJson(answer), answer.status as 200, {
    "content-type": isProblem ? "application/problem+json" : "application/json",
  });
}
