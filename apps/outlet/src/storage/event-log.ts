import { type EventEnvelope, GENESIS_HASH, SCHEMA_VERSION } from "@stockroom/contracts";
import type { EngineSnapshot } from "@stockroom/engine";
import { and, asc, desc, eq, gt, lte, sql } from "drizzle-orm";
import type { Db } from "./db.ts";
import { events, snapshots } from "./schema.ts";

type EventRow = typeof events.$inferSelect;

/** The outlet's event log and snapshots in SQLite. */
export class EventLog {
  private readonly insert;

  constructor(
    readonly db: Db,
    readonly outletId: string,
  ) {
    this.insert = db
      .insert(events)
      .values({
        seq: sql.placeholder("seq"),
        ts: sql.placeholder("ts"),
        type: sql.placeholder("type"),
        actor: sql.placeholder("actor"),
        prevHash: sql.placeholder("prevHash"),
        hash: sql.placeholder("hash"),
        payload: sql.placeholder("payload"),
        sku: sql.placeholder("sku"),
      })
      .prepare();
  }

  /** Appends envelopes whose payload JSON is given as hashed; call inside a transaction. */
  append(e: EventEnvelope, payloadJson: string): void {
    const sku = "sku" in e.payload ? e.payload.sku : null;
    this.insert.run({
      seq: e.seq,
      ts: e.ts,
      type: e.type,
      actor: e.actor,
      prevHash: e.prevHash,
      hash: e.hash,
      payload: payloadJson,
      sku,
    });
  }

  /** Runs `fn` in one transaction: one fsync for everything it writes. */
  transaction<T>(fn: () => T): T {
    return this.db.$client.transaction(fn)();
  }

  head(): { seq: number; hash: string; ts: number } {
    const row = this.db.select().from(events).orderBy(desc(events.seq)).limit(1).get();
    return row ? { seq: row.seq, hash: row.hash, ts: row.ts } : { seq: 0, hash: GENESIS_HASH, ts: 0 };
  }

  /** The last seq committed at or before `ts` (0 if none). */
  lastSeqAt(ts: number): number {
    const row = this.db
      .select({ seq: events.seq })
      .from(events)
      .where(lte(events.ts, ts))
      .orderBy(desc(events.seq))
      .limit(1)
      .get();
    return row?.seq ?? 0;
  }

  /** Envelopes with seq in (after, upTo], in order, read in pages so memory stays flat. */
  *read(after: number, upTo = Number.MAX_SAFE_INTEGER, pageSize = 5_000): Generator<EventEnvelope> {
    let from = after;
    for (;;) {
      const rows = this.db
        .select()
        .from(events)
        .where(and(gt(events.seq, from), lte(events.seq, upTo)))
        .orderBy(asc(events.seq))
        .limit(pageSize)
        .all();
      for (const row of rows) yield this.toEnvelope(row);
      if (rows.length < pageSize) return;
      from = rows[rows.length - 1]!.seq;
    }
  }

  /** Every execution in the log, in order, read in pages. */
  *readExecutions(pageSize = 5_000): Generator<EventEnvelope> {
    let from = 0;
    for (;;) {
      const rows = this.db
        .select()
        .from(events)
        .where(and(eq(events.type, "execution"), gt(events.seq, from)))
        .orderBy(asc(events.seq))
        .limit(pageSize)
        .all();
      for (const row of rows) yield this.toEnvelope(row);
      if (rows.length < pageSize) return;
      from = rows[rows.length - 1]!.seq;
    }
  }

  /** Up to `limit` envelopes after `after` as JSON text, payloads exactly as stored (and hashed). */
  readJson(after: number, limit: number): string[] {
    const rows = this.db.select().from(events).where(gt(events.seq, after)).orderBy(asc(events.seq)).limit(limit).all();
    const outlet = JSON.stringify(this.outletId);
    return rows.map(
      (r) =>
        `{"v":${SCHEMA_VERSION},"outletId":${outlet},"seq":${r.seq},"ts":${r.ts},"type":${JSON.stringify(r.type)},"actor":${JSON.stringify(r.actor)},"prevHash":"${r.prevHash}","hash":"${r.hash}","payload":${r.payload}}`,
    );
  }

  toEnvelope(row: EventRow): EventEnvelope {
    return {
      v: SCHEMA_VERSION,
      outletId: this.outletId,
      seq: row.seq,
      ts: row.ts,
      type: row.type,
      actor: row.actor,
      prevHash: row.prevHash,
      hash: row.hash,
      payload: JSON.parse(row.payload),
    };
  }

  saveSnapshot(seq: number, ts: number, digest: string, state: EngineSnapshot): void {
    this.db
      .insert(snapshots)
      .values({ seq, ts, digest, state: JSON.stringify(state) })
      .onConflictDoNothing()
      .run();
  }

  /** The newest snapshot at or before `seq`. */
  latestSnapshot(
    atOrBefore = Number.MAX_SAFE_INTEGER,
  ): { seq: number; ts: number; digest: string; state: EngineSnapshot } | null {
    const row = this.db
      .select()
      .from(snapshots)
      .where(lte(snapshots.seq, atOrBefore))
      .orderBy(desc(snapshots.seq))
      .limit(1)
      .get();
    return row ? { seq: row.seq, ts: row.ts, digest: row.digest, state: JSON.parse(row.state) } : null;
  }
}
