import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { HEARTBEAT_BUCKET } from "@stockroom/service";
import type { Logger } from "pino";

/** What an outlet writes to the `stockroom-outlets` bucket every few seconds (docs/replication.md). */
export interface Heartbeat {
  outletId: string;
  lastSeq: number;
  replicatedSeq: number;
  lag: number;
  ts: number;
  url: string | null;
  /** When the server stored it (ms): what "last heard" means, whatever the outlet's clock says. */
  receivedAt: number;
}

/** Watches the heartbeat bucket; the latest value per outlet is kept in memory. */
export class Heartbeats {
  readonly latest = new Map<string, Heartbeat>();
  private stopped = false;
  private iterator: { stop(): void } | null = null;
  private loop: Promise<void> | null = null;
  /** Called on every heartbeat (HQ re-evaluates the outlet's status). */
  onBeat: (hb: Heartbeat) => void = () => {};

  constructor(private readonly logger: Logger) {}

  start(nc: NatsConnection): void {
    this.stopped = false;
    this.loop = this.run(nc);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.iterator?.stop();
    await this.loop;
  }

  private async run(nc: NatsConnection): Promise<void> {
    while (!this.stopped && !nc.isClosed()) {
      try {
        const kvm = new Kvm(nc);
        const kv = await kvm.create(HEARTBEAT_BUCKET, { history: 1 }).catch(() => kvm.open(HEARTBEAT_BUCKET));
        const entries = await kv.watch();
        this.iterator = entries;
        for await (const e of entries) {
          if (e.operation !== "PUT") {
            this.latest.delete(e.key);
            continue;
          }
          try {
            const v = e.json<Partial<Heartbeat>>();
            const hb: Heartbeat = {
              outletId: String(v.outletId ?? e.key),
              lastSeq: Number(v.lastSeq ?? 0),
              replicatedSeq: Number(v.replicatedSeq ?? 0),
              lag: Number(v.lag ?? 0),
              ts: Number(v.ts ?? 0),
              url: typeof v.url === "string" ? v.url : null,
              receivedAt: e.created.getTime(),
            };
            this.latest.set(e.key, hb);
            this.onBeat(hb);
          } catch {
            this.logger.warn({ key: e.key }, "heartbeat that is not JSON: ignored");
          }
        }
      } catch (error) {
        if (!this.stopped) this.logger.warn({ err: (error as Error).message }, "heartbeat watch interrupted");
      }
      if (!this.stopped) await new Promise((r) => setTimeout(r, 1_000));
    }
  }
}
