import {
  AckPolicy,
  type ConsumerMessages,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  jetstream,
  jetstreamManager,
} from "@nats-io/jetstream";
import { type NatsConnection, nanos } from "@nats-io/transport-node";
import {
  EVENTS_STREAM,
  EVENTS_SUBJECTS,
  ensureEventsStream,
  eventsSubject,
  FIRST_SEQ_HEADER,
  LAST_SEQ_HEADER,
  outletOfSubject,
} from "@stockroom/service";
import type { Logger } from "pino";
import type { Aggregator, IncomingMessage, Outcome } from "./aggregator.ts";
import { type Ticket, Verifier } from "./verifier.ts";

export interface ConsumerOptions {
  /** Durable consumer name. */
  name: string;
  maxBatchMessages: number;
}

export type ConsumerState = "starting" | "consuming" | "stopped" | "failed";

/**
 * A batch closes at about this many bytes of messages (one transaction, ~20,000 events in a
 * catch-up). Big batches matter when behind: every batch publishes each touched sku's depth and
 * candles once, writes each market-data counter once, and rewrites the index pages it touches.
 */
const BATCH_BYTES = 8 * 1024 * 1024;
/** Batches applied ahead of their commit. */
const MAX_IN_FLIGHT = 4;
/** Messages taken from the consumer but not applied yet (hash checks run on them meanwhile). */
const MAX_QUEUED_BYTES = 4 * BATCH_BYTES;
/** The longest the event loop waits while a batch is applied (see `process`). */
const YIELD_MS = 5;
/** How long a batch may wait to fill up while the server holds more messages for this consumer. */
const FILL_WAIT_MS = 100;
/** Queued bytes a batch waits for: itself, and the next batch for the verifier to check meanwhile. */
const FILL_BYTES = 2 * BATCH_BYTES;

interface Queued {
  m: JsMsg;
  ticket: Ticket;
}

/** A JetStream message as the aggregator takes it. */
export function toIncoming(m: JsMsg): IncomingMessage {
  const first = m.headers?.get(FIRST_SEQ_HEADER);
  const last = m.headers?.get(LAST_SEQ_HEADER);
  const traceparent = m.headers?.get("traceparent");
  return {
    subject: m.subject,
    streamSeq: m.seq,
    data: m.data,
    firstSeq: first ? Number(first) : undefined,
    lastSeq: last ? Number(last) : undefined,
    traceparent: traceparent || undefined,
  };
}

/**
 * HQ's durable pull consumer over every outlet's events. Messages are applied in batches (one
 * SQLite transaction each) and acknowledged after the commit. A message that starts past a
 * missing seq (a redelivery overtaken by later messages, or a new HQ database) is held back
 * while the missing events are read from the stream itself; only when the stream does not
 * have them either is the gap final (the outlet is reported diverged).
 */
