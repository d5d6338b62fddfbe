import { closeSync, fdatasync as fdatasyncFile, open } from "node:fs";
import { promisify } from "node:util";
import { Worker } from "node:worker_threads";
import type { EventEnvelope } from "@stockroom/contracts";
import { GENESIS_HASH, SCHEMA_VERSION } from "@stockroom/contracts";
import type { EngineSnapshot } from "@stockroom/engine";
import type { Statement } from "better-sqlite3";
import { desc, lte } from "drizzle-orm";
import { BACKSTOP_PAGES, Checkpointer } from "./checkpointer.ts";
import type { Db } from "./db.ts";
import { createIndexer, INDEX_CURSOR, prepareCursorSave, skusOf } from "./event-indexer.js";
import { createGroupStore, type GroupRecord } from "./group-store.js";
import { snapshots } from "./schema.ts";

const openFile = promisify(open);
const fdatasync = promisify(fdatasyncFile);
/** Characters of one hex sha256 (an event's hash). */
export const HASH_LENGTH = 64;
/** The longest close() waits for the committer thread to close its connection. */
const CLOSE_WAIT_MS = 5_000;

/** The log cannot be trusted: the node must not serve stock from it. */
export class CorruptLogError extends Error {}

/** One committed group as stored (see event_groups in schema.ts). */
export interface GroupRow {
  first_seq: number;
  last_seq: number;
  ts: number;
  prev_hash: string;
  types: string;
  actors: string;
  hashes: string;
  payloads: string;
}

/** One stored group (see event_groups in schema.ts) split into its events; payloads parsed on demand. */
export class EventGroup {
  readonly first: number;
  readonly last: number;
  readonly ts: number;
  readonly types: string[];
  readonly actors: string[];
  /** Each event's JSON exactly as hashed. */
  readonly payloads: string[];
  private readonly prevHash: string;
  private readonly hashes: string;

  constructor(row: GroupRow) {
    this.first = row.first_seq;
    this.last = row.last_seq;
    this.ts = row.ts;
    this.prevHash = row.prev_hash;
    this.hashes = row.hashes;
    this.types = row.types.split("\n");
    this.actors = row.actors.split("\n");
    this.payloads = row.payloads.split("\n");
    const n = this.last - this.first + 1;
    const damage =
      n < 1
        ? `it ends (${this.last}) before it starts`
        : this.types.length !== n
          ? `${this.types.length} types`
          : this.actors.length !== n
            ? `${this.actors.length} actors`
            : this.payloads.length !== n
              ? `${this.payloads.length} payloads`
              : this.hashes.length !== n * HASH_LENGTH
                ? `${this.hashes.length / HASH_LENGTH} hashes`
                : this.prevHash.length !== HASH_LENGTH
                  ? "no previous hash"
                  : null;
    if (damage) {
      throw new CorruptLogError(
        `event group ${this.first}-${this.last} is damaged: ${damage}${n < 1 ? "" : ` for ${n} events`}`,
      );
    }
  }

  hash(i: number): string {
    return this.hashes.slice(i * HASH_LENGTH, (i + 1) * HASH_LENGTH);
  }

  prevHashOf(i: number): string {
    return i === 0 ? this.prevHash : this.hash(i - 1);
  }

  envelope(
    i: number,
    outletId: string,
    payload: EventEnvelope["payload"] = JSON.parse(this.payloads[i]!),
  ): EventEnvelope {
    return {
      v: SCHEMA_VERSION,
      outletId,
      seq: this.first + i,
      ts: this.ts,
      type: this.types[i]! as EventEnvelope["type"],
      actor: this.actors[i]!,
      prevHash: this.prevHashOf(i),
      hash: this.hash(i),
      payload,
    };
  }
}

/** Audit and execution queries: every given condition holds; seqs in (after, upTo]. */
export interface EventFilter {
  after: number;
  upTo: number;
  limit: number;
  sku?: string | undefined;
  actor?: string | undefined;
  type?: string | undefined;
  /** Executions naming this order (inflow or outflow). */
  orderId?: number | undefined;
}

const INDEX_PAGE = 1_000;

/**
 * The outlet's event log and snapshots in SQLite. Events are stored a row per run of a committed
 * group (event_groups) by the committer thread (committer.js); the audit index (event_index) is
 * built after commit by the log worker, so queries use it up to its cursor and scan the log
 * beyond it: answers never depend on how far it got.
 */
