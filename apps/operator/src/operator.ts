import type { KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { OperatorSettings } from "./config.ts";
import { OutletController } from "./controller.ts";
import { EventRecorder } from "./events.ts";
import { HealthServer } from "./health-server.ts";
import { type HeartbeatSource, NatsHeartbeatSource } from "./heartbeat.ts";
import { KubeClient } from "./kube-client.ts";
import { LeaderElector } from "./leader-election.ts";
import { OperatorMetrics } from "./metrics.ts";

export interface OperatorOptions {
  /** Overrides the NATS heartbeat source built from settings.nats (tests; null: none). */
  heartbeats?: HeartbeatSource | null;
}

/**
 * One operator instance: health and metrics server, leader election, and — only while leading —
 * the Outlet controller. A standby waits with no informers running.
 */
export class Operator {
  readonly metrics = new OperatorMetrics();
  private controller: OutletController | null = null;
  private elector: LeaderElector | null = null;
  private health: HealthServer | null = null;
  private transition: Promise<void> = Promise.resolve();
  private readonly kube: KubeClient;
  private readonly heartbeats: HeartbeatSource | null;

  constructor(
    private readonly kubeConfig: KubeConfig,
    readonly settings: OperatorSettings,
    private readonly logger: Logger,
    options: OperatorOptions = {},
  ) {
    this.kube = new KubeClient(kubeConfig);
    this.heartbeats =
      options.heartbeats !== undefined
        ? options.heartbeats
        : settings.nats
          ? new NatsHeartbeatSource(settings.nats, logger.child({ component: "heartbeat" }))
          : null;
  }

  get isLeader(): boolean {
    return this.controller !== null;
  }

  get port(): number {
    return this.health?.port ?? 0;
  }

  async start(): Promise<void> {
    this.health = await HealthServer.start(
      this.settings.host,
      this.settings.port,
      { healthy: () => true, ready: () => this.controller === null || this.controller.synced },
      this.metrics.registry,
    );
    const election = this.settings.leaderElection;
    if (!election) {
      await this.lead();
      return;
    }
    this.elector = new LeaderElector(
      this.kube,
      { ...election, identity: this.settings.identity },
      { onStartedLeading: () => this.lead(), onStoppedLeading: () => this.follow() },
      this.logger.child({ component: "leader-election" }),
    );
    this.elector.start();
  }

  /** Stops everything; with releaseLease false it vanishes like a crashed process and its lease lapses. */
  async stop(options: { releaseLease?: boolean } = {}): Promise<void> {
    if (this.elector) await this.elector.stop({ release: options.releaseLease ?? true });
    else await this.follow();
    await this.transition;
    await this.heartbeats?.close();
    await this.health?.stop();
  }

  private lead(): Promise<void> {
    this.transition = this.transition.then(async () => {
      if (this.controller) return;
      const recorder = new EventRecorder(this.kube, this.settings.identity, this.logger.child({ component: "events" }));
      const controller = new OutletController(
        this.kubeConfig,
        this.kube,
        this.heartbeats,
        recorder,
        this.metrics,
        this.settings,
        this.logger.child({ component: "controller" }),
      );
      this.controller = controller;
      this.metrics.leader.set(1);
      await controller.start();
    });
    return this.transition;
  }

  private follow(): Promise<void> {
    this.transition = this.transition.then(async () => {
      const controller = this.controller;
      this.controller = null;
      this.metrics.leader.set(0);
      await controller?.stop();
    });
    return this.transition;
  }
}
