import { z } from "zod";
import { Command } from "./commands.ts";
import {
  AccountId,
  Amount,
  HoldId,
  KycState,
  OrderId,
  Price,
  Quantity,
  ReasonCode,
  Role,
  Side,
  Sku,
  TimeInForce,
  Timestamp,
  Timezone,
  TradingHours,
} from "./primitives.ts";

/**
 * Events are facts: the engine's state is a fold of them, HQ rebuilds its view from them and
 * the audit trail shows them. Every event below is produced by exactly one command.
 */

export const RejectReason = z.enum([
  "unknown_sku",
  "sku_exists",
  "sku_delisted",
  "unknown_account",
  "account_exists",
  "account_not_verified",
  "account_suspended",
  "insufficient_funds",
  "amount_too_large",
  "insufficient_stock",
  "daily_limit_exceeded",
  "market_closed",
  "unknown_order",
  "not_order_owner",
  "order_held",
  "invalid_quantity",
  "unknown_hold",
  "hold_exists",
  "hold_not_active",
  "not_hold_owner",
]);
export type RejectReason = z.infer<typeof RejectReason>;

export const CancelReason = z.enum(["requested", "ioc_remainder", "fok_unfilled", "delisted"]);
export type CancelReason = z.infer<typeof CancelReason>;
export const ReleaseReason = z.enum(["cancelled", "expired", "delisted"]);
export type ReleaseReason = z.infer<typeof ReleaseReason>;

const Attributes = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]));

export const OutletConfigured = z.object({
  type: z.literal("outlet.configured"),
  timezone: Timezone,
  tradingHours: TradingHours.nullable(),
  defaultDailyLimit: z.int().min(0),
  brandLimits: z.record(z.string(), z.int().min(0)),
});
export const ProductAdded = z.object({
  type: z.literal("product.added"),
  sku: Sku,
  name: z.string(),
  brand: z.string(),
  attributes: Attributes,
});
/** Carries the product's full new state. */
export const ProductUpdated = ProductAdded.extend({ type: z.literal("product.updated") });
export const ProductRemoved = z.object({ type: z.literal("product.removed"), sku: Sku });

export const AccountCreated = z.object({
  type: z.literal("account.created"),
  accountId: AccountId,
  role: Role,
  name: z.string(),
});
export const KycChanged = z.object({ type: z.literal("account.kyc_changed"), accountId: AccountId, kyc: KycState });
export const WalletDeposited = z.object({ type: z.literal("wallet.deposited"), accountId: AccountId, amount: Amount });
export const WalletWithdrawn = z.object({ type: z.literal("wallet.withdrawn"), accountId: AccountId, amount: Amount });

/** An order passed every check; an outflow now reserves price x quantity of funds. */
export const OrderAccepted = z.object({
  type: z.literal("order.accepted"),
  orderId: OrderId,
  accountId: AccountId,
  sku: Sku,
  side: Side,
  price: Price,
  quantity: Quantity,
  timeInForce: TimeInForce,
  reason: ReasonCode,
  reference: z.string().nullable(),
});

/**
 * One match, at the resting order's price. For a hold's confirmation the outflow side is the
 * hold (`outflowOrderId` null, `holdId` set) and `aggressor` is "hold".
 */
export const Execution = z.object({
  type: z.literal("execution"),
  execId: z.int().min(1),
  sku: Sku,
  price: Price,
  quantity: Quantity,
  inflowOrderId: OrderId,
  inflowAccountId: AccountId,
  outflowOrderId: OrderId.nullable(),
  outflowAccountId: AccountId,
  holdId: HoldId.nullable(),
  aggressor: z.enum(["inflow", "outflow", "hold"]),
});

/** The order's remainder joins the back of its price level. */
export const OrderRested = z.object({
  type: z.literal("order.rested"),
  orderId: OrderId,
  sku: Sku,
  side: Side,
  price: Price,
  quantity: Quantity,
});
/** `quantity` is the remainder that was cancelled; the order is gone afterwards. */
export const OrderCancelled = z.object({
  type: z.literal("order.cancelled"),
  orderId: OrderId,
  sku: Sku,
  side: Side,
  price: Price,
  quantity: Quantity,
  reason: CancelReason,
});
export const OrderReduced = z.object({
  type: z.literal("order.reduced"),
  orderId: OrderId,
  sku: Sku,
  side: Side,
  price: Price,
  by: Quantity,
  remaining: Quantity,
});
/** The order leaves the book with its new price and remaining quantity; it then matches or rests again. */
export const OrderReplaced = z.object({
  type: z.literal("order.replaced"),
  orderId: OrderId,
  sku: Sku,
  side: Side,
  oldPrice: Price,
  oldQuantity: Quantity,
  price: Price,
  quantity: Quantity,
});

