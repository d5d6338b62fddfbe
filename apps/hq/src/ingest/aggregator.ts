import type { Span } from "@opentelemetry/api";
import {
  type EngineEvent,
  type EventEnvelope,
  type EventOf,
  GENESIS_HASH,
  hashEnvelope,
  type Side,
  type StockRow,
} from "@stockroom/contracts";
import { Engine, type EngineSnapshot, stockDigest } from "@stockroom/engine";
import {
  bucketStart,
  type Candle,
  type DepthLevel,
  MarketDataHub,
  type MarketDataOptions,
  type MarketDataSnapshot,
  RESOLUTIONS,
  type Resolution,
} from "@stockroom/marketdata";
import { outletOfSubject } from "@stockroom/service";
import type { Logger } from "pino";
import { ChainDepth } from "../marketdata/chain-depth.ts";
import type { Db } from "../storage/db.ts";
import { emptyWriteBatch, type StoreWriter, type WriteBatch } from "../storage/writer.ts";
import type { Metrics } from "../telemetry/metrics.ts";
import { startMessageSpan } from "../telemetry/tracing.ts";

/** One JetStream message as the aggregator needs it (docs/replication.md). */
export interface IncomingMessage {
  subject: string;
  /** Stream sequence (0 when not known, e.g. in unit tests). */
  streamSeq: number;
  data: Uint8Array;
  /** `Stockroom-First-Seq` / `Stockroom-Last-Seq` headers, when present. */
  firstSeq?: number;
  lastSeq?: number;
  traceparent?: string;
  /**
   * Hashes already checked elsewhere (the verifier thread): the index of the first envelope
   * whose hash is wrong, or -1 when none is. Absent: the aggregator checks every hash itself.
   */
  firstBadHash?: number;
}

/**
 * What became of a message: applied (some of its events took effect), skipped (all already
 * applied), deferred (it starts past a missing seq: the caller backfills from the stream and
 * offers it again with `final`), ignored (its outlet is halted, or it is not an events subject).
 */
export type Outcome = "applied" | "skipped" | "deferred" | "ignored";

export type HaltKind = "gap" | "chain" | "malformed" | "unappliable";
export type DivergenceKind = HaltKind | "checkpoint";

export interface TradeOut {
  seq: number;
  sku: string;
  outletId: string;
  execId: number;
  price: number;
  quantity: number;
  ts: number;
  aggressor: string;
}
export interface DepthOut {
  seq: number;
  sku: string;
  ts: number;
  changes: (DepthLevel & { side: Side })[];
}
export interface CandleOut {
  seq: number;
  sku: string;
  resolution: Resolution;
  candle: Candle;
}

/** What one committed batch changed, for market data, SSE and logs. */
export interface Committed {
  events: number;
  trades: TradeOut[];
  depth: DepthOut[];
  candles: CandleOut[];
  /** Skus whose stock may have changed. */
  skus: Set<string>;
  /** Outlets whose reconciliation or halt state changed. */
  outlets: Set<string>;
}

export interface Checkpoint {
  seq: number;
  ts: number;
  ok: boolean;
  divergedSkus: string[];
  detail: string | null;
}

/** HQ's replica of one outlet and how far it is applied. */
export class OutletState {
  engine = new Engine();
  /** Position of the in-memory replica (engine + market data). */
  replicaSeq = 0;
  replicaHash = GENESIS_HASH;
  replicaStreamSeq = 0;
  /** Position of the committed effects (SQLite): the replica catches up to it after a restart. */
  appliedSeq = 0;
  appliedHash = GENESIS_HASH;
  appliedTs = 0;
  firstStreamSeq = 0;
  lastStreamSeq = 0;
  halt: { kind: HaltKind; detail: string; at: number; seq: number } | null = null;
  checkpoint: Checkpoint | null = null;
  verifiedSeq: number | null = null;
  divergedSince: number | null = null;
  /** An event failed to apply: the replica cannot be trusted or saved. */
  corrupt = false;
  snapSeq = 0;
  snapAt = 0;
  /** Events applied since this process started (for rates and tests). */
  appliedHere = 0;

  constructor(readonly outletId: string) {}

  get recovering(): boolean {
    return this.replicaSeq < this.appliedSeq && !this.corrupt;
  }
}

interface OrderPatch {
  isNew: boolean;
  outletId: string;
  orderId: number;
  accountId: string;
  sku: string;
  side: string;
  price: number | null;
  quantity: number | null;
  /** Absolute for a new order, an increment otherwise. */
  filled: number;
  remaining: number;
  status: string | null;
  cancelReason: string | null;
  timeInForce: string;
  reason: string;
  reference: string | null;
  createdSeq: number;
  createdTs: number;
  updatedSeq: number;
  updatedTs: number;
}

