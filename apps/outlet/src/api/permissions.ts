import type { CommandType, Role } from "@stockroom/contracts";

/** What each role may do. Reads of stock and market data are open to every role. */
export type Permission = "trade" | "hold" | "catalog" | "accounts" | "audit" | "read" | "batch";

const GRANTS: Record<Role, readonly Permission[]> = {
  kiosk: ["read", "trade", "hold"],
  colleague: ["read", "trade", "hold", "catalog", "audit"],
  service: ["read", "trade", "hold", "batch"],
  admin: ["read", "trade", "hold", "catalog", "accounts", "audit", "batch"],
  "hq-reader": ["read", "audit"],
};

export function allows(role: Role, permission: Permission): boolean {
  return GRANTS[role].includes(permission);
}

/** The permission a command needs (used by the batch endpoint, which takes raw commands). */
export const COMMAND_PERMISSION: Record<CommandType, Permission> = {
  "outlet.configure": "accounts",
  "product.add": "catalog",
  "product.update": "catalog",
  "product.remove": "catalog",
  "account.create": "accounts",
  "account.kyc": "accounts",
  "wallet.deposit": "accounts",
  "wallet.withdraw": "accounts",
  "order.place": "trade",
  "order.cancel": "trade",
  "order.reduce": "trade",
  "order.replace": "trade",
  "hold.place": "hold",
  "hold.extend": "hold",
  "hold.confirm": "hold",
  "hold.cancel": "hold",
  tick: "accounts",
  checkpoint: "accounts",
};
