import { describe, expect, it } from "vitest";
import { loadSettings } from "../src/config.ts";

describe("operator settings", () => {
  it("defaults to every namespace, leader election on, no NATS", () => {
    const s = loadSettings({ STOCKROOM_OPERATOR_NAMESPACE: "stockroom-system" });
    expect(s).toMatchObject({
      watchNamespace: null,
      nats: null,
      port: 8081,
      defaultImage: "stockroom:0.1.0",
      leaderElection: {
        namespace: "stockroom-system",
        leaseName: "stockroom-operator",
        leaseDurationMs: 15_000,
        renewDeadlineMs: 10_000,
        retryPeriodMs: 2_000,
      },
    });
  });

  it("reads the STOCKROOM_* variables", () => {
    const s = loadSettings({
      STOCKROOM_OPERATOR_WATCH_NAMESPACE: "stores",
      STOCKROOM_OPERATOR_IDENTITY: "pod-1",
      STOCKROOM_OUTLET_IMAGE: "registry/stockroom:1",
      STOCKROOM_NATS_URL: "nats://nats:4222",
      STOCKROOM_NATS_CREDS: "/creds/op.creds",
      STOCKROOM_LEADER_ELECTION: "false",
      STOCKROOM_OPERATOR_RESYNC_SECONDS: "5",
    });
    expect(s).toMatchObject({
      watchNamespace: "stores",
      identity: "pod-1",
      defaultImage: "registry/stockroom:1",
      nats: { url: "nats://nats:4222", credentialsFile: "/creds/op.creds" },
      leaderElection: null,
      resyncMs: 5_000,
    });
  });

  it("refuses nonsense", () => {
    expect(() => loadSettings({ STOCKROOM_NATS_URL: "not a url" })).toThrow();
    expect(() => loadSettings({ STOCKROOM_OPERATOR_WORKERS: "0" })).toThrow();
  });
});
