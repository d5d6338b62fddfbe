import { type Command, type EventEnvelope, SCHEMA_VERSION } from "@stockroom/contracts";
import { digestOf, type Engine } from "@stockroom/engine";
import { type EventLog, HASH_LENGTH } from "../storage/event-log.ts";
import type { AnswerRow, GroupRecord, SnapshotRow } from "../storage/group-store.js";

export interface WriterOptions {
  /**
   * Most commands committed in one transaction. Groups of a few hundred already share each fsync
   * widely; bigger ones keep many more envelopes alive until their fsync, so more survive young
   * collections and the GC costs more than the larger group saves (measured: 4,096 was slower).
   */
  maxBatch?: number;
  /**
   * Most groups executed ahead of the disk: the committer thread hashes and writes one, and the
   * disk syncs another, while the next executes, so the engine's work, the committer's and the
   * disk's overlap; more of them are merged into one transaction when the disk is slow.
   */
  maxUndurable?: number;
  /** Snapshot after this many events… */
  snapshotEveryEvents?: number;
  /** …or this long since the last snapshot, whichever comes first. */
  snapshotEveryMs?: number;
  /** Events already in the log after the newest snapshot (recovery's tail), counted towards the next one. */
  unsnapshottedEvents?: number;
  /** Wall clock, injectable for tests; sequenced time never goes backwards whatever it says. */
  now?: () => number;
}

/**
 * Gives the answer to commit with the command's events (an Idempotency-Key's), right after its
 * afterExecute: the two become durable together.
 */
export type StoreAnswer = (envelopes: EventEnvelope[]) => AnswerRow;
/**
 * Runs just before the command would execute (e.g. to look up an Idempotency-Key among the
 * answers committed): true skips it, and it resolves with no events.
 */
export type SkipIf = () => boolean;
/**
 * Runs right after the command executed, before the next one does: the engine's state is
 * exactly this command's outcome (e.g. to render its answer). `index` is the command's place in
 * its submitAll (0 for submit). Must not throw.
 */
export type AfterExecute = (envelopes: EventEnvelope[], index: number) => void;

/** submitAll's hooks: skipIf and afterExecute for every command, storeAnswer for the last. */
export interface SubmitHooks {
  skipIf?: SkipIf | undefined;
  afterExecute?: AfterExecute | undefined;
  storeAnswer?: StoreAnswer | undefined;
}

/** A group's commands executed: each one's events, all of them, and what the log commits. */
interface Executed {
  results: EventEnvelope[][];
  envelopes: EventEnvelope[];
  record: GroupRecord;
}

/** An executed group: answered once the committer has made it durable. */
interface Group {
  batch: Pending[];
  results: EventEnvelope[][];
  envelopes: EventEnvelope[];
  seq: number;
  started: number;
}

/** A queued command; the commands of one submitAll share their hooks and `resolve`. */
interface Pending {
  command: Command;
  actor: string;
  storeAnswer: StoreAnswer | undefined;
  afterExecute: AfterExecute | undefined;
  skipIf: SkipIf | undefined;
  index: number;
  resolve: (events: EventEnvelope[], index: number) => void;
  reject: (error: Error) => void;
}

/** What a taken queue slot holds until the queue is compacted. */
const TAKEN = null as unknown as Pending;

/** After a failed commit the engine is ahead of the disk: nothing more may be acknowledged. */
export class WriterStoppedError extends Error {}

/**
 * The single writer. Commands that arrive together are executed in order and committed as one
 * group (one transaction, hashed and written by the log's committer thread); only once it is
 * durable does each caller get its events. While it commits, the next group may execute (its
 * commit follows); commands arriving after that wait and form the group after. Reads wait until
 * the engine is no longer ahead of the disk (see settled()), so none shows what a crash could undo.
 */
export class Writer {
  /** Commands waiting, from `queueHead` on (taken by index, so a long queue is not shifted per group). */
  private queue: Pending[] = [];
  private queueHead = 0;
  private scheduled = false;
  private stopped: Error | null = null;
  /** Executed groups waiting to be durable, oldest first. */
  private undurable: Group[] = [];
  /** Reads waiting until the engine's state is durable. */
  private settling: (() => void)[] = [];
  private seq: number;
  private durableSeq: number;
  private hash: string;
  private ts: number;
  private eventsSinceSnapshot = 0;
  private lastSnapshotAt: number;
  private readonly maxBatch: number;
  private readonly maxUndurable: number;
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
    this.maxBatch = options.maxBatch ?? 512;
    this.maxUndurable = options.maxUndurable ?? 4;
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
   * Reads of the engine wait for it, so they never show an effect a crash could still undo: no
   * group executes while reads wait, and they run before the next one does.
   */
  settled(): Promise<void> {
    if (this.undurable.length === 0 || this.stopped) return Promise.resolve();
    return new Promise((resolve) => this.settling.push(resolve));
  }

