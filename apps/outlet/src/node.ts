import { mkdirSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import type { Command, EventEnvelope } from "@stockroom/contracts";
import { MarketData } from "@stockroom/marketdata";
import { acquireLock } from "@stockroom/service";
import { type Logger, pino } from "pino";
import { createApp } from "./api/app.ts";
import type { OutletServices } from "./api/context.ts";
import { Credentials } from "./api/credentials.ts";
import { IdempotencyStore } from "./api/idempotency.ts";
import { RateLimiter } from "./api/rate-limit.ts";
import { StreamHub } from "./api/stream-hub.ts";
import type { OutletConfig } from "./config.ts";
import { Replicator } from "./replication/replicator.ts";
import { openDb } from "./storage/db.ts";
import { EventLog } from "./storage/event-log.ts";
import { Metrics } from "./telemetry/metrics.ts";
import { AsOfStock } from "./writer/as-of.ts";
import { recover } from "./writer/recovery.ts";
import { Writer } from "./writer/writer.ts";

export const SYSTEM_ACTOR = "system";

export interface RunningOutlet {
  services: OutletServices;
  url: string;
  stop(): Promise<void>;
}

/** Opens the outlet's database, recovers the engine, and builds every service (no network yet). */
export function openOutlet(
  config: OutletConfig,
  logger: Logger = pino({ level: config.logLevel }),
  /** marketData: false skips rebuilding trades and candles (CLI tools that only read or seed). */
  options: { marketData?: boolean } = {},
): {
  services: OutletServices;
  close(): void;
} {
  mkdirSync(config.dataDir, { recursive: true });
  const release = acquireLock(join(config.dataDir, "outlet.lock.pid"), "the outlet database");
  try {
    const db = openDb(join(config.dataDir, "outlet.db"), { synchronous: config.synchronous });
    const log = new EventLog(db, config.outletId);
    const started = performance.now();
    const { engine, head, fromSnapshot, replayed } = recover(log);
    logger.info({ seq: head.seq, fromSnapshot, replayed, ms: Math.round(performance.now() - started) }, "recovered");
    const writer = new Writer(log, engine, head, { ...config, unsnapshottedEvents: replayed });
    // Trades and candles come from executions only (depth is served by the engine itself).
    const marketData = new MarketData();
    if (options.marketData !== false) for (const e of log.readExecutions()) marketData.apply(e.payload, e.ts);
    const metrics = new Metrics();
    metrics.lastSeq.set(head.seq);
    const services: OutletServices = {
      outletId: config.outletId,
      log,
      writer,
      asOf: new AsOfStock(log),
      engine,
      marketData,
      credentials: new Credentials(db),
      idempotency: new IdempotencyStore(db, log),
      rateLimiter: new RateLimiter(config.rateLimitPerSecond, config.rateLimitBurst),
      stream: new StreamHub(),
      metrics,
      logger,
      bodyLimitBytes: config.bodyLimitBytes,
      replicator: null,
    };
    writer.onCommit = (envelopes, commands, ms) => afterCommit(services, envelopes, commands, ms);
    return {
      services,
      close: () => {
        services.asOf.close();
        log.close();
        release();
      },
    };
  } catch (error) {
    release();
    throw error;
  }
}

/** Starts the HTTP server, the configuration and the tick timer. */
export async function startOutlet(config: OutletConfig, logger?: Logger): Promise<RunningOutlet> {
  const { services, close } = openOutlet(config, logger);
  await configure(services, config);
  const app = createApp(services);
  const server = serve({ fetch: app.fetch, hostname: config.host, port: config.port });
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.host}:${port}`;
  if (config.natsUrl) startReplication(services, config, url);
  const checkpoints = scheduleCheckpoints(services, config);
  const ticker =
    config.tickEveryMs > 0
      ? setInterval(() => {
          if (!services.writer.failure) services.writer.submit({ type: "tick" }, SYSTEM_ACTOR).catch(() => {});
        }, config.tickEveryMs)
      : null;
  services.logger.info({ url, outletId: config.outletId }, "outlet serving");
  return {
    services,
    url,
    stop: async () => {
      if (ticker) clearInterval(ticker);
      clearInterval(checkpoints);
      await services.replicator?.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      // Commands already taken are committed and answered, not cut off mid-fsync.
      await services.writer.drained();
      close();
    },
  };
}

function startReplication(svc: OutletServices, config: OutletConfig, url: string): void {
  const replicator = new Replicator(
    svc.log,
    () => svc.writer.lastSeq,
    { natsUrl: config.natsUrl!, natsCreds: config.natsCreds, url },
    svc.logger,
  );
  replicator.onPublished = (n) => {
    svc.metrics.replicatedEvents.inc(n);
    svc.metrics.replicationLag.set(replicator.status().lag);
  };
  replicator.onRefused = () => svc.metrics.replicationRefused.set(1);
  svc.replicator = replicator;
  replicator.start();
}

/**
 * Sequences a checkpoint after every `checkpointEveryEvents` events, or every
 * `checkpointEveryMs` when anything happened since the last one.
 */
function scheduleCheckpoints(svc: OutletServices, config: OutletConfig): NodeJS.Timeout {
  let lastCheckpointSeq = svc.writer.lastSeq;
  let inFlight = false;
  const checkpoint = () => {
    if (inFlight || svc.writer.lastSeq === lastCheckpointSeq || svc.writer.failure) return;
    inFlight = true;
    svc.writer
      .submit({ type: "checkpoint" }, SYSTEM_ACTOR)
      .then((envelopes) => {
        lastCheckpointSeq = envelopes.at(-1)?.seq ?? svc.writer.lastSeq;
      })
      .catch(() => {})
      .finally(() => {
        inFlight = false;
      });
  };
  const onCommit = svc.writer.onCommit;
  svc.writer.onCommit = (envelopes, commands, ms) => {
    onCommit(envelopes, commands, ms);
    svc.replicator?.notify();
    if (svc.writer.lastSeq - lastCheckpointSeq >= config.checkpointEveryEvents) checkpoint();
  };
  return setInterval(checkpoint, config.checkpointEveryMs);
}

/** Sequences an `outlet.configure` when the configured hours, timezone or limits differ from the engine's. */
async function configure(svc: OutletServices, config: OutletConfig): Promise<void> {
  const wanted = {
    timezone: config.timezone,
    tradingHours: config.tradingHours,
    defaultDailyLimit: config.defaultDailyLimit,
    brandLimits: config.brandLimits,
  };
  if (JSON.stringify(wanted) === JSON.stringify(svc.engine.config)) return;
  const command: Command = { type: "outlet.configure", ...wanted };
  await svc.writer.submit(command, SYSTEM_ACTOR);
}

function afterCommit(svc: OutletServices, envelopes: EventEnvelope[], commands: number, ms: number): void {
  const { metrics, engine, stream } = svc;
  metrics.commands.inc(commands);
  metrics.events.inc(envelopes.length);
  metrics.groupSize.observe(commands);
  metrics.commitSeconds.observe(ms / 1000);
  metrics.lastSeq.set(envelopes[envelopes.length - 1]!.seq);
  for (const e of envelopes) {
    if (e.payload.type === "command.rejected") metrics.rejections.inc({ reason: e.payload.reason });
    if (e.payload.type === "execution") svc.marketData.apply(e.payload, e.ts);
  }
  const skus = stream.followedSkus(envelopes, (holdId) => engine.hold(holdId)?.lines.map((l) => l.sku) ?? []);
  for (const e of envelopes) {
    if (e.payload.type === "execution" && skus.has(e.payload.sku)) {
      stream.publish({ event: "fill", sku: e.payload.sku, data: { ...e.payload, seq: e.seq, ts: e.ts } });
    }
  }
  for (const sku of skus) {
    stream.publish({ event: "stock", sku, data: engine.stock(sku) });
    stream.publish({ event: "depth", sku, data: engine.depth(sku, 20) });
  }
}
