import type { Span } from "@opentelemetry/api";
import type { Command, EventEnvelope } from "@stockroom/contracts";
import type { Context } from "hono";
import type { AnswerRow } from "../storage/group-store.js";
import { inSpan } from "../telemetry/tracing.ts";
import type { GatewayEnv, OutletServices } from "./context.ts";
import { type Answer, answerPayload, IdempotencyStore } from "./idempotency.ts";
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
  const execute = async (idempotent: IdempotentHooks | undefined, span: Span): Promise<Answer | undefined> => {
    let answer: Answer | undefined;
    const envelopes = await svc.writer.submit(
      command,
      accountId,
      idempotent && (() => idempotent.record(answer!)),
      // Rendered before the next command runs, so the answer shows this command's outcome.
      (executed) => {
        answer = renderSafely(svc, command, render, executed);
      },
      idempotent?.answered,
    );
    if (envelopes.length > 0) span.setAttribute("stockroom.seq", envelopes[envelopes.length - 1]!.seq);
    // Undefined when skipped as answered before: the store answers with the stored answer.
    return answer;
  };
  const run = (idempotent?: IdempotentHooks): Promise<Answer | undefined> =>
    inSpan("outlet.sequence_and_commit", (span) => {
      span.setAttribute("stockroom.command", command.type);
      return execute(idempotent, span);
    });
  return answerOnce(c, svc, run);
}

/**
 * A command's answer, rendered inside the writer's loop (its afterExecute must not throw): a
 * failure is logged and answers 500, and the command's effect stands.
 */
export function renderSafely(
  svc: OutletServices,
  command: Command,
  render: (envelopes: EventEnvelope[]) => Answer,
  envelopes: EventEnvelope[],
): Answer {
  try {
    return render(envelopes);
  } catch (error) {
    svc.logger.error({ err: error, command: command.type }, "rendering an answer failed");
    return { status: 500, body: new ProblemError(500, "internal", "Internal error.").toProblem() };
  }
}

/** With an Idempotency-Key: the hooks `run` passes to the writer with each command (IdempotencyStore.once). */
export interface IdempotentHooks {
  /** The answer to commit: the writer's storeAnswer of the command that completes it. */
  record: (answer: Answer) => AnswerRow;
  /** Whether the key was answered before: every command's skipIf. */
  answered: () => boolean;
}

/**
 * Answers with `run()`; with an Idempotency-Key, `run` gets hooks to commit its answer with its
 * effect and to skip its commands when the key was answered before (it then resolves with
 * undefined), and repeats get the first answer back unchanged.
 */
export async function answerOnce(
  c: Context<GatewayEnv>,
  svc: OutletServices,
  run: (idempotent?: IdempotentHooks) => Promise<Answer | undefined>,
  /** Opens an answer whose stored copy keeps a secret sealed (sealed.ts), before it is sent. */
  reveal: (answer: Answer) => Answer = (answer) => answer,
): Promise<Response> {
  const accountId = c.get("accountId");
  const key = c.req.header("idempotency-key");
  let answer: Answer;
  // Without the hooks nothing is skipped: there is always an answer.
  if (key === undefined) answer = (await run())!;
  else {
    if (!KEY.test(key))
      throw new ProblemError(400, "invalid-idempotency-key", "Idempotency-Key must be 1-128 visible ASCII characters.");
    const body = c.req.method === "GET" || c.req.method === "DELETE" ? "" : await c.req.text();
    const requestHash = IdempotencyStore.hashRequest(c.req.method, c.req.path, body);
    answer = reveal(
      await svc.idempotency.once(accountId, key, requestHash, (record, answered) => run({ record, answered })),
    );
  }
  const isProblem = answer.status >= 400;
  return c.body(answerPayload(answer), answer.status as 200, {
    "content-type": isProblem ? "application/problem+json" : "application/json",
  });
}