export class EventLog {
  // Raw statements throughout: rows of many events keep them few, and drizzle's mapping costs more.
  private readonly groupAt: Statement<[number], GroupRow>;
  private readonly groupsFrom: Statement<[number, number], GroupRow>;
  private readonly lastGroup: Statement<[], { seq: number; ts: number; hash: string }>;
  private readonly lastAt: Statement<[number], number>;
  private readonly indexCursor: Statement<[string], number>;
  private readonly indexSeqs: Statement<[string, number, number, number], number>;
  /**
   * The WAL file when the connection was opened synchronous FULL, else null (NORMAL or in memory:
   * nothing to wait for). Events are committed by the committer thread at that level; this
   * connection's own few writes (API keys) run at NORMAL, and `sync()` makes them durable.
   */
  private readonly wal: string | null;
  /** The newest fdatasync (running or queued); `queued` covers commits since the running one began. */
  private flushing: Promise<void> = Promise.resolve();
  private queued: Promise<void> | null = null;
  private walFd: number | null = null;
  private readonly checkpointer: Checkpointer | null = null;
  private indexer: ((maxEvents: number) => number) | null = null;
  /** The thread that commits groups (committer.js), started by the first commit; null in memory. */
  private committer: Worker | null = null;
  /** Groups sent to it, oldest first, waiting for their hashes. */
  private readonly committing: { resolve: (hashes: string) => void; reject: (error: Error) => void }[] = [];
  /** Set once it failed or exited: nothing more can be committed. */
  private committerFailure: Error | null = null;
  /** Set to 1 by the committer once its connection is closed. */
  private readonly committerClosed = new Int32Array(new SharedArrayBuffer(4));
  /** An in-memory log commits on this thread. */
  private storeHere: ((groups: GroupRecord[]) => string[]) | null = null;

