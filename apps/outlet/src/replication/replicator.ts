import { readFileSync } from "node:fs";
import { type JetStreamClient, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import { connect, credsAuthenticator, type NatsConnection, headers as natsHeaders } from "@nats-io/transport-node";
import { context, propagation } from "@opentelemetry/api";
import {
  EVENTS_STREAM,
  ensureEventsStream,
  eventsSubject,
  FIRST_SEQ_HEADER,
  HEARTBEAT_BUCKET,
  LAST_SEQ_HEADER,
} from "@stockroom/service";
import { eq } from "drizzle-orm";
import type { Logger } from "pino";
import type { EventLog } from "../storage/event-log.ts";
import { cursors } from "../storage/schema.ts";
import { tracer } from "../telemetry/tracing.ts";

export interface ReplicatorOptions {
  natsUrl: string;
  /** A NATS credentials file. */
  natsCreds?: string;
  /** Most JSON bytes in one message (a run of consecutive envelopes). */
  maxMessageBytes?: number;
  heartbeatEveryMs?: number;
  /** Where the node can be reached, for the heartbeat. */
  url?: string;
}

export type ReplicationState = "connecting" | "replicating" | "caught_up" | "stopped_refused";

/** Published as the heartbeat and served on /readyz. */
export interface ReplicationStatus {
  state: ReplicationState;
  lastSeq: number;
  replicatedSeq: number;
  lag: number;
  error: string | null;
}

/** A publish the server refused (gap or fork): replication stops until a human looks. */
export class PublishRefusedError extends Error {}

const CURSOR = "replicator";

/**
 * Publishes the outlet's log to JetStream in order (docs/replication.md). It never blocks the
 * writer: events wait in SQLite while NATS is away, and it catches up after reconnecting.
 * Every message carries the expected last subject sequence, so the server refuses a gap or
 * a fork; that refusal stops replication loudly instead of skipping anything.
 */
export class Replicator {
  private nc: NatsConnection | null = null;
  private stopping = false;
  private wake: (() => void) | null = null;
  private replicatedSeq: number;
  private state: ReplicationState = "connecting";
  private error: string | null = null;
  private loop: Promise<void> | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private kv: KV | null = null;
  private readonly maxMessageBytes: number;
  /** Counted by the node's metrics. */
  onPublished: (events: number) => void = () => {};
  onRefused: () => void = () => {};

  constructor(
    private readonly log: EventLog,
    private readonly lastCommittedSeq: () => number,
    private readonly options: ReplicatorOptions,
    private readonly logger: Logger,
  ) {
    this.maxMessageBytes = options.maxMessageBytes ?? 512 * 1024;
    const row = log.db.select().from(cursors).where(eq(cursors.name, CURSOR)).get();
    this.replicatedSeq = row?.seq ?? 0;
  }

  status(): ReplicationStatus {
    const lastSeq = this.lastCommittedSeq();
    return {
      state: this.state,
      lastSeq,
      replicatedSeq: this.replicatedSeq,
      lag: lastSeq - this.replicatedSeq,
      error: this.error,
    };
  }

  start(): void {
    this.loop = this.run();
    this.heartbeat = setInterval(() => void this.beat(), this.options.heartbeatEveryMs ?? 2_000);
  }

  /** New events were committed: publish them soon. */
  notify(): void {
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.wake?.();
    await this.nc?.close().catch(() => {});
    await this.loop;
  }

  private async run(): Promise<void> {
    let backoff = 100;
    while (!this.stopping) {
      try {
        this.state = "connecting";
        const nc = await connect({
          servers: this.options.natsUrl,
          name: `stockroom-outlet-${this.log.outletId}`,
          reconnect: false,
          timeout: 2_000,
          // Read at every connect: a rotated credentials file is picked up without a restart.
          ...(this.options.natsCreds
            ? { authenticator: credsAuthenticator(readFileSync(this.options.natsCreds)) }
            : {}),
        });
        this.nc = nc;
        backoff = 100;
        const jsm = await jetstreamManager(nc);
        await ensureEventsStream(jsm);
        this.kv = await new Kvm(nc).create(HEARTBEAT_BUCKET, { history: 1 }).catch(() => null);
        // Announce the backlog before sending it, so HQ reports the lag while it is behind.
        await this.beat();
        await this.replicate(nc, jetstream(nc, { timeout: 10_000 }), jsm);
      } catch (error) {
        if (error instanceof PublishRefusedError) {
          this.state = "stopped_refused";
          this.error = error.message;
          this.onRefused();
          this.logger.error({ err: error }, "replication refused by JetStream: stopped, nothing skipped");
          return;
        }
        if (!this.stopping) {
          this.error = (error as Error).message;
          this.logger.warn({ err: (error as Error).message, retryInMs: backoff }, "replication interrupted; retrying");
        }
      } finally {
        await this.nc?.close().catch(() => {});
        this.nc = null;
        this.kv = null;
      }
      if (this.stopping) return;
      await this.sleep(backoff);
      backoff = Math.min(backoff * 2, 5_000);
    }
  }

  private async replicate(
    nc: NatsConnection,
    js: JetStreamClient,
    jsm: Awaited<ReturnType<typeof jetstreamManager>>,
  ): Promise<void> {
    const subject = eventsSubject(this.log.outletId);
    // The stream is the truth about what is stored: resume after its last message for us.
    const last = await jsm.streams.getMessage(EVENTS_STREAM, { last_by_subj: subject }).catch((e: Error) => {
      if (/no message found/i.test(e.message)) return null;
      throw e;
    });
    let subjectSeq = last?.seq ?? 0;
    let sent = last ? Number(last.header.get(LAST_SEQ_HEADER)) : 0;
    if (sent < this.replicatedSeq) {
      throw new PublishRefusedError(
        `the stream holds events up to ${sent} for ${this.log.outletId} but ${this.replicatedSeq} were acknowledged before: the stream lost data`,
      );
    }
    this.error = null;
    while (!this.stopping && !nc.isClosed()) {
      const run = this.nextRun(sent);
      if (run === null) {
        if (this.state !== "caught_up") {
          this.state = "caught_up";
          await this.beat(); // and say at once that it is caught up
        }
        await this.idle();
        continue;
      }
      this.state = "replicating";
      const hdrs = natsHeaders();
      hdrs.set(FIRST_SEQ_HEADER, String(run.first));
      hdrs.set(LAST_SEQ_HEADER, String(run.last));
      const span = tracer.startSpan("outlet.replicate", {
        attributes: { "stockroom.first_seq": run.first, "stockroom.last_seq": run.last },
      });
      const carrier: Record<string, string> = {};
      propagation.inject(context.active(), carrier);
      if (carrier.traceparent) hdrs.set("traceparent", carrier.traceparent);
      try {
        const ack = await js.publish(subject, run.data, {
          msgID: `${this.log.outletId}:${run.last}`,
          expect: { lastSubjectSequence: subjectSeq },
          headers: hdrs,
        });
        subjectSeq = ack.seq;
      } catch (error) {
        if (/wrong last sequence/i.test((error as Error).message)) {
          throw new PublishRefusedError(
            `JetStream refused events ${run.first}-${run.last}: ${(error as Error).message}`,
          );
        }
        throw error;
      } finally {
        span.end();
      }
      sent = run.last;
      this.replicatedSeq = sent;
      this.onPublished(run.last - run.first + 1);
      this.log.saveCursor(CURSOR, sent);
    }
  }

  /** The next run of envelopes after `after`, as one JSON array, or null when caught up. */
  private nextRun(after: number): { first: number; last: number; data: string } | null {
    if (after >= this.lastCommittedSeq()) return null;
    const parts: string[] = [];
    let bytes = 2;
    let last = after;
    // Only what is durable: a crash could still undo a commit whose fsync runs.
    for (const json of this.log.readJson(after, 2_000, this.lastCommittedSeq())) {
      if (parts.length > 0 && bytes + json.length + 1 > this.maxMessageBytes) break;
      parts.push(json);
      bytes += json.length + 1;
      last++;
    }
    return parts.length === 0 ? null : { first: after + 1, last, data: `[${parts.join(",")}]` };
  }

  private async beat(): Promise<void> {
    const s = this.status();
    const value = {
      outletId: this.log.outletId,
      lastSeq: s.lastSeq,
      replicatedSeq: s.replicatedSeq,
      lag: s.lag,
      ts: Date.now(),
      url: this.options.url ?? null,
    };
    await this.kv?.put(this.log.outletId, JSON.stringify(value)).catch(() => {});
  }

  /** Waits for a commit (or a second, to notice a closed connection). */
  private async idle(): Promise<void> {
    await this.sleep(1_000);
    this.wake = null;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
