/**
 * A stand-in for outlets in HQ's tests and benchmark: a real `Engine` executes seeded commands,
 * each event is sealed into a hash-chained envelope, and runs of envelopes are published to
 * JetStream exactly as docs/replication.md says (JSON array, Nats-Msg-Id <outletId>:<lastSeq>,
 * expected last subject sequence, Stockroom-First/Last-Seq, traceparent).
 */
import { type JetStreamClient, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { type NatsConnection, headers as natsHeaders } from "@nats-io/transport-node";
import {
  Command,
  type CommandInput,
  type EngineEvent,
  type EventEnvelope,
  GENESIS_HASH,
  SCHEMA_VERSION,
  sealEnvelope,
} from "@stockroom/contracts";
import { Engine } from "@stockroom/engine";
import { ensureEventsStream, eventsSubject, FIRST_SEQ_HEADER, LAST_SEQ_HEADER } from "@stockroom/service";

/** Creates the events stream as an outlet's replicator would (idempotent). */
export async function ensureStream(nc: NatsConnection): Promise<void> {
  await ensureEventsStream(await jetstreamManager(nc));
}

/** One outlet's engine and sealed log, in memory. */
export class SimOutlet {
  readonly engine = new Engine();
  readonly log: EventEnvelope[] = [];
  hash = GENESIS_HASH;
  ts: number;

  constructor(
    readonly outletId: string,
    startTs = Date.UTC(2026, 0, 5, 9, 0, 0),
  ) {
    this.ts = startTs;
  }

  get seq(): number {
    return this.log.length;
  }

  /** Sequences one command (time moves `stepMs`) and returns its sealed envelopes. */
  exec(input: CommandInput, actor = "system", stepMs = 7): EventEnvelope[] {
    this.ts += stepMs;
    const command = Command.parse(input);
    const events = this.engine.execute(command, this.ts);
    const out: EventEnvelope[] = [];
    for (const payload of events) {
      const e = sealEnvelope({
        v: SCHEMA_VERSION,
        outletId: this.outletId,
        seq: this.log.length + 1,
        ts: this.ts,
        type: payload.type,
        actor,
        prevHash: this.hash,
        payload,
      });
      this.hash = e.hash;
      this.log.push(e);
      out.push(e);
    }
    return out;
  }

  checkpoint(): EventEnvelope[] {
    return this.exec({ type: "checkpoint" });
  }

  /**
   * Seals an event the engine did not produce (a doctored checkpoint, say) into the chain, as an
   * outlet whose state was altered behind its engine's back would.
   */
  append(payload: EngineEvent, actor = "system"): EventEnvelope {
    this.ts += 1;
    const e = sealEnvelope({
      v: SCHEMA_VERSION,
      outletId: this.outletId,
      seq: this.log.length + 1,
      ts: this.ts,
      type: payload.type,
      actor,
      prevHash: this.hash,
      payload,
    });
    this.hash = e.hash;
    this.log.push(e);
    return e;
  }
}

/** mulberry32: seeded, so every run produces the same commands. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export const skuName = (i: number) => `SKU-${String(i).padStart(3, "0")}`;

/**
 * A seeded mix of what outlets do: receipts (resting inflow), sales (IOC and GTC outflow that
 * fill), cancels, reduces, holds placed then confirmed or cancelled, and ticks; `run` adds
 * checkpoints every N events as the outlet node does.
 */
export class Workload {
  private readonly random: () => number;
  private readonly skus: string[];
  private readonly kiosks: string[];
  private holdCount = 0;
  private readonly holds: string[] = [];

  constructor(
    readonly outlet: SimOutlet,
    seed: number,
    options: { skus?: number; kiosks?: number } = {},
  ) {
    this.random = prng(seed);
    this.skus = Array.from({ length: options.skus ?? 20 }, (_, i) => skuName(i));
    this.kiosks = Array.from({ length: options.kiosks ?? 4 }, (_, i) => `kiosk-${i}`);
  }

  /** Configuration, catalog and funded accounts. */
  setup(): EventEnvelope[] {
    const o = this.outlet;
    const out = [...o.exec({ type: "outlet.configure" })];
    for (const sku of this.skus) {
      out.push(...o.exec({ type: "product.add", sku, name: `Product ${sku}`, brand: `brand-${sku.slice(-1)}` }));
    }
    for (const id of ["supplier", ...this.kiosks]) {
      out.push(...o.exec({ type: "account.create", accountId: id, role: id === "supplier" ? "colleague" : "kiosk" }));
      out.push(...o.exec({ type: "account.kyc", accountId: id, kyc: "verified" }));
      out.push(...o.exec({ type: "wallet.deposit", accountId: id, amount: 1_000_000_000_000 }));
    }
    return out;
  }

  private pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.random() * list.length)]!;
  }

  private int(min: number, max: number): number {
    return min + Math.floor(this.random() * (max - min + 1));
  }

  /** One command of the mix. */
  step(): EventEnvelope[] {
    const o = this.outlet;
    const r = this.random();
    const sku = this.pick(this.skus);
    const kiosk = this.pick(this.kiosks);
    if (r < 0.38) {
      return o.exec(
        {
          type: "order.place",
          accountId: "supplier",
          sku,
          side: "inflow",
          price: this.int(90, 110),
          quantity: this.int(1, 30),
          reason: "received",
        },
        "supplier",
      );
    }
    if (r < 0.66) {
      return o.exec(
        {
          type: "order.place",
          accountId: kiosk,
          sku,
          side: "outflow",
          price: this.int(95, 115),
          quantity: this.int(1, 10),
          timeInForce: this.random() < 0.6 ? "IOC" : "GTC",
          reason: "sale",
        },
        kiosk,
      );
    }
    if (r < 0.74) {
      const resting = o.engine.ordersOf(this.random() < 0.5 ? "supplier" : kiosk).filter((x) => x.held === 0);
      if (resting.length > 0) {
        const order = this.pick(resting);
        return o.exec({ type: "order.cancel", accountId: order.accountId, orderId: order.orderId }, order.accountId);
      }
      return o.exec({ type: "tick" });
    }
    if (r < 0.79) {
      const resting = o.engine.ordersOf("supplier").filter((x) => x.remaining - x.held > 1);
      if (resting.length > 0) {
        const order = this.pick(resting);
        return o.exec({ type: "order.reduce", accountId: "supplier", orderId: order.orderId, by: 1 }, "supplier");
      }
      return o.exec({ type: "tick" });
    }
    if (r < 0.87) {
      const holdId = `hold-${++this.holdCount}`;
      const lines = [{ sku, quantity: this.int(1, 3) }];
      if (this.random() < 0.3) lines.push({ sku: this.pick(this.skus), quantity: 1 });
      const out = o.exec(
        { type: "hold.place", holdId, accountId: kiosk, lines, ttlMs: this.int(1_000, 60_000) },
        kiosk,
      );
      if (out.some((e) => e.type === "hold.placed")) this.holds.push(holdId);
      return out;
    }
    if (r < 0.96 && this.holds.length > 0) {
      const holdId = this.holds.splice(Math.floor(this.random() * this.holds.length), 1)[0]!;
      const hold = o.engine.hold(holdId);
      const accountId = hold?.accountId ?? kiosk;
      return o.exec({ type: this.random() < 0.6 ? "hold.confirm" : "hold.cancel", holdId, accountId }, accountId);
    }
    return o.exec({ type: "tick" }, "system", 500);
  }

  /** At least `events` more events; a checkpoint every `checkpointEvery` events. */
  run(events: number, checkpointEvery = 0): EventEnvelope[] {
    const out: EventEnvelope[] = [];
    let sinceCheckpoint = 0;
    while (out.length < events) {
      const batch = this.step();
      out.push(...batch);
      sinceCheckpoint += batch.length;
      if (checkpointEvery > 0 && sinceCheckpoint >= checkpointEvery) {
        out.push(...this.outlet.checkpoint());
        sinceCheckpoint = 0;
      }
    }
    return out;
  }
}

