import type { Api } from "@stockroom/kiosk-web/lib/http.ts";

/**
 * What the dashboard reads from HQ, normalised in one place: HQ's read API mirrors the
 * outlet's (`/v1/inventory`, `/v1/outlets`, `/v1/executions`, `/v1/marketdata/...`).
 */

export interface StockNumbers {
  available: number;
  held: number;
  onHand: number;
  demand: number;
}

export interface InventoryRow extends StockNumbers {
  sku: string;
  name: string;
  brand: string;
  outlets: (StockNumbers & { outletId: string })[];
}

export type Reconciliation = "in_sync" | "lagging" | "diverged" | "unknown";

export interface OutletStatus {
  outletId: string;
  online: boolean;
  /** The outlet's own last sequence number (from its heartbeat), when known. */
  lastSeq: number | null;
  /** The last sequence number HQ applied. */
  appliedSeq: number;
  lag: number;
  /** Since when it has been lagging, or diverged. */
  since: number | null;
  lastSeenAt: number | null;
  reconciliation: Reconciliation;
  /** Why it diverged (checkpoint, chain, gap, …) and the details. */
  reason: string | null;
  detail: string | null;
  divergedSkus: string[];
  checkpointSeq: number | null;
  url: string | null;
}

export interface Level {
  price: number;
  quantity: number;
  held: number;
  orders: number;
}

export interface Depth {
  sku: string;
  /** The depth stream's seq this book reflects (a live change applies only on seq + 1). */
  seq: number | null;
  inflow: Level[];
  outflow: Level[];
}

/** A live depth change: the new state of each touched level (quantity 0: gone). */
export interface DepthChanges {
  sku: string;
  seq: number;
  changes: (Level & { side: "inflow" | "outflow" })[];
}

/** The book after the changes: levels replaced or removed, each side kept in price order. */
export function applyDepth(book: Depth, update: DepthChanges): Depth {
  const next: Depth = { ...book, seq: update.seq, inflow: [...book.inflow], outflow: [...book.outflow] };
  for (const c of update.changes) {
    const side = next[c.side].filter((l) => l.price !== c.price);
    if (c.quantity > 0) side.push({ price: c.price, quantity: c.quantity, held: c.held, orders: c.orders });
    side.sort(c.side === "inflow" ? (a, b) => a.price - b.price : (a, b) => b.price - a.price);
    next[c.side] = side;
  }
  return next;
}

export function depthOf(d: Json, sku: string): Depth {
  const side = (v: unknown) =>
    list(v).map((l) => ({ price: num(l.price), quantity: num(l.quantity), held: num(l.held), orders: num(l.orders) }));
  return { sku: str(d.sku, sku), seq: numOrNull(d.seq), inflow: side(d.inflow), outflow: side(d.outflow) };
}

export interface Candle {
  start: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  trades: number;
}

export interface Execution {
  outletId: string;
  execId: number;
  sku: string;
  price: number;
  quantity: number;
  ts: number;
  aggressor: string;
  inflowAccountId: string | null;
  outflowAccountId: string | null;
  holdId: string | null;
}

type Json = Record<string, unknown>;

const num = (v: unknown, fallback = 0): number => (typeof v === "number" && Number.isFinite(v) ? v : fallback);
const numOrNull = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const str = (v: unknown, fallback = ""): string => (typeof v === "string" ? v : fallback);

/** The first array found under one of these keys (or the answer itself when it is an array). */
function list(answer: unknown, ...keys: string[]): Json[] {
  if (Array.isArray(answer)) return answer as Json[];
  const obj = (answer ?? {}) as Json;
  for (const k of keys) if (Array.isArray(obj[k])) return obj[k] as Json[];
  return [];
}

function stockOf(o: Json): StockNumbers {
  const s = (o.stock && typeof o.stock === "object" ? o.stock : o) as Json;
  const available = num(s.available);
  const held = num(s.held);
  return { available, held, onHand: num(s.onHand, available + held), demand: num(s.demand) };
}

function outletBreakdown(o: Json): InventoryRow["outlets"] {
  const raw = o.outlets ?? o.perOutlet ?? o.byOutlet;
  if (Array.isArray(raw)) return (raw as Json[]).map((x) => ({ outletId: str(x.outletId ?? x.outlet), ...stockOf(x) }));
  if (raw && typeof raw === "object") {
    return Object.entries(raw as Record<string, Json>).map(([outletId, x]) => ({ outletId, ...stockOf(x) }));
  }
  return [];
}

export function inventoryRow(o: Json): InventoryRow {
  const total = (o.total && typeof o.total === "object" ? o.total : o) as Json;
  return {
    sku: str(o.sku),
    name: str(o.name ?? (o.product as Json | undefined)?.name),
    brand: str(o.brand ?? (o.product as Json | undefined)?.brand),
    ...stockOf(total),
    outlets: outletBreakdown(o),
  };
}

export interface InventoryPage {
  rows: InventoryRow[];
  /** Rows matching the search, beyond the page too. */
  total: number;
  /** Sums over every matching row. */
  totals: StockNumbers;
}

