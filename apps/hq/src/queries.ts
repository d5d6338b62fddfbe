import type { Aggregator } from "./ingest/aggregator.ts";
import type { Db } from "./storage/db.ts";

/** Per-sku stock numbers (docs/engine.md: available, held, on hand, demand). */
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
  /** Listed at one outlet at least. */
  listed: boolean;
  outlets: (StockNumbers & { outletId: string; listed: boolean })[];
}

/** The chain-wide view of every sku: totals and the per-outlet breakdown, from HQ's replicas. */
export function inventory(agg: Aggregator, filter: { q?: string; sku?: string } = {}): InventoryRow[] {
  const q = filter.q?.trim().toLowerCase();
  const rows = new Map<string, InventoryRow>();
  const outlets = [...agg.outlets.values()].sort((a, b) => (a.outletId < b.outletId ? -1 : 1));
  for (const st of outlets) {
    const products = filter.sku
      ? [st.engine.products.get(filter.sku)].filter((p) => p !== undefined)
      : st.engine.products.values();
    for (const p of products) {
      if (
        q &&
        !p.sku.toLowerCase().includes(q) &&
        !p.name.toLowerCase().includes(q) &&
        !p.brand.toLowerCase().includes(q)
      )
        continue;
      let row = rows.get(p.sku);
      if (!row) {
        row = {
          sku: p.sku,
          name: p.name,
          brand: p.brand,
          listed: false,
          available: 0,
          held: 0,
          onHand: 0,
          demand: 0,
          outlets: [],
        };
        rows.set(p.sku, row);
      }
      const { inflow, outflow } = p.book;
      const s = {
        available: inflow.remaining - inflow.held,
        held: inflow.held,
        onHand: inflow.remaining,
        demand: outflow.remaining,
      };
      row.outlets.push({ outletId: st.outletId, listed: p.listed, ...s });
      if (p.listed && !row.listed) {
        row.name = p.name;
        row.brand = p.brand;
        row.listed = true;
      }
      row.available += s.available;
      row.held += s.held;
      row.onHand += s.onHand;
      row.demand += s.demand;
    }
  }
  return [...rows.values()].sort((a, b) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0));
}

export function totals(rows: readonly InventoryRow[]): StockNumbers {
  const t = { available: 0, held: 0, onHand: 0, demand: 0 };
  for (const r of rows) {
    t.available += r.available;
    t.held += r.held;
    t.onHand += r.onHand;
    t.demand += r.demand;
  }
  return t;
}

export interface ExecutionRow {
  outletId: string;
  execId: number;
  seq: number;
  ts: number;
  sku: string;
  price: number;
  quantity: number;
  inflowOrderId: number;
  inflowAccountId: string;
  outflowOrderId: number | null;
  outflowAccountId: string;
  holdId: string | null;
  aggressor: string;
  /** The trade's number in the sku's market-data stream. */
  tradeSeq: number;
}

const EXECUTION_COLUMNS = `outlet_id AS outletId, exec_id AS execId, seq, ts, sku, price, quantity,
  inflow_order_id AS inflowOrderId, inflow_account_id AS inflowAccountId, outflow_order_id AS outflowOrderId,
  outflow_account_id AS outflowAccountId, hold_id AS holdId, aggressor, trade_seq AS tradeSeq`;

export interface HistoryFilter {
  sku?: string;
  outletId?: string;
  orderId?: number;
  startTime?: number;
  endTime?: number;
  limit: number;
  order: "asc" | "desc";
}

/** Fills by sku, outlet, order and time range ([startTime, endTime)). */
export function executions(db: Db, f: HistoryFilter): ExecutionRow[] {
  const { where, args, add } = conditions();
  if (f.sku !== undefined) add("sku = ?", f.sku);
  if (f.outletId !== undefined) add("outlet_id = ?", f.outletId);
  if (f.orderId !== undefined) add("(inflow_order_id = ? OR outflow_order_id = ?)", f.orderId, f.orderId);
  if (f.startTime !== undefined) add("ts >= ?", f.startTime);
  if (f.endTime !== undefined) add("ts < ?", f.endTime);
  const dir = f.order === "asc" ? "ASC" : "DESC";
  const sql = `SELECT ${EXECUTION_COLUMNS} FROM executions ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
    ORDER BY ts ${dir}, outlet_id ${dir}, exec_id ${dir} LIMIT ?`;
  return db.$client.prepare(sql).all(...args, f.limit) as ExecutionRow[];
}

/** A sku's trades after `afterTradeSeq` (oldest first), or its latest `limit` trades. */
export function trades(db: Db, sku: string, limit: number, afterTradeSeq?: number): ExecutionRow[] {
  if (afterTradeSeq !== undefined) {
    return db.$client
      .prepare(`SELECT ${EXECUTION_COLUMNS} FROM executions WHERE sku = ? AND trade_seq > ? ORDER BY trade_seq LIMIT ?`)
      .all(sku, afterTradeSeq, limit) as ExecutionRow[];
  }
  const rows = db.$client
    .prepare(`SELECT ${EXECUTION_COLUMNS} FROM executions WHERE sku = ? ORDER BY trade_seq DESC LIMIT ?`)
    .all(sku, limit) as ExecutionRow[];
  return rows.reverse();
}

export interface OrderRow {
  outletId: string;
  orderId: number;
  accountId: string;
  sku: string;
  side: string;
  price: number;
  quantity: number;
  filled: number;
  remaining: number;
  status: string;
  cancelReason: string | null;
  timeInForce: string;
  reason: string;
  reference: string | null;
  createdSeq: number;
  createdTs: number;
  updatedSeq: number;
  updatedTs: number;
}

/** Orders by sku, outlet, id, status and creation time range ([startTime, endTime)). */
export function orders(db: Db, f: HistoryFilter & { status?: string }): OrderRow[] {
  const { where, args, add } = conditions();
  if (f.sku !== undefined) add("sku = ?", f.sku);
  if (f.outletId !== undefined) add("outlet_id = ?", f.outletId);
  if (f.orderId !== undefined) add("order_id = ?", f.orderId);
  if (f.status !== undefined) add("status = ?", f.status);
  if (f.startTime !== undefined) add("created_ts >= ?", f.startTime);
  if (f.endTime !== undefined) add("created_ts < ?", f.endTime);
  const dir = f.order === "asc" ? "ASC" : "DESC";
  const sql = `SELECT outlet_id AS outletId, order_id AS orderId, account_id AS accountId, sku, side, price, quantity,
      filled, remaining, status, cancel_reason AS cancelReason, time_in_force AS timeInForce, reason, reference,
      created_seq AS createdSeq, created_ts AS createdTs, updated_seq AS updatedSeq, updated_ts AS updatedTs
    FROM orders ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
    ORDER BY created_ts ${dir}, outlet_id ${dir}, order_id ${dir} LIMIT ?`;
  return db.$client.prepare(sql).all(...args, f.limit) as OrderRow[];
}

function conditions() {
  const where: string[] = [];
  const args: (string | number)[] = [];
  const add = (condition: string, ...values: (string | number)[]) => {
    where.push(condition);
    args.push(...values);
  };
  return { where, args, add };
}
