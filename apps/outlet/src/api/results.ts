import type { EngineEvent, EventEnvelope, EventOf } from "@stockroom/contracts";
import type { Answer } from "./idempotency.ts";
import { rejectionProblem } from "./problem.ts";

export type Fill = Omit<EventOf<"execution">, "type"> & { ts: number; seq: number };

function find<T extends EngineEvent["type"]>(envelopes: EventEnvelope[], type: T): EventEnvelope | undefined {
  return envelopes.find((e) => e.payload.type === type);
}

/** A rejection among the command's events becomes its problem answer. */
export function rejectionAnswer(envelopes: EventEnvelope[]): Answer | null {
  const rejected = find(envelopes, "command.rejected");
  if (rejected?.payload.type !== "command.rejected") return null;
  const problem = rejectionProblem(rejected.payload.reason, rejected.payload.message, rejected.seq);
  return { status: problem.status, body: problem.toProblem() };
}

export function fillsOf(envelopes: EventEnvelope[]): Fill[] {
  const fills: Fill[] = [];
  for (const e of envelopes) {
    if (e.payload.type !== "execution") continue;
    const { type: _type, ...fill } = e.payload;
    fills.push({ ...fill, ts: e.ts, seq: e.seq });
  }
  return fills;
}

/** The answer to placing (or replacing) an order: id, time, status, filled and remaining, fills. */
export function orderAnswer(envelopes: EventEnvelope[], status = 201): Answer {
  const rejection = rejectionAnswer(envelopes);
  if (rejection) return rejection;
  const start = find(envelopes, "order.accepted") ?? find(envelopes, "order.replaced");
  if (!start || (start.payload.type !== "order.accepted" && start.payload.type !== "order.replaced")) {
    throw new Error("an order command produced neither an acceptance nor a rejection");
  }
  const orderId = start.payload.orderId;
  const quantity = start.payload.quantity;
  const fills = fillsOf(envelopes).filter((f) => f.inflowOrderId === orderId || f.outflowOrderId === orderId);
  const filled = fills.reduce((sum, f) => sum + f.quantity, 0);
  const end = envelopes.findLast(
    (e) => (e.payload.type === "order.rested" || e.payload.type === "order.cancelled") && e.payload.orderId === orderId,
  );
  let state: "filled" | "resting" | "partially_filled" | "cancelled" = "filled";
  let remaining = 0;
  let cancelReason: string | null = null;
  if (end?.payload.type === "order.rested") {
    state = filled > 0 ? "partially_filled" : "resting";
    remaining = end.payload.quantity;
  } else if (end?.payload.type === "order.cancelled") {
    state = "cancelled";
    cancelReason = end.payload.reason;
  }
  return {
    status,
    body: {
      orderId,
      createdAt: start.ts,
      seq: start.seq,
      status: state,
      cancelReason,
      quantity,
      filledQuantity: filled,
      remainingQuantity: remaining,
      fills,
    },
  };
}

/** The answer to any other command: its events, or its rejection. */
export function eventsAnswer(envelopes: EventEnvelope[], status = 200): Answer {
  return rejectionAnswer(envelopes) ?? { status, body: { events: envelopes } };
}
