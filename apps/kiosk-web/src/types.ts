/** The outlet API's answers, as the kiosk page reads them. */

export interface Stock {
  sku: string;
  available: number;
  held: number;
  onHand: number;
  demand: number;
}

export interface Product {
  sku: string;
  name: string;
  brand: string;
  attributes: Record<string, string | number | boolean>;
  listed: boolean;
  stock: Stock | null;
}

export interface Level {
  price: number;
  quantity: number;
  held: number;
  orders: number;
}

export interface Depth {
  sku: string;
  inflow: Level[];
  outflow: Level[];
}

export interface Fill {
  execId: number;
  sku: string;
  price: number;
  quantity: number;
  inflowOrderId: number;
  inflowAccountId: string;
  outflowOrderId: number | null;
  outflowAccountId: string;
  holdId: string | null;
  aggressor: "inflow" | "outflow" | "hold";
  ts: number;
  seq?: number;
}

export interface Trade {
  sku: string;
  price: number;
  quantity: number;
  ts: number;
  execId: number;
  aggressor: Fill["aggressor"];
}

export type Side = "inflow" | "outflow";
export type TimeInForce = "GTC" | "IOC" | "FOK";

export interface Order {
  orderId: number;
  accountId: string;
  sku: string;
  side: Side;
  price: number;
  quantity: number;
  remaining: number;
  held: number;
  timeInForce: TimeInForce;
  reason: string;
  reference: string | null;
}

export interface HoldLine {
  sku: string;
  quantity: number;
  limitPrice: number | null;
}

export interface Hold {
  holdId: string;
  accountId: string;
  expiresAt: number;
  reason: string;
  reference: string | null;
  lines: HoldLine[];
  allocations: { orderId: number; sku: string; price: number; quantity: number }[];
  amount: number;
  status: "active" | "confirmed" | "released";
  fills?: Fill[];
}

export interface Me {
  accountId: string;
  role: string;
  name: string;
  kyc: string;
  balance: number;
  reserved: number;
  orders: Order[];
  holds: Hold[];
}

export interface OrderAnswer {
  orderId: number;
  createdAt: number;
  seq: number;
  status: "filled" | "resting" | "partially_filled" | "cancelled";
  cancelReason: string | null;
  quantity: number;
  filledQuantity: number;
  remainingQuantity: number;
  fills: Fill[];
}