/** The names of a sku's market-data streams (their counters number its messages). */
interface StreamNames {
  trades: string;
  depth: string;
  candles: Record<Resolution, string>;
}

/** The chain-wide depth levels a batch changed in one sku (prices per side). */
interface DepthTouched extends Record<Side, Set<number>> {
  ts: number;
}

/** A batch being applied a message at a time (see `Aggregator.beginBatch`). */
export interface OpenBatch {
  apply(m: IncomingMessage): Outcome;
  /** Hands the batch's writes to the writer; resolves once they are durable (as `applyBatch`'s `committed`). */
  end(): Promise<void>;
}

class Batch {
  events = 0;
  skipped = 0;
  readonly perOutlet = new Map<string, number>();
  readonly trades: TradeOut[] = [];
  readonly depthTouched = new Map<string, DepthTouched>();
  /** Starts of the candles changed, per sku and resolution: a few at most, so a list, not a set. */
  readonly candlesTouched = new Map<string, Map<Resolution, number[]>>();
  /** Order rows to write, per outlet and order id (number keys: no key string per event). */
  readonly orders = new Map<string, Map<number, OrderPatch>>();
  readonly skus = new Set<string>();
  readonly outlets = new Set<OutletState>();
  readonly changed = new Set<string>();
  readonly streams = new Set<string>();
  readonly deferred = new Set<string>();
  readonly write: WriteBatch = emptyWriteBatch();
}

export interface AggregatorOptions {
  snapshotEveryEvents?: number;
  snapshotEveryMs?: number;
  marketData?: MarketDataOptions;
}

const decoder = new TextDecoder();
const SIDES: readonly Side[] = ["inflow", "outflow"];

/**
 * Applies every outlet's replicated events, strictly in sequence per outlet, to per-outlet
 * replicas (engine + market data) and to HQ's history (executions, orders), storing the last
 * applied seq per outlet in the same SQLite transaction as the effects (docs/replication.md).
 * Everything here is synchronous: a batch is applied and committed in one go.
 */
export class Aggregator {
  readonly outlets = new Map<string, OutletState>();
  hub: MarketDataHub;
  readonly depth = new ChainDepth();
  private readonly mdSeqs = new Map<string, number>();
  /**
   * The market-data stream names of each sku, built once: a name concatenated afresh for every
   * trade would be hashed afresh on every counter lookup.
   */
  private readonly streamNames = new Map<string, StreamNames>();
  /** The counters as committed: what the trades history (SQLite) has reached. */
  private readonly committedSeqs = new Map<string, number>();
  private readonly listeners = new Set<(c: Committed) => void>();
  /** The batch being applied (see `beginBatch`). */
  private open: Batch | null = null;
  /** Replicas asked to be saved while a batch was open. */
  private readonly snapshotsWanted = new Set<OutletState>();
  private readonly snapshotEveryEvents: number;
  private readonly snapshotEveryMs: number;
  private readonly mdOptions: MarketDataOptions;
  /** Set when a commit failed: memory is ahead of the database, so nothing more may be applied. */
  failure: Error | null = null;

  constructor(
    private readonly db: Db,
    private readonly writer: StoreWriter,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
    options: AggregatorOptions = {},
  ) {
    this.snapshotEveryEvents = options.snapshotEveryEvents ?? 200_000;
    this.snapshotEveryMs = options.snapshotEveryMs ?? 30_000;
    this.mdOptions = options.marketData ?? {};
    this.hub = new MarketDataHub(this.mdOptions);
    this.restore();
  }