export const HoldAllocation = z.object({ orderId: OrderId, sku: Sku, price: Price, quantity: Quantity });
export type HoldAllocation = z.infer<typeof HoldAllocation>;
/** The stock taken (allocations, best price first) and the funds reserved (`amount`). */
export const HoldPlaced = z.object({
  type: z.literal("hold.placed"),
  holdId: HoldId,
  accountId: AccountId,
  expiresAt: Timestamp,
  reason: ReasonCode,
  reference: z.string().nullable(),
  lines: z.array(z.object({ sku: Sku, quantity: Quantity, limitPrice: Price.nullable() })),
  allocations: z.array(HoldAllocation),
  amount: z.int().min(0),
});
export const HoldExtended = z.object({ type: z.literal("hold.extended"), holdId: HoldId, expiresAt: Timestamp });
/** Follows the hold's executions. */
export const HoldConfirmed = z.object({ type: z.literal("hold.confirmed"), holdId: HoldId });
/** Held stock goes back to its orders, which keep their place in the queue. */
export const HoldReleased = z.object({ type: z.literal("hold.released"), holdId: HoldId, reason: ReleaseReason });

/** One sku's stock in a checkpoint: [sku, available, held, onHand, demand]. */
export const StockRow = z.tuple([Sku, z.int(), z.int(), z.int(), z.int()]);
export type StockRow = z.infer<typeof StockRow>;
/** The outlet's stock at this point of its log, sorted by sku; digest = sha256 of JSON.stringify(stock). */
export const OutletCheckpoint = z.object({
  type: z.literal("outlet.checkpoint"),
  stock: z.array(StockRow),
  digest: z.string().regex(/^[0-9a-f]{64}$/),
});

/** Rejections are events too: the audit trail shows who tried what, and why it was refused. */
export const CommandRejected = z.object({
  type: z.literal("command.rejected"),
  reason: RejectReason,
  message: z.string(),
  command: Command,
});

export const EngineEvent = z.discriminatedUnion("type", [
  OutletConfigured,
  ProductAdded,
  ProductUpdated,
  ProductRemoved,
  AccountCreated,
  KycChanged,
  WalletDeposited,
  WalletWithdrawn,
  OrderAccepted,
  Execution,
  OrderRested,
  OrderCancelled,
  OrderReduced,
  OrderReplaced,
  HoldPlaced,
  HoldExtended,
  HoldConfirmed,
  HoldReleased,
  OutletCheckpoint,
  CommandRejected,
]);
export type EngineEvent = z.infer<typeof EngineEvent>;
export type EventType = EngineEvent["type"];
export type EventOf<T extends EventType> = Extract<EngineEvent, { type: T }>;

/** The human message of each rejection: one fixed sentence per reason, so logs and vectors stay stable. */
export const REJECT_MESSAGES: Record<RejectReason, string> = {
  unknown_sku: "No product has this sku.",
  sku_exists: "A listed product already has this sku.",
  sku_delisted: "This product has been removed from the catalog.",
  unknown_account: "No account has this id.",
  account_exists: "An account with this id already exists.",
  account_not_verified: "The account's KYC is not verified yet.",
  account_suspended: "The account is suspended.",
  insufficient_funds: "The account's available funds do not cover this.",
  amount_too_large: "The amount is larger than the wallet can hold.",
  insufficient_stock: "Not enough available stock at the requested prices.",
  daily_limit_exceeded: "This would exceed the account's daily unit limit for the brand.",
  market_closed: "The outlet is closed for new orders at this time.",
  unknown_order: "No resting order has this id.",
  not_order_owner: "The order belongs to another account.",
  order_held: "Units of this order are held; confirm or release the holds first.",
  invalid_quantity: "The quantity is not valid for this change.",
  unknown_hold: "No hold has this id.",
  hold_exists: "Another account already used this hold id.",
  hold_not_active: "The hold is no longer active.",
  not_hold_owner: "The hold belongs to another account.",
};
