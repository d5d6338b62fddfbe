import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * The append-only, hash-chained event log, the outlet's source of truth: a row holds a run of
 * events that share a timestamp (part or all of a writer flush, up to ~32 KiB of payloads), seqs
 * first_seq..last_seq without gaps.
 * Per event, in seq order: `types` and `actors` joined by "\n", `hashes` the 64-hex hashes
 * concatenated, `payloads` each event's JSON exactly as hashed joined by "\n" (JSON.stringify
 * never writes a raw newline). An event's prevHash is the hash before it (`prev_hash` for the
 * first). Every envelope keeps its own seq, prevHash and hash; see EventLog.
 */
export const eventGroups = sqliteTable(
  "event_groups",
  {
    firstSeq: integer("first_seq").primaryKey(),
    lastSeq: integer("last_seq").notNull(),
    ts: integer("ts").notNull(),
    prevHash: text("prev_hash").notNull(),
    types: text("types").notNull(),
    actors: text("actors").notNull(),
    hashes: text("hashes").notNull(),
    payloads: text("payloads").notNull(),
  },
  // One entry per group: time bounds become seq bounds (EventLog.lastSeqAt), ts never decreasing with seq.
  (t) => [index("event_groups_ts").on(t.ts)],
);

/**
 * The audit index, built after commit (off the writer's path) up to the `event_index` cursor:
 * `s:<sku>` (events whose payload names a sku), `a:<actor>`, `o:<orderId>` (executions of an order).
 * Queries use it up to that cursor and scan the log beyond it.
 */
export const eventIndex = sqliteTable(
  "event_index",
  {
    key: text("key").notNull(),
    seq: integer("seq").notNull(),
  },
  (t) => [primaryKey({ columns: [t.key, t.seq] })],
);

/** Engine snapshots; recovery starts from the newest and replays the tail. */
export const snapshots = sqliteTable("snapshots", {
  seq: integer("seq").primaryKey(),
  ts: integer("ts").notNull(),
  digest: text("digest").notNull(),
  state: text("state").notNull(),
});

/** First answers to writes, by Idempotency-Key and account: a repeat gets the same answer. */
export const idempotencyKeys = sqliteTable(
  "idempotency_keys",
  {
    accountId: text("account_id").notNull(),
    key: text("key").notNull(),
    requestHash: text("request_hash").notNull(),
    status: integer("status").notNull(),
    response: text("response").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.key] })],
);

/** API keys: only a hash of the secret is kept. */
export const credentials = sqliteTable("credentials", {
  keyId: text("key_id").primaryKey(),
  accountId: text("account_id").notNull(),
  secretHash: text("secret_hash").notNull(),
  createdAt: integer("created_at").notNull(),
  revokedAt: integer("revoked_at"),
});

/** How far each consumer of the log (the replicator) has got. */
export const cursors = sqliteTable("cursors", {
  name: text("name").primaryKey(),
  seq: integer("seq").notNull(),
  updatedAt: integer("updated_at").notNull(),
});
