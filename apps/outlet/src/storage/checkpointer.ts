import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

/** WAL pages after which the writer's own connection checkpoints anyway, should the worker fall behind. */
export const BACKSTOP_PAGES = 10_000;
const EVERY_MS = 50;
/** The worker exits after this many checks in a row found nothing to copy. */
const IDLE_CHECKS = 40;

// Plain CommonJS, evaluated: the worker needs only the driver, not the TypeScript loader.
const WORKER = `
const { workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.file);
let idle = 0;
let last = -1;
const timer = setInterval(() => {
  const [{ log, checkpointed }] = db.pragma("wal_checkpoint(PASSIVE)");
  idle = log === checkpointed && log === last ? idle + 1 : 0;
  last = log;
  if (idle >= workerData.idleChecks) {
    clearInterval(timer);
    db.close();
  }
}, workerData.everyMs);
`;

/**
 * Moves WAL checkpoints off the event loop. SQLite's automatic checkpoint runs inside a COMMIT
 * and copies the WAL into the database with two fsyncs: under load that stalled the writer for
 * 5-20 ms every few hundred ms. A worker thread with its own connection checkpoints PASSIVE
 * (never waiting for the writer, nor blocking it) every 50 ms instead, and exits once idle;
 * `poke()` after a commit starts it again.
 */
export class Checkpointer {
  private worker: Worker | null = null;

  constructor(private readonly file: string) {}

  poke(): void {
    if (this.worker) return;
    const driver = createRequire(import.meta.url).resolve("better-sqlite3");
    const worker = new Worker(WORKER, {
      eval: true,
      workerData: { driver, file: this.file, everyMs: EVERY_MS, idleChecks: IDLE_CHECKS },
    });
    // Never keeps the process alive; a failed checkpoint only leaves the backstop to SQLite.
    worker.unref();
    worker.on("error", () => {});
    worker.once("exit", () => {
      this.worker = null;
    });
    this.worker = worker;
  }

  close(): void {
    void this.worker?.terminate();
  }
}
