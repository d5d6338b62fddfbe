import { z } from "zod";
import {
  AccountId,
  Amount,
  HoldId,
  KycState,
  MAX_HOLD_LINES,
  MAX_HOLD_TTL_MS,
  MAX_QUANTITY,
  OrderId,
  Price,
  Quantity,
  ReasonCode,
  Reference,
  Role,
  Side,
  Sku,
  Text,
  TimeInForce,
  Timezone,
  TradingHours,
} from "./primitives.ts";

/**
 * Commands are what callers ask of an outlet. The sequencer stamps each with a sequence
 * number and a timestamp; the engine turns it into events. `accountId` on a command is the
 * account acting (the gateway sets it from the caller's key).
 */

const Attributes = z.record(z.string().max(64), z.union([z.string().max(256), z.number(), z.boolean()]));

export const ConfigureOutlet = z.object({
  type: z.literal("outlet.configure"),
  timezone: Timezone.default("UTC"),
  /** Absent: open around the clock. */
  tradingHours: TradingHours.nullable().default(null),
  defaultDailyLimit: z.int().min(0).max(MAX_QUANTITY).default(1_000_000),
  brandLimits: z.record(z.string().min(1).max(64), z.int().min(0).max(MAX_QUANTITY)).default({}),
});

export const AddProduct = z.object({
  type: z.literal("product.add"),
  sku: Sku,
  name: Text.min(1),
  brand: z.string().trim().min(1).max(64),
  attributes: Attributes.default({}),
});
export const UpdateProduct = z.object({
  type: z.literal("product.update"),
  sku: Sku,
  name: Text.min(1).optional(),
  brand: z.string().trim().min(1).max(64).optional(),
  attributes: Attributes.optional(),
});
export const RemoveProduct = z.object({ type: z.literal("product.remove"), sku: Sku });

export const CreateAccount = z.object({
  type: z.literal("account.create"),
  accountId: AccountId,
  role: Role,
  name: Text.default(""),
});
export const SetKyc = z.object({ type: z.literal("account.kyc"), accountId: AccountId, kyc: KycState });
export const Deposit = z.object({ type: z.literal("wallet.deposit"), accountId: AccountId, amount: Amount });
export const Withdraw = z.object({ type: z.literal("wallet.withdraw"), accountId: AccountId, amount: Amount });

export const PlaceOrder = z.object({
  type: z.literal("order.place"),
  accountId: AccountId,
  sku: Sku,
  side: Side,
  price: Price,
  quantity: Quantity,
  timeInForce: TimeInForce.default("GTC"),
  reason: ReasonCode.default("other"),
  reference: Reference.nullable().default(null),
});
export const CancelOrder = z.object({ type: z.literal("order.cancel"), accountId: AccountId, orderId: OrderId });
/** Take `by` units off the resting remainder; the order keeps its place in the queue. */
export const ReduceOrder = z.object({
  type: z.literal("order.reduce"),
  accountId: AccountId,
  orderId: OrderId,
  by: Quantity,
});
/** New price and/or a new (larger, at the same price) remaining quantity; the order goes to the back. */
export const ReplaceOrder = z
  .object({
    type: z.literal("order.replace"),
    accountId: AccountId,
    orderId: OrderId,
    price: Price.optional(),
    quantity: Quantity.optional(),
  })
  .refine((c) => c.price !== undefined || c.quantity !== undefined, "replace needs a price or a quantity");

export const HoldLine = z.object({ sku: Sku, quantity: Quantity, limitPrice: Price.nullable().default(null) });
export const PlaceHold = z.object({
  type: z.literal("hold.place"),
  holdId: HoldId,
  accountId: AccountId,
  lines: z.array(HoldLine).min(1).max(MAX_HOLD_LINES),
  ttlMs: z.int().min(1).max(MAX_HOLD_TTL_MS),
  reason: ReasonCode.default("sale"),
  reference: Reference.nullable().default(null),
});
/** Push the hold's expiry out to now + ttlMs (never pulls it in). */
export const ExtendHold = z.object({
  type: z.literal("hold.extend"),
  holdId: HoldId,
  accountId: AccountId,
  ttlMs: z.int().min(1).max(MAX_HOLD_TTL_MS),
});
export const ConfirmHold = z.object({ type: z.literal("hold.confirm"), holdId: HoldId, accountId: AccountId });
export const CancelHold = z.object({ type: z.literal("hold.cancel"), holdId: HoldId, accountId: AccountId });

/** Advances sequenced time only: expires holds that are due. */
export const Tick = z.object({ type: z.literal("tick") });
/** Records the outlet's stock in the log, for HQ to reconcile against. */
export const Checkpoint = z.object({ type: z.literal("checkpoint") });

export const Command = z.discriminatedUnion("type", [
  ConfigureOutlet,
  AddProduct,
  UpdateProduct,
  RemoveProduct,
  CreateAccount,
  SetKyc,
  Deposit,
  Withdraw,
  PlaceOrder,
  CancelOrder,
  ReduceOrder,
  ReplaceOrder,
  PlaceHold,
  ExtendHold,
  ConfirmHold,
  CancelHold,
  Tick,
  Checkpoint,
]);
export type Command = z.infer<typeof Command>;
/** What a caller may write before defaults are filled in. */
export type CommandInput = z.input<typeof Command>;
export type CommandType = Command["type"];
export type CommandOf<T extends CommandType> = Extract<Command, { type: T }>;