  /** Hears about every committed batch (after the commit). */
  onCommit(listener: (c: Committed) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Last number of a market-data stream (applied in memory; `committed`: also written to SQLite). */
  mdSeq(stream: string, committed = false): number {
    return (committed ? this.committedSeqs : this.mdSeqs).get(stream) ?? 0;
  }

  /** True while some replica is still behind the committed effects (after a restart). */
  get recovering(): boolean {
    for (const st of this.outlets.values()) if (st.recovering && !st.halt) return true;
    return false;
  }

  /**
   * Where the durable consumer must (re)start so every replica can catch up with its committed
   * seq: the stream sequence after the oldest replica position, or null when all are current.
   */
  rollForwardFrom(): number | null {
    let from: number | null = null;
    for (const st of this.outlets.values()) {
      if (!st.recovering) continue;
      const start = st.replicaStreamSeq + 1;
      if (from === null || start < from) from = start;
    }
    return from;
  }

  /**
   * Applies a batch of messages to the replicas at once and hands its writes (effects and the
   * last applied seq per outlet, one transaction) to the writer. `committed` resolves once they
   * are durable and the commit listeners ran: acknowledge the messages then, not before.
   */
  applyBatch(
    messages: readonly IncomingMessage[],
    options: { final?: boolean } = {},
  ): { outcomes: Outcome[]; committed: Promise<void> } {
    const open = this.beginBatch(options);
    const outcomes = messages.map((m) => open.apply(m));
    return { outcomes, committed: open.end() };
  }

  /**
   * `applyBatch` a message at a time, so that a caller can let the event loop run between
   * messages (NATS keeps delivering meanwhile). Until `end`, replicas are not saved: a saved
   * replica must never be ahead of the effects the database holds.
   */
  beginBatch(options: { final?: boolean } = {}): OpenBatch {
    if (this.failure) throw this.failure;
    if (this.open) throw new Error("a batch is already open");
    const batch = new Batch();
    this.open = batch;
    const started = performance.now();
    const spans: Span[] = [];
    return {
      apply: (m) => {
        spans.push(
          startMessageSpan("hq.apply", m.traceparent, {
            "messaging.destination.name": m.subject,
            "stockroom.first_seq": m.firstSeq ?? 0,
            "stockroom.last_seq": m.lastSeq ?? 0,
          }),
        );
        return this.applyMessage(m, options.final === true, batch);
      },
      end: () => {
        this.open = null;
        return this.endBatch(batch, spans, started);
      },
    };
  }

  private endBatch(batch: Batch, spans: Span[], started: number): Promise<void> {
    this.flushOrders(batch);
    const { depth, candles, seqs } = this.numberMarketData(batch);
    const now = Date.now();
    for (const st of batch.outlets) batch.write.outlets.push(outletRow(st, now));
    for (const [outlet, n] of batch.perOutlet) this.metrics.eventsApplied.inc({ outlet }, n);
    if (batch.skipped) this.metrics.eventsSkipped.inc(batch.skipped);
    const committed: Committed = {
      events: batch.events,
      trades: batch.trades,
      depth,
      candles,
      skus: batch.skus,
      outlets: batch.changed,
    };
    // The commit callback keeps only what it needs, not the batch: its rows and patches are
    // thousands of objects that would otherwise outlive young-generation GCs until the commit.
    const { outlets } = batch;
    const count = spans.length;
    const write =
      batch.write.outlets.length > 0 || batch.write.divergences.length > 0
        ? this.writer.write(batch.write)
        : Promise.resolve();
    const done = write.then(
      () => {
        for (const span of spans) span.end();
        for (const [stream, seq] of seqs) this.committedSeqs.set(stream, seq);
        this.metrics.batchSeconds.observe((performance.now() - started) / 1000);
        this.metrics.messages.inc(count);
        for (const st of outlets) this.metrics.appliedSeq.set({ outlet: st.outletId }, st.appliedSeq);
        for (const listener of this.listeners) {
          try {
            listener(committed);
          } catch (error) {
            this.logger.error({ err: error }, "commit listener failed");
          }
        }
      },
      (error: Error) => {
        for (const span of spans) span.end();
        this.fail(error);
        throw error;
      },
    );
    done.catch(() => {}); // the caller awaits it; the failure is also kept in `failure`
    for (const st of outlets) this.maybeSnapshot(st, now);
    for (const st of this.snapshotsWanted) this.maybeSnapshot(st, now, true);
    this.snapshotsWanted.clear();
    return done;
  }

  /** Memory is ahead of the database now: nothing more may be applied; HQ must restart. */
  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    this.logger.fatal({ err: error }, "commit failed: HQ must restart to reload its state");
  }

