import { Worker } from "node:worker_threads";

/**
 * Hash checks on a worker thread, so they run beside the main thread's apply: `check` answers
 * the index of the first envelope whose hash does not match its content, or -1 when all do.
 */
export class Verifier {
  private readonly worker: Worker;
  private readonly pending = new Map<number, (bad: number | null) => void>();
  private nextId = 1;
  private broken = false;

  constructor() {
    this.worker = new Worker(new URL("./verify-worker.js", import.meta.url));
    this.worker.on("message", (m: { id: number; bad: number }) => {
      this.pending.get(m.id)?.(m.bad);
      this.pending.delete(m.id);
    });
    const fail = () => {
      // Without the worker the main thread checks every hash itself (null: not checked).
      this.broken = true;
      for (const resolve of this.pending.values()) resolve(null);
      this.pending.clear();
    };
    this.worker.on("error", fail);
    this.worker.on("exit", fail);
    this.worker.unref();
  }

  /** The first bad envelope's index, -1 when every hash matches, or null when not checked. */
  check(data: Uint8Array): Promise<number | null> {
    if (this.broken) return Promise.resolve(null);
    const id = this.nextId++;
    // A copy of its own (Buffer#slice would share, and transferring would detach, NATS's read buffer).
    const copy = new Uint8Array(data);
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.worker.postMessage({ id, data: copy }, [copy.buffer]);
    });
  }

  async close(): Promise<void> {
    this.broken = true;
    await this.worker.terminate();
  }
}
