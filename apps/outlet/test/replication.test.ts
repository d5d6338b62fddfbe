import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { connect } from "@nats-io/transport-node";
import { type EventEnvelope, verifyChain } from "@stockroom/contracts";
import { EVENTS_STREAM, eventsSubject, HEARTBEAT_BUCKET } from "@stockroom/service";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type NatsServer, startNatsServer } from "../../../test/support/nats-server.ts";
import { loadConfig } from "../src/config.ts";
import { type RunningOutlet, startOutlet } from "../src/node.ts";

let nats: NatsServer;
const dirs: string[] = [];
beforeAll(async () => {
  nats = await startNatsServer();
});
afterAll(async () => {
  await nats.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function outlet(outletId: string, natsUrl: string | undefined = nats.url): Promise<RunningOutlet> {
  const dataDir = mkdtempSync(join(tmpdir(), `stockroom-repl-${outletId}-`));
  dirs.push(dataDir);
  return startOutlet(
    loadConfig(
      {},
      { outletId, dataDir, port: 0, natsUrl, tickEveryMs: 0, checkpointEveryEvents: 500, logLevel: "silent" },
    ),
  );
}

/** Commits `n` product updates (one event each) straight through the writer. */
async function commitEvents(o: RunningOutlet, n: number): Promise<void> {
  const w = o.services.writer;
  if (!o.services.engine.product("A"))
    await w.submit({ type: "product.add", sku: "A", name: "a", brand: "b", attributes: {} }, "t");
  await Promise.all(
    Array.from({ length: n }, (_, i) => w.submit({ type: "product.update", sku: "A", name: `n${i}` }, "t")),
  );
}

async function until(check: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Every envelope of one outlet in the stream, in stream order. */
async function streamed(url: string, outletId: string): Promise<EventEnvelope[]> {
  const nc = await connect({ servers: url });
  try {
    const jsm = await jetstreamManager(nc);
    const name = `check-${outletId}-${Date.now()}`;
    await jsm.consumers.add(EVENTS_STREAM, {
      name,
      filter_subject: eventsSubject(outletId),
      ack_policy: AckPolicy.None,
      deliver_policy: DeliverPolicy.All,
    });
    const consumer = await jetstream(nc).consumers.get(EVENTS_STREAM, name);
    const pending = (await consumer.info()).num_pending;
    const out: EventEnvelope[] = [];
    if (pending > 0) {
      const messages = await consumer.fetch({ max_messages: pending, expires: 5_000 });
      let seen = 0;
      for await (const m of messages) {
        out.push(...(m.json() as EventEnvelope[]));
        if (++seen === pending) break;
      }
    }
    await jsm.consumers.delete(EVENTS_STREAM, name);
    return out;
  } finally {
    await nc.close();
  }
}

describe("replication to JetStream", () => {
  it("publishes every event once, in order, as an unbroken hash chain, and writes a heartbeat", async () => {
    const o = await outlet("r1");
    await commitEvents(o, 3_000);
    await until(() => o.services.replicator!.status().lag === 0, "replication");
    const envelopes = await streamed(nats.url, "r1");
    expect(envelopes.map((e) => e.seq)).toEqual(Array.from({ length: o.services.writer.lastSeq }, (_, i) => i + 1));
    expect(verifyChain(envelopes)).toBeNull();
    expect(envelopes.some((e) => e.type === "outlet.checkpoint")).toBe(true);

    const nc = await connect({ servers: nats.url });
    const kv = await new Kvm(nc).open(HEARTBEAT_BUCKET);
    let beat: { lastSeq: number; replicatedSeq: number; lag: number } | null = null;
    for (let i = 0; i < 100 && !beat; i++) {
      beat = (await kv.get("r1"))?.json() ?? null;
      if (!beat) await new Promise((r) => setTimeout(r, 50));
    }
    expect(beat).toMatchObject({ replicatedSeq: o.services.writer.lastSeq, lag: 0 });
    await nc.close();
    await o.stop();
  });

  it("keeps committing while NATS is down, then catches up in order without duplicates", async () => {
    const o = await outlet("r2");
    await commitEvents(o, 500);
    await until(() => o.services.replicator!.status().lag === 0, "first replication");
    await nats.kill();
    await commitEvents(o, 10_000); // the kiosk API keeps working: commits do not wait for NATS
    expect(o.services.replicator!.status().lag).toBeGreaterThanOrEqual(10_000);
    await nats.restart();
    await until(() => o.services.replicator!.status().lag === 0, "catch-up", 60_000);
    const envelopes = await streamed(nats.url, "r2");
    expect(envelopes.map((e) => e.seq)).toEqual(Array.from({ length: o.services.writer.lastSeq }, (_, i) => i + 1));
    expect(verifyChain(envelopes)).toBeNull();
    await o.stop();
  });

  it("an outlet started without NATS serves alone; started later with NATS it publishes its backlog", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "stockroom-repl-r3-"));
    dirs.push(dataDir);
    const config = (natsUrl?: string) =>
      loadConfig({}, { outletId: "r3", dataDir, port: 0, natsUrl, tickEveryMs: 0, logLevel: "silent" });
    const alone = await startOutlet(config());
    expect(alone.services.replicator).toBeNull();
    await commitEvents(alone, 2_000);
    const lastSeq = alone.services.writer.lastSeq;
    await alone.stop();
    const connected = await startOutlet(config(nats.url));
    await until(() => connected.services.replicator!.status().replicatedSeq === lastSeq, "backlog");
    expect((await streamed(nats.url, "r3")).length).toBe(lastSeq);
    await connected.stop();
  });

  it("stops loudly, skipping nothing, when JetStream refuses a publish (a forked subject)", async () => {
    const o = await outlet("r4");
    await commitEvents(o, 10);
    await until(() => o.services.replicator!.status().lag === 0, "replication");
    // Someone else writes to this outlet's subject: the expected subject sequence no longer holds.
    const nc = await connect({ servers: nats.url });
    await jetstream(nc).publish(eventsSubject("r4"), "[]");
    await nc.close();
    await commitEvents(o, 10);
    const replicator = o.services.replicator!;
    await until(() => replicator.status().state === "stopped_refused", "the refusal");
    expect(replicator.status().lag).toBe(10);
    expect(replicator.status().error).toMatch(/refused events/);
    expect(await o.services.metrics.registry.getSingleMetricAsString("stockroom_replication_refused")).toMatch(
      /stockroom_replication_refused 1/,
    );
    const res = await fetch(`${o.url}/readyz`);
    expect(((await res.json()) as { replication: { state: string } }).replication.state).toBe("stopped_refused");
    await o.stop();
  });
});