  private applyMessage(m: IncomingMessage, final: boolean, batch: Batch): Outcome {
    const outletId = outletOfSubject(m.subject);
    if (outletId === null) {
      this.logger.warn({ subject: m.subject }, "message on an unexpected subject: ignored");
      return "ignored";
    }
    if (batch.deferred.has(outletId)) return "deferred";
    const st = this.outlet(outletId);
    if (st.halt && st.replicaSeq >= st.appliedSeq) return "ignored";
    if (m.lastSeq !== undefined && m.firstSeq !== undefined && m.lastSeq <= st.replicaSeq) {
      batch.skipped += m.lastSeq - m.firstSeq + 1;
      return "skipped";
    }
    let envelopes: unknown;
    try {
      envelopes = JSON.parse(decoder.decode(m.data));
    } catch (error) {
      this.halt(
        st,
        "malformed",
        st.replicaSeq + 1,
        `message ${m.streamSeq} is not JSON: ${(error as Error).message}`,
        batch,
      );
      return "ignored";
    }
    if (!Array.isArray(envelopes) || envelopes.length === 0) {
      this.halt(
        st,
        "malformed",
        st.replicaSeq + 1,
        `message ${m.streamSeq} is not a non-empty array of envelopes`,
        batch,
      );
      return "ignored";
    }
    let outcome: Outcome = "skipped";
    const list = envelopes as EventEnvelope[];
    const checkedBelow = m.firstBadHash === undefined ? 0 : m.firstBadHash === -1 ? list.length : m.firstBadHash;
    for (let i = 0; i < list.length; i++) {
      const e = list[i]!;
      const problem = shapeProblem(e, outletId);
      if (problem) {
        this.halt(st, "malformed", st.replicaSeq + 1, `message ${m.streamSeq}: ${problem}`, batch);
        return "ignored";
      }
      if (e.seq <= st.replicaSeq) {
        batch.skipped++;
        if (e.seq === st.replicaSeq && e.hash !== st.replicaHash) {
          this.halt(st, "chain", e.seq, `a second, different event ${e.seq} (a fork)`, batch);
          return "ignored";
        }
        continue;
      }
      if (st.halt && e.seq > st.appliedSeq) return outcome === "applied" ? outcome : "ignored";
      if (e.seq !== st.replicaSeq + 1) {
        if (!final && outcome === "skipped") {
          batch.deferred.add(outletId);
          return "deferred";
        }
        this.halt(st, "gap", st.replicaSeq + 1, `expected seq ${st.replicaSeq + 1}, got ${e.seq}`, batch);
        return outcome === "applied" ? outcome : "ignored";
      }
      if (e.prevHash !== st.replicaHash) {
        this.halt(st, "chain", e.seq, `event ${e.seq}: prevHash does not match event ${st.replicaSeq}`, batch);
        return outcome === "applied" ? outcome : "ignored";
      }
      if (i >= checkedBelow && hashEnvelope(e) !== e.hash) {
        this.halt(st, "chain", e.seq, `event ${e.seq}: hash does not match its content (forged or altered)`, batch);
        return outcome === "applied" ? outcome : "ignored";
      }
      const ok = e.seq <= st.appliedSeq ? this.rollForward(st, e, batch) : this.apply(st, e, m, batch);
      if (!ok) return outcome === "applied" ? outcome : "ignored";
      outcome = "applied";
    }
    if (outcome === "applied" && m.streamSeq > 0) {
      st.replicaStreamSeq = Math.max(st.replicaStreamSeq, m.streamSeq);
      if (st.replicaSeq === st.appliedSeq) st.lastStreamSeq = Math.max(st.lastStreamSeq, m.streamSeq);
    }
    return outcome;
  }

  /** Brings a restored replica forward through events whose effects are already committed. */
  private rollForward(st: OutletState, e: EventEnvelope, batch: Batch): boolean {
    try {
      st.engine.apply(e.payload, e.ts);
      for (const [sku, changes] of this.hub.apply(e)) this.depth.apply(st.outletId, sku, changes);
    } catch (error) {
      this.unappliable(st, e, error as Error, batch);
      return false;
    }
    st.replicaSeq = e.seq;
    st.replicaHash = e.hash;
    return true;
  }

  private apply(st: OutletState, e: EventEnvelope, m: IncomingMessage, batch: Batch): boolean {
    const p = e.payload;
    try {
      st.engine.apply(p, e.ts);
      // Market data without its update messages: the batch notes what changed and numbers
      // one message per changed depth sku and candle when it is done (numberMarketData).
      for (const [sku, changes] of this.hub.apply(e)) {
        let touched = batch.depthTouched.get(sku);
        if (!touched) {
          touched = { ts: e.ts, inflow: new Set(), outflow: new Set() };
          batch.depthTouched.set(sku, touched);
        }
        touched.ts = e.ts;
        this.depth.apply(st.outletId, sku, changes, touched);
      }
      if (p.type === "execution") {
        let bySku = batch.candlesTouched.get(p.sku);
        if (!bySku) {
          bySku = new Map();
          batch.candlesTouched.set(p.sku, bySku);
        }
        for (const resolution of RESOLUTIONS) {
          const start = bucketStart(resolution, e.ts);
          const starts = bySku.get(resolution);
          if (!starts) bySku.set(resolution, [start]);
          else if (!starts.includes(start)) starts.push(start);
        }
      }
    } catch (error) {
      this.unappliable(st, e, error as Error, batch);
      return false;
    }
    this.record(st, e, p, batch);
    if (st.appliedSeq === 0) st.firstStreamSeq = m.streamSeq;
    st.replicaSeq = st.appliedSeq = e.seq;
    st.replicaHash = st.appliedHash = e.hash;
    st.appliedTs = e.ts;
    st.appliedHere++;
    batch.events++;
    batch.perOutlet.set(st.outletId, (batch.perOutlet.get(st.outletId) ?? 0) + 1);
    batch.outlets.add(st);
    return true;
  }

