import type { EngineEvent, EventOf, Side } from "@stockroom/contracts";

/** Small builders for hand-written event sequences. */

export const at = (iso: string): number => Date.parse(iso);

export function rested(orderId: number, side: Side, price: number, quantity: number, sku = "X"): EngineEvent {
  return { type: "order.rested", orderId, sku, side, price, quantity };
}

type Exec = EventOf<"execution">;
export function execution(e: Pick<Exec, "execId" | "price" | "quantity" | "aggressor"> & Partial<Exec>): EngineEvent {
  return {
    type: "execution",
    sku: "X",
    inflowOrderId: 1,
    inflowAccountId: "in",
    outflowOrderId: e.aggressor === "hold" ? null : 2,
    outflowAccountId: "out",
    holdId: e.aggressor === "hold" ? "h" : null,
    ...e,
  };
}

/** A trade with no resting order behind it: enough for trades and candles. */
export function trade(execId: number, price: number, quantity: number, sku = "X"): EngineEvent {
  return execution({ execId, price, quantity, aggressor: "outflow", sku, inflowOrderId: 1_000_000 + execId });
}

export function holdPlaced(
  holdId: string,
  allocations: [orderId: number, quantity: number, sku?: string][],
): EngineEvent {
  return {
    type: "hold.placed",
    holdId,
    accountId: "buyer",
    expiresAt: 0,
    reason: "sale",
    reference: null,
    lines: [],
    allocations: allocations.map(([orderId, quantity, sku = "X"]) => ({ orderId, sku, price: 1, quantity })),
    amount: 0,
  };
}
