// The as-of thread (as-of.ts): rebuilds the engine at a past seq on its own read-only connection
// and answers the stock of that time. It loads the TypeScript engine through tsx itself, so it
// starts the same way under the CLI, tsx or vitest.
import { parentPort, workerData } from "node:worker_threads";
import { register } from "tsx/esm/api";

register();
const { openReadOnly } = await import("../storage/db.ts");
const { CorruptLogError, EventLog } = await import("../storage/event-log.ts");
const { stockAsOf } = await import("./as-of.ts");

const log = new EventLog(openReadOnly(workerData.file), workerData.outletId);

// One answer per question, in the order they came.
parentPort.on("message", ({ seq, skus }) => {
  try {
    parentPort.postMessage({ stock: stockAsOf(log, seq, skus) });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    parentPort.postMessage({ error: message, corrupt: error instanceof CorruptLogError });
  }
});