  /** The event's effects on HQ's history and reconciliation. */
  private record(st: OutletState, e: EventEnvelope, p: EngineEvent, batch: Batch): void {
    switch (p.type) {
      case "execution": {
        const tradeSeq = this.nextSeq(this.streamsOf(p.sku).trades, batch);
        batch.write.executions.push([
          st.outletId,
          p.execId,
          e.seq,
          e.ts,
          p.sku,
          p.price,
          p.quantity,
          p.inflowOrderId,
          p.inflowAccountId,
          p.outflowOrderId,
          p.outflowAccountId,
          p.holdId,
          p.aggressor,
          tradeSeq,
        ]);
        batch.trades.push({
          seq: tradeSeq,
          sku: p.sku,
          outletId: st.outletId,
          execId: p.execId,
          price: p.price,
          quantity: p.quantity,
          ts: e.ts,
          aggressor: p.aggressor,
        });
        this.touchOrder(st, p.inflowOrderId, e, batch, p.quantity);
        if (p.outflowOrderId !== null) this.touchOrder(st, p.outflowOrderId, e, batch, p.quantity);
        batch.skus.add(p.sku);
        return;
      }
      case "order.accepted":
        this.ordersOf(st, batch).set(p.orderId, {
          isNew: true,
          outletId: st.outletId,
          orderId: p.orderId,
          accountId: p.accountId,
          sku: p.sku,
          side: p.side,
          price: p.price,
          quantity: p.quantity,
          filled: 0,
          remaining: p.quantity,
          status: "accepted",
          cancelReason: null,
          timeInForce: p.timeInForce,
          reason: p.reason,
          reference: p.reference,
          createdSeq: e.seq,
          createdTs: e.ts,
          updatedSeq: e.seq,
          updatedTs: e.ts,
        });
        return;
      case "order.rested":
        this.touchOrder(st, p.orderId, e, batch, 0, "resting");
        batch.skus.add(p.sku);
        return;
      case "order.cancelled":
        this.touchOrder(st, p.orderId, e, batch, 0, "cancelled", p.reason);
        batch.skus.add(p.sku);
        return;
      case "order.reduced":
      case "order.replaced":
        this.touchOrder(st, p.orderId, e, batch, 0);
        batch.skus.add(p.sku);
        return;
      case "hold.placed":
        for (const a of p.allocations) batch.skus.add(a.sku);
        return;
      case "hold.released":
      case "hold.confirmed":
        for (const a of st.engine.holds.get(p.holdId)?.allocations ?? []) batch.skus.add(a.sku);
        return;
      case "product.added":
      case "product.updated":
      case "product.removed":
        batch.skus.add(p.sku);
        return;
      case "outlet.checkpoint":
        this.reconcile(st, e, p, batch);
        return;
      default:
        return;
    }
  }

  private touchOrder(
    st: OutletState,
    orderId: number,
    e: EventEnvelope,
    batch: Batch,
    filled: number,
    status: string | null = null,
    cancelReason: string | null = null,
  ): void {
    const orders = this.ordersOf(st, batch);
    let patch = orders.get(orderId);
    if (!patch) {
      patch = {
        isNew: false,
        outletId: st.outletId,
        orderId,
        accountId: "",
        sku: "",
        side: "",
        price: null,
        quantity: null,
        filled: 0,
        remaining: 0,
        status: null,
        cancelReason: null,
        timeInForce: "",
        reason: "",
        reference: null,
        createdSeq: 0,
        createdTs: 0,
        updatedSeq: 0,
        updatedTs: 0,
      };
      orders.set(orderId, patch);
    }
    const order = st.engine.orders.get(orderId);
    if (order) {
      patch.price = order.price;
      patch.quantity = order.quantity;
      patch.remaining = order.remaining;
    } else {
      patch.remaining = 0;
    }
    patch.filled += filled;
    if (status) patch.status = status;
    else if (!order && filled > 0) patch.status = "filled";
    if (cancelReason) patch.cancelReason = cancelReason;
    patch.updatedSeq = e.seq;
    patch.updatedTs = e.ts;
  }

