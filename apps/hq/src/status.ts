import type { Logger } from "pino";
import type { Aggregator, HaltKind, OutletState } from "./ingest/aggregator.ts";
import type { Heartbeat, Heartbeats } from "./ingest/heartbeats.ts";
import type { Metrics } from "./telemetry/metrics.ts";

/** Behind the outlet's heartbeat by this many events, or for this long, is lagging. */
const LAGGING_EVENTS = 1_000;
const LAGGING_AFTER_MS = 2_000;

export type ReconciliationState = "in_sync" | "lagging" | "diverged";

/** What /v1/outlets says about one outlet. */
export interface OutletStatus {
  outletId: string;
  /** Heard from within `offlineAfterMs` (its heartbeat). */
  online: boolean;
  lastSeenAt: number | null;
  /** The outlet's own last seq and what it has replicated, from its heartbeat. */
  lastSeq: number | null;
  replicatedSeq: number | null;
  /** The last seq HQ applied (and committed), and that event's time. */
  appliedSeq: number;
  appliedTs: number | null;
  /** Events the outlet has that HQ has not applied (per the heartbeat). */
  lag: number;
  /** Since when it has been lagging or diverged (null when in sync). */
  since: number | null;
  url: string | null;
  reconciliation: {
    state: ReconciliationState;
    /** Why it is diverged: checkpoint (stock differs), chain (hash or prevHash), gap, malformed, unappliable. */
    reason: HaltKind | "checkpoint" | null;
    since: number | null;
    detail: string | null;
    /** Skus whose stock differed at the last checkpoint. */
    divergedSkus: string[];
    checkpointSeq: number | null;
    checkpointTs: number | null;
    checkpointOk: boolean | null;
    /** The last checkpoint that matched HQ's view. */
    verifiedSeq: number | null;
    /** HQ stopped applying this outlet's events at this seq (gap, broken chain). */
    halted: { kind: HaltKind; seq: number; detail: string; at: number } | null;
    lag: number;
  };
  heartbeat: Omit<Heartbeat, "outletId"> | null;
}

/**
 * Each outlet's status: reconciliation from checkpoints and the hash chain (the aggregator),
 * lag and liveness from the heartbeat bucket. Re-evaluated on a timer so metrics, logs and SSE
 * hear about transitions (lagging since when, back in sync, offline).
 */
export class OutletBoard {
  private readonly lagSince = new Map<string, number>();
  private readonly lastState = new Map<string, string>();
  private timer: NodeJS.Timeout | null = null;
  /** Hears about outlets whose state, lag or liveness changed. */
  onChange: (status: OutletStatus) => void = () => {};

  constructor(
    private readonly agg: Aggregator,
    private readonly heartbeats: Heartbeats,
    private readonly offlineAfterMs: number,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {}

  start(everyMs: number): void {
    this.timer = setInterval(() => this.tick(), everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  ids(): string[] {
    return [...new Set([...this.agg.outlets.keys(), ...this.heartbeats.latest.keys()])].sort();
  }

  list(now = Date.now()): OutletStatus[] {
    return this.ids().map((id) => this.describe(id, now));
  }

  describe(outletId: string, now = Date.now()): OutletStatus {
    const st: OutletState | undefined = this.agg.outlets.get(outletId);
    const hb = this.heartbeats.latest.get(outletId) ?? null;
    const appliedSeq = st?.appliedSeq ?? 0;
    const lag = hb ? Math.max(0, hb.lastSeq - appliedSeq) : 0;
    if (lag > 0 || st?.recovering) {
      if (!this.lagSince.has(outletId)) this.lagSince.set(outletId, now);
    } else this.lagSince.delete(outletId);
    const checkpoint = st?.checkpoint ?? null;
    const diverged = Boolean(st?.halt) || checkpoint?.ok === false;
    // A few events in flight are replication at work, not lag: lagging means far or long behind.
    const behindSince = this.lagSince.get(outletId);
    const lagging =
      behindSince !== undefined && (lag >= LAGGING_EVENTS || now - behindSince >= LAGGING_AFTER_MS || !!st?.recovering);
    const state: ReconciliationState = diverged ? "diverged" : lagging ? "lagging" : "in_sync";
    const since =
      state === "diverged" ? (st?.divergedSince ?? null) : state === "lagging" ? (behindSince ?? null) : null;
    const { outletId: _id, ...heartbeat } = hb ?? { outletId };
    return {
      outletId,
      online: hb !== null && now - hb.receivedAt < this.offlineAfterMs,
      lastSeenAt: hb?.receivedAt ?? null,
      lastSeq: hb?.lastSeq ?? null,
      replicatedSeq: hb?.replicatedSeq ?? null,
      appliedSeq,
      appliedTs: st && st.appliedSeq > 0 ? st.appliedTs : null,
      lag,
      since,
      url: hb?.url ?? null,
      reconciliation: {
        state,
        reason: st?.halt?.kind ?? (checkpoint?.ok === false ? "checkpoint" : null),
        since,
        detail: st?.halt?.detail ?? (checkpoint?.ok === false ? checkpoint.detail : null),
        divergedSkus: checkpoint?.ok === false ? checkpoint.divergedSkus : [],
        checkpointSeq: checkpoint?.seq ?? null,
        checkpointTs: checkpoint?.ts ?? null,
        checkpointOk: checkpoint ? checkpoint.ok : null,
        verifiedSeq: st?.verifiedSeq ?? null,
        halted: st?.halt ?? null,
        lag,
      },
      heartbeat: hb ? (heartbeat as Omit<Heartbeat, "outletId">) : null,
    };
  }

  /** Re-evaluates every outlet: metrics, transition logs, change notifications. */
  tick(now = Date.now()): void {
    for (const s of this.list(now)) {
      const labels = { outlet: s.outletId };
      this.metrics.lag.set(labels, s.lag);
      this.metrics.online.set(labels, s.online ? 1 : 0);
      this.metrics.diverged.set(labels, s.reconciliation.state === "diverged" ? 1 : 0);
      const key = `${s.reconciliation.state}|${s.online}|${s.lag}|${s.appliedSeq}|${s.reconciliation.checkpointSeq}`;
      const before = this.lastState.get(s.outletId);
      if (key === before) continue;
      this.lastState.set(s.outletId, key);
      const was = before?.split("|");
      if (was?.[0] !== s.reconciliation.state || was?.[1] !== String(s.online)) {
        const level = s.reconciliation.state === "diverged" ? "error" : "info";
        this.logger[level](
          {
            outletId: s.outletId,
            state: s.reconciliation.state,
            online: s.online,
            lag: s.lag,
            since: s.since,
            reason: s.reconciliation.reason,
            divergedSkus: s.reconciliation.divergedSkus,
          },
          `outlet ${s.outletId}: ${s.reconciliation.state}${s.online ? "" : " (offline)"}`,
        );
      }
      this.onChange(s);
    }
  }
}
