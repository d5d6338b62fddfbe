// HQ's one writer to SQLite, on a worker thread so the commits (index updates, fsync) run beside
// the in-memory apply on the main thread. Each message is one batch, written in one transaction:
// the effects and the last applied seq per outlet commit together (docs/replication.md).
// Plain JavaScript so it loads the same way under tsx, vitest or a bundler.
import { parentPort, workerData } from "node:worker_threads";
import Database from "better-sqlite3";

const sqlite = new Database(workerData.file);
sqlite.pragma("journal_mode = WAL");
sqlite.pragma(`synchronous = ${workerData.synchronous}`);
sqlite.pragma("busy_timeout = 5000");
sqlite.pragma("cache_size = -131072");
// Checkpoint every ~40 MiB of WAL rather than 4 MiB: a catch-up batch rewrites many index pages,
// and copying them back to the database after every commit would write each one many times.
sqlite.pragma("wal_autocheckpoint = 10000");

const stmt = {
  execution: sqlite.prepare(
    `INSERT INTO executions (outlet_id, exec_id, seq, ts, sku, price, quantity, inflow_order_id, inflow_account_id,
       outflow_order_id, outflow_account_id, hold_id, aggressor, trade_seq) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
  ),
  orderInsert: sqlite.prepare(
    `INSERT INTO orders (outlet_id, order_id, account_id, sku, side, price, quantity, filled, remaining, status,
       cancel_reason, time_in_force, reason, reference, created_seq, created_ts, updated_seq, updated_ts)
     VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
  ),
  orderUpdate: sqlite.prepare(
    `UPDATE orders SET price = COALESCE(?, price), quantity = COALESCE(?, quantity), filled = filled + ?,
       remaining = ?, status = COALESCE(?, status), cancel_reason = COALESCE(?, cancel_reason),
       updated_seq = ?, updated_ts = ? WHERE outlet_id = ? AND order_id = ?`,
  ),
  outlet: sqlite.prepare(
    `INSERT INTO outlets (outlet_id, applied_seq, applied_hash, applied_ts, first_stream_seq, last_stream_seq,
       halt_reason, halt_detail, halted_at, checkpoint_seq, checkpoint_ts, checkpoint_ok, diverged_skus,
       verified_seq, diverged_since, updated_at)
     VALUES (@outletId, @appliedSeq, @appliedHash, @appliedTs, @firstStreamSeq, @lastStreamSeq, @haltReason,
       @haltDetail, @haltedAt, @checkpointSeq, @checkpointTs, @checkpointOk, @divergedSkus, @verifiedSeq,
       @divergedSince, @updatedAt)
     ON CONFLICT (outlet_id) DO UPDATE SET applied_seq = excluded.applied_seq, applied_hash = excluded.applied_hash,
       applied_ts = excluded.applied_ts, first_stream_seq = excluded.first_stream_seq,
       last_stream_seq = excluded.last_stream_seq, halt_reason = excluded.halt_reason,
       halt_detail = excluded.halt_detail, halted_at = excluded.halted_at, checkpoint_seq = excluded.checkpoint_seq,
       checkpoint_ts = excluded.checkpoint_ts, checkpoint_ok = excluded.checkpoint_ok,
       diverged_skus = excluded.diverged_skus, verified_seq = excluded.verified_seq,
       diverged_since = excluded.diverged_since, updated_at = excluded.updated_at`,
  ),
  seq: sqlite.prepare(
    "INSERT INTO md_sequences (stream, seq) VALUES (?, ?) ON CONFLICT (stream) DO UPDATE SET seq = excluded.seq",
  ),
  divergence: sqlite.prepare(
    "INSERT INTO divergences (outlet_id, seq, kind, detail, skus, at) VALUES (?, ?, ?, ?, ?, ?)",
  ),
  replica: sqlite.prepare(
    `INSERT INTO replicas (outlet_id, seq, hash, stream_seq, engine, market_data, taken_at) VALUES (?,?,?,?,?,?,?)
     ON CONFLICT (outlet_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, stream_seq = excluded.stream_seq,
       engine = excluded.engine, market_data = excluded.market_data, taken_at = excluded.taken_at`,
  ),
};

const S = "s".charCodeAt(0);

/** Runs a statement for each packed row (writer.ts, PackedRows): numbers, string indexes, NaN for null. */
function runPacked(statement, { kinds, cells, count }, strings) {
  const width = kinds.length;
  const row = new Array(width);
  for (let r = 0, at = 0; r < count; r++) {
    for (let i = 0; i < width; i++, at++) {
      const v = cells[at];
      row[i] = Number.isNaN(v) ? null : kinds.charCodeAt(i) === S ? strings[v] : v;
    }
    statement.run(row);
  }
}

const write = sqlite.transaction((b) => {
  runPacked(stmt.execution, b.executions, b.strings);
  runPacked(stmt.orderInsert, b.orderInserts, b.strings);
  runPacked(stmt.orderUpdate, b.orderUpdates, b.strings);
  for (const r of b.divergences) stmt.divergence.run(r);
  runPacked(stmt.seq, b.seqs, b.strings);
  for (const r of b.replicas) stmt.replica.run(r);
  for (const r of b.outlets) stmt.outlet.run(r);
});

parentPort.on("message", (m) => {
  if (m.close) {
    sqlite.close();
    parentPort.postMessage({ id: m.id });
    return;
  }
  try {
    write(m.batch);
    parentPort.postMessage({ id: m.id });
  } catch (error) {
    parentPort.postMessage({ id: m.id, error: error instanceof Error ? error.message : String(error) });
  }
});
