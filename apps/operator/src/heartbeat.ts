import { readFileSync } from "node:fs";
import { type KV, Kvm } from "@nats-io/kv";
import { connect, credsAuthenticator, type NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { z } from "zod";

/** The KV bucket every outlet node writes its heartbeat to (docs/replication.md), key = outletId. */
export const HEARTBEAT_BUCKET = "stockroom-outlets";

export const Heartbeat = z.object({
  outletId: z.string(),
  lastSeq: z.int().min(0),
  replicatedSeq: z.int().min(0),
  lag: z.int().min(0),
  /** Milliseconds since the epoch, the outlet's clock. */
  ts: z.number(),
});
export type Heartbeat = z.infer<typeof Heartbeat>;

/** Where the operator reads outlets' replication state; null: no heartbeat for that outlet (yet). */
export interface HeartbeatSource {
  read(outletId: string): Promise<Heartbeat | null>;
  close(): Promise<void>;
}

/** Reads heartbeats from the NATS KV bucket; connects lazily and again after a failure. */
export class NatsHeartbeatSource implements HeartbeatSource {
  private bucket: Promise<{ nc: NatsConnection; kv: KV }> | null = null;

  constructor(
    private readonly options: { url: string; credentialsFile?: string },
    private readonly logger: Logger,
  ) {}

  async read(outletId: string): Promise<Heartbeat | null> {
    try {
      const { kv } = await this.open();
      const entry = await kv.get(outletId);
      if (entry?.operation !== "PUT") return null;
      const parsed = Heartbeat.safeParse(entry.json());
      if (!parsed.success) {
        this.logger.warn({ outletId, issues: parsed.error.issues }, "ignoring a malformed heartbeat");
        return null;
      }
      return parsed.data;
    } catch (error) {
      // No bucket yet (no outlet has replicated) or NATS away: replication state unknown, not an operator failure.
      this.logger.debug({ err: (error as Error).message, outletId }, "heartbeat not readable");
      await this.reset();
      return null;
    }
  }

  async close(): Promise<void> {
    await this.reset();
  }

  private open(): Promise<{ nc: NatsConnection; kv: KV }> {
    this.bucket ??= (async () => {
      const nc = await connect({
        servers: this.options.url,
        name: "stockroom-operator",
        timeout: 2_000,
        // A lost connection fails the next read fast; the read after that connects again.
        reconnect: false,
        ...(this.options.credentialsFile
          ? { authenticator: credsAuthenticator(readFileSync(this.options.credentialsFile)) }
          : {}),
      });
      try {
        return { nc, kv: await new Kvm(nc).open(HEARTBEAT_BUCKET) };
      } catch (error) {
        await nc.close();
        throw error;
      }
    })();
    return this.bucket;
  }

  private async reset(): Promise<void> {
    const bucket = this.bucket;
    this.bucket = null;
    const opened = await bucket?.catch(() => null);
    await opened?.nc.close().catch(() => {});
  }
}
