import { z } from "zod";

/** Prices are minor units, quantities whole items; both stay far below 2^53 so products fit. */
export const MAX_PRICE = 1_000_000_000;
export const MAX_QUANTITY = 1_000_000_000;
/** Largest wallet amount or balance; price x quantity of one order must stay under it too. */
export const MAX_AMOUNT = Number.MAX_SAFE_INTEGER;
export const MAX_HOLD_LINES = 1_000;
export const MAX_HOLD_TTL_MS = 7 * 24 * 3_600_000;

/** Skus are upper-cased and trimmed, so "abc-1 " and "ABC-1" name one product. */
export const Sku = z
  .string()
  .trim()
  .toUpperCase()
  .regex(/^[A-Z0-9][A-Z0-9._-]{0,63}$/, "sku: 1-64 of A-Z 0-9 . _ -, starting with a letter or digit")
  // What a client may send (documents would otherwise show the upper-cased form's pattern).
  .meta({
    description: "1-64 of A-Z 0-9 . _ -, starting with a letter or digit; any case, trimmed, stored upper-case",
    pattern: "^\\s*[A-Za-z0-9][A-Za-z0-9._-]{0,63}\\s*$",
  });
export const Price = z.int().min(1).max(MAX_PRICE);
export const Quantity = z.int().min(1).max(MAX_QUANTITY);
export const Amount = z.int().min(1).max(MAX_AMOUNT);
export const OrderId = z.int().min(1);
export const Id = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/, "id: 1-128 of A-Z a-z 0-9 . _ : @ -");
/** An outlet's id is a NATS subject token and a Kubernetes name part: no dots (as the Outlet CRD says). */
export const OutletId = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/, "outlet id: 1-63 of A-Z a-z 0-9 _ -, starting with a letter or digit");
export const AccountId = Id;
export const HoldId = Id;
export const Text = z.string().trim().max(256);
export const Reference = z.string().trim().min(1).max(128);
export const Timestamp = z.int().min(0);

export const Side = z.enum(["inflow", "outflow"]);
export type Side = z.infer<typeof Side>;

export const TimeInForce = z.enum(["GTC", "IOC", "FOK"]);
export type TimeInForce = z.infer<typeof TimeInForce>;

/** Why stock moves: kept on every order and hold for the audit trail. */
export const ReasonCode = z.enum([
  "received",
  "restock",
  "sale",
  "transfer",
  "damaged",
  "shrinkage",
  "correction",
  "cycle_count",
  "return",
  "other",
]);
export type ReasonCode = z.infer<typeof ReasonCode>;

export const Role = z.enum(["kiosk", "colleague", "service", "admin", "hq-reader"]);
export type Role = z.infer<typeof Role>;
/** Roles that may act on other accounts' orders and holds. */
export const PRIVILEGED_ROLES: readonly Role[] = ["admin", "colleague"];

export const KycState = z.enum(["pending", "verified", "suspended"]);
export type KycState = z.infer<typeof KycState>;

export const Weekday = z.enum(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]);
export type Weekday = z.infer<typeof Weekday>;

const ClockTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, "time: HH:MM, 00:00-24:00");
/** One opening span in local time; close after open (no overnight spans: split them). */
export const OpeningSpan = z
  .object({ open: ClockTime, close: ClockTime })
  .refine((s) => s.open < s.close, "close must be after open");
export type OpeningSpan = z.infer<typeof OpeningSpan>;
/** Opening hours per weekday; a weekday that is absent is closed all day. */
export const TradingHours = z.partialRecord(Weekday, z.array(OpeningSpan).max(8));
export type TradingHours = z.infer<typeof TradingHours>;

export const Timezone = z.string().refine((tz) => {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}, "unknown IANA timezone");