  constructor(
    readonly db: Db,
    readonly outletId: string,
  ) {
    const sqlite = db.$client;
    this.groupAt = sqlite.prepare("SELECT * FROM event_groups WHERE first_seq <= ? ORDER BY first_seq DESC LIMIT 1");
    this.groupsFrom = sqlite.prepare("SELECT * FROM event_groups WHERE first_seq >= ? ORDER BY first_seq LIMIT ?");
    this.lastGroup = sqlite.prepare(
      `SELECT last_seq AS seq, ts, substr(hashes, -${HASH_LENGTH}) AS hash FROM event_groups ORDER BY first_seq DESC LIMIT 1`,
    );
    this.lastAt = sqlite
      .prepare<[number], number>(
        "SELECT last_seq FROM event_groups WHERE ts <= ? ORDER BY ts DESC, first_seq DESC LIMIT 1",
      )
      .pluck();
    this.indexCursor = sqlite.prepare<[string], number>("SELECT seq FROM cursors WHERE name = ?").pluck();
    this.indexSeqs = sqlite
      .prepare<[string, number, number, number], number>(
        "SELECT seq FROM event_index WHERE key = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
      )
      .pluck();
    this.wal = !sqlite.memory && sqlite.pragma("synchronous", { simple: true }) === 2 ? `${sqlite.name}-wal` : null;
    if (this.wal) sqlite.pragma("synchronous = NORMAL");
    if (!sqlite.memory && !sqlite.readonly) {
      this.checkpointer = new Checkpointer(sqlite.name);
      sqlite.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`);
      // Indexes whatever the last run (or an upgrade) left unindexed.
      if (this.indexedUpTo() < this.head().seq) this.checkpointer.poke();
    }
  }

  /**
   * Commits a writer flush's group (seqs right after the last committed, or sent, one): resolves
   * with its events' hashes, concatenated, once it is durable. Groups are committed in the order
   * they are given, on the committer thread; an in-memory log commits on this one.
   */
  commit(group: GroupRecord): Promise<string> {
    if (!this.checkpointer) {
      try {
        this.storeHere ??= createGroupStore(this.db.$client, this.outletId, this.head());
        return Promise.resolve(this.storeHere([group])[0]!);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    if (this.committerFailure) return Promise.reject(this.committerFailure);
    this.committer ??= this.startCommitter(this.checkpointer);
    const committer = this.committer;
    // Keeps the process alive only while a commit is under way.
    if (this.committing.length === 0) committer.ref();
    return new Promise((resolve, reject) => {
      this.committing.push({ resolve, reject });
      committer.postMessage(group);
    });
  }

  private startCommitter(checkpointer: Checkpointer): Worker {
    const sqlite = this.db.$client;
    const worker = new Worker(new URL("./committer.js", import.meta.url), {
      workerData: {
        file: sqlite.name,
        outletId: this.outletId,
        head: this.head(),
        durable: this.wal !== null,
        backstopPages: BACKSTOP_PAGES,
        lock: checkpointer.lock.buffer,
        closed: this.committerClosed.buffer,
      },
    });
    worker.on("message", (reply: { hashes: string[] } | { error: string; count: number }) => {
      if ("hashes" in reply) {
        for (const hashes of reply.hashes) this.committing.shift()!.resolve(hashes);
      } else {
        const error = new Error(reply.error);
        for (let i = 0; i < reply.count; i++) this.committing.shift()!.reject(error);
      }
      if (this.committing.length === 0) worker.unref();
      checkpointer.poke();
    });
    const fail = (error: Error) => {
      this.committerFailure ??= error;
      for (const waiting of this.committing.splice(0)) waiting.reject(this.committerFailure);
    };
    worker.on("error", fail);
    worker.once("exit", (code) => fail(new Error(`the committer thread exited (${code})`)));
    return worker;
  }

  /**
   * Saves how far a consumer of the log (the replicator) got. With a committer thread it is saved
   * there, in turn with the commits: on this connection it would wait for theirs, holding up the
   * event loop. Losing the last save only makes the consumer repeat some work.
   */
  saveCursor(name: string, seq: number): void {
    const cursor = { name, seq, updatedAt: Date.now() };
    if (!this.checkpointer) {
      prepareCursorSave(this.db.$client).run(name, seq, cursor.updatedAt);
      return;
    }
    this.committer ??= this.startCommitter(this.checkpointer);
    this.committer.postMessage({ cursor });
  }

  /**
   * Resolves once this connection's own writes (API keys) before the call are durable (at once
   * without a WAL to sync). Calls made while an fdatasync runs share the next one.
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

  /** Closes the database, the committer, the WAL handle kept for syncing and the log worker. */
  close(): void {
    const sqlite = this.db.$client;
    const committer = this.committer;
    if (committer) {
      // Its connection first (after the groups sent before this), then the log worker's: this
      // one, the last, then empties the WAL into the database.
      committer.postMessage("close");
      Atomics.wait(this.committerClosed, 0, 0, CLOSE_WAIT_MS);
      void committer.terminate();
    }
    this.checkpointer?.close();
    const fd = this.walFd;
    this.walFd = null;
    // Once no fdatasync runs on it any more.
    if (fd !== null) this.flushing.finally(() => closeSync(fd)).catch(() => {});
    sqlite.close();
  }

  /** The writer has commands waiting (true) or none (false): background indexing mostly waits for idle. */
  busy(busy: boolean): void {
    this.checkpointer?.busy(busy);
  }

  /** Runs `fn` in one read transaction of this connection: its reads see one moment and cost less. */
  reading<T>(fn: () => T): T {
    return this.db.$client.transaction(fn).deferred();
  }

  head(): { seq: number; hash: string; ts: number } {
    return this.lastGroup.get() ?? { seq: 0, hash: GENESIS_HASH, ts: 0 };
  }

  /** The last seq committed at or before `ts` (0 if none): sequenced time never decreases with seq. */
  lastSeqAt(ts: number): number {
    return this.lastAt.get(ts) ?? 0;
  }

  /** The seqs (after, upTo] of the events with startTime <= ts < endTime (either bound optional). */
  seqRange(startTime: number | undefined, endTime: number | undefined): { after: number; upTo: number } {
    return {
      after: startTime === undefined ? 0 : this.lastSeqAt(startTime - 1),
      upTo: endTime === undefined ? Number.MAX_SAFE_INTEGER : this.lastSeqAt(endTime - 1),
    };
  }

  /** The groups holding seqs (after, upTo], in order, read a few at a time so memory stays flat. */
  *groups(after: number, upTo = Number.MAX_SAFE_INTEGER): Generator<EventGroup> {
    if (upTo <= after) return;
    const at = this.groupAt.get(after + 1);
    let from = at && at.last_seq > after ? at.first_seq : after + 1;
    for (;;) {
      const rows = this.groupsFrom.all(from, 4);
      for (const row of rows) {
        if (row.first_seq > upTo) return;
        yield new EventGroup(row);
      }
      if (rows.length < 4) return;
      from = rows[rows.length - 1]!.first_seq + 1;
    }
  }

  /** Envelopes with seq in (after, upTo], in order. */
  *read(after: number, upTo = Number.MAX_SAFE_INTEGER): Generator<EventEnvelope> {
    for (const g of this.groups(after, upTo)) {
      const end = Math.min(g.last, upTo) - g.first;
      for (let i = Math.max(0, after + 1 - g.first); i <= end; i++) yield g.envelope(i, this.outletId);
    }
  }

  /** As read(), each envelope with its payload JSON exactly as stored (what its hash covers). */
  *readSealed(after: number, upTo = Number.MAX_SAFE_INTEGER): Generator<[EventEnvelope, string]> {
    for (const g of this.groups(after, upTo)) {
      const end = Math.min(g.last, upTo) - g.first;
      for (let i = Math.max(0, after + 1 - g.first); i <= end; i++) {
        yield [g.envelope(i, this.outletId), g.payloads[i]!];
      }
    }
  }

  /** Every execution in the log, in order (only their payloads are parsed). */
  *readExecutions(): Generator<EventEnvelope> {
    for (const g of this.groups(0)) {
      for (let i = 0; i < g.types.length; i++) if (g.types[i] === "execution") yield g.envelope(i, this.outletId);
    }
  }

  /** Up to `limit` envelopes in (after, upTo] as JSON text, payloads exactly as stored (and hashed). */
  readJson(after: number, limit: number, upTo = Number.MAX_SAFE_INTEGER): string[] {
    const out: string[] = [];
    const outlet = `{"v":${SCHEMA_VERSION},"outletId":${JSON.stringify(this.outletId)},"seq":`;
    for (const g of this.groups(after, upTo)) {
      const end = Math.min(g.last, upTo) - g.first;
      for (let i = Math.max(0, after + 1 - g.first); i <= end; i++) {
        if (out.length === limit) return out;
        out.push(
          `${outlet}${g.first + i},"ts":${g.ts},"type":${JSON.stringify(g.types[i])},"actor":${JSON.stringify(g.actors[i])},"prevHash":"${g.prevHashOf(i)}","hash":"${g.hash(i)}","payload":${g.payloads[i]}}`,
        );
      }
      if (out.length === limit) return out;
    }
    return out;
  }

  /** The last seq the audit index covers: every event up to it is indexed, none after it. */
  indexedUpTo(): number {
    return this.indexCursor.get(INDEX_CURSOR) ?? 0;
  }

  /**
   * Indexes up to `maxEvents` unindexed events on this thread (the log worker does it in the
   * background; this is for tools and tests). Returns how many it indexed.
   */
  catchUpIndex(maxEvents = Number.MAX_SAFE_INTEGER): number {
    this.indexer ??= createIndexer(this.db.$client);
    let done = 0;
    while (done < maxEvents) {
      this.checkpointer?.acquire();
      let n: number;
      try {
        n = this.indexer(Math.min(4_096, maxEvents - done));
      } finally {
        this.checkpointer?.release();
      }
      if (n === 0) break;
      done += n;
    }
    return done;
  }

  /**
   * Up to `limit` envelopes matching `filter`, in seq order: from the audit index up to its cursor
   * (by order, else sku, else actor), then by scanning the log beyond it, the same answer either way.
   */
  find(filter: EventFilter): EventEnvelope[] {
    // One read transaction: the index and its cursor as of one moment.
    return this.db.$client.transaction(() => this.findIn(filter))();
  }

  private findIn(f: EventFilter): EventEnvelope[] {
    const out: EventEnvelope[] = [];
    if (f.limit <= 0 || f.upTo <= f.after) return out;
    const key =
      f.orderId !== undefined
        ? `o:${f.orderId}`
        : f.sku !== undefined
          ? `s:${f.sku}`
          : f.actor !== undefined
            ? `a:${f.actor}`
            : null;
    let after = f.after;
    if (key !== null) {
      const indexed = Math.min(this.indexedUpTo(), f.upTo);
      let group: EventGroup | null = null;
      let from = after;
      while (from < indexed) {
        const seqs = this.indexSeqs.all(key, from, indexed, INDEX_PAGE);
        for (const seq of seqs) {
          if (!group || seq < group.first || seq > group.last) {
            const row = this.groupAt.get(seq);
            if (!row || row.last_seq < seq) continue;
            group = new EventGroup(row);
          }
          const e = this.match(group, seq - group.first, f);
          if (e) {
            out.push(e);
            if (out.length === f.limit) return out;
          }
        }
        if (seqs.length < INDEX_PAGE) break;
        from = seqs[seqs.length - 1]!;
      }
      after = Math.max(after, indexed);
    }
    for (const g of this.groups(after, f.upTo)) {
      const end = Math.min(g.last, f.upTo) - g.first;
      for (let i = Math.max(0, after + 1 - g.first); i <= end; i++) {
        const e = this.match(g, i, f);
        if (e) {
          out.push(e);
          if (out.length === f.limit) return out;
        }
      }
    }
    return out;
  }

  /** The envelope of event `i` of `g` if it passes every condition of `f`, else null. */
  private match(g: EventGroup, i: number, f: EventFilter): EventEnvelope | null {
    if (f.type !== undefined && g.types[i] !== f.type) return null;
    if (f.actor !== undefined && g.actors[i] !== f.actor) return null;
    const json = g.payloads[i]!;
    if (f.sku !== undefined && !json.includes(`"sku":${JSON.stringify(f.sku)}`)) return null;
    const payload = JSON.parse(json);
    if (f.sku !== undefined && !skusOf(g.types[i]!, payload).includes(f.sku)) return null;
    if (
      f.orderId !== undefined &&
      (g.types[i] !== "execution" || (payload.inflowOrderId !== f.orderId && payload.outflowOrderId !== f.orderId))
    ) {
      return null;
    }
    return g.envelope(i, this.outletId, payload);
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
