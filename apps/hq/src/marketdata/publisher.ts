import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { RESOLUTIONS, type Resolution } from "@stockroom/marketdata";
import type { Logger } from "pino";
import { z } from "zod";
import type { Aggregator, Committed } from "../ingest/aggregator.ts";
import { type ExecutionRow, trades } from "../queries.ts";
import type { Db } from "../storage/db.ts";
import type { Metrics } from "../telemetry/metrics.ts";

/**
 * Market data on NATS core subjects (docs/hq.md, "Market data on NATS"):
 *   stockroom.md.<sku>.trades            one message per trade
 *   stockroom.md.<sku>.depth             chain-wide level changes of one committed batch
 *   stockroom.md.<sku>.candles.<res>     a candle's new state (1m, 5m, 1h, 1w, 1mo)
 * Every message carries `seq`, numbered 1, 2, 3, … per subject and kept across HQ restarts,
 * so a subscriber sees a gap and asks `stockroom.md.snapshot` (request–reply) to resync.
 * A `.` in a sku becomes `~` in the subject token (the body keeps the sku as it is).
 */
export const MD_PREFIX = "stockroom.md";
export const MD_SNAPSHOT_SUBJECT = `${MD_PREFIX}.snapshot`;

export function skuToken(sku: string): string {
  return sku.replaceAll(".", "~");
}
export const tradesSubject = (sku: string) => `${MD_PREFIX}.${skuToken(sku)}.trades`;
export const depthSubject = (sku: string) => `${MD_PREFIX}.${skuToken(sku)}.depth`;
export const candlesSubject = (sku: string, resolution: Resolution) =>
  `${MD_PREFIX}.${skuToken(sku)}.candles.${resolution}`;

/** What a subscriber asks to resync. */
export const SnapshotRequest = z.object({
  sku: z.string().trim().toUpperCase().min(1).max(64),
  /** Depth levels per side. */
  levels: z.int().min(1).max(10_000).default(1_000),
  /** How many recent trades (when afterTradeSeq is absent). */
  trades: z.int().min(0).max(10_000).default(100),
  /** The trades after this one (up to `trades`, or 10,000 when `trades` is absent): what a gap lost. */
  afterTradeSeq: z.int().min(0).optional(),
  resolutions: z.array(z.enum(RESOLUTIONS)).default([...RESOLUTIONS]),
  /** Recent candles per resolution. */
  candles: z.int().min(0).max(1_000).default(100),
});
export type SnapshotRequest = z.input<typeof SnapshotRequest>;

export interface TradeMessage {
  seq: number;
  sku: string;
  outletId: string;
  execId: number;
  price: number;
  quantity: number;
  ts: number;
  aggressor: string;
}

export function tradeOf(row: ExecutionRow): TradeMessage {
  return {
    seq: row.tradeSeq,
    sku: row.sku,
    outletId: row.outletId,
    execId: row.execId,
    price: row.price,
    quantity: row.quantity,
    ts: row.ts,
    aggressor: row.aggressor,
  };
}

/** The state of a sku's market data with the seq of each stream it reflects. */
export function marketSnapshot(agg: Aggregator, db: Db, input: SnapshotRequest) {
  const req = SnapshotRequest.parse(input);
  const { sku } = req;
  const tradeRows =
    req.afterTradeSeq !== undefined
      ? trades(db, sku, input.trades === undefined ? 10_000 : req.trades, req.afterTradeSeq)
      : trades(db, sku, req.trades);
  return {
    sku,
    // Trades come from SQLite: their seq is the committed one (memory may be a batch or two ahead).
    trades: { seq: agg.mdSeq(`${sku}.trades`, true), items: tradeRows.map(tradeOf) },
    depth: { seq: agg.mdSeq(`${sku}.depth`), ...agg.depth.book(sku, req.levels) },
    candles: Object.fromEntries(
      req.resolutions.map((r) => [
        r,
        {
          seq: agg.mdSeq(`${sku}.candles.${r}`),
          items: req.candles > 0 ? agg.hub.candles(sku, r, 0, Number.MAX_SAFE_INTEGER).slice(-req.candles) : [],
        },
      ]),
    ) as Record<Resolution, { seq: number; items: unknown[] }>,
  };
}

/** Publishes each committed batch's market data and answers snapshot requests. */
export class MarketDataPublisher {
  private nc: NatsConnection | null = null;
  private sub: Subscription | null = null;
  private readonly detachCommit: () => void;

  constructor(
    private readonly agg: Aggregator,
    private readonly db: Db,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {
    this.detachCommit = agg.onCommit((c) => this.publish(c));
  }

  attach(nc: NatsConnection): void {
    this.nc = nc;
    this.sub = nc.subscribe(MD_SNAPSHOT_SUBJECT, {
      callback: (error, msg) => {
        if (error) return;
        let reply: unknown;
        try {
          reply = marketSnapshot(this.agg, this.db, msg.json<SnapshotRequest>());
        } catch (e) {
          reply = { error: e instanceof z.ZodError ? "invalid snapshot request" : (e as Error).message };
        }
        msg.respond(JSON.stringify(reply));
      },
    });
  }

  detach(): void {
    this.sub?.unsubscribe();
    this.sub = null;
    this.nc = null;
  }

  close(): void {
    this.detach();
    this.detachCommit();
  }

  private publish(c: Committed): void {
    const nc = this.nc;
    if (!nc || nc.isClosed()) return;
    try {
      for (const t of c.trades) nc.publish(tradesSubject(t.sku), JSON.stringify(t));
      for (const d of c.depth) nc.publish(depthSubject(d.sku), JSON.stringify(d));
      for (const k of c.candles) nc.publish(candlesSubject(k.sku, k.resolution), JSON.stringify(k));
    } catch (error) {
      // Subscribers see the gap in seq and resync from the snapshot.
      this.logger.warn({ err: (error as Error).message }, "market data publish failed");
      return;
    }
    if (c.trades.length) this.metrics.mdPublished.inc({ kind: "trades" }, c.trades.length);
    if (c.depth.length) this.metrics.mdPublished.inc({ kind: "depth" }, c.depth.length);
    if (c.candles.length) this.metrics.mdPublished.inc({ kind: "candles" }, c.candles.length);
  }
}
