import { Worker } from "node:worker_threads";

/** A message handed to the verifier: `bad` is set once the worker has checked it. */
export interface Ticket {
  readonly id: number;
  /** The index of the first envelope whose hash does not match its content, -1 when all do; unset until checked. */
  bad?: number;
}

/**
 * Hash checks on a worker thread, running ahead of the main thread's apply. The main thread
 * never waits for them: when it takes messages the worker has not reached, it checks their
 * hashes itself while applying (it parses them anyway, where the worker parses them again), and
 * the worker skips them. So the two share the work by how far each has got (and the worker,
 * whose work is optional, runs at a low priority: see verify-worker.js).
 */
export class Verifier {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Ticket>();
  /** The last ticket id the main thread took: the worker skips those up to it. */
  private readonly taken = new Int32Array(new SharedArrayBuffer(4));
  private nextId = 1;
  private broken = false;

  constructor() {
    this.worker = new Worker(new URL("./verify-worker.js", import.meta.url), { workerData: { taken: this.taken } });
    this.worker.on("message", (m: { id: number; bad: number }) => {
      const ticket = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (ticket) ticket.bad = m.bad;
    });
    // Without the worker the main thread checks every hash itself.
    const fail = () => {
      this.broken = true;
      this.pending.clear();
    };
    this.worker.on("error", fail);
    this.worker.on("exit", fail);
    this.worker.unref();
  }

  submit(data: Uint8Array): Ticket {
    const ticket: Ticket = { id: this.nextId++ };
    if (this.broken) return ticket;
    this.pending.set(ticket.id, ticket);
    // A copy of its own (Buffer#slice would share, and transferring would detach, NATS's read buffer).
    const copy = new Uint8Array(data);
    this.worker.postMessage({ id: ticket.id, data: copy }, [copy.buffer]);
    return ticket;
  }

  /** The main thread takes the messages up to this ticket, checked or not: the worker skips the rest of them. */
  take(ticket: Ticket): void {
    Atomics.store(this.taken, 0, ticket.id);
    for (const id of this.pending.keys()) {
      if (id > ticket.id) break;
      this.pending.delete(id);
    }
  }

  async close(): Promise<void> {
    this.broken = true;
    await this.worker.terminate();
  }
}
