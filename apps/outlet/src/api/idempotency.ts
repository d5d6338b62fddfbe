import { hash } from "node:crypto";
import type { Statement } from "better-sqlite3";
import type { Db } from "../storage/db.ts";
import type { EventLog } from "../storage/event-log.ts";
import type { AnswerRow } from "../storage/group-store.js";
import { ProblemError } from "./problem.ts";
import { withHashes } from "./quoted-events.ts";

/** An HTTP answer as stored for repeats. */
export interface Answer {
  status: number;
  body: unknown;
  /**
   * The body quotes envelopes as executed, before the committer thread hashed them: their
   * prevHash and hash are filled in once committed. Such an answer is serialised again to be
   * sent, and its stored copy gets them from the log when read back (quoted-events.ts).
   */
  quotesEvents?: boolean;
  /**
   * The body's JSON once serialised (by answerJson), so storing and sending it serialise it once;
   * when set, it is what is sent and `body` is not read.
   */
  json?: string;
  /** Or the body's JSON as UTF-8, when built as bytes (a batch's long answer): sent as it is. */
  bytes?: Buffer<ArrayBuffer>;
}

export function answerJson(answer: Answer): string {
  if (answer.quotesEvents) return JSON.stringify(answer.body);
  answer.json ??= answer.bytes ? answer.bytes.toString() : JSON.stringify(answer.body);
  return answer.json;
}

/** What is sent: the bytes when the answer was built as bytes, else its JSON. */
export function answerPayload(answer: Answer): string | Buffer<ArrayBuffer> {
  return answer.bytes ?? answerJson(answer);
}

/** A stored first answer, as read back. */
interface StoredAnswer {
  requestHash: string;
  status: number;
  response: string;
}

/**
 * Idempotency-Key handling. The first answer is committed in the same transaction as the
 * command's events, so a crash can never leave an effect without its answer; a repeat (even one
 * sent in parallel with the first) gets that answer and changes nothing; the same key with
 * another body is refused.
 */
export class IdempotencyStore {
  /** Keys being answered now: a repeat waits for the first's answer and the hash of its request. */
  private readonly inFlight = new Map<string, Promise<{ requestHash: string; answer: Answer }>>();
  // Prepared once, on the raw connection: every idempotent write looks up its key.
  private readonly find: Statement<[string, string], StoredAnswer>;
  private readonly insert: Statement<[AnswerRow]>;

  constructor(
    db: Db,
    private readonly log: EventLog,
  ) {
    this.find = db.$client.prepare(
      "SELECT request_hash AS requestHash, status, response FROM idempotency_keys WHERE account_id = ? AND key = ?",
    );
    this.insert = db.$client.prepare(
      "INSERT INTO idempotency_keys (account_id, key, request_hash, status, response, created_at) VALUES (@accountId, @key, @requestHash, @status, @response, @createdAt)",
    );
  }

  /**
   * Stores an answer on this connection, for a write made outside the writer (API keys): inside
   * the write's own transaction, so the two are committed together.
   */
  storeHere(row: AnswerRow): void {
    this.insert.run(row);
  }

  static hashRequest(method: string, path: string, body: string): string {
    // One-shot hash: about half the cost of a Hash object for inputs this small.
    return hash("sha256", `${method} ${path}\n${body}`, "hex");
  }

  /**
   * `run` gets two hooks for each command it submits to the writer: `record` (its storeAnswer),
   * the answer to commit with the command's events, and `answered` (its skipIf), which looks the
   * key up before anything executes (inside the writer's read transaction for the group, where a
   * lookup costs a fraction of one with a transaction of its own). A key answered before skips
   * every command; one whose first answer is not durable yet is still in flight here.
   */
  async once(
    accountId: string,
    key: string,
    requestHash: string,
    /** Resolves with its answer, or undefined when its commands were skipped as answered before. */
    run: (record: (answer: Answer) => AnswerRow, answered: () => boolean) => Promise<Answer | undefined>,
  ): Promise<Answer> {
    const id = `${accountId}\n${key}`;
    const pending = this.inFlight.get(id);
    if (pending) {
      const first = await pending;
      return this.sameRequest(first.requestHash, requestHash, first.answer);
    }
    // Looked up once, at the first command's check: a batch's later commands reuse the answer.
    let looked = false;
    let stored: StoredAnswer | undefined;
    const answered = () => {
      if (!looked) {
        looked = true;
        stored = this.find.get(accountId, key);
      }
      return stored !== undefined;
    };
    const record = (answer: Answer): AnswerRow => ({
      accountId,
      key,
      requestHash,
      status: answer.status,
      response: answerJson(answer),
      createdAt: Date.now(),
    });
    const first = run(record, answered).then((answer) => {
      if (!looked || (stored === undefined && !answer)) {
        throw new Error("an idempotent run must check answered() before its commands, and answer unless skipped");
      }
      if (stored === undefined) return { requestHash, answer: answer! };
      // Sent as stored, parsed only if it quotes envelopes (a batch's runs to hundreds of KiB).
      const { status, response } = stored;
      return { requestHash: stored.requestHash, answer: { status, body: null, json: withHashes(response, this.log) } };
    });
    this.inFlight.set(id, first);
    try {
      const { requestHash: firstHash, answer } = await first;
      return this.sameRequest(firstHash, requestHash, answer);
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