export class EventConsumer {
  private readonly queue: Queued[] = [];
  private queuedBytes = 0;
  private readerDone = false;
  private wakeProcessor: (() => void) | null = null;
  private wakeReader: (() => void) | null = null;
  private readonly verifier = new Verifier();
  /** Commits under way (a few batches are applied ahead of their commit). */
  private readonly inFlight: Promise<void>[] = [];
  private messages: ConsumerMessages | null = null;
  private running = false;
  private loop: Promise<void> | null = null;
  private jsm!: JetStreamManager;
  private js!: JetStreamClient;
  state: ConsumerState = "starting";
  error: string | null = null;
  /** Messages backfilled straight from the stream (gaps that were not final). */
  backfilled = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly aggregator: Aggregator,
    private readonly options: ConsumerOptions,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    this.logger.debug("consumer: jetstream manager");
    this.jsm = await jetstreamManager(this.nc);
    this.js = jetstream(this.nc);
    this.logger.debug("consumer: ensure stream");
    await ensureEventsStream(this.jsm);
    this.logger.debug("consumer: position");
    await this.position();
    this.logger.debug("consumer: get");
    const consumer = await this.js.consumers.get(EVENTS_STREAM, this.options.name);
    this.logger.debug("consumer: consume");
    this.running = true;
    // Iterator mode: the client pulls more only as messages are taken, so a busy HQ is not
    // flooded (nor does it hold messages past their ack wait).
    // Abort (and be started again by HQ) rather than wait for someone to restore a deleted consumer.
    // The client pulls again for the last quarter of max_bytes: that must hold any message (NATS's
    // max_payload, 1 MiB by default), or a pull too small for the next one idles until it expires.
    this.messages = await consumer.consume({ max_bytes: 2 * BATCH_BYTES, abort_on_missing_resource: true });
    this.state = "consuming";
    this.logger.info({ consumer: this.options.name }, "event consumer pulling");
    this.loop = this.run(this.messages);
  }

  /** Resolves when the consumer has stopped or failed (see `state`). */
  finished(): Promise<void> {
    return this.loop ?? Promise.resolve();
  }

  /** Stops pulling, finishes the batch in hand; unprocessed messages stay unacknowledged. */
  async stop(): Promise<void> {
    this.running = false;
    this.messages?.stop();
    this.wakeProcessor?.();
    this.wakeReader?.();
    await this.loop;
    await this.verifier.close();
    if (this.state !== "failed") this.state = "stopped";
  }

  /**
   * Creates the durable consumer, or moves it so that (a) every replica restored from an older
   * snapshot sees the messages since, and (b) messages left unacknowledged by a crash come at
   * once instead of after the ack wait (and in order).
   */
  private async position(): Promise<void> {
    const { name } = this.options;
    const info = await this.jsm.consumers.info(EVENTS_STREAM, name).catch((error: Error) => {
      if (/consumer not found/i.test(error.message)) return null;
      throw error;
    });
    const rollFrom = this.aggregator.rollForwardFrom();
    let from: number | null = null;
    if (info) {
      const ackFloor = info.ack_floor.stream_seq;
      const wanted = Math.min(rollFrom ?? Number.POSITIVE_INFINITY, ackFloor + 1);
      const sameConfig =
        info.config.filter_subject === EVENTS_SUBJECTS && info.config.ack_policy === AckPolicy.Explicit;
      if (sameConfig && info.num_ack_pending === 0 && wanted === ackFloor + 1) return;
      from = wanted;
      await this.jsm.consumers.delete(EVENTS_STREAM, name);
      this.logger.info(
        { consumer: name, fromStreamSeq: from, ackFloor, unacked: info.num_ack_pending, rollFrom },
        "durable consumer repositioned",
      );
    }
    await this.jsm.consumers.add(EVENTS_STREAM, {
      durable_name: name,
      ack_policy: AckPolicy.Explicit,
      filter_subject: EVENTS_SUBJECTS,
      ...(from !== null && from > 1
        ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from }
        : { deliver_policy: DeliverPolicy.All }),
      ack_wait: nanos(30_000),
      max_ack_pending: 10_000,
      max_deliver: -1,
    });
  }

  /**
   * Two loops: one takes messages as they come and hands each to the verifier thread (hash
   * checks run ahead, in parallel); the other applies what has arrived in batches — whatever is
   * there, up to `maxBatchMessages` or ~`BATCH_BYTES`, one transaction each — without waiting
   * for the checks: the aggregator checks the hashes of messages the verifier has not reached.
   */
  private async run(messages: ConsumerMessages): Promise<void> {
    const reading = this.read(messages);
    // Its failure (e.g. the consumer deleted under it) is rethrown by the `await reading` below,
    // once the batches in hand are done; until then it must not count as unhandled.
    reading.catch(() => {});
    try {
      while (this.running || this.queue.length > 0) {
        if (this.queue.length === 0) {
          if (this.readerDone) break;
          await new Promise<void>((resolve) => {
            this.wakeProcessor = resolve;
          });
          this.wakeProcessor = null;
          continue;
        }
        // Far behind (a catch-up): let a full batch arrive rather than apply a sliver now, as each
        // batch costs a transaction and market data for every sku. Live traffic never waits.
        if (this.farBehind()) await this.fill();
        const batch: Queued[] = [];
        let bytes = 0;
        while (this.queue.length > 0 && bytes < BATCH_BYTES && batch.length < this.options.maxBatchMessages) {
          const q = this.queue.shift()!;
          batch.push(q);
          bytes += q.m.data.length;
        }
        this.queuedBytes -= bytes;
        this.wakeReader?.();
        if (!this.running) break;
        await this.process(batch);
      }
      await Promise.all(this.inFlight.splice(0));
    } catch (error) {
      this.state = "failed";
      this.error = (error as Error).message;
      this.logger.fatal({ err: error }, "event consumer failed");
      this.running = false;
      messages.stop();
    }
    this.wakeReader?.();
    await reading;
  }

  /** Whether the server holds at least another full batch for this consumer. */
  private farBehind(): boolean {
    const pending = this.queue.at(-1)!.m.info.pending;
    const meanBytes = this.queuedBytes / this.queue.length;
    return pending >= this.options.maxBatchMessages || pending * meanBytes >= BATCH_BYTES;
  }

  /** Waits, up to FILL_WAIT_MS, until a full batch and the next are queued. */
  private async fill(): Promise<void> {
    const deadline = performance.now() + FILL_WAIT_MS;
    const full = () => this.queuedBytes >= FILL_BYTES || this.queue.length >= 2 * this.options.maxBatchMessages;
    while (!full() && !this.readerDone && this.running) {
      const left = deadline - performance.now();
      if (left <= 0) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wakeProcessor = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeProcessor = null;
    }
  }

  private async read(messages: ConsumerMessages): Promise<void> {
    try {
      for await (const m of messages) {
        this.queue.push({ m, ticket: this.verifier.submit(m.data) });
        this.queuedBytes += m.data.length;
        this.wakeProcessor?.();
        while (this.queuedBytes > MAX_QUEUED_BYTES && this.running) {
          await new Promise<void>((resolve) => {
            this.wakeReader = resolve;
          });
          this.wakeReader = null;
        }
        if (!this.running) break;
      }
    } finally {
      this.readerDone = true;
      this.wakeProcessor?.();
    }
  }

  /**
   * Applies a batch now, a message at a time, letting the event loop run every YIELD_MS: NATS
   * delivery (on this thread) and the verifier's answers go on meanwhile, where one long
   * synchronous apply would leave the socket full and the next batch still to arrive. Its
   * messages are acknowledged once its commit is durable.
   */
  private async process(queued: Queued[]): Promise<void> {
    const batch = queued.map((q) => q.m);
    const incoming = batch.map(toIncoming);
    const open = this.aggregator.beginBatch();
    const outcomes: Outcome[] = [];
    let yielded = performance.now();
    for (let i = 0; i < queued.length; i++) {
      const { ticket } = queued[i]!;
      // Checked by the worker, or from here on by the aggregator (the worker skips it).
      this.verifier.take(ticket);
      if (ticket.bad !== undefined) incoming[i]!.firstBadHash = ticket.bad;
      outcomes.push(open.apply(incoming[i]!));
      if (performance.now() - yielded >= YIELD_MS) {
        await new Promise(setImmediate);
        yielded = performance.now();
      }
    }
    const committed = open.end();
    const deferred: number[] = [];
    const done: JsMsg[] = [];
    outcomes.forEach((outcome, i) => {
      if (outcome === "deferred") deferred.push(i);
      else done.push(batch[i]!);
    });
    const acked = committed.then(() => {
      for (const m of done) m.ack();
    });
    acked.catch(() => {}); // awaited in run(), which fails the consumer
    this.inFlight.push(acked);
    if (this.inFlight.length >= MAX_IN_FLIGHT) await this.inFlight.shift();
    if (deferred.length === 0) return;
    const upTo = new Map<string, number>();
    for (const i of deferred) {
      const outletId = outletOfSubject(incoming[i]!.subject)!;
      upTo.set(outletId, Math.max(upTo.get(outletId) ?? 0, incoming[i]!.streamSeq));
    }
    for (const [outletId, streamSeq] of upTo) await this.backfill(outletId, streamSeq);
    const again = this.aggregator.applyBatch(
      deferred.map((i) => incoming[i]!),
      { final: true },
    );
    await again.committed;
    for (const i of deferred) batch[i]!.ack();
  }

  /** Reads an outlet's messages from the stream, from after its replica's position up to `upTo`. */
  private async backfill(outletId: string, upTo: number): Promise<void> {
    const st = this.aggregator.outlet(outletId);
    const from = st.replicaStreamSeq + 1;
    this.logger.warn(
      { outletId, expectedSeq: st.replicaSeq + 1, fromStreamSeq: from, upToStreamSeq: upTo },
      "messages arrived past a missing seq: reading the missing ones from the stream",
    );
    const ci = await this.jsm.consumers.add(EVENTS_STREAM, {
      filter_subject: eventsSubject(outletId),
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: from,
      ack_policy: AckPolicy.None,
      inactive_threshold: nanos(60_000),
      mem_storage: true,
    });
    try {
      const consumer = await this.js.consumers.get(EVENTS_STREAM, ci.name);
      for (let done = false; !done && !st.halt; ) {
        const chunk: IncomingMessage[] = [];
        const iter = await consumer.fetch({ max_messages: 32, expires: 2_000 });
        for await (const m of iter) {
          if (m.seq > upTo) {
            done = true;
            break;
          }
          chunk.push(toIncoming(m));
          if (m.seq === upTo || m.info.pending === 0) {
            done = true;
            break;
          }
        }
        if (chunk.length === 0) break;
        this.backfilled += chunk.length;
        await this.aggregator.applyBatch(chunk, { final: true }).committed;
      }
    } finally {
      await this.jsm.consumers.delete(EVENTS_STREAM, ci.name).catch(() => {});
    }
  }
}
