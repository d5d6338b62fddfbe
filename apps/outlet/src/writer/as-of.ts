import { Worker } from "node:worker_threads";
import type { Engine, StockView } from "@stockroom/engine";
import { CorruptLogError, type EventLog } from "../storage/event-log.ts";
import { recover } from "./recovery.ts";

/** Stock per sku the engine knows (every product's when `skus` is undefined). */
export function stockOf(engine: Engine, skus: readonly string[] | undefined): StockView[] {
  return (skus ?? engine.listProducts().map((p) => p.sku)).map((s) => engine.stock(s)).filter((s) => s !== null);
}

/** The same as of `seq`, rebuilt from the log. */
export function stockAsOf(log: EventLog, seq: number, skus: readonly string[] | undefined): StockView[] {
  return stockOf(recover(log, { upTo: seq }).engine, skus);
}

type Reply = { stock: StockView[] } | { error: string; corrupt: boolean };
type Waiter = { resolve: (stock: StockView[]) => void; reject: (e: Error) => void };

/**
 * Stock as of a past seq, rebuilt on a thread of its own (as-of-worker.js) with a read-only
 * connection: the newest snapshot at or before it plus the events after it, each one's hash
 * checked. That is up to a snapshot interval of events (100,000 by default, ~3 µs each), which
 * on the event loop would stall every kiosk for a third of a second. The thread starts with the
 * first question (tsx compiles the engine for it, under a second) and answers them in turn. An
 * in-memory log has no file to share: it is rebuilt on this thread.
 */
export class AsOfStock {
  /** The thread, with the questions it has not answered yet, oldest first (it answers in turn). */
  private thread: { worker: Worker; waiting: Waiter[] } | null = null;

  constructor(private readonly log: EventLog) {}

  stock(seq: number, skus: readonly string[] | undefined): Promise<StockView[]> {
    const sqlite = this.log.db.$client;
    if (sqlite.memory) return Promise.resolve(stockAsOf(this.log, seq, skus));
    this.thread ??= this.start(sqlite.name);
    const { worker, waiting } = this.thread;
    return new Promise((resolve, reject) => {
      waiting.push({ resolve, reject });
      worker.postMessage({ seq, skus });
    });
  }

  close(): void {
    void this.thread?.worker.terminate();
    this.thread = null;
  }

  private start(file: string): { worker: Worker; waiting: Waiter[] } {
    const worker = new Worker(new URL("./as-of-worker.js", import.meta.url), {
      workerData: { file, outletId: this.log.outletId },
    });
    const waiting: Waiter[] = [];
    // Never what keeps the process alive (the server is).
    worker.unref();
    worker.on("message", (reply: Reply) => {
      const waiter = waiting.shift();
      if ("stock" in reply) waiter?.resolve(reply.stock);
      else waiter?.reject(reply.corrupt ? new CorruptLogError(reply.error) : new Error(reply.error));
    });
    // A thread that failed to start or died: its questions fail, the next one starts another.
    const fail = (error: Error) => {
      if (this.thread?.worker === worker) this.thread = null;
      for (const { reject } of waiting.splice(0)) reject(error);
    };
    worker.on("error", fail);
    worker.on("exit", (code) => fail(new Error(`the as-of thread exited (code ${code})`)));
    return { worker, waiting };
  }
}
