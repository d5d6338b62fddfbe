import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** The append-only, hash-chained event log: the outlet's source of truth. */
export const events = sqliteTable(
  "events",
  {
    seq: integer("seq").primaryKey(),
    ts: integer("ts").notNull(),
    type: text("type").notNull(),
    actor: text("actor").notNull(),
    prevHash: text("prev_hash").notNull(),
    hash: text("hash").notNull(),
    /** The event's JSON exactly as it was hashed. */
    payload: text("payload").notNull(),
    /** Copied out of the payload for the audit trail's filters. */
    sku: text("sku"),
  },
  // No index on ts: it never decreases with seq, so time bounds become seq bounds (EventLog.seqRange).
  (t) => [index("events_sku").on(t.sku, t.seq), index("events_actor").on(t.actor, t.seq)],
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
