import type { RejectReason } from "@stockroom/contracts";
import { ProblemError } from "@stockroom/service";
import type { ContentfulStatusCode } from "hono/utils/http-status";

export { PROBLEM_BASE, type Problem, ProblemError, problemResponse } from "@stockroom/service";

/** The HTTP status of each engine rejection. */
const REJECT_STATUS: Record<RejectReason, ContentfulStatusCode> = {
  unknown_sku: 404,
  sku_exists: 409,
  sku_delisted: 409,
  unknown_account: 404,
  account_exists: 409,
  account_not_verified: 403,
  account_suspended: 403,
  insufficient_funds: 422,
  amount_too_large: 422,
  insufficient_stock: 409,
  daily_limit_exceeded: 422,
  market_closed: 409,
  unknown_order: 404,
  not_order_owner: 403,
  order_held: 409,
  invalid_quantity: 422,
  unknown_hold: 404,
  hold_exists: 409,
  hold_not_active: 409,
  not_hold_owner: 403,
};

export function rejectionProblem(reason: RejectReason, message: string, seq: number): ProblemError {
  return new ProblemError(REJECT_STATUS[reason], reason.replaceAll("_", "-"), message, { reason, seq });
}