/** Publishes one outlet's envelopes to `stockroom.events.<outletId>` per the contract. */
export class StreamPublisher {
  private readonly js: JetStreamClient;
  /** Stream sequence of this outlet's last message (the expected last subject sequence). */
  subjectSeq = 0;
  messages = 0;

  constructor(
    nc: NatsConnection,
    readonly outletId: string,
    private readonly maxBytes = 512 * 1024,
  ) {
    this.js = jetstream(nc, { timeout: 10_000 });
  }

  /** Publishes the envelopes as runs of at most `maxBytes` of JSON (at most `perMessage` each). */
  async publish(envelopes: readonly EventEnvelope[], perMessage = Number.POSITIVE_INFINITY): Promise<void> {
    let parts: string[] = [];
    let bytes = 2;
    let first = 0;
    let last = 0;
    const flush = async () => {
      if (parts.length === 0) return;
      await this.publishRaw(`[${parts.join(",")}]`, first, last);
      parts = [];
      bytes = 2;
    };
    for (const e of envelopes) {
      const json = JSON.stringify(e);
      if (parts.length > 0 && (bytes + json.length + 1 > this.maxBytes || parts.length >= perMessage)) await flush();
      if (parts.length === 0) first = e.seq;
      parts.push(json);
      bytes += json.length + 1;
      last = e.seq;
    }
    await flush();
  }

  /** One message as given (for forged, gapped or duplicated runs). */
  async publishRaw(data: string, first: number, last: number, msgId = `${this.outletId}:${last}`): Promise<number> {
    const h = natsHeaders();
    h.set(FIRST_SEQ_HEADER, String(first));
    h.set(LAST_SEQ_HEADER, String(last));
    h.set("traceparent", `00-${"ab".repeat(16)}-${"cd".repeat(8)}-01`);
    const ack = await this.js.publish(eventsSubject(this.outletId), data, {
      msgID: msgId,
      expect: { lastSubjectSequence: this.subjectSeq },
      headers: h,
    });
    if (!ack.duplicate) this.subjectSeq = ack.seq;
    this.messages++;
    return ack.seq;
  }
}
