import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * HQ's view of each outlet: how far its events are applied (in the same transaction as their
 * effects, so a redelivery changes nothing) and its reconciliation state.
 */
export const outlets = sqliteTable("outlets", {
  outletId: text("outlet_id").primaryKey(),
  /** Last event seq whose effects are committed here. */
  appliedSeq: integer("applied_seq").notNull(),
  /** Its hash: the next event's prevHash must equal it. */
  appliedHash: text("applied_hash").notNull(),
  appliedTs: integer("applied_ts").notNull(),
  /** JetStream stream sequence of the first and of the last message applied for this outlet. */
  firstStreamSeq: integer("first_stream_seq").notNull(),
  lastStreamSeq: integer("last_stream_seq").notNull(),
  /** When HQ stopped applying this outlet's events (a gap or a broken chain), and why. */
  haltReason: text("halt_reason"),
  haltDetail: text("halt_detail"),
  haltedAt: integer("halted_at"),
  /** The last checkpoint HQ compared: its seq, time, and whether HQ's view matched. */
  checkpointSeq: integer("checkpoint_seq"),
  checkpointTs: integer("checkpoint_ts"),
  checkpointOk: integer("checkpoint_ok", { mode: "boolean" }),
  /** JSON array of the skus whose rows differed at that checkpoint. */
  divergedSkus: text("diverged_skus").notNull(),
  /** The last checkpoint that matched. */
  verifiedSeq: integer("verified_seq"),
  /** Since when the outlet has been diverged (null when it is not). */
  divergedSince: integer("diverged_since"),
  updatedAt: integer("updated_at").notNull(),
});

/** Fills of every outlet: the reporter's history. `tradeSeq` numbers a sku's trades chain-wide (market data). */
export const executions = sqliteTable(
  "executions",
  {
    outletId: text("outlet_id").notNull(),
    execId: integer("exec_id").notNull(),
    seq: integer("seq").notNull(),
    ts: integer("ts").notNull(),
    sku: text("sku").notNull(),
    price: integer("price").notNull(),
    quantity: integer("quantity").notNull(),
    inflowOrderId: integer("inflow_order_id").notNull(),
    inflowAccountId: text("inflow_account_id").notNull(),
    outflowOrderId: integer("outflow_order_id"),
    outflowAccountId: text("outflow_account_id").notNull(),
    holdId: text("hold_id"),
    aggressor: text("aggressor").notNull(),
    tradeSeq: integer("trade_seq").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.outletId, t.execId] }),
    index("executions_sku_trade").on(t.sku, t.tradeSeq),
    index("executions_ts").on(t.ts),
    index("executions_inflow_order").on(t.inflowOrderId),
    index("executions_outflow_order").on(t.outflowOrderId),
  ],
);

/** Every order of every outlet with its latest state. */
export const orders = sqliteTable(
  "orders",
  {
    outletId: text("outlet_id").notNull(),
    orderId: integer("order_id").notNull(),
    accountId: text("account_id").notNull(),
    sku: text("sku").notNull(),
    side: text("side").notNull(),
    price: integer("price").notNull(),
    quantity: integer("quantity").notNull(),
    filled: integer("filled").notNull(),
    remaining: integer("remaining").notNull(),
    /** accepted (in flight) | resting | filled | cancelled */
    status: text("status").notNull(),
    cancelReason: text("cancel_reason"),
    timeInForce: text("time_in_force").notNull(),
    reason: text("reason").notNull(),
    reference: text("reference"),
    createdSeq: integer("created_seq").notNull(),
    createdTs: integer("created_ts").notNull(),
    updatedSeq: integer("updated_seq").notNull(),
    updatedTs: integer("updated_ts").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.outletId, t.orderId] }),
    index("orders_sku_created").on(t.sku, t.createdTs),
    index("orders_created").on(t.createdTs),
  ],
);

/**
 * Per-outlet replicas (engine + market data) at an applied seq. A restart restores them and
 * re-reads the stream from `streamSeq` + 1 to bring them up to `outlets.applied_seq`.
 */
export const replicas = sqliteTable("replicas", {
  outletId: text("outlet_id").primaryKey(),
  seq: integer("seq").notNull(),
  hash: text("hash").notNull(),
  streamSeq: integer("stream_seq").notNull(),
  engine: text("engine").notNull(),
  marketData: text("market_data").notNull(),
  takenAt: integer("taken_at").notNull(),
});

/** Last sequence number of each market-data stream (`<sku>.trades`, `<sku>.depth`, `<sku>.candles.<res>`). */
export const mdSequences = sqliteTable("md_sequences", {
  stream: text("stream").primaryKey(),
  seq: integer("seq").notNull(),
});

/** Every divergence HQ reported, for the record. */
export const divergences = sqliteTable(
  "divergences",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    outletId: text("outlet_id").notNull(),
    seq: integer("seq").notNull(),
    kind: text("kind").notNull(),
    detail: text("detail").notNull(),
    skus: text("skus").notNull(),
    at: integer("at").notNull(),
  },
  (t) => [index("divergences_outlet").on(t.outletId, t.id)],
);

/** HQ's own API keys: only a hash of the secret is kept. */
export const apiKeys = sqliteTable("api_keys", {
  keyId: text("key_id").primaryKey(),
  name: text("name").notNull(),
  role: text("role").notNull(),
  secretHash: text("secret_hash").notNull(),
  createdAt: integer("created_at").notNull(),
  revokedAt: integer("revoked_at"),
});

export const meta = sqliteTable("meta", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
});
