import { createHash } from "node:crypto";
import { and, eq } from "drizzle-orm";
import type { Db } from "../storage/db.ts";
import { idempotencyKeys } from "../storage/schema.ts";
import { ProblemError } from "./problem.ts";

/** An HTTP answer as stored for repeats. */
export interface Answer {
  status: number;
  body: unknown;
}

/**
 * Idempotency-Key handling. The first answer is stored in the same transaction as the command's
 * events, so a crash can never leave an effect without its answer; a repeat (even one sent in
 * parallel with the first) gets that answer and changes nothing; the same key with another body
 * is refused.
 */
export class IdempotencyStore {
  private readonly inFlight = new Map<string, { requestHash: string; answer: Promise<Answer> }>();

  constructor(private readonly db: Db) {}

  static hashRequest(method: string, path: string, body: string): string {
    return createHash("sha256").update(`${method} ${path}\n${body}`).digest("hex");
  }

  /**
   * `run` receives `record`, to be called inside the commit's transaction with the answer.
   */
  async once(
    accountId: string,
    key: string,
    requestHash: string,
    run: (record: (answer: Answer) => void) => Promise<Answer>,
  ): Promise<Answer> {
    const id = `${accountId}\n${key}`;
    const pending = this.inFlight.get(id);
    if (pending) {
      const answer = await pending.answer;
      return this.sameRequest(pending.requestHash, requestHash, answer);
    }
    const stored = this.db
      .select()
      .from(idempotencyKeys)
      .where(and(eq(idempotencyKeys.accountId, accountId), eq(idempotencyKeys.key, key)))
      .get();
    if (stored) {
      return this.sameRequest(stored.requestHash, requestHash, {
        status: stored.status,
        body: JSON.parse(stored.response),
      });
    }
    const record = (answer: Answer) => {
      this.db
        .insert(idempotencyKeys)
        .values({
          accountId,
          key,
          requestHash,
          status: answer.status,
          response: JSON.stringify(answer.body),
          createdAt: Date.now(),
        })
        .run();
    };
    const answer = run(record);
    this.inFlight.set(id, { requestHash, answer });
    try {
      return await answer;
    } finally {
      this.inFlight.delete(id);
    }
  }

  private sameRequest(first: string, now: string, answer: Answer): Answer {
    if (first !== now) {
      throw new ProblemError(
        422,
        "idempotency-key-reused",
        "This Idempotency-Key was already used with a different request.",
      );
    }
    return answer;
  }
}
