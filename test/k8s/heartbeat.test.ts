import { Kvm } from "@nats-io/kv";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HEARTBEAT_BUCKET, NatsHeartbeatSource } from "../../apps/operator/src/index.ts";
import { type NatsServer, startNatsServer } from "../support/nats-server.ts";
import { outletResource, startCluster, type TestCluster } from "./support/cluster.ts";
import { startOperator, testSettings } from "./support/operator-harness.ts";
import { waitFor } from "./support/wait.ts";

// Replication state from the stockroom-outlets KV bucket of a real nats-server, and the
// operator without NATS at all.

let nats: NatsServer;
let cluster: TestCluster;
const silent = pino({ level: "silent" });

beforeAll(async () => {
  nats = await startNatsServer();
  cluster = await startCluster(["stores"]);
});

afterAll(async () => {
  await cluster.stop();
  await nats.stop();
});

const beat = (outletId: string, lastSeq: number, replicatedSeq: number) => ({
  outletId,
  lastSeq,
  replicatedSeq,
  lag: lastSeq - replicatedSeq,
  ts: Date.now(),
  url: null,
});

describe("heartbeat source (NATS KV)", () => {
  it("reads an outlet's heartbeat by outletId; null without a bucket, a key, or a server", async () => {
    const source = new NatsHeartbeatSource({ url: nats.url }, silent);
    const writer = await connect({ servers: nats.url });
    try {
      expect(await source.read("hb-1")).toBeNull();
      const kv = await new Kvm(writer).create(HEARTBEAT_BUCKET, { history: 1 });
      expect(await source.read("hb-1")).toBeNull();
      await kv.put("hb-1", JSON.stringify(beat("hb-1", 42, 40)));
      expect(await source.read("hb-1")).toMatchObject({ outletId: "hb-1", lastSeq: 42, replicatedSeq: 40, lag: 2 });
      await kv.put("hb-bad", JSON.stringify({ outletId: "hb-bad" }));
      expect(await source.read("hb-bad")).toBeNull();

      await nats.kill();
      expect(await source.read("hb-1")).toBeNull();
      await nats.restart();
      await waitFor("reconnected", async () => (await source.read("hb-1"))?.lastSeq === 42);
    } finally {
      await source.close();
      await writer.close();
    }
  });
});

describe("operator replication status", () => {
  it("fills status.replication from the KV heartbeat when NATS is configured", async () => {
    const writer: NatsConnection = await connect({ servers: nats.url });
    const kv = await new Kvm(writer).create(HEARTBEAT_BUCKET, { history: 1 });
    await kv.put("with-nats", JSON.stringify(beat("with-nats", 1_000, 990)));
    const operator = await startOperator(
      cluster.server.kubeConfig(),
      testSettings("nats", { leaderElection: null, nats: { url: nats.url }, resyncMs: 200 }),
    );
    try {
      await cluster.server.create(outletResource("with-nats", { outletId: "with-nats" }));
      const replication = await waitFor("replication", () => {
        const o = cluster.server.get("stockroom.dev/v1alpha1", "Outlet", "stores", "with-nats");
        return (o?.status as { replication?: Record<string, unknown> } | undefined)?.replication;
      });
      expect(replication).toMatchObject({ lastSeq: 1_000, replicatedSeq: 990, lag: 10 });
      expect(Date.parse(String(replication.lastSeen))).toBeGreaterThan(Date.now() - 60_000);

      await kv.put("with-nats", JSON.stringify(beat("with-nats", 1_200, 1_200)));
      await waitFor("updated replication", () => {
        const o = cluster.server.get("stockroom.dev/v1alpha1", "Outlet", "stores", "with-nats");
        return (o?.status as { replication?: { lastSeq: number } } | undefined)?.replication?.lastSeq === 1_200;
      });
    } finally {
      await operator.stop();
      await writer.close();
    }
  });

  it("reports status without replication when NATS is not configured", async () => {
    const operator = await startOperator(
      cluster.server.kubeConfig(),
      testSettings("no-nats", { leaderElection: null, nats: null }),
    );
    try {
      await cluster.server.create(outletResource("no-nats", { outletId: "no-nats" }));
      const status = await waitFor("ready", () => {
        const o = cluster.server.get("stockroom.dev/v1alpha1", "Outlet", "stores", "no-nats");
        const s = o?.status as { conditions?: { type: string; status: string }[] } | undefined;
        return s?.conditions?.find((c) => c.type === "Ready")?.status === "True" ? s : undefined;
      });
      expect(status).not.toHaveProperty("replication");
      expect(status).toMatchObject({ endpoint: "http://no-nats.stores.svc:8080", observedGeneration: 1 });
    } finally {
      await operator.stop();
    }
  });
});
