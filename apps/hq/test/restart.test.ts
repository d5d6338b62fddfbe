// HQ as its own process (the CLI), killed with SIGKILL while events stream in, then restarted:
// every event of every outlet takes effect exactly once.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { EventEnvelope } from "@stockroom/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, type NatsServer, startNatsServer } from "../../../test/support/nats-server.ts";
import { removeTempDirs, tempDir, waitFor } from "./support/harness.ts";
import { ensureStream, SimOutlet, StreamPublisher, Workload } from "./support/publisher.ts";

const BIN = fileURLToPath(new URL("../bin/stockroom-hq.js", import.meta.url));
const KEY = /sr_[0-9a-f]{12}_[A-Za-z0-9_-]{43}/;

let nats: NatsServer;
let nc: NatsConnection;
const children: ChildProcess[] = [];

beforeAll(async () => {
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
  await ensureStream(nc);
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  await nc?.close();
  await nats?.stop();
  removeTempDirs();
});

function env(vars: Record<string, string>): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("STOCKROOM_")) out[k] = v;
  return { ...out, ...vars };
}

function startHq(vars: Record<string, string>): { child: ChildProcess; log: () => string } {
  const child = spawn(process.execPath, [BIN, "serve"], { env: env(vars), stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let out = "";
  child.stdout!.on("data", (d) => {
    out += d;
  });
  child.stderr!.on("data", (d) => {
    out += d;
  });
  return { child, log: () => out };
}

async function kill9(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  });
}

describe("HQ killed with SIGKILL mid-stream", () => {
  it("resumes exactly: nothing double-applied, nothing missing", async () => {
    const dataDir = tempDir();
    const port = await freePort();
    const vars = {
      STOCKROOM_HQ_DATA_DIR: dataDir,
      STOCKROOM_HQ_PORT: String(port),
      STOCKROOM_HQ_NATS_URL: nats.url,
      STOCKROOM_HQ_SYNCHRONOUS: "FULL",
      // Replicas are saved rarely, so each restart must roll them forward from the stream.
      STOCKROOM_HQ_SNAPSHOT_EVERY_EVENTS: "7000",
      STOCKROOM_HQ_SNAPSHOT_EVERY_MS: "600000",
      STOCKROOM_HQ_LOG_LEVEL: "info",
      STOCKROOM_HQ_MAX_BATCH_MESSAGES: "4",
    };
    const issued = spawnSync(process.execPath, [BIN, "admin", "issue-key", "restart-test"], {
      env: env(vars),
      encoding: "utf8",
    });
    expect(issued.status, issued.stderr).toBe(0);
    const key = KEY.exec(issued.stdout)![0];
    const url = `http://127.0.0.1:${port}`;
    const get = async <T>(path: string): Promise<T> => {
      const res = await fetch(url + path, { headers: { authorization: `Bearer ${key}` } });
      if (!res.ok) throw new Error(`${path}: ${res.status}`);
      return (await res.json()) as T;
    };
    const applied = async (): Promise<Record<string, number>> => {
      try {
        const { outlets } = await get<{ outlets: { outletId: string; appliedSeq: number }[] }>("/v1/outlets");
        return Object.fromEntries(outlets.map((o) => [o.outletId, o.appliedSeq]));
      } catch {
        return {};
      }
    };

    // Three outlets, each with a long log published in small runs while HQ runs.
    const outlets = ["east", "west", "central"].map((id, i) => {
      const o = new SimOutlet(id);
      const w = new Workload(o, 300 + i);
      return { o, pub: new StreamPublisher(nc, id), log: [...w.setup(), ...w.run(12_000, 2_000)] };
    });
    const total = outlets.reduce((s, x) => s + x.log.length, 0);
    let publishing = true;
    const publisher = (async () => {
      for (let at = 0; publishing; at += 150) {
        const chunks = outlets.map((x) => x.log.slice(at, at + 150)).filter((c) => c.length > 0);
        if (chunks.length === 0) break;
        await Promise.all(chunks.map((c, i) => outlets[i]!.pub.publish(c as EventEnvelope[], 50)));
        await new Promise((r) => setTimeout(r, 25));
      }
    })();

    // Kill it twice: once mid-stream, once while it rolls its replicas forward after the restart.
    let hq = startHq(vars);
    await waitFor(
      async () => Object.values(await applied()).some((s) => s > 9_000),
      "HQ past 9,000 events",
      60_000,
      50,
    );
    await kill9(hq.child);
    hq = startHq(vars);
    await waitFor(() => /durable consumer repositioned|HQ state restored/.test(hq.log()), "restart", 30_000);
    await new Promise((r) => setTimeout(r, 150));
    await kill9(hq.child);
    hq = startHq(vars);

    await publisher;
    publishing = false;
    await waitFor(
      async () => {
        const a = await applied();
        return outlets.every(({ o }) => a[o.outletId] === o.seq);
      },
      `all ${total} events applied after the restarts`,
      60_000,
      100,
    );
    // Ready once every replica has rolled forward to its committed seq.
    await waitFor(async () => (await fetch(`${url}/readyz`)).status === 200, "ready", 30_000, 50);
    expect(hq.log()).toMatch(/rolling forward from the stream/);

    for (const { o } of outlets) {
      const expectedFills = o.log
        .filter((e) => e.payload.type === "execution")
        .map((e) => `${e.seq}:${(e.payload as { execId: number }).execId}`);
      const { executions } = await get<{ executions: { seq: number; execId: number }[] }>(
        `/v1/executions?outletId=${o.outletId}&order=asc&limit=10000`,
      );
      expect(executions.map((x) => `${x.seq}:${x.execId}`)).toEqual(expectedFills);
      const { orders } = await get<{ orders: { orderId: number; remaining: number; status: string }[] }>(
        `/v1/orders?outletId=${o.outletId}&order=asc&limit=10000`,
      );
      expect(orders.map((x) => x.orderId)).toEqual(
        o.log.filter((e) => e.payload.type === "order.accepted").map((e) => (e.payload as { orderId: number }).orderId),
      );
      for (const row of orders) expect(row.remaining).toBe(o.engine.order(row.orderId)?.remaining ?? 0);
    }
    const { inventory } = await get<{
      inventory: { sku: string; onHand: number; available: number; held: number; demand: number }[];
    }>("/v1/inventory?limit=1000");
    for (const row of inventory) {
      const parts = outlets.map(({ o }) => o.engine.stock(row.sku)!);
      expect(row).toMatchObject({
        onHand: parts.reduce((s, x) => s + x.onHand, 0),
        available: parts.reduce((s, x) => s + x.available, 0),
        held: parts.reduce((s, x) => s + x.held, 0),
        demand: parts.reduce((s, x) => s + x.demand, 0),
      });
    }
    const { outlets: statuses } = await get<{ outlets: { outletId: string; reconciliation: { state: string } }[] }>(
      "/v1/outlets",
    );
    expect(statuses.map((s) => s.reconciliation.state)).toEqual(["in_sync", "in_sync", "in_sync"]);

    hq.child.kill("SIGTERM");
    await new Promise((r) => hq.child.once("exit", r));
  });
});
