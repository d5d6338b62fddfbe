import type { V1Lease } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { KubeClient } from "./kube-client.ts";
import { isConflict, statusCodeOf } from "./kube-client.ts";

export interface LeaderElectionSettings {
  namespace: string;
  leaseName: string;
  identity: string;
  /** How long a standby waits, after last seeing the lease change, before taking it. */
  leaseDurationMs: number;
  /** How long the leader keeps leading without a successful renewal. */
  renewDeadlineMs: number;
  /** How often to try to acquire or renew. */
  retryPeriodMs: number;
}

export interface LeadershipCallbacks {
  onStartedLeading(): void | Promise<void>;
  onStoppedLeading(): void | Promise<void>;
}

/** Lease times are MicroTime: RFC 3339 with exactly six fractional digits. */
export const microTime = (date: Date) => date.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");

/**
 * Lease-based leader election as in client-go: the holder renews the coordination.k8s.io Lease
 * every retry period; a standby takes it over once it has seen no change to it for a lease
 * duration (its own clock, never the holder's timestamps); writes are conditional on the
 * resourceVersion read, so two candidates cannot both win. A leader that cannot renew within the
 * renew deadline stops leading.
 */
export class LeaderElector {
  private leading = false;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private observedRecord = "";
  private observedAt = 0;
  private lastRenewal = 0;
  private loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly kube: KubeClient,
    private readonly settings: LeaderElectionSettings,
    private readonly callbacks: LeadershipCallbacks,
    private readonly logger: Logger,
  ) {}

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.schedule(0);
  }

  /** Stops campaigning; a leader stops leading and, with release, frees the lease for a standby at once. */
  async stop(options: { release: boolean }): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.loop;
    if (this.leading) {
      this.leading = false;
      await this.callbacks.onStoppedLeading();
      if (options.release)
        await this.release().catch((error) =>
          this.logger.warn({ err: (error as Error).message }, "could not release the lease"),
        );
    }
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.loop = this.tick();
    }, delayMs);
  }

  private async tick(): Promise<void> {
    let acquired = false;
    try {
      acquired = await this.tryAcquireOrRenew();
    } catch (error) {
      this.logger.warn({ err: (error as Error).message, status: statusCodeOf(error) }, "lease request failed");
    }
    if (this.stopped) return;
    const now = Date.now();
    if (acquired) {
      this.lastRenewal = now;
      if (!this.leading) {
        this.leading = true;
        this.logger.info({ identity: this.settings.identity }, "became the leader");
        await this.callbacks.onStartedLeading();
      }
    } else if (this.leading && now - this.lastRenewal > this.settings.renewDeadlineMs) {
      this.leading = false;
      this.logger.warn({ identity: this.settings.identity }, "lost the lease: no renewal within the renew deadline");
      await this.callbacks.onStoppedLeading();
    }
    this.schedule(this.settings.retryPeriodMs);
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, leaseName, identity } = this.settings;
    const now = new Date();
    const durationSeconds = Math.max(1, Math.ceil(this.settings.leaseDurationMs / 1000));
    const lease = await this.kube.readLease(namespace, leaseName);
    if (!lease) {
      try {
        await this.kube.createLease({
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: { name: leaseName, namespace },
          spec: {
            holderIdentity: identity,
            leaseDurationSeconds: durationSeconds,
            acquireTime: microTime(now) as unknown as Date,
            renewTime: microTime(now) as unknown as Date,
            leaseTransitions: 0,
          },
        });
        this.observe(identity, microTime(now), 0);
        return true;
      } catch (error) {
        if (statusCodeOf(error) === 409) return false;
        throw error;
      }
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? "";
    const transitions = spec.leaseTransitions ?? 0;
    this.observe(holder, String(spec.renewTime ?? ""), transitions);
    if (holder && holder !== identity && this.observedAt + this.settings.leaseDurationMs > Date.now()) return false;
    const renewing = holder === identity;
    const next: V1Lease = {
      ...lease,
      spec: {
        ...spec,
        holderIdentity: identity,
        leaseDurationSeconds: durationSeconds,
        acquireTime: (renewing ? spec.acquireTime : microTime(now)) as Date,
        renewTime: microTime(now) as unknown as Date,
        leaseTransitions: renewing ? transitions : transitions + 1,
      },
    };
    try {
      await this.kube.replaceLease(next);
    } catch (error) {
      if (isConflict(error)) return false;
      throw error;
    }
    this.observe(identity, microTime(now), next.spec!.leaseTransitions!);
    return true;
  }

  /** Remembers when the lease record last changed, by our clock. */
  private observe(holder: string, renewTime: string, transitions: number): void {
    const record = `${holder}|${renewTime}|${transitions}`;
    if (record !== this.observedRecord) {
      this.observedRecord = record;
      this.observedAt = Date.now();
    }
  }

  private async release(): Promise<void> {
    const lease = await this.kube.readLease(this.settings.namespace, this.settings.leaseName);
    if (!lease || lease.spec?.holderIdentity !== this.settings.identity) return;
    const now = microTime(new Date()) as unknown as Date;
    await this.kube.replaceLease({
      ...lease,
      spec: { ...lease.spec, holderIdentity: "", leaseDurationSeconds: 1, acquireTime: now, renewTime: now },
    });
  }
}
