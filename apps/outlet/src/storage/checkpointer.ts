import { Worker } from "node:worker_threads";
import { acquireWriteLock, releaseWriteLock } from "./write-lock.js";

/** WAL pages after which the writer's own connection checkpoints anyway, should the worker fall behind. */
export const BACKSTOP_PAGES = 10_000;
/** The worker's tick: index what the writer left, and checkpoint when one is due. */
const EVERY_MS = 50;
/**
 * Checkpoints come every 200 ms: each copies a page once however often it was rewritten since
 * (a group commit rewrites the same tail pages), so fewer cost less; every tick instead while
 * the WAL held more than `BUSY_WAL_FRAMES` at the last one, to keep it far below the backstop.
 */
const CHECKPOINT_MS = 200;
const BUSY_WAL_FRAMES = 2_000;
/** The worker exits after this many checks in a row found nothing to copy and nothing to index. */
const IDLE_CHECKS = 40;
/**
 * Most events indexed per transaction (across groups). A transaction ends early, within 64
 * events, once the writer waits for it, so a commit waits little however long it could run.
 */
const INDEX_CHUNK = 4_096;
/** Longest run of index transactions before the worker checkpoints and sleeps again. */
const SLICE_MS = 20;
/** Unindexed events beyond which the worker indexes even while the writer is busy (a little each tick). */
const MAX_LAG = 1_000_000;
/** The longest close() waits for the worker's connection to close (it checks every tick). */
const CLOSE_WAIT_MS = 2_000;

/**
 * Moves WAL checkpoints and the audit index off the event loop (log-worker.js). SQLite's automatic
 * checkpoint runs inside a COMMIT and copies the WAL into the database with two fsyncs: under load
 * that stalled the writer for 5-20 ms every few hundred ms. A worker thread with its own
 * connection checkpoints PASSIVE every 50 ms instead, indexes what was committed since its last
 * look, and exits once idle; `poke()` after a commit starts it again.
 * `lock` is shared with the worker: see `acquire()`.
 */
export class Checkpointer {
  private worker: Worker | null = null;
  /** Shared with the log worker and the committer thread: see log-worker.js. */
  readonly lock = new Int32Array(new SharedArrayBuffer(20));

  constructor(private readonly file: string) {}

  poke(): void {
    if (this.worker || Atomics.load(this.lock, 3) !== 0) return;
    Atomics.store(this.lock, 4, 0);
    const worker = new Worker(new URL("./log-worker.js", import.meta.url), {
      workerData: {
        file: this.file,
        everyMs: EVERY_MS,
        checkpointMs: CHECKPOINT_MS,
        busyWalFrames: BUSY_WAL_FRAMES,
        idleChecks: IDLE_CHECKS,
        chunk: INDEX_CHUNK,
        sliceMs: SLICE_MS,
        maxLag: MAX_LAG,
        lock: this.lock.buffer,
      },
    });
    // Never keeps the process alive; a failed checkpoint only leaves the backstop to SQLite, a
    // failed index only a longer scan beyond its cursor.
    worker.unref();
    worker.on("error", () => {});
    worker.once("exit", () => {
      this.worker = null;
      // Should it die inside an index transaction (its connection rolls that back).
      Atomics.compareExchange(this.lock, 0, 2, 0);
      Atomics.notify(this.lock, 0);
    });
    this.worker = worker;
  }

  /**
   * Waits until the worker is not writing (an index transaction ends within 64 events once it
   * sees a writer waiting), and keeps it from starting until `release()`: a commit then never
   * meets a busy database. The committer thread takes the same lock (write-lock.js).
   */
  acquire(): void {
    acquireWriteLock(this.lock);
  }

  /** The writer has work queued (true) or is idle (false): the worker indexes mostly when idle. */
  busy(busy: boolean): void {
    Atomics.store(this.lock, 2, busy ? 1 : 0);
  }

  release(): void {
    releaseWriteLock(this.lock);
  }

  /**
   * Stops the worker, waiting (a tick, ~50 ms at most) for it to close its connection: the
   * caller's connection is then the last, whose close empties the WAL into the database file, and
   * nothing writes beside the log's files any more.
   */
  close(): void {
    Atomics.store(this.lock, 3, 1);
    const worker = this.worker;
    if (!worker) return;
    Atomics.wait(this.lock, 4, 0, CLOSE_WAIT_MS);
    void worker.terminate();
  }
}
