import { mkdirSync, readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import { connect, credsAuthenticator, type NatsConnection } from "@nats-io/transport-node";
import { acquireLock } from "@stockroom/service";
import { type Logger, pino } from "pino";
import { createApp } from "./api/app.ts";
import type { HqServices, NatsStatus } from "./api/context.ts";
import { ApiKeys } from "./api/keys.ts";
import { StreamHub } from "./api/stream-hub.ts";
import type { HqConfig } from "./config.ts";
import { Aggregator } from "./ingest/aggregator.ts";
import { EventConsumer } from "./ingest/consumer.ts";
import { Heartbeats } from "./ingest/heartbeats.ts";
import { MarketDataPublisher } from "./marketdata/publisher.ts";
import { inventory } from "./queries.ts";
import { OutletBoard } from "./status.ts";
import { type Db, openDb } from "./storage/db.ts";
import { StoreWriter } from "./storage/writer.ts";
import { Metrics } from "./telemetry/metrics.ts";

export interface RunningHq {
  services: HqServices;
  url: string;
  /** Resolves once the durable consumer is pulling (never, without NATS). */
  consuming: Promise<void>;
  stop(): Promise<void>;
}

/** Opens HQ's database (one process at a time) and restores the replicas; no network yet. */
export function openHq(
  config: HqConfig,
  logger: Logger = pino({ level: config.logLevel }),
): { db: Db; metrics: Metrics; aggregator: Aggregator; keys: ApiKeys; close(): Promise<void> } {
  mkdirSync(config.dataDir, { recursive: true });
  const release = acquireLock(join(config.dataDir, "hq.lock.pid"), "the HQ database");
  try {
    const file = join(config.dataDir, "hq.db");
    const db = openDb(file, { synchronous: config.synchronous });
    const writer = new StoreWriter(file, config.synchronous);
    const metrics = new Metrics();
    const started = performance.now();
    const aggregator = new Aggregator(db, writer, logger, metrics, {
      snapshotEveryEvents: config.snapshotEveryEvents,
      snapshotEveryMs: config.snapshotEveryMs,
      marketData: { maxCandles: config.maxCandles, maxTrades: config.maxTrades },
    });
    logger.info(
      {
        outlets: aggregator.outlets.size,
        ms: Math.round(performance.now() - started),
        recovering: aggregator.recovering,
      },
      "HQ state restored",
    );
    return {
      db,
      metrics,
      aggregator,
      keys: new ApiKeys(db),
      close: async () => {
        await writer.close().catch(() => {});
        db.$client.close();
        release();
      },
    };
  } catch (error) {
    release();
    throw error;
  }
}

/** Starts HQ: the HTTP API, and (with natsUrl) the consumer, the heartbeat watch and market data. */
export async function startHq(
  config: HqConfig,
  options: { logger?: Logger; onFatal?: (error: Error) => void } = {},
): Promise<RunningHq> {
  const logger = options.logger ?? pino({ level: config.logLevel });
  const { db, metrics, aggregator, keys, close } = openHq(config, logger);
  const heartbeats = new Heartbeats(logger);
  const board = new OutletBoard(aggregator, heartbeats, config.offlineAfterMs, metrics, logger);
  const stream = new StreamHub();
  const publisher = config.publishMarketData ? new MarketDataPublisher(aggregator, db, metrics, logger) : null;
  let nc: NatsConnection | null = null;
  let consumer: EventConsumer | null = null;
  let natsError: string | null = null;
  let stopping = false;

  const services: HqServices = {
    db,
    aggregator,
    board,
    keys,
    stream,
    metrics,
    logger,
    nats: (): NatsStatus => ({
      configured: Boolean(config.natsUrl),
      connected: nc !== null && !nc.isClosed() && !reconnecting,
      consumer: consumer?.state ?? null,
      error: consumer?.error ?? natsError,
    }),
  };
  let reconnecting = false;

  // Live updates for SSE subscribers.
  aggregator.onCommit((c) => {
    if (stream.size === 0) return;
    for (const t of c.trades) if (stream.follows(t.sku)) stream.publish({ event: "trade", sku: t.sku, data: t });
    for (const d of c.depth) if (stream.follows(d.sku)) stream.publish({ event: "depth", sku: d.sku, data: d });
    for (const k of c.candles) if (stream.follows(k.sku)) stream.publish({ event: "candle", sku: k.sku, data: k });
    for (const sku of c.skus) {
      if (!stream.follows(sku)) continue;
      const [row] = inventory(aggregator, { sku });
      if (row) stream.publish({ event: "stock", sku, data: row });
    }
    for (const outletId of c.outlets) stream.publish({ event: "outlet", data: board.describe(outletId) });
  });
  board.onChange = (s) => stream.publish({ event: "outlet", data: s });
  // A heartbeat can change an outlet's lag or liveness: re-evaluate now, not at the next tick.
  heartbeats.onBeat = () => board.tick();
  board.start(config.statusEveryMs);
  const housekeeping = setInterval(() => {
    if (!aggregator.failure) aggregator.snapshotAll(false);
    if (aggregator.failure) options.onFatal?.(aggregator.failure);
  }, config.statusEveryMs);
  housekeeping.unref();

  const app = createApp(services);
  const server = serve({ fetch: app.fetch, hostname: config.host, port: config.port });
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.host}:${port}`;
  logger.info({ url }, "HQ serving");

  let markConsuming: () => void = () => {};
  const consuming = new Promise<void>((resolve) => {
    markConsuming = resolve;
  });
  const link = config.natsUrl ? linkLoop(config.natsUrl) : Promise.resolve();

  async function linkLoop(natsUrl: string): Promise<void> {
    while (!stopping) {
      try {
        nc = await connect({
          servers: natsUrl,
          name: "stockroom-hq",
          maxReconnectAttempts: -1,
          reconnectTimeWait: 500,
          timeout: 2_000,
          ...(config.natsCreds ? { authenticator: credsAuthenticator(readFileSync(config.natsCreds)) } : {}),
        });
        const conn = nc;
        void (async () => {
          for await (const s of conn.status()) {
            if (s.type === "disconnect") {
              reconnecting = true;
              logger.warn("NATS disconnected; reconnecting");
            } else if (s.type === "reconnect") {
              reconnecting = false;
              logger.info("NATS reconnected");
            }
          }
        })();
        logger.info({ natsUrl }, "connected to NATS");
        publisher?.attach(conn);
        heartbeats.start(conn);
        // Runs the consumer for as long as the connection lives; one that failed or ended (a
        // JetStream error mid-stream, the consumer deleted) is started again rather than left dead.
        while (!stopping && !conn.isClosed()) {
          try {
            consumer = new EventConsumer(
              conn,
              aggregator,
              { name: config.consumer, maxBatchMessages: config.maxBatchMessages },
              logger,
            );
            await consumer.start();
            natsError = null;
            markConsuming();
            await Promise.race([consumer.finished(), conn.closed()]);
            if (stopping || conn.isClosed() || aggregator.failure) break;
            natsError = consumer.error ?? "the consumer's message stream ended";
            logger.warn({ err: natsError }, "the event consumer stopped; starting it again");
          } catch (error) {
            natsError = (error as Error).message;
            logger.warn({ err: natsError }, "cannot start the event consumer yet; retrying");
          }
          await consumer?.stop().catch(() => {});
          consumer = null;
          await sleep(1_000);
        }
        await conn.closed();
      } catch (error) {
        natsError = (error as Error).message;
        logger.warn({ err: natsError }, "NATS link failed; retrying");
      }
      await consumer?.stop().catch(() => {});
      await heartbeats.stop();
      publisher?.detach();
      if (!stopping) await sleep(1_000);
    }
  }

  return {
    services,
    url,
    consuming,
    stop: async () => {
      stopping = true;
      board.stop();
      clearInterval(housekeeping);
      await consumer?.stop().catch(() => {});
      await heartbeats.stop();
      publisher?.close();
      await nc?.drain().catch(() => {});
      // The link loop ends by itself (it sees `stopping`); a connect in progress times out.
      void link;
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (!aggregator.failure) aggregator.snapshotAll(true);
      await close();
      logger.info("HQ stopped");
    },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
