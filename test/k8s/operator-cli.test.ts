import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../support/nats-server.ts";
import { outletResource, startCluster, type TestCluster } from "./support/cluster.ts";
import { waitFor } from "./support/wait.ts";

// `stockroom-operator` as the image runs it: the bin, configured by environment and KUBECONFIG.

const BIN = fileURLToPath(new URL("../../apps/operator/bin/stockroom-operator.js", import.meta.url));

let cluster: TestCluster;
let dir: string;
let child: ChildProcess | null = null;

beforeAll(async () => {
  cluster = await startCluster(["stores"]);
  dir = mkdtempSync(join(tmpdir(), "operator-cli-"));
});

afterAll(async () => {
  child?.kill("SIGKILL");
  await cluster.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("stockroom-operator", () => {
  it("starts from its environment, reconciles, serves health, and releases its lease on SIGTERM", async () => {
    const kubeconfig = join(dir, "kubeconfig");
    writeFileSync(kubeconfig, cluster.server.kubeConfig().exportConfig());
    const port = await freePort();
    let output = "";
    child = spawn(process.execPath, [BIN], {
      env: {
        ...process.env,
        KUBECONFIG: kubeconfig,
        STOCKROOM_OPERATOR_NAMESPACE: "default",
        STOCKROOM_OPERATOR_IDENTITY: "cli-test",
        STOCKROOM_OPERATOR_HOST: "127.0.0.1",
        STOCKROOM_OPERATOR_PORT: String(port),
        STOCKROOM_OUTLET_IMAGE: "stockroom:cli",
        STOCKROOM_RETRY_PERIOD_SECONDS: "0.1",
        STOCKROOM_LOG_LEVEL: "info",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout!.on("data", (d) => (output += d));
    child.stderr!.on("data", (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => child!.once("exit", (code) => resolve(code)));

    await waitFor(
      "health",
      async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null))?.status === 200,
      20_000,
    );
    await cluster.server.create(outletResource("cli-store", { outletId: "cli-store" }));
    const sts = await waitFor("the StatefulSet", () =>
      cluster.server.get("apps/v1", "StatefulSet", "stores", "cli-store"),
    );
    expect(
      (sts.spec as { template: { spec: { containers: { image: string }[] } } }).template.spec.containers[0]!.image,
    ).toBe("stockroom:cli");
    const lease = () =>
      cluster.server.get("coordination.k8s.io/v1", "Lease", "default", "stockroom-operator")?.spec as {
        holderIdentity: string;
      };
    expect(lease().holderIdentity).toBe("cli-test");

    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    child = null;
    expect(lease().holderIdentity).toBe("");
    expect(output).toContain("operator started");
  });
});
