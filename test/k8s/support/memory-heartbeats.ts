import type { Heartbeat, HeartbeatSource } from "../../../apps/operator/src/index.ts";

/** Heartbeats the test sets by hand (the NATS KV implementation has its own test against nats-server). */
export class MemoryHeartbeats implements HeartbeatSource {
  readonly beats = new Map<string, Heartbeat>();

  async read(outletId: string): Promise<Heartbeat | null> {
    return this.beats.get(outletId) ?? null;
  }

  async close(): Promise<void> {}
}