  private ordersOf(st: OutletState, batch: Batch): Map<number, OrderPatch> {
    let orders = batch.orders.get(st.outletId);
    if (!orders) {
      orders = new Map();
      batch.orders.set(st.outletId, orders);
    }
    return orders;
  }

  private flushOrders(batch: Batch): void {
    const { orderInserts, orderUpdates } = batch.write;
    for (const orders of batch.orders.values())
      for (const p of orders.values()) {
        if (p.isNew) {
          orderInserts.push([
            p.outletId,
            p.orderId,
            p.accountId,
            p.sku,
            p.side,
            p.price,
            p.quantity,
            p.filled,
            p.remaining,
            p.status,
            p.cancelReason,
            p.timeInForce,
            p.reason,
            p.reference,
            p.createdSeq,
            p.createdTs,
            p.updatedSeq,
            p.updatedTs,
          ]);
        } else {
          orderUpdates.push([
            p.price,
            p.quantity,
            p.filled,
            p.remaining,
            p.status,
            p.cancelReason,
            p.updatedSeq,
            p.updatedTs,
            p.outletId,
            p.orderId,
          ]);
        }
      }
  }

  /** Numbers the batch's depth and candle messages (one per sku / candle) and stores every counter it moved. */
  private numberMarketData(batch: Batch): { depth: DepthOut[]; candles: CandleOut[]; seqs: [string, number][] } {
    const depth: DepthOut[] = [];
    for (const [sku, touched] of batch.depthTouched) {
      const changes: DepthOut["changes"] = [];
      for (const side of SIDES)
        for (const price of touched[side]) changes.push({ side, ...this.depth.level(sku, side, price) });
      depth.push({ seq: this.nextSeq(this.streamsOf(sku).depth, batch), sku, ts: touched.ts, changes });
    }
    const candles: CandleOut[] = [];
    for (const [sku, bySku] of batch.candlesTouched) {
      const streams = this.streamsOf(sku).candles;
      for (const [resolution, starts] of bySku)
        for (const start of starts) {
          const candle = this.hub.candles(sku, resolution, start, start + 1)[0];
          if (candle) candles.push({ seq: this.nextSeq(streams[resolution], batch), sku, resolution, candle });
        }
    }
    const seqs: [string, number][] = [];
    for (const stream of batch.streams) {
      const seq: [string, number] = [stream, this.mdSeqs.get(stream)!];
      seqs.push(seq);
      batch.write.seqs.push(seq);
    }
    return { depth, candles, seqs };
  }

  private streamsOf(sku: string): StreamNames {
    let names = this.streamNames.get(sku);
    if (!names) {
      const candles = Object.fromEntries(RESOLUTIONS.map((r) => [r, `${sku}.candles.${r}`]));
      names = { trades: `${sku}.trades`, depth: `${sku}.depth`, candles: candles as StreamNames["candles"] };
      this.streamNames.set(sku, names);
    }
    return names;
  }

  private nextSeq(stream: string, batch: Batch): number {
    const seq = (this.mdSeqs.get(stream) ?? 0) + 1;
    this.mdSeqs.set(stream, seq);
    batch.streams.add(stream);
    return seq;
  }

  /** Compares a checkpoint with HQ's replica at the same seq (the checkpoint itself changes nothing). */
  private reconcile(st: OutletState, e: EventEnvelope, p: EventOf<"outlet.checkpoint">, batch: Batch): void {
    const own = st.engine.stockRows();
    const claimedConsistent = stockDigest(p.stock) === p.digest;
    const ok = claimedConsistent && stockDigest(own) === p.digest;
    const skus = ok ? [] : differingSkus(own, p.stock);
    const detail = ok
      ? null
      : skus.length > 0
        ? `stock differs at checkpoint ${e.seq}: ${skus.join(", ")}`
        : "the checkpoint's digest does not match its own stock rows";
    st.checkpoint = { seq: e.seq, ts: e.ts, ok, divergedSkus: skus, detail };
    batch.changed.add(st.outletId);
    this.metrics.checkpoints.inc({ outlet: st.outletId, result: ok ? "match" : "mismatch" });
    if (ok) {
      st.verifiedSeq = e.seq;
      if (!st.halt) st.divergedSince = null;
      return;
    }
    st.divergedSince ??= Date.now();
    batch.write.divergences.push([st.outletId, e.seq, "checkpoint", detail, JSON.stringify(skus), Date.now()]);
    this.metrics.divergences.inc({ outlet: st.outletId, kind: "checkpoint" });
    this.logger.error(
      { outletId: st.outletId, seq: e.seq, skus, kind: "checkpoint" },
      `outlet ${st.outletId} DIVERGED at checkpoint ${e.seq}: ${detail}`,
    );
  }

