import { hash } from "node:crypto";
import type { Statement } from "better-sqlite3";
import type { Db } from "../storage/db.ts";
import { ProblemError } from "./problem.ts";

/** An HTTP answer as stored for repeats. */
export interface Answer {
  status: number;
  body: unknown;
  /** The body's JSON once serialised (by answerJson), so storing and sending it serialise it once. */
  json?: string;
}

export function answerJson(answer: Answer): string {
  answer.json ??= JSON.stringify(answer.body);
  return answer.json;
}

/**
 * Idempotency-Key handling. The first answer is stored in the same transaction as the command's
 * events, so a crash can never leave an effect without its answer; a repeat (even one sent in
 * parallel with the first) gets that answer and changes nothing; the same key with another body
 * is refused.
 */
export class IdempotencyStore {
  private readonly inFlight = new Map<string, { requestHash: string; answer: Promise<Answer> }>();
  // Prepared once, on the raw connection: every idempotent write looks up and stores a key.
  private readonly find: Statement<[string, string], { requestHash: string; status: number; response: string }>;
  private readonly insert: Statement<[string, string, string, number, string, number]>;

  constructor(db: Db) {
    this.find = db.$client.prepare(
      "SELECT request_hash AS requestHash, status, response FROM idempotency_keys WHERE account_id = ? AND key = ?",
    );
    this.insert = db.$client.prepare(
      "INSERT INTO idempotency_keys (account_id, key, request_hash, status, response, created_at) VALUES (?, ?, ?, ?, ?, ?)",
    );
  }

  static hashRequest(method: string, path: string, body: string): string {
    // One-shot hash: about half the cost of a Hash object for inputs this small.
    return hash("sha256", `${method} ${path}\n${body}`, "hex");
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
    const stored = this.find.get(accountId, key);
    if (stored) {
      return this.sameRequest(stored.requestHash, requestHash, {
        status: stored.status,
        body: JSON.parse(stored.response),
        json: stored.response,
      });
    }
    const record = (answer: Answer) => {
      this.insert.run(accountId, key, requestHash, answer.status, answerJson(answer), Date.now());
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
