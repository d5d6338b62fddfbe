import { createHash } from "node:crypto";
import { and, eq, sql } from "drizzle-orm";
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
  // Prepared once: every idempotent write looks up and stores a key.
  private readonly find;
  private readonly insert;

  constructor(db: Db) {
    this.find = db
      .select()
      .from(idempotencyKeys)
      .where(
        and(
          eq(idempotencyKeys.accountId, sql.placeholder("accountId")),
          eq(idempotencyKeys.key, sql.placeholder("key")),
        ),
      )
      .prepare();
    this.insert = db
      .insert(idempotencyKeys)
      .values({
        accountId: sql.placeholder("accountId"),
        key: sql.placeholder("key"),
        requestHash: sql.placeholder("requestHash"),
        status: sql.placeholder("status"),
        response: sql.placeholder("response"),
        createdAt: sql.placeholder("createdAt"),
      })
      .prepare();
  }

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
    const stored = this.find.get({ accountId, key });
    if (stored) {
      return this.sameRequest(stored.requestHash, requestHash, {
        status: stored.status,
        body: JSON.parse(stored.response),
      });
    }
    const record = (answer: Answer) => {
      this.insert.run({
        accountId,
        key,
        requestHash,
        status: answer.status,
        response: JSON.stringify(answer.body),
        createdAt: Date.now(),
      });
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
