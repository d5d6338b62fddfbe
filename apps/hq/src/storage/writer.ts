import { Worker } from "node:worker_threads";

type Value = string | number | null;

/** A batch's distinct strings: packed rows refer to them by index. */
class StringTable {
  readonly list: string[] = [];
  private readonly index = new Map<string, number>();

  indexOf(s: string): number {
    let i = this.index.get(s);
    if (i === undefined) {
      i = this.list.length;
      this.list.push(s);
      this.index.set(s, i);
    }
    return i;
  }
}

/**
 * Rows of one statement packed for the trip to the writer thread: every cell is one float64, the
 * number itself, a string's index in the batch's string table, or NaN for null. The cells then
 * cross by transfer, where an array per row would be cloned and rebuilt value by value (most of
 * the writer thread's time after SQLite's own), and the main thread keeps no object per row.
 * `kinds` has one letter per column: `s` (string) or `n` (number), either of them nullable.
 */
export class PackedRows {
  cells = new Float64Array(4_096);
  count = 0;

  constructor(
    readonly kinds: string,
    private readonly strings: StringTable,
  ) {}

  push(row: readonly Value[]): void {
    const width = this.kinds.length;
    if (row.length !== width) throw new Error(`a row of ${row.length} values for ${width} columns`);
    const at = this.count * width;
    if (at + width > this.cells.length) {
      const grown = new Float64Array(this.cells.length * 2);
      grown.set(this.cells);
      this.cells = grown;
    }
    for (let i = 0; i < width; i++) {
      const v = row[i]!;
      if (v !== null && (typeof v === "string") !== (this.kinds.charCodeAt(i) === S))
        throw new Error(`column ${i} (${this.kinds[i]}) given ${typeof v}`);
      this.cells[at + i] = v === null ? Number.NaN : typeof v === "string" ? this.strings.indexOf(v) : v;
    }
    this.count++;
  }
}

const S = "s".charCodeAt(0);

/** One transaction's writes (see writer-worker.js for the statements and their columns). */
export interface WriteBatch {
  strings: StringTable;
  executions: PackedRows;
  orderInserts: PackedRows;
  orderUpdates: PackedRows;
  seqs: PackedRows;
  divergences: Value[][];
  replicas: Value[][];
  outlets: Record<string, Value>[];
}

export function emptyWriteBatch(): WriteBatch {
  const strings = new StringTable();
  return {
    strings,
    executions: new PackedRows("snnnsnnnsnsssn", strings),
    orderInserts: new PackedRows("snsssnnnnsssssnnnn", strings),
    orderUpdates: new PackedRows("nnnnssnnsn", strings),
    seqs: new PackedRows("sn", strings),
    divergences: [],
    replicas: [],
    outlets: [],
  };
}

/** The batch as posted to the writer thread, and the buffers it transfers. */
function toMessage(b: WriteBatch): { message: unknown; transfer: ArrayBuffer[] } {
  const wire = ({ kinds, cells, count }: PackedRows) => ({ kinds, cells, count });
  const { strings, executions, orderInserts, orderUpdates, seqs, ...rest } = b;
  return {
    message: {
      strings: strings.list,
      executions: wire(executions),
      orderInserts: wire(orderInserts),
      orderUpdates: wire(orderUpdates),
      seqs: wire(seqs),
      ...rest,
    },
    transfer: [executions, orderInserts, orderUpdates, seqs].map((r) => r.cells.buffer as ArrayBuffer),
  };
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
    const { message, transfer } = toMessage(batch);
    return this.send({ batch: message }, transfer);
  }

  /** Waits for every batch sent so far, then closes the writer's connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.send({ close: true });
    this.closed = new Error("the writer is closed");
    await this.worker.terminate();
  }

  private send(message: { batch?: unknown; close?: boolean }, transfer: ArrayBuffer[] = []): Promise<void> {
    if (this.closed) return Promise.reject(this.closed);
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, ...message }, transfer);
    });
  }

  private fail(error: Error): void {
    if (this.closed) return;
    this.closed = error;
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }
}
