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
    if (e.payload.type === "execution") fills.push(fillOf(e as EventEnvelope & { payload: { type: "execution" } }));
  }
  return fills;
}

/**
 * A fill as answered: the execution without its type, with its time and seq. Field by field: a
 * rest-and-spread copy cost several times more, for every fill of every order answered.
 */
function fillOf(e: EventEnvelope & { payload: { type: "execution" } }): Fill {
  const p = e.payload;
  return {
    execId: p.execId,
    sku: p.sku,
    price: p.price,
    quantity: p.quantity,
    inflowOrderId: p.inflowOrderId,
    inflowAccountId: p.inflowAccountId,
    outflowOrderId: p.outflowOrderId,
    outflowAccountId: p.outflowAccountId,
    holdId: p.holdId,
    aggressor: p.aggressor,
    ts: e.ts,
    seq: e.seq,
  };
}

/** The answer to placing (or replacing) an order: id, time, status, filled and remaining, fills. */
export function orderAnswer(envelopes: EventEnvelope[], status = 201): Answer {
  // One pass over the command's events (this runs for every order, inside the writer's loop).
  let accepted: EventEnvelope | undefined;
  let replaced: EventEnvelope | undefined;
  for (const e of envelopes) {
    const type = e.payload.type;
    if (type === "command.rejected") return rejectionAnswer(envelopes)!;
    if (type === "order.accepted") accepted ??= e;
    else if (type === "order.replaced") replaced ??= e;
  }
  const start = accepted ?? replaced;
  if (!start || (start.payload.type !== "order.accepted" && start.payload.type !== "order.replaced")) {
    throw new Error("an order command produced neither an acceptance nor a rejection");
  }
  const orderId = start.payload.orderId;
  const quantity = start.payload.quantity;
  const fills: Fill[] = [];
  let filled = 0;
  let end: EventEnvelope | undefined;
  for (const e of envelopes) {
    const p = e.payload;
    if (p.type === "execution") {
      if (p.inflowOrderId === orderId || p.outflowOrderId === orderId) {
        fills.push(fillOf(e as EventEnvelope & { payload: typeof p }));
        filled += p.quantity;
      }
    } else if ((p.type === "order.rested" || p.type === "order.cancelled") && p.orderId === orderId) end = e;
  }
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
  return rejectionAnswer(envelopes) ?? { status, body: { events: envelopes }, quotesEvents: true };
}