  /** Resolves once nothing is queued or waiting for its fsync (at once when stopped): before closing the log. */
  async drained(): Promise<void> {
    while (!this.stopped && (this.undurable.length > 0 || this.queued() > 0)) {
      if (this.undurable.length > 0) await this.settled();
      else await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Resolves with the command's events once they are durable (an empty list: nothing changed). */
  submit(
    command: Command,
    actor: string,
    storeAnswer?: StoreAnswer,
    afterExecute?: AfterExecute,
    skipIf?: SkipIf,
  ): Promise<EventEnvelope[]> {
    if (this.stopped) return Promise.reject(this.stoppedError());
    return new Promise((resolve, reject) => {
      this.queue.push({ command, actor, storeAnswer, afterExecute, skipIf, index: 0, resolve, reject });
      this.schedule();
    });
  }

  /**
   * Submits many commands at once, in order (a batch): one promise for all of them, resolved
   * with each command's events once the last is durable. They may span several groups.
   */
  submitAll(commands: readonly Command[], actor: string, hooks: SubmitHooks = {}): Promise<EventEnvelope[][]> {
    if (this.stopped) return Promise.reject(this.stoppedError());
    return new Promise((resolve, reject) => {
      const results: EventEnvelope[][] = new Array(commands.length);
      let left = commands.length;
      if (left === 0) return resolve(results);
      const done = (events: EventEnvelope[], index: number) => {
        results[index] = events;
        if (--left === 0) resolve(results);
      };
      const { skipIf, afterExecute } = hooks;
      const last = commands.length - 1;
      for (let index = 0; index <= last; index++) {
        const storeAnswer = index === last ? hooks.storeAnswer : undefined;
        this.queue.push({
          command: commands[index]!,
          actor,
          storeAnswer,
          afterExecute,
          skipIf,
          index,
          resolve: done,
          reject,
        });
      }
      this.schedule();
    });
  }

  private stoppedError(): WriterStoppedError {
    return new WriterStoppedError(`writer stopped: ${this.stopped!.message}`);
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    // Commands wait while maxUndurable groups are ahead of the disk, or while reads wait for it
    // to catch up: the next group is scheduled when a commit completes.
    if (this.stopped || this.queued() === 0) return;
    if (this.undurable.length >= this.maxUndurable || (this.undurable.length > 0 && this.settling.length > 0)) return;
    const batch = this.take();
    const started = performance.now();
    this.log.busy(true);
    const wall = this.now();
    if (wall > this.ts) this.ts = wall;
    const ts = this.ts;
    let executed: Executed;
    try {
      // One read transaction for the group's skipIf lookups.
      executed = this.log.reading(() => this.execute(batch, ts));
      this.eventsSinceSnapshot += executed.envelopes.length;
      if (this.snapshotDue(wall)) executed.record.snapshot = this.snapshot(wall);
    } catch (error) {
      // The engine may have run ahead of what is committed: nothing more may be acknowledged.
      this.stop(error as Error, batch);
      return;
    }
    const { results, envelopes, record } = executed;
    const group: Group = { batch, results, envelopes, seq: this.seq, started };
    this.undurable.push(group);
    // Commits complete in the order they were sent (EventLog.commit).
    this.log.commit(record).then(
      (hashes) => {
        this.seal(envelopes, hashes);
        this.durable(group);
      },
      (error: Error) => this.stop(error, batch),
    );
    if (this.queued() > 0) this.schedule();
  }

  /** Executes a group's commands: each one's envelopes (unsealed) and what the log commits of them. */
  private execute(batch: Pending[], ts: number): Executed {
    const outletId = this.log.outletId;
    const results: EventEnvelope[][] = [];
    const envelopes: EventEnvelope[] = [];
    const record: GroupRecord = {
      firstSeq: this.seq + 1,
      ts,
      types: [],
      actors: [],
      payloads: [],
      answers: [],
      snapshot: null,
    };
    for (const p of batch) {
      const own: EventEnvelope[] = [];
      results.push(own);
      if (p.skipIf?.()) continue;
      for (const payload of this.engine.execute(p.command, ts)) {
        // Sealed once committed: the committer thread hashes the chain (see seal()).
        const envelope: EventEnvelope = {
          v: SCHEMA_VERSION,
          outletId,
          seq: ++this.seq,
          ts,
          type: payload.type,
          actor: p.actor,
          prevHash: "",
          payload,
          hash: "",
        };
        own.push(envelope);
        envelopes.push(envelope);
        record.types.push(payload.type);
        record.actors.push(p.actor);
        record.payloads.push(JSON.stringify(payload));
      }
      p.afterExecute?.(own, p.index);
      if (p.storeAnswer) record.answers.push(p.storeAnswer(own));
    }
    return { results, envelopes, record };
  }

  /** Fills in the chain the committer hashed: each envelope's prevHash and hash, in seq order. */
  private seal(envelopes: EventEnvelope[], hashes: string): void {
    let prev = this.hash;
    for (let i = 0; i < envelopes.length; i++) {
      const envelope = envelopes[i]!;
      envelope.prevHash = prev;
      prev = envelope.hash = hashes.slice(i * HASH_LENGTH, (i + 1) * HASH_LENGTH);
    }
    this.hash = prev;
  }

  private durable(group: Group): void {
    this.undurable.shift();
    this.durableSeq = group.seq;
    const { batch, results, envelopes } = group;
    for (let i = 0; i < batch.length; i++) {
      const p = batch[i]!;
      p.resolve(results[i]!, p.index);
    }
    if (envelopes.length > 0) this.onCommit(envelopes, batch.length, performance.now() - group.started);
    if (this.undurable.length === 0) for (const settle of this.settling.splice(0)) settle();
    if (this.stopped) return;
    if (this.queued() > 0) this.schedule();
    else if (this.undurable.length === 0) this.log.busy(false);
  }

  private queued(): number {
    return this.queue.length - this.queueHead;
  }

  /** The next group: up to maxBatch commands from the head of the queue. */
  private take(): Pending[] {
    const { queue, queueHead } = this;
    if (queueHead === 0 && queue.length <= this.maxBatch) {
      this.queue = [];
      return queue;
    }
    const end = Math.min(queue.length, queueHead + this.maxBatch);
    const batch = queue.slice(queueHead, end);
    if (end === queue.length) {
      this.queue = [];
      this.queueHead = 0;
    } else if (end > queue.length >> 1) {
      // Compacted once the taken part is the larger: linear work overall, bounded memory.
      this.queue = queue.slice(end);
      this.queueHead = 0;
    } else {
      // Taken slots let go of their commands: the queue must not keep answered ones alive.
      queue.fill(TAKEN, queueHead, end);
      this.queueHead = end;
    }
    return batch;
  }

  private snapshotDue(wall: number): boolean {
    if (this.eventsSinceSnapshot === 0) return false;
    return this.eventsSinceSnapshot >= this.snapshotEveryEvents || wall - this.lastSnapshotAt >= this.snapshotEveryMs;
  }

  private snapshot(wall: number): SnapshotRow {
    const state = this.engine.snapshot();
    this.eventsSinceSnapshot = 0;
    this.lastSnapshotAt = wall;
    return { seq: this.seq, ts: this.ts, digest: digestOf(state), state: JSON.stringify(state) };
  }

  /**
   * A failed execution or commit: its callers and everything queued are refused. Groups sent
   * before it are answered as their own commits complete; those after it fail too (the log
   * takes no group after a failed one).
   */
  private stop(error: Error, batch: Pending[]): void {
    this.stopped ??= error;
    const failure = new WriterStoppedError(`commit failed, the outlet must restart: ${error.message}`);
    for (const p of batch) p.reject(failure);
    for (let i = this.queueHead; i < this.queue.length; i++) this.queue[i]!.reject(failure);
    this.undurable = this.undurable.filter((g) => g.batch !== batch);
    this.queue = [];
    this.queueHead = 0;
    // Reads go on (readiness reports the failure).
    for (const settle of this.settling.splice(0)) settle();
  }
}
