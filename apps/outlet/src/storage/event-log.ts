import { closeSync, fdatasync as fdatasyncFile, open } from "node:fs";
import { promisify } from "node:util";
import { type EventEnvelope, GENESIS_HASH, SCHEMA_VERSION } from "@stockroom/contracts";
import type { EngineSnapshot } from "@stockroom/engine";
import type { Statement } from "better-sqlite3";
import { and, asc, desc, eq, gt, lte } from "drizzle-orm";
import { BACKSTOP_PAGES, Checkpointer } from "./checkpointer.ts";
import type { Db } from "./db.ts";
import { events, snapshots } from "./schema.ts";

type EventRow = typeof events.$inferSelect;

const openFile = promisify(open);
const fdatasync = promisify(fdatasyncFile);

/** The outlet's event log and snapshots in SQLite. */
export class EventLog {
  // Raw statements on the hot paths: drizzle's placeholder mapping costs more than the insert.
  private readonly insert: Statement<[number, number, string, string, string, string, string, string | null]>;
  private readonly tsAt: Statement<[number], { ts: number }>;
  /**
   * The WAL file when the connection was opened synchronous FULL, else null (NORMAL or in memory:
   * nothing to wait for). FULL would fsync inside COMMIT, blocking the event loop for the whole
   * flush; instead commits run at NORMAL and `sync()` fdatasyncs the WAL on libuv's thread pool,
   * which makes every frame committed before it durable: the same guarantee, off the loop.
   * (NORMAL still syncs the WAL before each checkpoint and the database after it.)
   */
  private readonly wal: string | null;
  /** The newest fdatasync (running or queued); `queued` covers commits since the running one began. */
  private flushing: Promise<void> = Promise.resolve();
  private queued: Promise<void> | null = null;
  private walFd: number | null = null;
  private readonly checkpointer: Checkpointer | null = null;

  constructor(
    readonly db: Db,
    readonly outletId: string,
  ) {
    const sqlite = db.$client;
    this.insert = sqlite.prepare(
      "INSERT INTO events (seq, ts, type, actor, prev_hash, hash, payload, sku) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    );
    this.tsAt = sqlite.prepare("SELECT ts FROM events WHERE seq = ?");
    this.wal = !sqlite.memory && sqlite.pragma("synchronous", { simple: true }) === 2 ? `${sqlite.name}-wal` : null;
    if (this.wal) sqlite.pragma("synchronous = NORMAL");
    if (!sqlite.memory) {
      this.checkpointer = new Checkpointer(sqlite.name);
      sqlite.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`);
    }
  }

  /** Appends envelopes with their payload JSON as hashed; call inside a transaction. */
  append(envelopes: readonly EventEnvelope[], payloadJson: readonly string[]): void {
    for (let i = 0; i < envelopes.length; i++) {
      const e = envelopes[i]!;
      const sku = "sku" in e.payload ? e.payload.sku : null;
      this.insert.run(e.seq, e.ts, e.type, e.actor, e.prevHash, e.hash, payloadJson[i]!, sku);
    }
  }

  /**
   * Resolves once everything committed before the call is durable (at once without a WAL to
   * sync). Calls made while an fdatasync runs share the next one.
   */
  sync(): Promise<void> {
    this.checkpointer?.poke();
    const wal = this.wal;
    if (!wal) return Promise.resolve();
    if (!this.queued) {
      const next = this.flushing.then(async () => {
        // From here on, commits need the fdatasync after this one.
        this.queued = null;
        // Opened once: SQLite keeps the same WAL file (reset in place) while a connection is open.
        this.walFd ??= await openFile(wal, "r+");
        await fdatasync(this.walFd);
      });
      this.queued = next;
      this.flushing = next;
    }
    return this.queued;
  }

  /** Closes the database, the WAL handle kept for syncing and the checkpointer. */
  close(): void {
    this.checkpointer?.close();
    const fd = this.walFd;
    this.walFd = null;
    // Once no fdatasync runs on it any more.
    if (fd !== null) this.flushing.finally(() => closeSync(fd)).catch(() => {});
    this.db.$client.close();
  }

  /** Runs `fn` in one transaction: one fsync for everything it writes. */
  transaction<T>(fn: () => T): T {
    return this.db.$client.transaction(fn)();
  }

  head(): { seq: number; hash: string; ts: number } {
    const row = this.db.select().from(events).orderBy(desc(events.seq)).limit(1).get();
    return row ? { seq: row.seq, hash: row.hash, ts: row.ts } : { seq: 0, hash: GENESIS_HASH, ts: 0 };
  }

  /**
   * The last seq committed at or before `ts` (0 if none): a binary search over the seq key, as
   * sequenced time never decreases with seq (the writer's clock only moves forward).
   */
  lastSeqAt(ts: number): number {
    let lo = 0;
    let hi = this.head().seq;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (this.tsAt.get(mid)!.ts <= ts) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** The seqs (after, upTo] of the events with startTime <= ts < endTime (either bound optional). */
  seqRange(startTime: number | undefined, endTime: number | undefined): { after: number; upTo: number } {
    return {
      after: startTime === undefined ? 0 : this.lastSeqAt(startTime - 1),
      upTo: endTime === undefined ? Number.MAX_SAFE_INTEGER : this.lastSeqAt(endTime - 1),
    };
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