export async function inventory(api: Api, q: string, limit = 1_000): Promise<InventoryPage> {
  const answer = await api.get<Json>("/v1/inventory", { q: q.trim() || undefined, limit });
  const rows = list(answer, "inventory", "items", "products", "stock").map(inventoryRow);
  const sum = (k: keyof StockNumbers) => rows.reduce((n, r) => n + r[k], 0);
  const totals =
    answer.totals && typeof answer.totals === "object"
      ? stockOf(answer.totals as Json)
      : { available: sum("available"), held: sum("held"), onHand: sum("onHand"), demand: sum("demand") };
  return { rows, total: num(answer.total, rows.length), totals };
}

export async function inventoryOf(api: Api, sku: string): Promise<InventoryRow> {
  return inventoryRow(await api.get<Json>(`/v1/inventory/${encodeURIComponent(sku)}`));
}

function reconciliationOf(o: Json): Reconciliation {
  const raw = str(
    (o.reconciliation as Json | undefined)?.state ?? o.reconciliation ?? o.state ?? o.status,
  ).toLowerCase();
  if (/sync|ok|match/.test(raw)) return "in_sync";
  if (/lag|behind|catch/.test(raw)) return "lagging";
  if (/diverg|mismatch|gap|fork/.test(raw)) return "diverged";
  return "unknown";
}

export async function outlets(api: Api): Promise<OutletStatus[]> {
  const answer = await api.get<unknown>("/v1/outlets");
  return list(answer, "outlets", "items").map(outletStatus);
}

export function outletStatus(o: Json): OutletStatus {
  const rec = (o.reconciliation && typeof o.reconciliation === "object" ? o.reconciliation : {}) as Json;
  const heartbeat = (o.heartbeat && typeof o.heartbeat === "object" ? o.heartbeat : {}) as Json;
  const diverged = rec.divergedSkus ?? rec.skus ?? o.divergedSkus ?? o.diverged;
  return {
    outletId: str(o.outletId ?? o.id),
    online: typeof o.online === "boolean" ? o.online : str(o.connection ?? o.health) === "online",
    lastSeq: numOrNull(o.lastSeq ?? heartbeat.lastSeq ?? o.outletSeq),
    appliedSeq: num(o.appliedSeq ?? o.lastAppliedSeq ?? o.seq),
    lag: num(o.lag ?? rec.lag),
    since: numOrNull(o.since ?? rec.since ?? o.lagSince),
    lastSeenAt: numOrNull(o.lastSeenAt ?? o.lastHeartbeatAt ?? heartbeat.ts ?? o.heartbeatTs),
    reconciliation: reconciliationOf(o),
    reason: typeof rec.reason === "string" ? rec.reason : null,
    detail: typeof rec.detail === "string" ? rec.detail : null,
    divergedSkus: Array.isArray(diverged) ? (diverged as unknown[]).map(String) : [],
    checkpointSeq: numOrNull(rec.seq ?? rec.checkpointSeq ?? o.checkpointSeq),
    url: typeof (o.url ?? heartbeat.url) === "string" ? String(o.url ?? heartbeat.url) : null,
  };
}

export async function depth(api: Api, sku: string, levels = 50): Promise<Depth> {
  return depthOf(await api.get<Json>("/v1/marketdata/orderBook", { sku, levels }), sku);
}

export async function candles(api: Api, sku: string, resolution: string): Promise<Candle[]> {
  const answer = await api.get<unknown>("/v1/marketdata/snapshot", { sku, resolution });
  return list(answer, "candles").map(candleOf);
}

export function candleOf(c: Json): Candle {
  return {
    start: num(c.start ?? c.time),
    open: num(c.open),
    high: num(c.high),
    low: num(c.low),
    close: num(c.close),
    volume: num(c.volume),
    trades: num(c.trades),
  };
}

export interface ExecutionFilter {
  sku?: string;
  outletId?: string;
  startTime?: number;
  endTime?: number;
  limit?: number;
}

/** Newest first. */
export async function executions(api: Api, filter: ExecutionFilter): Promise<Execution[]> {
  const answer = await api.get<unknown>("/v1/executions", {
    sku: filter.sku || undefined,
    outletId: filter.outletId || undefined,
    startTime: filter.startTime,
    endTime: filter.endTime,
    limit: filter.limit ?? 200,
  });
  const rows = list(answer, "executions", "items").map(executionOf);
  return rows.sort((a, b) => b.ts - a.ts || b.execId - a.execId);
}

/** An execution row, or a live trade message (which names no accounts). */
export function executionOf(e: Json): Execution {
  return {
    outletId: str(e.outletId ?? e.outlet),
    execId: num(e.execId ?? e.id),
    sku: str(e.sku),
    price: num(e.price),
    quantity: num(e.quantity),
    ts: num(e.ts ?? e.time),
    aggressor: str(e.aggressor),
    inflowAccountId: typeof e.inflowAccountId === "string" ? e.inflowAccountId : null,
    outflowAccountId: typeof e.outflowAccountId === "string" ? e.outflowAccountId : null,
    holdId: typeof e.holdId === "string" ? e.holdId : null,
  };
}
