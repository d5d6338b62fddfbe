import { type Command, type EventEnvelope, hashEnvelope, SCHEMA_VERSION } from "@stockroom/contracts";
import { digestOf, type Engine } from "@stockroom/engine";
import type { EventLog } from "../storage/event-log.ts";

export interface WriterOptions {
  /** Most commands committed in one transaction. */
  maxBatch?: number;
  /** Snapshot after this many events… */
  snapshotEveryEvents?: number;
  /** …or this long since the last snapshot, whichever comes first. */
  snapshotEveryMs?: number;
  /** Events already in the log after the newest snapshot (recovery's tail), counted towards the next one. */
  unsnapshottedEvents?: number;
  /** Wall clock, injectable for tests; sequenced time never goes backwards whatever it says. */
  now?: () => number;
}

/** Runs inside the commit's transaction with the command's envelopes (e.g. to store an idempotent answer). */
export type InTransaction = (envelopes: EventEnvelope[]) => void;
/**
 * Runs right after the command executed, before the next one does: the engine's state is
 * exactly this command's outcome (e.g. to render its answer). Must not throw.
 */
export type AfterExecute = (envelopes: EventEnvelope[]) => void;

interface Pending {
  command: Command;
  actor: string;
  inTransaction: InTransaction | undefined;
  afterExecute: AfterExecute | undefined;
  resolve: (events: EventEnvelope[]) => void;
  reject: (error: Error) => void;
}

/** After a failed commit the engine is ahead of the disk: nothing more may be acknowledged. */
export class WriterStoppedError extends Error {}

/**
 * The single writer. Commands that arrive together are executed in order and committed as one
 * group (one transaction); its fsync runs off the event loop, and only once it is done does each
 * caller get its events. Commands arriving meanwhile wait and form the next group, so the
 * engine never runs ahead of the disk where a read could see it (see settled()).
 */
export class Writer {
  private queue: Pending[] = [];
  private scheduled = false;
  private stopped: Error | null = null;
  /** A committed group is waiting for its fsync. */
  private syncing = false;
  /** Reads waiting for that fsync. */
  private settling: (() => void)[] = [];
  private seq: number;
  private durableSeq: number;
  private hash: string;
  private ts: number;
  private eventsSinceSnapshot = 0;
  private lastSnapshotAt: number;
  private readonly maxBatch: number;
  private readonly snapshotEveryEvents: number;
  private readonly snapshotEveryMs: number;
  private readonly now: () => number;
  /** Called after each durable commit with its envelopes (for SSE, metrics, replication). */
  onCommit: (envelopes: EventEnvelope[], batchSize: number, commitMs: number) => void = () => {};

  constructor(
    private readonly log: EventLog,
    readonly engine: Engine,
    head: { seq: number; hash: string; ts: number },
    options: WriterOptions = {},
  ) {
    this.seq = head.seq;
    this.durableSeq = head.seq;
    this.hash = head.hash;
    this.ts = head.ts;
    this.maxBatch = options.maxBatch ?? 4_096;
    this.snapshotEveryEvents = options.snapshotEveryEvents ?? 100_000;
    this.snapshotEveryMs = options.snapshotEveryMs ?? 300_000;
    this.now = options.now ?? Date.now;
    this.eventsSinceSnapshot = options.unsnapshottedEvents ?? 0;
    this.lastSnapshotAt = this.now();
  }

  /** The last durable (acknowledged) seq. */
  get lastSeq(): number {
    return this.durableSeq;
  }

  get failure(): Error | null {
    return this.stopped;
  }

  /**
   * Resolves once the engine's state is durable: at once, unless a group's fsync is running.
   * Reads of the engine wait for it, so they never show an effect a crash could still undo; they
   * run before the next group executes.
   */
  settled(): Promise<void> {
    if (!this.syncing || this.stopped) return Promise.resolve();
    return new Promise((resolve) => this.settling.push(resolve));
  }

  /** Resolves with the command's events once they are durable (an empty list: nothing changed). */
  submit(
    command: Command,
    actor: string,
    inTransaction?: InTransaction,
    afterExecute?: AfterExecute,
  ): Promise<EventEnvelope[]> {
    if (this.stopped) return Promise.reject(new WriterStoppedError(`writer stopped: ${this.stopped.message}`));
    return new Promise((resolve, reject) => {
      this.queue.push({ command, actor, inTransaction, afterExecute, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    // While an fsync runs, commands wait: the group after it is scheduled when it completes.
    if (this.stopped || this.syncing || this.queue.length === 0) return;
    const batch = this.queue.length > this.maxBatch ? this.queue.splice(0, this.maxBatch) : this.queue;
    if (batch === this.queue) this.queue = [];
    const started = performance.now();
    const wall = this.now();
    if (wall > this.ts) this.ts = wall;
    const results: EventEnvelope[][] = [];
    const envelopes: EventEnvelope[] = [];
    const payloadJson: string[] = [];
    for (const p of batch) {
      const own: EventEnvelope[] = [];
      for (const payload of this.engine.execute(p.command, this.ts)) {
        const json = JSON.stringify(payload);
        const envelope: EventEnvelope = {
          v: SCHEMA_VERSION,
          outletId: this.log.outletId,
          seq: ++this.seq,
          ts: this.ts,
          type: payload.type,
          actor: p.actor,
          prevHash: this.hash,
          payload,
          hash: "",
        };
        // Sealed in place: hashEnvelope reads every field but `hash`.
        envelope.hash = hashEnvelope(envelope, json);
        this.hash = envelope.hash;
        own.push(envelope);
        envelopes.push(envelope);
        payloadJson.push(json);
      }
      results.push(own);
      p.afterExecute?.(own);
    }
    try {
      this.log.transaction(() => {
        this.log.append(envelopes, payloadJson);
        for (let i = 0; i < batch.length; i++) batch[i]!.inTransaction?.(results[i]!);
        this.eventsSinceSnapshot += envelopes.length;
        if (this.snapshotDue(wall)) this.snapshot(wall);
      });
    } catch (error) {
      this.stop(error as Error, batch);
      return;
    }
    const seq = this.seq;
    this.syncing = true;
    this.log.sync().then(
      () => {
        this.syncing = false;
        this.durableSeq = seq;
        for (let i = 0; i < batch.length; i++) batch[i]!.resolve(results[i]!);
        if (envelopes.length > 0) this.onCommit(envelopes, batch.length, performance.now() - started);
        for (const settle of this.settling.splice(0)) settle();
        if (this.queue.length > 0) this.schedule();
      },
      (error: Error) => this.stop(error, batch),
    );
  }

  private snapshotDue(wall: number): boolean {
    if (this.eventsSinceSnapshot === 0) return false;
    return this.eventsSinceSnapshot >= this.snapshotEveryEvents || wall - this.lastSnapshotAt >= this.snapshotEveryMs;
  }

  private snapshot(wall: number): void {
    const state = this.engine.snapshot();
    this.log.saveSnapshot(this.seq, this.ts, digestOf(state), state);
    this.eventsSinceSnapshot = 0;
    this.lastSnapshotAt = wall;
  }

  private stop(error: Error, batch: Pending[]): void {
    this.stopped = error;
    const failure = new WriterStoppedError(`commit failed, the outlet must restart: ${error.message}`);
    for (const p of [...batch, ...this.queue]) p.reject(failure);
    this.queue = [];
    // Reads go on (readiness reports the failure).
    for (const settle of this.settling.splice(0)) settle();
  }
}