  private unappliable(st: OutletState, e: EventEnvelope, error: Error, batch: Batch): void {
    st.corrupt = true;
    this.halt(st, "unappliable", e.seq, `event ${e.seq} (${e.type}) could not be applied: ${error.message}`, batch);
  }

  /** Stops applying an outlet's events and says so loudly. */
  private halt(st: OutletState, kind: HaltKind, seq: number, detail: string, batch: Batch): void {
    const now = Date.now();
    st.halt = { kind, detail, at: now, seq };
    st.divergedSince ??= now;
    batch.outlets.add(st);
    batch.changed.add(st.outletId);
    batch.write.divergences.push([st.outletId, seq, kind, detail, "[]", now]);
    this.metrics.divergences.inc({ outlet: st.outletId, kind });
    if (kind === "gap") this.metrics.gaps.inc({ outlet: st.outletId });
    this.logger.error(
      { outletId: st.outletId, seq, kind, detail },
      `outlet ${st.outletId} DIVERGED (${kind}): ${detail}; its later events are not applied`,
    );
  }

  /** The outlet's state, created on its first message. */
  outlet(outletId: string): OutletState {
    let st = this.outlets.get(outletId);
    if (!st) {
      st = new OutletState(outletId);
      this.outlets.set(outletId, st);
    }
    return st;
  }

  /** Saves the outlet's replica when enough happened since the last save. */
  maybeSnapshot(st: OutletState, now = Date.now(), force = false): boolean {
    if (st.corrupt || st.recovering || st.appliedSeq === st.snapSeq) return false;
    if (this.open) {
      // Its effects are not written yet: the batch's end saves it (when asked, or when due).
      if (force) this.snapshotsWanted.add(st);
      return false;
    }
    const due =
      force || st.appliedSeq - st.snapSeq >= this.snapshotEveryEvents || now - st.snapAt >= this.snapshotEveryMs;
    if (!due) return false;
    const md = this.hub.outlet(st.outletId)?.snapshot();
    // Written after the batches already sent, so the database never holds a replica ahead of its effects.
    const write = emptyWriteBatch();
    write.replicas.push([
      st.outletId,
      st.appliedSeq,
      st.appliedHash,
      st.replicaStreamSeq,
      JSON.stringify(st.engine.snapshot()),
      JSON.stringify(md ?? null),
      now,
    ]);
    this.writer.write(write).catch((error: Error) => this.fail(error));
    st.snapSeq = st.appliedSeq;
    st.snapAt = now;
    this.metrics.snapshots.inc();
    return true;
  }

  /** Saves every replica that changed since its last save (on shutdown, or on a timer). */
  snapshotAll(force = true): void {
    const now = Date.now();
    for (const st of this.outlets.values()) this.maybeSnapshot(st, now, force);
  }

  /** Loads outlets, replicas and market-data counters from the database. */
  private restore(): void {
    const sql = this.db.$client;
    for (const row of sql.prepare("SELECT stream, seq FROM md_sequences").all() as { stream: string; seq: number }[]) {
      this.mdSeqs.set(row.stream, row.seq);
      this.committedSeqs.set(row.stream, row.seq);
    }
    const rows = sql.prepare("SELECT * FROM outlets").all() as OutletRow[];
    for (const r of rows) {
      const st = this.outlet(r.outlet_id);
      st.appliedSeq = r.applied_seq;
      st.appliedHash = r.applied_hash;
      st.appliedTs = r.applied_ts;
      st.firstStreamSeq = r.first_stream_seq;
      st.lastStreamSeq = r.last_stream_seq;
      st.replicaStreamSeq = Math.max(0, r.first_stream_seq - 1);
      st.halt =
        r.halt_reason !== null
          ? {
              kind: r.halt_reason as HaltKind,
              detail: r.halt_detail ?? "",
              at: r.halted_at ?? 0,
              seq: r.applied_seq + 1,
            }
          : null;
      st.corrupt = r.halt_reason === "unappliable";
      st.checkpoint =
        r.checkpoint_seq !== null
          ? {
              seq: r.checkpoint_seq,
              ts: r.checkpoint_ts ?? 0,
              ok: r.checkpoint_ok === 1,
              divergedSkus: JSON.parse(r.diverged_skus) as string[],
              detail: null,
            }
          : null;
      st.verifiedSeq = r.verified_seq;
      st.divergedSince = r.diverged_since;
    }
    const replicas = sql.prepare("SELECT * FROM replicas").all() as ReplicaRow[];
    const mdSnapshots: { outletId: string; state: MarketDataSnapshot }[] = [];
    for (const r of replicas) {
      const st = this.outlet(r.outlet_id);
      st.engine = Engine.restore(JSON.parse(r.engine) as EngineSnapshot);
      st.replicaSeq = r.seq;
      st.replicaHash = r.hash;
      st.replicaStreamSeq = r.stream_seq;
      st.snapSeq = r.seq;
      st.snapAt = r.taken_at;
      const md = JSON.parse(r.market_data) as MarketDataSnapshot | null;
      if (md) mdSnapshots.push({ outletId: r.outlet_id, state: md });
    }
    this.hub = MarketDataHub.restore({ outlets: mdSnapshots }, this.mdOptions);
    for (const outletId of this.hub.outletIds()) this.depth.load(outletId, this.hub.outlet(outletId)!);
    for (const st of this.outlets.values()) {
      this.metrics.appliedSeq.set({ outlet: st.outletId }, st.appliedSeq);
      if (st.recovering)
        this.logger.info(
          {
            outletId: st.outletId,
            replicaSeq: st.replicaSeq,
            appliedSeq: st.appliedSeq,
            fromStreamSeq: st.replicaStreamSeq + 1,
          },
          "replica restored; rolling forward from the stream",
        );
    }
  }
}

