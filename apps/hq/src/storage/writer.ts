import { Worker } from "node:worker_threads";

type Value = string | number | null;

/** One transaction's writes, as rows of positional values (see writer-worker.js for the statements). */
export interface WriteBatch {
  executions: Value[][];
  orderInserts: Value[][];
  orderUpdates: Value[][];
  divergences: Value[][];
  seqs: [string, number][];
  replicas: Value[][];
  outlets: Record<string, Value>[];
}

export function emptyWriteBatch(): WriteBatch {
  return { executions: [], orderInserts: [], orderUpdates: [], divergences: [], seqs: [], replicas: [], outlets: [] };
}

/**
 * The single writer to HQ's database, on a worker thread: batches commit in the order they are
 * given, each in one transaction, while the main thread goes on applying the next messages.
 */
export class StoreWriter {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private closed: Error | null = null;

  constructor(file: string, synchronous: "FULL" | "NORMAL") {
    this.worker = new Worker(new URL("./writer-worker.js", import.meta.url), {
      workerData: { file, synchronous },
    });
    this.worker.on("message", (m: { id: number; error?: string }) => {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.error) p?.reject(new Error(`commit failed: ${m.error}`));
      else p?.resolve();
    });
    this.worker.on("error", (error) => this.fail(error));
    this.worker.on("exit", (code) => this.fail(new Error(`the writer thread exited (${code})`)));
  }

  /** Batches sent and not yet committed. */
  get inFlight(): number {
    return this.pending.size;
  }

  write(batch: WriteBatch): Promise<void> {
    return this.send({ batch });
  }

  /** Waits for every batch sent so far, then closes the writer's connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.send({ close: true });
    this.closed = new Error("the writer is closed");
    await this.worker.terminate();
  }

  private send(message: { batch?: WriteBatch; close?: boolean }): Promise<void> {
    if (this.closed) return Promise.reject(this.closed);
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, ...message });
    });
  }

  private fail(error: Error): void {
    if (this.closed) return;
    this.closed = error;
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }
}
