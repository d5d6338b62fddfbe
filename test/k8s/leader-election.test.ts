import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Operator } from "../../apps/operator/src/index.ts";
import { outletResource, startCluster, type TestCluster } from "./support/cluster.ts";
import { startOperator, testSettings } from "./support/operator-harness.ts";
import { waitFor } from "./support/wait.ts";

// Two operator instances against one fake API server: one Lease, one leader.

let cluster: TestCluster;
let running: Operator[] = [];

beforeEach(async () => {
  cluster = await startCluster(["stores"]);
});

afterEach(async () => {
  for (const o of running) await o.stop();
  running = [];
  await cluster.stop();
});

async function start(identity: string): Promise<Operator> {
  const operator = await startOperator(cluster.server.kubeConfig(), testSettings(identity), null);
  running.push(operator);
  return operator;
}

const lease = () => cluster.server.get("coordination.k8s.io/v1", "Lease", "default", "stockroom-operator");
const holder = () => (lease()?.spec as { holderIdentity?: string } | undefined)?.holderIdentity;
const reconcileCount = async (o: Operator) =>
  (await o.metrics.reconciles.get()).values.reduce((n, v) => n + v.value, 0);
const statefulSet = (name: string) => cluster.server.get("apps/v1", "StatefulSet", "stores", name);

describe("leader election", () => {
  it("elects one leader; only the leader reconciles", async () => {
    const a = await start("operator-a");
    const b = await start("operator-b");
    const leaderId = await waitFor("a leader", () => holder());
    const [leader, standby] = leaderId === "operator-a" ? [a, b] : [b, a];
    await waitFor("leader controller running", () => leader.isLeader);
    expect(standby.isLeader).toBe(false);

    await cluster.server.create(outletResource("one", { outletId: "one" }));
    await waitFor("reconciled by the leader", () => statefulSet("one"));
    // The StatefulSet exists before its reconcile ends (and is counted): wait for the count.
    await waitFor("the leader's reconcile counted", async () => (await reconcileCount(leader)) > 0);
    // Leases keep being renewed by the leader alone while the standby watches them.
    const renewed = (lease()!.spec as { renewTime: string }).renewTime;
    await waitFor("a renewal", () => (lease()!.spec as { renewTime: string }).renewTime !== renewed);
    expect(holder()).toBe(leaderId);
    expect(standby.isLeader).toBe(false);
    expect(await reconcileCount(standby)).toBe(0);
    expect(await reconcileCount(leader)).toBeGreaterThan(0);
    expect((await standby.metrics.leader.get()).values[0]!.value).toBe(0);
    expect((await leader.metrics.leader.get()).values[0]!.value).toBe(1);
    expect((lease()!.spec as { renewTime: string }).renewTime).toMatch(/\.\d{6}Z$/);
  });

  it("fails over when the leader stops without releasing: the standby takes the lapsed lease", async () => {
    const a = await start("operator-a");
    await waitFor("a leads", () => a.isLeader);
    const b = await start("operator-b");
    await cluster.server.create(outletResource("before", { outletId: "before" }));
    await waitFor("before reconciled", () => statefulSet("before"));

    // A crash: no release, the lease is simply no longer renewed.
    await a.stop({ releaseLease: false });
    running = running.filter((o) => o !== a);
    const lastRenewal = Date.parse((lease()!.spec as { renewTime: string }).renewTime);
    expect(holder()).toBe("operator-a");
    await waitFor("b leads", () => b.isLeader, 10_000);
    // b waited for the lease to lapse: it took over no sooner than a lease duration after a's last renewal.
    const acquired = Date.parse((lease()!.spec as { acquireTime: string }).acquireTime);
    expect(acquired - lastRenewal).toBeGreaterThanOrEqual(testSettings("x").leaderElection!.leaseDurationMs);
    expect(holder()).toBe("operator-b");
    expect((lease()!.spec as { leaseTransitions: number }).leaseTransitions).toBe(1);

    await cluster.server.create(outletResource("after", { outletId: "after" }));
    await waitFor("after reconciled by b", () => statefulSet("after"));
    await waitFor("b's reconcile counted", async () => (await reconcileCount(b)) > 0);
  });

  it("hands over at once when the leader stops gracefully and releases the lease", async () => {
    const a = await start("operator-a");
    await waitFor("a leads", () => a.isLeader);
    const b = await start("operator-b");
    await a.stop({ releaseLease: true });
    running = running.filter((o) => o !== a);
    expect(holder()).toBe("");
    await waitFor("b leads", () => b.isLeader, 2_000);
  });
});