interface OutletRow {
  outlet_id: string;
  applied_seq: number;
  applied_hash: string;
  applied_ts: number;
  first_stream_seq: number;
  last_stream_seq: number;
  halt_reason: string | null;
  halt_detail: string | null;
  halted_at: number | null;
  checkpoint_seq: number | null;
  checkpoint_ts: number | null;
  checkpoint_ok: number | null;
  diverged_skus: string;
  verified_seq: number | null;
  diverged_since: number | null;
}

interface ReplicaRow {
  outlet_id: string;
  seq: number;
  hash: string;
  stream_seq: number;
  engine: string;
  market_data: string;
  taken_at: number;
}

function outletRow(st: OutletState, now: number) {
  return {
    outletId: st.outletId,
    appliedSeq: st.appliedSeq,
    appliedHash: st.appliedHash,
    appliedTs: st.appliedTs,
    firstStreamSeq: st.firstStreamSeq,
    lastStreamSeq: st.lastStreamSeq,
    haltReason: st.halt?.kind ?? null,
    haltDetail: st.halt?.detail ?? null,
    haltedAt: st.halt?.at ?? null,
    checkpointSeq: st.checkpoint?.seq ?? null,
    checkpointTs: st.checkpoint?.ts ?? null,
    checkpointOk: st.checkpoint ? (st.checkpoint.ok ? 1 : 0) : null,
    divergedSkus: JSON.stringify(st.checkpoint?.divergedSkus ?? []),
    verifiedSeq: st.verifiedSeq,
    divergedSince: st.divergedSince,
    updatedAt: now,
  };
}

/** Why a parsed item is not an envelope of this outlet (the hash check covers the rest). */
function shapeProblem(e: EventEnvelope, outletId: string): string | null {
  if (typeof e !== "object" || e === null) return "an item is not an object";
  if (e.v !== 1) return `unknown envelope version ${String(e.v)}`;
  if (e.outletId !== outletId) return `an envelope of outlet ${String(e.outletId)} on ${outletId}'s subject`;
  if (!Number.isSafeInteger(e.seq) || e.seq < 1) return "an envelope without a valid seq";
  if (!Number.isSafeInteger(e.ts)) return `envelope ${e.seq} has no valid ts`;
  if (typeof e.hash !== "string" || typeof e.prevHash !== "string") return `envelope ${e.seq} has no hashes`;
  if (typeof e.payload !== "object" || e.payload === null || e.payload.type !== e.type)
    return `envelope ${e.seq}: payload type does not match`;
  return null;
}

/** Skus whose rows differ between two sorted stock tables (a sku on one side only counts). */
export function differingSkus(a: readonly StockRow[], b: readonly StockRow[]): string[] {
  const byA = new Map(a.map((r) => [r[0], JSON.stringify(r)]));
  const byB = new Map(b.map((r) => [r[0], JSON.stringify(r)]));
  const out: string[] = [];
  for (const [sku, row] of byA) if (byB.get(sku) !== row) out.push(sku);
  for (const sku of byB.keys()) if (!byA.has(sku)) out.push(sku);
  return out.sort();
}
