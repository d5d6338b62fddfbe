import type { Database } from "better-sqlite3";

/** A stored Idempotency-Key answer, committed with the command that completes it. */
export interface AnswerRow {
  accountId: string;
  key: string;
  requestHash: string;
  status: number;
  response: string;
  createdAt: number;
}

/** A snapshot of the engine as of `seq`, committed with the group that reaches it. */
export interface SnapshotRow {
  seq: number;
  ts: number;
  digest: string;
  /** The engine snapshot's JSON. */
  state: string;
}

/** What a writer flush commits: its events (seqs firstSeq.., one ts) unsealed, answers and snapshot. */
export interface GroupRecord {
  firstSeq: number;
  ts: number;
  types: string[];
  actors: string[];
  /** Each event's payload JSON, exactly as it is hashed and stored. */
  payloads: string[];
  answers: AnswerRow[];
  snapshot: SnapshotRow | null;
}

/**
 * Commits groups (continuing from `head`) in one transaction; returns each one's event hashes,
 * concatenated (64 hex each). After a failed commit it refuses every later group.
 */
export function createGroupStore(
  sqlite: Database,
  outletId: string,
  head: { seq: number; hash: string },
): (groups: GroupRecord[]) => string[];
